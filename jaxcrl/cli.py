"""Command lines: ``train.py`` / ``jaxcrl-train`` and ``eval.py`` / ``jaxcrl-eval``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import tyro

from jaxcrl.checkpoint import CheckpointError
from jaxcrl.config import (
    ConfigError,
    TrainConfig,
    available_presets,
    config_from_overrides,
    read_overrides,
)
from jaxcrl.envs import registered_envs


def _fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _train_description() -> str:
    """--help text: usage notes, every registered env and every preset."""
    envs = "\n".join(f"  {name:<16} {text}" for name, text in registered_envs().items())
    presets = ", ".join(available_presets()) or "(none)"
    return (
        "Train a goal-conditioned agent with Contrastive RL.\n\n"
        "--config NAME|PATH.yaml loads a preset (or a run's config.yaml) first; every flag "
        "given overrides it.\n\n"
        f"Registered envs:\n{envs}\n\nPresets: {presets}"
    )


def parse_train_args(argv: list[str] | None = None) -> TrainConfig:
    """TrainConfig from the command line: preset (``--config``) first, flags over it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    base = TrainConfig()
    if known.config is not None:
        try:
            base = config_from_overrides(read_overrides(known.config))
        except (ConfigError, TypeError) as error:
            _fail(str(error))
    return tyro.cli(TrainConfig, default=base, args=rest, description=_train_description())


def train_main(argv: list[str] | None = None) -> None:
    """Entry point of ``train.py``: parse, validate, train, print the final success rate."""
    config = parse_train_args(argv)
    from jaxcrl.run import train  # imported late so --help and config errors stay fast

    try:
        result = train(config)
    except (ConfigError, FileExistsError) as error:
        _fail(str(error))
    final = result.final
    print(
        f"success rate {final['eval/success']:.3f} | time near goal "
        f"{final['eval/time_near_goal']:.3f} | final distance {final['eval/final_distance']:.3f}"
        f" | {final['env_steps']:,} env steps in {final['wall_time_s']:.0f} s | run dir "
        f"{result.run_dir}"
    )


@dataclasses.dataclass(frozen=True)
class EvalArgs:
    """Evaluate a trained run's checkpoint with the deterministic policy."""

    run_dir: Path
    """Run directory written by train.py."""
    episodes: int | None = None
    """Evaluation episodes (default: the run's eval_episodes)."""
    seed: int = 0
    """Seed of the evaluation episodes' starts and goals."""
    checkpoint: int | None = None
    """Checkpoint (iteration) to load (default: the newest)."""


def eval_main(argv: list[str] | None = None) -> None:
    """Entry point of ``eval.py``: print success rate, time near goal, final distance and JSON."""
    args = tyro.cli(EvalArgs, args=argv)
    if args.episodes is not None and args.episodes <= 0:
        _fail(f"--episodes must be a positive integer, got {args.episodes}")
    from jaxcrl.run import evaluate_run

    try:
        metrics = evaluate_run(args.run_dir, args.episodes, args.seed, args.checkpoint)
    except (ConfigError, CheckpointError) as error:
        _fail(str(error))
    print(f"success rate    {metrics['eval/success']:.3f}")
    print(f"time near goal  {metrics['eval/time_near_goal']:.3f}")
    print(f"final distance  {metrics['eval/final_distance']:.3f}")
    print(json.dumps(metrics))
