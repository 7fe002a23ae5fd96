"""A run's program: the env its config names, members vmapped, what a checkpoint keeps."""

import dataclasses
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from tiny_runs import TINY

from jaxcrl.config import ConfigError, TrainConfig, buffer_capacity_per_env, parse_env_options
from jaxcrl.members import member_keys
from jaxcrl.program import (
    build,
    eval_keys,
    eval_memory_bytes,
    make_program,
    make_run_env,
    restore_into,
    saved_tree,
    saves_buffer,
    validation_keys,
)

# Values each env took that overflowed at the first step, drew images without the point, or
# flipped or blew up its noise; each is now one line naming the option.
REFUSED_ENV_OPTIONS = [
    ("point_open", "max_step=1e-9", "episodes 10,000,000,000 steps long, more than the"),
    ("point_maze_custom", "max_step=1e-9", "raise max_step"),
    ("reacher", "frame_skip=1e12", r"frame_skip must lie in \[1, 1000\]"),
    ("point_open_pixels", "image_size=100000", r"image_size must lie in \[8, 1024\]"),
    ("point_open_pixels", "point_radius=0.06", "under 0.71 pixels"),  # a 0.55-pixel disc
    ("reacher", "joint_noise=-1", r"joint_noise must lie in \[0, pi\]"),
    ("half_cheetah", "reset_noise=-1", "reset_noise must be >= 0"),
    ("ant", "reset_noise=-1", "reset_noise must be >= 0"),
    ("ant_soccer", "ball_lead=-1", r"ball_lead must lie in \[0, 1\]"),
    ("ant_soccer", "ball_spread=-1", "ball_spread must lie in"),
]


@pytest.mark.parametrize("env, option, message", REFUSED_ENV_OPTIONS)
def test_env_options_that_break_the_env_are_refused_in_one_line(env, option, message):
    options = (option,)
    if env == "point_maze_custom":
        options = ("layout='#####/#..G#/#####'", option)
    with pytest.raises(ConfigError, match=message) as error:
        make_run_env(TrainConfig(env=env, env_options=options))
    assert "\n" not in str(error.value)


def test_env_options_reach_the_env_constructor_or_are_refused_by_name():
    env = make_run_env(TrainConfig(env="point_open", env_options=("max_step=0.05",)))
    assert env.max_step == 0.05
    options = ("healthy_z_range=[0.3, 1.5]", "goal_max_radius=4")
    assert parse_env_options(options) == {"healthy_z_range": [0.3, 1.5], "goal_max_radius": 4}
    with pytest.raises(ConfigError, match="--env point_open takes no 'motor_gear'; its options: "):
        make_run_env(TrainConfig(env="point_open", env_options=("motor_gear=75",)))
    with pytest.raises(ConfigError, match="--env point_open: .*max_step"):
        make_run_env(TrainConfig(env="point_open", env_options=("max_step=-1",)))
    with pytest.raises(ConfigError, match="--env point_open takes no --physics; drop it"):
        make_run_env(TrainConfig(env="point_open", physics="warp"))
    # A built-in maze's own map stays: a map given to it trained there under the maze's name.
    layout = "layout='#####/#..G#/#####'"
    with pytest.raises(ConfigError, match="--env point_u_maze is built on its own maze, and "):
        make_run_env(TrainConfig(env="point_u_maze", env_options=(layout,)))
    with pytest.raises(ConfigError, match="give your map to --env ant_maze_custom --env-options"):
        make_run_env(TrainConfig(env="ant_u_maze", env_options=(layout,)))
    assert make_run_env(TrainConfig(env="point_maze_custom", env_options=(layout,))).walls.shape
    # Likewise a task's kind: pusher_easy with kind=hard trained the hard task as pusher_easy.
    with pytest.raises(ConfigError, match="registered with kind='easy'.*use --env pusher_hard$"):
        make_run_env(TrainConfig(env="pusher_easy", env_options=("kind=hard",)))
    with pytest.raises(ConfigError, match="use --env arm_binpick_easy$"):
        make_run_env(TrainConfig(env="arm_binpick_hard", env_options=("kind=easy",)))
    with pytest.raises(ConfigError, match="training kind='medium'; drop kind$"):
        make_run_env(TrainConfig(env="arm_push_easy", env_options=("kind=medium",)))


def test_the_program_has_a_leading_member_axis_and_checkpoints_keep_the_learner():
    config = dataclasses.replace(TINY, num_seeds=3)
    env, _, trainer, members = build(config)
    program = make_program(config, env, trainer, members)
    state = jax.eval_shape(program.init, member_keys(members))  # traced, not compiled
    capacity = buffer_capacity_per_env(config)
    assert state.buffer.states.shape == (3, capacity, config.num_envs, env.state_size)
    assert state.iteration.shape == (3,)
    assert saves_buffer(config) and not saves_buffer(dataclasses.replace(config, dataset="x.npz"))
    assert not saves_buffer(dataclasses.replace(config, checkpoint_buffer=False))
    assert saved_tree(state, with_buffer=True) is state
    learner = saved_tree(state, with_buffer=False)
    assert set(learner) == {"agent", "hyperparams", "key", "iteration"}  # no buffer, no envs
    restored = restore_into(state, learner, with_buffer=False)
    assert restored.agent is learner["agent"] and restored.buffer is state.buffer


