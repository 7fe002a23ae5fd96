"""Tests of the MJX 7-DoF arm tasks (envs/arm.py), small enough for a CPU.

Each task compiles two programs once per module: ``jit(vmap(env.step))`` and
``jit(vmap(env.reset))``, for 4 copies. Unlike test_envs_mjx_suite.py they keep XLA's default
optimisation: for this model level 0 compiles no faster (about 15 s either way on a 2-core CPU)
but runs a 4-copy step in about 1.9 s instead of 13 ms. Rollouts call the programs from a
Python loop: 100 random steps with no reset (long episodes wander furthest), and scripted
grasps. ``arm_push_hard`` and ``arm_binpick_hard`` differ from the easy kinds only in params, so
they reuse the easy programs; ``goal_space="cube_and_grip"`` changes the observation's size, so
its test compiles its own pair. Auto-reset is the generic ``step_batch``, tested on other MJX tasks
in test_envs_mjx.py.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from egl_renders import render_report
from env_checks import (
    check_first_states,
    check_goal_at_the_achieved_state,
    check_random_rollout,
    num_candidate_contacts,
)

import jaxcrl.envs
from jaxcrl.envs import DISTANCE, SUCCESS, make_env, redraw_reached_goals
from jaxcrl.envs.arm import (
    ARM_XML,
    BIN_CENTRE,
    CUBE_HALF,
    CUBE_TASKS,
    HAND_OVER_CUBE,
    HAND_START,
    MAX_MOVE,
    REACH_GOALS,
    WORKSPACE,
    ArmBinPick,
    ArmPush,
)

ARM_TASKS = ["arm_reach", "arm_push_easy", "arm_binpick_easy"]
ALL_KINDS = ["arm_reach", "arm_push_easy", "arm_push_hard", "arm_binpick_easy", "arm_binpick_hard"]
NUM_ENVS = 4
NUM_STEPS = 100
OPEN, CLOSED = 1.0, -1.0


class Task:
    """One arm task with its two compiled programs and a finished 100-step random rollout."""

    def __init__(self, name: str):
        self.env = make_env(name, episode_length=NUM_STEPS)
        self.params = self.env.default_params()
        self.jit_step = jax.jit(jax.vmap(self.env.step, in_axes=(0, 0, None)))
        self.jit_reset = jax.jit(jax.vmap(self.env.reset, in_axes=(0, None)))
        self.first = self.reset(jax.random.key(0))
        states, observations, metrics = self.first, [], []
        for key in jax.random.split(jax.random.key(1), NUM_STEPS):
            actions = jax.random.uniform(key, (NUM_ENVS, self.env.action_size), minval=-1.0)
            states = self.step(states, actions)
            observations.append(np.asarray(states.obs))
            metrics.append({name: np.asarray(value) for name, value in states.metrics.items()})
        self.last = states
        self.obs = np.stack(observations)  # [NUM_STEPS, NUM_ENVS, observation_size]
        self.metrics = {name: np.stack([m[name] for m in metrics]) for name in metrics[0]}

    def reset(self, key: jax.Array, count: int = NUM_ENVS, params=None):
        """``count`` fresh episodes (a multiple of NUM_ENVS) from the one compiled reset."""
        params = self.params if params is None else params
        keys = jax.random.split(key, count).reshape(-1, NUM_ENVS)
        batches = [self.jit_reset(batch_keys, params) for batch_keys in keys]
        return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *batches)

    def step(self, states, actions):
        """``jit(vmap(env.step))``; committing every input to one device avoids recompiles."""
        states, actions = jax.device_put((states, actions), jax.devices()[0])
        return self.jit_step(states, actions, self.params)


@functools.cache
def compiled(name: str) -> Task:
    """Build, compile and roll out ``name`` once per pytest run."""
    return Task(name)


@pytest.fixture(params=ARM_TASKS)
def task(request) -> Task:
    """A compiled arm task and its random rollout (cached across tests)."""
    return compiled(request.param)


def grip_of(env, obs) -> np.ndarray:
    """The grip point [..., 3]: the last three state entries."""
    return np.asarray(obs[..., env.state_size - 3 : env.state_size])


def drive(task: Task, states, target: np.ndarray, opening: float, steps: int):
    """Steer every copy's grip point towards ``target`` [NUM_ENVS, 3] with a fixed gripper."""
    for _ in range(steps):
        move = np.clip((target - grip_of(task.env, states.obs)) / MAX_MOVE, -1.0, 1.0)
        actions = np.concatenate([move, np.full((NUM_ENVS, 1), opening)], axis=1)
        states = task.step(states, jnp.asarray(actions[:, : task.env.action_size], jnp.float32))
    return states


