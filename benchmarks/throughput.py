"""Env-stepping vs end-to-end training throughput, and compile times, per env and num_envs.

    python benchmarks/throughput.py --envs point_open reacher ant --num-envs 16 64 256

For each (env, num_envs) it measures
- env SPS: the batched, auto-resetting env step (what training runs) under one jitted lax.scan
  with uniform random actions, after compilation;
- train SPS: whole training iterations (collect + insert + sample + update) with the default
  update-to-data ratio, after compilation, through the same ``run_iterations`` that train.py uses;
- compile seconds of the training program, and the ratio train SPS / env SPS.
``--updates RATIO:BATCH ...`` times other update settings at the same sizes, e.g. fewer, larger
gradient steps (``0.015625:1024`` samples as many transitions per env step as the default
``0.0625:256``, in a quarter of the updates).
Prints a Markdown table (for BENCHMARKS.md) and writes JSON rows with ``--out``, rewriting the
file after each row so that a run stopped by a time cap keeps the rows it measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from arguments import (  # sibling modules
    add_num_envs_option,
    check_env_name,
    check_writable,
    named_env,
    one_line_errors,
    positive_int,
)
from episodes import refuse_host_evaluated

from jaxcrl.config import TrainConfig, steps_per_iteration, updates_per_iteration
from jaxcrl.envs import make_env, registered_envs, reset_batch, step_batch
from jaxcrl.trainer import Trainer, make_trainer
from jaxcrl.validation import validate


def env_steps_per_second(env_name: str, num_envs: int, steps: int) -> tuple[float, float]:
    """(steps per second, compile seconds) of ``steps`` batched env steps in one lax.scan."""
    env = make_env(env_name)
    params = env.default_params()

    @jax.jit
    def rollout(states, key):
        def one(states, step_key):
            actions = jax.random.uniform(step_key, (num_envs, env.action_size), minval=-1, maxval=1)
            return step_batch(env, params, states, actions), None

        states, _ = jax.lax.scan(one, states, jax.random.split(key, steps))
        return states

    states = reset_batch(env, params, jax.random.PRNGKey(0), num_envs)
    start = time.perf_counter()
    compiled = rollout.lower(states, jax.random.PRNGKey(1)).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(states, jax.random.PRNGKey(1)))  # warm-up
    start = time.perf_counter()
    jax.block_until_ready(compiled(states, jax.random.PRNGKey(2)))
    return num_envs * steps / (time.perf_counter() - start), compile_s


def time_iterations(trainer: Trainer, iterations: int, warmup: int = 1) -> tuple[float, float]:
    """(seconds, compile seconds) of ``iterations`` iterations of ``trainer.run_iterations``.

    The program is compiled ahead of time, then run once for ``warmup`` iterations before the timed
    run, so neither compilation nor first-call costs enter the timing.
    """
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    count = jnp.asarray(iterations, jnp.int32)
    start = time.perf_counter()
    run = jax.jit(trainer.run_iterations, donate_argnums=0).lower(state, count).compile()
    compile_s = time.perf_counter() - start
    state, metrics = run(state, jnp.asarray(warmup, jnp.int32))
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    state, metrics = run(state, count)
    jax.block_until_ready(metrics)
    return time.perf_counter() - start, compile_s


def train_steps_per_second(config: TrainConfig, iterations: int) -> tuple[float, float]:
    """(env steps per second, compile seconds) of ``iterations`` full training iterations."""
    env = make_env(config.env)
    trainer = make_trainer(config, env, env.default_params())
    seconds, compile_s = time_iterations(trainer, iterations)
    return iterations * steps_per_iteration(config) / seconds, compile_s


def parse_update_setting(text: str) -> tuple[float, int]:
    """``"RATIO:BATCH"`` as (update-to-data ratio, batch size)."""
    try:
        ratio, batch = text.split(":")
        return float(ratio), int(batch)
    except ValueError:
        message = f"expected RATIO:BATCH such as 0.0625:256, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def timed_config(
    env_name: str, num_envs: int, ratio: float, batch_size: int, args: argparse.Namespace
) -> TrainConfig:
    """The validated training config of one table row (one line and exit when it is invalid)."""
    config = dataclasses.replace(
        TrainConfig(),
        env=env_name,
        num_envs=num_envs,
        update_to_data_ratio=ratio,
        batch_size=batch_size,
        prefill_steps=args.prefill_steps,
        buffer_size=max(100_000, 64 * num_envs),
        progress=False,
    )
    config = dataclasses.replace(
        config,
        total_env_steps=(args.iterations + 100) * steps_per_iteration(config) + args.prefill_steps,
    )
    with one_line_errors():
        validate(config, registered_envs())
    return config


def write_rows(path: str, rows: list[dict]) -> None:
    """Replace the JSON file at ``path`` with ``rows``, whole (written aside, then renamed)."""
    partial = Path(f"{path}.partial")
    partial.write_text(json.dumps(rows, indent=1))
    os.replace(partial, path)


def main() -> None:
    """Measure every (env, num_envs) pair and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--envs",
        nargs="+",
        default=["point_open", "reacher", "ant"],
        help="registered envs to time (default: point_open reacher ant)",
    )
    add_num_envs_option(parser)
    parser.add_argument(
        "--iterations", type=positive_int, default=8, help="timed training iterations"
    )
    parser.add_argument(
        "--env-steps", type=positive_int, default=200, help="timed steps per env copy"
    )
    parser.add_argument(
        "--prefill-steps",
        type=int,
        default=4096,
        help="random-action env steps stored before the timed training (default 4096)",
    )
    parser.add_argument(
        "--updates",
        nargs="+",
        type=parse_update_setting,
        default=[(TrainConfig.update_to_data_ratio, TrainConfig.batch_size)],
        help="RATIO:BATCH update settings to time (default: the library's)",
    )
    parser.add_argument("--out", default=None, help="write JSON rows here, after each row")
    args = parser.parse_args()
    for env_name in args.envs:
        check_env_name(env_name, "--envs")
        refuse_host_evaluated(named_env(env_name))  # and envs that need options (custom mazes)
    check_writable(args.out)
    for env_name, num_envs, (ratio, batch_size) in itertools.product(
        args.envs, args.num_envs, args.updates
    ):
        timed_config(env_name, num_envs, ratio, batch_size, args)  # refuse bad sizes up front

    rows = []
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}"
    )
    xla_flags = os.environ.get("XLA_FLAGS", "")  # jaxcrl's defaults included, added on import
    print(f"XLA_FLAGS: {xla_flags}")
    print(
        "| env | num_envs | update ratio | batch | env SPS | train SPS | train/env | updates/iter "
        "| compile s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for env_name in args.envs:
        for num_envs in args.num_envs:
            env_sps, _ = env_steps_per_second(env_name, num_envs, args.env_steps)
            for ratio, batch_size in args.updates:
                config = timed_config(env_name, num_envs, ratio, batch_size, args)
                train_sps, compile_s = train_steps_per_second(config, args.iterations)
                row = {
                    "env": env_name,
                    "num_envs": num_envs,
                    "env_sps": env_sps,
                    "train_sps": train_sps,
                    "ratio": train_sps / env_sps,
                    "compile_s": compile_s,
                    "update_to_data_ratio": ratio,
                    "updates_per_iteration": updates_per_iteration(config),
                    "unroll_length": config.unroll_length,
                    "batch_size": batch_size,
                    "device": jax.devices()[0].device_kind,
                    "xla_flags": xla_flags,
                }
                rows.append(row)
                if args.out:
                    write_rows(args.out, rows)
                print(
                    f"| {env_name} | {num_envs} | {ratio:g} | {batch_size} | {env_sps:,.0f} | "
                    f"{train_sps:,.0f} | {row['ratio']:.2f} | {row['updates_per_iteration']} | "
                    f"{compile_s:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
