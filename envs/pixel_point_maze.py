"""The point maze seen through a camera: states and goals are RGB images, drawn in pure JAX.

The CRL paper's image-based setting: the agent observes pixels only, and its goal is an image of
the state to reach (the maze with the point drawn at the goal position). Walls, moves, episode
length and success come from ``PointMaze``; success and distance are still measured on the hidden
positions, which the state keeps next to the image.

The camera looks straight down on the whole maze: ``image_size`` x ``image_size`` pixels (64 by
default, the size of the paper's and OGBench's image tasks), walls grey, free floor white and the
point a blue disc of ``point_radius`` cells. No goal marker is drawn: the goal image shows where
the point should be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.base import SUCCESS, EnvState, GoalEnv, advance, goal_metrics, make_state
from jaxcrl.envs.point_maze import PointMaze, PointMazeParams

FLOOR = (255, 255, 255)
WALL = (110, 110, 110)
POINT = (30, 60, 220)


# The largest point the images draw, in cells: its disc fits within one cell.
MAX_POINT_RADIUS = 0.5
# A larger image holds a buffer of a few thousand steps in gigabytes (3 MB per 1024-pixel image).
MAX_IMAGE_SIZE = 1024


@struct.dataclass
class PixelPointPhysics:
    """The hidden positions behind the images."""

    position: jax.Array  # [2] the point, in cell units
    goal_position: jax.Array  # [2] where the goal image shows the point


class PixelPointMaze(GoalEnv):
    """Navigate a point to the position shown by a goal image, seeing only images."""

    def __init__(
        self,
        layout: str = "open",
        image_size: int = 64,
        point_radius: float = 0.3,
        episode_length: int | None = None,
        max_step: float = 0.25,
        success_threshold: float = 0.5,
        dense_reward: bool = False,
    ):
        if not 8 <= image_size <= MAX_IMAGE_SIZE:
            raise ValueError(
                f"image_size must lie in [8, {MAX_IMAGE_SIZE}] pixels, got {image_size}"
            )
        self.maze = PointMaze(layout, episode_length, max_step, success_threshold, dense_reward)
        rows, cols = self.maze.walls.shape
        if point_radius > MAX_POINT_RADIUS:  # a larger disc hides where in its cell it is
            raise ValueError(
                f"point_radius must be at most {MAX_POINT_RADIUS} cells (the disc within one "
                f"cell; default 0.3), got {point_radius}: a disc of {point_radius} cells covers "
                "its neighbours, and at the maze's size every image is the same"
            )
        # A disc covers a pixel when it holds the pixel's centre: one of radius r < sqrt(2) / 2
        # pixels can fall between four centres and vanish from the image.
        if point_radius * image_size / max(rows, cols) < math.sqrt(0.5):
            raise ValueError(
                f"a point of radius {point_radius} cells is under 0.71 pixels in a "
                f"{image_size}-pixel image of the {rows}x{cols} {layout!r} maze; raise "
                "image_size or point_radius"
            )
        self.layout = layout
        self.image_size = int(image_size)
        self.point_radius = float(point_radius)
        self.episode_length = self.maze.episode_length
        self.name = f"{self.maze.name}_pixels"
        self.image_shape = (self.image_size, self.image_size, 3)
        self.state_size = self.image_size * self.image_size * 3
        self.goal_indices = tuple(range(self.state_size))
        self.action_size = 2
        # Pixel centres in maze coordinates (cell units, y up): image row 0 is the maze's top.
        centres = (np.arange(self.image_size) + 0.5) / self.image_size
        self._pixel_x = (centres * cols).astype(np.float32)  # [W]
        self._pixel_y = ((1.0 - centres) * rows).astype(np.float32)  # [H]
        self._pixel_col = np.floor(self._pixel_x).astype(np.int32)
        self._pixel_row = np.floor(self._pixel_y).astype(np.int32)

    def default_params(self) -> PointMazeParams:
        """The point maze's wall grid, goal region and success threshold."""
        return self.maze.default_params()

    def draw(self, position: jax.Array, params: PointMazeParams) -> jax.Array:
        """The flattened uint8 image [H * W * 3] of the maze with the point at ``position``."""
        wall = params.walls[self._pixel_row[:, None], self._pixel_col[None, :]]  # [H, W]
        floor = jnp.where(wall[..., None], jnp.array(WALL), jnp.array(FLOOR))  # [H, W, 3]
        dx = self._pixel_x[None, :] - position[0]
        dy = self._pixel_y[:, None] - position[1]
        inside = dx**2 + dy**2 < self.point_radius**2  # [H, W]
        image = jnp.where(inside[..., None], jnp.array(POINT), floor)
        return image.astype(jnp.uint8).reshape(-1)

    def _as_point_state(self, state: EnvState) -> EnvState:
        """The same episode as the state of a (position-observing) PointMaze."""
        physics = state.physics
        return state.replace(
            physics=physics.position,
            goal=physics.goal_position,
            obs=jnp.concatenate([physics.position, physics.goal_position]),
        )

    def reset(self, key: jax.Array, params: PointMazeParams) -> EnvState:
        """The point maze's new start and goal, both drawn as images."""
        point = self.maze.reset(key, params)
        physics = PixelPointPhysics(position=point.physics, goal_position=point.goal)
        return make_state(
            physics,
            self.draw(point.physics, params),
            self.draw(point.goal, params),
            point.key,
            point.metrics,
        )

    def step(self, state: EnvState, action: jax.Array, params: PointMazeParams) -> EnvState:
        """Move the point as the point maze does and draw the new image."""
        moved = self.maze.step(self._as_point_state(state), action, params)
        physics = state.physics.replace(position=moved.physics)
        image = self.draw(moved.physics, params)
        return advance(state, physics, image, moved.metrics, self.maze.dense_reward)

    @property
    def goal_argument_size(self) -> int:
        """``with_goal`` (eval.py --goal) takes the goal position (x, y), not an image."""
        return 2

    @property
    def goal_argument_meaning(self) -> str:
        """What ``with_goal``'s numbers are, for error messages."""
        return "a position (x, y), drawn as the goal image"

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why the position ``goal`` (x, y), drawn as the goal image, cannot be reached."""
        return self.maze.goal_problem(goal)

    def with_goal(self, state: EnvState, goal: jax.Array) -> EnvState:
        """Pursue the goal position ``goal`` [2] (x, y): its image becomes the goal."""
        goal = jnp.asarray(goal, jnp.float32)
        if goal.shape != (2,):
            raise ValueError(
                f"{self.name} takes a goal position (x, y), not an array of shape {goal.shape}"
            )
        physics = state.physics.replace(goal_position=goal)
        image = self.draw(goal, self.default_params())  # drawn in the env's own layout
        state = state.replace(physics=physics)
        return GoalEnv.with_goal(self, state, image)

    def adopt_goal(self, state: EnvState, fresh: EnvState) -> EnvState:
        """Pursue ``fresh``'s goal: its image and the hidden position behind it."""
        physics = state.physics.replace(goal_position=fresh.physics.goal_position)
        return GoalEnv.adopt_goal(self, state.replace(physics=physics), fresh)

    def goal_reached(self, state: EnvState, params: PointMazeParams) -> jax.Array:
        """Whether the hidden position is within the success threshold of the hidden goal."""
        physics = state.physics
        metrics = goal_metrics(physics.position, physics.goal_position, params.success_threshold)
        return metrics[SUCCESS] > 0

    def render(self, state: EnvState, params: PointMazeParams, pixels_per_cell: int = 32):
        """The point maze's picture (goal disc included) of the hidden positions."""
        return self.maze.render(self._as_point_state(state), params, pixels_per_cell)
