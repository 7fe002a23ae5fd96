"""Typed training configuration, its validation, presets and YAML round trip.

One flat frozen dataclass: every option has a type, a default and a help string (the attribute
docstring, which the CLI shows). Presets in ``configs/NAME.yaml`` only override fields. Validation
runs once, before anything compiles, and each problem is one line naming the option and the fix.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import types
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import tyro
import yaml

from jaxcrl.losses import ContrastiveLoss, Energy
from jaxcrl.networks import RESIDUAL_BLOCK_DEPTH


class ConfigError(ValueError):
    """A configuration problem, reported to the user as one line."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of one CRL training run."""

    # --- run ---
    env: str = "point_open"
    """Environment name (see the list of registered envs in --help)."""
    seed: int = 0
    """Random seed: fixes networks, env starts and goals, and sampling."""
    run_dir: str | None = None
    """Directory for config.yaml, metrics.jsonl and checkpoints/ (default: runs/ENV-SEED-TIME)."""
    total_env_steps: int = 200_000
    """Environment steps to collect in total, random prefill included."""
    num_envs: int = 64
    """Parallel environment copies stepped together on the device."""
    unroll_length: int = 16
    """Steps each env copy takes per training iteration before the gradient steps."""
    update_to_data_ratio: float = 1 / 16
    """Gradient steps per env step; an iteration runs round(ratio * num_envs * unroll_length)."""
    batch_size: int = 256
    """Transitions per gradient step (the contrastive matrix is batch_size x batch_size)."""
    buffer_size: int = 100_000
    """Replay capacity in transitions over all env copies (each copy keeps buffer_size / num_envs)."""
    prefill_steps: int = 10_000
    """Environment steps taken with uniform random actions before training starts."""
    redraw_goal_on_success: bool = False
    """Collection: a copy that reaches its goal pursues a new one for the rest of its episode."""
    num_evals: int = 10
    """Evaluations spread evenly over the run (ignored when eval_every is set)."""
    eval_every: int | None = None
    """Training iterations between evaluations; the host syncs with the device only then."""
    eval_episodes: int = 128
    """Episodes per evaluation, run in parallel with the deterministic policy."""
    keep_checkpoints: int = 2
    """Checkpoints kept in run_dir/checkpoints (the newest ones; the final one is always kept)."""
    progress: bool = True
    """Show a progress bar with env steps, SPS, ETA and the last success rate."""
    checkpoint_every: int | None = None
    """Training iterations between checkpoints (default: at every evaluation)."""
    checkpoint_buffer: bool = True
    """Save the replay buffer and env states in checkpoints, so --resume continues exactly."""
    loggers: Annotated[
        tuple[Literal["tensorboard", "wandb"], ...], tyro.conf.arg(aliases=("--logger",))
    ] = ()
    """Extra loggers besides metrics.jsonl and metrics.csv (W&B runs offline unless WANDB_MODE says)."""
    num_seeds: int = 1
    """Independent agents trained together in one program (jax.vmap), with seeds seed, seed+1, ..."""
    distributed: bool = False
    """Join a multi-host run first (jax.distributed.initialize: TPU pods, multi-node GPU)."""
    sweep: tuple[str, ...] = ()
    """Scalar hyperparameters swept in the same program, e.g. critic_lr=1e-4,3e-4 (crossed with seeds)."""

    # --- environment ---
    dense_reward: bool = False
    """Reward -distance to the goal instead of the sparse success indicator (CRL ignores rewards)."""
    physics: Literal["jax", "warp"] = "jax"
    """MJX physics back end of the MuJoCo tasks: MJX's JAX code, or MuJoCo Warp (NVIDIA GPUs)."""
    env_options: tuple[str, ...] = ()
    """Env constructor arguments as NAME=VALUE (YAML values), e.g. goal_min_radius=1 goal_max_radius=5."""

    # --- critic ---
    repr_dim: int = 64
    """Size of the representations phi(s, a) and psi(g)."""
    hidden_width: int = 256
    """Width of every hidden layer (critic encoders and actor)."""
    hidden_depth: int = 2
    """Hidden layers per network; with --residual, the layers inside residual blocks (a multiple of 4)."""
    layer_norm: bool = False
    """LayerNorm after every hidden Dense layer."""
    residual: bool = False
    """Group hidden layers into residual blocks of 4 with an identity skip (deep networks)."""
    activation: Literal["swish", "relu", "gelu", "tanh"] = "swish"
    """Hidden-layer activation."""
    cnn_channels: tuple[int, ...] = (16, 32, 32)
    """Pixel envs only: channels of the CNN's stacks (each halves the image's height and width)."""
    cnn_features: int = 256
    """Pixel envs only: size of the CNN's output features, fed to each network's MLP."""
    energy: Energy = "l2"
    """Critic energy f = energy(phi(s, a), psi(g)); l2 is -||phi - psi||."""
    energy_temperature: float = 1.0
    """Temperature dividing the energy, any kind (OGBench's CRL: dot / sqrt(repr_dim))."""
    contrastive_loss: ContrastiveLoss = "forward_infonce"
    """Contrastive loss on the batch_size x batch_size logit matrix."""
    logsumexp_penalty: float = 0.1
    """Weight c of c * mean_i (logsumexp_j f_ij)^2."""
    goal_discount: float = 0.99
    """gamma of the geometric future-goal law P(k) ~ gamma^(k-1)."""
    critic_lr: float = 3e-4
    """Adam learning rate of the critic encoders."""

    # --- actor ---
    actor_lr: float = 3e-4
    """Adam learning rate of the policy."""
    alpha_mode: Literal["auto", "fixed"] = "auto"
    """Entropy coefficient: tuned towards target_entropy, or held at alpha (ddpg_bc has none)."""
    alpha: float = 1.0
    """Initial entropy coefficient (auto) or its constant value (fixed; 0 disables the entropy term)."""
    alpha_lr: float = 3e-4
    """Adam learning rate of log(alpha) when alpha_mode is auto."""
    target_entropy: float | None = None
    """Entropy target for auto alpha (default -0.5 * action_size)."""
    random_goal_probability: float = 0.0
    """Probability that the actor trains on another row's goal instead of the future goal."""
    actor_goals: Literal["geometric", "uniform"] = "geometric"
    """The actor's future goals: the critic's geometric ones (CRL), or a later step of the same
    episode drawn uniformly (OGBench's CRL actor)."""

    # --- offline ---
    dataset: str | None = None
    """An OGBench-layout .npz to train from offline (no env interaction; the env only evaluates)."""
    num_updates: int = 100_000
    """Gradient steps of an offline run (OGBench's reference runs take 1M)."""
    actor_objective: Literal["crl", "bc_mix", "ddpg_bc"] = "crl"
    """Actor loss: CRL's alone; the paper's offline mix with BC; or OGBench's DDPG+BC."""
    bc_weight: float = 0.05
    """bc_mix: loss = bc_weight * BC + (1 - bc_weight) * actor loss (the paper's 0.05)."""
    bc_alpha: float = 0.1
    """ddpg_bc: loss = -Q / stopgrad(mean |Q|) - bc_alpha * log pi(a_data) (OGBench: 0.003 to 3)."""
    deterministic_actor: bool = False
    """ddpg_bc: Q at the policy's mode tanh(mean) and BC as -0.5 * squared error to the data
    action, as OGBench's CRL with its constant unit std (no learned std to shrink under BC)."""
    twin_critics: bool = False
    """Train two critics and let the actor maximise their minimum (the paper's offline setting)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of every option."""
        return dataclasses.asdict(self)


