"""Tests of the MuJoCo MJX tasks (envs/reacher.py, envs/ant.py), small enough for a CPU.

Each env is built and compiled once per module (fixtures below): one scan of ``step_batch`` with
random actions and a short ``episode_length``, and one ``jit(vmap(env.step))``. The big ant mazes,
whose models differ only in their walls, compile just a quick ``jit(vmap(env.step))`` each.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from egl_renders import render_report
from env_batches import compiled_reset_batch
from env_checks import (  # noqa: F401  (pytest collects these with this module's rollout)
    check_episodes_end_at_the_limit,
    check_walker_stays_out_of_walls,
    num_candidate_contacts,
    random_steps_without_resets,
    test_goal_at_achieved_state_succeeds_and_far_goal_fails,
    test_goals_differ_across_episodes_of_one_slot,
    test_hundred_random_steps_without_resets_stay_finite,
    test_jit_vmap_step,
    test_reset_shapes_and_dtypes,
    test_step_shapes_and_finite_over_random_rollout,
)
from test_envs_mjx_suite import standing_on_their_goals

from jaxcrl.envs import make_env, redraw_reached_goals, reset_batch, step_batch
from jaxcrl.envs.ant import MAX_MOTOR_GEAR, AntMaze
from jaxcrl.envs.maze_walls import wall_boxes
from jaxcrl.envs.mazes import LAYOUTS, parse_layout
from jaxcrl.envs.mjx_base import quiet_warp_import

MJX_ENVS = ["reacher", "ant", "ant_u_maze"]
NUM_ENVS = 4
NUM_STEPS = 50
EPISODE_LENGTH = 2  # 50 steps = 25 episodes per slot, so goals are drawn 25+ times


class Rollout:
    """One compiled env with a finished random rollout through ``step_batch``."""

    num_envs, num_steps = NUM_ENVS, NUM_STEPS

    def __init__(self, name: str, **options):
        self.env = make_env(name, episode_length=EPISODE_LENGTH, **options)
        self.params = self.env.default_params()
        self.first = compiled_reset_batch(self.env, self.params, jax.random.key(0), NUM_ENVS)
        env, params = self.env, self.params

        def body(states, key):
            actions = jax.random.uniform(key, (NUM_ENVS, env.action_size), minval=-1.0, maxval=1.0)
            states = step_batch(env, params, states, actions)
            return states, (states.obs, states.goal, states.done, states.terminated, states.metrics)

        keys = jax.random.split(jax.random.key(1), NUM_STEPS)
        self.last, trace = jax.jit(lambda s: jax.lax.scan(body, s, keys))(self.first)
        self.obs, self.goals, self.done, self.terminated, self.metrics = jax.tree.map(
            np.asarray, trace
        )  # each [NUM_STEPS, NUM_ENVS, ...]
        self.jit_step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None)))

    def step(self, states, actions, params=None):
        """``jit(vmap(env.step))``; committing every input to one device avoids recompiles."""
        states, actions = jax.device_put((states, actions), jax.devices()[0])
        return self.jit_step(states, actions, self.params if params is None else params)


@functools.cache
def compiled(name: str) -> Rollout:
    """Build, compile and roll out ``name`` once per pytest run."""
    return Rollout(name)


@pytest.fixture(params=MJX_ENVS)
def rollout(request) -> Rollout:
    """A compiled env and its random rollout (cached across tests)."""
    return compiled(request.param)


def test_auto_reset_at_episode_length(rollout):
    check_episodes_end_at_the_limit(rollout.done, rollout.terminated, EPISODE_LENGTH)
    done = rollout.done > 0
    if rollout.env.name == "reacher":  # never terminates: every episode runs to the limit
        assert done[EPISODE_LENGTH - 1 :: EPISODE_LENGTH].all() and done.sum() == done.size // 2
        # NUM_STEPS is a multiple of EPISODE_LENGTH: every copy has just been reset.
        np.testing.assert_array_equal(np.asarray(rollout.last.step_count), np.zeros(NUM_ENVS))


def test_reacher_fingertip_matches_mujoco():
    env = make_env("reacher")
    state = compiled_reset_batch(env, env.default_params(), jax.random.key(3), 8)
    data = mujoco.MjData(env.mj_model)
    site = mujoco.mj_name2id(env.mj_model, mujoco.mjtObj.mjOBJ_SITE, "fingertip")
    for qpos, obs in zip(np.asarray(state.physics.qpos), np.asarray(state.obs), strict=True):
        data.qpos[:] = qpos + np.array([1.0, -2.0])  # well away from the straight start
        mujoco.mj_kinematics(env.mj_model, data)
        np.testing.assert_allclose(
            env.fingertip(jnp.asarray(data.qpos)), data.site_xpos[site][:2], atol=1e-6
        )
        np.testing.assert_allclose(obs[6:8], env.fingertip(jnp.asarray(qpos)), atol=1e-6)
    radii = np.linalg.norm(np.asarray(state.goal), axis=-1)
    assert np.all((radii >= 0.02 - 1e-6) & (radii <= 0.2 + 1e-6))


def test_reacher_never_starts_at_its_target():
    # Drawn freely, about 2% of targets lie within the success threshold of the start fingertip.
    env = make_env("reacher")
    state = jax.jit(lambda key: reset_batch(env, env.default_params(), key, 4096))(
        jax.random.key(5)
    )
    distance = np.asarray(state.metrics["distance"])
    assert distance.min() > env.success_threshold and not np.asarray(state.metrics["success"]).any()
    assert np.mean(distance < 2 * env.success_threshold) > 0.01  # only the reached ones are moved


def test_ant_goal_on_circle_and_state_is_qpos_qvel():
    env = make_env("ant")
    state = compiled_reset_batch(env, env.default_params(), jax.random.key(4), 16)
    assert env.state_size == 29 and env.goal_indices == (0, 1)
    assert num_candidate_contacts(env) == 4  # only the four feet, only against the floor
    np.testing.assert_allclose(np.linalg.norm(np.asarray(state.goal), axis=-1), 10.0, rtol=1e-5)
    qpos, qvel = np.asarray(state.physics.qpos), np.asarray(state.physics.qvel)
    np.testing.assert_array_equal(np.asarray(state.obs[:, :29]), np.concatenate([qpos, qvel], -1))
    assert len(np.unique(np.asarray(state.goal).round(5), axis=0)) == 16


def test_ant_redraws_a_goal_around_where_it_stands():
    # --redraw-goal-on-success drew the new goal 10 m from the origin: an ant at its goal 20 m
    # out was sent 10 to 30 m (median 14.6 m over many redraws); now 10 m, as at a reset.
    ant = compiled("ant")
    torso = jnp.array([20.0, -15.0])
    states = standing_on_their_goals(ant, torso)
    redrawn, changed = redraw_reached_goals(ant.env, ant.params, states, jax.random.key(8))
    assert np.asarray(changed).all()
    offsets = np.linalg.norm(np.asarray(redrawn.goal) - np.asarray(torso), axis=-1)
    np.testing.assert_allclose(offsets, ant.env.goal_max_radius, rtol=1e-5)
    np.testing.assert_array_equal(
        redrawn.obs[:, : ant.env.state_size], states.obs[:, : ant.env.state_size]
    )
    # A maze's goals lie in its cells: a redraw there is a fresh episode's goal.
    maze = compiled("ant_u_maze")
    states = standing_on_their_goals(maze, jnp.array([6.0, 6.0]))
    redrawn, _ = redraw_reached_goals(maze.env, maze.params, states, jax.random.key(8))
    assert all(maze.env.goal_problem(goal) is None for goal in np.asarray(redrawn.goal))


def test_ant_terminates_when_fallen_or_flipped():
    ant = compiled("ant")
    state, actions = ant.first, jnp.zeros((NUM_ENVS, ant.env.action_size))
    upside_down = state.physics.qpos.at[1, 3:7].set(jnp.array([0.0, 1.0, 0.0, 0.0]))
    state = state.replace(physics=state.physics.replace(qpos=upside_down))
    flipped = ant.step(state, actions)
    np.testing.assert_array_equal(flipped.terminated[:2], [0.0, 1.0])
    # A healthy range above the standing height (0.55 m) marks every copy as fallen.
    fallen = ant.step(ant.first, actions, ant.params.replace(healthy_z_min=jnp.asarray(2.0)))
    np.testing.assert_array_equal(fallen.terminated, np.ones(NUM_ENVS))


def test_ant_motor_gear_sets_the_torque_of_every_motor():
    env = make_env("ant", motor_gear=75.0)
    np.testing.assert_array_equal(env.mj_model.actuator_gear[:, 0], np.full(8, 75.0))
    data = mujoco.MjData(env.mj_model)
    data.ctrl[:] = np.linspace(-1.0, 1.0, 8)
    mujoco.mj_forward(env.mj_model, data)
    np.testing.assert_allclose(data.qfrc_actuator[6:], 75.0 * data.ctrl)
    # 60 by default (the model file says 150, at which the MJX ant flips within a few dozen steps).
    np.testing.assert_array_equal(make_env("ant").mj_model.actuator_gear[:, 0], np.full(8, 60.0))
    assert make_env("ant_u_maze").motor_gear == make_env("ant_soccer").motor_gear == 60.0
    maze = AntMaze(layout="u_maze", motor_gear=150.0)  # the mazes pass the gear on
    np.testing.assert_array_equal(maze.mj_model.actuator_gear[:, 0], np.full(8, 150.0))
    with pytest.raises(ValueError, match="motor_gear must be positive"):
        make_env("ant", motor_gear=0.0)


def test_ant_maze_starts_and_goals_in_distinct_free_cells():
    env = make_env("ant_u_maze")
    state = compiled_reset_batch(env, env.default_params(), jax.random.key(6), 64)
    cells = lambda xy: np.floor(np.asarray(xy) / env.cell_size).astype(int)[:, ::-1]  # (row, col)
    start_cells, goal_cells = cells(state.obs[:, :2]), cells(state.goal)
    assert not env.walls[tuple(start_cells.T)].any()
    assert not env.walls[tuple(goal_cells.T)].any()
    assert np.all(np.any(start_cells != goal_cells, axis=-1))
    assert len({tuple(c) for c in goal_cells}) == int((~env.walls).sum())  # every cell is used


@pytest.mark.parametrize("name", ["ant_big_maze", "ant_hardest_maze"])
def test_big_ant_mazes_step_finite_and_outside_their_walls(name):
    # Each maze is its own MJX model (its wall boxes), so each compiles its own step: about 20 s
    # on a 2-core CPU, at XLA's quick-compiling optimisation level 0.
    env = make_env(name)
    assert num_candidate_contacts(env) == 4 + 5 * len(wall_boxes(env.walls))  # feet and torso
    reset = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))
    step = jax.jit(
        jax.vmap(env.step, in_axes=(0, 0, None)),
        compiler_options={"xla_backend_optimization_level": 0},
    )
    check_walker_stays_out_of_walls(env, reset, step, NUM_ENVS)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_wall_boxes_cover_exactly_the_walls(layout):
    walls = parse_layout(LAYOUTS[layout])
    covered = np.zeros(walls.shape, int)
    for row0, row1, col0, col1 in wall_boxes(walls):
        covered[row0:row1, col0:col1] += 1
    np.testing.assert_array_equal(covered, walls.astype(int))


@pytest.mark.parametrize(
    "wall_contacts, per_box", [("torso_and_feet", 5), ("feet", 4), ("torso", 1)]
)
def test_ant_maze_contact_candidates(wall_contacts, per_box):
    env = AntMaze(layout="u_maze", wall_contacts=wall_contacts)
    num_boxes = len(wall_boxes(env.walls))
    # 4 feet on the floor, plus each wall-touching geom against each wall box; nothing else.
    assert num_candidate_contacts(env) == 4 + per_box * num_boxes


def test_unknown_physics_impl_names_the_option():
    with pytest.raises(ValueError, match="impl='bogus'"):
        make_env("reacher", impl="bogus")


def test_building_an_mjx_env_prints_nothing(tmp_path):
    """MJX's "Failed to import warp" lines stay out of stdout (eval.py prints JSON there)."""
    code = "from jaxcrl.envs import make_env; make_env('reacher'); make_env('arm_reach')"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout == ""


