"""Metric sinks: JSONL, CSV, TensorBoard and W&B settings behind ``open_loggers``."""

import dataclasses
import errno
import importlib.machinery
import importlib.util
import json
import os
import struct
import sys
import types
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from tensorboardX.proto import event_pb2
from tiny_runs import TINY

from jaxcrl import logger
from jaxcrl.config import ConfigError
from jaxcrl.logger import (
    LOGGER_KINDS,
    CsvLog,
    check_logger_packages,
    open_loggers,
    read_csv,
    read_metrics,
    wandb_environment,
    wandb_init_kwargs,
)


def read_event_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars of every TensorBoard event file directly in ``folder``, by tag."""
    scalars: dict[str, list[tuple[int, float]]] = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    for path in files:
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            # A TFRecord: uint64 length, uint32 length CRC, payload, uint32 payload CRC.
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 12
            event = event_pb2.Event.FromString(data[offset : offset + length])
            offset += length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_csv_header_grows_with_new_keys_and_keeps_every_row(tmp_path):
    path = tmp_path / "metrics.csv"
    log = CsvLog(path)
    log.write({"env_steps": 10, "eval/success": 0.5})
    log.write({"env_steps": 20, "eval/success": 0.25, "critic/loss": 1.5})
    log.write({"env_steps": 30, "eval/success": None})
    log.write({"env_steps": 40, "alpha": np.float32(0.125), "eval/success": float("nan")})
    lines = path.read_text().splitlines()
    assert lines[0] == "env_steps,eval/success,critic/loss,alpha"
    assert sum(line.startswith("env_steps") for line in lines) == 1
    rows = read_csv(path)
    assert [row["env_steps"] for row in rows] == ["10", "20", "30", "40"]
    assert rows[0] == {"env_steps": "10", "eval/success": "0.5", "critic/loss": "", "alpha": ""}
    assert rows[1]["critic/loss"] == "1.5" and rows[2]["eval/success"] == ""
    assert rows[3]["alpha"] == "0.125" and rows[3]["eval/success"] == ""
    assert not list(tmp_path.glob("*.tmp"))


def test_reopened_csv_continues_with_its_header(tmp_path):
    path = tmp_path / "metrics.csv"
    CsvLog(path).write({"a": 1, "b": 2})
    reopened = CsvLog(path)
    assert reopened.columns == ["a", "b"]
    reopened.write({"b": 4, "a": 3})
    reopened.write({"a": 5, "c": 6})
    assert read_csv(path) == [
        {"a": "1", "b": "2", "c": ""},
        {"a": "3", "b": "4", "c": ""},
        {"a": "5", "b": "", "c": "6"},
    ]


def test_open_loggers_appends_to_an_existing_run(tmp_path):
    run_dir = tmp_path / "run"
    with open_loggers(run_dir, [], {}) as loggers:
        loggers.write({"env_steps": 1, "eval/success": 0.0})
        loggers.write({"env_steps": 2, "eval/success": 0.5})
    with open_loggers(run_dir, [], {}) as loggers:
        loggers.write({"env_steps": 3, "eval/success": 1.0, "eval/final_distance": 0.1})
    jsonl = read_metrics(run_dir / "metrics.jsonl")
    csv_rows = read_csv(run_dir / "metrics.csv")
    assert [row["env_steps"] for row in jsonl] == [1, 2, 3]
    assert [row["env_steps"] for row in csv_rows] == ["1", "2", "3"]
    assert csv_rows[-1]["eval/final_distance"] == "0.1" and csv_rows[0]["eval/final_distance"] == ""


def test_sync_puts_the_rows_on_disk_and_a_file_system_that_cannot_is_no_error(
    tmp_path, monkeypatch
):
    # A checkpoint is saved after its iteration's rows are written: a power cut in between lost
    # the rows, which a resume from that checkpoint never logs again. The run syncs once per
    # evaluation, not per member row (a 100-seed sweep's 200 fsyncs on a network disk).
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino))
    files = [tmp_path / "metrics.jsonl", tmp_path / "metrics.csv"]
    with open_loggers(tmp_path, [], {}) as loggers:
        for member in range(3):
            loggers.write({"env_steps": 1, "member": member, "eval/success": 0.0})
        synced.clear()  # (the CSV's first write replaced a staged file, synced before renaming)
        loggers.sync()
        assert sorted(synced) == sorted(path.stat().st_ino for path in files)

        def cannot(fd):
            raise OSError(errno.EINVAL, "Invalid argument")

        monkeypatch.setattr(os, "fsync", cannot)  # some FUSE and network mounts
        loggers.sync()


def test_csv_is_backfilled_from_jsonl_of_a_run_that_had_none(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rows = [{"env_steps": 1, "eval/success": 0.0}, {"env_steps": 2, "eval/success": 1.0}]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    with open_loggers(run_dir, [], {}) as loggers:
        loggers.write({"env_steps": 3, "eval/success": 0.5})
    assert [row["eval/success"] for row in read_csv(run_dir / "metrics.csv")] == [
        "0.0",
        "1.0",
        "0.5",
    ]
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 3


def test_tensorboard_scalars_use_env_steps_and_one_folder_per_member(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    run_dir = tmp_path / "run"
    with open_loggers(run_dir, ["tensorboard"], {"env": "point_maze"}, num_members=2) as loggers:
        for env_steps in (100, 200):
            for member in (0, 1):
                loggers.write(
                    {
                        "env_steps": env_steps,
                        "seed": 10 + member,
                        "member": member,
                        "eval/success": np.float32(member + env_steps / 1000),
                        "critic/loss": 2.0,
                        "note": "text is not a scalar",
                        "eval/final_distance": None,
                    }
                )
    for member in (0, 1):
        scalars = read_event_scalars(run_dir / "tensorboard" / f"member_{member}")
        assert set(scalars) == {"eval/success", "critic/loss"}
        steps, values = zip(*scalars["eval/success"], strict=True)
        assert steps == (100, 200)
        np.testing.assert_allclose(values, [member + 0.1, member + 0.2], rtol=1e-6)
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "metrics.csv",
        "metrics.jsonl",
        "tensorboard",
    ]


def test_tensorboard_single_seed_rows_go_to_the_tensorboard_folder(tmp_path):
    run_dir = tmp_path / "run"
    with open_loggers(run_dir, ["tensorboard", "tensorboard"], {}) as loggers:
        assert len(loggers.sinks) == 3  # JSONL, CSV and one TensorBoard sink
        # A one-seed run's rows name their member (0) too; they stay in one folder.
        loggers.write({"env_steps": 7, "member": 0, "iteration": 1, "eval/success": 0.75})
    scalars = read_event_scalars(run_dir / "tensorboard")
    assert scalars == {"iteration": [(7, 1.0)], "eval/success": [(7, 0.75)]}
    assert not (run_dir / "tensorboard" / "member_0").exists()


def session_starts(folder: Path) -> list[int]:
    """Steps of the SessionLog START events (TensorBoard's purge marks) in ``folder``."""
    starts = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += length + 16
            if event.session_log.status == event_pb2.SessionLog.START:
                starts.append(event.step)
    return starts


def test_a_resumed_run_hides_the_tensorboard_rows_it_logs_again(tmp_path):
    # A resume drops the rows logged after its checkpoint and logs them again; TensorBoard must
    # not show both, so the reopened writer marks a purge from the step after the kept rows.
    run_dir = tmp_path / "run"
    rows = [{"env_steps": step, "member": 0, "eval/success": step / 1000} for step in (1, 2, 3)]
    with open_loggers(run_dir, ["tensorboard"], {}) as loggers:
        for row in rows:
            loggers.write(row)
    assert session_starts(run_dir / "tensorboard") == []
    (run_dir / "metrics.jsonl").write_text(json.dumps(rows[0]) + "\n")  # the checkpoint's rows
    with open_loggers(run_dir, ["tensorboard"], {}) as loggers:
        loggers.write(rows[1])
    assert session_starts(run_dir / "tensorboard") == [2]
    # Both processes' files are kept (opened within one second, their names used to match),
    # the resumed one last in name order, as TensorBoard reads them.
    files = sorted((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 2
    steps = [step for step, _ in read_event_scalars(run_dir / "tensorboard")["eval/success"]]
    assert steps == [1, 2, 3, 2]


def test_tensorboard_added_at_a_resume_logs_the_earlier_rows_too(tmp_path):
    # config.yaml's loggers may change at a resume; the new sink showed only the rows after it.
    run_dir = tmp_path / "run"
    rows = [{"env_steps": step, "member": m, "eval/success": step / 10} for step in (1, 2, 3)
            for m in (0, 1)]  # fmt: skip
    with open_loggers(run_dir, [], {}, num_members=2) as loggers:
        for row in rows[:4]:
            loggers.write(row)
    with open_loggers(run_dir, ["tensorboard"], {}, num_members=2) as loggers:
        for row in rows[4:]:
            loggers.write(row)
    for member in (0, 1):
        folder = run_dir / "tensorboard" / f"member_{member}"
        assert session_starts(folder) == []  # nothing to hide
        assert [step for step, _ in read_event_scalars(folder)["eval/success"]] == [1, 2, 3]


def test_tensorboard_rows_are_on_disk_when_written(tmp_path):
    # A run killed right after an evaluation never closes its writers, and a resume logs again
    # only the rows after its checkpoint: a row still queued in a writer thread was lost.
    run_dir = tmp_path / "run"
    loggers = open_loggers(run_dir, ["tensorboard"], {})
    expected = [(7, 0.75), (9, 0.5)]
    for step, success in expected:
        loggers.write({"env_steps": step, "iteration": 1, "eval/success": success})
        assert read_event_scalars(run_dir / "tensorboard")["eval/success"][-1] == (step, success)
    loggers.close()


def test_unknown_logger_kind_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"tensorbord.*'tensorboard', 'wandb'"):
        open_loggers(tmp_path / "run", ["tensorbord"], {})
    assert not (tmp_path / "run").exists()
    assert LOGGER_KINDS == ("tensorboard", "wandb")


def test_missing_wandb_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes `import wandb` raise ImportError
    with pytest.raises(ImportError, match=r"pip install .*\[wandb\]'"):
        open_loggers(tmp_path / "run", ["wandb"], {})


def test_wandb_settings_are_offline_and_inside_the_run_dir(tmp_path):
    run_dir = tmp_path / "run"
    variables = wandb_environment(run_dir, environ={})
    assert variables["WANDB_MODE"] == "offline"
    for name, value in variables.items():
        if name != "WANDB_MODE":
            assert Path(value).is_relative_to(run_dir.resolve()), name
    for name in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        assert Path(variables[name]).is_relative_to(run_dir.resolve() / "wandb"), name
    assert wandb_environment(run_dir, environ={"WANDB_MODE": "online"})["WANDB_MODE"] == "online"
    kwargs = wandb_init_kwargs(run_dir, {"critic_lr": 3e-4}, environ={})
    assert kwargs["dir"] == str(run_dir.resolve()) and kwargs["mode"] == "offline"
    assert kwargs["name"] == "run" and kwargs["config"] == {"critic_lr": 3e-4}


class FakeWandbRun:
    """Records what a W&B run is given; ``step`` is where W&B's history stands."""

    def __init__(self, step: int = 0):
        self.step = step
        self.logged, self.metrics, self.exit_code = [], [], None

    def define_metric(self, name, step_metric=None):
        self.metrics.append((name, step_metric))

    def log(self, data, step=None):
        self.logged.append((step, data))

    def finish(self, exit_code=None):
        self.exit_code = exit_code


def fake_wandb(monkeypatch, run: FakeWandbRun, seen: dict) -> None:
    """Put a fake ``wandb`` module in place whose ``init`` records its arguments."""

    def init(**kwargs):
        seen.setdefault("kwargs", []).append(kwargs)
        seen["environ"] = {k: v for k, v in os.environ.items() if k.startswith("WANDB_")}
        return run

    def teardown():
        seen["teardowns"] = seen.get("teardowns", 0) + 1
        if "teardown_error" in seen:
            raise seen["teardown_error"]

    module = types.ModuleType("wandb")  # with a spec, so check_logger_packages finds it
    module.__spec__ = importlib.machinery.ModuleSpec("wandb", None)
    module.init, module.teardown = init, teardown
    monkeypatch.setitem(sys.modules, "wandb", module)


def test_wandb_sink_sets_its_folders_for_the_run_and_prefixes_members(tmp_path, monkeypatch):
    run, seen = FakeWandbRun(), {}
    fake_wandb(monkeypatch, run, seen)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_CACHE_DIR", "/somewhere/else")
    run_dir = tmp_path / "run"
    loggers = open_loggers(run_dir, ["wandb"], {"seed": 3}, num_members=2)
    loggers.write({"env_steps": 5, "member": 1, "seed": 4, "eval/success": 0.5})
    loggers.close()

    assert seen["environ"]["WANDB_MODE"] == "offline"
    assert seen["environ"]["WANDB_CACHE_DIR"] == str(run_dir.resolve() / "wandb" / "cache")
    kwargs = seen["kwargs"][0]
    assert kwargs["config"] == {"seed": 3} and kwargs["mode"] == "offline"
    assert run.logged == [(5, {"env_steps": 5, "member_1/eval/success": 0.5})]
    assert ("*", "env_steps") in run.metrics and run.exit_code == 0 and seen["teardowns"] == 1
    assert os.environ["WANDB_CACHE_DIR"] == "/somewhere/else" and "WANDB_MODE" not in os.environ
    assert (run_dir / "wandb" / "cache").is_dir()


def test_wandb_one_seed_runs_are_not_prefixed_and_offline_runs_count_gradient_steps(
    tmp_path, monkeypatch
):
    run, seen = FakeWandbRun(), {}
    fake_wandb(monkeypatch, run, seen)
    with open_loggers(tmp_path / "online", ["wandb"], {}) as loggers:
        loggers.write({"env_steps": 5, "member": 0, "eval/success": 0.5})
    assert run.logged == [(5, {"env_steps": 5, "eval/success": 0.5})]
    run.logged.clear()
    with open_loggers(tmp_path / "offline", ["wandb"], {"dataset": "d.npz"}) as loggers:
        loggers.write({"gradient_steps": 40, "member": 0, "eval/success": 0.5})
    assert run.logged == [(40, {"gradient_steps": 40, "eval/success": 0.5})]
    assert ("*", "gradient_steps") in run.metrics


def test_a_resumed_run_goes_on_in_its_w_and_b_run_with_the_rows_w_and_b_lacks(
    tmp_path, monkeypatch
):
    run_dir, seen = tmp_path / "run", {}
    first = FakeWandbRun()
    fake_wandb(monkeypatch, first, seen)
    rows = [{"env_steps": step, "member": 0, "eval/success": step / 10} for step in (1, 2, 3)]
    loggers = open_loggers(run_dir, ["wandb"], {})
    for row in rows:
        loggers.write(row)
    # Killed: never closed. W&B (online) had received the first row only; a resume kept two.
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[:2]))
    second = FakeWandbRun(step=2)
    fake_wandb(monkeypatch, second, seen)
    with open_loggers(run_dir, ["wandb"], {}) as loggers:
        loggers.write({**rows[0], "eval/success": 9.0})  # below W&B's step: it holds that one
        loggers.write(rows[2])
    first_id = seen["kwargs"][0]["id"]
    assert [kwargs["id"] for kwargs in seen["kwargs"]] == [first_id, first_id]
    assert all(kwargs["resume"] == "allow" for kwargs in seen["kwargs"])
    assert all(kwargs["allow_val_change"] for kwargs in seen["kwargs"])  # a new length
    assert (run_dir / "wandb" / "run_id").read_text().strip() == first_id
    assert [step for step, _ in second.logged] == [2, 3]  # the kept row W&B lacked, then new