def test_reset_and_step_shapes_dtypes_and_finite_values(task):
    env, first = task.env, task.first
    check_first_states(env, first, NUM_ENVS)
    check_random_rollout(env, task.obs, task.metrics, NUM_STEPS, NUM_ENVS)
    assert first.goal.shape == (NUM_ENVS, 3)
    # The goal rides along unchanged in every observation of the episode.
    np.testing.assert_array_equal(
        task.obs[:, :, env.state_size :],
        np.broadcast_to(first.goal, task.obs[:, :, env.state_size :].shape),
    )
    # Random actions move the hand about inside its workspace; the cube stays on the table.
    hand = grip_of(env, task.obs)
    assert hand.std(axis=0).min() > 0.01
    assert np.all((hand > np.array(WORKSPACE[0]) - 0.03) & (hand < np.array(WORKSPACE[1]) + 0.03))
    if env.name != "arm_reach":
        assert np.all(task.obs[:, :, 11] > CUBE_HALF - 0.005)


def test_goal_at_the_achieved_point_succeeds_and_a_far_goal_fails(task):
    _, at_goal, far = check_goal_at_the_achieved_state(
        task.env, task.first, task.step, NUM_ENVS, far_offset=1.0
    )
    np.testing.assert_array_equal(at_goal.reward, np.ones(NUM_ENVS))  # sparse reward = success
    np.testing.assert_allclose(far.metrics[DISTANCE], np.sqrt(3.0), rtol=1e-4)


def test_every_episode_draws_a_new_start_and_goal(task):
    env, state = task.env, task.reset(jax.random.key(3), 64)
    obs, goals = np.asarray(state.obs), np.asarray(state.goal)
    assert len(np.unique(goals.round(6), axis=0)) == 64
    assert len(np.unique(grip_of(env, obs).round(6), axis=0)) == 64  # the hand's start too
    if env.name != "arm_reach":
        assert len(np.unique(obs[:, 9:11].round(6), axis=0)) == 64  # and the cube's


def test_state_layout_and_action_sizes(task):
    env, state = task.env, task.last
    reach = env.name == "arm_reach"
    assert env.action_size == (3 if reach else 4)
    assert env.state_size == (21 if reach else 34)
    assert env.goal_indices == ((18, 19, 20) if reach else (9, 10, 11))
    qpos, qvel = np.asarray(state.physics.qpos), np.asarray(state.physics.qvel)
    nq, nv = env.num_qpos, env.num_qvel
    assert (nq, nv) == ((9, 9) if reach else (16, 15))
    obs = np.asarray(state.obs)
    np.testing.assert_array_equal(obs[:, :nq], qpos[:, :nq])
    np.testing.assert_array_equal(obs[:, nq : nq + nv], qvel[:, :nv])
    # The shadow bodies' coordinates, left out of the state, never move.
    np.testing.assert_allclose(qpos[:, nq:], 0.0, atol=1e-6)
    np.testing.assert_allclose(qvel[:, nv:], 0.0, atol=1e-6)
    # The grip point from the env's kinematics is MuJoCo's grip site.
    data, site = mujoco.MjData(env.mj_model), env.mj_model.site("grip").id
    for copy in range(NUM_ENVS):
        data.qpos[:] = qpos[copy]
        mujoco.mj_kinematics(env.mj_model, data)
        np.testing.assert_allclose(grip_of(env, obs[copy]), data.site_xpos[site], atol=1e-5)


