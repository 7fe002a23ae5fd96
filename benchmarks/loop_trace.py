"""Time tracing the compiled training loop once, the part of a run's start before XLA compiles.

Usage: ``python benchmarks/loop_trace.py --env ant --num-envs 16``. Builds the run's trainer
as train.py does and traces its ``run_iterations`` (vmapped over the run's members) once, in a
fresh process: the figure every run and every resume pays before compiling. Run it a few times;
the first trace in a process is the one a run pays, so each run of this script times one.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
from arguments import check_env_name, positive_int  # sibling module

from jaxcrl.config import TrainConfig
from jaxcrl.members import member_keys
from jaxcrl.program import build, make_program


def main() -> None:
    """Print the seconds one trace of the training loop takes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="ant")
    parser.add_argument("--num-envs", type=positive_int, default=16)
    args = parser.parse_args()
    check_env_name(args.env)
    config = TrainConfig(env=args.env, num_envs=args.num_envs)
    env, _, trainer, members = build(config)
    state = jax.eval_shape(make_program(config, env, trainer, members).init, member_keys(members))
    loop = jax.vmap(trainer.run_iterations, in_axes=(trainer.state_axes, None))
    start = time.perf_counter()
    jax.jit(loop).trace(state, jnp.int32(1))
    seconds = time.perf_counter() - start
    print(f"{args.env} at {args.num_envs} envs: the loop traced in {seconds:.2f} s")


if __name__ == "__main__":
    main()
