"""Config files: the presets in configs/, YAML files given to --config and a run's config.yaml.

Presets only override fields of TrainConfig and may ``extends:`` another; every value read from
YAML is converted to its option's type or refused with a message that names the option and file.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from jaxcrl.config import (
    FIELD_TYPES,
    ConfigError,
    TrainConfig,
    derived_sizes,
    merged_env_options,
)
from jaxcrl.files import replace_atomically

FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(TrainConfig))

# Options of a run's config.yaml that belong to that run alone: loaded as --config for a new run,
# they are left out, so the new run gets its own directory and is launched as its command says.
# (The rest of that file, derived sizes, env facts, devices and ``lengthened``, sits outside its
# ``config`` mapping; a lengthening's pinned eval_every is undone.)
RUN_ONLY_OPTIONS = ("run_dir", "progress", "distributed")


def available_presets() -> list[str]:
    """Names of the presets shipped in configs/."""
    folder = resources.files("jaxcrl.configs")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def describe_type(annotation: Any) -> str:
    """An option's type in words, for error messages."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else describe_type(a) for a in args)
    if origin is tuple:
        return f"a list (each item {describe_type(args[0])})"
    if origin is Literal:
        return "one of " + ", ".join(args)
    words = {
        bool: "true or false",
        int: "a whole number",
        float: "a finite number",
        str: "a string",
    }
    return words[annotation]


