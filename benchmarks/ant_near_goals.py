"""Train CRL on a variant of the ant task: nearer goals, or weaker motors.

Usage: ``python benchmarks/ant_near_goals.py --min-radius 1 --max-radius 3 --total-env-steps 2e6``
or ``python benchmarks/ant_near_goals.py --min-radius 10 --max-radius 10 --motor-gear 75``.
Registers ``ant_near`` (the ``ant`` task with goals uniform by area in the annulus
[min, max] metres around the start and the given motor gear) and trains it with the library
defaults at 256 envs, printing success and final distance at each evaluation.
"""

from __future__ import annotations

import argparse

from jaxcrl.config import TrainConfig
from jaxcrl.envs import register
from jaxcrl.run import train


def main() -> None:
    """Train once and print one line per evaluation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min-radius", type=float, default=1.0)
    parser.add_argument("--max-radius", type=float, default=3.0)
    parser.add_argument("--total-env-steps", type=float, default=2e6)
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--motor-gear", type=float, default=150.0)
    parser.add_argument("--buffer-size", type=int, default=1_000_000)
    parser.add_argument("--prefill-steps", type=int, default=50_000)
    parser.add_argument("--num-evals", type=int, default=8)
    parser.add_argument("--run-dir", default="runs/ant_near")
    args = parser.parse_args()
    register(
        "ant_near",
        "ant",
        "Ant",
        f"quadruped, goals {args.min_radius}-{args.max_radius} m away, gear {args.motor_gear:g}",
        goal_min_radius=args.min_radius,
        goal_max_radius=args.max_radius,
        motor_gear=args.motor_gear,
    )
    config = TrainConfig(
        env="ant_near",
        num_envs=args.num_envs,
        total_env_steps=int(args.total_env_steps),
        buffer_size=args.buffer_size,
        prefill_steps=args.prefill_steps,
        num_evals=args.num_evals,
        eval_episodes=128,
        run_dir=args.run_dir,
        progress=False,
    )
    for row in train(config).metrics:
        print(
            f"{row['env_steps']:>9} env steps  success {row['eval/success']:.3f}  "
            f"final distance {row['eval/final_distance']:.2f} m  "
            f"episode length {row['eval/episode_length']:.0f}  {row['sps']:.0f} env steps/s"
        )


if __name__ == "__main__":
    main()