def test_quiet_warp_import_passes_other_output_through(capsys):
    with quiet_warp_import():
        print("Failed to import warp: No module named 'warp'")
        print("Failed to import mujoco_warp: No module named 'warp'")
        print("something else")
    assert capsys.readouterr().out == "something else\n"


def test_render_or_clear_error():
    env = make_env("reacher")
    state = jax.tree.map(
        lambda x: x[0], compiled_reset_batch(env, env.default_params(), jax.random.key(7), 1)
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = env.render(state, env.default_params(), width=64, height=48)
    except NotImplementedError as error:
        assert "MUJOCO_GL" in str(error)
        # GLFW's own warnings ("DISPLAY environment variable is missing", ...) came first.
        assert not [w for w in caught if "GLFW" in type(w.message).__name__], caught
        return
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8


HUMANOID_NEAR_GOAL_SCRIPT = """
import jax, jax.numpy as jnp, numpy as np
from jaxcrl.envs import make_env
env = make_env("humanoid")
params = env.default_params()
state = env.with_goal(env.reset(jax.random.PRNGKey(1), params), jnp.array([1.0, 0.0]))
red = np.argwhere((lambda i: (i[..., 0] > 150) & (i[..., 1] < 80) & (i[..., 2] < 80))(
    env.render(state, params)))
print(json.dumps([len(red), red.min(axis=0).tolist(), red.max(axis=0).tolist()]))
"""


def test_the_humanoid_and_a_near_goal_are_framed_whole():
    # The camera aimed at the ground from 3 m cut off the torso and a goal marker 1 m away.
    count, top_left, bottom_right = render_report(HUMANOID_NEAR_GOAL_SCRIPT)
    assert count > 5
    assert top_left[0] > 0 and top_left[1] > 0  # the marker does not touch the frame's edges
    assert bottom_right[0] < 239 and bottom_right[1] < 319


@pytest.mark.parametrize(
    "name, reachable, unreachable, why",
    [
        ("ant_u_maze", (4.0, 4.0), (2.0, 2.0), "lies inside a wall (row 0, column 0 of the map)"),
        ("ant_u_maze", (4.0, 4.0), (-100.0, 40.0), "lies outside the maze, which spans x in"),
        ("humanoid_u_maze", (3.0, 3.0), (4.0, 4.0), "lies inside a wall (row 2, column 2"),
        ("reacher", (0.1, 0.1), (5.0, 5.0), "beyond the arm's reach of 0.21 m"),
        ("arm_push_easy", (0.5, 0.0, 0.1), (5.0, 5.0, 5.0), "outside the arm's workspace"),
    ],
)
def test_eval_goals_no_state_can_reach_are_named(name, reachable, unreachable, why):
    # eval.py --goal refuses these in one line, where they used to evaluate to 0 success.
    env = make_env(name)
    assert env.goal_problem(reachable) is None
    assert why in env.goal_problem(unreachable)


def test_reacher_never_starts_at_its_target_up_to_the_largest_threshold():
    # With every drawn target within the threshold, reset took the first of them anyway: 4091 of
    # 4096 episodes started solved at 0.409 m, every one at 2.5 m (accepted then). The point
    # opposite the fingertip at target_max_radius stands in, which the threshold's bound keeps
    # out of reach.
    env = make_env("reacher", success_threshold=0.409)
    state = jax.jit(lambda key: reset_batch(env, env.default_params(), key, 1024))(
        jax.random.key(7)
    )
    assert not np.asarray(state.metrics["success"]).any()
    radii = np.linalg.norm(np.asarray(state.goal), axis=-1)
    assert np.all(radii <= 0.2 + 1e-6)  # the stand-in lies in the target annulus too
    with pytest.raises(ValueError, match=r"at most 0.409 m, below target_max_radius \+ the"):
        make_env("reacher", success_threshold=2.5)


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        # Goals within the threshold of where the torso may start (the origin, moved by the noise).
        (
            "ant",
            {"goal_min_radius": 0.5, "goal_max_radius": 5.0},
            r"goal_min_radius must be at least 0.642 m, above success_threshold \+ sqrt\(2\) \* "
            r"reset_noise = 0.641421 m .*; got 0.5: raise goal_min_radius \(and goal_max_radius "
            r"with it, if needed\), or lower success_threshold \(at most 0.358 m with these goals\)",
        ),
        ("ant", {"success_threshold": 10.0}, r"goal_min_radius must be at least 10.142 m"),
        # Where the noise alone reaches the goals, no threshold would do: none is offered (a
        # negative one was, "at most -0.142 m").
        (
            "ant",
            {"goal_min_radius": 0.0, "goal_max_radius": 0.3},
            r"got 0: raise goal_min_radius \(and goal_max_radius with it, if needed\), or lower "
            r"reset_noise$",
        ),
        # A start in the cell next to its goal's lies as near as 4 - 2 * 1 - 0.1 = 1.9 m.
        (
            "ant_u_maze",
            {"success_threshold": 1.9},
            r"success_threshold must be at most 1.899 m, below cell_size - 2 \* cell_jitter - "
            r"reset_noise = 1.9 m",
        ),
        ("ant_maze_custom", {"layout": "#####/#..G#/#####", "cell_jitter": 0.5}, None),
        # NaN physics, and goals farther out than float32 tells the threshold apart.
        (
            "ant",
            {"reset_noise": 0.6, "terminate_when_unhealthy": False},
            r"reset_noise must be at most 0.5, got 0.6: start poses .* with "
            r"terminate_when_unhealthy off \(on, a fall ends such episodes first\)",
        ),
        ("ant", {"reset_noise": 31.0}, r"reset_noise must be at most 30, got 31"),
        (
            "ant_u_maze",
            {"reset_noise": 0.6, "terminate_when_unhealthy": False},
            r"reset_noise must be at most 0.5, got 0.6",
        ),
        # The maze's own range stops at the robot's cap (it named [0, 1.75], and 1.75 failed).
        (
            "ant_u_maze",
            {"cell_jitter": 0.0, "reset_noise": 2.0, "terminate_when_unhealthy": False},
            r"give reset_noise in \[0, 0.5\]",
        ),
        (
            "ant",
            {"motor_gear": 1e4, "terminate_when_unhealthy": False},
            rf"motor_gear must be at most {MAX_MOTOR_GEAR[False]:g}, got 10000",
        ),
        (
            "ant",
            {"goal_max_radius": 600.0, "success_threshold": 5e-4},
            r"goal_max_radius=600 puts goals up to 600 m from the origin, beyond 1e6 x "
            r"success_threshold = 500 m",
        ),
        # A maze 1.4e5 m out rounded 88% of the ant's moves to none.
        ("ant", {"goal_max_radius": 2e3}, r"goal_max_radius=2000 .* beyond 1000 m, where float32"),
        ("ant_u_maze", {"cell_size": 2e5}, r"cell_size=200000 puts goals up to 7000\d\d m"),
    ],
)
def test_ant_options_that_start_solved_or_break_the_physics_are_refused(name, overrides, message):
    if message is None:  # a custom map: its cells next to each other, 4 - 2 * 0.5 - 0.1 = 2.9 m
        overrides, message = {**overrides, "success_threshold": 3.0}, r"at most 2.899 m, below"
    with pytest.raises(ValueError, match=message) as error:
        make_env(name, **overrides)
    assert "\n" not in str(error.value)


def test_ant_bounds_accept_the_values_they_name():
    make_env("ant", goal_min_radius=0.642, goal_max_radius=1e3, reset_noise=0.1)
    make_env(
        "ant", reset_noise=0.5, motor_gear=MAX_MOTOR_GEAR[False], terminate_when_unhealthy=False
    )
    # With falls ending episodes (the default), noisier starts and stronger motors stay finite.
    make_env("ant", reset_noise=0.75, motor_gear=1000.0)
    make_env("ant_u_maze", success_threshold=1.899)
    make_env("ant_u_maze", cell_size=200.0)
    make_env("reacher", success_threshold=0.409)
