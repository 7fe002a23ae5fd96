"""A run's compiled program: its env, trainer and members built from a config, the trainer's
pure functions vmapped over the members and jitted, and the part of its state a checkpoint keeps.

``jaxcrl.run`` drives this program from the host; ``jaxcrl.saved_runs`` rebuilds it to evaluate
a finished run. Nothing here compiles until a function is first called, and nothing touches the
run directory.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

import jax

from jaxcrl import agent
from jaxcrl.config import ENV_OPTION_FLAGS, ConfigError, TrainConfig, parse_env_options
from jaxcrl.devices import check_dataset_memory, tree_bytes
from jaxcrl.envs import (
    GoalEnv,
    custom_maze_env,
    env_argument_defaults,
    fixed_arguments,
    make_env,
    registered_envs,
    reset_batch,
    sibling_env,
    whole_number_arguments,
)
from jaxcrl.envs.base import choose_offscreen_renderer
from jaxcrl.envs.own_envs import contract_problem, env_import_path
from jaxcrl.evaluate import POLICY_EPISODES_AT_ONCE
from jaxcrl.members import Member, apply_member_values, member_keys, run_members
from jaxcrl.trainer import Trainer, TrainerState, make_trainer
from jaxcrl.validation import MAX_EPISODE_LENGTH, validate


def refuse_jax_modes() -> None:
    """Raise ConfigError when a JAX mode is on that runs cannot work in: 64 bits (the envs,
    buffers and networks hold float32 arrays, and compiled loops refuse the float64 results mixed
    in with them) or jit disabled (the training loop is compiled ahead of time)."""
    if jax.config.jax_enable_x64:
        raise ConfigError(
            "JAX's 64-bit mode is on (JAX_ENABLE_X64 or jax_enable_x64), and jaxcrl computes in "
            "float32; unset JAX_ENABLE_X64, or call jax.config.update('jax_enable_x64', False)"
        )
    if jax.config.jax_disable_jit:
        raise ConfigError(
            "jit is disabled (JAX_DISABLE_JIT or jax_disable_jit), and jaxcrl's loops are "
            "compiled ahead of time; unset JAX_DISABLE_JIT, or call "
            "jax.config.update('jax_disable_jit', False) (jax.debug.print and "
            "jax.debug.breakpoint work inside compiled code)"
        )


def make_run_env(config: TrainConfig) -> GoalEnv:
    """The env ``config`` names, with its env options (--env-options, dense reward, physics)."""
    refuse_jax_modes()
    overrides: dict[str, Any] = parse_env_options(config.env_options)
    threshold = overrides.get("success_threshold")
    if threshold is not None and not (
        isinstance(threshold, (int, float))
        and not isinstance(threshold, bool)
        and 0 < threshold < float("inf")
    ):
        raise ConfigError(
            f"--env-options success_threshold must be a finite distance > 0, got {threshold!r}"
        )
    if config.dense_reward:
        overrides["dense_reward"] = True
    if config.physics != "jax":
        overrides["impl"] = config.physics
    registered = fixed_arguments(config.env)  # what the env's name stands for
    if "layout" in overrides and registered.get("layout") is not None:
        custom = custom_maze_env(config.env)
        where = f"--env {custom} --env-options layout=MAP" if custom else "a *_maze_custom env"
        raise ConfigError(
            f"--env-options layout: --env {config.env} is built on its own maze, and config.yaml "
            f"would name it while training on yours; give your map to {where}"
        )
    for name in sorted(set(overrides) & set(registered) - {"layout"}):
        value = overrides[name]
        other = sibling_env(config.env, **{name: value})
        raise ConfigError(
            f"--env-options {name}: --env {config.env} is registered with "
            f"{name}={registered[name]!r}, and "
            f"config.yaml would name it while training {name}={value!r}; "
            + (f"use --env {other}" if other else f"drop {name}")
        )
    try:
        defaults = env_argument_defaults(config.env)
    except ValueError as error:  # its module would not import (MuJoCo's renderer)
        raise ConfigError(f"--env {config.env}: {error}") from None
    accepted = tuple(defaults)
    unknown = sorted(set(overrides) - set(accepted))
    flagged = [name for name in unknown if name in ENV_OPTION_FLAGS]
    if flagged:
        flags = " or ".join(ENV_OPTION_FLAGS[name] for name in flagged)
        raise ConfigError(f"--env {config.env} takes no {flags}; drop it")
    if unknown:
        raise ConfigError(
            f"--env-options: --env {config.env} takes no {unknown[0]!r}; its options: "
            + ", ".join(name for name in accepted if name not in ENV_OPTION_FLAGS)
        )
    is_number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
    whole = whole_number_arguments(config.env)
    for name, value in overrides.items():  # "nan" or [1] where a number goes
        if is_number(defaults.get(name)) and not is_number(value):
            raise ConfigError(
                f"--env-options {name} must be a number (default {defaults[name]}), got {value!r}"
            )
        if isinstance(defaults.get(name), bool) and not isinstance(value, bool):  # 'false'
            raise ConfigError(
                f"--env-options {name} must be true or false, unquoted (default "
                f"{str(defaults[name]).lower()}), got {value!r}"
            )
        if name in whole and is_number(value) and value != int(value):  # 64.5 pixels
            raise ConfigError(
                f"--env-options {name} must be a whole number (default {defaults[name]}), "
                f"got {value!r}"
            )
        if name in whole and isinstance(value, float):
            overrides[name] = int(value)
    own_class = env_import_path(config.env) is not None  # MODULE:CLASS, a user's own env
    needed = [name for name, default in defaults.items() if default is inspect.Parameter.empty]
    needed = [name for name in needed if name not in overrides and name not in registered]
    flag_values = {"dense_reward": config.dense_reward, "impl": config.physics}
    overrides.update({name: flag_values[name] for name in needed if name in flag_values})
    needed = [name for name in needed if name not in flag_values]  # a flag's default given
    if needed and own_class:
        raise ConfigError(
            f"--env {config.env} has no default for {', '.join(needed)}; give "
            + " ".join(f"--env-options {name}=VALUE" for name in needed)
        )
    try:
        env = make_env(config.env, **overrides)
    except TypeError as error:
        given = " with --env-options" if overrides else ""
        raise ConfigError(f"--env {config.env}{given}: {error}") from None
    except ValueError as error:
        raise ConfigError(f"--env {config.env}: {error}") from None
    if own_class:  # traced once: one line, not a deep traceback
        problem = contract_problem(env, env.default_params())
        if problem is not None:
            raise ConfigError(f"--env {config.env}: {problem}")
    if env.episode_length > MAX_EPISODE_LENGTH:  # worked out from a maze's size or step length
        raise ConfigError(
            f"--env {config.env}: its env options make episodes {env.episode_length:,} steps "
            f"long, more than the {MAX_EPISODE_LENGTH:,} that 32-bit step counters hold; "
            "shrink cell_size or the maze, or raise max_step (or give episode_length)"
        )
    return env


def build(
    config: TrainConfig, load_dataset: bool = True
) -> tuple[GoalEnv, Any, Trainer, list[Member]]:
    """Validate ``config``; build its env, task constants, trainer and members (no compilation).

    With ``config.dataset`` the trainer is the offline one: gradient steps on the dataset, the env
    used only to evaluate. ``load_dataset=False`` leaves the dataset on disk (it may be gone): the
    trainer then restores and evaluates checkpoints but cannot train.
    """
    validate(config, registered_envs(), dataset_must_exist=load_dataset)
    members = run_members(config)
    env = make_run_env(config)
    defaults = TrainConfig()
    changed = [
        flag
        for flag, name in (("--cnn-channels", "cnn_channels"), ("--cnn-features", "cnn_features"))
        if getattr(config, name) != getattr(defaults, name)
    ]
    if changed and env.image_shape is None:
        raise ConfigError(
            f"{' and '.join(changed)} shape the pixel encoder, but --env {config.env} observes "
            f"states; drop {' and '.join(changed)}, or pick a pixel env (e.g. point_open_pixels)"
        )
    if env.image_shape is not None:
        side = min(env.image_shape[:2])
        useful = math.ceil(math.log2(side))  # halvings until the map is one pixel
        if len(config.cnn_channels) > useful:
            raise ConfigError(
                f"--cnn-channels gives {len(config.cnn_channels)} stacks, but a {side}-pixel "
                f"image is one pixel after {useful} halvings, and later stacks only add "
                f"compute; give at most {useful} channel counts, or a larger image_size"
            )
    # Every member's env copies and evaluation episodes run in one program.
    env.reserve_copies(len(members) * max(config.num_envs, config.eval_episodes))
    env_params = env.default_params()
    if getattr(env, "host_evaluated", False) and config.dataset is not None:
        if env.image_shape is not None:  # a headless server: EGL, before MuJoCo is imported
            choose_offscreen_renderer()
        try:  # a visual OGBench env renders on the host: find out now, not after training
            env.check_rendering()
        except RuntimeError as error:
            raise ConfigError(str(error)) from None
    if config.dataset is None and getattr(env, "host_evaluated", False):
        raise ConfigError(
            f"--env {config.env} is an OGBench env: it trains offline only; give --dataset "
            "PATH.npz (OGBench's file, or one made by python -m jaxcrl.ogbench_data)"
        )
    if config.dataset is None:
        return env, env_params, make_trainer(config, env, env_params), members
    from jaxcrl.dataset import DatasetError, load_splits
    from jaxcrl.offline import make_offline_trainer, validate_offline

    if not load_dataset:
        return env, env_params, make_offline_trainer(config, env, env_params, None), members
    try:
        dataset, val_dataset = load_splits(
            config.dataset, env.state_size, env.action_size, image_shape=env.image_shape
        )
    except DatasetError as error:
        raise ConfigError(str(error)) from None
    validate_offline(config, dataset, val_dataset)
    check_dataset_memory(config.dataset, (dataset, val_dataset))
    trainer = make_offline_trainer(config, env, env_params, dataset, val_dataset)
    return env, env_params, trainer, members


def saves_buffer(config: TrainConfig) -> bool:
    """Whether checkpoints hold the replay buffer (an offline run rebuilds it from its dataset)."""
    return config.checkpoint_buffer and config.dataset is None


@dataclasses.dataclass
class Program:
    """The trainer's functions vmapped over members and jitted."""

    init: Any  # (keys [M]) -> TrainerState, members' hyperparameters applied
    run_iterations: Any  # (state, count) -> (state, metrics [M]); donates the state
    evaluate: Any  # (policy_params [M], keys [M]) -> eval metrics [M]
    validate: Any = None  # (state, keys [M]) -> val/* metrics [M], or None