def test_inverse_kinematics_reaches_targets_hand_down_within_joint_ranges():
    env = compiled("arm_push_easy").env
    model, data = env.mj_model, mujoco.MjData(env.mj_model)
    low, high = np.array([0.3, -0.3, 0.02]), np.array([0.7, 0.3, 0.5])
    targets = np.random.default_rng(0).uniform(low, high, (16, 3))
    angles = np.asarray(jax.vmap(env.joint_targets)(jnp.asarray(targets)))
    joint_low, joint_high = model.jnt_range[:7].T
    assert np.all((angles >= joint_low) & (angles <= joint_high))
    for target, pose in zip(targets, angles, strict=True):
        data.qpos[:7] = pose
        mujoco.mj_kinematics(model, data)
        np.testing.assert_allclose(data.site_xpos[model.site("grip").id], target, atol=1e-4)
        hand = data.xmat[model.body("hand").id].reshape(3, 3)
        np.testing.assert_allclose(hand[:, 2], [0, 0, 1], atol=1e-4)  # hand points down
        np.testing.assert_allclose(hand[:, 1], [0, 1, 0], atol=1e-4)  # fingers close along y


def test_zero_action_holds_the_arm_still():
    reach = compiled("arm_reach")
    states = reach.reset(jax.random.key(11))
    start = grip_of(reach.env, states.obs)
    for _ in range(10):
        states = reach.step(states, jnp.zeros((NUM_ENVS, 3)))
    # Gravity compensation plus position servos: no sag over 0.5 s.
    assert np.abs(grip_of(reach.env, states.obs) - start).max() < 2e-3
    # A full action moves the target MAX_MOVE ahead of the hand, and the servos follow with a
    # lag: measured 0.012-0.018 m after one step, then about 0.025 m per step (0.5 m/s).
    moved = states
    for least_travel in (0.01, 0.03, 0.05):  # after 1, 2 and 3 steps
        moved = reach.step(moved, jnp.ones((NUM_ENVS, 3)))
        assert np.all(grip_of(reach.env, moved.obs) - grip_of(reach.env, states.obs) > least_travel)


def test_scripted_grasp_lifts_carries_and_drops_the_cube():
    push = compiled("arm_push_easy")
    states = push.reset(jax.random.key(12))
    cube = np.asarray(states.obs[:, 9:12])
    states = drive(push, states, cube + [0, 0, 0.1], OPEN, 15)  # above the cube
    states = drive(push, states, cube, OPEN, 10)  # pads around it
    states = drive(push, states, cube, CLOSED, 8)
    states = drive(push, states, cube + [0, 0, 0.2], CLOSED, 12)
    lifted = np.asarray(states.obs[:, 9:12])
    assert np.all(lifted[:, 2] > cube[:, 2] + 0.15)
    assert np.all(np.abs(lifted - grip_of(push.env, states.obs)).max(axis=1) < 0.02)
    states = drive(push, states, cube + [0, -0.15, 0.2], CLOSED, 10)  # carried sideways
    np.testing.assert_allclose(np.asarray(states.obs[:, 10]), cube[:, 1] - 0.15, atol=0.02)
    # Let go: it falls, bounces and tumbles for about 12 steps (0.6 s), then lies on the table.
    states = drive(push, states, cube + [0, -0.15, 0.2], OPEN, 16)
    np.testing.assert_allclose(np.asarray(states.obs[:, 11]), CUBE_HALF, atol=0.005)


