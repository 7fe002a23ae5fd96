"""Typed training configuration: the options, the sizes they imply, sweeps and env options.

One flat frozen dataclass: every option has a type, a default and a help string (the attribute
docstring, which the CLI shows). ``validation.py`` checks a config before anything compiles;
``config_files.py`` reads presets and YAML files into one and writes a run's config.yaml.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
import shlex
import sys
import warnings
from typing import Annotated, Any, Literal, get_type_hints

import numpy as np
import tyro
import yaml

from jaxcrl.losses import ContrastiveLoss, Energy


class ConfigError(ValueError):
    """A configuration problem, reported to the user as one line."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (a library's may run over many), for a one-line
    report."""
    lines = str(error).splitlines()
    return lines[0] if lines else "no detail"


def warnings_in_one_line() -> None:
    """Show jaxcrl's own warnings as ``warning: MESSAGE`` lines, for the command lines (Python
    shows a file, a line number and a source line with each; others' warnings keep that)."""
    package = os.path.dirname(os.path.abspath(__file__))
    python_format = warnings.formatwarning

    def one_line(message, category, filename, lineno, line=None) -> str:
        if os.path.abspath(filename).startswith(package + os.sep):
            return f"warning: {message}\n"
        return python_format(message, category, filename, lineno, line)

    warnings.formatwarning = one_line


def command_name(script: str) -> str:
    """How messages name ``script`` (``train.py``, ``eval.py``, ``collect.py``): as its installed
    command (``jaxcrl-train``) when that command started this process."""
    installed = "jaxcrl-" + script.removesuffix(".py")
    return installed if os.path.basename(sys.argv[0]) == installed else script


TRAIN_COMMANDS = ("train.py", "jaxcrl-train")


def runs_train_command() -> bool:
    """Whether this process runs jaxcrl's training command (train.py or jaxcrl-train), whose
    main module calls ``jaxcrl.cli.train_main``: not a script of the user's that calls the
    Python API, whatever its name."""
    main = getattr(sys.modules.get("__main__"), "train_main", None)
    return getattr(main, "__module__", None) == "jaxcrl.cli"


def resume_elsewhere(run_dir: Any) -> str:
    """The training command that resumes ``run_dir``, for messages of the other commands: the
    train.py beside the script that runs (eval.py, collect.py) or in the working directory,
    else the installed ``jaxcrl-train``."""
    script = sys.argv[0] if sys.argv else ""
    beside = os.path.join(os.path.dirname(script), "train.py")
    if os.path.basename(script) in ("eval.py", "collect.py") and os.path.isfile(beside):
        return f"python {shlex.quote(beside)} --resume {run_dir}"
    if os.path.basename(script).startswith("jaxcrl-") or not os.path.isfile("train.py"):
        return f"jaxcrl-train --resume {run_dir}"
    return f"python train.py --resume {run_dir}"


