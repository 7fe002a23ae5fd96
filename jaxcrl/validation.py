"""Validation of a training config: once, before anything compiles, one line per problem.

Each problem is reported as a ConfigError naming the option and the fix; ``check_env_fit`` returns
the one warning that depends on the env (a buffer ring shorter than an episode).
"""

from __future__ import annotations

import inspect
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np

from jaxcrl.config import (
    FIELD_TYPES,
    ConfigError,
    TrainConfig,
    buffer_capacity_per_env,
    option_name,
    parse_env_options,
    parse_sweep,
    prefill_iterations,
    single_agent_config,
    steps_per_iteration,
    sweep_points,
    training_iterations,
    updates_per_iteration,
    values_label,
)
from jaxcrl.config_files import coerce, describe_type
from jaxcrl.dataset import (
    dataset_file_problem,
    read_source,
    split_usable_anchors,
    validation_path,
)
from jaxcrl.envs.mazes import layout_map, layout_rows
from jaxcrl.envs.ogbench_envs import ogbench_env_ids
from jaxcrl.envs.own_envs import unknown_env_problem
from jaxcrl.networks import RESIDUAL_BLOCK_DEPTH

# The largest discount below 1 in float32: anything nearer 1 rounds to 1, for which the geometric
# offset law has no normalisation (every goal became the next step).
LARGEST_GOAL_DISCOUNT = float(np.nextafter(np.float32(1), np.float32(0)))
# Envs count an episode's steps in int32 (EnvState.step_count).
MAX_EPISODE_LENGTH = 2**31 - 1


def check_episode_length(value: Any, flag: str) -> None:
    """Raise ConfigError unless an episode-length override (None: the env's own) is a whole
    number (an int, or a float such as 1e3 that env options turn into one) in [2, 2^31 - 1]."""
    if value is None:
        return
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 2:
        raise ConfigError(
            f"{flag} must be a whole number of at least 2 steps (a goal needs a later step), "
            f"got {value!r}"
        )
    if value > MAX_EPISODE_LENGTH:
        raise ConfigError(
            f"{flag} must be at most {MAX_EPISODE_LENGTH} (2^31 - 1: envs count steps in 32 "
            f"bits), got {int(value)}"
        )


def check_option_types(config: TrainConfig) -> None:
    """Raise ConfigError naming the first option whose value is not of its type, or not finite.

    The CLI and config files convert what they read; a config built in Python is taken as given,
    so ``total_env_steps=1e6`` (a float) or ``critic_lr="3e-4"`` are refused here by name.
    """
    for name, annotation in FIELD_TYPES.items():
        value = getattr(config, name)
        problem = f"--{name.replace('_', '-')} must be {describe_type(annotation)}, got {value!r}"
        try:
            converted = coerce(value, annotation)
        except ValueError:
            raise ConfigError(problem) from None
        same_type = type(converted) is type(value) or isinstance(converted, float)
        if converted != value or not same_type:  # it converts: say what to pass instead
            raise ConfigError(f"{problem} ({type(value).__name__}); pass {converted!r}")


# The allowed values of every option typed as a Literal (energy, contrastive_loss, actor_goals, ...).
CHOICES: dict[str, tuple[str, ...]] = {
    name: get_args(annotation)
    for name, annotation in FIELD_TYPES.items()
    if get_origin(annotation) is Literal
}


