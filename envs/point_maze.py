"""A 2-D point mass that moves through a grid maze, written in pure JAX.

The point moves by ``action * max_step`` each step (a kinematic integrator, no inertia) and slides
along walls: each axis of the move is undone when it would enter a wall cell. With
``max_step < 1`` (one cell) a move can never tunnel through a wall. State and goal are both the
(x, y) position, in cell units with the maze's corner at the origin.

The layout (a maze name or an ASCII map, see ``mazes.py``) becomes the ``params`` pytree as a
boolean wall grid and a goal-region grid, so one compiled program can vmap over layouts of the
same size.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.spatial
from flax import struct

from jaxcrl.envs.base import (
    EnvState,
    GoalEnv,
    advance,
    goal_metrics,
    make_state,
    thousandths_below,
)
from jaxcrl.envs.mazes import (
    layout_map,
    longest_shortest_path,
    maze_env_name,
    parse_goal_region,
    parse_layout,
    wall_problem,
)

# Episode-length rule of every point maze: 2.5 times the steps that cross the maze's longest
# shortest path (in king moves, see mazes.longest_shortest_path) at full speed, rounded up to a
# multiple of 50. With max_step 0.25: open 50 (4 cells), u_maze 100 (6), medium 200 (20), large
# 300 (26), big 150 (11), hardest 200 (19), spiral 700 (70). (big and hardest were 200 and 350
# until 2026-11-28, when they became JaxGCRL's mazes instead of this project's own.)
CROSSINGS_PER_EPISODE = 2.5
# The widest frame a maze is drawn in (wider mazes get fewer pixels per cell), so that a
# video of a large maze fits in memory.
MAX_FRAME_PIXELS = 640


def point_maze_episode_length(walls: np.ndarray, max_step: float) -> int:
    """Steps per episode for a wall grid: 2.5 full-speed crossings of its diameter, to a 50."""
    crossing_steps = longest_shortest_path(walls) / max_step
    return int(50 * np.ceil(CROSSINGS_PER_EPISODE * crossing_steps / 50))


def _too_close(point: jax.Array, other: jax.Array, threshold: jax.Array) -> jax.Array:
    """Whether two points share a maze cell or lie within ``threshold`` of each other."""
    same_cell = jnp.all(jnp.floor(point) == jnp.floor(other))
    return same_cell | (jnp.linalg.norm(point - other) <= threshold)


def _farthest_corner(cells: jax.Array, other: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The extreme point (``cell_corners``) of ``cells`` [rows, cols] bool, outside the cell of
    ``other`` [2], farthest from ``other``, and whether there is one (another cell)."""
    corners = jnp.asarray(cell_corners(*cells.shape))  # [rows, cols, 4, 2]
    col, row = jnp.floor(other).astype(jnp.int32)
    allowed = cells & ~jnp.zeros_like(cells).at[row, col].set(True)
    distances = jnp.linalg.norm(corners - other, axis=-1)  # [rows, cols, 4]
    distances = jnp.where(allowed[..., None], distances, -1.0)
    return corners.reshape(-1, 2)[jnp.argmax(distances.reshape(-1))], jnp.any(allowed)


# Starts and goals lie at least this far inside their cell's sides, along each axis: in
# [0.1, 0.9] of the cell, at most POINT_FROM_CENTRE from its centre.
CELL_MARGIN = 0.1
POINT_FROM_CENTRE = (0.5 - CELL_MARGIN) * np.sqrt(2.0)
# Uniform draws of a goal apart from its start (and of a start apart from its goal) after the
# first, before the farthest corner of the allowed cells is taken instead. One draw alone lands
# too close in 3% of point_medium's resets at the default threshold; far more only with
# thresholds near the bound.
APART_REDRAWS = 16


def cell_corners(rows: int, cols: int) -> np.ndarray:
    """The four extreme points (CELL_MARGIN from the sides) of every cell [rows, cols, 4, 2] as
    (x, y)."""
    row, col = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    low, high = CELL_MARGIN, 1.0 - CELL_MARGIN
    offsets = np.array([[low, low], [low, high], [high, low], [high, high]], np.float32)
    return np.stack([col, row], -1)[:, :, None, :].astype(np.float32) + offsets


