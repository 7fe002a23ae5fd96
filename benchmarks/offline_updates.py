"""Offline CRL gradient steps per second, after compilation, through ``run_iterations``.

    python benchmarks/offline_updates.py --batch-sizes 256 1024 --steps 200

Each configuration trains on a random-action point_open dataset (the dataset's size does not
change the cost of a step: sampling is O(batch)). Configurations: the default networks (256 x 2,
repr 64), the CRL paper's offline setting (1024 x 2, repr 16, twin critics, bc_mix) and the
``offline_ogbench_manipulation`` preset (OGBench's CRL: 512 x 3, repr 512, twin critics, DDPG+BC).
Prints a Markdown table and writes JSON rows with ``--out``, one line as each row is measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import jax
from arguments import check_writable, positive_int  # sibling modules
from throughput import time_iterations

from jaxcrl.collect import collect_dataset, random_actions
from jaxcrl.config import TrainConfig
from jaxcrl.config_files import read_overrides
from jaxcrl.envs import make_env
from jaxcrl.offline import make_offline_trainer


def preset_settings(preset: str) -> dict:
    """A preset's fields but its batch size and run length, which this benchmark sets itself."""
    overrides = read_overrides(preset)
    return {k: v for k, v in overrides.items() if k not in ("batch_size", "num_updates")}


SETTINGS = {
    "default": {},
    "paper_offline": {
        "hidden_width": 1024,
        "repr_dim": 16,
        "twin_critics": True,
        "actor_objective": "bc_mix",
    },
    "ogbench": preset_settings("offline_ogbench_manipulation"),
}


def updates_per_second(config: TrainConfig, steps: int, episodes: int) -> tuple[float, float]:
    """(gradient steps per second, compile seconds) of ``steps`` offline updates."""
    env = make_env(config.env)
    params = env.default_params()
    act = random_actions(env.action_size)
    dataset = collect_dataset(env, params, act, jax.random.PRNGKey(0), episodes)
    trainer = make_offline_trainer(config, env, params, dataset)
    seconds, compile_s = time_iterations(trainer, steps, warmup=10)
    return steps / seconds, compile_s


def main() -> None:
    """Measure every (setting, batch size) and print a Markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--batch-sizes",
        type=positive_int,
        nargs="+",
        default=[1024],
        help="batch sizes to time (default 1024, OGBench's)",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=list(SETTINGS),
        help="actor and critic settings to time (default: all)",
    )
    parser.add_argument("--steps", type=positive_int, default=200, help="timed gradient steps")
    parser.add_argument(
        "--episodes", type=positive_int, default=500, help="dataset episodes of 50 steps"
    )
    parser.add_argument("--out", help="write the rows as JSON lines here")
    args = parser.parse_args()
    check_writable(args.out)
    if args.out:
        Path(args.out).write_text("")  # rows are appended as they are measured
    print("| setting | batch | steps/s | compile s |\n|---|---|---|---|")
    for setting in args.settings:
        for batch_size in args.batch_sizes:
            config = dataclasses.replace(
                TrainConfig(env="point_open", batch_size=batch_size), **SETTINGS[setting]
            )
            rate, compile_s = updates_per_second(config, args.steps, args.episodes)
            row = {
                "setting": setting,
                "batch_size": batch_size,
                "steps_per_s": rate,
                "compile_s": compile_s,
                "backend": jax.default_backend(),
            }
            if args.out:
                with open(args.out, "a") as file:
                    file.write(json.dumps(row) + "\n")
            print(f"| {setting} | {batch_size} | {rate:.1f} | {compile_s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
