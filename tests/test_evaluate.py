"""Evaluation keeps per-episode totals step by step: same numbers as from the whole rollout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl.envs import make_env
from jaxcrl.evaluate import evaluate, rollout, summarize


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
