"""Presets and YAML files: extends, type conversion and a run's config.yaml round trip."""

import dataclasses

import numpy as np
import pytest

from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.config_files import (
    available_presets,
    config_from_overrides,
    read_overrides,
    read_run_config,
    write_config,
)
from jaxcrl.envs import registered_envs
from jaxcrl.program import make_run_env
from jaxcrl.run_dir import prepare_run_dir
from jaxcrl.validation import validate


def test_default_and_every_preset_are_valid():
    validate(TrainConfig(), registered_envs())
    assert "point_open" in available_presets()
    for preset in available_presets():
        config = config_from_overrides(read_overrides(preset))
        if not preset.startswith("offline_"):
            validate(config, registered_envs())
            continue
        # An offline preset takes its data from --dataset; without it, it is refused.
        with pytest.raises(ConfigError, match="needs --dataset PATH.npz"):
            validate(config, registered_envs())
        offline = dataclasses.replace(config, dataset="data.npz")
        validate(offline, registered_envs(), dataset_must_exist=False)


def test_presets_env_options_are_taken_by_their_envs():
    ant_presets = []
    for preset in available_presets():
        config = config_from_overrides(read_overrides(preset))
        if config.env_options:
            env = make_run_env(config)  # refuses options the env does not take
            if config.env.startswith("ant"):
                ant_presets.append(preset)
                np.testing.assert_array_equal(env.mj_model.actuator_gear[:, 0], 60.0)
    assert {"ant", "ant_u_maze", "ant_soccer", "ant_push"} <= set(ant_presets)


def test_a_preset_extends_another_and_loops_are_refused(tmp_path):
    humanoid = read_overrides("offline_ogbench_humanoidmaze")
    base = read_overrides("offline_crl_ogbench")
    assert humanoid == {**base, "bc_alpha": 0.1, "goal_discount": 0.995}
    (tmp_path / "a.yaml").write_text(f"extends: {tmp_path / 'b.yaml'}\nbatch_size: 8\n")
    (tmp_path / "b.yaml").write_text(f"extends: {tmp_path / 'a.yaml'}\n")
    (tmp_path / "y").mkdir()  # a loop whose path grows at each step (y/../y/c.yaml)
    (tmp_path / "y" / "c.yaml").write_text("extends: ../y/c.yaml\n")
    with pytest.raises(ConfigError, match="presets extend each other in a loop"):
        read_overrides(str(tmp_path / "y" / "c.yaml"))
    with pytest.raises(ConfigError, match="presets extend each other in a loop"):
        read_overrides(str(tmp_path / "a.yaml"))


def test_env_options_add_to_those_of_the_preset_extended_as_on_the_command_line(tmp_path):
    # They replaced the preset's: extends ant lost its motor_gear=60, which --config ant
    # --env-options ... keeps.
    (tmp_path / "far.yaml").write_text("extends: ant\nenv_options: [goal_max_radius=5]\n")
    assert read_overrides(str(tmp_path / "far.yaml"))["env_options"] == (
        "motor_gear=60",
        "goal_max_radius=5",
    )
    (tmp_path / "soft.yaml").write_text("extends: ant\nenv_options: [motor-gear=30]\n")
    assert read_overrides(str(tmp_path / "soft.yaml"))["env_options"] == ("motor-gear=30",)
    (tmp_path / "other.yaml").write_text("extends: ant\nenv: humanoid\n")
    assert read_overrides(str(tmp_path / "other.yaml"))["env_options"] == ()  # ant's: left out


def test_extends_finds_a_file_beside_the_one_that_names_it_or_names_both(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "base.yaml").write_text("extends: point_u_maze\nbatch_size: 64\n")
    (folder / "run.yaml").write_text("extends: base.yaml\nseed: 3\n")
    monkeypatch.chdir(tmp_path)  # elsewhere: base.yaml is found beside run.yaml
    overrides = read_overrides(str(folder / "run.yaml"))
    assert overrides == {**read_overrides("point_u_maze"), "batch_size": 64, "seed": 3}
    (folder / "lost.yaml").write_text("extends: gone.yaml\n")
    with pytest.raises(ConfigError) as error:
        read_overrides(str(folder / "lost.yaml"))
    assert f"--config {folder / 'lost.yaml'}: extends 'gone.yaml', which is neither" in str(
        error.value
    )


