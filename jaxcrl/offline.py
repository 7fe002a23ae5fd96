"""Offline CRL: gradient steps on a fixed dataset, with the env used only to evaluate.

Data flow of one iteration (= one gradient step), all on the device:

    dataset buffer [N, 1, ...] --sample_future_goal_batch--> GoalBatch [batch_size, ...]
    GoalBatch --agent.update--> new parameters + metrics

Anchors are drawn from the list of steps that have a later step in their episode, so every goal
lies in its anchor's episode however short the episodes are. The dataset (and the ``-val`` split,
whose losses are logged as ``val/*`` at each evaluation) is one copy shared by every member of a
run: ``state_axes`` tells ``jax.vmap`` not to map it.

``make_offline_trainer`` returns the same ``trainer.Trainer`` bundle as the online program, so the
host loop of ``jaxcrl.run`` drives both: ``run_iterations`` folds any number of gradient steps into
one ``fori_loop`` with a traced trip count, and ``evaluate`` rolls out the deterministic policy.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxcrl import agent
from jaxcrl.buffer import ReplayBuffer
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.dataset import (
    Dataset,
    buffer_from_dataset,
    usable_anchor_times,
    usable_anchors,
    validation_path,
)
from jaxcrl.envs import GoalEnv
from jaxcrl.evaluate import evaluate
from jaxcrl.trainer import FIRST_NONFINITE, Trainer, all_finite, gradient_step

ACTOR_OBJECTIVES = ("crl", "bc_mix", "ddpg_bc")


@struct.dataclass
class OfflineData:
    """A dataset on the device: the buffer the batches come from and its usable anchors."""

    buffer: ReplayBuffer  # the dataset as one full ring [N, 1, ...]; never written
    anchor_times: jax.Array  # [N - episodes] int32 steps that have a later step in their episode


def offline_data(dataset: Dataset) -> OfflineData:
    """``dataset`` as a buffer plus the time of every step that has a later step in its episode."""
    return OfflineData(
        buffer=buffer_from_dataset(dataset),
        anchor_times=jnp.asarray(usable_anchor_times(dataset)),
    )


@struct.dataclass
class OfflineState:
    """The whole state of an offline run: learner, dataset, key and counter."""

    agent: agent.AgentState
    data: OfflineData | None  # shared by all members (not mapped by vmap); None: evaluate only
    val_data: OfflineData | None  # the -val split, or None; shared likewise
    hyperparams: agent.Hyperparams
    key: jax.Array
    iteration: jax.Array  # [] int32 gradient steps done


# vmap axes of OfflineState over a run's members: the datasets are one copy for all.
OFFLINE_STATE_AXES = OfflineState(
    agent=0, data=None, val_data=None, hyperparams=0, key=0, iteration=0
)


def dataset_step(
    networks: agent.Networks,
    config: TrainConfig,
    goal_indices: tuple[int, ...],
    data: OfflineData,
    hyperparams: agent.Hyperparams,
    learner: agent.AgentState,
    key: jax.Array,
) -> tuple[agent.AgentState, dict[str, jax.Array]]:
    """One gradient step on a batch of ``data`` drawn from its usable anchors."""
    return gradient_step(
        networks,
        config,
        goal_indices,
        data.buffer,
        hyperparams,
        learner,
        key,
        anchor_times=data.anchor_times,
    )


def validate_offline(
    config: TrainConfig, dataset: Dataset, val_dataset: Dataset | None = None
) -> None:
    """Raise ConfigError with one line naming the first offline option that cannot work."""
    if config.actor_objective not in ACTOR_OBJECTIVES:
        raise ConfigError(
            f"unknown --actor-objective {config.actor_objective!r}; "
            f"choose from {', '.join(ACTOR_OBJECTIVES)}"
        )
    if config.num_updates <= 0:
        raise ConfigError(f"--num-updates must be a positive integer, got {config.num_updates}")
    if not 0 <= config.bc_weight <= 1:
        raise ConfigError(f"--bc-weight must lie in [0, 1], got {config.bc_weight}")
    if config.bc_alpha < 0:
        raise ConfigError(f"--bc-alpha must be >= 0, got {config.bc_alpha}")
    anchors = usable_anchors(dataset)
    if anchors < 1:
        raise ConfigError(
            f"dataset {config.dataset}: every episode is one step long, so no step has a future "
            "goal; collect longer episodes (or a longer --segment-length)"
        )
    if config.batch_size > anchors:
        raise ConfigError(
            f"--batch-size {config.batch_size} exceeds the {anchors} dataset steps that have a "
            "future goal; lower --batch-size or use a larger dataset"
        )
    if val_dataset is not None and usable_anchors(val_dataset) < 1:
        raise ConfigError(
            f"dataset {validation_path(config.dataset)}: every episode is one step long, so the "
            "validation split has no step with a future goal; make it again with longer "
            "episodes, or remove it to train without validation losses"
        )


def make_offline_trainer(
    config: TrainConfig,
    env: GoalEnv,
    env_params: Any,
    dataset: Dataset | None,
    val_dataset: Dataset | None = None,
) -> Trainer:
    """Build offline training functions for ``config`` on ``dataset``; ``env`` only evaluates.

    With ``val_dataset`` the trainer's ``validate`` gives the losses on a batch of it. Without
    ``dataset`` (None) the trainer can restore and evaluate a run's checkpoints, not train.
    """
    networks = agent.build_networks(config, env.action_size, env.image_shape)
    # Built once here; jit lifts them into arguments of the compiled init, not HLO literals.
    data = None if dataset is None else offline_data(dataset)
    val_data = None if val_dataset is None else offline_data(val_dataset)

    def init(key: jax.Array) -> OfflineState:
        """Fresh learner over the dataset."""
        key, agent_key = jax.random.split(key)
        return OfflineState(
            agent=agent.init_agent(
                agent_key, networks, config, env.state_size, env.goal_size, env.action_size
            ),
            data=data,
            val_data=val_data,
            hyperparams=agent.hyperparams_from(config, env.action_size),
            key=key,
            iteration=jnp.zeros((), jnp.int32),
        )

    def run_iterations(state: OfflineState, num_iterations: jax.Array):
        """Take ``num_iterations`` gradient steps; returns the state and metrics averaged over them.

        The metrics also hold ``FIRST_NONFINITE`` (as in the online trainer): the first step,
        counted like ``state.iteration``, whose losses or parameters were not finite, or -1.
        """
        # The dataset and hyperparameters are loop constants, not carry: nothing writes them, and
        # carrying the buffer makes XLA copy it every step (see trainer.iteration).
        # Jitted, so the loop's body reuses the trace eval_shape made (jit caches its trace).
        one_step = jax.jit(functools.partial(dataset_step, networks, config, env.goal_indices))
        step = lambda learner, key: one_step(state.data, state.hyperparams, learner, key)
        _, metric_shapes = jax.eval_shape(step, state.agent, state.key)
        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, jnp.float32), metric_shapes)

        def body(_, carry):
            learner, key, iteration, totals, first_nonfinite = carry
            key, step_key = jax.random.split(key)
            learner, metrics = step(learner, step_key)
            healthy = all_finite((metrics, learner))
            iteration = iteration + 1  # the step just taken, counted like state.iteration
            first_nonfinite = jnp.where(
                (first_nonfinite < 0) & ~healthy, iteration, first_nonfinite
            )
            totals = jax.tree.map(jnp.add, totals, metrics)
            return learner, key, iteration, totals, first_nonfinite

        start = (state.agent, state.key, state.iteration, zeros, jnp.asarray(-1, jnp.int32))
        learner, key, iteration, totals, first_nonfinite = jax.lax.fori_loop(
            0, num_iterations, body, start
        )
        count = jnp.maximum(num_iterations, 1).astype(jnp.float32)
        metrics = jax.tree.map(lambda total: total / count, totals)
        metrics[FIRST_NONFINITE] = first_nonfinite
        return state.replace(agent=learner, key=key, iteration=iteration), metrics

    def evaluate_policy(policy_params, key: jax.Array, goal=None) -> dict[str, jax.Array]:
        """Metrics of the deterministic policy over ``eval_episodes`` fresh episodes (toward
        ``goal`` [goal_size] when given, else the env's own goals), as the online trainer."""
        policy = lambda obs: agent.policy_action(networks, policy_params, obs)
        return evaluate(env, env_params, policy, key, config.eval_episodes, goal)

    def validate(state: OfflineState, key: jax.Array) -> dict[str, jax.Array]:
        """The training losses on one batch of the -val split, updating nothing (OGBench reports
        the same to spot overfitting); the update's metrics are computed from the parameters
        before its step, so dropping its new state leaves exactly the validation losses."""
        _, metrics = dataset_step(
            networks, config, env.goal_indices, state.val_data, state.hyperparams, state.agent, key
        )
        return {f"val/{name}": value for name, value in metrics.items()}

    return Trainer(
        init=init,
        run_iterations=run_iterations,
        evaluate=evaluate_policy,
        networks=networks,
        state_axes=OFFLINE_STATE_AXES,
        validate=None if val_data is None else validate,
    )
