"""Reading a saved run back: evaluate its checkpoint, or load one member's learner, replay buffer
and env to analyse."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxcrl import checkpoint
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.config_files import read_run_config
from jaxcrl.devices import check_evaluation_memory, check_memory
from jaxcrl.envs import GoalEnv
from jaxcrl.envs.base import is_whole_number
from jaxcrl.host_eval import episodes_run
from jaxcrl.logger import to_python
from jaxcrl.members import (
    Member,
    member_config,
    member_keys,
    member_rows,
    member_slice,
    run_members,
    summarize_groups,
    summarize_members,
)
from jaxcrl.program import build, eval_keys, eval_memory_bytes, member_evaluator, saved_tree
from jaxcrl.run_dir import check_unchanged_env, refuse_edited_options
from jaxcrl.trainer import Trainer


def policy_only(saved: Any) -> Any:
    """A restore target of ``saved`` (from ``saved_tree``) that reads the policy parameters alone:
    evaluating a run needs neither its replay buffer nor its critic."""
    agent_state = saved.agent if hasattr(saved, "agent") else saved["agent"]
    wanted = checkpoint.skipped(agent_state).replace(policy_params=agent_state.policy_params)
    everything_else = checkpoint.skipped(saved)
    if isinstance(saved, dict):
        return {**everything_else, "agent": wanted}
    return everything_else.replace(agent=wanted)


def build_saved(run_dir: Path, config: TrainConfig) -> tuple[GoalEnv, Any, Trainer, list[Member]]:
    """``program.build`` of a saved run's ``config`` (no dataset): its env refused when its sizes
    are not those ``run_dir`` trained with, and said so on stderr when another fact changed
    (``run_dir.check_unchanged_env``)."""
    env, env_params, trainer, members = build(config, load_dataset=False)
    warning = check_unchanged_env(Path(run_dir), env, resuming=False)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return env, env_params, trainer, members


def read_unedited_config(run_dir: Path, step: int | None) -> TrainConfig:
    """The run's config.yaml; a ConfigError when it was edited since checkpoint ``step`` (None:
    the newest) was saved, whose networks and env are the ones the checkpoint recorded."""
    if step is not None and not is_whole_number(step):  # "28" was "no checkpoint 28"
        raise ConfigError(f"step must be a checkpoint's number, a whole number, got {step!r}")
    config = read_run_config(run_dir)
    recorded = checkpoint.saved_progress(Path(run_dir), step)
    refuse_edited_options(config, recorded, Path(run_dir), resuming=False)
    return config


def restore_policy_params(run_dir: Path, abstract: Any, step: int | None) -> tuple[Any, int]:
    """Every member's policy parameters [M, ...] from checkpoint ``step`` (None: the newest
    readable), and that step; ``abstract`` is the run's state shapes. Nothing else is read."""
    tree, progress, step = checkpoint.restore(
        run_dir, lambda progress: policy_only(saved_tree(abstract, progress["has_buffer"])), step
    )
    agent_state = tree.agent if progress["has_buffer"] else tree["agent"]
    return agent_state.policy_params, step


def member_state_shapes(trainer: Trainer, members: list[Member]) -> Any:
    """Shapes and dtypes of the run's state, every member's (no compilation, no arrays)."""
    return jax.eval_shape(jax.vmap(trainer.init, out_axes=trainer.state_axes), member_keys(members))


