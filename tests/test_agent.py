"""One gradient step of critic, actor and alpha."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl import agent, losses
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
        actor_goals=jax.random.normal(keys[2], (BATCH, GOAL)),
        offsets=jnp.ones((BATCH,), jnp.int32),
        has_goal=jnp.ones((BATCH,), bool),
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


@pytest.mark.parametrize("actor_objective", ["crl", "ddpg_bc"])
def test_the_actor_trains_on_the_batch_actor_goals_and_the_critic_on_its_future_goals(
    actor_objective,
):
    config = dataclasses.replace(CONFIG, actor_objective=actor_objective)
    networks, state, hyperparams = setup(config)
    batch = make_batch()
    other = batch.replace(actor_goals=batch.actor_goals + 3.0)
    step = jax.jit(agent.update, static_argnums=(0, 1))
    key = jax.random.PRNGKey(1)
    (new, _), (new_other, _) = [
        step(networks, config, state, b, hyperparams, key) for b in (batch, other)
    ]
    same = lambda a, b: all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b)))
    assert same(new.critic_params, new_other.critic_params)
    assert not same(new.policy_params, new_other.policy_params)


def test_fixed_alpha_stays_fixed_and_zero_alpha_drops_the_entropy_term():
    config = dataclasses.replace(CONFIG, alpha_mode="fixed", alpha=0.0)
    networks, state, hyperparams = setup(config)
    new_state, metrics = agent.update(
        networks, config, state, make_batch(), hyperparams, jax.random.PRNGKey(1)
    )
    assert float(new_state.log_alpha) == float(state.log_alpha)
    assert float(metrics["alpha"]) == 0.0
    assert float(metrics["actor/loss"]) == pytest.approx(-float(metrics["actor/critic_value"]))


@pytest.mark.parametrize("deterministic", [False, True])
def test_ddpg_bc_has_no_entropy_term_so_alpha_is_neither_tuned_nor_reported(deterministic):
    config = dataclasses.replace(
        CONFIG, actor_objective="ddpg_bc", deterministic_actor=deterministic, alpha_mode="auto"
    )
    networks, state, hyperparams = setup(config)
    step = jax.jit(agent.update, static_argnums=(0, 1))
    new_state = state
    for i in range(3):
        new_state, metrics = step(
            networks, config, new_state, make_batch(), hyperparams, jax.random.PRNGKey(i)
        )
    assert float(new_state.log_alpha) == float(state.log_alpha)
    assert "alpha" not in metrics
    # The deterministic actor's std gets no gradient: no entropy is reported (it read -33.9).
    assert ("actor/entropy" in metrics) == (not deterministic)


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


def edge_batch(seed: int = 0) -> GoalBatch:
    """make_batch with some data actions exactly on the box's edges, as clipped datasets hold."""
    batch = make_batch(seed)
    return batch.replace(actions=batch.actions.at[:4].set(1.0).at[4:8].set(-1.0))


@pytest.mark.parametrize("objective", ["bc_mix", "ddpg_bc"])
@pytest.mark.parametrize("twin_critics", [False, True])
def test_offline_objectives_give_finite_gradients_and_report_bc_metrics(objective, twin_critics):
    config = dataclasses.replace(CONFIG, actor_objective=objective, twin_critics=twin_critics)
    networks, state, hyperparams = setup(config)
    new_state, metrics = jax.jit(agent.update, static_argnums=(0, 1))(
        networks, config, state, edge_batch(), hyperparams, jax.random.PRNGKey(1)
    )
    assert {"actor/bc_log_prob", "actor/bc_mode_error"} <= set(metrics)
    assert ("actor/q_scale" in metrics) == (objective == "ddpg_bc")
    assert ("critic/twin_gap" in metrics) == twin_critics
    assert all(bool(jnp.isfinite(v)) and v.shape == () for v in metrics.values())
    for old, new in [
        (state.critic_params, new_state.critic_params),
        (state.policy_params, new_state.policy_params),
    ]:
        assert all(jax.tree.leaves(jax.tree.map(lambda x: bool(jnp.all(jnp.isfinite(x))), new)))
        changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), old, new)
        assert all(jax.tree.leaves(changed))