def make_program(
    config: TrainConfig, env: GoalEnv, trainer: Trainer, members: list[Member]
) -> Program:
    """Vmap and jit the trainer's functions over the run's members."""

    axes = trainer.state_axes

    def init(keys: jax.Array) -> TrainerState:
        state = jax.vmap(trainer.init, out_axes=axes)(keys)
        return apply_member_values(state, config, members, env.action_size)

    validate = None
    if trainer.validate is not None:
        validate = jax.jit(jax.vmap(trainer.validate, in_axes=(axes, 0)))
    return Program(
        init=jax.jit(init),
        run_iterations=jax.jit(
            jax.vmap(trainer.run_iterations, in_axes=(axes, None), out_axes=(axes, 0)),
            donate_argnums=0,
        ),
        evaluate=member_evaluator(config, env, trainer),
        validate=validate,
    )


# Episodes of the compiled policy step whose memory is measured, to scale to an evaluation's.
EVAL_PROBE_EPISODES = 64


def eval_memory_bytes(
    config: TrainConfig, env: GoalEnv, trainer: Trainer, members: list[Member], policy_params: Any
) -> int:
    """About the bytes one evaluation holds beside the run's state, all members together: its
    episodes' env states (and the next ones) and the policy's activations over them (measured
    on a small compiled batch: a pixel policy's convolutions hold far more than its images, for
    as many episodes as act at once). 0
    where the env is evaluated on the host. ``policy_params``: the members' [M, ...] shapes."""
    if getattr(env, "host_evaluated", False):
        return 0
    params = env.default_params()
    one_member = lambda key: reset_batch(env, params, key, config.eval_episodes)
    states = jax.eval_shape(jax.vmap(one_member), member_keys(members))
    one_policy = jax.tree.map(
        lambda leaf: jax.ShapeDtypeStruct(leaf.shape[1:], leaf.dtype), policy_params
    )
    probe = jax.ShapeDtypeStruct((EVAL_PROBE_EPISODES, *states.obs.shape[2:]), states.obs.dtype)
    act = jax.jit(lambda policy, obs: agent.policy_action(trainer.networks, policy, obs))
    analysis = act.lower(one_policy, probe).compile().memory_analysis()
    policy_bytes = 0.0
    if analysis is not None:
        policy_bytes = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
    per_episode = policy_bytes / EVAL_PROBE_EPISODES
    acting = min(config.eval_episodes, POLICY_EPISODES_AT_ONCE)  # see evaluate.in_turns
    return 2 * tree_bytes(states) + int(per_episode * len(members) * acting)


