"""Mazes for the MuJoCo robots: walls as a few box geoms in an MJCF model, cells for starts and goals.

Shared by the ant and humanoid mazes. Cell (row, col) of a layout spans
x in [col, col + 1) * cell_size and y in [row, row + 1) * cell_size.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.mazes import (
    layout_map,
    longest_shortest_path,
    maze_env_name,
    parse_goal_region,
    parse_layout,
    wall_problem,
)
from jaxcrl.envs.mjx_base import check_goal_range, check_start_apart

# Contact bits (MuJoCo collides two geoms when contype of one & conaffinity of the other != 0).
FLOOR_BIT = 1  # floor conaffinity; a walker's feet carry it in their contype
WALL_BIT = 2  # wall conaffinity; the walker geoms that touch maze walls carry it


def wall_boxes(walls: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cover the wall cells with few rectangles (row0, row1, col0, col1), ends exclusive.

    Greedy: from each uncovered wall cell in row-major order, grow right, then down while the whole
    strip is uncovered wall. Fewer boxes means fewer candidate contacts for MJX to evaluate.
    """
    covered = np.zeros_like(walls)
    boxes = []
    rows, cols = walls.shape
    for row in range(rows):
        for col in range(cols):
            if not walls[row, col] or covered[row, col]:
                continue
            col_end = col
            while col_end < cols and walls[row, col_end] and not covered[row, col_end]:
                col_end += 1
            row_end = row + 1
            while row_end < rows and all(
                walls[row_end, c] and not covered[row_end, c] for c in range(col, col_end)
            ):
                row_end += 1
            covered[row:row_end, col:col_end] = True
            boxes.append((row, row_end, col, col_end))
    return boxes


def add_maze_walls(
    root: ET.Element, walls: np.ndarray, cell_size: float, wall_height: float, wall_bit: int
) -> None:
    """Add box walls, a floor that covers the maze and an ``overview`` camera to an MJCF tree.

    Walls collide only with geoms whose contype has ``wall_bit``; wall contacts are frictionless
    (condim 1, enforced by a higher priority) so each adds one constraint row, not four.
    """
    worldbody = root.find("worldbody")
    rows, cols = walls.shape
    for geom in root.iter("geom"):
        if geom.get("name") == "floor":
            half = 0.5 * cell_size * max(rows, cols) + 2.0
            geom.set("pos", f"{0.5 * cols * cell_size} {0.5 * rows * cell_size} 0")
            geom.set("size", f"{half} {half} 0.1")
    for index, (row0, row1, col0, col1) in enumerate(wall_boxes(walls)):
        ET.SubElement(
            worldbody,
            "geom",
            name=f"wall_{index}",
            type="box",
            pos=f"{0.5 * (col0 + col1) * cell_size} {0.5 * (row0 + row1) * cell_size} "
            f"{0.5 * wall_height}",
            size=f"{0.5 * (col1 - col0) * cell_size} {0.5 * (row1 - row0) * cell_size} "
            f"{0.5 * wall_height}",
            contype="0",
            conaffinity=str(wall_bit),
            condim="1",
            priority="1",
            rgba="0.55 0.5 0.45 1",
        )
    ET.SubElement(
        worldbody,
        "camera",
        name="overview",
        pos=f"{0.5 * cols * cell_size} {0.5 * rows * cell_size} {1.1 * max(rows, cols) * cell_size}",
        xyaxes="1 0 0 0 1 0",
    )


def walker_maze_xml(
    xml: str,
    walls: np.ndarray,
    cell_size: float,
    wall_height: float,
    body_geom: str | None,
    feet_touch_walls: bool,
) -> str:
    """A walker's MJCF ``xml`` plus box walls for a wall grid (``add_maze_walls``).

    Only the geom named ``body_geom`` (none if None) and, with ``feet_touch_walls``, the geoms of
    the ``foot`` default class touch the walls; the feet keep touching the floor.
    """
    root = ET.fromstring(xml)
    for geom in root.iter("geom"):
        if body_geom is not None and geom.get("name") == body_geom:
            geom.set("contype", str(WALL_BIT))
    for default in root.iter("default"):
        if default.get("class") == "foot" and feet_touch_walls:
            default.find("geom").set("contype", str(FLOOR_BIT | WALL_BIT))
    add_maze_walls(root, walls, cell_size, wall_height, WALL_BIT)
    return ET.tostring(root, encoding="unicode")


