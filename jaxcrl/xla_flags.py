"""XLA options jaxcrl sets for the user before JAX starts its backends (user settings win)."""

from __future__ import annotations

import os

# XLA's CPU runtime can deadlock with its concurrency-optimised thunk scheduler: the first step of
# `arm_push_easy` at 64 envs (jit(vmap(step)), jax 0.10.2) waited forever with every worker idle,
# while 32 envs ran. With the scheduler off it runs at 64 to 256 envs, and the ant's env steps and
# training steps per second stay within noise (benchmarks/throughput.py, BENCHMARKS.md).
DEFAULT_FLAGS = {"xla_cpu_enable_concurrency_optimized_scheduler": "false"}


def with_default_flags(xla_flags: str) -> str:
    """``xla_flags`` (an XLA_FLAGS value) plus each default flag that it does not set already."""
    added = [
        f"--{name}={value}" for name, value in DEFAULT_FLAGS.items() if f"--{name}" not in xla_flags
    ]
    return " ".join([xla_flags.strip(), *added]).strip()


def set_default_flags() -> None:
    """Add the default flags to XLA_FLAGS (JAX's backends read it only when they start)."""
    os.environ["XLA_FLAGS"] = with_default_flags(os.environ.get("XLA_FLAGS", ""))