def test_scripted_pick_and_place_into_the_bin_succeeds():
    binpick = compiled("arm_binpick_easy")
    states = binpick.reset(jax.random.key(13))
    cube, goal = np.asarray(states.obs[:, 9:12]), np.asarray(states.goal)
    assert not np.asarray(states.metrics["success"]).any()
    states = drive(binpick, states, cube + [0, 0, 0.1], OPEN, 15)
    states = drive(binpick, states, cube, OPEN, 10)
    states = drive(binpick, states, cube, CLOSED, 8)
    states = drive(binpick, states, goal + [0, 0, 0.15], CLOSED, 20)  # over the walls
    states = drive(binpick, states, goal + [0, 0, 0.02], CLOSED, 10)
    states = drive(binpick, states, goal + [0, 0, 0.1], OPEN, 10)
    np.testing.assert_array_equal(states.metrics["success"], np.ones(NUM_ENVS))
    assert np.all(np.asarray(states.reward) == 1.0)  # sparse reward = success


def test_models_keep_contacts_minimal():
    # Cube box vs table (4 slots) and vs each finger pad (2 each); the bin adds its 4 walls
    # against the cube's inscribed sphere (1 each). The arm touches nothing else.
    assert num_candidate_contacts(compiled("arm_reach").env) == 0
    assert num_candidate_contacts(compiled("arm_push_easy").env) == 8
    assert num_candidate_contacts(compiled("arm_binpick_easy").env) == 12


def inner_bin_rectangle(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) low and high [2] of the bin's inside, from its wall geoms in the model."""
    walls = [g for g in range(model.ngeom) if model.geom(g).name.startswith("bin_wall")]
    centre = model.body("bin").pos[:2]
    inner = [
        np.abs(model.geom_pos[g][:2]) - model.geom_size[g][:2] for g in walls
    ]  # each wall's inner face, per axis, from the bin's centre
    half = np.array([max(face[0] for face in inner), max(face[1] for face in inner)])
    return centre - half, centre + half


@pytest.mark.parametrize("name", ALL_KINDS)
def test_starts_and_goals_lie_in_their_regions(name):
    env = make_env(name)
    assert env.name == name
    program = compiled("arm_reach" if name == "arm_reach" else name.replace("hard", "easy"))
    params = env.default_params()
    state = program.reset(jax.random.key(14), 256, params)
    obs, goal = np.asarray(state.obs), np.asarray(state.goal)
    hand = grip_of(env, obs)
    if name == "arm_reach":
        hand_low, hand_high = np.array(HAND_START[0]), np.array(HAND_START[1])
    else:  # over the cube: (x, y) offsets from its start, z above the table
        hand_low, hand_high = np.array(HAND_OVER_CUBE[0]), np.array(HAND_OVER_CUBE[1])
        hand = hand - np.append(obs[:, 9:11], np.zeros((len(obs), 1)), axis=1)
    assert np.all((hand >= hand_low - 1e-5) & (hand <= hand_high + 1e-5))
    assert np.all(hand.max(0) - hand.min(0) >= 0.8 * (hand_high - hand_low))
    if name == "arm_reach":
        low, high = np.array(REACH_GOALS[0]), np.array(REACH_GOALS[1])
    else:
        regions = CUBE_TASKS[name.removeprefix("arm_")]
        low, high = (np.append(corner, CUBE_HALF) for corner in regions["goal"])
        cube = obs[:, 9:16]
        np.testing.assert_allclose(cube[:, 2], CUBE_HALF)  # resting on the table, unrotated
        np.testing.assert_allclose(cube[:, 3:], np.tile([1.0, 0, 0, 0], (len(cube), 1)))
        cube_low, cube_high = (np.array(corner) for corner in regions["cube"])
        assert np.all((cube[:, :2] >= cube_low - 1e-6) & (cube[:, :2] <= cube_high + 1e-6))
        distances = np.linalg.norm(cube[:, :3] - goal, axis=-1)
        assert np.all(distances >= float(params.min_start_distance) - 1e-5)
        if "binpick" in name:
            inner_low, inner_high = inner_bin_rectangle(env.mj_model)
            assert np.all(
                (goal[:, :2] - CUBE_HALF >= inner_low) & (goal[:, :2] + CUBE_HALF <= inner_high)
            )
            outside = (cube[:, :2] + CUBE_HALF < inner_low - 0.01) | (
                cube[:, :2] - CUBE_HALF > inner_high + 0.01
            )
            assert np.all(outside.any(axis=1))  # no cube starts in (or on the walls of) the bin
    assert np.all((goal >= low - 1e-6) & (goal <= high + 1e-6))
    spread = goal.max(0) - goal.min(0)  # goals cover their region
    assert np.all(spread >= 0.8 * (high - low))