def evaluate_run(
    run_dir: Path,
    episodes: int | None = None,
    seed: int | None = None,
    step: int | None = None,
    goal: tuple[float, ...] | None = None,
    member: int | None = None,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint (default: the newest) with each member's deterministic policy.

    Returns the metrics of a one-member run (or of ``member`` alone, with its seed and swept
    values) directly, and for several members their rows under ``members`` with the mean, IQM
    and interval of each metric under ``summary`` (None for a metric the env leaves undefined);
    a run with swept hyperparameters has instead one summary per swept value under ``groups``.
    ``episodes`` is the number of episodes each member ran. ``seed`` None plays the episodes
    the run evaluated that checkpoint on, so with the run's episode count the numbers are its
    metrics row's; a seed plays other episodes, the same for every member.
    """
    config = read_unedited_config(run_dir, step)
    check_eval_seed(seed)
    if member is not None:
        check_member(config, member)
    if episodes is not None:
        if not is_whole_number(episodes) or episodes < 1:
            raise ConfigError(f"--episodes must be a positive integer, got {episodes!r}")
        config = dataclasses.replace(config, eval_episodes=int(episodes))
    if isinstance(goal, str):
        raise ConfigError(f"--goal {goal!r}: give the goal as numbers, e.g. (3.5, 1.5)")
    env, env_params, trainer, members = build_saved(run_dir, config)
    host_evaluated = getattr(env, "host_evaluated", False)
    if goal is not None and host_evaluated:
        raise ConfigError(f"{config.env} evaluates on OGBench's own tasks; drop --goal")
    if goal is not None and len(goal) != env.goal_argument_size:
        raise ConfigError(
            f"--goal has {len(goal)} numbers but {config.env} takes {env.goal_argument_size} "
            f"({env.goal_argument_meaning})"
        )
    problem = None if goal is None else env.goal_problem(goal)
    if problem:
        raise ConfigError(f"--goal {','.join(f'{x:g}' for x in goal)}: {problem}")
    abstract = member_state_shapes(trainer, members)
    # Only the policy is restored: the evaluation's episodes are what must fit.
    policy_shapes = abstract.agent.policy_params
    # --member K evaluates that member alone (on the host, OGBench's envs take minutes each).
    evaluated = members if member is None else [members[member]]
    eval_need = eval_memory_bytes(config, env, trainer, evaluated, policy_shapes)
    check_memory({}, eval_need, episodes_option="--episodes")
    policy_params, step = restore_policy_params(run_dir, abstract, step)
    goal_array = None if goal is None else jnp.asarray(goal, jnp.float32)
    if host_evaluated:
        evaluate = member_evaluator(config, env, trainer)
        episodes_done = episodes_run(config.eval_episodes, env.num_tasks)
    else:
        evaluate = jax.jit(jax.vmap(lambda params, key: trainer.evaluate(params, key, goal_array)))
        episodes_done = config.eval_episodes
    if member is not None:
        policy_params = jax.tree.map(lambda leaf: leaf[member : member + 1], policy_params)
    if seed is None:  # the keys the run evaluated this checkpoint with: its logged numbers
        keys = eval_keys(evaluated, step)
    else:
        keys = jnp.stack([jax.random.PRNGKey(seed)] * len(evaluated))
    if not host_evaluated:  # what the episodes hold, known once compiled: before they run
        evaluate = evaluate.lower(policy_params, keys).compile()
        check_evaluation_memory(evaluate, episodes_done, episodes_option="--episodes")
    metrics = jax.device_get(evaluate(policy_params, keys))
    header = {"checkpoint": step, "episodes": episodes_done}
    if goal is not None:
        header["goal"] = list(goal)
    started_at_goal = metrics.pop("eval/started_at_goal", None)  # the same starts for every member
    if started_at_goal is not None:
        header["started_at_goal"] = to_python(started_at_goal[0])
    if len(members) == 1 or member is not None:
        described = members[member].describe() if member is not None else {}
        return {**header, **described, **{k: to_python(v[0]) for k, v in metrics.items()}}
    per_member = member_rows({}, metrics, members)
    swept = list(members[0].values)
    if swept:
        groups = summarize_groups(metrics, per_member, swept)
        return {**header, "members": per_member, "groups": groups}
    return {**header, "members": per_member, "summary": summarize_members(metrics)}


def check_eval_seed(seed: Any) -> None:
    """Refuse, in one line, an evaluation seed that is not a 32-bit key's (2**32 would give
    seed 0's episodes again)."""
    if seed is None:  # the run's own evaluation episodes
        return
    if not is_whole_number(seed) or not 0 <= seed < 2**32:
        raise ConfigError(
            f"--seed must be a whole number from 0 to 2**32 - 1, got {seed!r}: JAX keys take "
            "32-bit seeds"
        )


def check_member(config: TrainConfig, member: int) -> None:
    """Refuse, in one line, a member index that the run of ``config`` does not have."""
    if not is_whole_number(member):
        raise ConfigError(f"--member must be a whole number, got {member!r}")
    count = len(run_members(config))
    if not 0 <= member < count:
        members = "only member 0" if count == 1 else f"members 0..{count - 1}"
        raise ConfigError(f"--member {member} is not in this run; it has {members}")


class LoadedMember(NamedTuple):
    """One member of a trained run, as its checkpoint holds it."""

    config: TrainConfig  # the member's own: its seed and swept values, no sweep, one seed
    env: GoalEnv
    env_params: Any
    trainer: Trainer  # the whole run's (an offline run's without its dataset: it cannot train)
    learner: Any  # agent.AgentState: critic and policy parameters, optimiser states, alpha
    buffer: Any  # ReplayBuffer; None when checkpoints hold none, and for offline runs


def load_member(run_dir: Path, member: int = 0, step: int | None = None) -> LoadedMember:
    """One member's checkpointed learner (and replay buffer, when saved) with its env, to analyse.

    An offline run's dataset is not read (it may have moved): load it from ``config.dataset``.
    """
    config = read_unedited_config(run_dir, step)
    check_member(config, member)
    env, env_params, trainer, members = build_saved(run_dir, config)
    abstract = member_state_shapes(trainer, members)
    tree, progress, _ = checkpoint.restore(
        run_dir, lambda progress: saved_tree(abstract, progress["has_buffer"]), step
    )
    learner = tree.agent if progress["has_buffer"] else tree["agent"]
    buffer = member_slice(tree.buffer, member) if progress["has_buffer"] else None
    learner = member_slice(learner, member)
    own_config = member_config(config, members[member])
    return LoadedMember(own_config, env, env_params, trainer, learner, buffer)


def jitted_policy(networks: Any, policy_params: Any, observation_size: int):
    """The deterministic policy of ``policy_params`` (one member's), jitted: observations
    [..., observation_size] (arrays, NumPy arrays or lists) to actions; another size is a
    ValueError naming it (flax reported it as a parameter shape error)."""
    from jaxcrl import agent

    act = jax.jit(lambda obs: agent.policy_action(networks, policy_params, obs))

    def policy(observations: Any) -> jax.Array:
        observations = jnp.asarray(observations)
        if observations.ndim == 0 or observations.shape[-1] != observation_size:
            raise ValueError(
                f"the policy takes observations of {observation_size} numbers (the state, then "
                f"the goal) along the last axis, got shape {tuple(observations.shape)}"
            )
        return act(observations)

    return policy


def loaded_policy(loaded: LoadedMember):
    """A loaded member's deterministic policy, jitted: observations to actions."""
    networks, params = loaded.trainer.networks, loaded.learner.policy_params
    return jitted_policy(networks, params, loaded.env.observation_size)


def load_member_policy(run_dir: Path, member: int = 0, step: int | None = None):
    """(env, env_params, policy) of one member's checkpointed policy (checkpoint ``step``, None:
    the newest readable); policy maps obs to actions. Only the policy is read."""
    config = read_unedited_config(run_dir, step)
    check_member(config, member)
    env, env_params, trainer, members = build_saved(run_dir, config)
    every_policy, _ = restore_policy_params(run_dir, member_state_shapes(trainer, members), step)
    policy = jitted_policy(
        trainer.networks, member_slice(every_policy, member), env.observation_size
    )
    return env, env_params, policy
