"""Envs of one's own, named by their import path ``MODULE:CLASS`` instead of a registered name.

``--env mylab.envs:Corridor`` imports ``mylab.envs`` (the working directory searched first, as
``python -m`` does) and builds its ``Corridor``, a GoalEnv subclass. config.yaml records the name,
so every later process imports it the same way. ``contract_problem`` checks such an env's shapes
once, by tracing, so a mistake in it is one line rather than an error deep inside training.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp

from jaxcrl.envs.base import (
    DISTANCE,
    SUCCESS,
    GoalEnv,
    import_starting_renderer,
    is_whole_number,
)

# Folders of this checkout that install under jaxcrl, never as top-level names: a user's package
# named like one of them is hidden by it when a script of this checkout puts it on the path.
JAXCRL_FOLDERS = {
    "envs": Path(__file__).resolve().parent,
    "configs": Path(__file__).resolve().parents[1] / "configs",
}
IMPORTABLE = "install the package that holds it (pip install -e), run from the folder above it, "
IMPORTABLE += "or add that folder to PYTHONPATH"
# What every env sets (GoalEnv declares them without values).
SIZES = ("state_size", "goal_indices", "action_size", "episode_length")


def env_import_path(name: str) -> tuple[str, str] | None:
    """(module, class name) of an env named by its import path ``MODULE:CLASS`` (a GoalEnv
    subclass in a package of your own, e.g. ``mylab.envs:Corridor``); None for other names."""
    module, colon, class_name = name.partition(":")
    if not colon:
        return None
    words = [*module.split("."), class_name]
    if not all(word.isidentifier() for word in words):
        raise ValueError(
            f"--env {name}: an env named by its import path is MODULE:CLASS, dotted names of "
            "Python identifiers, e.g. mylab.envs:Corridor"
        )
    return module, class_name


def unknown_env_problem(name: str, known: Iterable[str], flag: str = "--env") -> str | None:
    """Why ``name`` (given with ``flag``) names no env: neither one of ``known`` nor a
    well-formed ``MODULE:CLASS`` (None when it names one; whether that module imports is found
    when the env is built)."""
    known = list(known)
    if name in known:
        return None
    try:
        import_path = env_import_path(name)
    except ValueError as error:
        return str(error)
    if import_path is not None:
        return None
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return (
        f"unknown env {name!r} for {flag}{hint}; choose one of: {', '.join(known)}; or "
        "MODULE:CLASS, a GoalEnv subclass of your own"
    )


def import_env_module(module_name: str) -> ModuleType:
    """Module ``module_name`` imported, the working directory searched first; ValueError naming
    the fix when it cannot be found or needs a package that is not installed."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    top = module_name.partition(".")[0]
    if top in JAXCRL_FOLDERS and top not in sys.modules:
        spec = importlib.util.find_spec(top)
        places = (
            [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
        )
        if JAXCRL_FOLDERS[top] in places:
            raise ValueError(
                f"cannot import {module_name}: {top} is jaxcrl's own {top}/ folder here (a script "
                f"of the checkout puts it first on the import path); give your {top}/ folder an "
                "__init__.py and run from the folder above it, rename it, or use jaxcrl-train"
            )
    try:
        return import_starting_renderer(module_name)
    except ModuleNotFoundError as error:
        missing = error.name
        if not missing or module_name == missing or module_name.startswith(missing + "."):
            raise ValueError(f"cannot import {module_name} ({error}); {IMPORTABLE}") from None
        if missing.partition(".")[0] == top:  # a module of the same package
            raise ValueError(
                f"cannot import {module_name}: it imports {missing}, which does not exist"
            ) from None
        raise ValueError(
            f"{module_name} imports {missing}, which is not installed here; install it"
        ) from None
    except ImportError as error:
        raise ValueError(f"cannot import {module_name} ({error}); {IMPORTABLE}") from None


def own_env_class(module_name: str, class_name: str) -> type[GoalEnv]:
    """The GoalEnv subclass ``class_name`` of module ``module_name`` (imported here)."""
    env_class = getattr(import_env_module(module_name), class_name, None)
    if env_class is None:
        raise ValueError(
            f"{module_name} has no {class_name}; name its GoalEnv subclass after the colon"
        )
    if not (isinstance(env_class, type) and issubclass(env_class, GoalEnv)):
        raise ValueError(
            f"{module_name}.{class_name} is not a subclass of jaxcrl.envs.GoalEnv; name the env "
            "class after the colon"
        )
    if inspect.isabstract(env_class):
        undefined = ", ".join(sorted(env_class.__abstractmethods__))
        raise ValueError(f"{module_name}.{class_name} does not define {undefined}; define them")
    return env_class


def sizes_problem(env: GoalEnv) -> str | None:
    """What is wrong with ``env``'s sizes as numbers (JAX would clamp a goal index past the state
    and read another entry; a float episode length ends training and evaluation episodes at
    different steps); None when nothing is."""
    for size in ("state_size", "action_size"):
        value = getattr(env, size)
        if not is_whole_number(value) or value < 1:
            return f"{size} must be a whole number of at least 1, got {value!r}"
    try:
        indices = list(env.goal_indices)
    except TypeError:
        indices = None
    if not indices or not all(is_whole_number(i) and 0 <= i < env.state_size for i in indices):
        return (
            f"goal_indices must list positions in the state, whole numbers in [0, state_size "
            f"{env.state_size}), got {env.goal_indices!r}"
        )
    if not is_whole_number(env.episode_length) or env.episode_length < 2:
        return (
            "episode_length must be a whole number of at least 2 steps (a goal needs a later "
            f"step), got {env.episode_length!r}"
        )
    return None


def contract_problem(env: GoalEnv, params: Any) -> str | None:
    """What breaks the env contract in ``env`` (sizes, obs, metrics, reset against step), found
    by tracing reset and step once without running them; None when nothing does."""
    missing = [size for size in SIZES if not hasattr(env, size)]
    if missing:
        return (
            f"{type(env).__name__} sets no {', '.join(missing)}; set each in the class or its "
            "__init__ (examples/corridor.py does)"
        )
    problem = sizes_problem(env)
    if problem is not None:
        return problem
    first = jax.eval_shape(env.reset, jax.random.PRNGKey(0), params)  # the key kind runs use
    wanted = {"obs": (env.observation_size,), "goal": (env.goal_size,)}
    for field, shape in wanted.items():
        if getattr(first, field).shape != shape:
            return (
                f"reset's {field} has shape {getattr(first, field).shape}, but state_size "
                f"{env.state_size} and goal_indices {list(env.goal_indices)} make it {shape}"
            )
    if not {DISTANCE, SUCCESS} <= set(first.metrics):
        return f"reset's metrics {sorted(first.metrics)} lack {DISTANCE!r} and {SUCCESS!r}"
    try:
        stepped = jax.eval_shape(env.step, first, jnp.zeros(env.action_size), params)
    except (TypeError, ValueError, IndexError) as error:  # shapes that do not fit together
        message = str(error).partition("\n")[0].rstrip(".")  # JAX's advice follows
        return (
            f"step fails on an action of shape ({env.action_size},) (action_size "
            f"{env.action_size}): {type(error).__name__}: {message}; make action_size "
            "the length of the action that step reads"
        )
    if jax.tree.structure(stepped) != jax.tree.structure(first):
        return (
            "step returns a state of another structure than reset's (its metrics' keys, say); "
            "both must return the same fields"
        )
    for (where, a), b in zip(
        jax.tree_util.tree_leaves_with_path(first), jax.tree.leaves(stepped), strict=True
    ):
        weak = getattr(a, "weak_type", False) or getattr(b, "weak_type", False)  # JAX promotes
        if a.shape != b.shape or (a.dtype != b.dtype and not weak):
            return (
                f"state{jax.tree_util.keystr(where)} is {a.dtype}{list(a.shape)} after reset but "
                f"{b.dtype}{list(b.shape)} after step; both must give the same shape and dtype"
            )
    return None
