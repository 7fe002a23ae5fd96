"""Maze layouts shared by every maze task, written as ASCII maps: ``#`` wall, ``.`` free.

A ``G`` is a free cell of the goal region: a map that marks any ``G`` asks tasks to draw goals only
there (starts still come from every free cell); a map without one draws goals anywhere free. Row 0
of a map (its first line) is the cell row nearest y = 0, so with y pointing up, as in videos, a map
shows upside down: its first line is the maze's bottom row. Column 0 is the one nearest x = 0.
Tasks scale a cell to their own size (one unit for the point mass, several metres for legged
robots).

Every maze task takes ``layout``: a name in ``LAYOUTS``, or a map itself with its rows on lines or
joined by ``/`` (``layout_map``), the form that fits in an env option and so in a run's
config.yaml (``layout_option``). ``add_layout(name, ascii_map)`` adds a named maze to this
process; ``jaxcrl.envs.register_maze`` also registers the point-mass, ant and humanoid tasks for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

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
    # JaxGCRL's "big" maze (Bortkiewicz et al. 2025), the 8x8 maze of D4RL's antmaze-medium (Fu
    # et al. 2020), row for row. JaxGCRL starts its robot in one corner cell; here starts and
    # goals are any free cells, as in every maze of this module. Longest shortest path: 11 cells.
    "big": """
########
#..##..#
#..#...#
##...###
#..#...#
#.#..#.#
#...#..#
########
""",
    # JaxGCRL's "hardest" maze, the 9x12 maze of D4RL's antmaze-large, row for row (starts and
    # goals as above). Longest shortest path: 19 cells (large: 26).
    "hardest": """
############
#....#.....#
#.##.#.#.#.#
#......#...#
#.####.###.#
#..#.#.....#
##.#.#.#.###
#..#...#...#
############
""",
    # An 11x11 spiral inside its border, after the CRL paper's point_Spiral11x11 task (Eysenbach
    # et al. 2022): one corridor winds inwards for 70 cells; goals lie in the last turn (G).
    "spiral": """
#############
#...........#
###########.#
#.........#.#
#.#######.#.#
#.#.....#.#.#
#.#.###G#.#.#
#.#.#GGG#.#.#
#.#.#####.#.#
#.#.......#.#
#.#########.#
#...........#
#############
""",
}


WALL, FREE, GOAL = "#", ".", "G"


def _rows(ascii_map: str) -> list[str]:
    """The map's non-blank lines, stripped, checked to be a rectangle of known symbols."""
    rows = [line.strip() for line in ascii_map.strip().splitlines() if line.strip()]
    if not rows:
        raise ValueError("maze map is empty")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"maze rows must all have the same width, got widths {sorted(widths)}")
    unknown = {ch for row in rows for ch in row} - {WALL, FREE, GOAL}
    if unknown:
        raise ValueError(
            f"maze map may hold only '#' (wall), '.' (free) and 'G' (goal region), "
            f"found {sorted(unknown)}"
        )
    return rows


def parse_layout(ascii_map: str) -> np.ndarray:
    """Turn an ASCII map (``#`` wall, ``.`` or ``G`` free) into a bool wall grid [rows, cols]."""
    walls = np.array([[ch == WALL for ch in row] for row in _rows(ascii_map)], dtype=bool)
    if walls.all():
        raise ValueError("maze map has no free cell")
    return walls


def parse_goal_region(ascii_map: str) -> np.ndarray:
    """Cells where goals are drawn [rows, cols] bool: the ``G`` cells, else every free cell."""
    rows = _rows(ascii_map)
    marked = np.array([[ch == GOAL for ch in row] for row in rows], dtype=bool)
    return marked if marked.any() else np.array([[ch != WALL for ch in row] for row in rows])


# Moves between cells: the 8 king moves. A point mass moves along both axes at once, so a diagonal
# step costs one step like a straight one; it needs both side cells free (no cutting a wall corner).
_MOVES = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def cell_graph(walls: np.ndarray) -> scipy.sparse.csr_array:
    """Adjacency of the cells [rows * cols, rows * cols] (row-major ids) under free king moves."""
    rows, cols = walls.shape
    free = np.pad(~np.asarray(walls, bool), 1)  # a wall ring, so no move leaves the grid
    ids = np.arange(rows * cols).reshape(rows, cols)
    sources, targets = [], []
    for dr, dc in _MOVES:
        # (r, c) -> (r + dr, c + dc): both ends and both side cells free.
        shifted = lambda dr_, dc_: free[1 + dr_ : 1 + dr_ + rows, 1 + dc_ : 1 + dc_ + cols]
        ok = shifted(0, 0) & shifted(dr, dc) & shifted(dr, 0) & shifted(0, dc)
        sources.append(ids[ok])
        targets.append(ids[ok] + dr * cols + dc)
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    return scipy.sparse.csr_array(
        (np.ones(len(sources)), (sources, targets)), shape=(rows * cols, rows * cols)
    )


