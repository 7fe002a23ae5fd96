"""OGBench's own environments (CPU MuJoCo through gymnasium) as training targets of offline CRL.

An OGBench env does not run inside the compiled loop: it supplies the sizes that offline training
needs (state = OGBench's observation, goal = the whole observation, as OGBench's goal-conditioned
tasks define it) and is stepped on the host by ``jaxcrl.host_eval`` with OGBench's five
evaluation tasks and its success definition. Needs the optional extra: ``pip install -e
".[ogbench]"``.
"""

from __future__ import annotations

from typing import Any

import jax

from jaxcrl.envs.base import EnvState, GoalEnv

# OGBench env id -> (observation size, action size, episode length), read from ogbench 1.2.2.
OGBENCH_SIZES = {
    "pointmaze-medium-v0": (2, 2, 1000),
    "pointmaze-large-v0": (2, 2, 1000),
    "pointmaze-giant-v0": (2, 2, 1000),
    "cube-single-v0": (28, 5, 200),
    "cube-double-v0": (37, 5, 500),
    "scene-v0": (40, 5, 750),
    "puzzle-3x3-v0": (55, 5, 500),
}


def import_ogbench() -> Any:
    """The ``ogbench`` package, or an error that says how to install it."""
    try:
        import ogbench
    except ImportError as error:
        raise RuntimeError(
            f"OGBench environments need the ogbench package ({error}); install it with "
            'pip install -e ".[ogbench]"'
        ) from None
    return ogbench


class OgbenchEnv(GoalEnv):
    """Sizes of one OGBench env; its episodes run on the host (``host_evaluated``)."""

    host_evaluated = True

    def __init__(self, env_id: str, num_tasks: int = 5):
        if env_id not in OGBENCH_SIZES:
            raise ValueError(f"unknown OGBench env {env_id!r}; choose from {sorted(OGBENCH_SIZES)}")
        self.env_id = env_id
        self.name = env_id
        self.state_size, self.action_size, self.episode_length = OGBENCH_SIZES[env_id]
        self.goal_indices = tuple(range(self.state_size))
        self.num_tasks = num_tasks

    def default_params(self) -> tuple:
        """No task constants: OGBench keeps them inside its own env."""
        return ()

    def reset(self, key: jax.Array, params: Any) -> EnvState:
        """Not available on the device: OGBench envs run on the host."""
        raise NotImplementedError(f"{self.name} runs on the host (jaxcrl.host_eval), not in JAX")

    def step(self, state: EnvState, action: jax.Array, params: Any) -> EnvState:
        """Not available on the device: OGBench envs run on the host."""
        raise NotImplementedError(f"{self.name} runs on the host (jaxcrl.host_eval), not in JAX")

    def make(self, **kwargs: Any) -> Any:
        """A fresh gymnasium instance of this OGBench env (``kwargs`` go to gymnasium.make)."""
        import_ogbench()
        import gymnasium

        return gymnasium.make(self.env_id, **kwargs)
