"""Host-side reporting: metric rows to JSONL, CSV, TensorBoard and W&B, and the progress bar.

Every sink takes the same rows: one plain dict per evaluation (one per seed per evaluation in
multi-seed runs, which add ``seed`` and ``member``). ``open_loggers`` opens the sinks a run asked
for; ``metrics.jsonl`` and ``metrics.csv`` are always written.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import math
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from jaxcrl.config import ConfigError, first_line, resume_command
from jaxcrl.extras import install_extra
from jaxcrl.files import replace_atomically, sync_file
from jaxcrl.stop_signals import StoppedAtOnce

LOGGER_KINDS = ("tensorboard", "wandb")

# Fields that identify a row rather than measure anything: never logged as scalars.
STEP_KEY = "env_steps"


def x_step(row: dict[str, Any]) -> int:
    """A row's position on the x axis: env steps, or gradient steps for offline runs (no env)."""
    return int(row[STEP_KEY] if row.get(STEP_KEY) is not None else row["gradient_steps"])


IDENTITY_KEYS = ("env_steps", "seed", "member")


def as_written(values: Any) -> np.ndarray:
    """An array of numbers as the logs write them: a float32 one as float64 values of its
    shortest decimals (0.14285715, not 0.1428571492433548), any other as it is."""
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.floating) and array.dtype.itemsize < 8:
        return np.array([float(str(value)) for value in array.ravel()]).reshape(array.shape)
    return array


