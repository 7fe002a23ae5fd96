"""The compiled training program on a tiny point-maze run."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_runs import TINY

from jaxcrl.config import derived_sizes
from jaxcrl.envs import DISTANCE, SUCCESS, make_env
from jaxcrl.evaluate import at_episode_end, episode_success, summarize
from jaxcrl.trainer import make_trainer


@pytest.fixture(scope="module")
def tiny():
    env = make_env(TINY.env)
    trainer = make_trainer(TINY, env, env.default_params())
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    return env, trainer, state


def test_init_prefills_the_buffer_with_random_unrolls(tiny):
    env, _, state = tiny
    sizes = derived_sizes(TINY)
    assert sizes["buffer_capacity_per_env"] == 24 and sizes["prefill_iterations"] == 2
    assert int(state.buffer.steps_written) == 2 * TINY.unroll_length
    assert state.buffer.states.shape == (24, TINY.num_envs, env.state_size)
    assert state.buffer.actions.shape == (24, TINY.num_envs, env.action_size)
    assert state.env_states.obs.shape == (TINY.num_envs, env.observation_size)
    written = np.asarray(state.buffer.actions[:8])
    assert (np.abs(written) <= 1).all() and np.abs(written).max() > 0.5  # random actions
    assert int(state.iteration) == 0


def test_building_the_loop_traces_one_iteration_once(tiny, monkeypatch):
    # The loop traced the iteration twice, once for its metrics' shapes and once as its body:
    # seconds of every run's start on MJX envs.
    import jaxcrl.trainer

    env, _, state = tiny
    inserts = []
    real_insert = jaxcrl.trainer.insert
    monkeypatch.setattr(
        jaxcrl.trainer, "insert", lambda *args: inserts.append(1) or real_insert(*args)
    )
    trainer = make_trainer(TINY, env, env.default_params())  # its closures see the counter
    jax.eval_shape(trainer.run_iterations, state, jnp.asarray(2, jnp.int32))
    assert len(inserts) == 1


def test_run_iterations_advances_everything(tiny):
    _, trainer, state = tiny
    run = jax.jit(trainer.run_iterations)
    new_state, metrics = run(state, jnp.asarray(3, jnp.int32))
    assert int(new_state.iteration) == 3
    assert int(new_state.buffer.steps_written) == int(state.buffer.steps_written) + 3 * 4
    updates = derived_sizes(TINY)["updates_per_iteration"]
    assert updates == 4
    assert int(new_state.agent.gradient_steps) == 3 * updates
    assert {"critic/loss", "critic/accuracy", "actor/entropy", "alpha"} <= set(metrics)
    assert all(v.shape == () and bool(jnp.isfinite(v)) for v in metrics.values())
    # The newest unroll came from the env states the previous call left behind.
    newest = np.asarray(new_state.buffer.states[(int(new_state.buffer.steps_written) - 4) % 24])
    assert newest.shape == (TINY.num_envs, 2)


def test_zero_iterations_changes_nothing(tiny):
    _, trainer, state = tiny
    same, _ = jax.jit(trainer.run_iterations)(state, jnp.asarray(0, jnp.int32))
    assert int(same.iteration) == 0
    assert bool(jnp.all(same.buffer.states == state.buffer.states))


def test_evaluate_reports_the_named_metrics(tiny):
    _, trainer, state = tiny
    metrics = jax.jit(trainer.evaluate)(state.agent.policy_params, jax.random.PRNGKey(0))
    assert {"eval/success", "eval/time_near_goal", "eval/final_distance"} <= set(metrics)
    assert 0 <= float(metrics["eval/time_near_goal"]) <= float(metrics["eval/success"]) <= 1
    assert float(metrics["eval/episode_length"]) == make_env("point_open").episode_length


def test_same_seed_gives_identical_runs(tiny):
    _, trainer, state = tiny
    run = jax.jit(trainer.run_iterations)
    again = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    a, _ = run(state, jnp.asarray(2, jnp.int32))
    b, _ = run(again, jnp.asarray(2, jnp.int32))
    same = jax.tree.map(
        lambda x, y: bool(jnp.all(x == y)), a.agent.policy_params, b.agent.policy_params
    )
    assert all(jax.tree.leaves(same))


def test_redrawing_goals_on_success_gives_every_copy_at_its_goal_a_new_one():
    # Every copy starts on its goal (threshold 0.5; a step moves at most 0.35), so after the
    # first step each one whose episode goes on draws a new goal, one it has not reached.
    config = dataclasses.replace(TINY, redraw_goal_on_success=True)
    env = make_env(config.env)
    trainer = make_trainer(config, env, env.default_params())
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    on_goal = jax.vmap(env.with_goal)(state.env_states, state.env_states.obs[:, :2])
    state = state.replace(env_states=on_goal)
    new_state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(1, jnp.int32))
    assert float(metrics["train/goals_redrawn"]) >= TINY.num_envs - float(
        metrics["train/episodes_ended"]
    )
    new_goals = np.asarray(new_state.env_states.goal)
    assert np.all(np.linalg.norm(new_goals - np.asarray(on_goal.goal), axis=-1) > 0.5)
    # A threshold wider than the arena leaves no goal unreached: none is redrawn or counted
    # (each step counted one redraw per copy, while every goal drawn was reached already).
    env = make_env(config.env)
    wide = env.default_params().replace(success_threshold=jnp.asarray(100.0))
    trainer = make_trainer(config, env, wide)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    _, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(1, jnp.int32))
    assert float(metrics["train/goals_redrawn"]) == 0
    # Off by default: no count is reported and the goals stay put within an episode.
    _, default_metrics = jax.jit(make_trainer(TINY, env, env.default_params()).run_iterations)(
        state, jnp.asarray(1, jnp.int32)
    )
    assert "train/goals_redrawn" not in default_metrics


def test_episode_success_counts_only_steps_taken_before_the_episode_ended():
    # Two episodes of 4 steps [T, E]: the first ends (falls) after 2 steps, and its later
    # "success" must not count; the second is near its goal at steps 2 and 3.
    success = jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    alive = jnp.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    metrics = {
        SUCCESS: success,
        DISTANCE: jnp.array([[3.0, 4.0], [0.1, 3.0], [9.0, 0.2], [9.0, 0.1]]),
        "near": success,  # any other metric: averaged over the steps each episode took
        "reward": success,  # the env's reward: summed over those steps
    }
    reached, time_near = episode_success(metrics, alive)
    np.testing.assert_allclose(reached, [1.0, 1.0])
    np.testing.assert_allclose(time_near, [0.5, 0.5])
    ends = at_episode_end(metrics[DISTANCE], alive)  # [E]: step 1 for the first, 3 for the second
    assert ends.shape == (2,)
    np.testing.assert_allclose(ends, [0.1, 0.1])
    summary = summarize(metrics, alive)
    np.testing.assert_allclose(summary["eval/time_near_goal"], 0.5)
    np.testing.assert_allclose(summary["eval/final_distance"], (0.1 + 0.1) / 2)
    np.testing.assert_allclose(summary["eval/episode_length"], 3.0)
    np.testing.assert_allclose(summary["eval/mean_near"], (1 / 2 + 2 / 4) / 2)
    np.testing.assert_allclose(summary["eval/return"], (1 + 2) / 2)
    assert "eval/mean_reward" not in summary
