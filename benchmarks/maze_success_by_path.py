"""Success of a trained maze run, grouped by how far each goal is from its start through the maze.

Usage: ``python benchmarks/maze_success_by_path.py --run-dir RUN [--episodes 1024] [--bin 3]``.
Works for every env with a wall grid (the point mazes, the ant and humanoid mazes): it runs the
run's deterministic policy from the env's own random starts and goals, finds the fewest king moves
between the start's cell and the goal's cell (``mazes.path_lengths``) and prints success and time
near goal per range of path lengths, so a plateau can be traced to the goals it misses.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from jaxcrl.envs import reset_batch
from jaxcrl.envs.mazes import cells_of, path_lengths
from jaxcrl.evaluate import episode_success, rollout
from jaxcrl.saved_runs import load_member_policy


def path_cells(walls: np.ndarray, starts: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Fewest king moves [N] from each start cell [N, 2] to its goal cell [N, 2]."""
    from_each_start = path_lengths(walls, starts)  # [N, rows, cols]
    return from_each_start[np.arange(len(starts)), goals[:, 0], goals[:, 1]]


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
    ``span_label`` names a range by its lowest value (default: "low–high")."""
    print(f"| {title} | {count_label} | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for low in range(first, int(lengths.max()) + 1, bin_size):
        chosen = (lengths >= low) & (lengths < low + bin_size)
        if chosen.any():
            span = str(low) if bin_size == 1 else f"{low}–{low + bin_size - 1}"
            if span_label is not None:
                span = span_label(low)
            cells = " | ".join(f"{values[chosen].mean():.2f}" for values in columns.values())
            print(f"| {span} | {chosen.sum()} | {cells} |")


def main() -> None:
    """Evaluate once and print one row per range of path lengths."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--episodes", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bin", type=int, default=3, help="path lengths per row (cells)")
    args = parser.parse_args()

    env, env_params, policy = load_member_policy(args.run_dir)
    if not hasattr(env, "walls"):
        raise SystemExit(f"{env.name} has no wall grid; this script reads maze runs only")
    key = jax.random.PRNGKey(args.seed)
    states = reset_batch(env, env_params, key, args.episodes)
    metrics, alive = rollout(env, env_params, policy, key, args.episodes, initial_states=states)
    success, time_near = (np.asarray(x) for x in episode_success(metrics, alive))  # [E] each

    cell_size = float(getattr(env, "cell_size", 1.0))
    start_points = np.asarray(env.goal_of(states.obs[:, : env.state_size]))
    starts = cells_of(start_points, cell_size)
    goals = cells_of(np.asarray(states.goal), cell_size)
    lengths = path_cells(np.asarray(env.walls), starts, goals)

    print(f"{env.name}: {args.episodes} episodes, success {success.mean():.3f}")
    print_binned_means(
        "path (king moves)",
        "episodes",
        lengths,
        {"success": success, "time near goal": time_near},
        args.bin,
    )


if __name__ == "__main__":
    main()