def validate(
    config: TrainConfig,
    registered_envs: dict[str, str] | None = None,
    dataset_must_exist: bool = True,
) -> None:
    """Raise ConfigError with one line naming the first bad option and how to fix it.

    ``dataset_must_exist=False`` accepts a --dataset path that is gone (evaluating a finished
    offline run needs its policy, not its data).
    """
    flag = lambda name: "--" + name.replace("_", "-")
    check_option_types(config)
    problem = None if registered_envs is None else unknown_env_problem(config.env, registered_envs)
    if problem is not None:
        raise ConfigError(problem)
    env_options = parse_env_options(config.env_options)
    check_episode_length(env_options.get("episode_length"), "--env-options episode_length")
    positive = [
        "total_env_steps",
        "num_envs",
        "unroll_length",
        "batch_size",
        "buffer_size",
        "num_evals",
        "eval_episodes",
        "keep_checkpoints",
        "repr_dim",
        "hidden_width",
        "cnn_features",
    ]
    for name in positive:
        value = getattr(config, name)
        if value <= 0:
            raise ConfigError(f"{flag(name)} must be a positive integer, got {value}")
    if config.energy == "cosine" and config.repr_dim < 2:
        raise ConfigError(
            "--energy cosine needs --repr-dim 2 or more: a 1-D representation's direction is "
            "+1 or -1, so every logit would be +-1/temperature and the critic could not learn"
        )
    if not config.cnn_channels or min(config.cnn_channels) <= 0:
        channels = " ".join(map(str, config.cnn_channels))
        raise ConfigError(f"--cnn-channels must be one or more positive integers, got {channels}")
    for name in ["num_seeds", "num_updates"]:
        if getattr(config, name) <= 0:
            raise ConfigError(
                f"{flag(name)} must be a positive integer, got {getattr(config, name)}"
            )
    if config.num_updates >= 2**31:  # an offline run counts its gradient steps in int32
        raise ConfigError(
            f"--num-updates {config.num_updates} exceeds the 2^31 - 1 gradient steps that a "
            "run's 32-bit step counter holds; give at most 2147483647"
        )
    if config.checkpoint_every is not None and config.checkpoint_every <= 0:
        raise ConfigError(
            f"--checkpoint-every must be a positive integer (iterations), got {config.checkpoint_every}"
        )
    if not 0 <= config.bc_weight <= 1:
        raise ConfigError(f"--bc-weight must lie in [0, 1], got {config.bc_weight}")
    if config.bc_alpha < 0:
        raise ConfigError(f"--bc-alpha must be >= 0, got {config.bc_alpha}")
    parse_sweep(config.sweep)
    unknown_loggers = [kind for kind in config.loggers if kind not in ("tensorboard", "wandb")]
    if unknown_loggers:
        raise ConfigError(
            f"unknown --loggers {', '.join(unknown_loggers)}; choose from tensorboard, wandb "
            "(metrics.jsonl and metrics.csv are always written)"
        )
    twice = sorted({kind for kind in config.loggers if config.loggers.count(kind) > 1})
    if twice:
        raise ConfigError(f"--loggers names {', '.join(twice)} twice; give each logger once")
    if not 0 <= config.seed <= 2**32 - config.num_seeds:
        raise ConfigError(
            f"--seed must lie in [0, {2**32 - config.num_seeds}] (with --num-seeds "
            f"{config.num_seeds}), got {config.seed}: JAX keys take 32-bit seeds, and others "
            "would repeat another seed's key"
        )
    if config.distributed and not config.run_dir:
        raise ConfigError(
            "--distributed needs --run-dir: every process writes the same run directory, so name "
            "one that all hosts reach (each would otherwise name its own after its clock)"
        )
    problem = None if config.dataset is None else dataset_file_problem(config.dataset)
    if dataset_must_exist and problem is not None:
        if not Path(config.dataset).exists() and config.env in ogbench_env_ids():
            from jaxcrl.ogbench_data import how_to_get_data  # it reads this module

            problem += f"; to get it, {how_to_get_data(config.env, config.dataset)}"
        raise ConfigError(f"--dataset {config.dataset}: {problem}")
    for name in ["prefill_steps", "hidden_depth"]:
        if getattr(config, name) < 0:
            raise ConfigError(f"{flag(name)} must be >= 0, got {getattr(config, name)}")
    if config.eval_every is not None and config.eval_every <= 0:
        raise ConfigError(f"--eval-every must be a positive integer, got {config.eval_every}")
    if config.update_to_data_ratio <= 0:
        raise ConfigError(
            f"--update-to-data-ratio must be > 0 (gradient steps per env step), "
            f"got {config.update_to_data_ratio}"
        )
    for name in ["critic_lr", "actor_lr", "alpha_lr", "energy_temperature"]:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{flag(name)} must be > 0, got {getattr(config, name)}")
    if not 0 < config.goal_discount < 1:
        raise ConfigError(f"--goal-discount must lie in (0, 1), got {config.goal_discount}")
    if np.float32(config.goal_discount) == 1:  # trained in float32, where it would be 1
        raise ConfigError(
            f"--goal-discount {config.goal_discount} is 1 in the 32-bit floats it trains in; "
            f"give at most {LARGEST_GOAL_DISCOUNT:.8f}"
        )
    if not 0 <= config.random_goal_probability <= 1:
        raise ConfigError(
            f"--random-goal-probability must lie in [0, 1], got {config.random_goal_probability}"
        )
    if config.logsumexp_penalty < 0 or config.alpha < 0:
        bad = "logsumexp_penalty" if config.logsumexp_penalty < 0 else "alpha"
        raise ConfigError(f"{flag(bad)} must be >= 0, got {getattr(config, bad)}")
    if config.alpha_mode == "auto" and config.alpha <= 0:
        raise ConfigError("--alpha must be > 0 with --alpha-mode auto (it is the initial value)")
    if config.deterministic_actor and config.actor_objective != "ddpg_bc":
        raise ConfigError(
            "--deterministic-actor needs --actor-objective ddpg_bc (the other objectives train "
            f"the stochastic policy), got --actor-objective {config.actor_objective}"
        )
    for name, choices in CHOICES.items():  # a YAML preset bypasses the CLI's own check
        if getattr(config, name) not in choices:
            raise ConfigError(
                f"unknown {flag(name)} {getattr(config, name)!r}; choose from {', '.join(choices)}"
            )
    if config.residual and (
        config.hidden_depth == 0 or config.hidden_depth % RESIDUAL_BLOCK_DEPTH != 0
    ):
        raise ConfigError(
            f"--hidden-depth must be a positive multiple of {RESIDUAL_BLOCK_DEPTH} with --residual, "
            f"got {config.hidden_depth}"
        )
    if config.residual and not (config.layer_norm and config.actor_layer_norm):
        fix = "drop --no-actor-layer-norm" if config.layer_norm else "add --layer-norm"
        raise ConfigError(
            "--residual needs LayerNorm in every network (each layer of a residual block "
            f"normalises, as in Wang et al. 2025); {fix}"
        )
    if config.dataset is None:  # an offline run has no buffer, prefill or env-step budget
        _validate_collection(config)
    if config.sweep:
        _validate_members(config, registered_envs, dataset_must_exist)