@pytest.mark.parametrize(
    "objective,deterministic", [("bc_mix", False), ("ddpg_bc", False), ("ddpg_bc", True)]
)
def test_behaviour_cloning_pulls_the_mode_toward_the_data_actions(objective, deterministic):
    # Pure BC (bc_weight 1) and DDPG+BC with a BC weight far above the normalised Q term; the
    # data actions are a smooth function of the state that the small policy can fit.
    # Measured: mode error 1.20 -> 0.11 for both stochastic objectives after 200 steps at lr 3e-3,
    # and 1.20 -> 0.001 for the deterministic DDPG+BC actor.
    config = dataclasses.replace(
        CONFIG,
        actor_objective=objective,
        bc_weight=1.0,
        bc_alpha=100.0,
        actor_lr=3e-3,
        deterministic_actor=deterministic,
    )
    networks, state, hyperparams = setup(config)
    batch = make_batch()
    batch = batch.replace(actions=0.8 * jnp.tanh(batch.states[:, :ACTION]))
    step = jax.jit(agent.update, static_argnums=(0, 1))
    _, first = step(networks, config, state, batch, hyperparams, jax.random.PRNGKey(0))
    for i in range(200):
        state, metrics = step(networks, config, state, batch, hyperparams, jax.random.PRNGKey(i))
    assert float(metrics["actor/bc_mode_error"]) < 0.25 * float(first["actor/bc_mode_error"])
    if deterministic:  # BC is -0.5 * the squared error of the mode
        bc, error = float(metrics["actor/bc_log_prob"]), float(metrics["actor/bc_mode_error"])
        assert bc == pytest.approx(-0.5 * error, rel=1e-5)
    else:
        assert float(metrics["actor/bc_log_prob"]) > float(first["actor/bc_log_prob"]) + 1.0


@pytest.mark.parametrize("objective", ["bc_mix", "ddpg_bc"])
def test_behaviour_cloning_leaves_out_rows_whose_goal_is_not_in_their_episode(objective):
    # Such a row's data action did not lead to its goal (a state of another episode).
    config = dataclasses.replace(CONFIG, actor_objective=objective)
    networks, state, hyperparams = setup(config)
    update = jax.jit(agent.update, static_argnums=(0, 1))
    batch = make_batch().replace(has_goal=jnp.arange(BATCH) > 0)  # row 0 has no goal
    _, metrics = update(networks, config, state, batch, hyperparams, jax.random.PRNGKey(1))
    moved = batch.replace(actions=batch.actions.at[0].set(-batch.actions[0]))
    _, moved_metrics = update(networks, config, state, moved, hyperparams, jax.random.PRNGKey(1))
    for name in ("actor/bc_log_prob", "actor/bc_mode_error", "actor/loss"):
        assert float(moved_metrics[name]) == float(metrics[name]), name
    counted = moved.replace(has_goal=jnp.ones(BATCH, bool))
    _, counted_metrics = update(
        networks, config, state, counted, hyperparams, jax.random.PRNGKey(1)
    )
    assert float(counted_metrics["actor/bc_mode_error"]) != float(metrics["actor/bc_mode_error"])


def test_the_deterministic_ddpg_bc_actor_scores_its_mode_against_the_data_action():
    config = dataclasses.replace(
        CONFIG, actor_objective="ddpg_bc", deterministic_actor=True, bc_alpha=2.0
    )
    networks, state, hyperparams = setup(config)
    batch = edge_batch()
    _, metrics = agent.update(networks, config, state, batch, hyperparams, jax.random.PRNGKey(1))
    observations = jnp.concatenate([batch.states, batch.actor_goals], axis=-1)
    mode = agent.actor.mode(networks.policy.apply(state.policy_params, observations)[0])
    q = agent.critic_energies(
        networks, config, state.critic_params, batch.states, mode, batch.actor_goals
    )
    bc = -0.5 * jnp.sum((mode - batch.actions) ** 2, axis=-1)
    expected = -jnp.mean(q) / jnp.mean(jnp.abs(q)) - 2.0 * jnp.mean(bc)
    assert float(metrics["actor/critic_value"]) == pytest.approx(float(jnp.mean(q)), rel=1e-5)
    assert float(metrics["actor/loss"]) == pytest.approx(float(expected), rel=1e-5)