def largest_success_threshold(walls: np.ndarray, goal_cells: np.ndarray) -> float:
    """A success threshold below which every goal of ``goal_cells`` has starts beyond it.

    For each goal cell, the farthest point of another free cell from its centre, less
    ``POINT_FROM_CENTRE`` (a goal lies that far from the centre at most); the least over the goal
    cells. Below it, the farthest-corner fallback of ``PointMaze.reset`` always finds a start
    and goal apart.
    """
    free = ~np.asarray(walls, bool)
    if free.sum() < 2:
        return 0.0
    # A cell's own extreme points lie nearer its centre than those of any other cell, so the
    # farthest point of the other cells is the farthest of all: a vertex of their convex hull.
    points = cell_corners(*walls.shape)[free].reshape(-1, 2)  # [num_free * 4, 2] (x, y)
    hull = points[scipy.spatial.ConvexHull(points).vertices]
    centres = (np.argwhere(goal_cells)[:, ::-1] + 0.5).astype(np.float32)  # (x, y)
    farthest = np.linalg.norm(centres[:, None] - hull[None], axis=-1).max(axis=1)
    return max(float(farthest.min()) - POINT_FROM_CENTRE, 0.0)


@struct.dataclass
class PointMazeParams:
    """Task constants: wall grid, goal region and success threshold (all may be vmapped over)."""

    walls: jax.Array  # [rows, cols] bool; row r covers y in [r, r+1), column c covers x in [c, c+1)
    goal_cells: jax.Array  # [rows, cols] bool; free cells where goals are drawn
    success_threshold: jax.Array  # [] distance (in cells) under which the goal counts as reached


