"""Tests of the MJX half-cheetah, pusher and humanoid tasks, small enough for a CPU.

MJX compiles slowly on a CPU (20 to 40 s per humanoid program), so each env compiles exactly two
programs, once per module (fixtures below): ``jit(vmap(env.step))`` and ``jit(vmap(env.reset))``
(cheap: no physics step), both at XLA's backend optimisation level 0, which compiles about a
third faster; the slower code it makes does not matter at 4 copies. Rollouts call them from a
Python loop and auto-reset finished copies the way ``step_batch`` does (a fresh start and goal
from the copy's own key); ``step_batch`` itself, generic over envs, is compiled and tested on the
other MJX tasks in test_envs_mjx.py. ``pusher_hard`` differs from ``pusher_easy`` only in its
params, so it reuses the easy programs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
import scipy.spatial
from env_checks import (  # noqa: F401  (pytest collects these with this module's rollout)
    check_episodes_end_at_the_limit,
    check_walker_stays_out_of_walls,
    num_candidate_contacts,
    random_steps_without_resets,
    test_goal_at_achieved_state_succeeds_and_far_goal_fails,
    test_goals_differ_across_episodes_of_one_slot,
    test_jit_vmap_step,
    test_reset_shapes_and_dtypes,
    test_step_shapes_and_finite_over_random_rollout,
)

from jaxcrl.envs import SUCCESS, make_env, redraw_reached_goals
from jaxcrl.envs.humanoid import HumanoidMaze, humanoid_maze_episode_length
from jaxcrl.envs.maze_walls import wall_boxes
from jaxcrl.envs.mazes import LAYOUTS, parse_goal_region, parse_layout
from jaxcrl.envs.pusher import GOAL_REGIONS, PUCK_START_REGION

SUITE_ENVS = ["half_cheetah", "pusher_easy", "humanoid", "humanoid_u_maze"]
HUMANOIDS = ["humanoid", "humanoid_u_maze"]
NUM_ENVS = 4
NUM_STEPS = 100
EPISODE_LENGTH = 4  # 100 steps = 25 episodes per slot, so goals are drawn 25+ times
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def fast_jit(function):
    """``jax.jit`` with the quick-compiling options of this module."""
    return jax.jit(function, compiler_options=FAST_COMPILE)


class Rollout:
    """One env with its two compiled programs and a finished random, auto-resetting rollout."""

    num_envs, num_steps = NUM_ENVS, NUM_STEPS

    def __init__(self, name: str):
        self.env = make_env(name, episode_length=EPISODE_LENGTH)
        self.params = self.env.default_params()
        self.jit_step = fast_jit(jax.vmap(self.env.step, in_axes=(0, 0, None)))
        self.batch_reset = jax.vmap(self.env.reset, in_axes=(0, None))
        self.jit_reset = fast_jit(self.batch_reset)
        self.auto_reset = fast_jit(self._auto_reset)
        self.first = self.reset(jax.random.split(jax.random.key(0), NUM_ENVS))
        states, trace = self.first, []
        for key in jax.random.split(jax.random.key(1), NUM_STEPS):
            states = self.auto_reset(self.step(states, self.random_actions(key)))
            trace.append((states.obs, states.goal, states.done, states.terminated, states.metrics))
        self.last = states
        self.obs, self.goals, self.done, self.terminated, self.metrics = jax.tree.map(
            lambda *leaves: np.stack([np.asarray(leaf) for leaf in leaves]), *trace
        )  # each [NUM_STEPS, NUM_ENVS, ...]

    def random_actions(self, key):
        """Uniform actions [NUM_ENVS, action_size] in [-1, 1]."""
        return jax.random.uniform(key, (NUM_ENVS, self.env.action_size), minval=-1.0, maxval=1.0)

    def reset(self, keys, params=None):
        """``jit(vmap(env.reset))`` of one key per copy."""
        return self.jit_reset(keys, self.params if params is None else params)

    def many_resets(self, key, count, params=None):
        """``count`` fresh episodes (a multiple of NUM_ENVS) from the one compiled reset."""
        keys = jax.random.split(key, count).reshape(-1, NUM_ENVS)
        batches = [self.reset(batch_keys, params) for batch_keys in keys]
        return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *batches)

    def step(self, states, actions, params=None):
        """``jit(vmap(env.step))``; committing every input to one device avoids recompiles."""
        states, actions = jax.device_put((states, actions), jax.devices()[0])
        return self.jit_step(states, actions, self.params if params is None else params)

    def _auto_reset(self, stepped):
        """Count the step, mark done copies and replace them by fresh episodes (as step_batch)."""
        step_count = stepped.step_count + 1
        ended = (stepped.terminated > 0) | (step_count >= EPISODE_LENGTH)
        stepped = stepped.replace(step_count=step_count, done=ended.astype(jnp.float32))
        next_keys, reset_keys = jnp.moveaxis(jax.vmap(jax.random.split)(stepped.key), 1, 0)
        fresh = self.batch_reset(reset_keys, self.params).replace(
            reward=stepped.reward,
            terminated=stepped.terminated,
            done=stepped.done,
            metrics=stepped.metrics,
        )
        stepped = stepped.replace(key=next_keys)

        def choose(fresh_leaf, old_leaf):
            return jnp.where(
                ended.reshape((-1,) + (1,) * (old_leaf.ndim - 1)), fresh_leaf, old_leaf
            )

        return jax.tree.map(choose, fresh, stepped)


@functools.cache
def compiled(name: str) -> Rollout:
    """Build, compile and roll out ``name`` once per pytest run."""
    return Rollout(name)


@pytest.fixture(params=SUITE_ENVS)
def rollout(request) -> Rollout:
    """A compiled env and its random rollout (cached across tests)."""
    return compiled(request.param)


def standing_on_their_goals(rollout, torso: jax.Array):
    """The rollout's first states with every torso moved to ``torso`` (x, y), its goal there."""
    states, state_size = rollout.first, rollout.env.state_size
    qpos = states.physics.qpos.at[:, :2].set(torso)
    obs = states.obs.at[:, :2].set(torso).at[:, state_size:].set(torso)
    return states.replace(
        physics=states.physics.replace(qpos=qpos),
        obs=obs,
        goal=jnp.broadcast_to(torso, states.goal.shape),
        metrics={**states.metrics, SUCCESS: jnp.ones(NUM_ENVS)},
    )


