"""Registry of jaxcrl's goal-reaching environments: ``make_env(name, **overrides)``.

Each entry maps a name to a factory and a one-line description. Factories import their module
lazily so that the pure-JAX tasks load without touching MuJoCo.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from jaxcrl.envs.base import DISTANCE, SUCCESS, EnvState, GoalEnv, reset_batch, step_batch


class EnvEntry(NamedTuple):
    """How to build one registered environment."""

    module: str  # module under jaxcrl.envs that defines the class
    class_name: str
    kwargs: dict[str, Any]  # fixed constructor arguments for this name
    description: str


_REGISTRY: dict[str, EnvEntry] = {}


def register(name: str, module: str, class_name: str, description: str, **kwargs: Any) -> None:
    """Add an environment under ``name``; ``kwargs`` are fixed constructor arguments."""
    if name in _REGISTRY:
        raise ValueError(f"environment {name!r} is registered twice")
    _REGISTRY[name] = EnvEntry(module, class_name, kwargs, description)


def registered_envs() -> dict[str, str]:
    """Names of all registered environments with their one-line descriptions."""
    return {name: entry.description for name, entry in sorted(_REGISTRY.items())}


def make_env(name: str, **overrides: Any) -> GoalEnv:
    """Build the environment registered as ``name``; ``overrides`` go to its constructor."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown env {name!r}; registered envs: {', '.join(sorted(_REGISTRY))}")
    entry = _REGISTRY[name]
    env_class: Callable[..., GoalEnv] = getattr(
        importlib.import_module(f"jaxcrl.envs.{entry.module}"), entry.class_name
    )
    env = env_class(**{**entry.kwargs, **overrides})
    env.name = name
    return env


for _layout, _text in {
    "open": "open 5x5 arena",
    "u_maze": "U-shaped corridor",
    "medium": "8x8 maze",
    "large": "9x12 maze",
}.items():
    register(
        f"point_{_layout}",
        "point_maze",
        "PointMaze",
        f"2-D point mass, {_text} (pure JAX)",
        layout=_layout,
    )

__all__ = [
    "DISTANCE",
    "SUCCESS",
    "EnvState",
    "GoalEnv",
    "make_env",
    "register",
    "registered_envs",
    "reset_batch",
    "step_batch",
]

# MuJoCo MJX tasks (envs/reacher.py, envs/ant.py); more ant mazes are one line each, e.g.
# register("ant_large", "ant", "AntMaze", "...", layout="large").
register("reacher", "reacher", "Reacher", "2-link planar arm, fingertip to a target (MJX)")
register("ant", "ant", "Ant", "quadruped on flat ground, torso to a goal 10 m away (MJX)")
register(
    "ant_u_maze", "ant", "AntMaze", "quadruped in a U-maze of 4 m cells (MJX)", layout="u_maze"
)