class PointMaze(GoalEnv):
    """Navigate a point to a goal position in a grid maze."""

    def __init__(
        self,
        layout: str = "open",
        episode_length: int | None = None,
        max_step: float = 0.25,
        success_threshold: float = 0.5,
        dense_reward: bool = False,
    ):
        ascii_map = layout_map(layout)  # a maze name or a map; raises naming the fix
        if not 0 < max_step < 1:
            raise ValueError(
                f"max_step must lie in (0, 1) cells so moves cannot tunnel, got {max_step}"
            )
        self.layout = layout
        self.walls = parse_layout(ascii_map)
        self.goal_cells = parse_goal_region(ascii_map)
        self.free_cells = np.argwhere(~self.walls)  # [num_free, 2] (row, col)
        self.episode_length = int(episode_length or point_maze_episode_length(self.walls, max_step))
        self.max_step = float(max_step)
        largest = largest_success_threshold(self.walls, self.goal_cells)
        if not success_threshold < largest:
            accepted = thousandths_below(largest)
            raise ValueError(
                f"success_threshold must be at most {accepted:g} cells in this maze (below "
                f"{largest:.6g}, so that every goal has starts farther than it: from near the "
                f"middle, none lie farther than about {largest + POINT_FROM_CENTRE:.3g}), got "
                f"{success_threshold:g}"
            )
        self.success_threshold = float(success_threshold)
        self.dense_reward = dense_reward
        self.name = maze_env_name("point", layout)
        self.state_size = 2
        self.goal_indices = (0, 1)
        self.action_size = 2

    def default_params(self) -> PointMazeParams:
        """The layout's wall grid and goal region, and the configured success threshold."""
        return PointMazeParams(
            walls=jnp.asarray(self.walls),
            goal_cells=jnp.asarray(self.goal_cells),
            success_threshold=jnp.asarray(self.success_threshold),
        )

    def _random_point_in(self, key: jax.Array, cells: jax.Array) -> jax.Array:
        """A uniform point in a uniform cell of ``cells`` [rows, cols] bool, CELL_MARGIN from
        its sides."""
        cell_key, offset_key = jax.random.split(key)
        allowed = cells.reshape(-1)
        cell = jax.random.choice(cell_key, allowed.size, p=allowed / allowed.sum())
        row, col = jnp.divmod(cell, cells.shape[1])
        offset = jax.random.uniform(offset_key, (2,), minval=CELL_MARGIN, maxval=1.0 - CELL_MARGIN)
        return jnp.stack([col, row]).astype(jnp.float32) + offset

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why the point ``goal`` (x, y) cannot be reached: outside the maze or inside a wall."""
        return wall_problem(self.walls, goal)

    def _point_apart_from(
        self, key: jax.Array, cells: jax.Array, other: jax.Array, threshold: jax.Array
    ) -> jax.Array:
        """A uniform point of ``cells``, redrawn until it lies in another cell than ``other`` and
        beyond ``threshold`` from it; after ``APART_REDRAWS`` redraws too close, the corner of those
        cells farthest from ``other`` (which a threshold under ``largest_success_threshold``
        leaves apart from a goal), unless ``other`` fills them: a one-cell goal region with the
        start in it, which ``reset`` then moves."""

        def redraw(carry):
            point, draw_key, count = carry
            draw_key, sub = jax.random.split(draw_key)
            return self._random_point_in(sub, cells), draw_key, count + 1

        def too_close(carry):
            point, _, count = carry
            return _too_close(point, other, threshold) & (count < APART_REDRAWS)

        key, first = jax.random.split(key)
        point, _, _ = jax.lax.while_loop(
            too_close, redraw, (self._random_point_in(first, cells), key, 0)
        )
        farthest, found = _farthest_corner(cells, other)
        return jnp.where(_too_close(point, other, threshold) & found, farthest, point)

    def reset(self, key: jax.Array, params: PointMazeParams) -> EnvState:
        """Draw a start in any free cell and a goal in a different cell of the goal region,
        beyond the success threshold (an episode never starts at its goal)."""
        key, start_key, goal_key = jax.random.split(key, 3)
        threshold = params.success_threshold
        start = self._random_point_in(start_key, ~params.walls)
        goal = self._point_apart_from(goal_key, params.goal_cells, start, threshold)
        # A start inside a goal region too small to hold a goal apart from it (a one-cell region)
        # moves to another free cell instead; elsewhere this never happens, so draws are as before.
        col, row = jnp.floor(goal).astype(jnp.int32)
        other_cells = ~params.walls & ~jnp.zeros_like(params.walls).at[row, col].set(True)
        moved = self._point_apart_from(
            jax.random.fold_in(start_key, 1), other_cells, goal, threshold
        )
        start = jnp.where(_too_close(start, goal, threshold), moved, start)
        metrics = goal_metrics(start, goal, threshold)
        return make_state(start, start, goal, key, metrics)

    def step(self, state: EnvState, action: jax.Array, params: PointMazeParams) -> EnvState:
        """Move by ``clip(action) * max_step``, sliding along walls."""
        position = state.physics
        move = jnp.clip(action, -1.0, 1.0) * self.max_step

        def blocked(point):
            col = jnp.floor(point[0]).astype(jnp.int32)
            row = jnp.floor(point[1]).astype(jnp.int32)
            rows, cols = params.walls.shape
            outside = (row < 0) | (row >= rows) | (col < 0) | (col >= cols)
            return outside | params.walls[jnp.clip(row, 0, rows - 1), jnp.clip(col, 0, cols - 1)]

        moved_x = position.at[0].add(move[0])
        position = jnp.where(blocked(moved_x), position, moved_x)
        moved_y = position.at[1].add(move[1])
        position = jnp.where(blocked(moved_y), position, moved_y)

        metrics = goal_metrics(position, state.goal, params.success_threshold)
        return advance(state, position, position, metrics, self.dense_reward)

    def render(self, state: EnvState, params: PointMazeParams, pixels_per_cell: int | None = None):
        """Draw walls (grey), the goal (red disc with its threshold) and the point (blue).

        A goal region smaller than the free space is tinted light yellow. Cells are 32 pixels
        wide, fewer in mazes wider than 20 cells (frames at most 640 pixels wide, 4 per cell at
        least).
        """
        walls = np.asarray(params.walls)
        goal_cells = np.asarray(params.goal_cells)
        rows, cols = walls.shape
        if pixels_per_cell is None:
            pixels_per_cell = min(32, max(4, MAX_FRAME_PIXELS // max(rows, cols)))
        image = np.full((rows * pixels_per_cell, cols * pixels_per_cell, 3), 255, np.uint8)
        upscale = lambda cells: np.kron(cells, np.ones((pixels_per_cell, pixels_per_cell), bool))
        image[upscale(walls)] = (110, 110, 110)
        if (goal_cells != ~walls).any():
            image[upscale(goal_cells)] = (255, 245, 200)

        def draw_disc(centre, radius, colour):
            """Fill the pixels whose centres lie within ``radius`` (cells) of ``centre``."""
            x, y = np.asarray(centre, np.float64) * pixels_per_cell
            r = radius * pixels_per_cell
            y0, y1 = max(int(y - r), 0), min(int(y + r) + 1, image.shape[0])
            x0, x1 = max(int(x - r), 0), min(int(x + r) + 1, image.shape[1])
            ys, xs = np.mgrid[y0:y1, x0:x1]
            inside = (xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2 < r**2
            image[y0:y1, x0:x1][inside] = colour

        goal = np.asarray(state.goal)
        draw_disc(goal, float(params.success_threshold), (255, 200, 200))
        draw_disc(goal, 0.12, (220, 30, 30))
        draw_disc(np.asarray(state.physics), 0.15, (30, 60, 220))
        return image[::-1]  # row 0 of the grid at the bottom, y pointing up