@pytest.mark.parametrize(
    "name, largest",
    [
        ("arm_push_easy", 0.223),
        ("arm_push_hard", 0.347),
        ("arm_binpick_easy", 0.235),
        ("arm_binpick_hard", 0.436),
    ],
)
def test_cubes_start_the_largest_accepted_minimum_from_their_goal(name, largest):
    # Where none of the 16 drawn starts was far enough, the first one was kept: at these minima
    # 6% to 45% of starts lay nearer. The farthest corner of the start region takes its place.
    env = make_env(name, min_start_distance=largest)
    params = env.default_params()
    place = jax.jit(jax.vmap(env.place, in_axes=(0, None)))
    objects, goal = place(jax.random.split(jax.random.key(16), 1024), params)
    cube = np.asarray(objects[:, :2])
    assert np.linalg.norm(cube - np.asarray(goal[:, :2]), axis=-1).min() >= largest - 1e-5
    low, high = np.asarray(params.cube_low), np.asarray(params.cube_high)
    assert np.all((cube >= low - 1e-6) & (cube <= high + 1e-6))
    # The corners stand in only because none lies in the bin (the keep-out rectangle).
    corners = np.array([[x, y] for x in (low[0], high[0]) for y in (low[1], high[1])])
    keep_low, keep_high = np.asarray(params.keep_out_low), np.asarray(params.keep_out_high)
    assert not np.any(np.all((corners >= keep_low) & (corners <= keep_high), axis=1))
    # A minimum one millimetre larger is refused.
    with pytest.raises(ValueError, match=rf"must lie in \[0.051, {largest}\] m for {name}"):
        make_env(name, min_start_distance=largest + 0.001)


def test_a_cube_in_the_small_bin_gets_no_new_goal_it_already_reaches():
    # arm_binpick_easy's goals fill a 4 cm square inside its 5 cm threshold of the bin's centre:
    # a cube resting there has reached every goal the env can draw, so it keeps its goal and no
    # redraw is counted; a cube outside the bin at its goal gets one in the bin.
    task = compiled("arm_binpick_easy")
    env, params = task.env, task.params
    states = task.first
    cube_at = jnp.asarray(states.obs[:, 9:12]).at[0].set(jnp.array([*BIN_CENTRE, CUBE_HALF]))
    states = jax.vmap(env.with_goal)(
        states.replace(obs=states.obs.at[:, 9:12].set(cube_at)), cube_at
    )
    states = states.replace(metrics={**states.metrics, SUCCESS: jnp.ones(NUM_ENVS)})
    redrawn, reached = redraw_reached_goals(env, params, states, jax.random.key(17))
    assert np.asarray(reached).tolist() == [0.0] + [1.0] * (NUM_ENVS - 1)
    np.testing.assert_array_equal(redrawn.goal[0], states.goal[0])
    goals = np.asarray(redrawn.goal[1:])
    assert np.all(np.linalg.norm(goals - np.asarray(cube_at[1:]), axis=-1) >= 0.05)
    assert np.all(np.abs(goals[:, :2] - np.array(BIN_CENTRE)) <= 0.02 + 1e-6)


def test_cube_tasks_can_start_the_hand_at_the_reach_start():
    push = compiled("arm_push_easy")
    home = make_env("arm_push_easy", hand_start="home").default_params()
    hand = grip_of(push.env, push.reset(jax.random.key(15), 64, home).obs)
    assert np.all(
        (hand >= np.array(HAND_START[0]) - 1e-5) & (hand <= np.array(HAND_START[1]) + 1e-5)
    )