# An online run leaves --num-updates at its default: it counts an offline run's gradient steps.
DEFAULT_NUM_UPDATES = TrainConfig.__dataclass_fields__["num_updates"].default


# Options that shape how an online run collects data: a --dataset run collects none.
ONLINE_ONLY_OPTIONS = (
    "total_env_steps",
    "num_envs",
    "unroll_length",
    "update_to_data_ratio",
    "buffer_size",
    "prefill_steps",
    "redraw_goal_on_success",
)


def unused_settings(config: TrainConfig) -> dict[str, str]:
    """The options ``config`` sets away from their defaults that its run would not use, each
    with why: an offline run's collection options, --num-evals beside --eval-every, a BC weight
    or entropy option its objective ignores, the hidden layers' options without hidden layers,
    and an option --sweep also varies."""
    defaults = TrainConfig()
    changed = lambda name: getattr(config, name) != getattr(defaults, name)
    unused = {}
    if config.dataset is not None:
        for name in filter(changed, ONLINE_ONLY_OPTIONS):
            unused[name] = (
                "it shapes how an online run collects data; a --dataset run collects none and "
                "trains for --num-updates gradient steps"
            )
    if config.dataset is not None and changed("checkpoint_buffer"):
        unused["checkpoint_buffer"] = (
            "a --dataset run's checkpoints never hold its data (the dataset file is its buffer)"
        )
    if config.eval_every is not None and changed("num_evals"):
        unused["num_evals"] = "--eval-every sets when evaluations run"
    objective_options = (
        "bc_weight",
        "bc_alpha",
        "alpha_mode",
        "alpha",
        "target_entropy",
        "alpha_lr",
    )
    for name in filter(changed, objective_options):
        why = swept_option_unused_because(config, name)
        if why:
            unused[name] = why
    if config.hidden_depth == 0:  # (--residual refuses depth 0) each network: one Dense layer
        hidden = ("hidden_width", "activation", "layer_norm", "actor_layer_norm")
        for name in filter(changed, (*hidden, "layer_norm_position")):
            unused[name] = "it shapes the hidden layers, and --hidden-depth 0 leaves none"
    elif not config.layer_norm:
        for name in filter(changed, ("actor_layer_norm", "layer_norm_position")):
            unused[name] = "it places the LayerNorm that --layer-norm adds, and this run has none"
    for name in filter(changed, parse_sweep(config.sweep)):
        unused[name] = "--sweep also varies it and gives each member its value"
    return unused