def maze_episode_length(
    walls: np.ndarray, cell_size: float, steps_per_metre: float, minimum: int = 1000
) -> int:
    """``minimum`` steps, or more when the maze's longest shortest path needs them at
    ``steps_per_metre``, rounded up to a hundred."""
    steps = longest_shortest_path(walls) * cell_size * steps_per_metre
    return max(minimum, int(100 * np.ceil(steps / 100)))


class MazeCells(NamedTuple):
    """Where a maze robot may start and find its goal, in metres."""

    walls: np.ndarray  # [rows, cols] bool wall grid
    free_cell_centres: np.ndarray  # [num_free, 2] (x, y) of every free cell's centre
    goal_cells: np.ndarray  # [num_goal] rows of free_cell_centres in the goal region


def maze_cells(layout: str, cell_size: float) -> MazeCells:
    """The free cells of ``layout`` (a maze name or an ASCII map) scaled to ``cell_size`` metres,
    and its goal region."""
    ascii_map = layout_map(layout)  # raises naming the fix; a map must have 2+ free cells
    walls = parse_layout(ascii_map)
    free_cells = np.argwhere(~walls)  # [num_free, 2] (row, col)
    if len(free_cells) < 2:
        raise ValueError(f"layout {layout!r} needs two free cells for a start and a goal")
    goal_region = parse_goal_region(ascii_map)
    return MazeCells(
        walls=walls,
        free_cell_centres=(free_cells[:, ::-1] + 0.5) * cell_size,
        goal_cells=np.flatnonzero(goal_region[tuple(free_cells.T)]),
    )


