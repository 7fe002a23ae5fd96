"""Evaluation keeps per-episode totals step by step: same numbers as from the whole rollout."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_runs import TINY

import jaxcrl.evaluate
from jaxcrl.envs import make_env
from jaxcrl.evaluate import episode_mean, evaluate, in_turns, rollout, summarize
from jaxcrl.members import member_keys
from jaxcrl.program import build, make_program


def toward_goal(obs: jax.Array) -> jax.Array:
    """A point-mass policy [E, 4] -> [E, 2] that heads for the goal (state ++ goal)."""
    return jnp.clip(obs[:, 2:] - obs[:, :2], -1.0, 1.0)


def test_evaluate_matches_the_summary_of_the_whole_rollout():
    env = make_env("point_open")
    params = env.default_params()
    key = jax.random.PRNGKey(3)
    slowly = lambda obs: 0.2 * toward_goal(obs)  # reaches 64% of the goals
    streamed = jax.jit(lambda key: evaluate(env, params, slowly, key, 64))(key)
    whole = jax.jit(lambda key: summarize(*rollout(env, params, slowly, key, 64)))(key)
    assert set(streamed) == set(whole)
    assert 0.0 < float(streamed["eval/success"]) < 1.0  # both outcomes are counted
    for name in whole:
        np.testing.assert_allclose(streamed[name], whole[name], rtol=1e-6, err_msg=name)


def test_the_return_is_the_envs_reward_summed_over_each_episode():
    # --dense-reward changed nothing any run reported: CRL trains without rewards, and no
    # metric read them. Evaluations now report the return under the env's reward.
    key = jax.random.PRNGKey(5)
    slowly = lambda obs: 0.2 * toward_goal(obs)
    returns = {}
    for dense in (False, True):
        env = make_env("point_open", dense_reward=dense)
        metrics, alive = rollout(env, env.default_params(), slowly, key, 32)
        summary = evaluate(env, env.default_params(), slowly, key, 32)
        sign, per_step = (-1.0, metrics["distance"]) if dense else (1.0, metrics["success"])
        expected = sign * np.mean(np.sum(np.asarray(per_step * alive), axis=0))
        np.testing.assert_allclose(summary["eval/return"], expected, rtol=1e-5)
        returns[dense] = float(summary["eval/return"])
    assert returns[False] > 0 > returns[True]


@pytest.mark.parametrize("episode_length", [50, 5000])
def test_evaluation_memory_does_not_grow_with_the_episode_length(episode_length):
    # Only per-episode totals are carried: a long time limit costs time, not memory.
    env = make_env("point_open", episode_length=episode_length)
    params = env.default_params()
    compiled = (
        jax.jit(lambda key: evaluate(env, params, toward_goal, key, 64))
        .lower(jax.random.PRNGKey(0))
        .compile()
    )
    analysis = compiled.memory_analysis()
    assert analysis.temp_size_in_bytes < 200_000  # 30 KB measured at both lengths


def test_a_policy_acting_in_turns_takes_the_same_actions_and_evaluates_alike(monkeypatch):
    observations = jax.random.normal(jax.random.PRNGKey(0), (10, 4))
    np.testing.assert_array_equal(
        in_turns(toward_goal, 10, at_once=4)(observations), toward_goal(observations)
    )  # two full turns and a remainder of 2
    env = make_env("point_open")
    params = env.default_params()
    slowly = lambda obs: 0.2 * toward_goal(obs)
    whole = evaluate(env, params, slowly, jax.random.PRNGKey(1), 40)
    monkeypatch.setattr(jaxcrl.evaluate, "POLICY_EPISODES_AT_ONCE", 16)
    turns = evaluate(env, params, slowly, jax.random.PRNGKey(1), 40)
    for name in whole:
        np.testing.assert_allclose(turns[name], whole[name], rtol=1e-6, err_msg=name)


def test_a_large_pixel_evaluation_holds_activations_for_one_turn_of_episodes(monkeypatch):
    # A pixel policy's convolutions hold about 150 images' worth per episode: acting for every
    # episode at once made large evaluations run out of memory.
    monkeypatch.setattr(jaxcrl.evaluate, "POLICY_EPISODES_AT_ONCE", 64)
    temporaries = {}
    for episodes in (64, 512):
        config = dataclasses.replace(
            TINY, env="point_open_pixels", eval_episodes=episodes, env_options=("image_size=32",)
        )
        env, _, trainer, members = build(config)
        program = make_program(config, env, trainer, members)
        state = jax.eval_shape(program.init, member_keys(members))
        one_policy = jax.tree.map(
            lambda leaf: jax.ShapeDtypeStruct(leaf.shape[1:], leaf.dtype),
            state.agent.policy_params,
        )
        compiled = jax.jit(trainer.evaluate).lower(one_policy, jax.random.PRNGKey(0)).compile()
        temporaries[episodes] = compiled.memory_analysis().temp_size_in_bytes
    # measured: 28.5 MB at 64 episodes, 33.1 MB at 512 (228 MB acting for all 512 at once)
    assert temporaries[512] < 2 * temporaries[64]


def test_a_named_goal_is_pursued_from_starts_that_have_not_reached_it():
    # The env's own starts avoid its own goal's cell, not a goal the user names: 27% of them
    # began within the threshold of the arena's centre and counted as successes at once.
    env = make_env("point_open", success_threshold=1.5)
    params = env.default_params()
    goal = jnp.array([3.5, 3.5])
    stand_still = lambda obs: jnp.zeros((obs.shape[0], 2))
    summary = jax.jit(lambda key: evaluate(env, params, stand_still, key, 256, goal))(
        jax.random.PRNGKey(0)
    )
    assert float(summary["eval/success"]) == 0.0
    assert float(summary["eval/final_distance"]) > 1.5
    assert float(summary["eval/started_at_goal"]) == 0.0
    own_goals = evaluate(env, params, stand_still, jax.random.PRNGKey(0), 256)
    assert float(own_goals["eval/success"]) == 0.0  # the env's own draw, as before
    assert "eval/started_at_goal" not in own_goals
    # Near the largest threshold the redraws run out for some starts: those count as successes
    # at once, so the evaluation says how many there were (31 of 64 at 2.8, unsaid before).
    env = make_env("point_open", success_threshold=2.8)
    summary = evaluate(env, env.default_params(), stand_still, jax.random.PRNGKey(0), 256, goal)
    assert float(summary["eval/started_at_goal"]) == float(summary["eval/success"]) > 0.2


def test_a_step_whose_physics_diverged_after_the_episode_ended_adds_nothing():
    # A fallen robot is still simulated; its NaN reward after the end made eval/return NaN.
    from jaxcrl.evaluate import add_step, no_totals

    first = {"success": jnp.zeros(2), "distance": jnp.ones(2), "reward": jnp.array([1.0, 2.0])}
    later = {**first, "distance": jnp.array([1.0, jnp.nan]), "reward": jnp.array([1.0, jnp.nan])}
    totals = add_step(no_totals(first), first, jnp.ones(2))
    totals = add_step(totals, later, jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(totals.metric_sums["reward"], [2.0, 2.0])
    np.testing.assert_array_equal(totals.last_distance, [1.0, 1.0])


def test_a_mean_over_episodes_of_equal_values_is_that_value_in_a_compiled_evaluation():
    # A plain mean of seven 50-step episodes reads 50.000004 once compiled (a multiply by 1/7).
    lengths = jnp.full((3, 7), 50.0)
    assert np.all(np.asarray(jax.jit(jax.vmap(episode_mean))(lengths)) == 50.0)
    # Every success rate k / E is float32's rounding of it, whichever episodes succeeded.
    mean_of_rows = jax.jit(jax.vmap(episode_mean))
    for episodes in (3, 7, 10, 50, 100):
        successes = np.tril(np.ones((episodes + 1, episodes), np.float32), -1)[:, ::-1]
        rates = np.float32(np.arange(episodes + 1) / episodes)
        np.testing.assert_array_equal(np.asarray(mean_of_rows(successes)), rates)
        np.testing.assert_array_equal(np.asarray(mean_of_rows(successes[:, ::-1])), rates)
    assert float(episode_mean(jnp.array([1.0, jnp.inf]))) == float("inf")
