"""A device-resident circular trajectory buffer, one ring of ``capacity`` steps per env copy.

Layout is time-major: ``states[capacity, num_envs, state_size]``. All envs write in lockstep, so a
single counter ``steps_written`` (steps per env since the start) locates everything: the step at
global time ``t`` lives in slot ``t % capacity``, and the stored times are
``[steps_written - size, steps_written)``. ``insert`` writes one unroll with
``dynamic_update_slice`` at the write head (O(unroll), never a copy of the whole buffer); capacity
is a multiple of the unroll length so a block never wraps.

Episode bookkeeping, so goal sampling never crosses an episode or the write head:
``episode_ids[slot, env]`` numbers each env's episodes 0, 1, 2, ..., and a small table
``episode_last_time[episode_id % (capacity + 1), env]`` holds the global time of each episode's
last step (``NOT_ENDED`` while it runs). A table of ``capacity + 1`` rows is enough: when the
entry of episode ``e + capacity + 1`` is written, the ``capacity`` episodes between them (each at
least one step long) have pushed every step of ``e`` out of the ring.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

NOT_ENDED = jnp.iinfo(jnp.int32).max


@struct.dataclass
class ReplayBuffer:
    """Ring storage of per-step states and actions plus episode boundaries."""

    states: jax.Array  # [capacity, num_envs, state_size] (any dtype: float32 or uint8 pixels)
    actions: jax.Array  # [capacity, num_envs, action_size]
    episode_ids: jax.Array  # [capacity, num_envs] int32
    episode_last_time: jax.Array  # [capacity + 1, num_envs] int32, keyed by episode id
    current_episode_ids: jax.Array  # [num_envs] int32, id of the episode now running
    steps_written: jax.Array  # [] int32 steps per env written since the start

    @property
    def capacity(self) -> int:
        """Steps stored per env copy."""
        return self.states.shape[0]

    @property
    def num_envs(self) -> int:
        """Env copies (rings) in the buffer."""
        return self.states.shape[1]


class Unroll(struct.PyTreeNode):
    """What the collector hands to the buffer: one step per env, stacked over time."""

    states: jax.Array  # [unroll_length, num_envs, state_size] state part of obs at step t
    actions: jax.Array  # [unroll_length, num_envs, action_size] action taken at step t
    dones: jax.Array  # [unroll_length, num_envs] 1.0 when step t was its episode's last


def init_buffer(
    capacity: int, num_envs: int, state_size: int, action_size: int, state_dtype=jnp.float32
) -> ReplayBuffer:
    """An empty buffer holding ``capacity`` steps for each of ``num_envs`` env copies."""
    return ReplayBuffer(
        states=jnp.zeros((capacity, num_envs, state_size), state_dtype),
        actions=jnp.zeros((capacity, num_envs, action_size), jnp.float32),
        episode_ids=jnp.zeros((capacity, num_envs), jnp.int32),
        episode_last_time=jnp.full((capacity + 1, num_envs), NOT_ENDED, jnp.int32),
        current_episode_ids=jnp.zeros((num_envs,), jnp.int32),
        steps_written=jnp.zeros((), jnp.int32),
    )


def stored_steps(buffer: ReplayBuffer) -> jax.Array:
    """Steps per env currently held (grows to ``capacity``, then stays)."""
    return jnp.minimum(buffer.steps_written, buffer.capacity)


def insert(buffer: ReplayBuffer, unroll: Unroll) -> ReplayBuffer:
    """Write one unroll [unroll_length, num_envs, ...] at the write head, overwriting the oldest."""
    unroll_length, num_envs = unroll.dones.shape
    head = buffer.steps_written % buffer.capacity  # a multiple of unroll_length: no wrap inside
    times = buffer.steps_written + jnp.arange(unroll_length, dtype=jnp.int32)  # [unroll_length]

    dones = unroll.dones > 0
    # Episode id of each step: the running id plus the episodes that ended earlier in the unroll.
    ended_before = jnp.cumsum(dones, axis=0, dtype=jnp.int32) - dones
    ids = buffer.current_episode_ids[None, :] + ended_before  # [unroll_length, num_envs]

    def write(ring, block):
        return jax.lax.dynamic_update_slice_in_dim(ring, block.astype(ring.dtype), head, axis=0)

    # Record each ended episode's last time, and mark its successor as running. Rows that did not
    # end point past the table and are dropped. The successor marks go first, so when an episode
    # starts and ends inside one unroll its end time is what remains.
    table_rows = buffer.capacity + 1
    env_index = jnp.broadcast_to(jnp.arange(num_envs), ids.shape)
    drop = jnp.full_like(ids, table_rows)
    last_time = buffer.episode_last_time
    last_time = last_time.at[jnp.where(dones, (ids + 1) % table_rows, drop), env_index].set(
        NOT_ENDED, mode="drop"
    )
    last_time = last_time.at[jnp.where(dones, ids % table_rows, drop), env_index].set(
        jnp.broadcast_to(times[:, None], ids.shape), mode="drop"
    )
    return buffer.replace(
        states=write(buffer.states, unroll.states),
        actions=write(buffer.actions, unroll.actions),
        episode_ids=write(buffer.episode_ids, ids),
        episode_last_time=last_time,
        current_episode_ids=buffer.current_episode_ids + dones.sum(axis=0, dtype=jnp.int32),
        steps_written=buffer.steps_written + unroll_length,
    )
