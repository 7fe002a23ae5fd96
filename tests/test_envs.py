"""The env contract, the batched auto-reset and the pure-JAX point maze."""

from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from env_batches import compiled_redraw, compiled_reset_batch, compiled_step_batch

from jaxcrl.envs import make_env, redraw_reached_goals, registered_envs, reset_batch, step_batch
from jaxcrl.envs.mazes import LAYOUTS, parse_layout

POINT_ENVS = [
    name
    for name in registered_envs()
    if name.startswith("point_")
    and not name.endswith("_pixels")  # tests/test_pixels.py
    and name != "point_maze_custom"  # its maze is an option: tests/test_mazes.py
]


def test_registry_lists_point_mazes_and_refuses_unknown_names():
    assert {"point_open", "point_u_maze", "point_medium", "point_large"} <= set(POINT_ENVS)
    with pytest.raises(KeyError, match="unknown env 'nope'"):
        make_env("nope")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_is_one_connected_region(layout):
    walls = parse_layout(LAYOUTS[layout])
    free = {tuple(cell) for cell in np.argwhere(~walls)}
    seen, queue = {next(iter(free))}, deque([next(iter(free))])
    while queue:
        row, col = queue.popleft()
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            cell = (row + dr, col + dc)
            if cell in free and cell not in seen:
                seen.add(cell)
                queue.append(cell)
    assert seen == free
    assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()


def test_parse_layout_refuses_bad_maps():
    with pytest.raises(ValueError, match="same width"):
        parse_layout("###\n#.\n###")
    with pytest.raises(ValueError, match="only"):
        parse_layout("###\n#x#\n###")


@pytest.mark.parametrize("name", POINT_ENVS)
def test_reset_and_step_shapes_dtypes_and_finiteness(name):
    env = make_env(name)
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 8)
    assert states.obs.shape == (8, env.observation_size) == (8, 4)
    assert states.goal.shape == (8, env.goal_size)
    assert states.obs.dtype == jnp.float32
    step = jax.jit(lambda s, a: step_batch(env, params, s, a))
    for i in range(100):
        actions = jax.random.uniform(jax.random.PRNGKey(i), (8, 2), minval=-1, maxval=1)
        states = step(states, actions)
        assert bool(jnp.all(jnp.isfinite(states.obs)))
    assert states.reward.shape == states.done.shape == (8,)
    assert set(states.metrics) >= {"distance", "success"}


@pytest.mark.parametrize("name", POINT_ENVS)
def test_point_never_enters_a_wall(name):
    env = make_env(name)
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(1), 64)
    step = jax.jit(lambda s, a: step_batch(env, params, s, a))
    walls = np.asarray(params.walls)
    for i in range(150):
        states = step(
            states, jax.random.uniform(jax.random.PRNGKey(i), (64, 2), minval=-1, maxval=1)
        )
        position = np.asarray(states.physics)
        cells = np.floor(position).astype(int)
        assert not walls[cells[:, 1], cells[:, 0]].any()


def test_goal_at_the_agent_is_success_and_far_goal_is_not():
    env = make_env("point_open")
    params = env.default_params()
    state = env.reset(jax.random.PRNGKey(0), params)
    at_agent = state.replace(goal=state.physics)
    assert float(env.step(at_agent, jnp.zeros(2), params).metrics["success"]) == 1.0
    far = state.replace(goal=state.physics + jnp.array([3.0, 0.0]))
    stepped = env.step(far, jnp.zeros(2), params)
    assert float(stepped.metrics["success"]) == 0.0
    assert float(stepped.metrics["distance"]) == pytest.approx(3.0, abs=1e-5)


def test_jit_vmap_of_step_works():
    env = make_env("point_u_maze")
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 4)
    stepped = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None)))(states, jnp.ones((4, 2)), params)
    assert stepped.obs.shape == (4, 4)