def test_episodes_end_at_the_limit_and_only_humanoids_terminate(rollout):
    check_episodes_end_at_the_limit(rollout.done, rollout.terminated, EPISODE_LENGTH)
    terminated = rollout.terminated > 0
    # Without resets, random torques for 3 s of simulated time topple every humanoid copy; obs,
    # reward, qpos and qvel stay finite all the while, fallen or not.
    _, fell = random_steps_without_resets(
        rollout.step, rollout.first, rollout.env.action_size, 200, jax.random.key(9)
    )
    assert fell.all() if rollout.env.name in HUMANOIDS else not (fell.any() or terminated.any())


@pytest.mark.parametrize("name", HUMANOIDS)
def test_humanoid_terminates_when_fallen(name):
    humanoid = compiled(name)
    state, actions = humanoid.first, jnp.zeros((NUM_ENVS, humanoid.env.action_size))
    # The standing start is healthy; a torso dropped to 0.5 m (below the 1.0 m floor of the
    # healthy range) is not.
    np.testing.assert_array_equal(humanoid.step(state, actions).terminated, np.zeros(NUM_ENVS))
    low = state.physics.qpos.at[1, 2].set(0.5)
    fallen = humanoid.step(state.replace(physics=state.physics.replace(qpos=low)), actions)
    np.testing.assert_array_equal(fallen.terminated[:2], [0.0, 1.0])
    # A healthy range above the standing height (1.4 m) marks every copy as fallen.
    lifted = humanoid.params.replace(healthy_z_min=jnp.asarray(3.0), healthy_z_max=jnp.asarray(4.0))
    np.testing.assert_array_equal(humanoid.step(state, actions, lifted).terminated, np.ones(4))


def test_models_keep_contacts_minimal():
    # Feet (2) + head tip + torso capsule (2 slots) for the cheetah; 3 arm links vs the puck;
    # 2 feet for the humanoid; in a maze also the trunk guard vs each wall box (2 slots each).
    assert num_candidate_contacts(compiled("half_cheetah").env) == 5
    assert num_candidate_contacts(compiled("pusher_easy").env) == 3
    assert num_candidate_contacts(compiled("humanoid").env) == 2
    maze = compiled("humanoid_u_maze").env
    num_boxes = len(wall_boxes(maze.walls))
    assert num_candidate_contacts(maze) == 2 + 2 * num_boxes
    # With the feet on the walls too: one more slot per foot and box.
    with_feet = HumanoidMaze(layout="u_maze", wall_contacts="trunk_and_feet")
    assert num_candidate_contacts(with_feet) == 2 + 4 * num_boxes


