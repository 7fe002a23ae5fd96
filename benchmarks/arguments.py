"""Shared by benchmark scripts: argparse types, one-line errors, envs built from their names."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def check_writable(path: str | None, option: str = "--out") -> None:
    """Refuse in one line, before anything is measured, an output file that cannot be written."""
    if path is None:
        return
    if Path(path).is_dir():  # found now, not after the measuring
        fail(f"{option} {path} is a folder; name a file")
    probe = Path(f"{path}.partial")
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        fail(f"{option} {path}: cannot write there ({error.strerror or error})")


def add_num_envs_option(parser: argparse.ArgumentParser) -> None:
    """``--num-envs N ...``: the batch sizes a throughput script times (default 16 64 256)."""
    parser.add_argument(
        "--num-envs",
        nargs="+",
        type=positive_int,
        default=[16, 64, 256],
        help="env copies stepped at once (default: 16 64 256)",
    )


def fail(message: str) -> NoReturn:
    """Stop the script with ``error: message`` on one line (exit status 1)."""
    raise SystemExit(f"error: {message}")


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Report the library's configuration, checkpoint and dataset errors in one line."""
    # Imported here: scripts that build no run should not pay for orbax's import.
    from jaxcrl.checkpoint import CheckpointError
    from jaxcrl.config import ConfigError
    from jaxcrl.dataset import DatasetError

    try:
        yield
    except (ConfigError, CheckpointError, DatasetError) as error:
        fail(str(error))


def check_env_name(name: str, flag: str = "--env") -> None:
    """Refuse in one line a name given with ``flag`` that names no env (neither registered nor
    MODULE:CLASS), listing those that are registered."""
    from jaxcrl.envs import registered_envs
    from jaxcrl.envs.own_envs import unknown_env_problem

    problem = unknown_env_problem(name, registered_envs(), flag)
    if problem is not None:
        fail(problem)


def named_env(name: str, env_options: Sequence[str] = (), **config_fields: Any):
    """The env ``name`` with ``env_options`` (``NAME=VALUE`` texts) as a run of it would build it;
    ``config_fields`` are other TrainConfig fields that shape the env (e.g. physics)."""
    from jaxcrl.config import TrainConfig
    from jaxcrl.program import make_run_env

    check_env_name(name)
    with one_line_errors():
        config = TrainConfig(env=name, env_options=tuple(env_options), **config_fields)
        return make_run_env(config)
