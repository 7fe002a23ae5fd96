"""Train CRL on a variant of the ant task: nearer goals, or weaker motors.

Usage: ``python benchmarks/ant_near_goals.py --min-radius 1 --max-radius 3 --total-env-steps 2e6``
or ``python benchmarks/ant_near_goals.py --min-radius 10 --max-radius 10 --motor-gear 75``.
Trains the built-in ``ant`` task with env options (``goal_min_radius``, ``goal_max_radius``:
goals uniform by area in the annulus [min, max] metres around the start; ``motor_gear``) and the
library defaults at 256 envs, printing success and final distance at each evaluation. The run's
config.yaml names ``ant`` and these options, so eval.py, ``train.py --resume`` and the analysis
scripts read the run directory like any other.
"""

from __future__ import annotations

import argparse

from arguments import fail, non_negative_float, positive_float, positive_int  # sibling module

from jaxcrl.checkpoint import CheckpointError
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.run import NonFiniteError, TrainingInterrupted, train

# The gear of the model file and of JaxGCRL's ant, which this script's results in BENCHMARKS.md
# used; the ant env itself defaults to 60.
DEFAULT_GEAR = 150.0


def ant_options(min_radius: float, max_radius: float, motor_gear: float) -> tuple[str, ...]:
    """The ``ant`` env options (NAME=VALUE) of goals in [min, max] metres and ``motor_gear``."""
    return (
        f"goal_min_radius={min_radius!r}",
        f"goal_max_radius={max_radius!r}",
        f"motor_gear={motor_gear!r}",
    )


def main() -> None:
    """Train once and print one line per evaluation."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--min-radius", type=non_negative_float, default=1.0, help="goals from (m, default 1)"
    )
    parser.add_argument(
        "--max-radius", type=positive_float, default=3.0, help="goals up to (m, default 3)"
    )
    parser.add_argument("--total-env-steps", type=positive_float, default=2e6, help="(default 2e6)")
    parser.add_argument("--num-envs", type=positive_int, default=256, help="(default 256)")
    parser.add_argument(
        "--motor-gear",
        type=positive_float,
        default=DEFAULT_GEAR,
        help=f"default {DEFAULT_GEAR:g} (the ant env's own default is 60)",
    )
    parser.add_argument("--buffer-size", type=positive_int, default=1_000_000, help="(default 1M)")
    parser.add_argument("--prefill-steps", type=int, default=50_000, help="(default 50000)")
    parser.add_argument("--num-evals", type=positive_int, default=8, help="(default 8)")
    parser.add_argument("--run-dir", default="runs/ant_near", help="(default runs/ant_near)")
    args = parser.parse_args()
    config = TrainConfig(
        env="ant",
        env_options=ant_options(args.min_radius, args.max_radius, args.motor_gear),
        num_envs=args.num_envs,
        total_env_steps=int(args.total_env_steps),
        buffer_size=args.buffer_size,
        prefill_steps=args.prefill_steps,
        num_evals=args.num_evals,
        eval_episodes=128,
        run_dir=args.run_dir,
        progress=False,
    )
    print(f"ant, {' '.join(config.env_options)}")
    try:
        rows = train(config).metrics
    except (ConfigError, FileExistsError, CheckpointError, NonFiniteError) as error:
        fail(str(error))
    except TrainingInterrupted as stop:
        raise SystemExit(f"stopped: {stop}") from None
    for row in rows:
        print(
            f"{row['env_steps']:>9} env steps  success {row['eval/success']:.3f}  "
            f"final distance {row['eval/final_distance']:.2f} m  "
            f"episode length {row['eval/episode_length']:.0f}  {row['sps']:.0f} env steps/s"
        )


if __name__ == "__main__":
    main()