# --- derived sizes --------------------------------------------------------------------------


def steps_per_iteration(config: TrainConfig) -> int:
    """Environment steps collected by one training iteration."""
    return config.num_envs * config.unroll_length


def updates_per_iteration(config: TrainConfig) -> int:
    """Gradient steps per iteration implied by the update-to-data ratio (at least 1)."""
    return max(1, round(config.update_to_data_ratio * steps_per_iteration(config)))


def buffer_capacity_per_env(config: TrainConfig) -> int:
    """Steps kept per env copy: buffer_size / num_envs, rounded down to whole unrolls."""
    per_env = config.buffer_size // config.num_envs
    return per_env - per_env % config.unroll_length


def prefill_iterations(config: TrainConfig) -> int:
    """Unrolls of random actions before training (covers at least prefill_steps env steps)."""
    return math.ceil(config.prefill_steps / steps_per_iteration(config))


def env_steps_after(config: TrainConfig, iteration: int) -> int:
    """Env steps taken per member once ``iteration`` training iterations follow the prefill."""
    return (prefill_iterations(config) + iteration) * steps_per_iteration(config)


def training_iterations(config: TrainConfig) -> int:
    """Training iterations that fit in total_env_steps after the prefill."""
    remaining = config.total_env_steps - prefill_iterations(config) * steps_per_iteration(config)
    return max(0, remaining // steps_per_iteration(config))


def iterations_per_eval(config: TrainConfig) -> int:
    """Training iterations between two evaluations."""
    if config.eval_every is not None:
        return config.eval_every
    return max(1, math.ceil(training_iterations(config) / config.num_evals))


def derived_sizes(config: TrainConfig) -> dict[str, int | float]:
    """The sizes the run actually uses, for config.yaml and the start-up line."""
    return {
        "steps_per_iteration": steps_per_iteration(config),
        "updates_per_iteration": updates_per_iteration(config),
        "buffer_capacity_per_env": buffer_capacity_per_env(config),
        "prefill_iterations": prefill_iterations(config),
        "training_iterations": training_iterations(config),
        "iterations_per_eval": iterations_per_eval(config),
    }


# --- sweeps ---------------------------------------------------------------------------------

# Options that may differ between members of one program (none of them changes a shape).
SWEEPABLE = (
    "critic_lr",
    "actor_lr",
    "alpha_lr",
    "logsumexp_penalty",
    "goal_discount",
    "target_entropy",
    "random_goal_probability",
    "bc_weight",
    "bc_alpha",
)


def parse_sweep(specs: tuple[str, ...]) -> dict[str, list[float]]:
    """``("critic_lr=1e-4,3e-4", ...)`` -> ``{"critic_lr": [1e-4, 3e-4]}``, refusing what cannot vary."""
    grid: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values.strip():
            raise ConfigError(f"--sweep {spec!r}: write NAME=V1,V2,... (e.g. critic_lr=1e-4,3e-4)")
        if name not in SWEEPABLE:
            known = {field.name for field in dataclasses.fields(TrainConfig)}
            why = "it changes array shapes or the program" if name in known else "unknown option"
            raise ConfigError(
                f"--sweep cannot vary {name!r} ({why}); sweepable: {', '.join(SWEEPABLE)}; "
                "run separate trainings for anything else"
            )
        if name in grid:
            raise ConfigError(f"--sweep names {name!r} twice; give all its values in one entry")
        try:
            grid[name] = [float(value) for value in values.split(",")]
        except ValueError:
            raise ConfigError(f"--sweep {spec!r}: values must be numbers") from None
    return grid


def sweep_points(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    """Every combination of swept values, in the order given (the last name varies fastest)."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def single_agent_config(
    config: TrainConfig, values: dict[str, float], seed: int | None = None
) -> TrainConfig:
    """``config`` as one agent with the swept ``values`` (and ``seed``, if given): no sweep, one seed."""
    seed = config.seed if seed is None else seed
    return dataclasses.replace(config, seed=seed, sweep=(), num_seeds=1, **values)


def _validate_members(
    config: TrainConfig, registered_envs: dict[str, str] | None, dataset_must_exist: bool
) -> None:
    """Validate the configuration of every member of a sweep, naming the swept value at fault."""
    grid = parse_sweep(config.sweep)
    # Each value alone first, so that the message names one value; then every combination,
    # which is what the members train with.
    alone = [{name: value} for name, values in grid.items() for value in values]
    for point in alone + sweep_points(grid):
        try:
            validate(single_agent_config(config, point), registered_envs, dataset_must_exist)
        except ConfigError as error:
            values = " ".join(f"{name}={value:g}" for name, value in point.items())
            raise ConfigError(f"--sweep {values}: {error}") from None


# --- env options ----------------------------------------------------------------------------

# Env arguments that have their own flag.
ENV_OPTION_FLAGS = {"dense_reward": "--dense-reward", "impl": "--physics"}


def parse_env_options(specs: tuple[str, ...]) -> dict[str, Any]:
    """``("motor_gear=75", ...)`` -> ``{"motor_gear": 75}``; each VALUE is read as YAML."""
    options: dict[str, Any] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name.isidentifier() or not text.strip():
            raise ConfigError(f"--env-options {spec!r}: write NAME=VALUE (e.g. motor_gear=75)")
        if name in ENV_OPTION_FLAGS:
            raise ConfigError(f"--env-options {spec!r}: use {ENV_OPTION_FLAGS[name]} instead")
        if name in options:
            raise ConfigError(f"--env-options names {name!r} twice; keep one value")
        try:
            options[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--env-options {spec!r}: VALUE is not a YAML value") from None
    return options


# --- validation -----------------------------------------------------------------------------


def check_episode_length(value: Any, flag: str) -> None:
    """Raise ConfigError unless an episode-length override (None: the env's own) is an int >= 2."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigError(
            f"{flag} must be a whole number of at least 2 steps (a goal needs a later step), "
            f"got {value!r}"
        )


# The allowed values of every option typed as a Literal (energy, contrastive_loss, actor_goals, ...).
CHOICES: dict[str, tuple[str, ...]] = {
    name: get_args(annotation)
    for name, annotation in get_type_hints(TrainConfig).items()
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
    if registered_envs is not None and config.env not in registered_envs:
        raise ConfigError(
            f"unknown env {config.env!r} for --env; choose one of: {', '.join(registered_envs)}"
        )
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
    if not config.cnn_channels or min(config.cnn_channels) <= 0:
        raise ConfigError(
            f"--cnn-channels must be one or more positive integers, got {config.cnn_channels}"
        )
    for name in ["num_seeds", "num_updates"]:
        if getattr(config, name) <= 0:
            raise ConfigError(
                f"{flag(name)} must be a positive integer, got {getattr(config, name)}"
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
    if dataset_must_exist and config.dataset is not None and not Path(config.dataset).is_file():
        raise ConfigError(f"--dataset {config.dataset}: no such file")
    if config.dataset is not None and config.redraw_goal_on_success:
        raise ConfigError(
            "--redraw-goal-on-success changes how online runs collect data; a --dataset run "
            "collects none, so drop it"
        )
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
    if config.residual and not config.layer_norm:
        raise ConfigError(
            "--residual needs --layer-norm (each residual block is Dense -> LayerNorm -> "
            "activation, as in Wang et al. 2025); add --layer-norm"
        )
    capacity = buffer_capacity_per_env(config)
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
    if config.sweep:
        _validate_members(config, registered_envs, dataset_must_exist)


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


# --- presets and YAML -----------------------------------------------------------------------

FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(TrainConfig))

# The type of every option (Annotated metadata dropped), to check what YAML gives against it.
FIELD_TYPES: dict[str, Any] = get_type_hints(TrainConfig)

# Options of a run's config.yaml that belong to that run alone: loaded as --config for a new run,
# they are left out, so the new run gets its own directory. (The rest of that file, derived sizes,
# env facts, devices and ``lengthened``, sits outside its ``config`` mapping and is never read.)
RUN_ONLY_OPTIONS = ("run_dir",)


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
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
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
    """``options`` with every value converted to its option's type, or a ConfigError naming it."""
    typed = {}
    for name, value in options.items():
        if name == "extends":
            typed[name] = value
            continue
        try:
            typed[name] = coerce(value, FIELD_TYPES[name])
        except ValueError:
            raise ConfigError(
                f"--config {source}: {name} must be {describe_type(FIELD_TYPES[name])}, "
                f"got {value!r}; correct it in {source}"
            ) from None
    return typed


def _read_options(path_or_preset: str, _extended_by: tuple[str, ...] = ()) -> tuple[dict, bool]:
    """(typed options of a YAML file or preset, whether it is a run's config.yaml)."""
    if path_or_preset in _extended_by:
        chain = " -> ".join([*_extended_by, path_or_preset])
        raise ConfigError(
            f"--config {_extended_by[0]}: presets extend each other in a loop ({chain})"
        )
    path = Path(path_or_preset)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text()
    elif path_or_preset in available_presets():
        text = resources.files("jaxcrl.configs").joinpath(f"{path_or_preset}.yaml").read_text()
    else:
        raise ConfigError(
            f"--config {path_or_preset!r} is neither a YAML file nor a preset; presets: "
            f"{', '.join(available_presets())}"
        )
    try:
        overrides = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"--config {path_or_preset}: not valid YAML ({error})") from None
    if not isinstance(overrides, dict):
        raise ConfigError(f"--config {path_or_preset}: expected a mapping of option: value")
    is_run = isinstance(overrides.get("config"), dict)  # a run's config.yaml nests the options
    overrides = overrides["config"] if is_run else overrides
    unknown = sorted(set(overrides) - FIELD_NAMES - {"extends"})
    if unknown:
        raise ConfigError(f"--config {path_or_preset}: unknown options {', '.join(unknown)}")
    overrides = _typed(overrides, path_or_preset)
    if "extends" in overrides:
        base = read_overrides(str(overrides.pop("extends")), (*_extended_by, path_or_preset))
        overrides = {**base, **overrides}
    return overrides, is_run


def read_overrides(path_or_preset: str, _extended_by: tuple[str, ...] = ()) -> dict[str, Any]:
    """Field overrides from a YAML file path or the name of a shipped preset.

    ``extends: OTHER`` (a preset name or YAML path) starts from OTHER's options, which the file's
    own options then override. A run's config.yaml gives its options without those of that run
    alone (its run_dir), so that a new run started from it gets a directory of its own.
    """
    overrides, is_run = _read_options(path_or_preset, _extended_by)
    if is_run:
        overrides = {k: v for k, v in overrides.items() if k not in RUN_ONLY_OPTIONS}
    return overrides


def config_from_overrides(overrides: dict[str, Any]) -> TrainConfig:
    """A TrainConfig with the defaults replaced by ``overrides``."""
    # YAML has no tuples: sequences come back as lists.
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(TrainConfig(), **overrides)


def write_config(config: TrainConfig, path: Path, extra: dict[str, Any]) -> None:
    """Write the resolved configuration plus derived sizes (and anything in ``extra``)."""
    document = {"config": config.to_dict(), "derived": derived_sizes(config), **extra}
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def read_run_config(run_dir: Path) -> TrainConfig:
    """The configuration a run directory was trained with (its run_dir included)."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise ConfigError(f"{run_dir} is not a jaxcrl run directory: it has no config.yaml")
    return config_from_overrides(_read_options(str(path))[0])
