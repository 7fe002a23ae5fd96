"""How far the trajectories of offline maze datasets reach through the maze.

Usage: ``python benchmarks/dataset_reach.py DATA.npz [DATA.npz ...] [--env ENV]
[--env-options NAME=VALUE ...]`` (datasets first, or after ``--``). The env defaults to the one
the first dataset records (collect.py writes it, options such as a custom maze's ``layout``
included), and a dataset whose record names another env is reported on stderr.

A trajectory is a run of steps between ``terminals`` (an episode, or a segment of a stitch
dataset); its reach is the fewest king moves from the cell it starts in to the farthest cell it
visits. Goals drawn from the same trajectory are never farther than its reach, so a dataset whose
trajectories all reach fewer cells than a test goal lies away can teach that goal only by
stitching trajectories together.
Works for every env with a wall grid (the point, ant and humanoid mazes).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from arguments import fail, named_env, one_line_errors  # sibling modules
from episodes import episode_bounds, refuse_images

from jaxcrl.dataset import dataset_file_problem, load_dataset, read_source
from jaxcrl.envs.mazes import cells_of, path_lengths
from jaxcrl.validation import source_difference


def trajectory_reach(walls: np.ndarray, cells: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """[K] king moves from the first to the farthest cell of each trajectory in ``terminals``."""
    first_rows, ids = np.unique(episode_bounds(terminals)[0], return_inverse=True)
    from_first = path_lengths(walls, cells[first_rows])  # [K, rows, cols]
    distances = from_first[ids, cells[:, 0], cells[:, 1]]
    reach = np.zeros(len(first_rows), np.int64)
    np.maximum.at(reach, ids, distances)
    return reach


def chosen_env(
    env: str | None, env_options: list[str] | None, first_dataset: str, *extra_datasets: str
) -> tuple[str, list[str]]:
    """(env name, env options): those given, else those ``first_dataset`` records it was
    collected in; options default to the record's when the env is the recorded one."""
    for path in (first_dataset, *extra_datasets):
        problem = dataset_file_problem(path)
        if problem is not None:
            fail(f"dataset {path}: {problem}")
    source = read_source(first_dataset)
    if env is None and source is None:
        fail(f"{first_dataset} does not record its env; give --env (and --env-options)")
    if env is None or (env_options is None and source is not None and source["env"] == env):
        env = source["env"]
        return env, source["env_options"] if env_options is None else env_options
    return env, env_options or []


def source_mismatch(path: str, env: str, env_options: list[str]) -> str | None:
    """A warning when dataset ``path`` records another env (or other options) than these."""
    difference = source_difference(path, env, env_options)
    if difference is None:
        return None
    what, fix = difference
    return (
        f"warning: {path} was collected {what}; its reach is counted in {env}'s grid all the "
        f"same (give {fix} if that is not meant)"
    )


def main() -> None:
    """Print one column of trajectory counts per dataset, one row per reach in cells."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--env", help="the maze env the data was collected in (default: the first dataset's)"
    )
    parser.add_argument("--env-options", nargs="*", metavar="NAME=VALUE", help="of --env")
    parser.add_argument("datasets", nargs="+", help="OGBench-layout .npz files")
    args = parser.parse_args()

    env_name, env_options = chosen_env(args.env, args.env_options, *args.datasets)
    env = named_env(env_name, env_options)
    refuse_images(env, "maze positions")
    if not hasattr(env, "walls"):
        fail(
            f"{env.name} has no wall grid; this script reads the datasets of jaxcrl's own mazes "
            "only (point_*, ant_* mazes), not OGBench's or other envs'"
        )
    for path in args.datasets:
        warning = source_mismatch(path, env_name, env_options)
        if warning:
            print(warning, file=sys.stderr)
    walls = np.asarray(env.walls)
    cell_size = float(getattr(env, "cell_size", 1.0))
    reaches = {}
    for path in args.datasets:
        with one_line_errors():
            data = load_dataset(path, env.state_size, env.action_size)
        points = np.asarray(env.goal_of(data.observations[:, : env.state_size]))
        cells = cells_of(points, cell_size)
        if np.any(cells < 0) or np.any(cells >= walls.shape):
            fail(
                f"{path} has positions outside {env.name}'s grid; give the maze it was collected in"
            )
        reaches[path] = trajectory_reach(walls, cells, np.asarray(data.terminals))

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