def test_invalid_yaml_is_reported_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\nbatch_size: 3\n")
    with pytest.raises(ConfigError, match="not valid YAML") as error:
        read_overrides(str(bad))
    assert "\n" not in str(error.value)


def test_unknown_preset_and_unknown_yaml_keys_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="neither a YAML file nor a preset"):
        read_overrides("no_such_preset")
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_envz: 3\n")
    with pytest.raises(ConfigError, match="unknown options num_envz"):
        read_overrides(str(bad))


def test_written_config_reads_back_identically(tmp_path):
    config = TrainConfig(
        env="point_u_maze",
        seed=3,
        batch_size=128,
        target_entropy=-1.0,
        env_options=("success_threshold=0.3",),
    )
    write_config(config, tmp_path / "config.yaml", {"note": 1})
    assert read_run_config(tmp_path) == config
    text = (tmp_path / "config.yaml").read_text()
    assert "updates_per_iteration" in text  # derived sizes are recorded too


def test_a_runs_config_yaml_starts_a_new_run_in_a_directory_of_its_own(tmp_path, monkeypatch):
    old = tmp_path / "runs" / "umaze"
    old.mkdir(parents=True)
    config = TrainConfig(env="point_u_maze", seed=1, batch_size=128, run_dir=str(old))
    extra = {
        "env_info": {"name": "point_u_maze", "episode_length": 100},
        "jax": {"version": "0", "backend": "cpu", "devices": ["cpu:0"]},
        "lengthened": [{"at_iteration": 4, "total_env_steps": [100_000, 200_000]}],
    }
    write_config(config, old / "config.yaml", extra)
    overrides = read_overrides(str(old / "config.yaml"))
    assert "run_dir" not in overrides  # nor derived sizes, env facts, devices, lengthened
    assert config_from_overrides(overrides) == dataclasses.replace(config, run_dir=None)
    assert read_run_config(old).run_dir == str(old)  # eval.py and --resume keep it
    monkeypatch.chdir(tmp_path)
    new_config, new_dir = prepare_run_dir(config_from_overrides({**overrides, "seed": 3}))
    assert new_dir != old and new_dir.is_dir() and new_config.run_dir == str(new_dir)


def test_yaml_values_are_converted_to_the_option_types_or_refused_by_name(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "total_env_steps: 1e6\ncritic_lr: 3e-4\nnum_envs: 64.0\neval_every: null\n"
        "cnn_channels: [16, 32.0]\nalpha: 1\nbuffer_size: '2e5'\nloggers: [tensorboard]\n"
    )
    config = config_from_overrides(read_overrides(str(good)))
    assert config.total_env_steps == 1_000_000 and type(config.total_env_steps) is int
    assert config.critic_lr == 3e-4 and config.num_envs == 64 and type(config.num_envs) is int
    assert config.cnn_channels == (16, 32) and config.alpha == 1.0 and type(config.alpha) is float
    assert config.buffer_size == 200_000 and config.loggers == ("tensorboard",)
    validate(config, registered_envs())
    bad_values = [
        ("num_envs: 64.5", "num_envs must be a whole number, got 64.5"),
        ("total_env_steps: 1.5e6.2", "total_env_steps must be a whole number, got '1.5e6.2'"),
        ("seed: true", "seed must be a whole number, got True"),
        ("critic_lr: fast", "critic_lr must be a finite number, got 'fast'"),
        ("critic_lr: .nan", "critic_lr must be a finite number, got nan"),
        ("layer_norm: 1", "layer_norm must be true or false, got 1"),
        ("env: 3", "env must be a string, got 3"),
        ("env_options: motor_gear=75", "env_options must be a list (each item a string)"),
        ("cnn_channels: [16, 32.5]", "cnn_channels must be a list (each item a whole number)"),
        ("eval_every: 2.5", "eval_every must be a whole number or null, got 2.5"),
        # A choice misspelled in a file was blamed on a flag (unknown --energy 'L2') after a
        # long warning of the CLI parser's; and a sweep's [a=1,2] read as two entries.
        ("energy: L2", "energy must be one of dot, l2, l2_squared, l1, cosine, got 'L2'"),
        ("loggers: [tb]", "loggers must be a list (each item one of tensorboard, wandb)"),
        ("sweep: [critic_lr=1e-4,3e-4]", "sweep entry '3e-4' names no option: YAML splits"),
    ]
    for line, message in bad_values:
        path = tmp_path / "bad.yaml"
        path.write_text(line + "\n")
        with pytest.raises(ConfigError) as error:
            read_overrides(str(path))
        assert message in str(error.value) and str(path) in str(error.value)
        assert "\n" not in str(error.value)