def cells_of(points: np.ndarray, cell_size: float = 1.0) -> np.ndarray:
    """(row, col) cells [N, 2] of (x, y) points [N, 2]; cell (r, c) spans x in [c, c+1) * size."""
    return np.floor(np.asarray(points)[:, ::-1] / cell_size).astype(np.int64)


def wall_problem(walls: np.ndarray, point: Sequence[float], cell_size: float = 1.0) -> str | None:
    """Why ``point`` (x, y in metres) cannot be a goal in the maze ``walls`` [rows, cols] of
    ``cell_size`` cells: outside the maze or inside a wall; None if it lies in a free cell."""
    rows, cols = walls.shape
    x, y = point
    if not (0 <= x < cols * cell_size and 0 <= y < rows * cell_size):
        return (
            f"({x:g}, {y:g}) lies outside the maze, which spans x in [0, {cols * cell_size:g}), "
            f"y in [0, {rows * cell_size:g}); pick a point in a free cell"
        )
    row, col = cells_of(np.array([[x, y]]), cell_size)[0]
    if walls[row, col]:
        return (
            f"({x:g}, {y:g}) lies inside a wall (row {row}, column {col} of the map); "
            "pick a point in a free cell"
        )
    return None


def path_lengths(walls: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Fewest king moves from source cells [num_sources, 2] to every cell [num_sources, rows, cols].

    Walls and unreachable cells get -1. Breadth-first search in compiled code (SciPy, which JAX
    already depends on): all pairs of a 50x50 maze take a fraction of a second.
    """
    walls = np.asarray(walls, bool)
    sources = np.asarray(sources).reshape(-1, 2)
    lengths = scipy.sparse.csgraph.shortest_path(
        cell_graph(walls), indices=sources[:, 0] * walls.shape[1] + sources[:, 1], unweighted=True
    )
    lengths = np.where(np.isfinite(lengths), lengths, -1).astype(np.int64)
    return lengths.reshape(len(sources), *walls.shape)


def longest_shortest_path(walls: np.ndarray) -> int:
    """The maze's diameter: the most king moves any free cell needs to reach another one.

    Exact, by bounding every cell's eccentricity (its longest shortest path; Takes and Kosters,
    "Determining the diameter of small world networks", 2011): each breadth-first search from one
    cell bounds every cell's from below and above, and the searches stop when no cell's upper
    bound exceeds the longest path found. Open maps and mazes take a few dozen searches, where
    all pairs take one per cell (a 150x150 open map: under a second, against 40 s); only maps
    whose cells all lie equally far from the farthest (a ring) take one per cell. Unreachable
    cells are left out, as ``path_lengths`` leaves them.
    """
    walls = np.asarray(walls, bool)
    graph = cell_graph(walls)
    free = np.flatnonzero(~walls.ravel())
    lower, upper = np.zeros(len(free)), np.full(len(free), np.inf)
    candidates = np.ones(len(free), bool)
    diameter, from_highest = 0.0, True
    while candidates.any():
        pool = np.flatnonzero(candidates)
        # Alternate: the cell that could lie farthest, then the one known to lie least far.
        source = pool[np.argmax(upper[pool])] if from_highest else pool[np.argmin(lower[pool])]
        from_highest = not from_highest
        lengths = scipy.sparse.csgraph.shortest_path(
            graph, indices=[free[source]], unweighted=True
        )[0][free]
        reached = np.isfinite(lengths)
        eccentricity = lengths[reached].max()
        lower[reached] = np.maximum(
            lower[reached], np.maximum(lengths[reached], eccentricity - lengths[reached])
        )
        upper[reached] = np.minimum(upper[reached], eccentricity + lengths[reached])
        upper[source] = lower[source] = eccentricity
        diameter = max(diameter, lower.max())
        candidates &= upper > diameter
    return int(diameter)


def check_layout(walls: np.ndarray) -> None:
    """Raise ValueError naming the problem unless the maze is bordered, connected, >= 2 free."""
    border = np.concatenate([walls[0], walls[-1], walls[:, 0], walls[:, -1]])
    if not border.all():
        raise ValueError(
            "maze map must have a wall border: its first and last rows and columns must be all '#'"
        )
    free_cells = np.argwhere(~walls)
    if len(free_cells) < 2:
        raise ValueError(
            f"maze map needs at least 2 free cells (a start and a goal), got {len(free_cells)}"
        )
    unreached = (path_lengths(walls, free_cells[:1])[0] < 0) & ~walls
    if unreached.any():
        row, col = np.argwhere(unreached)[0]
        raise ValueError(
            f"maze map is not one connected region: {int(unreached.sum())} free cells, e.g. "
            f"row {row} column {col} (counted from the map's first line), cannot be reached "
            f"from row {free_cells[0][0]} column {free_cells[0][1]}"
        )


ROW_SEPARATOR = "/"  # joins a map's rows in one line, for env options


def is_layout_name(layout: str) -> bool:
    """Whether ``layout`` names a maze in LAYOUTS (else it is a map itself)."""
    return isinstance(layout, str) and layout in LAYOUTS


def maze_env_name(robot: str, layout: str) -> str:
    """The env name of ``robot`` (point, ant, humanoid) in ``layout``: ``ROBOT_LAYOUT`` for a maze
    name, ``ROBOT_maze_custom`` for a map given itself."""
    return f"{robot}_{layout}" if is_layout_name(layout) else f"{robot}_maze_custom"


def layout_map(layout: str) -> str:
    """The ASCII map of ``layout``: a name in LAYOUTS, or a map (rows on lines or joined by '/').

    A map is checked as ``add_layout`` checks it; anything else raises ValueError naming the fix.
    """
    if is_layout_name(layout):
        return LAYOUTS[layout]
    if isinstance(layout, str) and (ROW_SEPARATOR in layout or "\n" in layout):
        ascii_map = layout.replace(ROW_SEPARATOR, "\n")
        check_layout(parse_layout(ascii_map))
        return ascii_map
    problem = "no maze layout given" if layout is None else f"unknown maze layout {layout!r}"
    if isinstance(layout, str) and "#" in layout and set(layout.strip()) <= set("#.G"):
        problem = f"layout {layout!r} is one row, and a map needs walls above and below it"
    raise ValueError(
        f"{problem}: give a maze name ({', '.join(sorted(LAYOUTS))}) or an ASCII map with its "
        "rows joined by '/', quoted so that YAML keeps the leading '#' (unquoted it starts a "
        "comment and the option reads as None), e.g. --env-options \"layout='#####/#..G#/#####'\""
    )


def layout_rows(ascii_map: str) -> str:
    """``ascii_map`` checked, as its rows stripped and joined by '/': one text per maze, however
    its rows were written."""
    rows = _rows(ascii_map.replace(ROW_SEPARATOR, "\n"))
    check_layout(parse_layout("\n".join(rows)))
    return ROW_SEPARATOR.join(rows)


def layout_option(ascii_map: str) -> str:
    """``ascii_map`` as the env option ``layout='ROW/ROW/...'``, for ``TrainConfig.env_options``.

    The rows are ``layout_rows``'s; the quotes keep YAML, which reads each option's value, from
    taking the leading '#' for a comment.
    """
    return f"layout='{layout_rows(ascii_map)}'"


BUILT_IN_LAYOUTS = frozenset(LAYOUTS)  # what register_maze may never redefine


def add_layout(name: str, ascii_map: str, replace: bool = False) -> np.ndarray:
    """Check ``ascii_map`` and add it to LAYOUTS as ``name`` (``replace``: over an added maze of
    that name with another map; never a built-in one); returns its wall grid [rows, cols]."""
    if not name.isidentifier():
        raise ValueError(f"maze name {name!r} must be a Python identifier (letters, digits, _)")
    if not isinstance(ascii_map, str):
        raise ValueError(f"maze {name!r}: the map must be a string of '#', '.' and 'G' rows")
    ascii_map = ascii_map.replace(ROW_SEPARATOR, "\n")  # rows on lines or joined by '/'
    walls = parse_layout(ascii_map)
    check_layout(walls)
    if name in LAYOUTS and _rows(LAYOUTS[name]) != _rows(ascii_map):
        if name in BUILT_IN_LAYOUTS:
            raise ValueError(f"maze {name!r} is built in; pick another name")
        if not replace:
            raise ValueError(
                f"maze {name!r} already exists with a different map; pick another name, or give "
                "replace=True to redefine it (runs saved already keep the map they trained on)"
            )
    LAYOUTS[name] = ascii_map
    return walls