def refuse_new_run_mistakes(config: TrainConfig) -> None:
    """Raise ConfigError on what a new run may not set, though runs that set it before it was
    refused still resume and evaluate: a batch of one row, and unused options."""
    if config.batch_size < 2:
        raise ConfigError(
            f"--batch-size must be at least 2, got {config.batch_size}: the other rows of a batch "
            "are each row's negatives, and one row has none to tell its goal from"
        )
    refuse_unused_settings(config)


def refuse_unused_settings(config: TrainConfig) -> None:
    """Raise ConfigError when a new run sets an option it would not use (``unused_settings``):
    its config.yaml would record a value that changed nothing."""
    for name, why in unused_settings(config).items():  # the first one
        option, default = "--" + name.replace("_", "-"), getattr(TrainConfig(), name)
        raise ConfigError(
            f"{option} is set to {getattr(config, name)!r}, which this run would not use: {why}; "
            f"leave it at its default ({default!r})"
        )


def _validate_collection(config: TrainConfig) -> None:
    """Raise ConfigError when an online run's buffer, prefill or length cannot work."""
    if config.num_updates != DEFAULT_NUM_UPDATES:  # e.g. an offline preset without its data
        raise ConfigError(
            f"--num-updates {config.num_updates} sets the length of an offline run, which needs "
            "--dataset PATH.npz (the offline presets set it too); an online run's length is "
            "--total-env-steps: give --dataset, or drop --num-updates"
        )
    capacity = buffer_capacity_per_env(config)
    steps_per_env = max(capacity, math.ceil(config.total_env_steps / config.num_envs))
    if steps_per_env >= 2**31:
        raise ConfigError(
            f"{steps_per_env} steps per env copy (buffer slots or env steps) exceed the 2^31 that "
            "its 32-bit step counters hold; raise --num-envs, or lower --buffer-size or "
            "--total-env-steps"
        )
    if capacity < 2 * config.unroll_length:
        raise ConfigError(
            f"--buffer-size {config.buffer_size} leaves {config.buffer_size // config.num_envs} "
            f"steps per env, fewer than two unrolls of {config.unroll_length}; raise --buffer-size "
            f"to at least {2 * config.unroll_length * config.num_envs} or lower --num-envs"
        )
    stored_after_prefill = min(capacity, prefill_iterations(config) * config.unroll_length)
    if config.batch_size > capacity * config.num_envs:
        raise ConfigError(
            f"--batch-size {config.batch_size} is larger than the buffer holds "
            f"({capacity * config.num_envs} transitions); lower --batch-size or raise --buffer-size"
        )
    if stored_after_prefill < config.unroll_length:
        raise ConfigError("--prefill-steps must cover at least one unroll of every env copy")
    if training_iterations(config) < 1:
        needed = (prefill_iterations(config) + 1) * steps_per_iteration(config)
        raise ConfigError(
            f"--total-env-steps {config.total_env_steps} leaves no training iteration after the "
            f"prefill; raise it to at least {needed} or lower --prefill-steps"
        )