def test_evaluation_keys_depend_on_seed_and_iteration_alone():
    _, _, _, members = build(dataclasses.replace(TINY, num_seeds=2))
    first = np.asarray(eval_keys(members, 6))
    assert first.shape == np.asarray(member_keys(members)).shape  # one key per member
    np.testing.assert_array_equal(first, np.asarray(eval_keys(members, 6)))
    assert not np.array_equal(first, np.asarray(eval_keys(members, 12)))
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first, np.asarray(validation_keys(members, 6)))


def test_an_evaluation_counts_the_policy_activations_beside_its_episodes():
    # A pixel policy's convolutions over an episode's image hold many times the image itself,
    # which a count of env states alone missed (eval.py then ran out of memory after compiling).
    config = dataclasses.replace(
        TINY, env="point_open_pixels", eval_episodes=1000, env_options=("image_size=32",)
    )
    env, _, trainer, members = build(config)
    abstract = jax.eval_shape(
        make_program(config, env, trainer, members).init, member_keys(members)
    )
    need = eval_memory_bytes(config, env, trainer, members, abstract.agent.policy_params)
    image = 32 * 32 * 3  # bytes (uint8)
    assert need > 1000 * 10 * image  # measured: about 150 images' worth per episode
    # Beyond POLICY_EPISODES_AT_ONCE (1024) episodes the policy acts in turns: only the episodes'
    # states grow.
    larger = dataclasses.replace(config, eval_episodes=4000)
    more = eval_memory_bytes(larger, env, trainer, members, abstract.agent.policy_params)
    assert more < 1.5 * need  # measured: 1.1 times


def test_encoder_options_for_pixels_are_refused_on_a_state_env():
    with pytest.raises(ConfigError, match="--cnn-channels and --cnn-features shape the pixel"):
        build(dataclasses.replace(TINY, cnn_channels=(8, 8), cnn_features=4))
    pixels = dataclasses.replace(TINY, env="point_open_pixels", cnn_channels=(8, 8))
    assert build(pixels)[0].image_shape == (64, 64, 3)


def test_a_mujoco_renderer_that_does_not_start_is_one_line_naming_mujoco_gl(tmp_path, monkeypatch):
    # MUJOCO_GL=osmesa without OSMesa: importing MuJoCo raised an AttributeError traceback. A
    # renderer name MuJoCo does not know fails the same way on any machine.
    script = (
        "from jaxcrl.config import ConfigError, TrainConfig\n"
        "from jaxcrl.program import make_run_env\n"
        "try:\n"
        "    make_run_env(TrainConfig(env='reacher'))\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
    )
    environ = {**os.environ, "JAX_PLATFORMS": "cpu", "MUJOCO_GL": "bogus"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip() == (
        "--env reacher: MuJoCo did not start with MUJOCO_GL=bogus, which names none of its "
        "renderers (egl, osmesa, glfw): set MUJOCO_GL=egl (no display), or unset it"
    )
    # An error in an env module of one's own is not MuJoCo's, whatever MUJOCO_GL says: raised as
    # it is, not blamed on the renderer (eval.py --video sets MUJOCO_GL itself).
    (tmp_path / "broken_env.py").write_text("raise RuntimeError('a bug in my env')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MUJOCO_GL", "egl")
    with pytest.raises(RuntimeError, match="a bug in my env"):
        make_run_env(TrainConfig(env="broken_env:Env"))


def test_jax_64_bit_mode_is_refused_in_one_line_before_anything_is_built():
    # It failed in the first compile with a long TypeError about a loop carry's dtypes.
    jax.config.update("jax_enable_x64", True)
    try:
        with pytest.raises(ConfigError, match="JAX's 64-bit mode is on .*unset JAX_ENABLE_X64"):
            make_run_env(TrainConfig())
    finally:
        jax.config.update("jax_enable_x64", False)
    assert make_run_env(TrainConfig()).name == "point_open"


def test_disabled_jit_is_refused_in_one_line_before_the_run_directory_is_made(tmp_path):
    # It failed in the ahead-of-time compile ("Disable jit is not supported in the AOT path"),
    # after config.yaml was written: a second train() on that directory was then refused.
    from jaxcrl.run import train

    run_dir = tmp_path / "run"
    jax.config.update("jax_disable_jit", True)
    try:
        with pytest.raises(ConfigError, match="jit is disabled .*unset JAX_DISABLE_JIT"):
            train(TrainConfig(run_dir=str(run_dir)))
    finally:
        jax.config.update("jax_disable_jit", False)
    assert not run_dir.exists()
