"""Success of a trained maze run, grouped by how far each goal is from its start through the maze.

Usage: ``python benchmarks/maze_success_by_path.py --run-dir RUN [--episodes 1024] [--bin 3]``.
Works for every env with a wall grid (the point mazes, the ant and humanoid mazes): it runs the
run's deterministic policy from the env's own random starts and goals, finds the fewest king moves
between the start's cell and the goal's cell (``mazes.path_lengths``) and prints success and time
near goal per range of path lengths, so a plateau can be traced to the goals it misses.
"""

from __future__ import annotations

import numpy as np
from arguments import fail, positive_int  # sibling modules
from episodes import (
    episodes_parser,
    print_binned_means,
    refuse_images,
    run_episodes,
    saved_policy,
)

from jaxcrl.envs.mazes import cells_of, path_lengths


def path_cells(walls: np.ndarray, starts: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Fewest king moves [N] from each start cell [N, 2] to its goal cell [N, 2]."""
    from_each_start = path_lengths(walls, starts)  # [N, rows, cols]
    return from_each_start[np.arange(len(starts)), goals[:, 0], goals[:, 1]]


def main() -> None:
    """Evaluate once and print one row per range of path lengths."""
    parser = episodes_parser(__doc__)
    parser.add_argument("--bin", type=positive_int, default=3, help="path lengths per row (cells)")
    args = parser.parse_args()

    env, env_params, policy = saved_policy(args)
    refuse_images(env, "maze positions")
    if not hasattr(env, "walls"):
        fail(f"{env.name} has no wall grid; this script reads maze runs only")
    states, _, _, success, time_near = run_episodes(
        env, env_params, policy, args.episodes, args.seed
    )

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
