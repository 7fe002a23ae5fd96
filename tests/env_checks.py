"""Checks of the env interface that every env test module runs on its own compiled envs.

Each takes what the module already built (an env, its first batch of states, a random rollout as
arrays [num_steps, num_envs, ...], a compiled batched step) and compiles nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl.envs import DISTANCE, SUCCESS


def num_candidate_contacts(env) -> int:
    """How many geom pairs MJX checks for contact every physics step."""
    return getattr(env.data_template, "_impl", env.data_template).contact.dist.shape[0]


def check_first_states(env, first, num_envs: int) -> None:
    """Reset states: obs = state ++ goal, float32 obs, per-copy scalars, the two metrics."""
    assert env.observation_size == env.state_size + env.goal_size
    assert first.obs.shape == (num_envs, env.observation_size)
    assert first.obs.dtype == jnp.float32
    assert first.goal.shape == (num_envs, env.goal_size)
    np.testing.assert_array_equal(first.obs[:, env.state_size :], first.goal)
    assert first.reward.shape == first.done.shape == first.terminated.shape == (num_envs,)
    assert first.step_count.dtype == jnp.int32
    assert set(first.metrics) >= {DISTANCE, SUCCESS}
    assert np.isfinite(np.asarray(first.obs)).all()


def check_random_rollout(
    env, obs: np.ndarray, metrics: dict, num_steps: int, num_envs: int
) -> None:
    """A random rollout [num_steps, num_envs, ...]: float32, finite, success 0 or 1."""
    assert obs.shape == (num_steps, num_envs, env.observation_size)
    assert obs.dtype == np.float32
    assert np.isfinite(obs).all()
    for name in (DISTANCE, SUCCESS):
        assert metrics[name].shape == (num_steps, num_envs)
        assert np.isfinite(metrics[name]).all()
    assert set(np.unique(metrics[SUCCESS])) <= {0.0, 1.0}


def check_step_keeps_the_goal(env, first, stepped, num_envs: int) -> None:
    """One batched step: obs shape, finite values, and the episode's goal as the obs tail."""
    assert stepped.obs.shape == (num_envs, env.observation_size)
    assert np.isfinite(np.asarray(stepped.obs)).all()
    np.testing.assert_array_equal(stepped.obs[:, env.state_size :], first.goal)


def check_finite_states(states) -> None:
    """A batch's obs, reward and, for MJX physics, qpos and qvel hold no NaN or Inf."""
    arrays = {"obs": states.obs, "reward": states.reward}
    if hasattr(states.physics, "qpos"):  # MJX Data
        arrays |= {"qpos": states.physics.qpos, "qvel": states.physics.qvel}
    for name, array in arrays.items():
        assert np.isfinite(np.asarray(array)).all(), f"non-finite {name}"


def random_steps_without_resets(
    step: Callable, first, action_size: int, num_steps: int, key: jax.Array
) -> tuple:
    """Step ``first`` [num_envs] ``num_steps`` times with uniform random actions and no resets,
    checking every state finite (``check_finite_states``).

    ``step(states, actions)`` is the module's compiled batched step. Returns the last states and
    which copies were ever marked terminated [num_envs] bool.
    """
    states, num_envs = first, first.obs.shape[0]
    terminated = np.zeros(num_envs, bool)
    for action_key in jax.random.split(key, num_steps):
        actions = jax.random.uniform(action_key, (num_envs, action_size), minval=-1.0, maxval=1.0)
        states = step(states, actions)
        check_finite_states(states)
        terminated |= np.asarray(states.terminated) > 0
    return states, terminated