def test_half_cheetah_goal_ahead_or_behind_by_five_metres():
    cheetah = compiled("half_cheetah")
    env, state = cheetah.env, cheetah.many_resets(jax.random.key(3), 64)
    assert env.state_size == 18 and env.goal_indices == (0,)
    offsets = np.asarray(state.goal[:, 0] - state.obs[:, 0])
    np.testing.assert_allclose(np.abs(offsets), 5.0, rtol=1e-5)
    assert (offsets > 0).any() and (offsets < 0).any()
    ahead = env.default_params().replace(goal_behind_probability=jnp.asarray(0.0))
    assert np.all(np.asarray(cheetah.many_resets(jax.random.key(3), 64, ahead).goal) > 4.0)


def test_half_cheetah_redraws_a_goal_five_metres_from_where_it_stands():
    # Copies standing on their goal 20 m out: a fresh episode's goal (5 m from x = 0) would ask
    # for a 15 or 25 m run; the redrawn goal lies 5 m ahead or behind, as an episode's first.
    cheetah = compiled("half_cheetah")
    env, params = cheetah.env, cheetah.params
    states = cheetah.reset(jax.random.split(jax.random.key(6), NUM_ENVS))
    states = states.replace(
        obs=states.obs.at[:, 0].set(20.0),
        physics=states.physics.replace(qpos=states.physics.qpos.at[:, 0].set(20.0)),
    )
    states = jax.vmap(env.with_goal)(states, jnp.full((NUM_ENVS, 1), 20.0))
    states = states.replace(metrics={**states.metrics, SUCCESS: jnp.ones(NUM_ENVS)})
    redrawn, reached = redraw_reached_goals(env, params, states, jax.random.key(7))
    assert np.asarray(reached).all()
    np.testing.assert_allclose(np.abs(np.asarray(redrawn.goal[:, 0]) - 20.0), 5.0, rtol=1e-5)
    np.testing.assert_array_equal(redrawn.obs[:, env.state_size :], redrawn.goal)
    np.testing.assert_array_equal(redrawn.obs[:, : env.state_size], states.obs[:, : env.state_size])


def test_humanoid_redraws_a_goal_around_where_it_stands():
    # --redraw-goal-on-success drew the new goal 1 to 5 m from the origin: a humanoid at its goal
    # 5 m out was sent up to 10 m; now 1 to 5 m from where it stands, as at a reset.
    humanoid = compiled("humanoid")
    env, torso = humanoid.env, jnp.array([5.0, 0.0])
    states = standing_on_their_goals(humanoid, torso)
    redraws = [
        redraw_reached_goals(env, humanoid.params, states, jax.random.key(seed))[0].goal
        for seed in range(4)
    ]
    offsets = np.linalg.norm(np.concatenate(redraws) - np.asarray(torso), axis=-1)
    assert offsets.min() >= env.goal_min_distance - 1e-5
    assert offsets.max() <= env.goal_max_distance + 1e-5
    # A maze's goals lie in its cells: a redraw there keeps to the goal region.
    maze = compiled("humanoid_u_maze")
    maze_states = maze.first.replace(metrics={**maze.first.metrics, SUCCESS: jnp.ones(NUM_ENVS)})
    redrawn, _ = redraw_reached_goals(maze.env, maze.params, maze_states, jax.random.key(4))
    assert all(maze.env.goal_problem(goal) is None for goal in np.asarray(redrawn.goal))


def test_pusher_fingertip_matches_mujoco_and_state_layout():
    pusher = compiled("pusher_easy")
    env, state = pusher.env, pusher.many_resets(jax.random.key(4), 8)
    assert env.state_size == 12 and env.goal_indices == (3, 4)
    data = mujoco.MjData(env.mj_model)
    site = env.mj_model.site("fingertip").id
    for angles in np.random.default_rng(0).uniform(-1.5, 1.5, (8, 3)):
        data.qpos[:3] = angles
        mujoco.mj_kinematics(env.mj_model, data)
        np.testing.assert_allclose(
            env.fingertip(jnp.asarray(angles)), data.site_xpos[site][:2], atol=1e-5
        )
    obs, qpos = np.asarray(state.obs), np.asarray(state.physics.qpos)
    np.testing.assert_array_equal(obs[:, 3:5], qpos[:, 3:5])  # the puck's slide joints are its xy