def test_cube_goals_can_name_the_grip_point_too():
    push = compiled("arm_push_easy")
    env = make_env("arm_push_easy", episode_length=NUM_STEPS, goal_space="cube_and_grip")
    grip = env.state_size - 3
    assert env.goal_indices == (*push.env.goal_indices, grip, grip + 1, grip + 2)
    assert env.success_indices == push.env.goal_indices == push.env.success_indices
    assert (env.goal_size, env.observation_size) == (6, 40) and env.goal_argument_size == 3
    # The same keys draw the same episodes; the goal puts the grip point at the cube's goal too.
    keys = jax.random.split(jax.random.key(0), NUM_ENVS)
    first = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, push.params)
    state_size = env.state_size
    np.testing.assert_array_equal(first.obs[:, :state_size], push.first.obs[:, :state_size])
    np.testing.assert_array_equal(first.goal, np.tile(push.first.goal, 2))
    np.testing.assert_array_equal(first.obs[:, state_size:], first.goal)
    np.testing.assert_array_equal(first.metrics[DISTANCE], push.first.metrics[DISTANCE])
    # Success measures the cube alone: a goal at the cube with the hand 8 cm or more above it.
    cube = np.asarray(first.obs[:, 9:12])
    at_cube = jax.vmap(env.with_goal)(first, jnp.asarray(cube))
    np.testing.assert_array_equal(at_cube.obs[:, state_size:], np.tile(cube, 2))
    assert np.all(np.linalg.norm(grip_of(env, first.obs) - cube, axis=-1) > 0.05)
    still = jnp.zeros((NUM_ENVS, env.action_size)).at[:, 3].set(OPEN)
    stepped = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None)))(at_cube, still, push.params)
    np.testing.assert_array_equal(stepped.metrics[SUCCESS], np.ones(NUM_ENVS))
    assert np.all(np.asarray(stepped.metrics[DISTANCE]) < 0.01)
    np.testing.assert_array_equal(stepped.obs[:, state_size:], at_cube.goal)


def test_hard_kinds_are_registered_with_wider_regions():
    for task in ("push", "binpick"):
        easy, hard = make_env(f"arm_{task}_easy"), make_env(f"arm_{task}_hard")
        assert (easy.kind, hard.kind) == ("easy", "hard")
        easy_params, hard_params = easy.default_params(), hard.default_params()
        hard_area = np.prod(np.asarray(hard_params.cube_high - hard_params.cube_low))
        assert hard_area > 4 * np.prod(np.asarray(easy_params.cube_high - easy_params.cube_low))


def test_xml_loads_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ARM_XML == Path(jaxcrl.envs.__file__).parent / "assets" / "arm.xml"
    env = ArmBinPick(kind="hard")
    assert env.mj_model.nu == 9 and env.mj_model.body("bin").id > 0
    assert ArmPush(episode_length=7, frame_skip=2).episode_length == 7


@pytest.mark.parametrize(
    "name, overrides, option",
    [
        ("arm_push_easy", {"kind": "medium"}, "kind"),
        ("arm_binpick_easy", {"min_start_distance": -0.1}, "min_start_distance"),
        (
            "arm_push_easy",
            {"min_start_distance": 0.5},
            r"in \[0.051, 0.223\] m .* default is 0.1\)",
        ),
        ("arm_push_hard", {"hand_start": "above"}, "hand_start"),
        ("arm_push_easy", {"goal_space": "grip"}, "goal_space"),
        ("arm_reach", {"success_threshold": 0.0}, "success_threshold"),
        ("arm_reach", {"frame_skip": 0}, "frame_skip"),
    ],
)
def test_bad_options_name_the_option(name, overrides, option):
    with pytest.raises(ValueError, match=option):
        make_env(name, **overrides)


# Rendered by egl_renders.render_report in a fresh interpreter under MUJOCO_GL=egl.
RENDER_SCRIPT = """
import jax, jax.numpy as jnp
from jaxcrl.envs import make_env

report = {}
for name in ["arm_reach", "arm_binpick_easy"]:
    env = make_env(name)
    params = env.default_params()
    state = env.reset(jax.random.PRNGKey(0), params)
    image = env.render(state, params)
    hidden = env.render(state.replace(goal=jnp.array([5.0, 5.0, -5.0])), params)
    report[name] = [list(image.shape), str(image.dtype), red_pixels(image), red_pixels(hidden)]
print(json.dumps(report))
"""