def test_files_that_cannot_be_read_as_options_are_one_line_naming_the_problem(tmp_path):
    cases = [
        ("num_envs: 8\nnum_envs: 16\n", "'num_envs' is given twice"),  # PyYAML keeps the last
        ("critic_lrr: 1e-3\n", "unknown options critic_lrr (did you mean critic_lr?)"),
        ("1: 2\n", "1 is not an option name; keys are option names"),
        ("foo: 1\n2: 3\n", "2 is not an option name"),
        ("critic-lr: 1e-3\ncritic_lr: 1e-3\n", "an option is given twice (with - and with _)"),
    ]
    for text, message in cases:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError) as error:
            read_overrides(str(path))
        assert message in str(error.value) and "\n" not in str(error.value)
    dashed = tmp_path / "dashed.yaml"
    dashed.write_text("critic-lr: 1e-3\nnum-envs: 16\n")  # as the flags spell them
    assert read_overrides(str(dashed)) == {"critic_lr": 1e-3, "num_envs": 16}
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("seed: 1 # caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml: cannot be read \(not UTF-8 text\)"):
        read_overrides(str(latin))
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ConfigError, match="neither a YAML file nor a preset; it is a directory"):
        read_overrides(str(tmp_path / "folder.yaml"))
    with pytest.raises(ConfigError, match="named without its suffix: --config point_medium;"):
        read_overrides("point_medium.yaml")
    with pytest.raises(ConfigError, match=r"\(did you mean point_medium\?\)"):
        read_overrides("point_mediun")


def test_a_runs_config_yaml_refuses_options_outside_its_config_mapping(tmp_path):
    # Appended below a copied config.yaml, they were silently ignored.
    config = TrainConfig(env="point_u_maze", run_dir=str(tmp_path))
    write_config(config, tmp_path / "config.yaml", {"env_info": {}})
    with (tmp_path / "config.yaml").open("a") as stream:
        stream.write("seed: 7\n")
    with pytest.raises(ConfigError, match="'seed' is outside its config: mapping, where a run's"):
        read_overrides(str(tmp_path / "config.yaml"))
    with pytest.raises(ConfigError, match=f"^{tmp_path / 'config.yaml'}: 'seed' is outside"):
        read_run_config(tmp_path)  # --resume and eval.py name the file, not --config


def test_a_lengthened_runs_config_gives_a_new_run_its_own_spacing_and_launch(tmp_path):
    # Lengthening pins eval_every to keep a run's spacing; a new run from its config.yaml used
    # to keep that spacing at any length (2,600 evaluations instead of num_evals).
    config = TrainConfig(env="point_u_maze", eval_every=30, progress=False, run_dir=str(tmp_path))
    lengthened = [{"at_iteration": 4, "total_env_steps": [1, 2], "eval_every": [None, 30]}]
    write_config(config, tmp_path / "config.yaml", {"lengthened": lengthened})
    overrides = read_overrides(str(tmp_path / "config.yaml"))
    assert overrides["eval_every"] is None
    # An eval_every edited in the file since is the user's choice: it came back as None.
    edited = (tmp_path / "config.yaml").read_text().replace("eval_every: 30", "eval_every: 3", 1)
    (tmp_path / "edited.yaml").write_text(edited)
    assert read_overrides(str(tmp_path / "edited.yaml"))["eval_every"] == 3
    assert "progress" not in overrides and "run_dir" not in overrides