def test_a_w_and_b_run_that_fails_records_its_exit_code(tmp_path, monkeypatch):
    run = FakeWandbRun()
    fake_wandb(monkeypatch, run, {})
    open_loggers(tmp_path / "run", ["wandb"], {}).close(exit_code=130)
    assert run.exit_code == 130


def test_w_and_b_that_cannot_start_is_one_line_that_says_how_to_go_on(tmp_path, monkeypatch):
    def init(**kwargs):
        raise RuntimeError("api_key not configured (no-tty)\nmore detail")

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.delenv("WANDB_DIR", raising=False)
    with pytest.raises(ConfigError) as error:
        open_loggers(tmp_path / "run", ["wandb"], {})
    run_dir = tmp_path / "run"
    assert str(error.value) == (
        "W&B did not start (RuntimeError: api_key not configured (no-tty) more detail); fix that "
        f"and continue with jaxcrl.run.resume('{run_dir}') (to go on without W&B, first "
        f"remove wandb from the loggers line of {run_dir / 'config.yaml'})"
    )
    assert "WANDB_DIR" not in os.environ


def test_a_logger_whose_package_is_missing_is_refused_before_the_run(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "wandb" else real_find_spec(name, *args),
    )
    check_logger_packages(["tensorboard"])
    with pytest.raises(ConfigError, match=r"--loggers wandb needs the wandb package, which is not"):
        check_logger_packages(["tensorboard", "wandb"])
    with pytest.raises(ConfigError, match=r"the loggers line of run/config.yaml\)"):
        check_logger_packages(["wandb"], run_dir=Path("run"))  # a resumed run's own loggers