def test_render_shows_the_goal_marker():
    report = render_report(RENDER_SCRIPT)
    for shape, dtype, shown, hidden in report.values():
        assert shape == [240, 320, 3] and dtype == "uint8"
        assert shown > 10 and hidden == 0  # the goal marker, and nothing else red in view


def test_64_copies_step_without_the_cpu_scheduler_deadlock():
    # Without jaxcrl's default XLA flag (jaxcrl/xla_flags.py) the first step of 64 copies never
    # returned on the CPU; a fresh process imports jaxcrl before JAX starts, as a user's would.
    # The tests' quick-compiling XLA_FLAGS (tests/conftest.py) stay, as a user's own flags would:
    # jaxcrl adds its flag to them. With them and the scheduler on, the step hung as well.
    script = (
        "import jax; from jaxcrl.envs import make_env, reset_batch\n"
        "env = make_env('arm_push_easy'); params = env.default_params()\n"
        "states = jax.jit(lambda key: reset_batch(env, params, key, 64))(jax.random.key(0))\n"
        "step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None)))\n"
        "states = step(states, jax.numpy.zeros((64, 4)), params)\n"
        "print(float(states.obs[:, 11].min()))\n"
    )
    # This process's XLA_FLAGS hold jaxcrl's flag already: the fresh one starts without it.
    flags = re.sub(
        r"--xla_cpu_enable_concurrency_optimized_scheduler=\S+", "", os.environ["XLA_FLAGS"]
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "XLA_FLAGS": flags},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert abs(float(result.stdout.split()[-1]) - CUBE_HALF) < 0.005  # the cubes rest on the table


def test_reach_never_starts_at_its_goal_up_to_the_largest_threshold():
    # The goal box holds the hand's start box: 39 of 4096 reach episodes started solved at the
    # default 0.05 m, 4011 at 0.377 m. A goal that near is drawn again, then the goal box's
    # corner farthest from the start (0.3775 m or more from any) stands in.
    reach = compiled("arm_reach")
    for threshold in (0.05, 0.377):
        params = reach.params.replace(success_threshold=jnp.asarray(threshold))
        state = reach.reset(jax.random.key(17), 1024, params)
        assert not np.asarray(state.metrics[SUCCESS]).any()
        goal, low, high = np.asarray(state.goal), *(np.array(c) for c in REACH_GOALS)
        assert np.all((goal >= low - 1e-6) & (goal <= high + 1e-6))
    make_env("arm_reach", success_threshold=0.377)
    with pytest.raises(ValueError, match=r"at most 0.377 m, below the least distance from a"):
        make_env("arm_reach", success_threshold=0.378)


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        # The cube starts min_start_distance or more from its goal.
        (
            "arm_push_easy",
            {"success_threshold": 0.1},
            r"min_start_distance must lie in \[0.101, 0.223\] m for arm_push_easy .* got 0.1: "
            r"below, the cube may start within success_threshold = 0.1 m .*, or lower "
            r"success_threshold below 0.1 m",
        ),
        (
            "arm_binpick_hard",
            {"success_threshold": 0.6},
            r"must be below 0.436 m for arm_binpick_hard",
        ),
        # 0 was named as accepted ([0, 0.25]) and then refused by the threshold.
        ("arm_push_hard", {"min_start_distance": 0.0}, r"must lie in \[0.051, 0.347\] m"),
        ("arm_push_hard", {"success_threshold": 0.5}, r"success_threshold must be below 0.347 m"),
    ],
)
def test_thresholds_a_cube_may_start_within_are_refused(name, overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        make_env(name, **overrides)
    assert "\n" not in str(error.value)
    make_env(name, success_threshold=0.099)  # the largest accepted at the default minimum
    make_env("arm_binpick_hard", success_threshold=0.435, min_start_distance=0.436)