@pytest.mark.parametrize("kind", sorted(GOAL_REGIONS))
def test_pusher_puck_and_goal_regions(kind):
    pusher = compiled("pusher_easy")
    params = pusher.params
    goal_low, goal_high = GOAL_REGIONS[kind]
    params = params.replace(goal_low=jnp.asarray(goal_low), goal_high=jnp.asarray(goal_high))
    state = pusher.many_resets(jax.random.key(5), 256, params)
    puck, goal = np.asarray(state.obs[:, 3:5]), np.asarray(state.goal)
    assert np.all((goal >= np.array(goal_low) - 1e-6) & (goal <= np.array(goal_high) + 1e-6))
    # ... and within the arm's reach: 0.10 to 0.94 m from the shoulder (the hard rectangle's far
    # corners lie 1.28 m away).
    reach = np.linalg.norm(goal - np.array(pusher.env.shoulder), axis=-1)
    np.testing.assert_allclose(pusher.env.goal_reach, (0.10, 0.94))
    assert np.all((reach >= 0.10 - 1e-5) & (reach <= 0.94 + 1e-5))
    # The fingertip gets within 7 cm (hand + puck radius, and 1 cm for the sampling) of each goal.
    ranges = pusher.env.mj_model.jnt_range[:3]
    angles = np.random.default_rng(0).uniform(ranges[:, 0], ranges[:, 1], (200_000, 3))
    tips = np.asarray(jax.vmap(pusher.env.fingertip)(jnp.asarray(angles)))
    assert scipy.spatial.cKDTree(tips).query(goal)[0].max() < 0.08
    assert np.all(np.linalg.norm(puck - goal, axis=-1) >= 0.17 - 1e-5)
    # Pucks stay in their start rectangle unless moved off a too-near goal (by under 0.17 m).
    low, high = np.array(PUCK_START_REGION[0]), np.array(PUCK_START_REGION[1])
    assert np.all((puck >= low - 0.17) & (puck <= high + 0.17))
    assert np.mean(np.all((puck >= low) & (puck <= high), axis=-1)) > 0.7
    spread = goal.max(0) - goal.min(0)
    assert np.all(spread > 0.8 * (np.array(goal_high) - np.array(goal_low)))


@pytest.mark.parametrize("kind, largest", [("easy", 0.32), ("hard", 0.25)])
def test_pusher_starts_at_the_largest_minimum_distance_within_reach(kind, largest):
    # Sliding a too-near puck to 0.32 m from an easy goal left the arm's reach in 0.4% of
    # resets; such a puck now starts at the corner of its region farthest from the goal.
    env = make_env(f"pusher_{kind}", min_start_distance=largest)
    params = env.default_params()
    sample = jax.jit(jax.vmap(env.sample_puck_goal, in_axes=(0, None)))
    puck, goal = (np.asarray(x) for x in sample(jax.random.split(jax.random.key(8), 4096), params))
    assert np.linalg.norm(puck - goal, axis=-1).min() >= largest - 1e-5
    reach = np.linalg.norm(puck - np.array(env.shoulder), axis=-1)
    assert np.all((reach >= env.goal_reach[0] - 1e-5) & (reach <= env.goal_reach[1] + 1e-5))


def test_pusher_hard_is_registered_with_the_wider_goal_region():
    hard = make_env("pusher_hard")
    assert hard.name == "pusher_hard"
    np.testing.assert_allclose(hard.default_params().goal_low, GOAL_REGIONS["hard"][0])


def test_humanoid_goal_distance_and_state_layout():
    humanoid = compiled("humanoid")
    env, state = humanoid.env, humanoid.many_resets(jax.random.key(6), 64)
    assert env.state_size == 47 and env.goal_indices == (0, 1)
    distances = np.linalg.norm(np.asarray(state.goal - state.obs[:, :2]), axis=-1)
    assert np.all((distances >= 1.0 - 1e-5) & (distances <= 5.0 + 1e-5))
    qpos, qvel = np.asarray(state.physics.qpos), np.asarray(state.physics.qvel)
    np.testing.assert_array_equal(np.asarray(state.obs[:, :47]), np.concatenate([qpos, qvel], -1))
    np.testing.assert_allclose(np.linalg.norm(qpos[:, 3:7], axis=-1), 1.0, rtol=1e-6)