def resume_command(run_dir: Any) -> str:
    """What continues the run in ``run_dir``: the training command that started this process, or
    the Python call where a notebook or script trains through the API."""
    launched_by = os.path.basename(sys.argv[0]) if sys.argv else ""
    if launched_by not in TRAIN_COMMANDS or not runs_train_command():
        return f"jaxcrl.run.resume({str(run_dir)!r})"
    if launched_by == "train.py":  # the script's path as given: it runs from this directory
        return f"python {shlex.quote(sys.argv[0])} --resume {run_dir}"
    return f"{launched_by} --resume {run_dir}"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of one CRL training run."""

    # --- run ---
    env: str = "point_open"
    """Environment name (see the list of registered envs in --help)."""
    seed: int = 0
    """Random seed: fixes networks, env starts and goals, and sampling."""
    run_dir: str | None = None
    """Directory for config.yaml, metrics.jsonl and checkpoints/; None: a new runs/ENV-sSEED-TIME."""
    total_env_steps: int = 200_000
    """Env steps to collect in total, random prefill included (rounded down to whole iterations)."""
    num_envs: int = 64
    """Parallel environment copies stepped together on the device."""
    unroll_length: int = 16
    """Steps each env copy takes per training iteration before the gradient steps."""
    update_to_data_ratio: float = 1 / 16
    """Gradient steps per env step; an iteration runs round(ratio * num_envs * unroll_length), >= 1."""
    batch_size: int = 256
    """Transitions per gradient step (the contrastive matrix is batch_size x batch_size)."""
    buffer_size: int = 100_000
    """Replay capacity in transitions over all env copies (each copy keeps buffer_size / num_envs)."""
    prefill_steps: int = 10_000
    """Env steps of uniform random actions before training (rounded up to whole iterations)."""
    redraw_goal_on_success: bool = False
    """Collection: a copy that reaches its goal pursues a new, unreached one until its episode ends."""
    num_evals: int = 10
    """Evaluations: one every ceil(iterations/num_evals) and at the end; no more, fewer if short."""
    eval_every: int | None = None
    """Training iterations between evaluations, when the host syncs with the device; None: num_evals."""
    eval_episodes: int = 128
    """Episodes per evaluation, run in parallel with the deterministic policy."""
    keep_checkpoints: int = 2
    """Checkpoints kept in run_dir/checkpoints (the newest ones; the final one is always kept)."""
    progress: bool = True
    """A progress bar of env steps, SPS, ETA and success (stderr no terminal: a line per evaluation)."""
    checkpoint_every: int | None = None
    """Training iterations between checkpoints; None: at every evaluation."""
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
    """Reward -distance to the goal, not success; CRL trains without rewards (see eval/return)."""
    physics: Literal["jax", "warp"] = "jax"
    """MJX physics back end of the MuJoCo tasks: MJX's JAX code, or MuJoCo Warp (NVIDIA GPUs)."""
    env_options: tuple[str, ...] = ()
    """Env constructor arguments as NAME=VALUE (YAML values); with --config, added to the preset's."""

    # --- critic ---
    repr_dim: int = 64
    """Size of the representations phi(s, a) and psi(g)."""
    hidden_width: int = 256
    """Width of every hidden layer (critic encoders and actor)."""
    hidden_depth: int = 2
    """Hidden layers per network; with --residual, the layers inside residual blocks (a multiple of 4)."""
    layer_norm: bool = False
    """LayerNorm in every hidden layer (critic encoders, and the actor unless --no-actor-layer-norm)."""
    actor_layer_norm: bool = True
    """With --layer-norm: the actor's hidden layers have it too (OGBench's CRL actor has none)."""
    layer_norm_position: Literal["before_activation", "after_activation"] = "before_activation"
    """With --layer-norm: Dense -> LayerNorm -> activation (Wang et al. 2025), or after it (OGBench)."""
    residual: bool = False
    """Group hidden layers into residual blocks of 4 with an identity skip (deep networks)."""
    activation: Literal["swish", "relu", "gelu", "tanh"] = "swish"
    """Hidden-layer activation."""
    cnn_channels: tuple[int, ...] = (16, 32, 32)
    """Pixel envs only: channels of the CNN's stacks, each halving height and width (to 1 pixel)."""
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
    """Entropy target for auto alpha; None: -0.5 * action_size."""
    random_goal_probability: float = 0.0
    """Probability that the actor trains on another row's goal instead of the future goal."""
    actor_goals: Literal["geometric", "uniform"] = "geometric"
    """Actor goals: the critic's geometric ones (CRL) or a uniform later step in the episode (OGBench)."""

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
    # OGBench's CRL actor has a constant unit std: under BC there is no learned std to shrink.
    deterministic_actor: bool = False
    """ddpg_bc: Q at the mode tanh(mean), BC as -0.5 * squared error (OGBench's CRL, unit std)."""
    twin_critics: bool = False
    """Train two critics and let the actor maximise their minimum (the paper's offline setting)."""

    def __post_init__(self) -> None:
        """Lists given for list options become tuples (a config stays hashable: jit keys on it),
        NumPy numbers (``np.logspace(...)[0]``) plain Python ones, as config.yaml holds them,
        and paths (``pathlib.Path``, ``~/...``) strings of the paths they name."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if field.name in ("run_dir", "dataset") and isinstance(value, str):
                value = os.path.expanduser(value)  # a YAML file's ~/runs, which no shell expands
            if isinstance(value, list):
                value = tuple(value)
            if isinstance(value, tuple):
                value = tuple(plain_number(item) for item in value)
            object.__setattr__(self, field.name, plain_number(value))

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of every option."""
        return dataclasses.asdict(self)


