"""A run directory on disk: where a run lives, what its config.yaml records, and the tidying a
resume does before it continues.

Nothing here trains. ``jaxcrl.run`` calls these between its compiled chunks; every function
either refuses with a message that names the fix or changes the directory so that a crash at any
point leaves each file whole (a run's saved work is never lost).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

import jax
import yaml

from jaxcrl.config import (
    ConfigError,
    TrainConfig,
    loop_sizes,
    parse_env_options,
    resume_command,
)
from jaxcrl.config_files import write_config
from jaxcrl.dataset import split_fingerprints
from jaxcrl.devices import wait_for_processes
from jaxcrl.envs import GoalEnv
from jaxcrl.files import replace_atomically
from jaxcrl.logger import read_metrics, write_csv


def default_run_dir(config: TrainConfig) -> Path:
    """runs/ENV-sSEED-YYYYmmdd-HHMMSS under the working directory (an env named MODULE:CLASS:
    its CLASS; Brax's envs: brax-NAME)."""
    env = config.env.rpartition(":")[2]
    brax_env = parse_env_options(config.env_options).get("brax_env")
    if env == "brax" and isinstance(brax_env, str):
        env = f"brax-{brax_env}"
    return Path("runs") / f"{env}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def claim_default_run_dir(config: TrainConfig) -> Path:
    """A new, empty ``default_run_dir``, made here: with ``-2``, ``-3``, ... after its name when
    a run started in the same second has it (runs launched together, a sweep's processes)."""
    base = run_dir = default_run_dir(config)
    number = 1
    while True:
        try:
            run_dir.mkdir(parents=True)  # atomic: of two processes, one makes it
            return run_dir
        except FileExistsError:
            number += 1
            run_dir = base.with_name(f"{base.name}-{number}")
        except OSError as error:
            raise ConfigError(
                f"{run_dir}: cannot create it ({error.strerror or error}); give --run-dir a "
                "directory you can write to"
            ) from None


def has_checkpoint(run_dir: Path | str) -> bool:
    """Whether ``run_dir`` holds a finished checkpoint (orbax names each by its iteration)."""
    folder = Path(run_dir) / "checkpoints"
    return folder.is_dir() and any(entry.name.isdigit() for entry in folder.iterdir())


def refuse_a_file(run_dir: Path) -> None:
    """Raise ConfigError when ``run_dir``, or the nearest of its folders that exists, is a file:
    mkdir's own "File exists" read as if the run directory existed."""
    whole = run_dir.absolute()
    existing = next(path for path in (whole, *whole.parents) if path.exists())
    if not existing.is_dir():
        raise ConfigError(
            f"--run-dir {run_dir}: {existing} is a file, not a folder; choose another --run-dir"
        )


def hold_run_dir(run_dir: Path) -> TextIO | None:
    """Lock ``run_dir`` for this process while it trains there: a second process on the same
    directory would log every row twice and write into the same checkpoints. Returns the lock
    file, whose closing releases it (None on the other hosts of a multi-host run, where the
    first host holds it). ConfigError when another process holds it."""
    if jax.process_index() != 0:
        return None
    refuse_a_file(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = (run_dir / ".lock").open("a+")
    except OSError as error:
        raise ConfigError(
            f"--run-dir {run_dir}: cannot create it ({error.strerror or error}); choose a "
            "directory you can write to"
        ) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise ConfigError(
            f"{run_dir} is being trained by {holder}; wait for it to end, or stop it and "
            f"continue with {resume_command(run_dir)} (nothing was changed)"
        ) from None
    except OSError:  # a file system without locks: train unguarded
        return lock
    lock.seek(0)
    lock.truncate()
    lock.write(
        f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    lock.flush()
    return lock


def prepare_run_dir(config: TrainConfig, again: bool = False) -> tuple[TrainConfig, Path]:
    """Create a fresh run directory; never reuse one that already holds a run.

    ``again``: the directory is that of a run whose start never saved a checkpoint (a crash or
    Ctrl-C while compiling), which starts afresh in it; its logged rows, if any, are dropped.
    """
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    if has_checkpoint(run_dir):
        raise FileExistsError(
            f"{run_dir} already holds a run; choose a new --run-dir, or continue it with "
            f"{resume_command(run_dir)} (nothing was overwritten)"
        )
    if not again and (run_dir / "config.yaml").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run that saved no checkpoint (its start did not finish); "
            f"{resume_command(run_dir)} starts it from the beginning, or choose a new --run-dir "
            "(nothing was overwritten)"
        )
    if not again and (run_dir / "metrics.jsonl").exists():
        raise FileExistsError(
            f"{run_dir} holds a metrics.jsonl but no config.yaml, so its rows belong to no run "
            "this one could continue; choose a new --run-dir (nothing was overwritten)"
        )
    wait_for_processes("run_dir_checked")  # every process has looked before any writes to it
    refuse_a_file(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if again and jax.process_index() == 0:
            keep_rows_up_to(run_dir, 0)  # rows of the failed start: no checkpoint backs them
    except OSError as error:
        raise ConfigError(
            f"--run-dir {run_dir}: cannot create it ({error.strerror or error}); choose a "
            "directory you can write to"
        ) from None
    return dataclasses.replace(config, run_dir=str(run_dir)), run_dir


def check_checkpoints_writable(run_dir: Path) -> None:
    """Raise ConfigError unless a file can be written in ``run_dir/checkpoints`` (made if it is
    missing), before any training whose checkpoints would be lost."""
    folder = run_dir / "checkpoints"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Named for this process alone: the hosts of a multi-host run probe one shared folder at
        # once, and containers often give their processes the same PID.
        probe = folder / f".write-check-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)
    except OSError as error:
        raise ConfigError(
            f"{folder}: cannot write there ({error.strerror or error}), so no checkpoint could "
            "be saved; make it writable and run again (nothing was changed)"
        ) from None


def refuse_lost_checkpoints(config: TrainConfig, run_dir: Path) -> None:
    """Raise ConfigError when ``run_dir`` logged an evaluation after its first checkpoint but
    holds no checkpoint: starting it again would drop rows no checkpoint can bring back."""
    path = run_dir / "metrics.jsonl"
    last = max((row["iteration"] for row in read_metrics(path)), default=0) if path.exists() else 0
    total, eval_every = loop_sizes(config)
    first_checkpoint = min(config.checkpoint_every or eval_every, total)
    # Rows up to the first checkpoint come back as they were when the run starts again: those of
    # its iteration are written just before it is saved, so a stop while saving leaves them.
    if last > first_checkpoint:
        raise ConfigError(
            f"{run_dir} logged evaluations up to iteration {last}, but its checkpoints are gone "
            "(checkpoints/ was removed or emptied), so it cannot continue, and starting it again "
            f"would drop those rows; train anew with --config {run_dir}/config.yaml --run-dir "
            "NEW_DIR (nothing was changed)"
        )


def record_run_config(config: TrainConfig, run_dir: Path, env: GoalEnv) -> None:
    """Write config.yaml: the resolved config, its derived sizes, the env's facts, JAX's devices
    (and an offline run's dataset files' sizes and hashes)."""
    info = {"env_info": env_info(env), "jax": jax_info()}
    if config.dataset is not None:
        info["dataset_files"] = split_fingerprints(config.dataset)
    try:
        write_config(config, run_dir / "config.yaml", info)
    except OSError as error:
        raise ConfigError(
            f"--run-dir {run_dir}: cannot write config.yaml there "
            f"({error.strerror or error}); choose a directory you can write to"
        ) from None


def run_record(run_dir: Path) -> dict[str, Any]:
    """The whole of ``run_dir``'s config.yaml: the config, its derived sizes, the env's facts,
    the dataset files' fingerprints and the lengthenings."""
    return yaml.safe_load((Path(run_dir) / "config.yaml").read_text()) or {}


def refuse_changed_dataset(config: TrainConfig, run_dir: Path) -> None:
    """Raise ConfigError when an offline run's dataset files differ from those it started on."""
    recorded = run_record(run_dir).get("dataset_files")
    if config.dataset is None or recorded is None:  # online (refuse_switched_training looks), or
        return  # an offline run from before the files were recorded
    if not Path(config.dataset).is_absolute():  # edited in: it would read another file elsewhere
        raise ConfigError(
            f"--resume {run_dir}: its config.yaml names the dataset by a relative path "
            f"({config.dataset}), which each directory a resume starts from reads differently; "
            f"set dataset: in {run_dir}/config.yaml to the file's absolute path"
        )
    if not Path(config.dataset).is_file():
        raise ConfigError(
            f"--resume {run_dir}: its dataset {config.dataset} is gone; put it back, "
            f"or set dataset: in {run_dir}/config.yaml to its absolute path now (its files are "
            "checked against the run's)"
        )
    now = split_fingerprints(config.dataset)

    def change(split: str) -> str | None:
        """How ``split`` differs from the run's record (None: it does not)."""
        if now[split] == recorded[split]:
            return None
        if recorded[split] is None:
            return f"its {split} split is new"
        if now[split] is None:
            return f"its {split} split is gone"
        return (
            f"its {split} split changed: size or SHA-256 differs from config.yaml's dataset_files"
        )

    changed = [text for text in map(change, ("train", "val")) if text]
    if changed:
        raise ConfigError(
            f"--resume {run_dir}: the dataset {config.dataset} is not the one the run started on "
            f"({'; '.join(changed)}); "
            "put the original files back, or train a new run on the new data (nothing was changed)"
        )


def refuse_switched_training(
    config: TrainConfig, recorded: dict[str, Any] | None, run_dir: Path
) -> None:
    """Raise ConfigError when config.yaml's ``dataset:`` (which a resume may change to where the
    files moved) now turns an online run offline or an offline run online."""
    record = run_record(run_dir)
    was_offline = (recorded or {}).get("offline")
    if was_offline is None and "dataset_files" in record:  # a checkpoint from before the flag
        was_offline = True
    if config.dataset is not None and was_offline is False:
        raise ConfigError(
            f"--resume {run_dir}: config.yaml now names a dataset ({config.dataset}), but the run "
            "trained online, in its env; a run cannot switch to offline training: set dataset: "
            f"back to null, or train a new run with --dataset {config.dataset} (nothing was "
            "changed)"
        )
    if config.dataset is None and was_offline:
        raise ConfigError(
            f"--resume {run_dir}: config.yaml names no dataset, but the run trained offline; set "
            "dataset: to the path of the files it trained on (they are checked against the "
            "run's), or start a new online run (nothing was changed)"
        )


def record_new_length(run_dir: Path, old: TrainConfig, new: TrainConfig, iteration: int) -> None:
    """Rewrite config.yaml for the new length, noting the change under ``lengthened`` (a length
    that undoes an unfinished launch's change drops its note, and its spacing comes back)."""
    path = run_dir / "config.yaml"
    extra = {
        name: value
        for name, value in run_record(run_dir).items()
        if name not in ("config", "derived")  # write_config writes these two afresh
    }
    field = "num_updates" if new.dataset is not None else "total_env_steps"
    change = {
        "at_iteration": iteration,
        field: [getattr(old, field), getattr(new, field)],
        "eval_every": [old.eval_every, new.eval_every],  # a new run from it sets its own spacing
    }
    # A launch from this checkpoint (or from a later one, since set aside) that lengthened the
    # run and stopped before its next checkpoint: this change replaces it, from its old values.
    changes = extra.get("lengthened", [])
    kept = [entry for entry in changes if entry.get("at_iteration", -1) < iteration]
    replaced = [entry for entry in changes if entry.get("at_iteration", -1) >= iteration]
    if replaced and field in replaced[0]:
        change[field][0] = replaced[0][field][0]
        change["eval_every"][0] = replaced[0].get("eval_every", [old.eval_every])[0]
    extra.pop("lengthened", None)
    if change[field][0] != change[field][1]:
        extra["lengthened"] = [*kept, change]
    else:  # back to the length trained before that launch, evaluated as then
        new = dataclasses.replace(new, eval_every=change["eval_every"][0])
        if kept:
            extra["lengthened"] = kept
    write_config(new, path, extra)


def keep_rows_up_to(run_dir: Path, iteration: int) -> None:
    """Drop logged rows after ``iteration`` (written after the checkpoint a resume starts from)
    from metrics.jsonl, and write metrics.csv again from the rows kept."""
    path = run_dir / "metrics.jsonl"
    rows = (
        [row for row in read_metrics(path) if row["iteration"] <= iteration]
        if path.exists()
        else []
    )
    with replace_atomically(path) as stream:
        stream.write("".join(json.dumps(row) + "\n" for row in rows))
    # Written now, not when the loggers open: a resume that stops first (a finished run, an
    # interrupted compile) deleted the CSV and never wrote it again.
    if rows:
        write_csv(run_dir / "metrics.csv", rows)
    else:
        (run_dir / "metrics.csv").unlink(missing_ok=True)


def set_aside_checkpoints_after(run_dir: Path, step: int) -> None:
    """Rename checkpoints newer than ``step`` (damaged ones a resume skipped) to ``N.damaged``.

    Left in place they would block the steps the resumed run saves next; renamed, the checkpoint
    manager ignores them and they stay for whoever wants to inspect them.
    """
    for later in (run_dir / "checkpoints").iterdir():
        if later.name.isdigit() and int(later.name) > step:
            name, count = f"{later.name}.damaged", 1
            while later.with_name(name).exists():  # set aside before: N.damaged.2, ...
                count += 1
                name = f"{later.name}.damaged.{count}"
            later.rename(later.with_name(name))


def index_list(indices: tuple[int, ...]) -> list[int] | str:
    """State indices as config.yaml records them: a list, or ``"A..B"`` for a long unbroken run
    (a pixel env's goal is its whole 12,288-entry image: one line, not 12,288)."""
    indices = [int(index) for index in indices]
    if len(indices) > 16 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"{indices[0]}..{indices[-1]}"
    return indices


def env_info(env: GoalEnv) -> dict[str, Any]:
    """Static facts of an env, recorded in config.yaml."""
    return {
        "name": env.name,
        "state_size": env.state_size,
        "goal_indices": index_list(env.goal_indices),
        "success_indices": index_list(env.success_indices),
        "action_size": env.action_size,
        "episode_length": env.episode_length,
    }


# Facts whose change makes a checkpoint's networks unfit for the env: its arrays cannot load.
SHAPE_FACTS = ("state_size", "goal_indices", "action_size")


def env_changes(run_dir: Path, env: GoalEnv) -> dict[str, tuple[Any, Any]]:
    """Facts of ``env`` (as ``env_info`` states them) that differ from those ``run_dir``'s
    config.yaml recorded when the run started: {fact: (recorded, now)}."""
    recorded = run_record(run_dir).get("env_info") or {}
    now = env_info(env)
    return {
        fact: (recorded[fact], value)
        for fact, value in now.items()
        if fact != "name" and fact in recorded and recorded[fact] != value
    }


def check_unchanged_env(run_dir: Path, env: GoalEnv, resuming: bool) -> str | None:
    """Raise ConfigError when ``env`` (built from ``run_dir``'s config.yaml) is not the env the
    run trained in: its code changed since (an env of one's own: its module). Evaluating, only
    changed sizes are refused (the checkpoint cannot load); another change (its episode length)
    is returned as a warning."""
    changes = env_changes(run_dir, env)
    refused = changes if resuming else {k: v for k, v in changes.items() if k in SHAPE_FACTS}
    shown = lambda facts, at: ", ".join(f"{fact} {values[at]}" for fact, values in facts.items())
    if refused:
        raise ConfigError(
            f"{run_dir} trained in {env.name} with {shown(refused, 0)}, but that env now has "
            f"{shown(refused, 1)}: its code changed since the run started; put it back as it "
            "was to go on (nothing was changed)"
        )
    if changes:
        return (
            f"{env.name} now has {shown(changes, 1)}, not the {shown(changes, 0)} {run_dir} "
            "trained with (its code changed since): this evaluation is not the training's"
        )
    return None


def record_devices(run_dir: Path, iteration: int) -> None:
    """Note in config.yaml, under ``resumed_on``, the JAX version and devices of a resume from
    ``iteration`` where they differ from those the run last ran on (its ``jax`` entry keeps
    the first launch's)."""
    document = run_record(run_dir)
    now = jax_info()
    resumes = document.get("resumed_on") or []
    if now == (resumes[-1].get("jax") if resumes else document.get("jax")):
        return
    document["resumed_on"] = [*resumes, {"at_iteration": iteration, "jax": now}]
    with replace_atomically(run_dir / "config.yaml") as stream:
        stream.write(yaml.safe_dump(document, sort_keys=False))


def jax_info() -> dict[str, Any]:
    """JAX version and devices, recorded in config.yaml."""
    return {
        "version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


# Options a resumed run may have changed in its config.yaml: where it runs and reports, how it
# checkpoints, where its dataset now lies (its files are checked), and its length (as
# --total-env-steps / --num-updates change it). Any other edit would be ignored (what the
# checkpoint holds wins) or mix two runs in one.
RESUME_EDITABLE_OPTIONS = frozenset(
    {
        "run_dir",
        "progress",
        "distributed",
        "loggers",
        "dataset",
        "keep_checkpoints",
        "checkpoint_every",
        "checkpoint_buffer",
        "total_env_steps",
        "num_updates",
        "eval_every",
    }
)


def fixed_options(config: TrainConfig) -> dict[str, Any]:
    """The options a run keeps from its start to its end, as JSON (a checkpoint records them)."""
    options = {k: v for k, v in config.to_dict().items() if k not in RESUME_EDITABLE_OPTIONS}
    return json.loads(json.dumps(options))


def refuse_edited_options(
    config: TrainConfig, recorded: dict[str, Any] | None, run_dir: Path, resuming: bool = True
):
    """Raise ConfigError when ``config`` (a run's config.yaml) changes an option the run's
    checkpoint was trained with (``recorded``: its progress document), for a resume or (not
    ``resuming``) for reading the checkpoint's policy back."""
    if recorded is None or "options" not in recorded:  # none yet, or saved before the record
        return
    # An option added since the checkpoint was saved takes its default, which keeps what the
    # library did before it (a new option's default must): no edit of the run's.
    now, then = fixed_options(config), {**fixed_options(TrainConfig()), **recorded["options"]}
    edited = [name for name in sorted(set(now) | set(then)) if now.get(name) != then.get(name)]
    if not edited:
        return
    changes = ", ".join(f"{name} {then.get(name)!r} -> {now.get(name)!r}" for name in edited)
    if not resuming:
        fix = "its networks and env are the ones it recorded, so undo the edit"
        if edited == ["eval_episodes"]:  # a count of one's own is a flag of eval.py
            fix = f"undo the edit, and give eval.py --episodes {now['eval_episodes']} instead"
        raise ConfigError(
            f"{run_dir}: config.yaml was edited since the checkpoint was saved ({changes}); "
            f"{fix} (nothing was read)"
        )
    raise ConfigError(
        f"--resume {run_dir}: config.yaml was edited since the checkpoint was saved ({changes}); "
        "a run goes on with the options it was trained with (its config.yaml may change only "
        f"{', '.join(sorted(RESUME_EDITABLE_OPTIONS - {'run_dir'}))}): undo the edit, or start a "
        f"new run with those options by --config {run_dir / 'config.yaml'} (nothing was changed)"
    )
