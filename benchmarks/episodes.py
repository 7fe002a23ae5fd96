"""Shared by benchmark scripts: policy episodes, a dataset's episode bounds, binned means."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from arguments import fail, one_line_errors, positive_int  # sibling module

from jaxcrl.envs import EnvState, GoalEnv, reset_batch
from jaxcrl.evaluate import Policy, episode_success, rollout


def add_member_option(parser: argparse.ArgumentParser) -> None:
    """Add --member, the member of a multi-seed or swept run to read."""
    parser.add_argument("--member", type=int, default=0, help="member of a --num-seeds/--sweep run")


def episodes_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options of every such script: --run-dir, --member, --episodes, --seed."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="a trained run's directory")
    add_member_option(parser)
    parser.add_argument(
        "--episodes", type=positive_int, default=1024, help="episodes to roll out (default 1024)"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the episodes (default 0)")
    return parser


def loaded_member(run_dir: Path, member: int = 0) -> Any:
    """``saved_runs.load_member``, a bad run dir, checkpoint or member refused in one line; says
    which member it read when the run has several."""
    # Imported here: only a saved run needs its host side (checkpoint layout, members).
    from jaxcrl.config_files import read_run_config
    from jaxcrl.members import run_members
    from jaxcrl.saved_runs import load_member

    with one_line_errors():
        loaded = load_member(Path(run_dir), member)
        members = run_members(read_run_config(Path(run_dir)))
    if len(members) > 1:
        chosen = members[member]
        swept = "".join(f", {name} {value}" for name, value in chosen.values.items())
        print(
            f"{run_dir}: member {member} of {len(members)} (seed {chosen.seed}{swept}); "
            "--member picks another"
        )
    return loaded


def member_policy(run_dir: Path, member: int = 0) -> tuple[GoalEnv, Any, Policy]:
    """(env, env_params, policy) of one member's checkpointed policy (``loaded_member``)."""
    from jaxcrl.saved_runs import loaded_policy

    loaded = loaded_member(run_dir, member)
    return loaded.env, loaded.env_params, loaded_policy(loaded)


def saved_policy(args: argparse.Namespace) -> tuple[GoalEnv, Any, Policy]:
    """(env, env_params, policy) of the run and member that the parsed options name."""
    return member_policy(args.run_dir, args.member)


def refuse_images(env: GoalEnv, reads: str) -> None:
    """Refuse in one line a pixel env: its states are images, not the ``reads`` this script
    takes from them."""
    if env.image_shape is not None:
        fail(f"{env.name} observes images; this script reads {reads} from states")


def refuse_host_evaluated(env: GoalEnv) -> None:
    """Refuse in one line an OGBench env: its episodes run on the host, from OGBench's tasks."""
    if getattr(env, "host_evaluated", False):
        fail(
            f"{env.name} is an OGBench env: its episodes run on the host from OGBench's own "
            "tasks, which this script cannot roll out (eval.py evaluates such runs)"
        )


def run_episodes(
    env: GoalEnv, env_params: Any, policy: Policy, num_episodes: int, seed: int
) -> tuple[EnvState, dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Episodes of ``policy`` from the env's own random starts and goals: the reset states,
    per-step metrics and alive masks [T, E], and per episode [E] success and time near goal."""
    key = jax.random.PRNGKey(seed)
    states = reset_batch(env, env_params, key, num_episodes)
    metrics, alive = rollout(env, env_params, policy, key, num_episodes, initial_states=states)
    success, time_near = (np.asarray(x) for x in episode_success(metrics, alive))
    metrics = {name: np.asarray(values) for name, values in metrics.items()}
    return states, metrics, np.asarray(alive), success, time_near


def episode_bounds(terminals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row [N]: the first and the last row of its episode."""
    ends = np.flatnonzero(terminals > 0)
    if ends.size == 0 or ends[-1] != terminals.size - 1:
        ends = np.append(ends, terminals.size - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    return np.repeat(starts, lengths), np.repeat(ends, lengths)


def print_binned_means(
    title: str,
    count_label: str,
    lengths: np.ndarray,
    columns: dict[str, np.ndarray],
    bin_size: int,
    first: int = 0,
    span_label: Callable[[int], str] | None = None,
) -> None:
    """Print a markdown table of each column's mean per range of ``lengths``, from ``first`` on;
    ``span_label`` names a range by its lowest value (default: "low–high"); NaNs are left out."""
    print(f"| {title} | {count_label} | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for low in range(first, int(lengths.max()) + 1, bin_size):
        chosen = (lengths >= low) & (lengths < low + bin_size)
        if chosen.any():
            span = str(low) if bin_size == 1 else f"{low}–{low + bin_size - 1}"
            if span_label is not None:
                span = span_label(low)
            cells = " | ".join(mean_cell(values[chosen]) for values in columns.values())
            print(f"| {span} | {chosen.sum()} | {cells} |")


def mean_cell(values: np.ndarray) -> str:
    """The mean of the values that are not NaN, to two decimals ("—" when there are none)."""
    values = values[~np.isnan(values)]
    return f"{values.mean():.2f}" if values.size else "—"