def check_walker_stays_out_of_walls(env, reset: Callable, step: Callable, num_envs: int) -> None:
    """Reset ``num_envs`` copies of a walker maze and take 20 random steps without resets: every
    state is finite and no torso stands in a wall cell. ``reset(keys, params)`` and
    ``step(states, actions, params)`` are the caller's compiled batched functions."""
    params = env.default_params()
    first = reset(jax.random.split(jax.random.key(11), num_envs), params)
    last, _ = random_steps_without_resets(
        lambda states, actions: step(states, actions, params),
        first,
        env.action_size,
        20,
        jax.random.key(12),
    )
    for states in (first, last):
        cells = np.floor(np.asarray(states.obs[:, :2]) / env.cell_size).astype(int)[:, ::-1]
        assert not env.walls[tuple(cells.T)].any()


def check_goal_at_the_achieved_state(
    env, first, step: Callable, num_envs: int, far_offset: float = 100.0
) -> tuple:
    """A goal at where a step lands counts as success, one ``far_offset`` away per axis does not.

    ``step(states, actions)`` is the module's compiled batched step. Physics is deterministic: the
    same step from the same state lands on the same point. Returns (achieved, at_goal, far).
    """
    actions = jax.random.uniform(jax.random.key(2), (num_envs, env.action_size), minval=-1.0)
    achieved = env.goal_of(step(first, actions).obs[:, : env.state_size])
    at_goal = step(first.replace(goal=achieved), actions)
    np.testing.assert_array_equal(at_goal.metrics[SUCCESS], np.ones(num_envs))
    assert np.all(np.asarray(at_goal.metrics[DISTANCE]) < 1e-5)
    far = step(first.replace(goal=achieved + far_offset), actions)
    np.testing.assert_array_equal(far.metrics[SUCCESS], np.zeros(num_envs))
    return achieved, at_goal, far


def check_goals_differ_across_episodes(done: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Copy 0's goals [num_steps, num_envs, goal_size] differ in each of its 20+ episodes.

    Returns the mask [num_steps - 1] of copy 0's first steps of an episode after the first.
    """
    episode_starts = done[:-1, 0] > 0  # the step after a done carries the new goal
    new_goals = goals[1:, 0][episode_starts]
    assert len(new_goals) >= 20
    assert len(np.unique(new_goals.round(6), axis=0)) == len(new_goals)
    return episode_starts


def check_episodes_end_at_the_limit(done: np.ndarray, terminated: np.ndarray, limit: int) -> None:
    """Every copy's episodes in an auto-resetting rollout [num_steps, num_envs] last ``limit``
    steps, or fewer when the env terminated them."""
    for copy in range(done.shape[1]):
        ends = np.flatnonzero(done[:, copy] > 0)
        lengths = np.diff(np.concatenate([[-1], ends]))
        assert lengths.max() <= limit
        for end, length in zip(ends, lengths, strict=True):
            assert length == limit or terminated[end, copy] > 0


# The contract as tests, for modules whose ``rollout`` fixture gives a compiled env and a random,
# auto-resetting rollout (attributes num_envs, num_steps, env, first, step, obs, metrics, done,
# goals). A module runs them by importing them: pytest collects each imported test with that
# module's own fixture.


def test_reset_shapes_and_dtypes(rollout):
    check_first_states(rollout.env, rollout.first, rollout.num_envs)


def test_step_shapes_and_finite_over_random_rollout(rollout):
    check_random_rollout(
        rollout.env, rollout.obs, rollout.metrics, rollout.num_steps, rollout.num_envs
    )


def test_jit_vmap_step(rollout):
    stepped = rollout.step(rollout.first, jnp.zeros((rollout.num_envs, rollout.env.action_size)))
    check_step_keeps_the_goal(rollout.env, rollout.first, stepped, rollout.num_envs)


def test_goal_at_achieved_state_succeeds_and_far_goal_fails(rollout):
    check_goal_at_the_achieved_state(rollout.env, rollout.first, rollout.step, rollout.num_envs)


def test_goals_differ_across_episodes_of_one_slot(rollout):
    check_goals_differ_across_episodes(rollout.done, rollout.goals)


def test_hundred_random_steps_without_resets_stay_finite(rollout):
    random_steps_without_resets(
        rollout.step, rollout.first, rollout.env.action_size, 100, jax.random.key(10)
    )
