"""The CRL training program: collect -> insert -> sample -> update, folded into one compiled loop.

Data flow of one iteration, all on the device:

    env states --(policy, ``unroll_length`` steps, lax.scan)--> Unroll [unroll_length, num_envs, ...]
    Unroll --insert--> circular buffer [capacity, num_envs, ...]
    buffer --sample_future_goal_batch--> GoalBatch [batch_size, ...]   (``updates_per_iteration`` times)
    GoalBatch --agent.update--> new parameters + metrics

``make_trainer`` returns pure functions over ``TrainerState``; ``run_iterations`` runs any number of
iterations in one call (a ``fori_loop`` with a traced trip count, so every chunk length shares one
compilation). Nothing here touches the host; ``jaxcrl.run`` drives it.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from jaxcrl import agent
from jaxcrl.buffer import ReplayBuffer, Unroll, init_buffer, insert
from jaxcrl.config import (
    TrainConfig,
    buffer_capacity_per_env,
    prefill_iterations,
    updates_per_iteration,
)
from jaxcrl.envs import EnvState, GoalEnv, redraw_reached_goals, reset_batch, step_batch
from jaxcrl.evaluate import evaluate
from jaxcrl.goals import sample_future_goal_batch

# Key of run_iterations' metrics holding the first non-finite iteration (-1: none).
FIRST_NONFINITE = "health/first_nonfinite_iteration"


def all_finite(tree: Any) -> jax.Array:
    """[] bool: every floating-point leaf of ``tree`` is finite."""
    leaves = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating)
    ]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


@struct.dataclass
class TrainerState:
    """The whole state of a run: learner, env copies, replay buffer, key and counter."""

    agent: agent.AgentState
    env_states: EnvState  # leaves [num_envs, ...]
    buffer: ReplayBuffer
    hyperparams: agent.Hyperparams
    key: jax.Array
    iteration: jax.Array  # [] int32 training iterations done (prefill excluded)


class Trainer(NamedTuple):
    """Pure functions of one configured run; jit them (``run_iterations`` donates its state)."""

    init: Any  # (key) -> TrainerState, buffer prefilled with random actions
    run_iterations: Any  # (state, num_iterations) -> (state, mean metrics)
    evaluate: Any  # (policy_params, key, goal=None) -> eval metrics
    networks: agent.Networks
    state_axes: Any = 0  # vmap axes of the state over members (None: one copy shared by all)
    validate: Any = None  # (state, key) -> val/* metrics, or None (offline runs with a -val split)


def gradient_step(
    networks: agent.Networks,
    config: TrainConfig,
    goal_indices: tuple[int, ...],
    buffer: ReplayBuffer,
    hyperparams: agent.Hyperparams,
    learner: agent.AgentState,
    step_key: jax.Array,
    anchor_times: jax.Array | None = None,
) -> tuple[agent.AgentState, dict[str, jax.Array]]:
    """Sample one batch with future goals from ``buffer`` (anchors from ``anchor_times`` when
    given) and update the learner on it."""
    sample_key, learn_key = jax.random.split(step_key)
    batch = sample_future_goal_batch(
        buffer,
        sample_key,
        config.batch_size,
        hyperparams.goal_discount,
        goal_indices,
        uniform_actor_goals=config.actor_goals == "uniform",
        anchor_times=anchor_times,
    )
    return agent.update(networks, config, learner, batch, hyperparams, learn_key)


def make_trainer(config: TrainConfig, env: GoalEnv, env_params: Any) -> Trainer:
    """Build the training functions for ``config`` on ``env`` with task constants ``env_params``."""
    networks = agent.build_networks(config, env.action_size, env.image_shape)
    num_updates = updates_per_iteration(config)
    state_size, action_size = env.state_size, env.action_size

    def collect(policy_params, env_states, key, random_actions: bool):
        """Step every env copy ``unroll_length`` times; returns new states, the Unroll and the
        number of goals redrawn (``redraw_goal_on_success``; random actions pursue no goal)."""
        redraw = config.redraw_goal_on_success and not random_actions

        def env_step(env_states, step_key):
            if random_actions:
                shape = (config.num_envs, action_size)
                actions = jax.random.uniform(step_key, shape, minval=-1.0, maxval=1.0)
            else:
                actions = agent.policy_action(networks, policy_params, env_states.obs, step_key)
            next_states = step_batch(env, env_params, env_states, actions)
            step = (env_states.obs[:, :state_size], actions, next_states.done)
            redrawn = jnp.zeros(())
            if redraw:
                goal_key = jax.random.fold_in(step_key, 1)
                next_states, reached = redraw_reached_goals(env, env_params, next_states, goal_key)
                redrawn = reached.sum()
            return next_states, (step, redrawn)

        keys = jax.random.split(key, config.unroll_length)
        env_states, ((states, actions, dones), redrawn) = jax.lax.scan(env_step, env_states, keys)
        return env_states, Unroll(states=states, actions=actions, dones=dones), redrawn.sum()

    def init(key: jax.Array) -> TrainerState:
        """Fresh learner and env copies, and a buffer prefilled with random-action unrolls."""
        key, agent_key, env_key, prefill_key = jax.random.split(key, 4)
        env_states = reset_batch(env, env_params, env_key, config.num_envs)
        buffer = init_buffer(
            buffer_capacity_per_env(config),
            config.num_envs,
            state_size,
            action_size,
            state_dtype=env_states.obs.dtype,
        )

        def prefill_one(carry, unroll_key):
            env_states, buffer = carry
            env_states, unroll, _ = collect(None, env_states, unroll_key, random_actions=True)
            return (env_states, insert(buffer, unroll)), None

        prefill_keys = jax.random.split(prefill_key, prefill_iterations(config))
        (env_states, buffer), _ = jax.lax.scan(prefill_one, (env_states, buffer), prefill_keys)
        return TrainerState(
            agent=agent.init_agent(
                agent_key, networks, config, state_size, env.goal_size, action_size
            ),
            env_states=env_states,
            buffer=buffer,
            hyperparams=agent.hyperparams_from(config, action_size),
            key=key,
            iteration=jnp.zeros((), jnp.int32),
        )

    def iteration(state: TrainerState) -> tuple[TrainerState, dict[str, jax.Array]]:
        """One iteration: an unroll of every env, its insertion, then the gradient steps."""
        key, collect_key, update_key = jax.random.split(state.key, 3)
        env_states, unroll, goals_redrawn = collect(
            state.agent.policy_params, state.env_states, collect_key, False
        )
        buffer = insert(state.buffer, unroll)

        update_keys = jax.random.split(update_key, num_updates)
        # The buffer and hyperparameters enter the scan as constants, not as carry: carrying the
        # buffer made XLA copy it every gradient step (ant at 64 envs on a 2-core CPU: 3.3k SPS carried,
        # 4.8k as constants).
        step = functools.partial(
            gradient_step, networks, config, env.goal_indices, buffer, state.hyperparams
        )
        learner, metrics = jax.lax.scan(step, state.agent, update_keys)
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["train/episodes_ended"] = unroll.dones.sum()
        if config.redraw_goal_on_success:
            metrics["train/goals_redrawn"] = goals_redrawn
        state = state.replace(
            agent=learner,
            env_states=env_states,
            buffer=buffer,
            key=key,
            iteration=state.iteration + 1,
        )
        return state, metrics

    def run_iterations(state: TrainerState, num_iterations: jax.Array):
        """Run ``num_iterations`` iterations; returns the state and metrics averaged over them.

        The metrics also hold ``FIRST_NONFINITE``: the first iteration (counted like
        ``state.iteration``) whose losses or updated parameters were not finite, or -1.
        """
        # Traced once: the loop's body reuses what eval_shape traced (jit caches its trace).
        one_iteration = jax.jit(iteration)
        _, metric_shapes = jax.eval_shape(one_iteration, state)
        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, jnp.float32), metric_shapes)

        def body(_, carry):
            state, totals, first_nonfinite = carry
            state, metrics = one_iteration(state)
            healthy = all_finite((metrics, state.agent))
            first_nonfinite = jnp.where(
                (first_nonfinite < 0) & ~healthy, state.iteration, first_nonfinite
            )
            return state, jax.tree.map(jnp.add, totals, metrics), first_nonfinite

        start = (state, zeros, jnp.asarray(-1, jnp.int32))
        state, totals, first_nonfinite = jax.lax.fori_loop(0, num_iterations, body, start)
        count = jnp.maximum(num_iterations, 1).astype(jnp.float32)
        metrics = jax.tree.map(lambda total: total / count, totals)
        metrics[FIRST_NONFINITE] = first_nonfinite
        return state, metrics

    def evaluate_policy(policy_params, key: jax.Array, goal=None) -> dict[str, jax.Array]:
        """Metrics of the deterministic policy over ``eval_episodes`` fresh episodes (toward
        ``goal`` [goal_size] when given, else the env's own goals)."""
        policy = lambda obs: agent.policy_action(networks, policy_params, obs)
        return evaluate(env, env_params, policy, key, config.eval_episodes, goal)

    return Trainer(
        init=init, run_iterations=run_iterations, evaluate=evaluate_policy, networks=networks
    )
