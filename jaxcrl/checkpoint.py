"""Orbax checkpoints of a run: ``RUN_DIR/checkpoints/<iteration>/{state,progress}``.

``state`` holds the device state (a pytree of arrays); ``progress`` a small JSON document of the
host loop (iterations done, metrics accumulated since the last evaluation, elapsed time), so a
resumed run continues exactly where the checkpoint was taken.

Orbax writes each checkpoint into a temporary directory and renames it when complete, so a crash
never leaves a half-written checkpoint under a final name, and nothing is overwritten in place.
If the newest checkpoint is damaged anyway (a truncated file, a disk error), ``restore`` says so and
falls back to the one before it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jaxcrl.config import first_line, resume_elsewhere
from jaxcrl.stop_signals import StoppedAtOnce

# Orbax logs every save at INFO; a training run's own progress output is enough.
logging.getLogger("absl").setLevel(logging.WARNING)


class CheckpointError(RuntimeError):
    """A checkpoint is missing or cannot be read."""


def open_manager(run_dir: Path, keep: int | None = None, create: bool = True):
    """The checkpoint manager of ``run_dir`` keeping the newest ``keep`` checkpoints."""
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=create, enable_async_checkpointing=False
    )
    return ocp.CheckpointManager(
        Path(run_dir).absolute() / "checkpoints",
        options=options,
        item_names=("state", "progress"),
    )


def saved_progress(run_dir: Path, step: int | None = None) -> dict[str, Any] | None:
    """The progress document of checkpoint ``step`` of ``run_dir`` (default: the newest; None
    when there is none or it cannot be read: ``restore`` then says why)."""
    try:
        manager = open_manager(run_dir, create=False)
        steps = manager.all_steps()
        if not steps or (step is not None and step not in steps):
            return None
        args = ocp.args.Composite(progress=ocp.args.JsonRestore())
        progress = manager.restore(max(steps) if step is None else step, args=args)["progress"]
    except Exception:  # a damaged checkpoint: restore names it and falls back
        return None
    return progress if isinstance(progress, dict) else None


def _storable(leaf: Any) -> Any:
    """``leaf``, or a 0-d placeholder of its dtype when it holds no elements.

    Orbax refuses arrays of size zero, and MJX states carry some (``mjx.Data.act`` of a model
    without actuator states has shape [0]); their shape comes back from the restore target.
    """
    return leaf if leaf.size else np.zeros((), leaf.dtype)


def save(manager, step: int, tree: Any, progress: dict[str, Any]) -> str | None:
    """Write ``tree`` and the host ``progress`` as checkpoint ``step``; wait until on disk.

    The progress document records ``step`` as its ``iteration``, which ``restore`` checks.
    Returns a warning when the checkpoint was written but an older one, past the number kept,
    could not be removed (a file there that cannot be deleted): else None.
    """
    if progress.get("iteration", step) != step:
        raise ValueError(f"checkpoint {step}: its progress says iteration {progress['iteration']}")
    check_free_space(Path(manager.directory), step, tree)
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(jax.tree.map(_storable, tree)),
        progress=ocp.args.JsonSave({**progress, "iteration": step}),
    )
    try:
        with errors_left_to_the_caller():
            manager.save(step, args=args)
            manager.wait_until_finished()
    except StoppedAtOnce:  # a second stop signal while writing: the run ends at once, as asked
        raise
    except Exception as error:  # orbax and tensorstore raise many kinds for one failed write
        reason = write_failure(error)
        folder = Path(manager.directory)
        if is_complete(folder, step):  # orbax removes the old ones after writing the new one
            return (
                f"checkpoint {step} was written, but an older checkpoint in {folder} could not "
                f"be removed ({reason}); remove it by hand where it is no longer needed"
            )
        raise CheckpointError(f"checkpoint {step} could not be written ({reason})") from None
    return None


def is_complete(folder: Path, step: int) -> bool:
    """Whether checkpoint ``step`` in ``folder`` (a run's checkpoints/) was written whole: its
    folder was finalized and its progress document reads back with its own iteration."""
    progress = saved_progress(folder.parent, step)
    return isinstance(progress, dict) and progress.get("iteration") == step


def check_free_space(folder: Path, step: int, tree: Any) -> None:
    """Raise CheckpointError before writing checkpoint ``step`` when its arrays (uncompressed)
    exceed the free space of ``folder``'s disk: a write that fails halfway is slow and loud."""
    if jax.process_count() > 1:  # each host writes its own shards: no one figure to compare
        return
    need = sum(np.asarray(leaf).nbytes for leaf in jax.tree.leaves(tree))
    free = shutil.disk_usage(folder).free
    if need > free:
        raise CheckpointError(
            f"checkpoint {step} could not be written (No space left on device: it needs up to "
            f"{byte_size(need)}, and {folder}'s disk has {byte_size(free)} free)"
        )


def byte_size(size: int) -> str:
    """``size`` bytes in KiB, MiB or GiB, whichever reads best."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 2**10:.0f} KiB"


@contextlib.contextmanager
def errors_left_to_the_caller() -> Iterator[None]:
    """Keep orbax's writer threads, and the asyncio futures they leave, from logging a failure
    with pages of tracebacks (a full disk): it reaches ``save``'s caller as one CheckpointError."""
    logs = [logging.getLogger(name) for name in ("absl", "asyncio")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    # After a failure they stay quiet: the failed writes' futures report when collected, later.
    yield
    for log, level in zip(logs, levels, strict=True):
        log.setLevel(level)


# What a failed write says, in the words of the system calls that fail most.
WRITE_FAILURES = (
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
    "Permission denied",
    "Input/output error",
)


def write_failure(error: Exception) -> str:
    """Why a write failed, in one short phrase where its message names a known cause."""
    text = str(error)
    known = [reason for reason in WRITE_FAILURES if reason in text]
    return known[0] if known else _describe(error)


# How orbax's wrapper of a TensorStore read error points to the specs instead of the cause.
TENSORSTORE_WRAPPER = "See full TensorStore details"


def _describe(error: Exception) -> str:
    """One line about an orbax/tensorstore error.

    TensorStore nests its drivers' messages ("OUT_OF_RANGE: Error opening "cast" driver: ...:
    <the cause>") and appends its specs in brackets, kilobytes of them: kept are the array it
    was reading and the cause. Orbax wraps some in an Exception that points to the specs ("See
    full TensorStore details: <bound method ...>"): its cause is told instead.
    """
    if error.__cause__ is not None and TENSORSTORE_WRAPPER in str(error):
        return _describe(error.__cause__)
    specs = rf" \[(?:tensorstore_spec|source locations)| {TENSORSTORE_WRAPPER}"
    text = re.split(specs, first_line(error))[0]
    clauses = text.split(": ")
    array = re.search(r'Error reading "([^"]+?)(?:/\.z|/[\d.]+")', text)
    if len(clauses) > 2 and array:
        text = f"{clauses[-1]}, reading {array.group(1)}"
    return f"{type(error).__name__}: {text[:300]}"


# A leaf of a restore target that stands for "leave this part on disk" (orbax's placeholder).
SKIP = ...


def skipped(tree: Any) -> Any:
    """``tree`` with every leaf marked ``SKIP``: restore passes it over and returns ``SKIP``."""
    return jax.tree.map(lambda _: SKIP, tree)


def restore_target(leaf: Any) -> Any:
    """Shape and dtype of ``leaf`` on this process's first device, whatever devices saved it.

    A leaf with no elements was saved as a 0-d placeholder (``_storable``), so its target is 0-d.
    A ``SKIP`` leaf stays ``SKIP``.
    """
    if leaf is SKIP:
        return SKIP
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    shape = leaf.shape if np.prod(leaf.shape) else ()
    return jax.ShapeDtypeStruct(shape, leaf.dtype, sharding=device)


def restore_args(target: Any) -> Any:
    """Orbax's restore arguments for ``target``; only its PyTree handler passes ``SKIP`` parts
    over (the Standard one refuses them)."""
    if not any(leaf is SKIP for leaf in jax.tree.leaves(target)):
        return ocp.args.StandardRestore(target)
    arrays = jax.tree.map(
        lambda leaf: (
            SKIP
            if leaf is SKIP
            else ocp.ArrayRestoreArgs(
                sharding=leaf.sharding, global_shape=leaf.shape, dtype=leaf.dtype
            )
        ),
        target,
    )
    return ocp.args.PyTreeRestore(item=target, restore_args=arrays)


def _with_empty_leaves(shapes: Any, tree: Any) -> Any:
    """``tree`` with each leaf that ``shapes`` says is empty put back at its empty shape."""
    return jax.tree.map(
        lambda shape, leaf: (
            leaf if shape is SKIP or np.prod(shape.shape) else jnp.zeros(shape.shape, shape.dtype)
        ),
        shapes,
        tree,
    )


def _drop_closed_loop_callbacks(unraisable: Any) -> None:
    """``sys.unraisablehook`` that drops a read's callback into orbax's closed event loop and
    passes anything else to the hook it replaced."""
    error = unraisable.exc_value
    if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
        return
    _drop_closed_loop_callbacks.replaced(unraisable)


def _not_unretrieved_future(record: logging.LogRecord) -> bool:
    """Whether an ``asyncio`` log record is anything but a failed read's unretrieved error."""
    message = record.getMessage()
    unretrieved = message.startswith(("Future exception was never", "Task exception was never"))
    return not (unretrieved and any(word in message for word in ("orbax", "OCDBT", "zarr")))


def quiet_failed_reads() -> None:
    """Silence the reads still in flight when a checkpoint fails to restore: each one finishing
    later calls back into orbax's event loop, closed by then, and printed an "Event loop is
    closed" traceback (about a hundred for one run's state), or left its own error unretrieved.
    The damage is reported once, in the error or warning that names it."""
    if sys.unraisablehook is not _drop_closed_loop_callbacks:
        _drop_closed_loop_callbacks.replaced = sys.unraisablehook
        sys.unraisablehook = _drop_closed_loop_callbacks
    asyncio_log = logging.getLogger("asyncio")
    if _not_unretrieved_future not in asyncio_log.filters:
        asyncio_log.addFilter(_not_unretrieved_future)


def not_saved_yet(run_dir: Path) -> str:
    """Why a run directory holds no checkpoint, and what to do: a run that started (it has a
    config.yaml) is setting up or stopped before its first one, and its resume starts it again."""
    if not (Path(run_dir) / "config.yaml").is_file():
        return "train it first"
    return (
        "the run is still setting up, or it stopped before saving one "
        f"({resume_elsewhere(run_dir)} starts it again)"
    )


def restore(
    run_dir: Path,
    abstract_tree: Any | Callable[[dict[str, Any]], Any],
    step: int | None = None,
) -> tuple[Any, dict[str, Any], int]:
    """Read checkpoint ``step`` (default: the newest readable one) -> (tree, progress, step).

    ``abstract_tree`` gives the shapes and dtypes to restore into, or is a function of the
    checkpoint's progress document that returns them (what was saved can depend on it); parts
    marked with ``skipped`` are not read. When no
    step is named and the newest checkpoint cannot be read, older ones are tried in turn, with a
    warning naming the damaged one.
    """
    if not (Path(run_dir) / "checkpoints").is_dir():
        raise CheckpointError(f"{run_dir} has no checkpoints/ directory; {not_saved_yet(run_dir)}")
    manager = open_manager(run_dir, create=False)
    steps = sorted(manager.all_steps(), reverse=True)
    if not steps:
        raise CheckpointError(
            f"{run_dir} has no checkpoint under checkpoints/; {not_saved_yet(run_dir)}"
        )
    if step is not None and step not in steps:
        raise CheckpointError(f"{run_dir} has no checkpoint {step}; it has {sorted(steps)}")
    candidates = [step] if step is not None else steps
    problems = []
    quiet_failed_reads()  # before a read fails: its siblings may call back at once
    for candidate in candidates:
        try:
            progress = manager.restore(
                candidate, args=ocp.args.Composite(progress=ocp.args.JsonRestore())
            )["progress"]
            if not isinstance(progress, dict) or progress.get("iteration") != candidate:
                said = progress.get("iteration") if isinstance(progress, dict) else progress
                raise ValueError(f"its progress document says iteration {said!r}")
            shapes = abstract_tree(progress) if callable(abstract_tree) else abstract_tree
            target = jax.tree.map(restore_target, shapes)
            tree = manager.restore(candidate, args=ocp.args.Composite(state=restore_args(target)))[
                "state"
            ]
            tree = _with_empty_leaves(shapes, tree)
        except Exception as error:  # orbax raises many kinds; all mean the files are unusable
            problems.append(f"checkpoint {candidate} cannot be read ({_describe(error)})")
            continue
        if problems:
            warnings.warn(
                f"{run_dir}: {'; '.join(problems)}; using checkpoint {candidate} instead "
                "(the damaged files are kept: a resume renames them N.damaged)",
                stacklevel=2,
            )
        return tree, progress, candidate
    others = [other for other in sorted(steps) if other != step]
    elsewhere = f"; its other checkpoints: {others}" if step is not None and others else ""
    raise CheckpointError(f"{run_dir}/checkpoints: {'; '.join(problems)}{elsewhere}")
