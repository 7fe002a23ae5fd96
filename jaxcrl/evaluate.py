"""Vectorised evaluation on the device: many episodes at once with a deterministic policy.

Each episode starts from ``env.reset`` and runs for ``episode_length`` steps or until the env
terminates it. Reported, from what the env itself measures every step:

- ``eval/success``: fraction of episodes that came within the goal threshold at any step;
- ``eval/time_near_goal``: fraction of an episode's steps spent within it (mean over episodes);
- ``eval/final_distance``: distance to the goal at the episode's last step;
- ``eval/episode_length``: steps taken before termination or the time limit;
- ``eval/return``: the sum of the env's rewards over those steps (sparse: steps at the goal;
  ``--dense-reward``: minus the summed distance). CRL itself trains without rewards;
- ``eval/mean_NAME`` for every other per-step metric the env reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxcrl.envs import DISTANCE, SUCCESS, EnvState, GoalEnv, reset_batch
from jaxcrl.envs.base import reset_toward

Policy = Callable[[jax.Array], jax.Array]  # [num_episodes, obs] -> [num_episodes, action]

# The most episodes the policy acts for in one call: a pixel policy's convolutions hold about
# 150 images' worth per episode, so larger evaluations take their actions in turns.
POLICY_EPISODES_AT_ONCE = 1024


def in_turns(policy: Policy, num_episodes: int, at_once: int) -> Policy:
    """``policy`` acting for [num_episodes, obs] at most ``at_once`` episodes at a time (the same
    actions; memory for ``at_once`` episodes' activations)."""
    if num_episodes <= at_once:
        return policy
    one_episode = lambda obs: policy(obs[None])[0]
    return lambda obs: jax.lax.map(one_episode, obs, batch_size=at_once)


# The env's reward joins the metrics a step reports under this name (``eval/return``).
REWARD = "reward"


def step_metrics(states: EnvState) -> dict[str, jax.Array]:
    """What ``states`` [E] report of their last step, {name: [E]}: the env's metrics and reward."""
    return {**states.metrics, REWARD: states.reward}


def run_episodes(
    env: GoalEnv,
    env_params: Any,
    policy: Policy,
    states: EnvState,
    observe: Callable[[Any, dict[str, jax.Array], jax.Array], tuple[Any, Any]],
    init: Any,
) -> tuple[Any, Any]:
    """Step episodes from ``states`` [E] for ``episode_length`` steps, folding each step's
    metrics {name: [E]} and alive mask [E] with ``observe(carry, metrics, alive) -> (carry,
    out)``; returns the last carry and the outputs stacked [T, ...]."""
    step = jax.vmap(env.step, in_axes=(0, 0, None))

    def one_step(carry, _):
        states, alive, observed = carry
        next_states = step(states, policy(states.obs), env_params)
        observed, out = observe(observed, step_metrics(next_states), alive)
        # A step counts if the episode was still running when it was taken.
        next_alive = alive * (1.0 - next_states.terminated)
        return (next_states, next_alive, observed), out

    alive = jnp.ones(states.obs.shape[:1], jnp.float32)
    (_, _, observed), outs = jax.lax.scan(
        one_step, (states, alive, init), None, length=env.episode_length
    )
    return observed, outs


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
    keep = lambda carry, metrics, alive: (carry, (metrics, alive))
    _, (metrics, alive_masks) = run_episodes(env, env_params, policy, states, keep, None)
    return metrics, alive_masks


class EpisodeTotals(NamedTuple):
    """What an evaluation keeps of its episodes step by step, each [E]: O(E) memory for any T."""

    steps: jax.Array  # steps taken before termination or the time limit
    reached: jax.Array  # 1 once the episode came within the goal threshold
    steps_near_goal: jax.Array
    last_distance: jax.Array  # distance to the goal at the last step taken
    metric_sums: dict[str, jax.Array]  # every other per-step metric, summed over steps taken


def no_totals(step_metrics: dict[str, jax.Array]) -> EpisodeTotals:
    """Totals before the first step, shaped like one step's metrics {name: [E]} (or their
    shapes)."""
    zeros = jnp.zeros(step_metrics[SUCCESS].shape, jnp.float32)
    sums = {name: zeros for name in step_metrics if name not in (SUCCESS, DISTANCE)}
    return EpisodeTotals(zeros, zeros, zeros, zeros, sums)


def add_step(
    totals: EpisodeTotals, step_metrics: dict[str, jax.Array], alive: jax.Array
) -> EpisodeTotals:
    """Totals after one more step: metrics {name: [E]}, alive [E] (the episode ran this step)."""
    success = step_metrics[SUCCESS] * alive
    return EpisodeTotals(
        steps=totals.steps + alive,
        reached=jnp.maximum(totals.reached, success),
        steps_near_goal=totals.steps_near_goal + success,
        last_distance=jnp.where(alive > 0, step_metrics[DISTANCE], totals.last_distance),
        # Not metric * alive: a fallen robot's physics may diverge to NaN, and NaN * 0 is NaN.
        metric_sums={
            name: total + jnp.where(alive > 0, step_metrics[name], 0.0)
            for name, total in totals.metric_sums.items()
        },
    )


def episode_mean(values: jax.Array) -> jax.Array:
    """The mean of per-episode values [E], divided for real: XLA turns a division by the
    constant E into a multiply by 1/E, so a plain mean of seven 50-step episodes reads 50.000004
    and 1 success in 3 episodes 0.3333333 (float32's 1/3 is 0.33333334)."""
    total = jnp.sum(values)  # exact for counts below 2^24
    count = values.shape[0] + 0.0 * total  # E for a finite total, and no constant to invert
    return jnp.where(jnp.isfinite(total), total / count, total)


def summary_of(totals: EpisodeTotals) -> dict[str, jax.Array]:
    """Episode-level statistics, each a mean over episodes, from their totals."""
    steps = jnp.maximum(totals.steps, 1.0)
    summary = {
        "eval/success": episode_mean(totals.reached),
        "eval/time_near_goal": episode_mean(totals.steps_near_goal / steps),
        "eval/final_distance": episode_mean(totals.last_distance),
        "eval/episode_length": episode_mean(steps),
    }
    for name, total in totals.metric_sums.items():
        if name == REWARD:
            summary["eval/return"] = episode_mean(total)
        else:
            summary[f"eval/mean_{name}"] = episode_mean(total / steps)
    return summary


def steps_taken(alive: jax.Array) -> jax.Array:
    """Per episode [E]: the steps it ran (at least 1), from alive masks [T, E]."""
    return jnp.maximum(alive.sum(axis=0), 1.0)


def episode_totals(metrics: dict[str, jax.Array], alive: jax.Array) -> EpisodeTotals:
    """Per-episode totals [E] of per-step metrics [T, E] and alive masks [T, E], folded step by
    step as an evaluation folds them."""
    first_step = jax.tree.map(lambda values: values[0], metrics)
    totals, _ = jax.lax.scan(
        lambda totals, step: (add_step(totals, *step), None),
        no_totals(first_step),
        (metrics, alive),
    )
    return totals


def episode_success(metrics: dict[str, jax.Array], alive: jax.Array) -> tuple[jax.Array, ...]:
    """Per episode [E]: reached the goal at any step, and the fraction of its steps spent near it."""
    totals = episode_totals(metrics, alive)
    return totals.reached, totals.steps_near_goal / jnp.maximum(totals.steps, 1.0)


def at_episode_end(values: jax.Array, alive: jax.Array) -> jax.Array:
    """Per episode [E]: a per-step metric [T, E] at the episode's last step (alive masks [T, E])."""
    last_step = (steps_taken(alive) - 1).astype(jnp.int32)  # [E]
    return jnp.take_along_axis(values, last_step[None, :], axis=0)[0]


def summarize(metrics: dict[str, jax.Array], alive: jax.Array) -> dict[str, jax.Array]:
    """Episode-level statistics from per-step metrics [T, E] and alive masks [T, E]."""
    return summary_of(episode_totals(metrics, alive))


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
    ``goal`` [goal_size] for every episode when given (a start already within the success
    threshold of it is drawn again: ``reset_toward``; ``eval/started_at_goal`` is the fraction
    of episodes whose draws all lay within it, where the env can tell).
    """
    started_at_goal = None
    if goal is None:
        states = reset_batch(env, env_params, key, num_episodes)
    else:
        states, started_at_goal = reset_toward(env, env_params, key, num_episodes, goal)
    # A step reports the metrics a reset does (the states are a scan's carry).
    add = lambda totals, metrics, alive: (add_step(totals, metrics, alive), None)
    policy = in_turns(policy, num_episodes, POLICY_EPISODES_AT_ONCE)
    totals, _ = run_episodes(env, env_params, policy, states, add, no_totals(step_metrics(states)))
    summary = summary_of(totals)
    if started_at_goal is not None:  # no start apart from the named goal was drawn
        summary["eval/started_at_goal"] = episode_mean(started_at_goal.astype(jnp.float32))
    return summary
