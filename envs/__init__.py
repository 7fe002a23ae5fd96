"""Registry of jaxcrl's goal-reaching environments: ``make_env(name, **overrides)``.

Each entry maps a name to a factory and a one-line description. Factories import their module
lazily so that the pure-JAX tasks load without touching MuJoCo.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import yaml

from jaxcrl.envs.base import (
    DISTANCE,
    SUCCESS,
    EnvState,
    GoalEnv,
    import_starting_renderer,
    redraw_reached_goals,
    reset_batch,
    step_batch,
)
from jaxcrl.envs.mazes import LAYOUTS, add_layout, layout_option
from jaxcrl.envs.ogbench_envs import ogbench_env_ids
from jaxcrl.envs.own_envs import env_import_path, own_env_class

# Mazes that ship with jaxcrl, and so exist in every process (register_maze adds others).
BUILTIN_LAYOUTS = frozenset(LAYOUTS)


class EnvEntry(NamedTuple):
    """How to build one registered environment."""

    module: str  # module under jaxcrl.envs that defines the class (external: any module)
    class_name: str
    kwargs: dict[str, Any]  # fixed constructor arguments for this name
    description: str
    external: bool = False  # named by its import path, MODULE:CLASS, not registered


_REGISTRY: dict[str, EnvEntry] = {}


def register(name: str, module: str, class_name: str, description: str, **kwargs: Any) -> None:
    """Add an environment under ``name``; ``kwargs`` are fixed constructor arguments."""
    if name in _REGISTRY:
        raise ValueError(f"environment {name!r} is registered twice")
    if ":" in name:  # MODULE:CLASS names an env by its import path
        raise ValueError(f"environment name {name!r} has a colon; pick a name without one")
    _REGISTRY[name] = EnvEntry(module, class_name, kwargs, description)


def registered_envs() -> dict[str, str]:
    """Names of all registered environments with their one-line descriptions."""
    return {name: entry.description for name, entry in sorted(_REGISTRY.items())}


def _env_entry(name: str) -> EnvEntry:
    """How env ``name`` is built; KeyError naming the registered envs when it is not known."""
    import_path = env_import_path(name) if name not in _REGISTRY else None
    if import_path is not None:
        module, class_name = import_path
        return EnvEntry(module, class_name, {}, f"{class_name} from {module}", external=True)
    if name not in _REGISTRY:
        raise KeyError(
            f"unknown env {name!r}; registered envs: {', '.join(sorted(_REGISTRY))}. (A maze "
            "added by register_maze exists only in the process that added it; a run rebuilt "
            "elsewhere needs point_, ant_ or humanoid_maze_custom with the map as --env-options "
            "layout=..., see jaxcrl.envs.portable_env.)"
        )
    return _REGISTRY[name]


def _env_class(name: str) -> Callable[..., GoalEnv]:
    """The class registered as ``name``, or named by its import path (imports its module)."""
    entry = _env_entry(name)
    if not entry.external:
        module = import_starting_renderer(f"jaxcrl.envs.{entry.module}")
        return getattr(module, entry.class_name)
    return own_env_class(entry.module, entry.class_name)


def env_arguments(name: str) -> tuple[str, ...]:
    """Constructor arguments of env ``name``, following ``**kwargs`` to the base classes."""
    return tuple(env_argument_defaults(name))


def _env_arguments(name: str) -> dict[str, inspect.Parameter]:
    """Constructor parameters of env ``name`` by name, following ``**kwargs`` to the bases,
    less the class's ``internal_arguments`` (those it or its subclasses set themselves)."""
    env_class = _env_class(name)
    internal = set(getattr(env_class, "internal_arguments", ()))
    found: dict[str, inspect.Parameter] = {}
    for cls in inspect.getmro(env_class):
        if "__init__" not in vars(cls):
            continue
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in internal:
                found.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return found