def test_each_episode_draws_a_new_start_and_goal():
    # One env slot, 50 episodes of 5 steps: every episode gets its own goal and start.
    env = make_env("point_open", episode_length=5)
    params = env.default_params()
    state = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 1)
    step = jax.jit(lambda s: step_batch(env, params, s, jnp.zeros((1, 2))))
    goals, starts = [np.asarray(state.goal[0])], [np.asarray(state.physics[0])]
    for _ in range(49 * 5):
        state = step(state)
        if bool(state.done[0]):
            goals.append(np.asarray(state.goal[0]))
            starts.append(np.asarray(state.physics[0]))
    assert len(goals) == 50
    assert len({tuple(g) for g in goals}) == 50
    assert len({tuple(s) for s in starts}) == 50
    # Goals spread over the arena rather than clustering in one cell.
    assert len({tuple(np.floor(g)) for g in goals}) > 10


@pytest.mark.parametrize(
    "name, threshold", [("point_open", 0.5), ("point_u_maze", 0.5), ("point_u_maze", 2.2)]
)
def test_no_episode_starts_at_its_goal(name, threshold):
    # Start and goal in neighbouring cells could lie within the threshold: 0.5% (open arena) and
    # 1.1% (U-maze) of resets did, each an evaluation episode counted a success at step 0. With
    # a threshold near the U-maze's bound (2.21), 42 of these 20,000 resets still started at
    # their goal after 16 redraws, before the farthest-corner fallback.
    env = make_env(name, success_threshold=threshold)
    params = env.default_params()
    states = jax.jit(lambda key: reset_batch(env, params, key, 20_000))(jax.random.PRNGKey(3))
    distances = np.linalg.norm(np.asarray(states.goal) - np.asarray(states.physics), axis=-1)
    assert distances.min() > float(params.success_threshold)
    assert not np.asarray(states.metrics["success"]).any()


@pytest.mark.parametrize("name, largest", [("point_open", 2.828), ("point_spiral", 7.808)])
def test_a_threshold_that_leaves_some_goal_no_start_beyond_it_is_refused(name, largest):
    # point_open took success_threshold=1e12, and every episode started solved.
    make_env(name, success_threshold=largest)  # the value the message names is accepted
    for threshold in (largest + 0.001, 1e12):
        with pytest.raises(ValueError, match=f"success_threshold must be at most {largest:g} "):
            make_env(name, success_threshold=threshold)
    room = "####/#..#/####"  # two cells: goals lie at most 1.97 from a start, some 1.46
    make_env("point_maze_custom", layout=room, success_threshold=0.89)
    with pytest.raises(ValueError, match=r"at most 0.89 cells in this maze \(below 0.890336"):
        make_env("point_maze_custom", layout=room, success_threshold=1.0)


def test_auto_reset_reports_the_ending_step_and_restarts_the_count():
    env = make_env("point_open", episode_length=3)
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 2)
    dones = []
    for _ in range(6):
        states = compiled_step_batch(env, params, states, jnp.zeros((2, 2)))
        dones.append(np.asarray(states.done).tolist())
        assert (np.asarray(states.step_count) < 3).all()
    assert dones == [[0, 0], [0, 0], [1, 1], [0, 0], [0, 0], [1, 1]]


def test_copies_at_their_goal_mid_episode_get_a_new_goal_and_keep_their_place():
    env = make_env("point_medium")
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 3)
    # Copy 0 stands on its goal, copy 1 is far from it, copy 2 is on its goal but just reset.
    on_goal = jax.vmap(env.with_goal)(states, states.physics)
    states = jax.tree.map(lambda a, b: b.at[0].set(a[0]).at[2].set(a[2]), on_goal, states)
    states = compiled_step_batch(env, params, states, jnp.zeros((3, 2)))
    states = states.replace(done=jnp.array([0.0, 0.0, 1.0]))
    assert np.asarray(states.metrics["success"]).tolist() == [1.0, 0.0, 1.0]

    redrawn, reached = compiled_redraw(env, params, states, jax.random.PRNGKey(1))
    assert np.asarray(reached).tolist() == [1.0, 0.0, 0.0]
    assert not np.allclose(redrawn.goal[0], states.goal[0])
    np.testing.assert_array_equal(redrawn.goal[1:], states.goal[1:])
    # The new goal lies in a free cell and the observation carries it; the rest stays.
    col, row = np.floor(np.asarray(redrawn.goal[0])).astype(int)
    assert not env.walls[row, col]
    np.testing.assert_array_equal(redrawn.obs[:, 2:], redrawn.goal)
    np.testing.assert_array_equal(redrawn.physics, states.physics)
    np.testing.assert_array_equal(redrawn.step_count, states.step_count)
    np.testing.assert_array_equal(redrawn.key, states.key)