def plain_number(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (a float32 or float16 as the shortest
    decimal that reads back to it: np.float32(3e-4) is 0.0003, not 0.0003000000142492354);
    anything else as it is."""
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))
    return value.item() if isinstance(value, np.generic) else value


# The type of every option (Annotated metadata dropped): validation reads the choices of its
# Literal options, and config files check what YAML gives against it.
FIELD_TYPES: dict[str, Any] = get_type_hints(TrainConfig)


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


def loop_sizes(config: TrainConfig) -> tuple[int, int]:
    """(iterations of the whole run, iterations between evaluations); offline, one iteration is
    one gradient step."""
    if config.dataset is None:
        sizes = derived_sizes(config)
        return sizes["training_iterations"], sizes["iterations_per_eval"]
    every = config.eval_every or max(1, math.ceil(config.num_updates / config.num_evals))
    return config.num_updates, every


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
    if config.dataset is not None:  # no env steps or buffer; one iteration is one gradient step
        total, every = loop_sizes(config)
        return {"training_iterations": total, "iterations_per_eval": every}
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


def option_name(text: str) -> str:
    """An option's name as written in NAME=VALUE, in its field spelling (``motor-gear`` is
    ``motor_gear``)."""
    return text.strip().replace("-", "_")


def parse_sweep(specs: tuple[str, ...]) -> dict[str, list[float]]:
    """``("critic_lr=1e-4,3e-4", ...)`` -> ``{"critic_lr": [1e-4, 3e-4]}``, refusing what cannot vary."""
    grid: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = option_name(name)
        if not sep or not values.strip():
            raise ConfigError(f"--sweep {spec!r}: write NAME=V1,V2,... (e.g. critic_lr=1e-4,3e-4)")
        if name not in SWEEPABLE:
            known = {field.name for field in dataclasses.fields(TrainConfig)}
            if name == "seed":
                raise ConfigError(
                    "--sweep cannot vary 'seed': give --num-seeds N instead, which trains seeds "
                    "--seed to --seed + N - 1 in one program (beside a sweep too)"
                )
            why = (
                "it changes array shapes or the program"
                if name in known
                else "not a training option; an env option is set for a whole run with "
                "--env-options NAME=VALUE"
            )
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
        # The agents train in 32-bit floats: values that round to one float32 train alike.
        trained = [np.float32(value) for value in grid[name]]
        same = [v for v, t in zip(grid[name], trained, strict=True) if trained.count(t) > 1]
        if same:
            first = [v for v in same if np.float32(v) == np.float32(same[0])]
            a, b = plain_value(first[0]), plain_value(first[-1])
            listed = (
                f"{a} twice"
                if len(set(first)) == 1
                else f"{a} and {b}, which the 32-bit floats agents train with hold as one number"
            )
            raise ConfigError(
                f"--sweep {spec!r} lists {listed}; give each value once "
                "(--num-seeds sets how many agents train each)"
            )
    return grid


def values_label(values: dict[str, Any]) -> str:
    """``critic_lr=0.001 target_entropy=-1``: options and their values, whole floats without
    their ``.0`` (every other value as Python writes it, so distinct values stay distinct)."""
    return " ".join(f"{name}={plain_value(value)}" for name, value in values.items())


def plain_value(value: Any) -> str:
    """``value`` as Python writes it, a whole float without its ``.0`` (-1.0 -> -1)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


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


# --- env options ----------------------------------------------------------------------------

# Env arguments that have their own flag.
ENV_OPTION_FLAGS = {"dense_reward": "--dense-reward", "impl": "--physics"}


def merged_env_options(preset: tuple[str, ...], given: tuple[str, ...]) -> tuple[str, ...]:
    """A preset's env options with those given on the command line replacing same-named ones
    (``motor-gear`` names ``motor_gear``); a name given twice on the command line is refused."""
    parse_env_options(given)  # refuses a name given twice, in any spelling
    name = lambda spec: option_name(spec.partition("=")[0])
    given_names = {name(spec) for spec in given}
    return tuple(spec for spec in preset if name(spec) not in given_names) + tuple(given)


# A number as written on a command line: PyYAML, which reads YAML 1.1, takes 5e-1 for a string.
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
WHOLE_NUMBER = re.compile(r"[-+]?\d+")


def parse_env_options(specs: tuple[str, ...]) -> dict[str, Any]:
    """``("motor_gear=75", ...)`` -> ``{"motor_gear": 75}``; each VALUE is read as YAML."""
    options: dict[str, Any] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = option_name(name)
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
        # YAML 1.1 reads 0100 as octal 64, 1:30 as 90 (base 60), and 5e-1 or 1e3 as strings.
        if WHOLE_NUMBER.fullmatch(text.strip()):
            options[name] = int(text)
        elif isinstance(options[name], str | int | float) and NUMBER.fullmatch(text.strip()):
            options[name] = float(text)
        elif isinstance(options[name], int | float) and ":" in text:
            options[name] = text.strip()  # as YAML 1.2 and Python read it: not a number
        if isinstance(options[name], float) and not math.isfinite(options[name]):
            raise ConfigError(f"--env-options {spec!r}: VALUE must be a finite number")
    return options
