"""The CRL learner: parameters, optimiser states and one gradient step of critic, actor and alpha.

Hyperparameters that do not change shapes (learning rates, loss weights, the goal discount, the
entropy target, the random-goal probability, the behaviour-cloning weights) are data, not Python
constants: learning rates live inside the optimiser states (``optax.inject_hyperparams``) and the
rest in ``Hyperparams``. So a sweep can vmap one compiled update over several values.

Offline options (``config.actor_objective``, ``config.twin_critics``) change the program:

- ``crl``: mean[alpha * log pi(a|s,g) - f(s, a, g)], the online objective;
- ``bc_mix`` (CRL paper, offline): bc_weight * BC + (1 - bc_weight) * the CRL actor loss;
- ``ddpg_bc`` (OGBench): -f / stopgrad(mean |f|) - bc_alpha * log pi(a_data|s,g), no entropy term;

where BC = -log pi(a_data | s, g_future) of the dataset's action under the hindsight goal. With
``twin_critics`` every critic leaf carries a leading axis of 2 (two critics trained on the same
batch, each on its own contrastive loss) and the actor maximises the minimum of their energies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxcrl import actor
from jaxcrl.config import TrainConfig
from jaxcrl.goals import GoalBatch, mix_random_goals
from jaxcrl.losses import (
    contrastive_loss,
    critic_diagnostics,
    energy,
    logsumexp_penalty,
    pairwise_logits,
    row_weights,
    weighted_mean,
)
from jaxcrl.networks import Networks, make_networks


@struct.dataclass
class Hyperparams:
    """Shape-free loss hyperparameters, as arrays so they can be vmapped over."""

    logsumexp_penalty: jax.Array
    goal_discount: jax.Array
    target_entropy: jax.Array
    random_goal_probability: jax.Array
    bc_weight: jax.Array  # bc_mix: weight of the behaviour-cloning term
    bc_alpha: jax.Array  # ddpg_bc: weight of log pi(a_data | s, g)


@struct.dataclass
class AgentState:
    """Everything the learner updates."""

    critic_params: dict  # {"state_action": phi, "goal": psi}; leaves [2, ...] with twin critics
    policy_params: dict
    log_alpha: jax.Array  # []
    critic_opt_state: optax.OptState
    policy_opt_state: optax.OptState
    alpha_opt_state: optax.OptState
    gradient_steps: jax.Array  # [] int32


def build_networks(
    config: TrainConfig, action_size: int, image_shape: tuple[int, int, int] | None = None
) -> Networks:
    """The networks described by ``config``; with ``image_shape`` (pixel envs) each has a CNN."""
    return make_networks(
        action_size=action_size,
        repr_dim=config.repr_dim,
        width=config.hidden_width,
        depth=config.hidden_depth,
        layer_norm=config.layer_norm,
        residual=config.residual,
        activation=config.activation,
        actor_layer_norm=config.actor_layer_norm,
        layer_norm_after_activation=config.layer_norm_position == "after_activation",
        image_shape=image_shape,
        cnn_channels=config.cnn_channels,
        cnn_features=config.cnn_features,
    )


def hyperparams_from(config: TrainConfig, action_size: int) -> Hyperparams:
    """The shape-free hyperparameters of ``config`` as arrays."""
    target_entropy = config.target_entropy
    if target_entropy is None:
        target_entropy = -0.5 * action_size  # JaxGCRL's default target
    as_array = lambda value: jnp.asarray(value, jnp.float32)
    return Hyperparams(
        logsumexp_penalty=as_array(config.logsumexp_penalty),
        goal_discount=as_array(config.goal_discount),
        target_entropy=as_array(target_entropy),
        random_goal_probability=as_array(config.random_goal_probability),
        bc_weight=as_array(config.bc_weight),
        bc_alpha=as_array(config.bc_alpha),
    )


def _adam() -> optax.GradientTransformation:
    """Adam whose learning rate is stored in its state (set it with ``init_with_lr``)."""
    return optax.inject_hyperparams(optax.adam)(learning_rate=0.0)


def _init_with_lr(params, learning_rate) -> optax.OptState:
    """Adam state for ``params`` carrying ``learning_rate``."""
    state = _adam().init(params)
    state.hyperparams["learning_rate"] = jnp.asarray(learning_rate, jnp.float32)
    return state


def init_agent(
    key: jax.Array,
    networks: Networks,
    config: TrainConfig,
    state_size: int,
    goal_size: int,
    action_size: int,
) -> AgentState:
    """Fresh parameters and optimiser states."""
    sa_key, goal_key, policy_key = jax.random.split(key, 3)

    def one_critic(sa_key, goal_key):
        return {
            "state_action": networks.state_action_encoder.init(
                sa_key, jnp.zeros((1, state_size + action_size))
            ),
            "goal": networks.goal_encoder.init(goal_key, jnp.zeros((1, goal_size))),
        }

    if config.twin_critics:
        # Two independently initialised critics, stacked on a leading axis of 2.
        critic_params = jax.vmap(one_critic)(jax.random.split(sa_key), jax.random.split(goal_key))
    else:
        critic_params = one_critic(sa_key, goal_key)
    policy_params = networks.policy.init(policy_key, jnp.zeros((1, state_size + goal_size)))
    log_alpha = jnp.log(jnp.asarray(max(config.alpha, 1e-30), jnp.float32))
    return AgentState(
        critic_params=critic_params,
        policy_params=policy_params,
        log_alpha=log_alpha,
        critic_opt_state=_init_with_lr(critic_params, config.critic_lr),
        policy_opt_state=_init_with_lr(policy_params, config.actor_lr),
        alpha_opt_state=_init_with_lr(log_alpha, config.alpha_lr),
        gradient_steps=jnp.zeros((), jnp.int32),
    )


def critic_representations(
    networks: Networks, critic_params: dict, states, actions, goals
) -> tuple[jax.Array, jax.Array]:
    """phi(s, a) [B, d] and psi(g) [B, d]."""
    phi = networks.state_action_encoder.apply(
        critic_params["state_action"], jnp.concatenate([states, actions], axis=-1)
    )
    psi = networks.goal_encoder.apply(critic_params["goal"], goals)
    return phi, psi


def for_each_critic(config: TrainConfig, function, critic_params: dict, *args):
    """``function(critic_params, *args)``, mapped over the leading axis of 2 with twin critics."""
    if config.twin_critics:
        return jax.vmap(function, in_axes=(0,) + (None,) * len(args))(critic_params, *args)
    return function(critic_params, *args)


def critic_energies(
    networks: Networks, config: TrainConfig, critic_params: dict, states, actions, goals
) -> jax.Array:
    """f(s_i, a_i, g_i) of matching rows: [B], or [2, B] with twin critics."""

    def one_critic(params):
        phi, psi = critic_representations(networks, params, states, actions, goals)
        return energy(phi, psi, config.energy, config.energy_temperature)

    return for_each_critic(config, one_critic, critic_params)


def policy_action(networks: Networks, policy_params: dict, observations: jax.Array, key=None):
    """A policy action for [B, state + goal] observations: sampled with ``key``, else the mode."""
    mean, log_std = networks.policy.apply(policy_params, observations)
    if key is None:
        return actor.mode(mean)
    return actor.sample_action(key, mean, log_std)[0]


def update(
    networks: Networks,
    config: TrainConfig,
    state: AgentState,
    batch: GoalBatch,
    hyperparams: Hyperparams,
    key: jax.Array,
) -> tuple[AgentState, dict[str, jax.Array]]:
    """One gradient step of the critic, the actor and alpha on a batch of future-goal pairs."""
    goal_mix_key, action_key = jax.random.split(key)

    def one_critic_loss(critic_params):
        phi, psi = critic_representations(
            networks, critic_params, batch.states, batch.actions, batch.future_goals
        )
        logits = pairwise_logits(phi, psi, config.energy, config.energy_temperature)  # [B, B]
        loss = contrastive_loss(logits, config.contrastive_loss, batch.has_goal)
        loss = loss + hyperparams.logsumexp_penalty * logsumexp_penalty(logits, batch.has_goal)
        return loss, critic_diagnostics(logits, batch.has_goal)

    def critic_loss_fn(critic_params):
        loss, diagnostics = for_each_critic(config, one_critic_loss, critic_params)
        diagnostics = {"critic/loss": loss, **diagnostics}
        if config.twin_critics:
            # Summed, so each critic gets the gradient of its own loss; reported per critic
            # (the mean of the two), comparable with a single critic's.
            return jnp.sum(loss), jax.tree.map(jnp.mean, diagnostics)
        return loss, diagnostics

    actor_goals = mix_random_goals(
        goal_mix_key, batch.actor_goals, hyperparams.random_goal_probability
    )
    # DDPG+BC has no entropy term: there alpha is neither tuned nor reported (tuning a coefficient
    # that weighs nothing only drifted it, to about 2e12 after 100k steps).
    entropy_term = config.actor_objective != "ddpg_bc"
    if config.alpha_mode == "auto":
        alpha = jnp.exp(state.log_alpha)
    else:
        alpha = jnp.asarray(config.alpha, jnp.float32)

    def actor_loss_fn(policy_params):
        observations = jnp.concatenate([batch.states, actor_goals], axis=-1)
        mean, log_std = networks.policy.apply(policy_params, observations)
        actions, log_prob = actor.sample_action(action_key, mean, log_std)
        if config.deterministic_actor:  # the critic scores the mode; log_prob only reports
            actions, log_prob = actor.mode(mean), jax.lax.stop_gradient(log_prob)
        # Only the diagonal: each anchor's own action scored against its own goal.
        critic_value = critic_energies(
            networks, config, state.critic_params, batch.states, actions, actor_goals
        )  # [B], or [2, B] with twin critics
        extras = {}
        if config.twin_critics:
            extras["critic/twin_gap"] = jnp.mean(jnp.abs(critic_value[0] - critic_value[1]))
            critic_value = jnp.min(critic_value, axis=0)
        loss = jnp.mean(alpha * log_prob - critic_value)
        if config.actor_objective == "crl":
            return loss, (log_prob, critic_value, extras)

        # Behaviour cloning scores the dataset's action under a goal it led to (the actor's
        # future goal, never a mixed-in random one, for which the data action means nothing).
        data_observations = jnp.concatenate([batch.states, batch.actor_goals], axis=-1)
        data_mean, data_log_std = networks.policy.apply(policy_params, data_observations)
        mode_error = jnp.sum((actor.mode(data_mean) - batch.actions) ** 2, axis=-1)  # [B]
        if config.deterministic_actor:  # a unit-std Gaussian around the mode, constant dropped
            bc_log_prob = -0.5 * mode_error
        else:
            bc_log_prob = actor.log_prob_of(batch.actions, data_mean, data_log_std)  # [B]
        # A row whose goal lies in another episode (has_goal False) has no action that led to it.
        bc_weights = row_weights(bc_log_prob, batch.has_goal)
        bc_log_prob = weighted_mean(bc_log_prob, bc_weights)
        extras["actor/bc_log_prob"] = bc_log_prob
        extras["actor/bc_mode_error"] = weighted_mean(mode_error, bc_weights)
        if config.actor_objective == "bc_mix":
            bc_weight = hyperparams.bc_weight
            loss = bc_weight * -bc_log_prob + (1.0 - bc_weight) * loss
        elif config.actor_objective == "ddpg_bc":
            # OGBench's normalisation makes the Q term scale-free, so bc_alpha alone sets the
            # balance whatever the energy's range.
            q_scale = jax.lax.stop_gradient(jnp.mean(jnp.abs(critic_value)))
            extras["actor/q_scale"] = q_scale
            loss = -jnp.mean(critic_value) / q_scale - hyperparams.bc_alpha * bc_log_prob
        else:
            raise ValueError(
                f"unknown actor_objective {config.actor_objective!r}; "
                "choose from crl, bc_mix, ddpg_bc"
            )
        return loss, (log_prob, critic_value, extras)

    (_, diagnostics), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
        state.critic_params
    )
    (policy_loss, (log_prob, critic_value, actor_extras)), policy_grads = jax.value_and_grad(
        actor_loss_fn, has_aux=True
    )(state.policy_params)

    def alpha_loss_fn(log_alpha):
        entropy_gap = jax.lax.stop_gradient(log_prob + hyperparams.target_entropy)
        return -jnp.mean(log_alpha * entropy_gap)

    adam = _adam()
    critic_updates, critic_opt_state = adam.update(critic_grads, state.critic_opt_state)
    policy_updates, policy_opt_state = adam.update(policy_grads, state.policy_opt_state)
    log_alpha, alpha_opt_state = state.log_alpha, state.alpha_opt_state
    if config.alpha_mode == "auto" and entropy_term:
        alpha_grad = jax.grad(alpha_loss_fn)(state.log_alpha)
        alpha_update, alpha_opt_state = adam.update(alpha_grad, state.alpha_opt_state)
        log_alpha = log_alpha + alpha_update

    new_state = state.replace(
        critic_params=optax.apply_updates(state.critic_params, critic_updates),
        policy_params=optax.apply_updates(state.policy_params, policy_updates),
        log_alpha=log_alpha,
        critic_opt_state=critic_opt_state,
        policy_opt_state=policy_opt_state,
        alpha_opt_state=alpha_opt_state,
        gradient_steps=state.gradient_steps + 1,
    )
    metrics = {
        **diagnostics,
        "actor/loss": policy_loss,
        # A deterministic actor's std gets no gradient: its entropy would mean nothing.
        **({} if config.deterministic_actor else {"actor/entropy": -jnp.mean(log_prob)}),
        "actor/critic_value": jnp.mean(critic_value),
        **({"alpha": alpha} if entropy_term else {}),
        **actor_extras,
    }
    return new_state, metrics