def swept_option_unused_because(config: TrainConfig, name: str) -> str | None:
    """Why the swept option ``name`` cannot change what ``config`` trains (None: it can)."""
    entropy_term = config.actor_objective != "ddpg_bc"
    if name == "bc_weight" and config.actor_objective != "bc_mix":
        return "it weighs the BC term of --actor-objective bc_mix only"
    if name == "bc_alpha" and config.actor_objective != "ddpg_bc":
        return "it weighs the BC term of --actor-objective ddpg_bc only"
    if name in ("alpha_mode", "alpha") and not entropy_term:
        return "it sets the entropy term, which --actor-objective ddpg_bc does not have"
    if name in ("target_entropy", "alpha_lr") and not (
        config.alpha_mode == "auto" and entropy_term
    ):
        return (
            "alpha is tuned only with --alpha-mode auto and an actor objective other than ddpg_bc"
        )
    return None


def _validate_members(
    config: TrainConfig, registered_envs: dict[str, str] | None, dataset_must_exist: bool
) -> None:
    """Validate the configuration of every member of a sweep, naming the swept value at fault."""
    grid = parse_sweep(config.sweep)
    for name in grid:
        why = swept_option_unused_because(config, name)
        if why:
            raise ConfigError(
                f"--sweep {name}: its members would all train alike, since {why}; sweep "
                "another option or change the objective"
            )
    # Each value alone first, so that the message names one value; then every combination,
    # which is what the members train with.
    alone = [{name: value} for name, values in grid.items() for value in values]
    for point in alone + sweep_points(grid):
        try:
            validate(single_agent_config(config, point), registered_envs, dataset_must_exist)
        except ConfigError as error:
            raise ConfigError(f"--sweep {values_label(point)}: {error}") from None


def check_update_ratio(config: TrainConfig) -> str | None:
    """A warning when an online run's whole gradient steps per iteration make its update-to-data
    ratio more than a quarter off the one asked for (None otherwise)."""
    if config.dataset is not None:
        return None
    steps, updates = steps_per_iteration(config), updates_per_iteration(config)
    ratio = updates / steps
    if 0.8 <= ratio / config.update_to_data_ratio <= 1.25:
        return None
    return (
        f"--update-to-data-ratio {config.update_to_data_ratio:g} gives {updates} gradient "
        f"step(s) per iteration of {steps} env steps (--num-envs x --unroll-length), a ratio of "
        f"{ratio:g}; pick a ratio whose product with {steps} is near a whole number"
    )


def check_env_fit(config: TrainConfig, episode_length: int) -> str | None:
    """A warning when each env's buffer ring is shorter than one episode (None when it is not).

    Nothing here is impossible (validate already refuses rings under two unrolls), but a goal is
    a later step of the same episode still in the ring, so a short ring cuts every future off at
    its write head: the critic never sees goals further ahead than the ring is long.
    """
    capacity = buffer_capacity_per_env(config)
    if config.dataset is not None or capacity >= episode_length:
        return None
    unrolls = math.ceil(episode_length / config.unroll_length)
    needed = unrolls * config.unroll_length * config.num_envs
    return (
        f"the buffer keeps {capacity} steps per env, fewer than one episode of {episode_length} "
        f"steps, so future goals reach at most {capacity - 1} steps ahead; raise --buffer-size "
        f"to at least {needed}"
    )


# Env options that do not change what a collected step means: the collector may cut episodes
# at another length than the run evaluates, and a run may evaluate fewer of OGBench's tasks.
SOURCE_INDEPENDENT_OPTIONS = ("episode_length", "num_tasks")


def check_dataset_source(config: TrainConfig) -> str | None:
    """A warning when an offline run's dataset (its train split, else its ``-val`` split) says
    it was collected in another env, or with other env options, than the run evaluates in
    (None when both agree or do not say)."""
    if config.dataset is None:
        return None
    val = validation_path(config.dataset)
    splits = [Path(config.dataset)] + ([val] if val.is_file() else [])
    for split in splits:
        difference = source_difference(split, config.env, config.env_options)
        if difference is not None:
            what, fix = difference
            return (
                f"dataset {split} was collected {what}; training goes on, but its states and "
                f"goals may not match the env it is evaluated in (give {fix} if that is not meant)"
            )
    return None