def test_no_copy_at_its_goal_leaves_every_state_as_it_was():
    env = make_env("point_medium")
    params = env.default_params()
    states = compiled_step_batch(
        env, params, compiled_reset_batch(env, params, jax.random.PRNGKey(0), 4), jnp.zeros((4, 2))
    )
    assert not np.asarray(states.metrics["success"]).any()
    redrawn, reached = compiled_redraw(env, params, states, jax.random.PRNGKey(1))
    assert not np.asarray(reached).any()
    jax.tree.map(np.testing.assert_array_equal, redrawn, states)


def at_their_goals(env, params, key, num_envs):
    """``num_envs`` point-maze copies one step into an episode, standing on their goals."""
    states = compiled_reset_batch(env, params, key, num_envs)
    states = states.replace(
        physics=states.goal, obs=jnp.concatenate([states.goal, states.goal], axis=1)
    )
    return compiled_step_batch(env, params, states, jnp.zeros((num_envs, 2)))


def test_a_redrawn_goal_is_never_one_the_copy_has_already_reached():
    # point_spiral's goals fill its centre: one fresh goal in six lies within the threshold of
    # the goal a copy stands on, which the former redraw gave it (and counted) all the same.
    env = make_env("point_spiral")
    params = env.default_params()
    states = at_their_goals(env, params, jax.random.PRNGKey(0), 64)
    assert np.asarray(states.metrics["success"]).all()
    redrawn, reached = compiled_redraw(env, params, states, jax.random.PRNGKey(1))
    assert np.asarray(reached).all()
    distances = np.linalg.norm(np.asarray(redrawn.goal - redrawn.physics), axis=-1)
    assert distances.min() >= float(params.success_threshold)
    # The new goals still follow the env's goal law: inside the goal cells.
    col, row = np.floor(np.asarray(redrawn.goal)).astype(int).T
    assert np.asarray(params.goal_cells)[row, col].all()
    # The first draw is the former one (a fresh episode's goal) wherever that one qualifies.
    fresh = compiled_reset_batch(env, params, jax.random.PRNGKey(1), 64)
    first_far = np.linalg.norm(np.asarray(fresh.goal - states.physics), axis=-1) >= 0.5
    assert 0 < first_far.sum() < 64
    np.testing.assert_array_equal(redrawn.goal[first_far], fresh.goal[first_far])


def test_a_copy_with_no_unreached_goal_to_draw_keeps_its_goal_and_is_not_counted():
    # A threshold wider than the maze (which only params, not the env's option, may hold): every
    # goal is reached from everywhere.
    env = make_env("point_open")
    params = env.default_params().replace(success_threshold=jnp.asarray(100.0))
    states = at_their_goals(env, params, jax.random.PRNGKey(0), 4)
    assert np.asarray(states.metrics["success"]).all()
    redrawn, reached = compiled_redraw(env, params, states, jax.random.PRNGKey(1))
    assert not np.asarray(reached).any()
    jax.tree.map(np.testing.assert_array_equal, redrawn, states)


def test_redrawing_goals_jits_and_vmaps_over_params():
    env = make_env("point_spiral")
    params = env.default_params()
    states = at_their_goals(env, params, jax.random.PRNGKey(0), 8)
    thresholds = jnp.array([0.5, 100.0])
    batched = jax.tree.map(lambda leaf: jnp.stack([leaf, leaf]), params)
    batched = batched.replace(success_threshold=thresholds)
    redraw = jax.jit(jax.vmap(lambda p: redraw_reached_goals(env, p, states, jax.random.key(2))))
    redrawn, reached = redraw(batched)
    assert redrawn.goal.shape == (2, 8, 2) and reached.shape == (2, 8)
    assert np.asarray(reached).tolist() == [[1.0] * 8, [0.0] * 8]


def test_render_draws_an_rgb_image():
    env = make_env("point_u_maze")
    params = env.default_params()
    image = env.render(env.reset(jax.random.PRNGKey(0), params), params)
    assert image.dtype == np.uint8 and image.shape == (5 * 32, 5 * 32, 3)
    assert (image == (30, 60, 220)).all(axis=-1).any()  # the point is drawn