def test_humanoid_maze_starts_and_goals_in_distinct_free_cells():
    maze = compiled("humanoid_u_maze")
    env, state = maze.env, maze.many_resets(jax.random.key(7), 64)
    cells = lambda xy: np.floor(np.asarray(xy) / env.cell_size).astype(int)[:, ::-1]  # (row, col)
    start_cells, goal_cells = cells(state.obs[:, :2]), cells(state.goal)
    assert not env.walls[tuple(start_cells.T)].any()
    assert not env.walls[tuple(goal_cells.T)].any()
    assert np.all(np.any(start_cells != goal_cells, axis=-1))
    assert len({tuple(c) for c in goal_cells}) == int((~env.walls).sum())  # every cell is used


def test_humanoid_maze_goals_stay_in_the_goal_region():
    env = HumanoidMaze(layout="spiral")
    region = parse_goal_region(LAYOUTS["spiral"])
    keys = jax.random.split(jax.random.key(8), 32)
    state = fast_jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, env.default_params())
    goal_cells = np.floor(np.asarray(state.goal) / env.cell_size).astype(int)[:, ::-1]
    assert region[tuple(goal_cells.T)].all() and region.sum() < (~env.walls).sum()
    assert env.episode_length == humanoid_maze_episode_length(env.walls, env.cell_size) > 1000


@pytest.mark.parametrize("name", ["humanoid_big_maze", "humanoid_hardest_maze"])
def test_big_humanoid_mazes_step_finite_and_outside_their_walls(name):
    # Each maze is its own MJX model (its wall boxes), so each compiles its own step: about 20 to
    # 30 s on a 2-core CPU. The reset is the cheap compile (no physics).
    env = make_env(name)
    assert num_candidate_contacts(env) == 2 + 2 * len(wall_boxes(env.walls))  # feet, trunk
    reset = fast_jit(jax.vmap(env.reset, in_axes=(0, None)))
    step = fast_jit(jax.vmap(env.step, in_axes=(0, 0, None)))
    check_walker_stays_out_of_walls(env, reset, step, NUM_ENVS)


def test_humanoid_maze_episode_length_rule():
    assert humanoid_maze_episode_length(parse_layout(LAYOUTS["u_maze"]), 2.0) == 1000
    if "big" in LAYOUTS:
        assert humanoid_maze_episode_length(parse_layout(LAYOUTS["big"]), 2.0) > 1000


