"""An environment of your own, trained without changing jaxcrl: ``python train.py --env
examples.corridor:Corridor`` (from the repository's root, or with this folder's parent on
PYTHONPATH).

A point on the square [-1, 1]^2 moves toward a goal drawn in the same square. Everything a task
needs is here: static sizes, a params pytree with the success threshold, and pure ``reset`` and
``step`` that report the ``distance`` and ``success`` metrics. Constructor arguments are the
task's ``--env-options`` (``--env-options speed=0.1``), recorded in config.yaml with the name.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs import EnvState, GoalEnv
from jaxcrl.envs.base import advance, goal_metrics, make_state


@struct.dataclass
class CorridorParams:
    """The task's constants: a pytree, so one program can vmap over them."""

    success_threshold: float = 0.2


class Corridor(GoalEnv):
    """A point on [-1, 1]^2 to a random goal; the state is its position, the goal names both
    entries."""

    state_size = 2
    goal_indices = (0, 1)
    action_size = 2

    def __init__(self, episode_length: int = 20, speed: float = 0.2):
        if not 0 < speed <= 1:
            raise ValueError(f"speed must be in (0, 1] (square widths a step), got {speed}")
        self.episode_length = episode_length
        self.speed = speed

    def default_params(self) -> CorridorParams:
        """The default threshold (0.2, a tenth of the square's side)."""
        return CorridorParams()

    def reset(self, key: jax.Array, params: CorridorParams) -> EnvState:
        """A new random start and goal; ``key``'s successor stays with the copy."""
        key, start_key, goal_key = jax.random.split(key, 3)
        start = jax.random.uniform(start_key, (2,), minval=-1.0, maxval=1.0)
        goal = jax.random.uniform(goal_key, (2,), minval=-1.0, maxval=1.0)
        metrics = goal_metrics(start, goal, params.success_threshold)
        return make_state(start, start, goal, key, metrics)  # the position is the physics

    def step(self, state: EnvState, action: jax.Array, params: CorridorParams) -> EnvState:
        """Move ``speed`` x action, stopped at the square's sides; reward = success."""
        position = jnp.clip(state.physics + self.speed * action, -1.0, 1.0)
        metrics = goal_metrics(position, state.goal, params.success_threshold)
        return advance(state, position, position, metrics, dense_reward=False)

    def render(self, state: EnvState, params: CorridorParams) -> np.ndarray:
        """A 64x64 picture: the point white, the goal red (what eval.py --video draws)."""
        image = np.zeros((64, 64, 3), np.uint8)
        for where, colour in ((state.goal, (255, 0, 0)), (state.physics, (255, 255, 255))):
            column, row = np.clip(((np.asarray(where) + 1) * 32).astype(int), 2, 61)
            image[63 - row - 2 : 63 - row + 3, column - 2 : column + 3] = colour
        return image