def test_twin_critics_hold_two_parameter_sets_and_the_actor_maximises_their_minimum():
    config = dataclasses.replace(CONFIG, twin_critics=True, alpha_mode="fixed", alpha=0.0)
    networks, state, hyperparams = setup(config)
    single = agent.init_agent(jax.random.PRNGKey(0), networks, CONFIG, STATE, GOAL, ACTION)
    for twin_leaf, single_leaf in zip(
        jax.tree.leaves(state.critic_params), jax.tree.leaves(single.critic_params), strict=True
    ):
        assert twin_leaf.shape == (2, *single_leaf.shape)
    kernels = state.critic_params["goal"]["params"]["Dense_0"]["kernel"]
    assert bool(jnp.any(kernels[0] != kernels[1]))  # independently initialised

    batch = make_batch()
    energies = agent.critic_energies(
        networks, config, state.critic_params, batch.states, batch.actions, batch.future_goals
    )
    assert energies.shape == (2, BATCH)
    for k in range(2):
        one = jax.tree.map(lambda leaf, k=k: leaf[k], state.critic_params)
        np.testing.assert_allclose(
            energies[k],
            agent.critic_energies(
                networks, CONFIG, one, batch.states, batch.actions, batch.future_goals
            ),
            rtol=1e-5,
        )

    # The actor's critic value is the minimum of the two, on the action update samples
    # (update splits its key into the goal-mixing key and the action key, in that order).
    key = jax.random.PRNGKey(1)
    new_state, metrics = agent.update(networks, config, state, batch, hyperparams, key)
    _, action_key = jax.random.split(key)
    observations = jnp.concatenate([batch.states, batch.future_goals], axis=-1)
    mean, log_std = networks.policy.apply(state.policy_params, observations)
    actions, _ = agent.actor.sample_action(action_key, mean, log_std)
    energies = agent.critic_energies(
        networks, config, state.critic_params, batch.states, actions, batch.future_goals
    )
    assert float(metrics["actor/critic_value"]) == pytest.approx(
        float(jnp.mean(jnp.min(energies, axis=0))), rel=1e-5
    )
    assert float(metrics["actor/critic_value"]) < float(jnp.mean(energies).min()) - 1e-6
    moved = jax.tree.map(
        lambda a, b: bool(jnp.all(jnp.any((a != b).reshape(2, -1), axis=1))),
        state.critic_params,
        new_state.critic_params,
    )
    assert all(jax.tree.leaves(moved))  # both critics were trained


def test_twin_critics_report_the_mean_of_their_two_losses():
    config = dataclasses.replace(CONFIG, twin_critics=True)
    networks, state, hyperparams = setup(config)
    batch = make_batch()
    _, metrics = agent.update(networks, config, state, batch, hyperparams, jax.random.PRNGKey(1))
    own_losses = []
    for k in range(2):
        one = jax.tree.map(lambda leaf, k=k: leaf[k], state.critic_params)
        phi, psi = agent.critic_representations(
            networks, one, batch.states, batch.actions, batch.future_goals
        )
        logits = losses.pairwise_logits(phi, psi, config.energy, config.energy_temperature)
        own_losses.append(
            losses.contrastive_loss(logits, config.contrastive_loss)
            + hyperparams.logsumexp_penalty * losses.logsumexp_penalty(logits)
        )
    assert float(metrics["critic/loss"]) == pytest.approx(float(np.mean(own_losses)), rel=1e-5)