def env_argument_defaults(name: str) -> dict[str, Any]:
    """Constructor arguments of env ``name`` with their defaults (``inspect.Parameter.empty``
    where there is none), following ``**kwargs`` to the base classes."""
    return {arg: p.default for arg, p in _env_arguments(name).items()}


def whole_number_arguments(name: str) -> set[str]:
    """Constructor arguments of env ``name`` that are counts or sizes (annotated ``int``)."""
    counts = (int, "int", "int | None")
    return {arg for arg, p in _env_arguments(name).items() if p.annotation in counts}


def fixed_arguments(name: str) -> dict[str, Any]:
    """The constructor arguments that env ``name`` is registered with (its maze, for one)."""
    return dict(_env_entry(name).kwargs)


def sibling_env(name: str, **arguments: Any) -> str | None:
    """The registered env built like env ``name`` but with ``arguments`` among its fixed
    constructor arguments (``sibling_env("pusher_easy", kind="hard")`` is pusher_hard)."""
    entry = _env_entry(name)
    wanted = {**entry.kwargs, **arguments}
    for other, candidate in sorted(_REGISTRY.items()):
        same_class = (candidate.module, candidate.class_name) == (entry.module, entry.class_name)
        if same_class and candidate.kwargs == wanted:
            return other
    return None


def env_kind(name: str) -> tuple[str, str]:
    """(module, class) that env ``name`` is built by: names of one kind differ only in the
    arguments they fix (point_u_maze is point_maze_custom with layout=u_maze)."""
    entry = _env_entry(name)
    return entry.module, entry.class_name


def custom_maze_env(name: str) -> str | None:
    """The ``*_maze_custom`` env of the maze family that env ``name`` belongs to (None: none)."""
    entry = _env_entry(name)
    return MAZE_FAMILIES.get((entry.module, entry.class_name))


def make_env(name: str, **overrides: Any) -> GoalEnv:
    """Build the environment registered as ``name``; ``overrides`` go to its constructor."""
    env_class = _env_class(name)
    env = env_class(**{**_env_entry(name).kwargs, **overrides})
    env.name = name
    return env


# The maze families: for each, the class every maze of it is built by and the name that takes any
# map as its ``layout`` option.
MAZE_FAMILIES = {
    ("point_maze", "PointMaze"): "point_maze_custom",
    ("ant", "AntMaze"): "ant_maze_custom",
    ("humanoid", "HumanoidMaze"): "humanoid_maze_custom",
}


def register_maze(
    name: str, ascii_map: str, description: str | None = None, replace: bool = False
) -> tuple[str, str, str]:
    """Add an ASCII maze (checked by mazes.add_layout); register ``point_``, ``ant_`` and
    ``humanoid_NAME``.

    ``#`` is a wall, ``.`` free, ``G`` the goal region (goals anywhere free without one). The first
    line of the map is row 0, the cell row nearest y = 0: with y pointing up, as in videos, the
    maze shows upside down, its first line at the bottom. The names live in this process only;
    ``portable_env(name)`` gives the ``*_maze_custom`` name and ``layout`` option that rebuild the
    same env from a run's config.yaml in any process (eval.py, --resume, --video, collect.py).
    ``replace`` redefines a maze this function added with another map (a notebook cell edited
    and run again); runs saved already keep the map they trained on.
    """
    env_names = (f"point_{name}", f"ant_{name}", f"humanoid_{name}")
    taken = [env_name for env_name in env_names if env_name in _REGISTRY]
    by_this_call = [_REGISTRY[env_name].kwargs.get("layout") == name for env_name in taken]
    if taken and not (len(taken) == len(env_names) and all(by_this_call)):
        raise ValueError(f"environment {taken[0]!r} is already registered; pick another maze name")
    rows, cols = add_layout(name, ascii_map, replace).shape  # the same map again: a cell rerun
    text = description or f"{rows}x{cols} maze {name!r}"
    builds = (
        ("point_maze", "PointMaze", f"2-D point mass, {text} (pure JAX)"),
        ("ant", "AntMaze", f"quadruped, {text}, 4 m cells (MJX)"),
        ("humanoid", "HumanoidMaze", f"humanoid, {text}, 2 m cells (MJX)"),
    )
    for env_name, (module, class_name, about) in zip(env_names, builds, strict=True):
        if taken:  # the same maze again, or redefined (its envs read the map when built)
            _REGISTRY[env_name] = _REGISTRY[env_name]._replace(description=about)
        else:
            register(env_name, module, class_name, about, layout=name)
    return env_names


