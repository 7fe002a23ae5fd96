"""Validation: bad configs refused in one line before compiling; short-buffer warnings."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from jaxcrl import run
from jaxcrl.collect import main as collect_main
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.config_files import read_run_config, write_config
from jaxcrl.envs import registered_envs
from jaxcrl.program import make_run_env
from jaxcrl.validation import (
    check_dataset_source,
    check_env_fit,
    check_update_ratio,
    check_validation_split,
    refuse_new_run_mistakes,
    refuse_unused_settings,
    validate,
    world_options,
)

# (overrides, a fragment the one-line message must contain)
BAD_CONFIGS = [
    ({"env": "humanoid_on_mars"}, "unknown env 'humanoid_on_mars' for --env; choose one of"),
    ({"num_envs": 0}, "--num-envs must be a positive integer, got 0"),
    ({"energy": "cosine", "repr_dim": 1}, "--energy cosine needs --repr-dim 2 or more"),
    ({"num_updates": 500}, "--num-updates 500 sets the length of an offline run, which needs"),
    ({"distributed": True}, "--distributed needs --run-dir: every process writes the same"),
    ({"seed": -1}, "--seed must lie in [0, 4294967295] (with --num-seeds 1), got -1"),
    (
        {"seed": 2**32 - 2, "num_seeds": 4},
        "--seed must lie in [0, 4294967292] (with --num-seeds 4)",
    ),
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
    # Validated in float64 but trained in float32, where it became 1: every goal the next step.
    ({"goal_discount": 0.99999999}, "is 1 in the 32-bit floats it trains in; give at most 0.99"),
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
    # an episode's steps are counted in int32: a longer one overflowed when the step compiled
    (
        {"env_options": ("episode_length=100000000000",)},
        "--env-options episode_length must be at most 2147483647 (2^31 - 1",
    ),
    ({"checkpoint_every": 0}, "--checkpoint-every must be a positive integer"),
    ({"num_updates": -1}, "--num-updates must be a positive integer"),
    # An offline run compiled, then failed on an int32 overflow (or its counter would wrap).
    ({"num_updates": 2**31}, "--num-updates 2147483648 exceeds the 2^31 - 1 gradient steps"),
    ({"bc_weight": 1.5}, "--bc-weight must lie in [0, 1]"),
    ({"bc_alpha": -1.0}, "--bc-alpha must be >= 0"),
    ({"dataset": "/nonexistent/data.npz"}, "--dataset /nonexistent/data.npz: no such file"),
    (
        {"dataset": "/nonexistent/cube.npz", "env": "cube-single-v0"},
        "no such file; check the path (OGBench names splits NAME.npz); to get it, make its data "
        "with python -m jaxcrl.ogbench_data --env cube-single-v0 --out /nonexistent/cube.npz",
    ),
    ({"dataset": "/"}, "--dataset /: is a directory; give the .npz file"),
    ({"loggers": ("mlflow",)}, "unknown --loggers mlflow; choose from tensorboard, wandb"),
    ({"loggers": ("tensorboard",) * 2}, "--loggers names tensorboard twice; give each logger"),
    ({"sweep": ("batch_size=128,256",)}, "--sweep cannot vary 'batch_size' (it changes array"),
    ({"sweep": ("num_envs=8,16",)}, "--sweep cannot vary 'num_envs'"),
    ({"sweep": ("learning_rate=1e-3",)}, "--sweep cannot vary 'learning_rate' (not a training"),
    # An env option was called "unknown option", with no word of where env options go.
    (
        {"sweep": ("success_threshold=0.3,0.5",)},
        "set for a whole run with --env-options NAME=VALUE",
    ),
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
    (
        {"sweep": ("bc_weight=7",), "actor_objective": "bc_mix"},
        "--sweep bc_weight=7: --bc-weight must lie in [0, 1]",
    ),
    # a sweep whose members would all train alike is refused, naming why
    ({"sweep": ("critic_lr=3e-4,1e-3,3e-4",)}, "lists 0.0003 twice; give each value once"),
    ({"sweep": ("target_entropy=-1,2,-1.0",)}, "lists -1 twice; give each value once"),
    (
        {"sweep": ("critic_lr=1e-4,1.000000001e-4",)},  # both are one float32: alike bit for bit
        "lists 0.0001 and 0.0001000000001, which the 32-bit floats agents train with hold as one",
    ),
    # the value a message names is the one given, not rounded to 1
    (
        {"sweep": ("random_goal_probability=0.5,1.0000001",)},
        "--sweep random_goal_probability=1.0000001: --random-goal-probability must lie in [0, 1]",
    ),
    ({"sweep": ("seed=1,2",)}, "--sweep cannot vary 'seed': give --num-seeds N instead"),
    ({"sweep": ("bc_weight=0.1,0.9",)}, "--sweep bc_weight: its members would all train alike"),
    ({"sweep": ("bc_alpha=0.1,1",)}, "BC term of --actor-objective ddpg_bc only"),
    (
        {"sweep": ("target_entropy=-1,1",), "alpha_mode": "fixed"},
        "alpha is tuned only with --alpha-mode auto",
    ),
    ({"residual": True, "hidden_depth": 4}, "as in Wang et al. 2025); add --layer-norm"),
    (
        {"residual": True, "hidden_depth": 4, "layer_norm": True, "actor_layer_norm": False},
        "--residual needs LayerNorm in every network (each layer of a residual block "
        "normalises, as in Wang et al. 2025); drop --no-actor-layer-norm",
    ),
    # NaN passes every comparison, so non-finite numbers are refused by type, before any compiling
    ({"critic_lr": float("nan")}, "--critic-lr must be a finite number, got nan"),
    ({"energy_temperature": float("inf")}, "--energy-temperature must be a finite number, got inf"),
    ({"update_to_data_ratio": float("nan")}, "--update-to-data-ratio must be a finite number"),
    ({"target_entropy": float("-inf")}, "--target-entropy must be a finite number or null"),
    ({"sweep": ("critic_lr=1e-3,nan",)}, "--sweep critic_lr=nan: --critic-lr must be a finite"),
    # a config built in Python is taken as given: values of another type are named, with the fix
    ({"total_env_steps": 1e6}, "--total-env-steps must be a whole number, got 1000000.0 (float)"),
    ({"num_envs": 8.0}, "--num-envs must be a whole number, got 8.0 (float); pass 8"),
    ({"critic_lr": "3e-4"}, "--critic-lr must be a finite number, got '3e-4' (str); pass 0.0003"),
    ({"progress": 1}, "--progress must be true or false, got 1"),
    (
        {"num_envs": 1, "total_env_steps": 3 * 10**9, "buffer_size": 10**6},
        "3000000000 steps per env copy (buffer slots or env steps) exceed the 2^31",
    ),
]


@pytest.mark.parametrize("overrides,message", BAD_CONFIGS, ids=[str(o) for o, _ in BAD_CONFIGS])
def test_bad_config_is_refused_with_one_line_naming_the_option(overrides, message):
    config = dataclasses.replace(TrainConfig(), **overrides)
    with pytest.raises(ConfigError) as error:
        validate(config, registered_envs())
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_errors_come_before_any_compilation(monkeypatch, tmp_path):
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(run.jax, "jit", no_compiling)
    with pytest.raises(ConfigError, match="--batch-size"):
        run.train(TrainConfig(batch_size=10**7, run_dir=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


def test_a_buffer_shorter_than_an_episode_is_warned_about_not_refused():
    ant = TrainConfig(env="ant", num_envs=1024)
    validate(ant, registered_envs())  # possible: training runs, with goals cut short
    episode_length = make_run_env(ant).episode_length
    assert episode_length == 1000
    assert check_env_fit(ant, episode_length) == (
        "the buffer keeps 96 steps per env, fewer than one episode of 1000 steps, so future "
        "goals reach at most 95 steps ahead; raise --buffer-size to at least 1032192"
    )
    enough = dataclasses.replace(ant, buffer_size=1032192)
    assert check_env_fit(enough, episode_length) is None
    default = TrainConfig()
    assert check_env_fit(default, make_run_env(default).episode_length) is None


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


def test_a_dataset_from_another_env_or_env_options_is_warned_about(tmp_path):
    # All point mazes share one state size, so only the dataset's own record tells them apart.
    data = tmp_path / "umaze.npz"
    collect_main(["--env", "point_u_maze", "--episodes", "2", "--episode-length", "10",
                  "--env-options", "max_step=0.2", "--out", str(data)])  # fmt: skip
    same = TrainConfig(env="point_u_maze", env_options=("max_step=0.2",), dataset=str(data))
    assert check_dataset_source(same) is None
    longer = dataclasses.replace(same, env_options=("max_step=0.2", "episode_length=300"))
    assert check_dataset_source(longer) is None  # the collector may cut episodes shorter
    fewer_tasks = dataclasses.replace(same, env_options=("max_step=0.2", "num_tasks=1"))
    assert check_dataset_source(fewer_tasks) is None  # (OGBench's) evaluation tasks only
    assert check_dataset_source(dataclasses.replace(same, env="point_medium")) == (
        f"dataset {data} was collected in point_u_maze, not in --env point_medium; training "
        "goes on, but its states and goals may not match the env it is evaluated in (give "
        "--env point_u_maze --env-options max_step=0.2 if that is not meant)"
    )
    other = dataclasses.replace(same, env_options=("max_step=0.3",))
    assert "with env options {'max_step': 0.2}, not {'max_step': 0.3}" in check_dataset_source(
        other
    )
    assert check_dataset_source(dataclasses.replace(same, env_options=())) is not None
    # An option given at its default is the world of one left out, either way round.
    at_default = dataclasses.replace(same, env_options=("max_step=0.25",))
    collect_main(["--env", "point_u_maze", "--episodes", "2", "--episode-length", "10",
                  "--out", str(tmp_path / "plain.npz")])  # fmt: skip
    assert (
        check_dataset_source(dataclasses.replace(at_default, dataset=str(tmp_path / "plain.npz")))
        is None
    )
    assert "not {'max_step': 0.25}" in check_dataset_source(at_default)
    spelled_out = world_options(["healthy_z_range=[0.2, 1.0]"], "ant")  # YAML reads a list
    assert spelled_out == world_options([], "ant")
    assert world_options(["healthy_z_range=[0.3, 1.0]"], "ant") != world_options([], "ant")
    assert check_dataset_source(dataclasses.replace(same, dataset=None)) is None
    # A -val split from another env of the same state size said nothing.
    other_dir = tmp_path / "open"
    collect_main(["--env", "point_open", "--episodes", "2", "--episode-length", "10",
                  "--env-options", "max_step=0.2", "--out", str(other_dir / "d.npz")])  # fmt: skip
    (other_dir / "d-val.npz").replace(tmp_path / (data.stem + "-val.npz"))
    assert check_dataset_source(same) == (
        f"dataset {tmp_path / (data.stem + '-val.npz')} was collected in point_open, not in --env "
        "point_u_maze; training goes on, but its states and goals may not match the env it is "
        "evaluated in (give --env point_open --env-options max_step=0.2 if that is not meant)"
    )


def test_a_dataset_from_the_same_maze_written_otherwise_is_not_warned_about(tmp_path):
    # The layouts were compared as strings: the same map with a trailing '/' was "another env".
    data = tmp_path / "custom.npz"
    layout = "'#######/#..#..#/#.##.##/#....G#/#######'"
    collect_main(["--env", "point_maze_custom", "--episodes", "2", "--episode-length", "10",
                  "--env-options", f"layout={layout}", "--out", str(data)])  # fmt: skip
    written_otherwise = "layout='/#######/#..#..#//#.##.##/#....G#/#######/'"
    config = TrainConfig(env="point_maze_custom", env_options=(written_otherwise,))
    assert check_dataset_source(dataclasses.replace(config, dataset=str(data))) is None
    other_map = "layout='#######/#..#..#/#.##.##/#G....#/#######'"
    other = dataclasses.replace(config, env_options=(other_map,), dataset=str(data))
    assert "with env options {'layout': '#######/" in check_dataset_source(other)
    # A built-in maze named as the custom env's layout is that maze's env: it was "another env".
    named = tmp_path / "named.npz"
    collect_main(["--env", "point_maze_custom", "--episodes", "2", "--episode-length", "10",
                  "--env-options", "layout=u_maze", "--out", str(named)])  # fmt: skip
    assert check_dataset_source(TrainConfig(env="point_u_maze", dataset=str(named))) is None
    warned = check_dataset_source(TrainConfig(env="point_medium", dataset=str(named)))
    assert warned.startswith(f"dataset {named} was collected in point_maze_custom, not in --env")
    assert warned.endswith("(give --env point_maze_custom --env-options layout=u_maze if that is "
                           "not meant)")  # fmt: skip


def test_training_on_another_envs_dataset_prints_the_warning(tmp_path, monkeypatch, capsys):
    data = tmp_path / "umaze.npz"
    collect_main(["--env", "point_u_maze", "--episodes", "2", "--episode-length", "10",
                  "--out", str(data)])  # fmt: skip
    monkeypatch.setattr(run, "make_program", lambda *args, **kwargs: 1 / 0)
    config = TrainConfig(
        env="point_medium", dataset=str(data), batch_size=8, run_dir=str(tmp_path / "r")
    )
    with pytest.raises(ZeroDivisionError):
        run.train(config)
    assert "was collected in point_u_maze, not in --env point_medium" in capsys.readouterr().err


def test_an_update_ratio_that_whole_gradient_steps_cannot_give_is_warned_about():
    # 0.001 x 16 env steps rounds up to one gradient step: 62 times the ratio asked for.
    small = TrainConfig(num_envs=4, unroll_length=4, update_to_data_ratio=0.001)
    assert check_update_ratio(small) == (
        "--update-to-data-ratio 0.001 gives 1 gradient step(s) per iteration of 16 env steps "
        "(--num-envs x --unroll-length), a ratio of 0.0625; pick a ratio whose product with 16 "
        "is near a whole number"
    )
    assert check_update_ratio(TrainConfig()) is None  # 1/16 of 64 x 16: 64 steps
    assert check_update_ratio(dataclasses.replace(small, update_to_data_ratio=0.07)) is None
    assert check_update_ratio(dataclasses.replace(small, dataset="data.npz")) is None


def test_a_validation_split_smaller_than_a_batch_is_warned_about(tmp_path, monkeypatch, capsys):
    # Its batches repeat steps (sampled with replacement), which lowers the val/ accuracy.
    data = tmp_path / "umaze.npz"
    collect_main(["--env", "point_u_maze", "--episodes", "4", "--val-episodes", "1",
                  "--episode-length", "10", "--out", str(data)])  # fmt: skip
    val = tmp_path / "umaze-val.npz"
    config = TrainConfig(env="point_u_maze", dataset=str(data), batch_size=9)
    assert check_validation_split(config) is None  # 10 steps, the last without a future goal
    small = dataclasses.replace(config, batch_size=10, run_dir=str(tmp_path / "r"))
    assert check_validation_split(small) == (
        f"the validation split {val} has 9 steps with a future goal, fewer than --batch-size 10: "
        "every val/ batch repeats steps, so the val/ accuracy is not comparable with the "
        "training one; collect more --val-episodes"
    )
    monkeypatch.setattr(run, "make_program", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run.train(small)
    assert "warning: the validation split" in capsys.readouterr().err
    val.unlink()
    assert check_validation_split(small) is None
    assert check_validation_split(dataclasses.replace(small, dataset=None)) is None


def test_offline_runs_are_not_held_to_the_online_buffer_and_env_step_budget():
    # An offline run has no replay buffer to fill and takes no env steps: the online checks of
    # buffer size, prefill and --total-env-steps do not apply (the dataset's own checks do).
    offline = TrainConfig(dataset=__file__, total_env_steps=1000, buffer_size=256, batch_size=512)
    validate(offline, registered_envs())
    with pytest.raises(ConfigError, match="fewer than two unrolls"):
        validate(dataclasses.replace(offline, dataset=None), registered_envs())


@pytest.mark.parametrize("value", ["-1", "0", ".nan", ".inf", "far"])
def test_a_success_threshold_no_state_or_every_state_meets_is_refused(value):
    config = TrainConfig(env_options=(f"success_threshold={value}",))
    # NaN and Inf are refused for every env option, before the threshold's own check.
    refused = "success_threshold must be a finite distance > 0|VALUE must be a finite number"
    with pytest.raises(ConfigError, match=refused):
        make_run_env(config)
    make_run_env(TrainConfig(env_options=("success_threshold=0.25",)))


def test_lists_given_for_list_options_become_tuples():
    config = TrainConfig(loggers=["tensorboard"], sweep=["critic_lr=1e-4,3e-4"])
    assert config.loggers == ("tensorboard",) and config.sweep == ("critic_lr=1e-4,3e-4",)
    hash(config)  # jit keys on the config
    validate(config, registered_envs())


def test_numpy_numbers_become_python_numbers_that_config_yaml_can_hold(tmp_path):
    # A notebook sweep passes np.logspace(...)[i]: validation took it (a float subclass) and
    # writing config.yaml then failed after the run directory was made.
    config = TrainConfig(critic_lr=np.logspace(-4, -3, 2)[0], num_envs=np.int64(8))
    assert type(config.critic_lr) is float and type(config.num_envs) is int
    validate(config, registered_envs())
    write_config(config, tmp_path / "config.yaml", {})
    assert read_run_config(tmp_path).critic_lr == config.critic_lr
    # A float32 (as a JAX or NumPy sweep gives) is recorded as written, not 0.0003000000142...
    assert TrainConfig(critic_lr=np.float32(3e-4)).critic_lr == 3e-4


def test_an_env_option_that_is_not_a_number_where_one_goes_is_named():
    # YAML reads "nan" as text; the env's own comparison failed with a TypeError naming nothing.
    with pytest.raises(ConfigError, match=r"--env-options max_step must be a number \(default "):
        make_run_env(TrainConfig(env_options=("max_step=nan",)))


def test_a_count_or_size_env_option_must_be_a_whole_number():
    # image_size=64.5 drew 64-pixel images while config.yaml recorded 64.5.
    pixels = TrainConfig(env="point_open_pixels", env_options=("image_size=16.5",))
    with pytest.raises(ConfigError, match=r"image_size must be a whole number \(default 64\)"):
        make_run_env(pixels)
    whole = make_run_env(TrainConfig(env="point_open_pixels", env_options=("image_size=24.0",)))
    assert whole.image_shape == (24, 24, 3)


@pytest.mark.parametrize(
    "name, value",
    [
        ("total_env_steps", 5000),
        ("num_envs", 8),
        ("unroll_length", 8),
        ("update_to_data_ratio", 0.5),
        ("buffer_size", 5000),
        ("prefill_steps", 7),
        ("redraw_goal_on_success", True),
    ],
)
def test_a_dataset_run_refuses_the_options_of_online_collection(tmp_path, name, value):
    # They were recorded in config.yaml while the run trained exactly as without them.
    data = tmp_path / "data.npz"
    data.touch()
    option = "--" + name.replace("_", "-")
    with pytest.raises(ConfigError, match=f"^{option} is set to {value!r}, which this run would"):
        refuse_unused_settings(TrainConfig(dataset=str(data), **{name: value}))
    refuse_unused_settings(TrainConfig(**{name: value}))  # an online run uses it


def test_a_new_run_refuses_a_setting_it_would_not_use(tmp_path):
    data = tmp_path / "data.npz"
    data.touch()
    offline = TrainConfig(dataset=str(data), total_env_steps=5000)
    with pytest.raises(ConfigError, match="a --dataset run collects none and trains for --num-up"):
        refuse_unused_settings(offline)
    no_buffer = TrainConfig(dataset=str(data), checkpoint_buffer=False)
    with pytest.raises(ConfigError, match="--checkpoint-buffer is set to False, which this run"):
        refuse_unused_settings(no_buffer)
    # Options the objective never reads, refused in a sweep, were taken silently in one run.
    for ignored, message in [
        (TrainConfig(bc_weight=0.5), "weighs the BC term of --actor-objective bc_mix only"),
        (TrainConfig(bc_alpha=1.0), "weighs the BC term of --actor-objective ddpg_bc only"),
        (TrainConfig(alpha_mode="fixed", target_entropy=3.0), "alpha is tuned only with"),
        (TrainConfig(alpha_mode="fixed", alpha_lr=1e-2), "alpha is tuned only with"),
        (TrainConfig(actor_objective="ddpg_bc", alpha=0.5), "which --actor-objective ddpg_bc"),
        (TrainConfig(actor_objective="ddpg_bc", alpha_mode="fixed"), "the entropy term, which"),
        (TrainConfig(actor_layer_norm=False), "places the LayerNorm that --layer-norm adds"),
        (TrainConfig(layer_norm_position="after_activation"), "LayerNorm that --layer-norm adds"),
        # No hidden layer: each network is one Dense layer, which none of these shape.
        (TrainConfig(hidden_depth=0, layer_norm=True), "--hidden-depth 0 leaves none"),
        (TrainConfig(hidden_depth=0, activation="relu"), "--activation is set to 'relu', which"),
        (TrainConfig(hidden_depth=0, hidden_width=64), "the hidden layers, and --hidden-depth 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            refuse_unused_settings(ignored)
    refuse_unused_settings(TrainConfig(actor_objective="bc_mix", bc_weight=0.5))
    refuse_unused_settings(TrainConfig(layer_norm=True, actor_layer_norm=False))
    refuse_unused_settings(TrainConfig(hidden_depth=0, repr_dim=32))
    # One row has no negatives; refused for new runs (a saved one still evaluates and resumes).
    with pytest.raises(ConfigError, match="--batch-size must be at least 2, got 1: the other"):
        refuse_new_run_mistakes(TrainConfig(batch_size=1))
    validate(TrainConfig(batch_size=1), registered_envs())
    refuse_unused_settings(TrainConfig(actor_objective="bc_mix", alpha_mode="fixed", alpha=0.5))
    spaced = TrainConfig(num_evals=3, eval_every=5)
    with pytest.raises(ConfigError, match="--num-evals is set to 3.*--eval-every sets when"):
        refuse_unused_settings(spaced)
    swept = TrainConfig(critic_lr=0.05, sweep=("critic_lr=1e-4,1e-3",))
    with pytest.raises(ConfigError, match="--critic-lr is set to 0.05, .*--sweep also varies it"):
        refuse_unused_settings(swept)
    with pytest.raises(ConfigError, match="--critic-lr is set to 0.05"):
        run.train(dataclasses.replace(swept, run_dir=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()  # refused before anything was written
    refuse_unused_settings(TrainConfig(dataset=str(data), num_updates=10))
    refuse_unused_settings(TrainConfig(sweep=("critic_lr=1e-4,1e-3",)))


def test_paths_are_taken_as_strings(tmp_path):
    config = TrainConfig(run_dir=tmp_path / "run", dataset=tmp_path / "data.npz")
    assert config.run_dir == str(tmp_path / "run") and config.dataset == str(tmp_path / "data.npz")
    home = TrainConfig(run_dir="~/runs/a", dataset="~/data.npz")  # from a YAML file: no shell
    assert home.run_dir == str(Path.home() / "runs" / "a")
    assert home.dataset == str(Path.home() / "data.npz")


def test_a_whole_episode_length_written_as_a_float_is_taken_like_other_counts():
    # episode_length=1e2 was refused ("got 100.0") while frame_skip=1e3 was taken.
    config = TrainConfig(env="reacher", env_options=("episode_length=1e2", "frame_skip=2e0"))
    validate(config, registered_envs())
    env = make_run_env(config)
    assert (env.episode_length, env.frame_skip) == (100, 2)


@pytest.mark.parametrize(
    "env, option, message",
    [
        # an IndexError when the env was built or its task constants read
        ("ant", "healthy_z_range=[0.2]", "healthy_z_range must be two torso heights [low, high]"),
        ("humanoid", "healthy_z_range=[1.0]", "healthy_z_range must be two torso heights"),
        ("ant_soccer", "healthy_z_range=[0.2]", "healthy_z_range must be two torso heights"),
        # taken silently: every step a fall, or a third height ignored
        ("ant", "healthy_z_range=[1,0]", "with low < high"),
        ("ant", "healthy_z_range=[0.3,0.9,5]", "with low < high"),
        # the way the defaults print: "could not convert string to float: '('"
        ("ant", "healthy_z_range=(0.2, 1.0)", "written in brackets (e.g. healthy_z_range=[0.2,"),
        # a YAML string, taken as true
        ("ant", "terminate_when_unhealthy='false'", "terminate_when_unhealthy must be true or"),
        # an XML parser's traceback; internal to the ant and humanoid classes
        ("ant", "xml=foo", "--env ant takes no 'xml'; its options: episode_length,"),
        ("ant_soccer", "xml=foo", "--env ant_soccer takes no 'xml'; its options:"),
        ("humanoid", "xml=foo", "--env humanoid takes no 'xml'; its options:"),
        ("ant_push", "goal_min_radius=3", "--env ant_push takes no 'goal_min_radius'; its options"),
    ],
)
def test_walker_env_options_of_the_wrong_form_are_refused_in_one_line(env, option, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        make_run_env(TrainConfig(env=env, env_options=(option,)))
    assert "\n" not in str(error.value)
    listed = str(error.value).partition("its options: ")[2].split(", ")
    assert "xml" not in listed  # every option listed is one the env takes
    if env == "ant_push":  # its goals lie in the map's dead ends
        assert {"goal_min_radius", "goal_max_radius"}.isdisjoint(listed)