@pytest.mark.parametrize(
    "name, overrides, option",
    [
        ("half_cheetah", {"goal_min_distance": 6.0, "goal_max_distance": 5.0}, "goal_min_distance"),
        ("half_cheetah", {"goal_behind_probability": 1.5}, "goal_behind_probability"),
        ("pusher_easy", {"kind": "medium"}, "kind"),
        (
            "pusher_easy",
            {"min_start_distance": 2.0},
            r"min_start_distance must lie in \[0.101, 0.32\]",
        ),
        ("pusher_hard", {"min_start_distance": 0.26}, r"in \[0.101, 0.25\] m .* default is 0.17"),
        ("pusher_easy", {"min_start_distance": -0.1}, "min_start_distance"),
        ("humanoid", {"goal_min_distance": -1.0}, "goal_min_distance"),
        ("humanoid", {"healthy_z_range": (2.0, 1.0)}, "healthy_z_range"),
        # Anything but two rising heights: an IndexError, or taken with every step a fall.
        ("humanoid", {"healthy_z_range": [1.0]}, r"two torso heights \[low, high\] with low <"),
        ("ant", {"healthy_z_range": [0.2]}, r"two torso heights \[low, high\] with low <"),
        ("ant", {"healthy_z_range": [1.0, 0.0]}, r"healthy_z_range must be two torso heights"),
        ("ant", {"healthy_z_range": [0.3, 0.9, 5]}, r"healthy_z_range must be two torso heights"),
        ("ant_u_maze", {"healthy_z_range": [0.2]}, r"healthy_z_range must be two torso heights"),
        ("ant", {"healthy_z_range": "(0.2, 1.0)"}, r"in brackets \(e.g. healthy_z_range=\[0.2, 1"),
        ("ant", {"xml": "foo"}, r"xml is not MJCF text"),
        ("humanoid_u_maze", {"cell_jitter": 0.9}, "cell_jitter"),
        ("ant_u_maze", {"cell_size": 1.0}, "cell_size must be at least 2 m, so that a start"),
        ("humanoid_u_maze", {"wall_contacts": "arms"}, "wall_contacts"),
        ("humanoid_u_maze", {"layout": "nowhere"}, "layout"),
    ],
)
def test_bad_options_name_the_option(name, overrides, option):
    with pytest.raises(ValueError, match=option):
        make_env(name, **overrides)


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        # Goals as near as the threshold: with both at 0.5 m, float32 rounding alone started 407
        # of 4096 half-cheetah episodes within it.
        (
            "half_cheetah",
            {"goal_min_distance": 0.5, "goal_max_distance": 0.5},
            r"goal_min_distance must be at least 0.501 m, above success_threshold = 0.5 m .*; "
            r"got 0.5: raise goal_min_distance \(and goal_max_distance with it, if needed\), or "
            r"lower success_threshold below goal_min_distance",
        ),
        (
            "humanoid",
            {"goal_min_distance": 0.5},
            r"goal_min_distance must be at least 0.515 m, above success_threshold \+ sqrt\(2\) "
            r"\* reset_noise = 0.514142 m",
        ),
        # A start in the cell next to its goal's lies as near as 2 - 2 * 0.5 - 0.01 = 0.99 m.
        (
            "humanoid_u_maze",
            {"success_threshold": 0.99},
            r"success_threshold must be at most 0.989 m, below cell_size - 2 \* cell_jitter - "
            r"reset_noise = 0.99 m",
        ),
        # The puck starts min_start_distance or more from its goal, a slid one at it (rounded):
        # at 0.17 m each, 160 of 4096 pusher_easy episodes started solved.
        (
            "pusher_easy",
            {"success_threshold": 0.17},
            r"min_start_distance must lie in \[0.171, 0.32\] m for pusher_easy .*, or lower "
            r"success_threshold below 0.17 m",
        ),
        ("pusher_hard", {"success_threshold": 1.0}, r"must be below 0.25 m for pusher_hard"),
        (
            "pusher_easy",
            {"min_start_distance": 0.0},
            r"min_start_distance must lie in \[0.101, 0.32\] m",
        ),
        # NaN physics, and goals farther out than float32 tells the threshold apart.
        ("half_cheetah", {"reset_noise": 1.5}, r"reset_noise must be at most 1, got 1.5"),
        (
            "humanoid",
            {"reset_noise": 3.0, "terminate_when_unhealthy": False},
            r"reset_noise must be at most 2, got 3",
        ),
        ("humanoid", {"reset_noise": 11.0}, r"reset_noise must be at most 10, got 11"),
        (
            "humanoid_u_maze",
            {"reset_noise": 2.5, "cell_size": 10.0, "terminate_when_unhealthy": False},
            "reset_noise must be at m",
        ),
        ("half_cheetah", {"goal_max_distance": 1e6}, r"goal_max_distance=1e\+06 puts goals up"),
        ("humanoid", {"goal_max_distance": 1e6}, r"goal_max_distance=1e\+06 puts goals up"),
        ("humanoid_u_maze", {"cell_size": 2e5}, r"cell_size=200000 puts goals up to 7000\d\d m"),
    ],
)
def test_options_that_start_solved_or_break_the_physics_are_refused(name, overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        make_env(name, **overrides)
    assert "\n" not in str(error.value)


def test_bounds_accept_the_values_they_name():
    make_env("half_cheetah", goal_min_distance=0.501, goal_max_distance=999.0, reset_noise=1.0)
    make_env("humanoid", goal_min_distance=0.515, goal_max_distance=1e3, reset_noise=0.01)
    make_env("humanoid", reset_noise=2.0, goal_min_distance=3.329)
    make_env("humanoid_u_maze", success_threshold=0.989)
    make_env("pusher_easy", success_threshold=0.169)
    make_env("pusher_easy", success_threshold=0.319, min_start_distance=0.32)