def portable_env(name: str, env_options: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    """(env name, env options) that rebuild env ``name`` in any process, e.g. for TrainConfig.

    A maze added by ``register_maze`` (or any maze env whose layout is not built in) becomes its
    family's ``*_maze_custom`` env with the map as its ``layout`` option, which config.yaml
    records; so does a ``layout=NAME`` option naming such a maze. Any other env comes back
    unchanged. ``env_options`` are kept, after the layout.
    """
    entry = _env_entry(name)
    family = MAZE_FAMILIES.get((entry.module, entry.class_name))
    layout = entry.kwargs.get("layout")
    options = tuple(env_options)
    if family is None or layout in BUILTIN_LAYOUTS:
        return name, options
    if layout is None:  # a *_maze_custom env: its layout option names the maze
        return name, tuple(map(_portable_layout_option, options))
    if any(_option_name(spec) == "layout" for spec in options):
        return name, options  # a maze of its own and another in the options: the env refuses it
    return family, (layout_option(LAYOUTS.get(layout, layout)), *options)


def _option_name(spec: str) -> str:
    """The NAME of an env option ``NAME=VALUE``."""
    return spec.partition("=")[0].strip()


def _portable_layout_option(spec: str) -> str:
    """``spec`` with a ``layout`` that names a maze added in this process given as its map."""
    if _option_name(spec) != "layout":
        return spec
    try:
        value = yaml.safe_load(spec.partition("=")[2])
    except yaml.YAMLError:
        return spec  # the env's own checks name the problem
    if isinstance(value, str) and value in LAYOUTS and value not in BUILTIN_LAYOUTS:
        return layout_option(LAYOUTS[value])
    return spec


for _layout, _text in {
    "open": "open 5x5 arena",
    "u_maze": "U-shaped corridor",
    "medium": "8x8 maze (this project's own, not D4RL's medium)",
    "large": "9x12 maze (this project's own, not D4RL's large)",
    "big": "JaxGCRL's 8x8 big maze (D4RL's antmaze-medium map)",
    "hardest": "JaxGCRL's 9x12 hardest maze (D4RL's antmaze-large map)",
    "spiral": "11x11 spiral, goals at its centre (CRL's Spiral11x11)",
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
    "env_import_path",
    "layout_option",
    "make_env",
    "portable_env",
    "register",
    "register_maze",
    "registered_envs",
    "sibling_env",
    "reset_batch",
    "step_batch",
    "redraw_reached_goals",
]

# The CRL paper's image-based setting (envs/pixel_point_maze.py): the same mazes seen as images.
for _layout in ("open", "u_maze", "medium"):
    register(
        f"point_{_layout}_pixels",
        "pixel_point_maze",
        "PixelPointMaze",
        f"2-D point mass in the point_{_layout} maze, states and goals 64x64 RGB images (pure JAX)",
        layout=_layout,
    )

# MuJoCo MJX tasks (envs/reacher.py, envs/ant.py); more ant mazes are one line each, e.g.
# register("ant_large", "ant", "AntMaze", "...", layout="large").
register("reacher", "reacher", "Reacher", "2-link planar arm, fingertip to a target (MJX)")
register(
    "brax",
    "brax_goal",
    "BraxGoal",
    "any Brax env (--env-options brax_env=NAME), to goals on entries of its q (Brax)",
)
register("ant", "ant", "Ant", "quadruped on flat ground, torso to a goal 10 m away (MJX)")
register(
    "ant_u_maze", "ant", "AntMaze", "quadruped in a U-maze of 4 m cells (MJX)", layout="u_maze"
)
register(
    "ant_big_maze", "ant", "AntMaze", "quadruped in an 8x8 maze of 4 m cells (MJX)", layout="big"
)
register(
    "ant_hardest_maze",
    "ant",
    "AntMaze",
    "quadruped in a 9x12 winding maze of 4 m cells (MJX)",
    layout="hardest",
)

# More MJX robots (envs/half_cheetah.py, envs/pusher.py, envs/humanoid.py).
register(
    "half_cheetah",
    "half_cheetah",
    "HalfCheetah",
    "planar cheetah, torso x to a goal 5 m away (MJX)",
)
register(
    "pusher_easy", "pusher", "Pusher", "planar arm pushes a puck a short way (MJX)", kind="easy"
)
register(
    "pusher_hard",
    "pusher",
    "Pusher",
    "planar arm pushes a puck across a 1 m square (MJX)",
    kind="hard",
)
register("humanoid", "humanoid", "Humanoid", "humanoid walks its torso to a goal 1-5 m away (MJX)")
register(
    "humanoid_u_maze",
    "humanoid",
    "HumanoidMaze",
    "humanoid in a U-maze of 2 m cells (MJX)",
    layout="u_maze",
)
register(
    "humanoid_big_maze",
    "humanoid",
    "HumanoidMaze",
    "humanoid in an 8x8 maze of 2 m cells (MJX)",
    layout="big",
)
register(
    "humanoid_hardest_maze",
    "humanoid",
    "HumanoidMaze",
    "humanoid in a 9x12 winding maze of 2 m cells (MJX)",
    layout="hardest",
)

# Any maze as an env option, which config.yaml records (unlike a name added by register_maze):
# --env-options "layout='#####/#..G#/#####'", the map's rows joined by '/' and quoted for YAML.
# No default layout: without one the constructor says how to give it.
for (_module, _class), _name in MAZE_FAMILIES.items():
    _robot = {"point_maze": "2-D point mass", "ant": "quadruped", "humanoid": "humanoid"}[_module]
    register(
        _name, _module, _class, f"{_robot} in the maze of --env-options layout=MAP", layout=None
    )

# Ant with a movable object (envs/ant_objects.py): a ball to push to the goal, a block to move
# out of the way.
register("ant_soccer", "ant_objects", "AntSoccer", "quadruped pushes a ball to a goal (MJX)")
register(
    "ant_push",
    "ant_objects",
    "AntPush",
    "quadruped moves a block out of a gap to reach a goal behind a wall (MJX)",
)

# 7-DoF arm with a parallel gripper (envs/arm.py): the CRL paper's fetch and sawyer tasks.
register("arm_reach", "arm", "ArmReach", "7-DoF arm, gripper to a point in space (MJX)")
register(
    "arm_push_easy", "arm", "ArmPush", "7-DoF arm pushes a cube a short way (MJX)", kind="easy"
)
register(
    "arm_push_hard",
    "arm",
    "ArmPush",
    "7-DoF arm pushes a cube anywhere on the table (MJX)",
    kind="hard",
)
register(
    "arm_binpick_easy",
    "arm",
    "ArmBinPick",
    "7-DoF arm lifts a cube into a bin, cube starts by the bin (MJX)",
    kind="easy",
)
register(
    "arm_binpick_hard",
    "arm",
    "ArmBinPick",
    "7-DoF arm lifts a cube into a bin from anywhere on the table (MJX)",
    kind="hard",
)

# OGBench's own environments, for offline training on OGBench datasets; evaluated on the host with
# OGBench's five tasks (envs/ogbench_envs.py, jaxcrl/host_eval.py; needs the .[ogbench] extra).
for _env_id in ogbench_env_ids():
    register(
        _env_id,
        "ogbench_envs",
        "OgbenchEnv",
        f"OGBench's {_env_id} (offline datasets only; host evaluation, .[ogbench] extra)",
        env_id=_env_id,
    )