def check_validation_split(config: TrainConfig) -> str | None:
    """A warning when an offline run's ``-val`` split has fewer steps with a future goal than a
    batch holds, so that every validation batch repeats steps (None otherwise)."""
    val = None if config.dataset is None else validation_path(config.dataset)
    if val is None or not val.is_file():
        return None
    anchors = split_usable_anchors(val)
    if anchors >= config.batch_size:
        return None
    return (
        f"the validation split {val} has {anchors} steps with a future goal, fewer than "
        f"--batch-size {config.batch_size}: every val/ batch repeats steps, so the val/ "
        "accuracy is not comparable with the training one; collect more --val-episodes"
    )


def world_options(specs: Sequence[str], env: str | None = None) -> dict[str, Any]:
    """The env options ``specs`` that shape the env's world, as a dataset's source compares them:
    values parsed, over env ``env``'s own defaults when given (an option set to its default
    is the same world as one left out), a maze's ``layout`` as its checked map (however its rows
    were written), and the options a collector may set alone (``SOURCE_INDEPENDENT_OPTIONS``)
    left out."""
    options = parse_env_options(tuple(specs))
    if env is not None:
        from jaxcrl.envs import env_argument_defaults, fixed_arguments

        defaults = {
            name: value
            for name, value in env_argument_defaults(env).items()
            if value is not inspect.Parameter.empty
        }
        options = {**defaults, **fixed_arguments(env), **options}
    # A range given as [0.2, 1.0] is the default (0.2, 1.0).
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    if isinstance(options.get("layout"), str):
        try:
            options["layout"] = layout_rows(layout_map(options["layout"]))
        except ValueError:  # not a maze this process knows: compared as written
            pass
    return {k: v for k, v in options.items() if k not in SOURCE_INDEPENDENT_OPTIONS}


def _env_kind(name: str) -> tuple[str, str] | None:
    """(module, class) that env ``name`` is built by; None for a name this process cannot find
    (a maze another process registered)."""
    from jaxcrl.envs import env_kind

    try:
        return env_kind(name)
    except (KeyError, ValueError):
        return None


def source_difference(
    split: Path | str, env: str, env_options: Sequence[str]
) -> tuple[str, str] | None:
    """How dataset file ``split`` was collected otherwise than in ``env`` with ``env_options``:
    (what differs, "in ENV, not in --env ..." or "with env options ...", and the flags that
    would match it); None when both agree or the file does not say."""
    source = read_source(split)
    if source is None:
        return None
    # Envs of one kind (one class) are compared by every argument they build with, so names that
    # differ only in the arguments they fix are one world (point_maze_custom with layout=u_maze
    # is point_u_maze).
    kind = _env_kind(env)
    one_kind = kind is not None and _env_kind(source["env"]) == kind
    try:
        collected = world_options(source["env_options"], source["env"] if one_kind else None)
        run = world_options(env_options, env if one_kind else None)
    except ConfigError:  # a hand-edited record: it says nothing this run can check
        return None
    if one_kind and collected == run:
        return None
    if source["env"] != env:
        shaping = [
            spec
            for spec in source["env_options"]
            if option_name(spec.partition("=")[0]) not in SOURCE_INDEPENDENT_OPTIONS
        ]
        options = " ".join(shlex.quote(spec) for spec in shaping)
        fix = f"--env {source['env']}" + (f" --env-options {options}" if options else "")
        return f"in {source['env']}, not in --env {env}", fix
    changed = sorted(name for name in {*collected, *run} if collected.get(name) != run.get(name))
    shown = lambda options: {name: options.get(name) for name in changed}
    return f"with env options {shown(collected)}, not {shown(run)}", "the same --env-options"
