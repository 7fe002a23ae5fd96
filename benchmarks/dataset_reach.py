"""How far the trajectories of offline maze datasets reach through the maze.

Usage: ``python benchmarks/dataset_reach.py --env ENV DATA.npz [DATA.npz ...]``. A trajectory is a
run of steps between ``terminals`` (an episode, or a segment of a stitch dataset); its reach is
the fewest king moves from the cell it starts in to the farthest cell it visits. Goals drawn from
the same trajectory are never farther than its reach, so a dataset whose trajectories all reach
fewer cells than a test goal lies away can teach that goal only by stitching trajectories together.
Works for every env with a wall grid (the point, ant and humanoid mazes).
"""

from __future__ import annotations

import argparse

import numpy as np
from episodes import episode_bounds  # sibling module

from jaxcrl.dataset import DatasetError, load_dataset
from jaxcrl.envs import make_env
from jaxcrl.envs.mazes import cells_of, path_lengths


def trajectory_reach(walls: np.ndarray, cells: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """[K] king moves from the first to the farthest cell of each trajectory in ``terminals``."""
    first_rows, ids = np.unique(episode_bounds(terminals)[0], return_inverse=True)
    from_first = path_lengths(walls, cells[first_rows])  # [K, rows, cols]
    distances = from_first[ids, cells[:, 0], cells[:, 1]]
    reach = np.zeros(len(first_rows), np.int64)
    np.maximum.at(reach, ids, distances)
    return reach


def main() -> None:
    """Print one column of trajectory counts per dataset, one row per reach in cells."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True, help="the maze env the data was collected in")
    parser.add_argument("datasets", nargs="+", help="OGBench-layout .npz files")
    args = parser.parse_args()

    env = make_env(args.env)
    if not hasattr(env, "walls"):
        raise SystemExit(f"{env.name} has no wall grid; this script reads maze datasets only")
    walls = np.asarray(env.walls)
    cell_size = float(getattr(env, "cell_size", 1.0))
    reaches = {}
    for path in args.datasets:
        try:
            data = load_dataset(path, env.state_size, env.action_size)
        except DatasetError as error:
            raise SystemExit(str(error)) from None
        points = np.asarray(env.goal_of(data.observations[:, : env.state_size]))
        reaches[path] = trajectory_reach(
            walls, cells_of(points, cell_size), np.asarray(data.terminals)
        )

    print("| reach (king moves) | " + " | ".join(reaches) + " |")
    print("|---:|" + "---:|" * len(reaches))
    for cells in range(max(int(r.max()) for r in reaches.values()) + 1):
        print(
            f"| {cells} | "
            + " | ".join(str(int((r == cells).sum())) for r in reaches.values())
            + " |"
        )
    print("| trajectories | " + " | ".join(str(len(r)) for r in reaches.values()) + " |")


if __name__ == "__main__":
    main()