def test_a_logger_package_that_does_not_import_is_refused_with_its_cause(monkeypatch):
    real_find_spec, real_import = importlib.util.find_spec, importlib.import_module

    def broken_import(name, *args):
        if name == "wandb":
            raise ModuleNotFoundError("No module named 'opentelemetry'")
        return real_import(name, *args)

    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: object() if name == "wandb" else real_find_spec(name, *args),
    )
    monkeypatch.setattr(importlib, "import_module", broken_import)
    with pytest.raises(ConfigError) as error:
        check_logger_packages(["wandb"])
    from jaxcrl.extras import install_extra

    assert str(error.value) == (
        "--loggers wandb: the wandb package is installed but does not import "
        "(ModuleNotFoundError: No module named 'opentelemetry'); repair it "
        f"({install_extra('wandb')}) or drop wandb from --loggers"
    )


def test_loggers_write_plain_values_to_every_sink(tmp_path):
    class Recorder:
        def __init__(self):
            self.rows = []

        def write(self, row):
            self.rows.append(row)

    recorder = Recorder()
    logger.Loggers([recorder]).write({"x": np.float64(1.5), "y": np.int32(2), "z": np.inf})
    assert recorder.rows == [{"x": 1.5, "y": 2, "z": None}]
    assert type(recorder.rows[0]["y"]) is int
    # float32 metrics read as float32 writes them, not as their float64 expansion
    logger.Loggers([recorder]).write({"success": np.float32(1 / 7), "loss": jnp.float32(0.1)})
    assert recorder.rows[-1] == {"success": 0.14285715, "loss": 0.1}
    assert json.dumps(recorder.rows[-1]) == '{"success": 0.14285715, "loss": 0.1}'