def member_evaluator(config: TrainConfig, env: GoalEnv, trainer: Trainer) -> Any:
    """(policy_params [M], keys [M]) -> eval metrics [M]: jitted on the device, or on the host
    for envs that run outside JAX (OGBench's)."""
    if getattr(env, "host_evaluated", False):
        from jaxcrl import agent
        from jaxcrl.host_eval import make_host_evaluator

        act = lambda params, obs: agent.policy_action(trainer.networks, params, obs)
        return make_host_evaluator(env, act, config.eval_episodes)
    return jax.jit(jax.vmap(trainer.evaluate))


def eval_keys(members: list[Member], iteration: int) -> jax.Array:
    """[M] keys of the evaluation after ``iteration``: a function of seed and iteration alone."""
    base = jax.vmap(lambda key: jax.random.fold_in(key, 1))(member_keys(members))
    return jax.vmap(lambda key: jax.random.fold_in(key, iteration))(base)


def validation_keys(members: list[Member], iteration: int) -> jax.Array:
    """[M] keys of the validation batch after ``iteration``, apart from the evaluation's."""
    return jax.vmap(lambda key: jax.random.fold_in(key, 2))(eval_keys(members, iteration))


def saved_tree(state: TrainerState, with_buffer: bool) -> Any:
    """What a checkpoint stores: the whole state, or all but the buffer and env copies."""
    if with_buffer:
        return state
    return {
        "agent": state.agent,
        "hyperparams": state.hyperparams,
        "key": state.key,
        "iteration": state.iteration,
    }


def restore_into(state: TrainerState, tree: Any, with_buffer: bool) -> TrainerState:
    """``state`` with the checkpointed parts replaced by ``tree``."""
    return tree if with_buffer else state.replace(**tree)
