"""Wall time and peak memory of training several seeds in one vmapped program vs one seed.

    python benchmarks/seeds.py --env point_open --seeds 1 4 8 16 --total-env-steps 30000

Each count runs in its own process (so peak memory is that run's alone): ``train`` with
``num_seeds=N``; reported are the training time (the chunks, compilation excluded), the setup
time (compilation and prefill), the ratio of training time to the one-seed run, and the peak
memory: the process's maximum resident set on the CPU, the device's peak bytes in use on a GPU.
Prints a Markdown table for BENCHMARKS.md, a row as each count finishes (the first count is the
baseline of the ratio).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

ONE_RUN = """
import json, resource, sys, tempfile
import jax
from jaxcrl.config import TrainConfig
from jaxcrl.run import train
fields = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as run_dir:
    result = train(TrainConfig(**fields, run_dir=run_dir + "/run", progress=False))
rows = result.metrics
setup = rows[0]["setup_time_s"]
device = jax.devices()[0]
stats = device.memory_stats() if hasattr(device, "memory_stats") else None
peak = (stats or {}).get("peak_bytes_in_use")
if peak is None:  # the CPU: the whole process's peak resident memory (Linux reports KiB)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("RESULT" + json.dumps({
    "train_s": rows[-1]["wall_time_s"] - setup,
    "setup_s": setup,
    "peak_bytes": peak,
    "success": sum(r["eval/success"] for r in result.final_rows) / len(result.final_rows),
    "device": str(device),
}))
"""


def measure(env: str, num_seeds: int, total_env_steps: int, num_envs: int) -> dict:
    """Run one configuration in a fresh process and return its timings and memory."""
    fields = {
        "env": env,
        "num_seeds": num_seeds,
        "total_env_steps": total_env_steps,
        "num_envs": num_envs,
        "num_evals": 2,
    }
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, json.dumps(fields)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{num_seeds} seeds failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.split("RESULT", 1)[1])


def main() -> None:
    """Measure every seed count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="point_open")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--total-env-steps", type=int, default=30_000)
    parser.add_argument("--num-envs", type=int, default=64)
    args = parser.parse_args()
    base = None
    print("| seeds | train s | x one seed | setup s | peak memory MiB | mean success | device |")
    print("|---:|---:|---:|---:|---:|---:|---|", flush=True)
    for n in args.seeds:
        r = measure(args.env, n, args.total_env_steps, args.num_envs)
        base = base or r["train_s"]
        print(
            f"| {n} | {r['train_s']:.1f} | {r['train_s'] / base:.2f} | {r['setup_s']:.1f} | "
            f"{r['peak_bytes'] / 2**20:,.0f} | {r['success']:.2f} | {r['device']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