class CommError(Exception):
    """What W&B raises when an upload fails."""


class FailingWandbRun(FakeWandbRun):
    """A W&B run whose service dies after ``good_logs`` rows: ``log`` and ``finish`` raise."""

    def __init__(self, good_logs: int, finish_error: Exception | None = None):
        super().__init__()
        self.good_logs, self.finish_error, self.finish_calls = good_logs, finish_error, 0

    def log(self, data, step=None):
        if len(self.logged) >= self.good_logs:
            raise ConnectionResetError(104, "Connection reset by peer")
        super().log(data, step)

    def finish(self, exit_code=None):
        self.finish_calls += 1
        if self.finish_error is not None:
            raise self.finish_error
        super().finish(exit_code)


def warnings_of(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are warnings."""
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_w_and_b_that_dies_mid_run_is_one_warning_and_the_other_sinks_get_every_row(
    tmp_path, monkeypatch, capsys
):
    run = FailingWandbRun(good_logs=1, finish_error=ConnectionResetError("Connection lost"))
    seen = {"teardown_error": ConnectionResetError("Connection lost")}
    fake_wandb(monkeypatch, run, seen)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    run_dir = tmp_path / "run"
    # W&B first: its failure must not keep a row from TensorBoard, nor TensorBoard from closing.
    loggers = open_loggers(run_dir, ["wandb", "tensorboard"], {})
    rows = [{"env_steps": step, "member": 0, "eval/success": step / 10} for step in (1, 2, 3)]
    for row in rows:
        loggers.write(row)
    loggers.close()

    assert warnings_of(capsys.readouterr().err) == [
        "warning: W&B stopped logging (ConnectionResetError: [Errno 104] Connection reset by "
        "peer); the run goes on, metrics.jsonl keeps every row"
    ]
    assert [step for step, _ in run.logged] == [1]
    assert run.finish_calls == 0 and seen["teardowns"] == 1  # W&B's exit hook is gone
    assert [row["env_steps"] for row in read_metrics(run_dir / "metrics.jsonl")] == [1, 2, 3]
    assert [row["env_steps"] for row in read_csv(run_dir / "metrics.csv")] == ["1", "2", "3"]
    tensorboard = loggers.sinks[-1]
    assert tensorboard.writers == {}  # closed
    steps = [step for step, _ in read_event_scalars(run_dir / "tensorboard")["eval/success"]]
    assert steps == [1, 2, 3]
    assert "WANDB_DIR" not in os.environ


def test_w_and_b_that_fails_at_finish_is_one_warning_and_everything_closes(
    tmp_path, monkeypatch, capsys
):
    run = FailingWandbRun(good_logs=9, finish_error=CommError("upload failed\nretry later"))
    seen = {"teardown_error": SystemExit(1)}  # W&B's teardown exits with its service's code
    fake_wandb(monkeypatch, run, seen)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    run_dir = tmp_path / "run"
    loggers = open_loggers(run_dir, ["wandb", "tensorboard"], {})
    loggers.write({"env_steps": 1, "member": 0, "eval/success": 0.5})
    loggers.close()

    assert warnings_of(capsys.readouterr().err) == [
        "warning: W&B did not finish its run (CommError: upload failed retry later); "
        "metrics.jsonl keeps every row"
    ]
    assert run.finish_calls == 1 and seen["teardowns"] == 1
    assert loggers.sinks[-1].writers == {}
    assert "WANDB_DIR" not in os.environ


def test_a_sink_whose_close_fails_does_not_keep_the_others_open():
    class Sink:
        def __init__(self, error=None):
            self.error, self.closed = error, False

        def write(self, row):
            pass

        def close(self):
            self.closed = True
            if self.error is not None:
                raise self.error

    sinks = [Sink(OSError(28, "No space left on device")), Sink(), Sink(ValueError("late"))]
    with pytest.raises(OSError, match="No space left"):
        logger.Loggers(sinks).close()
    assert all(sink.closed for sink in sinks)


def test_a_run_whose_w_and_b_dies_trains_checkpoints_and_logs_to_the_end(
    tmp_path, monkeypatch, capsys
):
    from jaxcrl.run import train

    run = FailingWandbRun(good_logs=1, finish_error=CommError("upload failed"))
    fake_wandb(monkeypatch, run, {})
    config = dataclasses.replace(
        TINY, run_dir=str(tmp_path / "run"), loggers=("wandb",), num_evals=2, progress=False
    )
    result = train(config)  # used to stop with RunWriteError: "free space, remount"

    run_dir = tmp_path / "run"
    first, last = result.metrics[0], result.metrics[-1]
    assert len(result.metrics) == 2 and [step for step, _ in run.logged] == [first["env_steps"]]
    assert read_metrics(run_dir / "metrics.jsonl") == json.loads(json.dumps(result.metrics))
    assert str(last["iteration"]) in {path.name for path in (run_dir / "checkpoints").iterdir()}
    assert len([line for line in warnings_of(capsys.readouterr().err) if "W&B" in line]) == 1


def test_w_and_b_that_cannot_start_stops_the_run_before_it_compiles(tmp_path, monkeypatch):
    # Its login failing used to be told only after the training program had compiled (minutes
    # on an accelerator).
    from jaxcrl import run

    def init(**kwargs):
        raise RuntimeError("api_key not configured (no-tty)")

    def compiled(*args, **kwargs):
        raise AssertionError("the program compiled before W&B started")

    fake_wandb(monkeypatch, FakeWandbRun(), {})
    monkeypatch.setattr(sys.modules["wandb"], "init", init)
    monkeypatch.setattr(run, "check_step_memory", compiled)
    config = dataclasses.replace(
        TINY, run_dir=str(tmp_path / "run"), loggers=("wandb",), progress=False
    )
    with pytest.raises(ConfigError, match=r"^W&B did not start \(RuntimeError: api_key"):
        run.train(config)


def test_a_partly_written_last_line_is_told_once_however_often_the_file_is_read(tmp_path):
    # A resume reads metrics.jsonl twice: the warning was printed twice.
    import warnings

    from jaxcrl.logger import read_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"iteration": 2}\n{"iteration": 4, "eval/suc')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        assert read_metrics(path) == [{"iteration": 2}]
        assert read_metrics(path) == [{"iteration": 2}]
    assert [str(warning.message) for warning in caught] == [
        f"{path}: line 2 is partly written; left out"
    ]