def _as_number(value: Any) -> float:
    """A finite float from a YAML number or numeric string (PyYAML reads 1e6 as a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def coerce(value: Any, annotation: Any) -> Any:
    """``value`` converted to an option's type; ValueError when it is not one.

    Whole-number options take ints and exactly integral floats or strings ("1e6"), number options
    ints, floats and numeric strings, true/false options only booleans, lists only lists.
    """
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return coerce(value, inner)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(value)
        return tuple(coerce(item, args[0]) for item in value)
    if annotation is str or origin is Literal:  # validate checks a Literal's choices
        if isinstance(value, str):
            return value
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = _as_number(value)
        if number.is_integer():
            return int(number)
    elif annotation is float:
        return _as_number(value)
    raise ValueError(value)


def _typed(options: dict[str, Any], source: str) -> dict[str, Any]:
    """``options`` with every value converted to its option's type, or a ConfigError naming it
    (``source``: how the file is named in messages)."""
    typed = {}
    for name, value in options.items():
        if name == "extends":
            typed[name] = value
            continue
        must_be = f"{source}: {name} must be {describe_type(FIELD_TYPES[name])}, got {value!r}"
        try:
            typed[name] = coerce(value, FIELD_TYPES[name])
        except ValueError:
            raise ConfigError(f"{must_be}; correct it there") from None
        choices = literal_choices(FIELD_TYPES[name])
        items = typed[name] if isinstance(typed[name], tuple) else (typed[name],)
        if choices and any(item not in choices for item in items):  # energy: L2
            raise ConfigError(f"{must_be}; correct it there")
        unnamed = [item for item in items if name == "sweep" and "=" not in item]
        if unnamed:  # sweep: [critic_lr=1e-4,3e-4] reads as two entries
            raise ConfigError(
                f"{source}: sweep entry {unnamed[0]!r} names no option: YAML splits an entry of a "
                "[...] list at its commas; quote each entry, e.g. sweep: ['critic_lr=1e-4,3e-4']"
            )
    return typed


def literal_choices(annotation: Any) -> tuple[str, ...] | None:
    """The values an option typed as a Literal (or a list of them) may take; None for others."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is tuple:
        return literal_choices(args[0])
    return args if origin is Literal else None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (it keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """The mapping of ``node``; ConstructorError naming a key it holds twice."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# What a run's config.yaml holds beside its options (``config:``), written by the run.
RUN_RECORD_KEYS = frozenset({"config", "derived", "env_info", "jax", "dataset_files", "lengthened"})


def _option_names(mapping: dict[Any, Any], source: str) -> dict[str, Any]:
    """``mapping`` with option names spelled as fields (``critic-lr`` is ``critic_lr``); a
    ConfigError names keys that are no option, with the closest option where one is near."""
    keys = [key for key in mapping if not isinstance(key, str)]
    if keys:
        raise ConfigError(f"{source}: {keys[0]!r} is not an option name; keys are option names")
    options = {key.replace("-", "_"): value for key, value in mapping.items()}
    if len(options) != len(mapping):
        raise ConfigError(f"{source}: an option is given twice (with - and with _)")
    unknown = sorted(set(options) - FIELD_NAMES - {"extends"})
    if unknown:
        near = difflib.get_close_matches(unknown[0], FIELD_NAMES, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ConfigError(f"{source}: unknown options {', '.join(unknown)}{hint}")
    return options


def _read_options(
    path_or_preset: str, _extended_by: tuple[str, ...] = (), source: str | None = None
) -> tuple[dict, bool]:
    """(typed options of a YAML file or preset, whether it is a run's config.yaml); ``source``
    names the file in messages (default: ``--config PATH``)."""
    source = source or f"--config {path_or_preset}"
    if _config_identity(path_or_preset) in map(_config_identity, _extended_by):
        chain = " -> ".join([*_extended_by, path_or_preset])
        raise ConfigError(
            f"--config {_extended_by[0]}: presets extend each other in a loop ({chain})"
        )
    path = Path(path_or_preset)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            why = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else error.strerror
            raise ConfigError(f"{source}: cannot be read ({why})") from None
    elif path_or_preset in available_presets():
        text = resources.files("jaxcrl.configs").joinpath(f"{path_or_preset}.yaml").read_text()
    else:
        raise ConfigError(_not_a_config(path_or_preset))
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as error:
        where = " ".join(str(error).split())  # PyYAML's message spans lines
        raise ConfigError(f"{source}: not valid YAML ({where})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping of option: value")
    is_run = isinstance(document.get("config"), dict)  # a run's config.yaml nests the options
    if is_run:  # an option added beside config: (the rest is what the run recorded)
        spelled = lambda key: key.replace("-", "_") if isinstance(key, str) else key
        outside = [key for key in document if spelled(key) in FIELD_NAMES]
        if outside:
            raise ConfigError(
                f"{source}: {outside[0]!r} is outside its config: mapping, where a run's "
                "config.yaml holds its options (the rest is what the run recorded); move it under "
                "config:"
            )
    overrides = _option_names(document["config"] if is_run else document, source)
    overrides = _typed(overrides, source)
    if "extends" in overrides:
        parent = _extended_file(str(overrides.pop("extends")), path_or_preset)
        base = read_overrides(parent, (*_extended_by, path_or_preset))
        overrides = extended(base, overrides, source)
    return overrides, is_run


def extended(base: dict[str, Any], own: dict[str, Any], source: str) -> dict[str, Any]:
    """The options of a file that ``extends:`` one with options ``base``: its ``own`` replace
    them, but env options add to the parent's as --env-options do to a preset's (one of the
    same name replaced); with another env, the parent's env options (its env's) are left out."""
    options = {**base, **own}
    base_env = base.get("env", TrainConfig().env)
    if own.get("env", base_env) != base_env:
        options["env_options"] = own.get("env_options", ())
    elif "env_options" in own:
        try:
            merged = merged_env_options(base.get("env_options", ()), own["env_options"])
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
        options["env_options"] = merged
    return options


def _not_a_config(path_or_preset: str) -> str:
    """Why ``--config path_or_preset`` names nothing to read, and what would."""
    path = Path(path_or_preset)
    presets = available_presets()
    if path.is_dir() and (path / "config.yaml").is_file():
        hint = f"; a run directory's options are in {path / 'config.yaml'}"
    elif path.is_dir():
        hint = "; it is a directory"
    elif path.stem in presets and path.suffix.lower() in (".yaml", ".yml"):
        hint = f"; the preset is named without its suffix: --config {path.stem}"
    elif path.suffix.lower() in (".yaml", ".yml"):
        hint = ": no such file"
    else:
        near = difflib.get_close_matches(path_or_preset, presets, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
    return (
        f"--config {path_or_preset!r} is neither a YAML file nor a preset{hint}; presets: "
        f"{', '.join(presets)}"
    )


def _config_identity(path_or_preset: str) -> str:
    """What a --config names, one spelling per file (``a/../a/b.yaml`` is ``a/b.yaml``)."""
    path = Path(path_or_preset)
    return str(path.resolve()) if path.suffix in (".yaml", ".yml") and path.is_file() else str(path)


def _extended_file(parent: str, child: str) -> str:
    """What ``extends: parent`` in ``child`` names: a preset, or a YAML path taken beside
    ``child`` first, then from the working directory; a ConfigError names ``child`` otherwise."""
    if parent in available_presets():
        return parent
    beside = Path(child).parent / parent
    if Path(child).is_file() and not Path(parent).is_absolute() and beside.is_file():
        return str(beside)
    if Path(parent).suffix in (".yaml", ".yml") and Path(parent).is_file():
        return parent
    raise ConfigError(
        f"--config {child}: extends {parent!r}, which is neither a YAML file (beside it or in "
        f"the working directory) nor a preset; presets: {', '.join(available_presets())}"
    )


def read_overrides(path_or_preset: str, _extended_by: tuple[str, ...] = ()) -> dict[str, Any]:
    """Field overrides from a YAML file path or the name of a shipped preset.

    ``extends: OTHER`` (a preset name or YAML path) starts from OTHER's options, which the file's
    own options then override. A run's config.yaml gives its options without those of that run
    alone (its run_dir), so that a new run started from it gets a directory of its own.
    """
    overrides, is_run = _read_options(path_or_preset, _extended_by)
    if is_run:
        overrides = {k: v for k, v in overrides.items() if k not in RUN_ONLY_OPTIONS}
        document = yaml.safe_load(Path(path_or_preset).read_text(encoding="utf-8"))
        lengthened = document.get("lengthened") or []
        pinned = lengthened[-1].get("eval_every", [None, None])[-1] if lengthened else None
        if lengthened and overrides.get("eval_every") == pinned:
            # The spacing a lengthening pinned (not one edited in the file since): the new run's
            # length sets its own.
            overrides["eval_every"] = lengthened[0].get("eval_every", [None])[0]
    return overrides


def recorded_run_dir(path_or_preset: str) -> str | None:
    """The run_dir that a run's config.yaml records, which a new run from it leaves behind;
    None for a preset or another file."""
    options, is_run = _read_options(path_or_preset)
    return options.get("run_dir") if is_run else None


def config_from_overrides(overrides: dict[str, Any]) -> TrainConfig:
    """A TrainConfig with the defaults replaced by ``overrides``."""
    # YAML has no tuples: sequences come back as lists.
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(TrainConfig(), **overrides)


def write_config(config: TrainConfig, path: Path, extra: dict[str, Any]) -> None:
    """Write the resolved configuration plus derived sizes (and anything in ``extra``)."""
    document = {"config": config.to_dict(), "derived": derived_sizes(config), **extra}
    with replace_atomically(path) as stream:  # lengthening a run rewrites it in place
        stream.write(yaml.safe_dump(document, sort_keys=False))


def read_run_config(run_dir: Path) -> TrainConfig:
    """The configuration a run directory was trained with (its run_dir included)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        checkpoints = Path(run_dir) / "checkpoints"
        if checkpoints.is_dir() and any(entry.name.isdigit() for entry in checkpoints.iterdir()):
            raise ConfigError(
                f"{path} is missing, though {run_dir} holds checkpoints: they need the options "
                "it records; put it back from a copy of the run (nothing was changed)"
            )
        raise ConfigError(f"{run_dir} is not a jaxcrl run directory: it has no config.yaml")
    return config_from_overrides(_read_options(str(path), source=str(path))[0])
