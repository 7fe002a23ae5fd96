"""One gradient step of critic, actor and alpha."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl import agent
from jaxcrl.config import TrainConfig
from jaxcrl.goals import GoalBatch

STATE, GOAL, ACTION, BATCH = 4, 2, 3, 32
CONFIG = TrainConfig(hidden_width=32, repr_dim=8)


def make_batch(seed: int = 0) -> GoalBatch:
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    return GoalBatch(
        states=jax.random.normal(keys[0], (BATCH, STATE)),
        actions=jax.random.uniform(keys[1], (BATCH, ACTION), minval=-1, maxval=1),
        future_goals=jax.random.normal(keys[2], (BATCH, GOAL)),
        offsets=jnp.ones((BATCH,), jnp.int32),
        anchor_times=jnp.zeros((BATCH,), jnp.int32),
        env_index=jnp.zeros((BATCH,), jnp.int32),
    )


def setup(config=CONFIG):
    networks = agent.build_networks(config, ACTION)
    state = agent.init_agent(jax.random.PRNGKey(0), networks, config, STATE, GOAL, ACTION)
    return networks, state, agent.hyperparams_from(config, ACTION)


def test_update_changes_every_parameter_group_and_reports_finite_metrics():
    networks, state, hyperparams = setup()
    new_state, metrics = jax.jit(agent.update, static_argnums=(0, 1))(
        networks, CONFIG, state, make_batch(), hyperparams, jax.random.PRNGKey(1)
    )
    assert int(new_state.gradient_steps) == 1
    for old, new in [
        (state.critic_params, new_state.critic_params),
        (state.policy_params, new_state.policy_params),
    ]:
        changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), old, new)
        assert all(jax.tree.leaves(changed))
    assert float(new_state.log_alpha) != float(state.log_alpha)
    expected = {
        "critic/loss",
        "critic/accuracy",
        "critic/logits_pos",
        "critic/logits_neg",
        "actor/loss",
        "actor/entropy",
        "alpha",
    }
    assert expected <= set(metrics)
    assert all(bool(jnp.isfinite(v)) and v.shape == () for v in metrics.values())


def test_fixed_alpha_stays_fixed_and_zero_alpha_drops_the_entropy_term():
    config = dataclasses.replace(CONFIG, alpha_mode="fixed", alpha=0.0)
    networks, state, hyperparams = setup(config)
    new_state, metrics = agent.update(
        networks, config, state, make_batch(), hyperparams, jax.random.PRNGKey(1)
    )
    assert float(new_state.log_alpha) == float(state.log_alpha)
    assert float(metrics["alpha"]) == 0.0
    assert float(metrics["actor/loss"]) == pytest.approx(-float(metrics["actor/critic_value"]))


def test_critic_learns_to_pick_the_positive_on_a_fixed_batch():
    # Measured: loss 4.00 -> 0.44 and accuracy 0.06 -> 0.97 after 300 steps at lr 1e-3.
    config = dataclasses.replace(CONFIG, critic_lr=1e-3)
    networks, state, hyperparams = setup(config)
    batch = make_batch()
    step = jax.jit(agent.update, static_argnums=(0, 1))
    _, first = step(networks, config, state, batch, hyperparams, jax.random.PRNGKey(0))
    for i in range(300):
        state, metrics = step(networks, config, state, batch, hyperparams, jax.random.PRNGKey(i))
    assert float(metrics["critic/loss"]) < 0.25 * float(first["critic/loss"])
    assert float(metrics["critic/accuracy"]) > 0.85


def test_learning_rates_are_data_so_one_program_can_vmap_over_them():
    networks, state, hyperparams = setup()
    states = jax.tree.map(lambda x: jnp.stack([x, x]), state)
    lrs = jnp.array([1e-4, 1e-2])
    states.critic_opt_state.hyperparams["learning_rate"] = lrs
    update = lambda s: agent.update(
        networks, CONFIG, s, make_batch(), hyperparams, jax.random.PRNGKey(1)
    )[0]
    new = jax.jit(jax.vmap(update))(states)
    moved = [
        float(jnp.abs(new_leaf[k] - old_leaf[k]).max())
        for k in range(2)
        for new_leaf, old_leaf in [
            (
                new.critic_params["goal"]["params"]["Dense_0"]["kernel"],
                states.critic_params["goal"]["params"]["Dense_0"]["kernel"],
            )
        ]
    ]
    # Adam's first step moves each weight by about the learning rate.
    np.testing.assert_allclose(moved, [1e-4, 1e-2], rtol=0.05)
