"""Vectorised evaluation on the device: many episodes at once with a deterministic policy.

Each episode starts from ``env.reset`` and runs for ``episode_length`` steps or until the env
terminates it. Reported, from what the env itself measures every step:

- ``eval/success``: fraction of episodes that came within the goal threshold at any step;
- ``eval/time_near_goal``: fraction of an episode's steps spent within it (mean over episodes);
- ``eval/final_distance``: distance to the goal at the episode's last step;
- ``eval/episode_length``: steps taken before termination or the time limit;
- ``eval/mean_NAME`` for every other per-step metric the env reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxcrl.envs import DISTANCE, SUCCESS, EnvState, GoalEnv, reset_batch

Policy = Callable[[jax.Array], jax.Array]  # [num_episodes, obs] -> [num_episodes, action]


def rollout(
    env: GoalEnv,
    env_params: Any,
    policy: Policy,
    key: jax.Array,
    num_episodes: int,
    initial_states: EnvState | None = None,
) -> tuple[dict[str, jax.Array], jax.Array]:
    """Run ``num_episodes`` episodes; returns per-step metrics [T, E] and alive masks [T, E]."""
    states = initial_states
    if states is None:
        states = reset_batch(env, env_params, key, num_episodes)
    step = jax.vmap(env.step, in_axes=(0, 0, None))

    def one_step(carry, _):
        states, alive = carry
        next_states = step(states, policy(states.obs), env_params)
        # A step counts if the episode was still running when it was taken.
        next_alive = alive * (1.0 - next_states.terminated)
        return (next_states, next_alive), (next_states.metrics, alive)

    alive = jnp.ones((num_episodes,), jnp.float32)
    _, (metrics, alive_masks) = jax.lax.scan(
        one_step, (states, alive), None, length=env.episode_length
    )
    return metrics, alive_masks


def steps_taken(alive: jax.Array) -> jax.Array:
    """Per episode [E]: the steps it ran (at least 1), from alive masks [T, E]."""
    return jnp.maximum(alive.sum(axis=0), 1.0)


def episode_success(metrics: dict[str, jax.Array], alive: jax.Array) -> tuple[jax.Array, ...]:
    """Per episode [E]: reached the goal at any step, and the fraction of its steps spent near it."""
    success = metrics[SUCCESS] * alive
    return jnp.max(success, axis=0), success.sum(axis=0) / steps_taken(alive)


def at_episode_end(values: jax.Array, alive: jax.Array) -> jax.Array:
    """Per episode [E]: a per-step metric [T, E] at the episode's last step (alive masks [T, E])."""
    last_step = (steps_taken(alive) - 1).astype(jnp.int32)  # [E]
    return jnp.take_along_axis(values, last_step[None, :], axis=0)[0]


def summarize(metrics: dict[str, jax.Array], alive: jax.Array) -> dict[str, jax.Array]:
    """Episode-level statistics from per-step metrics [T, E] and alive masks [T, E]."""
    steps = steps_taken(alive)  # [E]
    reached, time_near_goal = episode_success(metrics, alive)
    summary = {
        "eval/success": jnp.mean(reached),
        "eval/time_near_goal": jnp.mean(time_near_goal),
        "eval/final_distance": jnp.mean(at_episode_end(metrics[DISTANCE], alive)),
        "eval/episode_length": jnp.mean(steps),
    }
    for name, values in metrics.items():
        if name not in (SUCCESS, DISTANCE):
            summary[f"eval/mean_{name}"] = jnp.mean((values * alive).sum(axis=0) / steps)
    return summary


def evaluate(
    env: GoalEnv,
    env_params: Any,
    policy: Policy,
    key: jax.Array,
    num_episodes: int,
    goal: jax.Array | None = None,
) -> dict[str, jax.Array]:
    """Success rate, time near goal, final distance and env metrics over ``num_episodes``.

    Episodes start from the env's own random starts; their goals are the env's own draws, or
    ``goal`` [goal_size] for every episode when given.
    """
    states = reset_batch(env, env_params, key, num_episodes)
    if goal is not None:
        states = jax.vmap(lambda state: env.with_goal(state, goal))(states)
    metrics, alive = rollout(env, env_params, policy, key, num_episodes, initial_states=states)
    return summarize(metrics, alive)
