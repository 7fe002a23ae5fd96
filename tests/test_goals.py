"""Geometric future-goal sampling: same episode, later, never across the write head, right law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl.buffer import Unroll, init_buffer, insert
from jaxcrl.goals import (
    later_steps_in_episode,
    mix_random_goals,
    sample_future_goal_batch,
    truncated_geometric,
    uniform_offsets,
)


def truncated_geometric_pmf(discount: float, horizon: int) -> np.ndarray:
    """P(k) for k = 1..horizon, proportional to discount^(k-1)."""
    weights = discount ** np.arange(horizon)
    return weights / weights.sum()


def chi_square_p_value(counts: np.ndarray, expected: np.ndarray) -> float:
    """Pearson chi-square goodness-of-fit p-value (bins with expected >= 5 kept, rest pooled)."""
    from math import erf, sqrt

    keep = expected >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    obs, exp = obs[exp > 0], exp[exp > 0]
    statistic = float(((obs - exp) ** 2 / exp).sum())
    dof = len(obs) - 1
    # Wilson-Hilferty normal approximation of the chi-square tail, accurate for dof >= 3.
    z = ((statistic / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / sqrt(2 / (9 * dof))
    return 0.5 * (1 - erf(z / sqrt(2)))


@pytest.mark.parametrize("discount,horizon", [(0.9, 30), (0.99, 1000), (0.5, 4), (0.99, 7)])
def test_truncated_geometric_matches_the_law(discount, horizon):
    samples = 200_000
    offsets = truncated_geometric(
        jax.random.PRNGKey(horizon), discount, jnp.full((samples,), horizon)
    )
    offsets = np.asarray(offsets)
    assert offsets.min() >= 1 and offsets.max() <= horizon
    counts = np.bincount(offsets, minlength=horizon + 1)[1:]
    expected = samples * truncated_geometric_pmf(discount, horizon)
    # Tolerance: reject only below p = 1e-4 (the draw is seeded, so this is deterministic).
    assert chi_square_p_value(counts, expected) > 1e-4
    # And the mean within 4 standard errors.
    pmf = truncated_geometric_pmf(discount, horizon)
    k = np.arange(1, horizon + 1)
    mean, var = (k * pmf).sum(), (k**2 * pmf).sum() - (k * pmf).sum() ** 2
    assert abs(offsets.mean() - mean) < 4 * np.sqrt(var / samples)


def test_horizon_one_always_gives_offset_one():
    offsets = truncated_geometric(jax.random.PRNGKey(0), 0.99, jnp.ones((1000,), jnp.int32))
    assert (np.asarray(offsets) == 1).all()


def random_episode_buffer(seed, capacity, unroll_length, num_envs, iterations, end_probability):
    """A buffer filled with episodes of random lengths; state = (time, env, true episode id)."""
    rng = np.random.default_rng(seed)
    buffer = init_buffer(capacity, num_envs, 3, 1)
    episode = np.zeros(num_envs)
    for it in range(iterations):
        dones = (rng.random((unroll_length, num_envs)) < end_probability).astype(np.float32)
        ids = episode + np.cumsum(dones, axis=0) - dones
        episode = episode + dones.sum(axis=0)
        times = it * unroll_length + np.arange(unroll_length)
        states = np.stack(
            np.broadcast_arrays(
                times[:, None].astype(np.float32), np.arange(num_envs)[None, :], ids
            ),
            axis=-1,
        ).astype(np.float32)
        buffer = insert(
            buffer,
            Unroll(
                jnp.asarray(states), jnp.zeros((unroll_length, num_envs, 1)), jnp.asarray(dones)
            ),
        )
    return buffer


@pytest.mark.parametrize("iterations", [3, 11])  # 3: buffer not yet full; 11: wrapped around
def test_goals_are_later_in_the_same_episode_and_inside_the_buffer(iterations):
    capacity, unroll_length = 40, 8
    buffer = random_episode_buffer(0, capacity, unroll_length, 4, iterations, 0.15)
    sample = jax.jit(sample_future_goal_batch, static_argnums=(2, 4))
    oldest = int(buffer.steps_written) - min(int(buffer.steps_written), capacity)
    newest = int(buffer.steps_written) - 1
    for seed in range(20):
        batch = sample(buffer, jax.random.PRNGKey(seed), 512, 0.9, (0, 1, 2))
        anchor_time, anchor_env, anchor_episode = np.asarray(batch.states).T
        goal_time, goal_env, goal_episode = np.asarray(batch.future_goals).T
        assert batch.states.shape == (512, 3) and batch.future_goals.shape == (512, 3)
        assert batch.actions.shape == (512, 1) and batch.offsets.shape == (512,)
        assert (goal_time > anchor_time).all(), "goal must be strictly later (never the anchor)"
        assert (goal_time - anchor_time == np.asarray(batch.offsets)).all()
        assert (goal_env == anchor_env).all()
        assert (goal_episode == anchor_episode).all(), "goal crossed an episode boundary"
        assert (anchor_time >= oldest).all() and (goal_time <= newest).all(), "crossed write head"


def test_a_row_whose_candidates_all_lack_a_later_step_is_marked_as_having_no_goal():
    # One-step episodes: no anchor has a later step in its episode, so every row falls back.
    buffer = random_episode_buffer(2, 32, 4, 2, 6, 1.0)
    batch = sample_future_goal_batch(buffer, jax.random.PRNGKey(0), 64, 0.9, (0, 1, 2))
    assert batch.has_goal.shape == (64,) and batch.has_goal.dtype == jnp.bool_
    assert not np.asarray(batch.has_goal).any()
    # Two-step episodes: a row has a goal exactly when its goal lies in the anchor's episode.
    buffer = random_episode_buffer(3, 32, 4, 2, 6, 0.5)
    batch = sample_future_goal_batch(buffer, jax.random.PRNGKey(1), 4096, 0.9, (0, 1, 2), 1)
    same_episode = np.asarray(batch.states[:, 2] == batch.future_goals[:, 2])
    same_env = np.asarray(batch.states[:, 1] == batch.future_goals[:, 1])
    later = np.asarray(batch.future_goals[:, 0] > batch.states[:, 0])
    np.testing.assert_array_equal(np.asarray(batch.has_goal), same_episode & same_env & later)
    assert 0.2 < np.asarray(batch.has_goal).mean() < 0.8  # both kinds of row occur


def test_episode_straddling_the_write_head_is_never_mixed():
    # One env, no episode ever ends: the ring's oldest slot sits right after the newest one.
    capacity, unroll_length = 16, 4
    buffer = random_episode_buffer(1, capacity, unroll_length, 1, 9, 0.0)
    batch = sample_future_goal_batch(buffer, jax.random.PRNGKey(3), 4096, 0.5, (0,))
    anchor_time = np.asarray(batch.states[:, 0])
    goal_time = np.asarray(batch.future_goals[:, 0])
    assert (goal_time > anchor_time).all()
    assert goal_time.max() <= int(buffer.steps_written) - 1
    # The newest step has no future in the buffer, so it is never an anchor.
    assert anchor_time.max() < int(buffer.steps_written) - 1


def test_offsets_follow_the_truncated_law_given_each_anchor():
    capacity, unroll_length = 200, 10
    buffer = random_episode_buffer(2, capacity, unroll_length, 8, 30, 0.02)
    discount = 0.9
    batch = sample_future_goal_batch(buffer, jax.random.PRNGKey(7), 100_000, discount, (0,))
    horizons = np.asarray(later_steps_in_episode(buffer, batch.anchor_times, batch.env_index))
    offsets = np.asarray(batch.offsets)
    assert (horizons >= 1).all() and (offsets <= horizons).all()
    # Pool the anchors' own truncated laws into the expected histogram of offsets.
    max_offset = int(horizons.max())
    expected = np.zeros(max_offset)
    for horizon, count in zip(*np.unique(horizons, return_counts=True), strict=True):
        expected[:horizon] += count * truncated_geometric_pmf(discount, int(horizon))
    counts = np.bincount(offsets, minlength=max_offset + 1)[1:]
    assert chi_square_p_value(counts, expected) > 1e-4


def test_uniform_offsets_cover_each_horizon_evenly():
    horizons = jnp.asarray([1, 3, 50] * 30_000)
    offsets = np.asarray(uniform_offsets(jax.random.PRNGKey(0), horizons)).reshape(-1, 3)
    assert (offsets[:, 0] == 1).all()
    for column, horizon in [(1, 3), (2, 50)]:
        counts = np.bincount(offsets[:, column], minlength=horizon + 1)
        assert counts[0] == 0 and counts.sum() == 30_000 and len(counts) == horizon + 1
        assert chi_square_p_value(counts[1:], np.full(horizon, 30_000 / horizon)) > 1e-4


def test_uniform_actor_goals_are_later_steps_of_the_same_episode():
    capacity, unroll_length = 200, 10
    buffer = random_episode_buffer(4, capacity, unroll_length, 8, 30, 0.02)
    key = jax.random.PRNGKey(5)
    geometric = sample_future_goal_batch(buffer, key, 20_000, 0.5, (0, 1, 2))
    uniform = sample_future_goal_batch(
        buffer, key, 20_000, 0.5, (0, 1, 2), uniform_actor_goals=True
    )
    # The critic's batch is the same either way; without the option the actor shares its goals.
    np.testing.assert_array_equal(uniform.future_goals, geometric.future_goals)
    np.testing.assert_array_equal(geometric.actor_goals, geometric.future_goals)
    anchor_time, anchor_env, anchor_episode = np.asarray(uniform.states).T
    goal_time, goal_env, goal_episode = np.asarray(uniform.actor_goals).T
    assert (goal_time > anchor_time).all() and (goal_time <= int(buffer.steps_written) - 1).all()
    assert (goal_env == anchor_env).all() and (goal_episode == anchor_episode).all()
    # Uniform over the remaining steps: the mean offset is (horizon + 1) / 2 given each anchor.
    horizons = np.asarray(later_steps_in_episode(buffer, uniform.anchor_times, uniform.env_index))
    relative = (goal_time - anchor_time) / (horizons + 1)
    assert abs(relative.mean() - 0.5) < 0.01
    assert np.mean(goal_time - anchor_time) > 2 * np.mean(np.asarray(geometric.offsets))


def test_mix_random_goals_takes_other_rows():
    goals = jnp.arange(64, dtype=jnp.float32)[:, None]
    never = mix_random_goals(jax.random.PRNGKey(0), goals, 0.0)
    always = mix_random_goals(jax.random.PRNGKey(0), goals, 1.0)
    np.testing.assert_array_equal(never, goals)
    assert (np.asarray(always) != np.asarray(goals)).all()
    assert sorted(np.asarray(always)[:, 0].tolist()) == list(range(64))  # a permutation
    half = np.asarray(mix_random_goals(jax.random.PRNGKey(1), jnp.tile(goals, (16, 1)), 0.5))
    changed = (half != np.asarray(jnp.tile(goals, (16, 1)))).mean()
    assert 0.45 < changed < 0.55
