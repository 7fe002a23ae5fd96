"""The host side of a training run: ``train(config)`` and ``evaluate_run(run_dir)``.

The device runs ``iterations_per_eval`` training iterations per call; between calls the host
evaluates, logs one row to ``metrics.jsonl``, updates the progress bar and writes a checkpoint.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from jaxcrl import checkpoint
from jaxcrl.config import (
    TrainConfig,
    check_env_fit,
    derived_sizes,
    prefill_iterations,
    read_run_config,
    steps_per_iteration,
    validate,
    write_config,
)
from jaxcrl.envs import GoalEnv, make_env, registered_envs
from jaxcrl.logger import MetricsLog, Progress, to_python
from jaxcrl.trainer import Trainer, TrainerState, make_trainer


@dataclasses.dataclass
class TrainResult:
    """What ``train`` returns: the final device state, every logged row and the run directory."""

    state: TrainerState
    metrics: list[dict[str, Any]]
    run_dir: Path

    @property
    def final(self) -> dict[str, Any]:
        """The last logged row (the final evaluation)."""
        return self.metrics[-1]


def default_run_dir(config: TrainConfig) -> Path:
    """runs/ENV-sSEED-YYYYmmdd-HHMMSS under the working directory."""
    return Path("runs") / f"{config.env}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def build(config: TrainConfig) -> tuple[GoalEnv, Any, Trainer]:
    """Validate ``config`` and build its env, task constants and trainer (no compilation)."""
    validate(config, registered_envs())
    env = make_env(config.env)
    check_env_fit(config, env.episode_length)
    env_params = env.default_params()
    return env, env_params, make_trainer(config, env, env_params)


def _prepare_run_dir(config: TrainConfig) -> tuple[TrainConfig, Path]:
    """Create a fresh run directory; never reuse one that already holds a run."""
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    if (run_dir / "config.yaml").exists() or (run_dir / "checkpoints").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; choose a new --run-dir (nothing was overwritten)"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(config, run_dir=str(run_dir)), run_dir


def train(config: TrainConfig) -> TrainResult:
    """Train CRL as ``config`` says; logs, evaluates and checkpoints into the run directory."""
    env, _, trainer = build(config)
    config, run_dir = _prepare_run_dir(config)
    write_config(config, run_dir / "config.yaml", {"env_info": env_info(env), "jax": jax_info()})
    sizes = derived_sizes(config)
    log = MetricsLog(run_dir / "metrics.jsonl")
    manager = checkpoint.open_manager(run_dir, keep=config.keep_checkpoints)

    eval_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)
    start = time.perf_counter()
    state = jax.jit(trainer.init)(jax.random.PRNGKey(config.seed))
    chunk = jnp.asarray(sizes["iterations_per_eval"], jnp.int32)
    run_iterations = jax.jit(trainer.run_iterations, donate_argnums=0).lower(state, chunk).compile()
    evaluate = jax.jit(trainer.evaluate).lower(state.agent.policy_params, eval_key).compile()
    setup_time = time.perf_counter() - start  # compilation plus the random-action prefill

    progress = Progress(config.total_env_steps, config.progress)
    rows: list[dict[str, Any]] = []
    done_iterations, total_iterations = 0, sizes["training_iterations"]
    while done_iterations < total_iterations:
        count = min(sizes["iterations_per_eval"], total_iterations - done_iterations)
        chunk_start = time.perf_counter()
        state, train_metrics = run_iterations(state, jnp.asarray(count, jnp.int32))
        jax.block_until_ready(train_metrics)
        chunk_time = time.perf_counter() - chunk_start
        done_iterations += count
        eval_metrics = evaluate(
            state.agent.policy_params, jax.random.fold_in(eval_key, done_iterations)
        )
        env_steps = (prefill_iterations(config) + done_iterations) * steps_per_iteration(config)
        row = {
            "iteration": done_iterations,
            "env_steps": env_steps,
            "wall_time_s": time.perf_counter() - start,
            "sps": count * steps_per_iteration(config) / chunk_time,
            "setup_time_s": setup_time,
            "gradient_steps": state.agent.gradient_steps,
            **eval_metrics,
            **train_metrics,
        }
        row = {k: to_python(v) for k, v in row.items()}
        log.write(row)
        rows.append(row)
        progress.update(env_steps, row)
        checkpoint.save(manager, done_iterations, {"agent": state.agent})
    progress.close()
    manager.close()
    return TrainResult(state=state, metrics=rows, run_dir=run_dir)


def evaluate_run(
    run_dir: Path, episodes: int | None = None, seed: int = 0, step: int | None = None
) -> dict[str, Any]:
    """Evaluate a run's checkpoint (default: the newest) with the deterministic policy."""
    config = read_run_config(run_dir)
    if episodes is not None:
        config = dataclasses.replace(config, eval_episodes=episodes)
    _, _, trainer = build(config)
    abstract = jax.eval_shape(trainer.init, jax.random.PRNGKey(0))
    restored, step = checkpoint.restore(run_dir, {"agent": abstract.agent}, step)
    metrics = jax.jit(trainer.evaluate)(restored["agent"].policy_params, jax.random.PRNGKey(seed))
    return {
        "checkpoint": step,
        "episodes": config.eval_episodes,
        **{k: to_python(v) for k, v in metrics.items()},
    }


def env_info(env: GoalEnv) -> dict[str, Any]:
    """Static facts of an env, recorded in config.yaml."""
    return {
        "name": env.name,
        "state_size": env.state_size,
        "goal_indices": list(env.goal_indices),
        "action_size": env.action_size,
        "episode_length": env.episode_length,
    }


def jax_info() -> dict[str, Any]:
    """JAX version and devices, recorded in config.yaml."""
    return {
        "version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }
