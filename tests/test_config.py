"""Configuration validation, presets and the YAML round trip."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from jaxcrl import run
from jaxcrl.config import (
    ConfigError,
    TrainConfig,
    available_presets,
    check_env_fit,
    config_from_overrides,
    derived_sizes,
    parse_env_options,
    read_overrides,
    read_run_config,
    validate,
    write_config,
)
from jaxcrl.envs import registered_envs

# (overrides, a fragment the one-line message must contain)
BAD_CONFIGS = [
    ({"env": "humanoid_on_mars"}, "unknown env 'humanoid_on_mars' for --env; choose one of"),
    ({"num_envs": 0}, "--num-envs must be a positive integer, got 0"),
    ({"num_envs": -4}, "--num-envs must be a positive integer"),
    ({"batch_size": 0}, "--batch-size must be a positive integer"),
    ({"unroll_length": 0}, "--unroll-length must be a positive integer"),
    ({"total_env_steps": -1}, "--total-env-steps must be a positive integer"),
    ({"buffer_size": 0}, "--buffer-size must be a positive integer"),
    ({"eval_episodes": 0}, "--eval-episodes must be a positive integer"),
    ({"hidden_width": 0}, "--hidden-width must be a positive integer"),
    ({"repr_dim": 0}, "--repr-dim must be a positive integer"),
    ({"eval_every": 0}, "--eval-every must be a positive integer"),
    ({"prefill_steps": -5}, "--prefill-steps must be >= 0"),
    ({"batch_size": 10**7}, "--batch-size 10000000 is larger than the buffer holds"),
    ({"buffer_size": 100}, "fewer than two unrolls"),
    ({"update_to_data_ratio": 0.0}, "--update-to-data-ratio must be > 0"),
    ({"critic_lr": 0.0}, "--critic-lr must be > 0"),
    ({"goal_discount": 1.0}, "--goal-discount must lie in (0, 1)"),
    ({"random_goal_probability": 1.5}, "--random-goal-probability must lie in [0, 1]"),
    ({"logsumexp_penalty": -0.1}, "--logsumexp-penalty must be >= 0"),
    ({"alpha": 0.0}, "--alpha must be > 0 with --alpha-mode auto"),
    ({"energy": "manhattan"}, "unknown --energy 'manhattan'"),
    ({"contrastive_loss": "triplet"}, "unknown --contrastive-loss 'triplet'"),
    ({"activation": "sine"}, "unknown --activation 'sine'"),
    ({"actor_goals": "random"}, "unknown --actor-goals 'random'"),
    ({"actor_objective": "awr"}, "unknown --actor-objective 'awr'; choose from crl, bc_mix"),
    ({"alpha_mode": "tuned"}, "unknown --alpha-mode 'tuned'; choose from auto, fixed"),
    ({"deterministic_actor": True}, "--deterministic-actor needs --actor-objective ddpg_bc"),
    ({"residual": True, "hidden_depth": 6}, "--hidden-depth must be a positive multiple of 4"),
    ({"total_env_steps": 5000}, "leaves no training iteration after the prefill"),
    ({"num_seeds": 0}, "--num-seeds must be a positive integer, got 0"),
    ({"env_options": ("episode_length=0",)}, "--env-options episode_length must be a whole number"),
    ({"env_options": ("episode_length=12.5",)}, "of at least 2 steps (a goal needs a later step)"),
    ({"checkpoint_every": 0}, "--checkpoint-every must be a positive integer"),
    ({"num_updates": -1}, "--num-updates must be a positive integer"),
    ({"bc_weight": 1.5}, "--bc-weight must lie in [0, 1]"),
    ({"bc_alpha": -1.0}, "--bc-alpha must be >= 0"),
    ({"dataset": "/nonexistent/data.npz"}, "--dataset /nonexistent/data.npz: no such file"),
    ({"loggers": ("mlflow",)}, "unknown --loggers mlflow; choose from tensorboard, wandb"),
    (
        {"dataset": __file__, "redraw_goal_on_success": True},
        "a --dataset run collects none, so drop it",
    ),
    ({"sweep": ("batch_size=128,256",)}, "--sweep cannot vary 'batch_size' (it changes array"),
    ({"sweep": ("num_envs=8,16",)}, "--sweep cannot vary 'num_envs'"),
    ({"sweep": ("learning_rate=1e-3",)}, "--sweep cannot vary 'learning_rate' (unknown option)"),
    ({"sweep": ("critic_lr",)}, "write NAME=V1,V2,..."),
    ({"sweep": ("critic_lr=fast",)}, "values must be numbers"),
    ({"sweep": ("critic_lr=1e-3", "critic_lr=1e-4")}, "names 'critic_lr' twice"),
    ({"env_options": ("motor_gear",)}, "--env-options 'motor_gear': write NAME=VALUE"),
    ({"env_options": ("=3",)}, "write NAME=VALUE"),
    ({"env_options": ("impl=warp",)}, "use --physics instead"),
    ({"env_options": ("dense_reward=true",)}, "use --dense-reward instead"),
    ({"env_options": ("a=1", "a=2")}, "--env-options names 'a' twice"),
    ({"env_options": ("a=[1,",)}, "VALUE is not a YAML value"),
    # every member of a sweep is validated as a single run would be, naming the swept value
    (
        {"sweep": ("goal_discount=1.5,0.9",)},
        "--sweep goal_discount=1.5: --goal-discount must lie in (0, 1), got 1.5",
    ),
    ({"sweep": ("critic_lr=-1",)}, "--sweep critic_lr=-1: --critic-lr must be > 0"),
    (
        {"sweep": ("critic_lr=1e-3", "random_goal_probability=0.5,3")},
        "--sweep random_goal_probability=3: --random-goal-probability must lie in [0, 1]",
    ),
    ({"sweep": ("bc_weight=7",)}, "--sweep bc_weight=7: --bc-weight must lie in [0, 1]"),
    ({"residual": True, "hidden_depth": 4}, "--residual needs --layer-norm"),
]


@pytest.mark.parametrize("overrides,message", BAD_CONFIGS, ids=[str(o) for o, _ in BAD_CONFIGS])
def test_bad_config_is_refused_with_one_line_naming_the_option(overrides, message):
    config = dataclasses.replace(TrainConfig(), **overrides)
    with pytest.raises(ConfigError) as error:
        validate(config, registered_envs())
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_default_and_every_preset_are_valid():
    validate(TrainConfig(), registered_envs())
    assert "point_open" in available_presets()
    for preset in available_presets():
        validate(config_from_overrides(read_overrides(preset)), registered_envs())


def test_presets_env_options_are_taken_by_their_envs():
    ant_presets = []
    for preset in available_presets():
        config = config_from_overrides(read_overrides(preset))
        if config.env_options:
            env = run.make_run_env(config)  # refuses options the env does not take
            if config.env.startswith("ant"):
                ant_presets.append(preset)
                np.testing.assert_array_equal(env.mj_model.actuator_gear[:, 0], 60.0)
    assert {"ant", "ant_u_maze", "ant_soccer", "ant_push"} <= set(ant_presets)


def test_errors_come_before_any_compilation(monkeypatch, tmp_path):
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(run.jax, "jit", no_compiling)
    with pytest.raises(ConfigError, match="--batch-size"):
        run.train(TrainConfig(batch_size=10**7, run_dir=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


def test_a_preset_extends_another_and_loops_are_refused(tmp_path):
    humanoid = read_overrides("offline_ogbench_humanoidmaze")
    base = read_overrides("offline_crl_ogbench")
    assert humanoid == {**base, "bc_alpha": 0.1, "goal_discount": 0.995}
    (tmp_path / "a.yaml").write_text(f"extends: {tmp_path / 'b.yaml'}\nbatch_size: 8\n")
    (tmp_path / "b.yaml").write_text(f"extends: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(ConfigError, match="presets extend each other in a loop"):
        read_overrides(str(tmp_path / "a.yaml"))


def test_unknown_preset_and_unknown_yaml_keys_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="neither a YAML file nor a preset"):
        read_overrides("no_such_preset")
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_envz: 3\n")
    with pytest.raises(ConfigError, match="unknown options num_envz"):
        read_overrides(str(bad))


def test_env_options_reach_the_env_constructor_or_are_refused_by_name():
    env = run.make_run_env(TrainConfig(env="point_open", env_options=("max_step=0.05",)))
    assert env.max_step == 0.05
    options = ("healthy_z_range=[0.3, 1.5]", "goal_max_radius=4")
    assert parse_env_options(options) == {"healthy_z_range": [0.3, 1.5], "goal_max_radius": 4}
    with pytest.raises(ConfigError, match="--env point_open takes no 'motor_gear'; its options: "):
        run.make_run_env(TrainConfig(env="point_open", env_options=("motor_gear=75",)))
    with pytest.raises(ConfigError, match="--env point_open: .*max_step"):
        run.make_run_env(TrainConfig(env="point_open", env_options=("max_step=-1",)))
    with pytest.raises(ConfigError, match="takes no impl option; drop --physics"):
        run.make_run_env(TrainConfig(env="point_open", physics="warp"))


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


def test_derived_sizes():
    sizes = derived_sizes(
        TrainConfig(
            num_envs=8,
            unroll_length=10,
            update_to_data_ratio=0.05,
            buffer_size=1000,
            prefill_steps=150,
            total_env_steps=1000,
        )
    )
    assert sizes["steps_per_iteration"] == 80
    assert sizes["updates_per_iteration"] == 4
    assert sizes["buffer_capacity_per_env"] == 120  # 125 rounded down to whole unrolls
    assert sizes["prefill_iterations"] == 2
    assert sizes["training_iterations"] == (1000 - 160) // 80


def test_the_literal_options_offer_what_the_library_implements():
    from jaxcrl.config import CHOICES
    from jaxcrl.losses import CONTRASTIVE_LOSSES, ENERGIES
    from jaxcrl.networks import ACTIVATIONS

    assert CHOICES["energy"] == ENERGIES
    assert CHOICES["contrastive_loss"] == CONTRASTIVE_LOSSES
    assert CHOICES["activation"] == tuple(ACTIVATIONS)


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
    new_config, new_dir = run._prepare_run_dir(config_from_overrides({**overrides, "seed": 3}))
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
        ("critic_lr: fast", "critic_lr must be a number, got 'fast'"),
        ("critic_lr: .nan", "critic_lr must be a number, got nan"),
        ("layer_norm: 1", "layer_norm must be true or false, got 1"),
        ("env: 3", "env must be a string, got 3"),
        ("env_options: motor_gear=75", "env_options must be a list (each item a string)"),
        ("cnn_channels: [16, 32.5]", "cnn_channels must be a list (each item a whole number)"),
        ("eval_every: 2.5", "eval_every must be a whole number or null, got 2.5"),
    ]
    for line, message in bad_values:
        path = tmp_path / "bad.yaml"
        path.write_text(line + "\n")
        with pytest.raises(ConfigError) as error:
            read_overrides(str(path))
        assert message in str(error.value) and str(path) in str(error.value)
        assert "\n" not in str(error.value)


def test_a_buffer_shorter_than_an_episode_is_warned_about_not_refused():
    ant = TrainConfig(env="ant", num_envs=1024)
    validate(ant, registered_envs())  # possible: training runs, with goals cut short
    episode_length = run.make_run_env(ant).episode_length
    assert episode_length == 1000
    assert check_env_fit(ant, episode_length) == (
        "the buffer keeps 96 steps per env, fewer than one episode of 1000 steps, so future "
        "goals reach at most 95 steps ahead; raise --buffer-size to at least 1032192"
    )
    enough = dataclasses.replace(ant, buffer_size=1032192)
    assert check_env_fit(enough, episode_length) is None
    default = TrainConfig()
    assert check_env_fit(default, run.make_run_env(default).episode_length) is None


def test_training_prints_the_short_buffer_warning_before_compiling(tmp_path, monkeypatch, capsys):
    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(run, "make_program", stop)
    short = TrainConfig(num_envs=64, buffer_size=64 * 32, run_dir=str(tmp_path / "short"))
    with pytest.raises(Stop):
        run.train(short)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "warning: the buffer keeps 32 steps per env, fewer than one episode of 50 steps, so "
        "future goals reach at most 31 steps ahead; raise --buffer-size to at least 4096"
    ]
    with pytest.raises(Stop):
        run.train(TrainConfig(run_dir=str(tmp_path / "default")))
    assert "warning" not in capsys.readouterr().err


def test_an_energy_or_loss_added_in_losses_py_is_offered_by_the_config():
    # config.py takes its choices from losses.py's Literal types; a fresh interpreter adds a
    # name there and rebuilds config.py from it.
    code = (
        "import importlib, typing, tyro\n"
        "from jaxcrl import config, losses\n"
        "losses.Energy = typing.Literal[(*losses.ENERGIES, 'new_energy')]\n"
        "losses.ContrastiveLoss = typing.Literal[(*losses.CONTRASTIVE_LOSSES, 'new_loss')]\n"
        "config = importlib.reload(config)\n"
        "args = ['--energy', 'new_energy', '--contrastive-loss', 'new_loss']\n"
        "parsed = tyro.cli(config.TrainConfig, args=args)\n"
        "config.validate(parsed)\n"
        "print(parsed.energy, parsed.contrastive_loss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["new_energy", "new_loss"]
