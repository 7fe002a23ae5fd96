"""Orbax checkpoints of a run: ``RUN_DIR/checkpoints/<iteration>/``.

Orbax writes each checkpoint into a temporary directory and renames it when complete, so a crash
never leaves a half-written checkpoint under a final name, and nothing is overwritten in place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

# Orbax logs every save at INFO; a training run's own progress output is enough.
logging.getLogger("absl").setLevel(logging.WARNING)


class CheckpointError(RuntimeError):
    """A checkpoint is missing or cannot be read."""


def open_manager(run_dir: Path, keep: int | None = None, create: bool = True):
    """The checkpoint manager of ``run_dir`` keeping the newest ``keep`` checkpoints."""
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=create, enable_async_checkpointing=False
    )
    return ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints", options=options)


def save(manager, step: int, tree: Any) -> None:
    """Write ``tree`` (a pytree of arrays) as checkpoint ``step`` and wait until it is on disk."""
    manager.save(step, args=ocp.args.StandardSave(tree))
    manager.wait_until_finished()


def restore(run_dir: Path, abstract_tree: Any, step: int | None = None) -> tuple[Any, int]:
    """Read checkpoint ``step`` (default: the newest) shaped like ``abstract_tree``."""
    if not (Path(run_dir) / "checkpoints").is_dir():
        raise CheckpointError(f"{run_dir} has no checkpoints/ directory; train it first")
    manager = open_manager(run_dir, create=False)
    steps = manager.all_steps()
    if not steps:
        raise CheckpointError(f"{run_dir} has no checkpoint under checkpoints/; train it first")
    step = max(steps) if step is None else step
    if step not in steps:
        raise CheckpointError(f"{run_dir} has no checkpoint {step}; it has {sorted(steps)}")
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_tree)
    try:
        tree = manager.restore(step, args=ocp.args.StandardRestore(target))
    except Exception as error:  # orbax raises many kinds; all mean the files are unusable
        raise CheckpointError(
            f"checkpoint {step} in {run_dir}/checkpoints cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'})"
        ) from error
    return tree, step
