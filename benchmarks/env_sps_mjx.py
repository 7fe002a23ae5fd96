"""Measure env steps per second of the MJX tasks: ``jax.jit(jax.vmap(env.step))`` after compile.

Usage: ``python benchmarks/env_sps_mjx.py --envs reacher ant ant_u_maze --num-envs 16 64 256``.
Add ``--auto-reset`` to time ``jaxcrl.envs.step_batch`` (vmapped step plus auto-reset) instead,
and ``--physics jax warp`` to time MJX's JAX physics against MuJoCo Warp (NVIDIA GPUs, with
``pip install -e ".[warp]"``) on the same envs. ``brax`` times Brax's stock ant on Brax's MJX back
end (JAX physics only), for a comparison with this project's ``ant``.
Actions are uniform in [-1, 1]; each timing repeats ``--steps`` calls and keeps the best of
``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import time

import jax
from arguments import (  # sibling module
    add_num_envs_option,
    check_env_name,
    fail,
    named_env,
    positive_int,
)

from jaxcrl.envs import env_arguments, registered_envs, reset_batch, step_batch
from jaxcrl.envs.mjx_base import PHYSICS_IMPLS


def measure(
    name: str, num_envs: int, steps: int, repeats: int, auto_reset: bool, physics: str = "jax"
) -> float:
    """Env steps per second (all copies counted) of ``name`` at ``num_envs`` copies."""
    env = named_env(name, physics=physics)
    params = env.default_params()
    states = reset_batch(env, params, jax.random.key(0), num_envs)
    if auto_reset:
        step = jax.jit(lambda states, actions: step_batch(env, params, states, actions))
    else:
        step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, None)))
        step = jax.jit(lambda states, actions, step=step: step(states, actions, params))
    actions = jax.random.uniform(
        jax.random.key(1), (steps, num_envs, env.action_size), minval=-1.0, maxval=1.0
    )
    actions = list(actions)  # slice once here: the first slicing compiles, outside the timing
    # The reset's outputs are not committed to a device and the step's are: committed from the
    # start, the step compiles once, here, and not again in the first timed call.
    states = jax.device_put(states, jax.devices()[0])
    # Twice: a stepped state can differ from a reset one in its types (Brax's envs' do), and
    # would compile again in the first timed call (7.9 s in a repeat of 0.0025 s).
    for action in actions[:2]:
        states = jax.block_until_ready(step(states, action))  # compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for action in actions:
            states = step(states, action)
        jax.block_until_ready(states)
        best = min(best, time.perf_counter() - start)
    return steps * num_envs / best


def mjx_envs() -> list[str]:
    """Names of the registered envs that run on MJX (they take an ``impl`` option)."""
    return [name for name in registered_envs() if "impl" in env_arguments(name)]


def main() -> None:
    """Print a table of steps per second for each env and batch size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs",
        nargs="+",
        default=["reacher", "ant", "ant_u_maze"],
        help="MJX envs to time (default: reacher ant ant_u_maze)",
    )
    add_num_envs_option(parser)
    parser.add_argument("--steps", type=positive_int, default=50, help="timed calls per repeat")
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="timed runs, best kept (default 3)"
    )
    parser.add_argument("--auto-reset", action="store_true", help="time step_batch instead")
    parser.add_argument(
        "--physics", nargs="+", choices=PHYSICS_IMPLS, default=["jax"], help="MJX back ends"
    )
    args = parser.parse_args()
    mjx_names = [*mjx_envs(), "brax"]
    for name in args.envs:
        check_env_name(name, "--envs")
        if name not in mjx_names:
            fail(
                f"{name} is not an MJX env; this script takes MJX envs only: {', '.join(mjx_names)}"
            )
    if "brax" in args.envs and args.physics != ["jax"]:
        fail("brax steps on Brax's own MJX back end: time it with --physics jax alone")
    print(f"device: {jax.devices()[0]}")
    for name in args.envs:
        for num_envs in args.num_envs:
            for physics in args.physics:
                sps = measure(name, num_envs, args.steps, args.repeats, args.auto_reset, physics)
                print(
                    f"{name:12s} num_envs={num_envs:5d} physics={physics:4s} "
                    f"{sps:10.0f} env steps/s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
