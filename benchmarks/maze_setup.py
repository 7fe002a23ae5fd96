"""Time building a point maze from an open square map of each size, before anything compiles.

Usage: ``python benchmarks/maze_setup.py --sizes 40 80 150``. A map's setup works out its
diameter (which sets the episode length) and the largest success threshold that leaves every
goal starts beyond it; both grow with the map. Prints one line per size: seconds to build the
env (the best of ``--repeats`` builds) and the episode length the diameter sets.
"""

from __future__ import annotations

import argparse
import time

from arguments import positive_int  # sibling module

from jaxcrl.envs.mazes import parse_layout
from jaxcrl.envs.point_maze import PointMaze


def open_square(size: int) -> str:
    """An open map of ``size`` x ``size`` cells, walls around, rows joined by '/'."""
    rows = ["#" * size] + ["#" + "." * (size - 2) + "#"] * (size - 2) + ["#" * size]
    return "/".join(rows)


def best_build_seconds(layout: str, repeats: int) -> tuple[float, PointMaze]:
    """The fastest of ``repeats`` builds of the point maze on ``layout``, and the env built."""
    best, env = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        env = PointMaze(layout=layout)
        best = min(best, time.perf_counter() - start)
    return best, env


def main() -> None:
    """Print the build time, diameter and episode length of an open map of each size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[40, 80, 150])
    parser.add_argument("--repeats", type=positive_int, default=2)
    args = parser.parse_args()
    if min(args.sizes) < 4:
        parser.error("--sizes: a map takes at least 4 cells a side (a wall around 2 free cells)")
    for size in args.sizes:
        layout = open_square(size)
        seconds, env = best_build_seconds(layout, args.repeats)
        free = int((~parse_layout(layout.replace("/", "\n"))).sum())
        print(
            f"{size}x{size} ({free} free cells): built in {seconds:.2f} s, "
            f"episode_length {env.episode_length}"
        )


if __name__ == "__main__":
    main()
