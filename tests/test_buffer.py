"""The circular buffer: shapes, wrap-around, episode bookkeeping."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl.buffer import NOT_ENDED, Unroll, init_buffer, insert, stored_steps


def timed_unroll(start_time: int, unroll_length: int, num_envs: int, dones=None) -> Unroll:
    """An unroll whose state holds (global time, env index) so tests can see where data went."""
    times = start_time + jnp.arange(unroll_length, dtype=jnp.float32)
    envs = jnp.arange(num_envs, dtype=jnp.float32)
    states = jnp.stack(jnp.broadcast_arrays(times[:, None], envs[None, :]), axis=-1)
    if dones is None:
        dones = jnp.zeros((unroll_length, num_envs))
    return Unroll(states=states, actions=jnp.zeros((unroll_length, num_envs, 1)), dones=dones)


def test_init_and_insert_shapes():
    buffer = init_buffer(capacity=8, num_envs=3, state_size=2, action_size=1)
    assert buffer.states.shape == (8, 3, 2)
    assert buffer.actions.shape == (8, 3, 1)
    assert buffer.episode_ids.shape == (8, 3)
    assert buffer.episode_last_time.shape == (9, 3)
    buffer = insert(buffer, timed_unroll(0, 4, 3))
    assert int(stored_steps(buffer)) == 4
    assert buffer.states.shape == (8, 3, 2)


def test_uint8_states_keep_their_dtype():
    buffer = init_buffer(4, 1, 3, 1, state_dtype=jnp.uint8)
    unroll = Unroll(jnp.full((2, 1, 3), 200, jnp.uint8), jnp.zeros((2, 1, 1)), jnp.zeros((2, 1)))
    buffer = insert(buffer, unroll)
    assert buffer.states.dtype == jnp.uint8 and int(buffer.states[1, 0, 2]) == 200


def test_wrap_around_keeps_the_newest_data():
    capacity, unroll_length, num_envs = 8, 4, 2
    buffer = init_buffer(capacity, num_envs, 2, 1)
    insert_jit = jax.jit(insert)
    for start in range(0, 20, unroll_length):
        buffer = insert_jit(buffer, timed_unroll(start, unroll_length, num_envs))
    assert int(buffer.steps_written) == 20
    assert int(stored_steps(buffer)) == capacity
    stored_times = np.asarray(buffer.states[:, :, 0])
    # Slot s holds the newest time t with t % capacity == s, i.e. times 12..19.
    for slot in range(capacity):
        expected = max(t for t in range(20) if t % capacity == slot)
        assert (stored_times[slot] == expected).all()
    assert sorted(stored_times[:, 0].tolist()) == list(range(12, 20))
    assert (np.asarray(buffer.states[:, :, 1]) == np.arange(num_envs)).all()


def test_episode_ids_and_last_times():
    # env 0: episodes end at times 1 and 4; env 1 never ends.
    dones = jnp.zeros((6, 2)).at[1, 0].set(1).at[4, 0].set(1)
    buffer = insert(init_buffer(12, 2, 2, 1), timed_unroll(0, 6, 2, dones))
    assert np.asarray(buffer.episode_ids[:6, 0]).tolist() == [0, 0, 1, 1, 1, 2]
    assert np.asarray(buffer.episode_ids[:6, 1]).tolist() == [0] * 6
    assert np.asarray(buffer.current_episode_ids).tolist() == [2, 0]
    last = np.asarray(buffer.episode_last_time)
    assert last[0, 0] == 1 and last[1, 0] == 4 and last[2, 0] == NOT_ENDED
    assert last[0, 1] == NOT_ENDED


def test_one_step_episodes_inside_one_unroll():
    # Every step ends an episode: each id's last time is its own time.
    dones = jnp.ones((4, 1))
    buffer = insert(init_buffer(8, 1, 2, 1), timed_unroll(0, 4, 1, dones))
    assert np.asarray(buffer.episode_ids[:4, 0]).tolist() == [0, 1, 2, 3]
    assert np.asarray(buffer.episode_last_time[:5, 0]).tolist() == [0, 1, 2, 3, NOT_ENDED]
