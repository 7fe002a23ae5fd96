"""Time ``--redraw-goal-on-success``'s goal redraw against an env step, at its worst case.

Usage: ``python benchmarks/redraw_cost.py --envs point_medium ant_u_maze --num-envs 256``.
Every copy stands on its goal (``env.with_goal`` at its achieved state), so every copy draws a new
goal in every call: the most a redraw costs. A step during training redraws only when some copy
is at its goal. Each timing repeats ``--calls`` calls and keeps the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
from arguments import (  # sibling modules
    add_num_envs_option,
    check_env_name,
    fail,
    named_env,
    positive_int,
)
from episodes import refuse_host_evaluated

from jaxcrl.envs import SUCCESS, reset_batch, step_batch
from jaxcrl.envs.base import redraw_reached_goals


def best_milliseconds(call: Callable[[], object], calls: int, repeats: int) -> float:
    """Milliseconds per ``call()`` after compiling: the best of ``repeats`` runs of ``calls``."""
    jax.block_until_ready(call())
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            out = call()
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - start) / calls)
    return 1e3 * best


def measure(name: str, num_envs: int, calls: int, repeats: int) -> tuple[float, float]:
    """Milliseconds of one step and of one redraw of ``num_envs`` copies, all at their goals."""
    env = named_env(name)
    params = env.default_params()
    if env.image_shape is not None:
        fail(f"{name} observes images; this script times state envs")
    states = reset_batch(env, params, jax.random.key(0), num_envs)
    achieved = states.obs[:, jnp.asarray(env.goal_indices)]
    states = jax.vmap(env.with_goal)(states, achieved)
    states = states.replace(metrics={**states.metrics, SUCCESS: jnp.ones(num_envs)})
    actions = jnp.zeros((num_envs, env.action_size))
    step = jax.jit(lambda states: step_batch(env, params, states, actions))
    redraw = jax.jit(lambda states, key: redraw_reached_goals(env, params, states, key))
    key = jax.random.PRNGKey(1)
    step_ms = best_milliseconds(lambda: step(states), calls, repeats)
    redraw_ms = best_milliseconds(lambda: redraw(states, key), calls, repeats)
    return step_ms, redraw_ms


def main() -> None:
    """Print the step and redraw times for each env and batch size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs",
        nargs="+",
        default=["point_medium", "ant_u_maze"],
        help="state envs to time (default: point_medium ant_u_maze)",
    )
    add_num_envs_option(parser)
    parser.add_argument("--calls", type=positive_int, default=20, help="timed calls per repeat")
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="timed runs, best kept (default 3)"
    )
    args = parser.parse_args()
    for name in args.envs:  # every name checked before the first is timed
        check_env_name(name, "--envs")
        refuse_host_evaluated(named_env(name))
    print(f"device: {jax.devices()[0]}")
    for name in args.envs:
        for num_envs in args.num_envs:
            step_ms, redraw_ms = measure(name, num_envs, args.calls, args.repeats)
            print(
                f"{name:14s} num_envs={num_envs:5d} step {step_ms:8.3f} ms  "
                f"redraw (every copy at its goal) {redraw_ms:8.3f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
