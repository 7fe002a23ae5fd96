"""Maze layouts shared by every maze task, written as ASCII maps: ``#`` wall, ``.`` free.

Row 0 of a map is the cell row nearest y = 0; column 0 the one nearest x = 0. Tasks scale a cell
to their own size (one unit for the point mass, several metres for legged robots).
"""

from __future__ import annotations

import numpy as np

LAYOUTS: dict[str, str] = {
    # 5x5 free arena.
    "open": """
#######
#.....#
#.....#
#.....#
#.....#
#.....#
#######
""",
    # A U-shaped corridor: the goal is often on the far side of the centre wall.
    "u_maze": """
#####
#...#
###.#
#...#
#####
""",
    # An 8x8 maze with several corridors and dead ends.
    "medium": """
########
##...#.#
##.#...#
#..###.#
#.#..#.#
#...#..#
##.#..##
########
""",
    # A 9x12 maze with long detours.
    "large": """
############
#....#.....#
#.##.#.#.#.#
#......#...#
#.####.###.#
#.#....#...#
#.#.##.#.###
#..#...#...#
############
""",
}


def parse_layout(ascii_map: str) -> np.ndarray:
    """Turn an ASCII map (``#`` wall, ``.`` free) into a bool wall grid [rows, cols]."""
    rows = [line.strip() for line in ascii_map.strip().splitlines() if line.strip()]
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"maze rows must all have the same width, got widths {sorted(widths)}")
    unknown = {ch for row in rows for ch in row} - {"#", "."}
    if unknown:
        raise ValueError(f"maze map may hold only '#' and '.', found {sorted(unknown)}")
    walls = np.array([[ch == "#" for ch in row] for row in rows], dtype=bool)
    if walls.all():
        raise ValueError("maze map has no free cell")
    return walls
