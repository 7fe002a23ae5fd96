"""Wall time and peak memory of training several seeds in one vmapped program vs one seed.

    python benchmarks/seeds.py --env point_open --seeds 1 4 8 16 --total-env-steps 30000

Each count runs in its own process (so peak memory is that run's alone): ``train`` with
``num_seeds=N``. Reported are the training time (the sum of the training chunks' times, read
back from each evaluation row's SPS: compilation, prefill, evaluations and checkpoint writes
excluded), the wall time after setup (chunks plus evaluations and checkpoint writes), the setup
time (compilation and prefill), the ratio of training time to the first count's, and the peak
memory: the process's maximum resident set on the CPU, the device's peak bytes in use on a GPU.
Prints a Markdown table for BENCHMARKS.md, a row as each count finishes (the first count given is
the baseline of the ratio, which the column's title names).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from arguments import check_env_name, fail, positive_int  # sibling module

ONE_RUN = """
import json, resource, sys, tempfile
import jax
from jaxcrl.checkpoint import CheckpointError
from jaxcrl.config import ConfigError, TrainConfig, steps_per_iteration
from jaxcrl.run import NonFiniteError, train
fields = json.loads(sys.argv[1])
try:
    with tempfile.TemporaryDirectory() as run_dir:
        config = TrainConfig(**fields, run_dir=run_dir + "/run", progress=False)
        result = train(config)
except (ConfigError, CheckpointError, NonFiniteError) as error:
    sys.exit(f"error: {error}")
rows = result.metrics
device = jax.devices()[0]
stats = device.memory_stats() if hasattr(device, "memory_stats") else None
peak = (stats or {}).get("peak_bytes_in_use")
if peak is None:  # the CPU: the whole process's peak resident memory (Linux reports KiB)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
timing = ("iteration", "sps", "wall_time_s", "setup_time_s")
print("RESULT" + json.dumps({
    "rows": [{name: row[name] for name in timing} for row in rows],
    "members": len(result.members),
    "steps_per_iteration": steps_per_iteration(config),
    "peak_bytes": peak,
    "success": sum(r["eval/success"] for r in result.final_rows) / len(result.final_rows),
    "device": str(device),
}))
"""


def chunk_seconds(rows: list[dict], members: int, steps_per_iteration: int) -> float:
    """Seconds spent in training chunks, from metrics rows (one per member per evaluation).

    A row's ``sps`` is the env steps of all members over the chunk that ended at its evaluation,
    per second of that chunk (``jaxcrl.host_progress.throughput``), and a chunk runs every iteration since
    the previous evaluation; so the chunk took ``count * members * steps_per_iteration / sps``.
    """
    seconds, previous = 0.0, 0
    for iteration, row in {row["iteration"]: row for row in rows}.items():
        seconds += (iteration - previous) * members * steps_per_iteration / row["sps"]
        previous = iteration
    return seconds


def measure(
    env: str, num_seeds: int, total_env_steps: int, num_envs: int, prefill_steps: int | None
) -> dict:
    """Run one configuration in a fresh process and return its timings and memory."""
    fields = {
        "env": env,
        "num_seeds": num_seeds,
        "total_env_steps": total_env_steps,
        "num_envs": num_envs,
        "num_evals": 2,
    }
    if prefill_steps is not None:
        fields["prefill_steps"] = prefill_steps
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, json.dumps(fields)], capture_output=True, text=True
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1].removeprefix("error: ") if lines else f"exit status {done.returncode}"
        fail(f"the {num_seeds}-seed run failed: {reason}")
    result = json.loads(done.stdout.split("RESULT", 1)[1])
    rows = result["rows"]
    setup = rows[0]["setup_time_s"]
    return {
        **result,
        "train_s": chunk_seconds(rows, result["members"], result["steps_per_iteration"]),
        "after_setup_s": rows[-1]["wall_time_s"] - setup,
        "setup_s": setup,
    }


def main() -> None:
    """Measure every seed count and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="point_open", help="(default point_open)")
    parser.add_argument(
        "--seeds",
        type=positive_int,
        nargs="+",
        default=[1, 4, 8, 16],
        help="seed counts, each timed as one program (default 1 4 8 16)",
    )
    parser.add_argument(
        "--total-env-steps", type=positive_int, default=30_000, help="per seed (default 30000)"
    )
    parser.add_argument(
        "--num-envs", type=positive_int, default=64, help="env copies per seed (default 64)"
    )
    parser.add_argument(
        "--prefill-steps", type=int, default=None, help="default: the library's (TrainConfig)"
    )
    args = parser.parse_args()
    check_env_name(args.env)  # before the table's header: each seed count runs in a child
    base_count, base = args.seeds[0], None
    relative = f"× {base_count} seed{'s' if base_count > 1 else ''}"
    print(
        f"| seeds | train s | {relative} | after setup s | setup s | peak memory MiB "
        "| mean success | device |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|", flush=True)
    for n in args.seeds:
        r = measure(args.env, n, args.total_env_steps, args.num_envs, args.prefill_steps)
        base = base or r["train_s"]
        print(
            f"| {n} | {r['train_s']:.1f} | {r['train_s'] / base:.2f} | {r['after_setup_s']:.1f} "
            f"| {r['setup_s']:.1f} | {r['peak_bytes'] / 2**20:,.0f} | {r['success']:.2f} "
            f"| {r['device']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