def to_python(value: Any) -> Any:
    """A JSON-ready scalar from a JAX/NumPy scalar (non-finite floats become null), a float32
    one as its shortest decimal (``as_written``)."""
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "dtype"):
        value = as_written(value).item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, row: dict[str, Any]) -> None:
        """Append ``row``; values are converted to plain Python scalars."""
        with self.path.open("a") as stream:
            stream.write(json.dumps({k: to_python(v) for k, v in row.items()}) + "\n")

    def sync(self) -> None:
        """Put the rows written on disk (before the checkpoint of their iteration is saved)."""
        sync_file(self.path)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` file. A partly written last line (a file read or copied
    while its run writes it, or a disk that filled up) is left out with a warning; any other
    line that is not a JSON row is a ConfigError naming it."""
    lines = Path(path).read_bytes().splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            if number == len(lines):
                # Attributed here, so that reading the file again does not say it again.
                warnings.warn(f"{path}: line {number} is partly written; left out", stacklevel=1)
                break
            why = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8 text"
            raise ConfigError(
                f"{path}: line {number} is not a JSON row ({why}); repair or delete that line"
            ) from None
    return rows


class CsvLog:
    """Appends rows to ``metrics.csv``, widening its one header when a row brings a new key."""

    def __init__(self, path: Path, backfill: Sequence[dict[str, Any]] = ()):
        self.path = Path(path)
        self.columns: list[str] = []
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open(newline="") as stream:
                self.columns = next(csv.reader(stream), [])
        elif backfill:
            # A run dir from before the CSV existed: start the CSV with the rows it already has.
            for row in backfill:
                self.write(row)

    def write(self, row: dict[str, Any]) -> None:
        """Append ``row``; a new key rewrites the file once with the union of columns."""
        row = {k: _csv_cell(v) for k, v in row.items()}
        new_keys = [k for k in row if k not in self.columns]
        if new_keys:
            self._rewrite(self.columns + new_keys, extra=row)
            return
        with self.path.open("a", newline="") as stream:
            csv.DictWriter(stream, self.columns, restval="").writerow(row)

    def sync(self) -> None:
        """Put the rows written on disk (before the checkpoint of their iteration is saved)."""
        sync_file(self.path)

    def _rewrite(self, columns: list[str], extra: dict[str, Any]) -> None:
        """Write every old row plus ``extra`` under ``columns``, replacing the file atomically."""
        old_rows = read_csv(self.path) if self.path.exists() else []
        with replace_atomically(self.path, newline="") as stream:
            writer = csv.DictWriter(stream, columns, restval="")
            writer.writeheader()
            writer.writerows(old_rows)
            writer.writerow(extra)
        self.columns = columns


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Replace ``path`` atomically with ``rows`` as ``CsvLog`` writes them (columns in order of
    first appearance)."""
    cells = [{k: _csv_cell(v) for k, v in row.items()} for row in rows]
    columns = list(dict.fromkeys(key for row in cells for key in row))
    with replace_atomically(Path(path), newline="") as stream:
        writer = csv.DictWriter(stream, columns, restval="")
        writer.writeheader()
        writer.writerows(cells)


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a ``metrics.csv`` file as strings (empty string where a row lacks a column)."""
    with Path(path).open(newline="") as stream:
        return list(csv.DictReader(stream))


def _csv_cell(value: Any) -> Any:
    """A CSV cell: plain scalars as they are, null as empty, anything else as JSON."""
    value = to_python(value)
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)


def scalar_fields(row: dict[str, Any]) -> dict[str, float]:
    """The numeric, finite measurements of ``row`` (identity fields and text left out)."""
    scalars = {}
    for key, value in row.items():
        value = to_python(value)
        if key in IDENTITY_KEYS or isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            scalars[key] = float(value)
    return scalars


# The package each logger kind needs, and the extra that installs it.
LOGGER_PACKAGES = {"tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb", "wandb")}


def check_logger_packages(kinds: Sequence[str], run_dir: Path | None = None) -> None:
    """Refuse, before a run starts, a logger kind whose package is not installed or does not
    import; ``run_dir``: the run being resumed, whose config.yaml names its loggers."""
    for kind in dict.fromkeys(kinds):
        package, extra = LOGGER_PACKAGES[kind]
        drop = (
            f"drop {kind} from --loggers"
            if run_dir is None
            else f"remove {kind} from the loggers line of {Path(run_dir) / 'config.yaml'}"
        )
        if importlib.util.find_spec(package) is None:
            raise ConfigError(
                f"--loggers {kind} needs the {package} package, which is not installed: "
                f"{install_extra(extra)} (or {drop})"
            )
        try:
            importlib.import_module(package)
        except Exception as error:  # installed, but broken: a dependency missing
            raise ConfigError(
                f"--loggers {kind}: the {package} package is installed but does not import "
                f"({type(error).__name__}: {first_line(error)}); repair it "
                f"({install_extra(extra)}) or {drop}"
            ) from None


def first_step_to_log(earlier_rows: Sequence[dict[str, Any]]) -> int:
    """The x-axis step from which a reopened run logs again: past its last kept row."""
    return x_step(earlier_rows[-1]) + 1 if earlier_rows else 0


class TensorBoardLog:
    """Scalars to ``RUN_DIR/tensorboard/`` with ``env_steps`` (offline: gradient steps) as step.

    With ``split_members`` (a multi-seed or swept run), each member's rows go to an event file of
    its own, ``tensorboard/member_K/``, so TensorBoard shows each as its own run under the same
    tags. ``purge_step`` (a resumed run) hides what an earlier process logged from that step on:
    the rows the resume drops and logs again. Each row is on disk when ``write`` returns (an
    asynchronous writer, killed with the process, lost rows its checkpoint had saved).
    """

    def __init__(self, log_dir: Path, split_members: bool = False, purge_step: int | None = None):
        try:
            from tensorboardX.event_file_writer import EventsWriter
            from tensorboardX.proto.event_pb2 import Event, SessionLog
            from tensorboardX.summary import scalar
        except ImportError as error:
            raise ImportError(
                f"TensorBoard logging needs tensorboardX: {install_extra('tensorboard')}"
            ) from error
        self.log_dir = Path(log_dir)
        self.split_members = split_members
        self.purge_step = purge_step
        self._new_file, self._event, self._scalar = EventsWriter, Event, scalar
        self._session_start = SessionLog(status=SessionLog.START)
        self.writers: dict[int | None, Any] = {}

    def _writer(self, member: int | None) -> Any:
        """The event file of ``member`` (None: the run's one), opened at its first row."""
        if member not in self.writers:
            folder = self.log_dir if member is None else self.log_dir / f"member_{member}"
            folder.mkdir(parents=True, exist_ok=True)
            # A file of its own, after any earlier process's in name order (the names would
            # otherwise match for writers opened within the same second).
            writer = self._new_file(str(folder / "events"), f".{time.time_ns()}")
            if self.purge_step is not None:  # TensorBoard drops earlier events from this step on
                writer.write_event(
                    self._event(step=self.purge_step, session_log=self._session_start)
                )
            self.writers[member] = writer
        return self.writers[member]

    def write(self, row: dict[str, Any]) -> None:
        """Add every scalar of ``row`` at its x-axis step, on disk when this returns."""
        writer = self._writer(row.get("member") if self.split_members else None)
        summaries = [self._scalar(tag, value) for tag, value in scalar_fields(row).items()]
        values = [value for summary in summaries for value in summary.value]
        event = self._event(wall_time=time.time(), step=x_step(row))
        event.summary.value.extend(values)
        writer.write_event(event)
        writer.flush()

    def close(self) -> None:
        """Close every event file."""
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


def wandb_environment(run_dir: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The WANDB_* variables that keep W&B offline by default and its files inside the run dir."""
    environ = os.environ if environ is None else environ
    run_dir = Path(run_dir).resolve()
    root = run_dir / "wandb"
    return {
        # W&B would otherwise sync to its servers; a user's own WANDB_MODE (e.g. online) wins.
        "WANDB_MODE": environ.get("WANDB_MODE", "offline"),
        # W&B keeps its runs in a "wandb" folder inside WANDB_DIR, i.e. in RUN_DIR/wandb/.
        "WANDB_DIR": str(run_dir),
        "WANDB_CACHE_DIR": str(root / "cache"),
        "WANDB_CONFIG_DIR": str(root / "config"),
        "WANDB_DATA_DIR": str(root / "data"),
        "WANDB_ARTIFACT_DIR": str(root / "artifacts"),
    }


def wandb_init_kwargs(
    run_dir: Path, run_config: dict[str, Any], environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Arguments of ``wandb.init`` for a run dir: its name, config, folder and mode."""
    environ = os.environ if environ is None else environ
    settings = wandb_environment(run_dir, environ)
    return {
        "project": environ.get("WANDB_PROJECT", "jaxcrl"),
        "name": Path(run_dir).resolve().name,
        "config": run_config,
        "dir": settings["WANDB_DIR"],
        "mode": settings["WANDB_MODE"],
    }


def import_wandb() -> Any:
    """The ``wandb`` module, or an ImportError that says how to install it."""
    try:
        import wandb
    except ImportError as error:
        raise ImportError(
            f"W&B logging needs the wandb package: {install_extra('wandb')}"
        ) from error
    return wandb


# What a W&B warning says is safe: the run's own rows.
KEPT = "metrics.jsonl keeps every row"


class WandbLog:
    """Rows to a Weights & Biases run kept in ``RUN_DIR/wandb/`` (offline unless WANDB_MODE says).

    The x axis is ``env_steps`` (offline runs: ``gradient_steps``), also W&B's own step. With
    ``split_members`` (a multi-seed or swept run), rows are logged as ``member_K/<metric>`` so
    members do not overwrite each other at the same step. The W&B run id is kept in
    ``RUN_DIR/wandb/run_id``: a resumed run goes on in the same W&B run, and ``earlier_rows`` (the
    rows the run kept) are logged again from the first step that W&B does not hold, so rows a
    killed process never handed to W&B are not lost. Once started, W&B never stops the run: an
    error from it (its service died, an upload failed) is one warning, and W&B logs no more.
    """

    def __init__(
        self,
        run_dir: Path,
        run_config: dict[str, Any],
        split_members: bool = False,
        earlier_rows: Sequence[dict[str, Any]] = (),
    ):
        wandb = import_wandb()
        variables = wandb_environment(run_dir)
        for folder in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
            Path(variables[folder]).mkdir(parents=True, exist_ok=True)
        self.split_members = split_members
        self.step_key = "gradient_steps" if run_config.get("dataset") else STEP_KEY
        # W&B reads its folders from the environment (also in its service process); put ours in
        # place for the run and restore the caller's on close.
        self._saved_environ = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        self._wandb = wandb
        try:
            run_id = wandb_run_id(run_dir)
            # A resume may give the run a new length: its config then changes a value.
            self.run = wandb.init(
                **wandb_init_kwargs(run_dir, run_config),
                id=run_id,
                resume="allow",
                allow_val_change=True,
            )
        except Exception as error:  # a missing login, a bad WANDB_* setting, no network
            self._restore_environ()
            raise ConfigError(
                f"W&B did not start ({type(error).__name__}: {all_lines(error)}); fix that and "
                f"continue with {resume_command(run_dir)} (to go on without W&B, first "
                f"remove wandb from the loggers line of {Path(run_dir) / 'config.yaml'})"
            ) from None
        self.run.define_metric(self.step_key)
        self.run.define_metric("*", step_metric=self.step_key)
        self.next_step = int(self.run.step)  # W&B drops rows logged below its current step
        for row in earlier_rows:
            self.write(row)

    def write(self, row: dict[str, Any]) -> None:
        """Log the scalars of ``row`` at its x-axis step (skipped when W&B holds that step)."""
        step = x_step(row)
        if step < self.next_step or self.run is None:  # None: W&B failed earlier in this run
            return
        scalars = scalar_fields(row)
        if self.split_members:
            scalars = {f"member_{row['member']}/{k}": v for k, v in scalars.items()}
        log = partial(self.run.log, {self.step_key: step, **scalars}, step=step)
        if self._survive(log, "stopped logging", "the run goes on, " + KEPT):
            self.next_step = step

    def close(self, exit_code: int = 0) -> None:
        """Finish the W&B run with ``exit_code`` (non-zero: it failed or was stopped), shut W&B's
        service down so the next run in this process reads its own folders, and give back the
        caller's environment; a W&B error here is a warning, never the run's failure."""
        try:
            if self.run is not None:
                self._survive(
                    partial(self.run.finish, exit_code=exit_code), "did not finish its run"
                )
            # Also after an error: it unregisters W&B's exit hook, which would print a traceback.
            self._survive(self._wandb.teardown, "did not shut down")
        finally:
            self._restore_environ()

    def _survive(self, call: Callable[[], Any], what: str, after: str = KEPT) -> bool:
        """Whether W&B's ``call`` succeeded; its first error warns and ends W&B's logging."""
        try:
            call()
            return True
        except StoppedAtOnce:  # a second SIGTERM/SIGINT that arrived inside W&B's call
            raise
        except (Exception, SystemExit) as error:  # W&B's teardown exits with its service's code
            if self.run is not None:
                bar_write(
                    f"warning: W&B {what} ({type(error).__name__}: {all_lines(error)}); {after}",
                    file=sys.stderr,
                )
            self.run = None
            return False

    def _restore_environ(self) -> None:
        """Put the caller's WANDB_* variables back."""
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def all_lines(error: BaseException, most: int = 300) -> str:
    """An error's message on one line, at most ``most`` characters (pydantic, for one, names
    the setting at fault only on its later lines)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text if len(text) <= most else text[: most - 3] + "..."


def wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of ``run_dir``: the one kept in ``RUN_DIR/wandb/run_id``, else a new one
    written there."""
    path = Path(run_dir) / "wandb" / "run_id"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    run_id = uuid.uuid4().hex[:8]  # W&B's own ids are 8 characters of [0-9a-z]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run_id + "\n")
    return run_id


class Loggers:
    """Every sink of a run behind one ``write`` and one ``close``."""

    def __init__(self, sinks: Sequence[Any]):
        self.sinks = list(sinks)

    def write(self, row: dict[str, Any]) -> None:
        """Send ``row`` (converted to plain Python scalars once) to every sink."""
        row = {k: to_python(v) for k, v in row.items()}
        for sink in self.sinks:
            sink.write(row)

    def sync(self) -> None:
        """Put every row written so far on disk: a checkpoint saved after them keeps its rows
        through a power cut (once per evaluation, not per member row)."""
        for sink in self.sinks:
            if hasattr(sink, "sync"):
                sink.sync()

    def close(self, exit_code: int = 0) -> None:
        """Close the sinks that hold files or services open; ``exit_code`` tells W&B how the
        run ended (0: finished or will resume cleanly). Every sink is closed even if one fails;
        the first failure is raised after."""
        failures = []
        for sink in self.sinks:
            try:
                if isinstance(sink, WandbLog):
                    sink.close(exit_code)
                elif hasattr(sink, "close"):
                    sink.close()
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]

    def __enter__(self) -> Loggers:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def check_logger_kinds(kinds: Sequence[str]) -> None:
    """Raise ValueError naming the valid kinds if ``kinds`` holds an unknown one."""
    unknown = [kind for kind in kinds if kind not in LOGGER_KINDS]
    if unknown:
        raise ValueError(
            f"unknown logger kind(s) {unknown}; valid kinds are {list(LOGGER_KINDS)} "
            "(metrics.jsonl and metrics.csv are always written)"
        )


def open_loggers(
    run_dir: Path, kinds: Sequence[str], run_config: dict[str, Any], num_members: int = 1
) -> Loggers:
    """JSONL and CSV sinks in ``run_dir`` plus the extra ``kinds`` (tensorboard, wandb).

    A run dir that already holds rows (a resume) is continued: TensorBoard hides what an earlier
    process logged after them, or logs them all when it was not a logger before, and W&B goes on
    in the same run.
    """
    check_logger_kinds(kinds)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    jsonl_path = run_dir / "metrics.jsonl"
    earlier_rows = read_metrics(jsonl_path) if jsonl_path.exists() else []
    sinks: list[Any] = [MetricsLog(jsonl_path), CsvLog(run_dir / "metrics.csv", earlier_rows)]
    split_members = num_members > 1
    for kind in dict.fromkeys(kinds):  # each kind once, in the order given
        if kind == "tensorboard":
            folder = run_dir / "tensorboard"
            if any(folder.rglob("events*")):
                sinks.append(TensorBoardLog(folder, split_members, first_step_to_log(earlier_rows)))
            else:  # a new sink (TensorBoard added at a resume): the earlier rows first
                sinks.append(TensorBoardLog(folder, split_members))
                for row in earlier_rows:
                    sinks[-1].write(row)
        elif kind == "wandb":
            sinks.append(WandbLog(run_dir, run_config, split_members, earlier_rows))
    return Loggers(sinks)


def bar_write(text: str, file: Any = None) -> None:
    """Print ``text`` as a line of its own above a progress bar being drawn (as print without)."""
    tqdm.write(text, file=file)


def shows_a_bar(stream: Any) -> bool:
    """Whether ``stream`` draws a progress bar in place: a terminal, or a Jupyter kernel's
    output (which renders carriage returns), not a file or a pipe."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A progress bar over env steps (offline: gradient steps) with their rate, ETA and success."""

    def __init__(
        self, total_steps: int, enabled: bool, offline: bool = False, initial_steps: int = 0
    ):
        """``initial_steps``: the steps done before this process (a resume); open the bar after
        compiling, so its rate and ETA count training alone. Where stderr is neither a terminal
        nor a notebook's (a batch job's log file), a bar would write a frame per refresh into
        one line of the log: each evaluation prints a line instead, as with ``enabled`` False."""
        self.enabled = enabled and shows_a_bar(sys.stderr)
        # Online runs count env steps at "sps"; offline runs count gradient steps at "updates_per_s".
        self.step_name, self.rate_name = (
            ("gradient_steps", "updates_per_s") if offline else ("env_steps", "sps")
        )
        self.bar = tqdm(
            total=total_steps,
            initial=initial_steps,
            unit="update" if offline else "step",
            unit_scale=True,
            dynamic_ncols=True,
            disable=not self.enabled,
            file=sys.stderr,
            desc="train",
        )

    def update(self, steps: int, groups: dict[str, dict[str, Any]]) -> None:
        """Move the bar to ``steps`` and show the newest figures (a line when disabled).

        ``groups`` maps each swept value's label ("" without a sweep) to its members' mean row:
        a sweep's success shows per value, never pooled over values trained differently.
        """
        rate = next(iter(groups.values())).get(self.rate_name, 0.0)  # the run's, in every row
        if self.enabled:
            self.bar.update(steps - self.bar.n)
            successes = [
                f"success[{label}]={row.get('eval/success'):.2f}"
                if label
                else f"success={row.get('eval/success'):.2f}"
                for label, row in groups.items()
            ]
            self.bar.set_postfix_str(f"{self.rate_name}={rate:,.0f}, " + " ".join(successes))
            return
        figures = [f"{self.step_name}={steps}", f"{self.rate_name}={rate:.0f}"]
        for label, row in groups.items():
            success = f"success[{label}]" if label else "success"
            figures.append(f"{success}={row.get('eval/success'):.3f}")
            if not label:
                near = row.get("eval/time_near_goal", float("nan"))
                figures.append(f"time_near_goal={near:.3f}")
        print(" ".join(figures), flush=True)

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()