def sample_start_goal(
    key: jax.Array, free_cell_centres: jax.Array, goal_cells: jax.Array, cell_jitter: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Goal in a uniform goal cell, start in a uniform *other* free cell, both jittered."""
    goal_key, offset_key, start_jitter_key, goal_jitter_key = jax.random.split(key, 4)
    num_free = free_cell_centres.shape[0]
    goal_cell = jax.random.choice(goal_key, goal_cells)
    # Adding 1..num_free-1 modulo num_free picks uniformly among the other cells, no retries.
    start_cell = (goal_cell + jax.random.randint(offset_key, (), 1, num_free)) % num_free

    def jitter(jitter_key):
        return jax.random.uniform(jitter_key, (2,), minval=-cell_jitter, maxval=cell_jitter)

    start = free_cell_centres[start_cell] + jitter(start_jitter_key)
    goal = free_cell_centres[goal_cell] + jitter(goal_jitter_key)
    return start, goal


@struct.dataclass
class WalkerMazeParams:
    """Task constants of a walking robot's maze; the walls themselves are part of the MuJoCo model."""

    success_threshold: jax.Array  # [] metres between torso (x, y) and goal
    free_cell_centres: jax.Array  # [num_free, 2] (x, y) of every free cell's centre, metres
    goal_cells: jax.Array  # [num_goal] int32 rows of free_cell_centres where goals may lie
    cell_jitter: jax.Array  # [] starts and goals lie uniformly within +-jitter of a centre
    healthy_z_min: jax.Array  # [] torso height below which the robot has fallen
    healthy_z_max: jax.Array  # [] torso height above which it has left the ground
    reset_noise: jax.Array  # [] scale of the random start pose and speed


class WalkerMaze:
    """Maze behaviour shared by the ant and humanoid mazes: cells, start and goal, task constants.

    Mixed in before the robot's open-ground class, which supplies ``success_threshold``,
    ``healthy_z_range`` and ``reset_noise``; goals lie in the layout's goal region (its ``G``
    cells, else every free cell) and starts in any other free cell.
    """

    def place_in_maze(
        self,
        robot: str,
        layout: str,
        cell_size: float,
        cell_jitter: float,
        clearance: float,
        reset_noise: float,
        torso_radius: float,
        largest_reset_noise: float = float("inf"),
    ) -> str:
        """Check ``layout`` (a maze name or an ASCII map, ``mazes.layout_map``), ``cell_jitter``
        (a start stays ``clearance`` m inside its cell) and ``reset_noise``, which moves the
        torso up to as far again (it stays ``torso_radius`` m inside its cell; the range a
        message names stops at ``largest_reset_noise``, the robot's own cap); returns the env's
        name, ``ROBOT_LAYOUT`` or, for a map, ``ROBOT_maze_custom``."""
        if 0.5 * cell_size - clearance < 0:
            raise ValueError(
                f"cell_size must be at least {2 * clearance:g} m, so that a start {clearance:g} m "
                f"from every wall fits in a cell, got {cell_size}"
            )
        if not 0 <= cell_jitter <= 0.5 * cell_size - clearance:
            raise ValueError(
                f"cell_jitter must lie in [0, cell_size / 2 - {clearance:g}] = "
                f"[0, {0.5 * cell_size - clearance}] so a start never touches a wall, "
                f"got {cell_jitter}"
            )
        reach = 0.5 * cell_size - torso_radius
        if not 0 <= reset_noise <= reach - cell_jitter:
            raise ValueError(
                f"reset_noise={reset_noise:g} with cell_jitter={cell_jitter:g}: the noise moves "
                f"the {robot}'s torso too, and the two together must stay within cell_size / 2 - "
                f"{torso_radius:g} = {reach:g} m of a cell's centre, or a start may lie inside a "
                f"wall; give reset_noise in "
                f"[0, {min(max(reach - cell_jitter, 0.0), largest_reset_noise):g}]"
            )
        self.walls, self.free_cell_centres, self.goal_cells = maze_cells(layout, cell_size)
        self.layout = layout
        self.cell_size = float(cell_size)
        self.cell_jitter = float(cell_jitter)
        return maze_env_name(robot, layout)

    def check_placement(self) -> None:
        """ValueError naming the option when a start may lie within the success threshold of
        its goal, or goals lie farther out than float32 tells the threshold."""
        # Start and goal lie in different cells, and every free cell of a map (connected, by
        # check_layout, through moves whose side cells are free) has a free neighbour: centres
        # cell_size apart. Each lies within cell_jitter of its centre along x and y, and the
        # reset noise moves the torso's x and y up to reset_noise more.
        check_start_apart(
            "success_threshold",
            self.success_threshold,
            self.cell_size - 2 * self.cell_jitter - self.reset_noise,
            "cell_size - 2 * cell_jitter - reset_noise",
            "the nearest a start can lie to its goal: in a neighbouring cell, both off its centre "
            "by cell_jitter and the torso by reset_noise more",
            "lower success_threshold, or raise cell_size, or lower cell_jitter or reset_noise",
        )
        goals = self.free_cell_centres[self.goal_cells]
        farthest = float(np.abs(goals).max()) + self.cell_jitter
        check_goal_range("cell_size", self.cell_size, farthest, self.success_threshold)

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why the torso position ``goal`` (x, y) cannot be reached: outside the maze or inside
        a wall."""
        return wall_problem(self.walls, goal, self.cell_size)

    def default_params(self) -> WalkerMazeParams:
        """Free-cell centres, goal cells, jitter, threshold, healthy heights and reset noise."""
        return WalkerMazeParams(
            success_threshold=jnp.asarray(self.success_threshold),
            free_cell_centres=jnp.asarray(self.free_cell_centres, jnp.float32),
            goal_cells=jnp.asarray(self.goal_cells, jnp.int32),
            cell_jitter=jnp.asarray(self.cell_jitter),
            healthy_z_min=jnp.asarray(self.healthy_z_range[0]),
            healthy_z_max=jnp.asarray(self.healthy_z_range[1]),
            reset_noise=jnp.asarray(self.reset_noise),
        )

    def sample_start_goal(
        self, key: jax.Array, params: WalkerMazeParams
    ) -> tuple[jax.Array, jax.Array]:
        """Goal in a uniform goal-region cell, start in another free cell, both jittered."""
        return sample_start_goal(
            key, params.free_cell_centres, params.goal_cells, params.cell_jitter
        )
