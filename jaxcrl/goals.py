"""Training batches with geometric future goals, drawn straight from the circular buffer.

For an anchor step ``t`` the critic's goal is the goal part of step ``t + k`` of the same episode,
with ``P(k) ∝ γ^(k-1)`` for ``k = 1..H`` and ``H`` the number of later steps of that episode still
in the buffer (up to the write head). The offset is drawn by inverting the truncated geometric
CDF, O(1) per sample (no [T, T] probability matrices).

Anchors with no later step (an episode's last step, the newest step) cannot be used. Each sample
draws ``num_candidates`` anchors uniformly and keeps the first usable one; an anchor is unusable
with probability about (episodes in the buffer / stored steps), so with episodes of L steps all
candidates fail with probability about L^-num_candidates (1e-16 for L = 100 and 8 candidates,
but 1/256 for 2-step episodes); such a row keeps candidate 0 with offset 1, its goal is the slot
after it (a step of another episode, or an empty slot before the ring first fills), and
``has_goal`` marks it False, so the critic's losses count it only as a negative.
A fixed dataset avoids the gamble: ``anchor_times`` lists every usable anchor once, and anchors are
drawn uniformly from that list, so every goal lies in its anchor's episode, however short.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.buffer import ReplayBuffer, stored_steps


class GoalBatch(struct.PyTreeNode):
    """A batch of anchor steps with their future goals, as the losses consume it."""

    states: jax.Array  # [batch, state_size]
    actions: jax.Array  # [batch, action_size]
    future_goals: jax.Array  # [batch, goal_size] goal part of a later state, same episode
    actor_goals: jax.Array  # [batch, goal_size] the actor's goals: future_goals, or uniform ones
    offsets: jax.Array  # [batch] int32 steps between the anchor and its goal (>= 1)
    has_goal: jax.Array  # [batch] bool: the goal is a later step of the anchor's episode
    anchor_times: jax.Array  # [batch] int32 global time of each anchor (for tests/diagnostics)
    env_index: jax.Array  # [batch] int32 env copy each anchor came from


def truncated_geometric(key: jax.Array, discount: float, horizon: jax.Array) -> jax.Array:
    """Draw k in [1, horizon] with P(k) ∝ discount^(k-1), by inverting the CDF; any shape."""
    horizon = jnp.maximum(horizon, 1)
    uniform = jax.random.uniform(key, horizon.shape)
    log_discount = jnp.log(discount)
    # F(k) = (1 - γ^k) / (1 - γ^H); k = ceil(log(1 - u (1 - γ^H)) / log γ). expm1/log1p keep
    # precision when γ is close to 1 and 1 - γ^H is tiny.
    mass = -jnp.expm1(horizon.astype(jnp.float32) * log_discount)
    offset = jnp.ceil(jnp.log1p(-uniform * mass) / log_discount).astype(jnp.int32)
    return jnp.clip(offset, 1, horizon)


def uniform_offsets(key: jax.Array, horizon: jax.Array) -> jax.Array:
    """Draw k uniformly in [1, horizon]; any shape."""
    horizon = jnp.maximum(horizon, 1)
    return jax.random.randint(key, horizon.shape, 1, horizon + 1)


def later_steps_in_episode(buffer: ReplayBuffer, times: jax.Array, envs: jax.Array) -> jax.Array:
    """For anchors at global ``times`` of env copies ``envs``: how many later steps of the same
    episode the buffer holds (0 for an episode's last step or the newest step)."""
    slots = times % buffer.capacity
    episode = buffer.episode_ids[slots, envs]
    last_time = buffer.episode_last_time[episode % (buffer.capacity + 1), envs]
    newest_time = buffer.steps_written - 1
    return jnp.minimum(last_time, newest_time) - times


def draw_usable_anchors(
    buffer: ReplayBuffer,
    env_key: jax.Array,
    age_key: jax.Array,
    batch_size: int,
    num_candidates: int,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(envs, times, horizons) [batch]: per row, the first of ``num_candidates`` uniformly drawn
    stored steps that has a later step in its episode (candidate 0 when none has)."""
    size = stored_steps(buffer)
    oldest_time = buffer.steps_written - size
    shape = (batch_size, num_candidates)
    envs = jax.random.randint(env_key, shape, 0, buffer.num_envs)
    times = oldest_time + jax.random.randint(age_key, shape, 0, size)
    horizons = later_steps_in_episode(buffer, times, envs)  # [batch, candidates]
    choice = jnp.argmax(horizons >= 1, axis=1)
    pick = lambda x: jnp.take_along_axis(x, choice[:, None], axis=1)[:, 0]
    return pick(envs), pick(times), pick(horizons)


def sample_future_goal_batch(
    buffer: ReplayBuffer,
    key: jax.Array,
    batch_size: int,
    goal_discount: float,
    goal_indices: tuple[int, ...],
    num_candidates: int = 8,
    uniform_actor_goals: bool = False,
    anchor_times: jax.Array | None = None,
) -> GoalBatch:
    """Sample ``batch_size`` anchors uniformly over stored steps, each with a geometric future goal.

    With ``uniform_actor_goals`` the actor's goal is a second later step of the same episode, drawn
    uniformly over the steps that remain (OGBench's CRL actor); otherwise it is the critic's goal.
    ``anchor_times`` ([num_anchors] int32, one-env buffers only) lists the global times of every
    usable anchor; anchors are then drawn uniformly from it instead of by candidates.
    """
    env_key, age_key, offset_key = jax.random.split(key, 3)
    if anchor_times is not None:
        envs = jnp.zeros((batch_size,), jnp.int32)
        times = anchor_times[jax.random.randint(age_key, (batch_size,), 0, len(anchor_times))]
        horizons = later_steps_in_episode(buffer, times, envs)
    else:
        envs, times, horizons = draw_usable_anchors(
            buffer, env_key, age_key, batch_size, num_candidates
        )

    offsets = truncated_geometric(offset_key, goal_discount, horizons)
    anchor_slots = times % buffer.capacity

    def goals_at(offsets):
        goal_states = buffer.states[(times + offsets) % buffer.capacity, envs]
        if tuple(goal_indices) != tuple(range(goal_states.shape[-1])):  # else no gather needed
            goal_states = goal_states[:, np.asarray(goal_indices)]
        return goal_states

    future_goals = goals_at(offsets)
    actor_goals = future_goals
    if uniform_actor_goals:  # a key of its own, so the critic's batch is the same either way
        actor_goals = goals_at(uniform_offsets(jax.random.fold_in(offset_key, 1), horizons))
    return GoalBatch(
        states=buffer.states[anchor_slots, envs],
        actions=buffer.actions[anchor_slots, envs],
        future_goals=future_goals,
        actor_goals=actor_goals,
        offsets=offsets,
        has_goal=horizons >= 1,
        anchor_times=times,
        env_index=envs,
    )


def mix_random_goals(key: jax.Array, goals: jax.Array, random_goal_probability: float) -> jax.Array:
    """Replace each row's goal, with the given probability, by the goal of another row."""
    batch_size = goals.shape[0]
    shift_key, coin_key = jax.random.split(key)
    # A random non-zero cyclic shift pairs every row with a different row of the same batch.
    shift = jax.random.randint(shift_key, (), 1, max(batch_size, 2))
    other = jnp.roll(goals, shift, axis=0)
    use_other = jax.random.bernoulli(coin_key, random_goal_probability, (batch_size, 1))
    return jnp.where(use_other, other, goals)
