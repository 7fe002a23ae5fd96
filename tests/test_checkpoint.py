"""Checkpoints store every leaf of a state, empty ones included, and read back what was saved."""

import dataclasses

import jax
import numpy as np
from tiny_runs import TINY

from jaxcrl import checkpoint
from jaxcrl.run import train


def test_a_tree_with_an_empty_leaf_saves_and_restores_with_its_shapes(tmp_path):
    tree = {
        "full": np.arange(6, dtype=np.float32).reshape(2, 3),
        "empty": np.zeros((4, 0), np.int32),
    }
    manager = checkpoint.open_manager(tmp_path, keep=1)
    checkpoint.save(manager, 1, tree, {"done": 1})
    restored, progress, step = checkpoint.restore(tmp_path, jax.tree.map(np.asarray, tree))
    assert (step, progress) == (1, {"done": 1, "iteration": 1})
    assert restored["empty"].shape == (4, 0) and restored["empty"].dtype == np.int32
    np.testing.assert_array_equal(restored["full"], tree["full"])


def test_a_second_stop_signal_while_saving_ends_the_run_rather_than_failing_the_write(
    tmp_path, monkeypatch
):
    # Ctrl-C twice within a save was reported as "checkpoint could not be written (free
    # space, remount)" and exit 2, not as the stop at once that was asked for.
    import signal

    import pytest

    from jaxcrl.stop_signals import StoppedAtOnce

    manager = checkpoint.open_manager(tmp_path, keep=1)

    def second_signal(*args, **kwargs):
        raise StoppedAtOnce(signal.SIGINT)

    monkeypatch.setattr(manager, "save", second_signal)
    with pytest.raises(StoppedAtOnce):
        checkpoint.save(manager, 1, {"x": np.zeros(3, np.float32)}, {})


def test_a_restore_target_can_leave_parts_on_disk(tmp_path):
    # What eval.py does: read the policy alone, not a replay buffer of hundreds of MB.
    tree = {
        "policy": np.arange(6, dtype=np.float32).reshape(2, 3),
        "buffer": {"states": np.ones((50, 4), np.float32), "empty": np.zeros((0,), np.int32)},
    }
    manager = checkpoint.open_manager(tmp_path, keep=1)
    checkpoint.save(manager, 1, tree, {"done": 1})
    target = {"policy": tree["policy"], "buffer": checkpoint.skipped(tree["buffer"])}
    restored, _, _ = checkpoint.restore(tmp_path, target)
    np.testing.assert_array_equal(restored["policy"], tree["policy"])
    assert restored["buffer"] == {"states": checkpoint.SKIP, "empty": checkpoint.SKIP}


def test_an_mjx_run_checkpoints_its_env_states_and_restores_them(tmp_path):
    # mjx.Data carries arrays of size zero (actuator states of a model without any), which
    # orbax refuses to write: the first checkpoint of every MJX run used to fail.
    config = dataclasses.replace(
        TINY, env="reacher", run_dir=str(tmp_path / "run"), progress=False, num_evals=1
    )
    result = train(config)
    physics = result.state.env_states.physics
    assert physics.act.shape == (1, config.num_envs, 0)  # [members, envs, 0]
    restored, _, _ = checkpoint.restore(config.run_dir, result.state)
    np.testing.assert_array_equal(restored.env_states.physics.qpos, physics.qpos)
    assert restored.env_states.physics.act.shape == physics.act.shape
    assert 0.0 <= result.metrics[-1]["eval/success"] <= 1.0


def test_a_full_disk_stops_the_run_in_one_line_naming_the_last_good_checkpoint(
    tmp_path, monkeypatch
):
    import shutil

    import pytest

    from jaxcrl.run import RunWriteError

    run_dir = tmp_path / "run"
    config = dataclasses.replace(TINY, run_dir=str(run_dir), checkpoint_every=6)  # 6, 12, 14
    usage = shutil.disk_usage(tmp_path)
    saves = []

    def disk_fills_after_two_saves(folder):
        saves.append(folder)
        return usage._replace(free=0 if len(saves) > 2 else usage.free)

    monkeypatch.setattr(checkpoint.shutil, "disk_usage", disk_fills_after_two_saves)
    with pytest.raises(RunWriteError) as stopped:
        train(config)
    message = str(stopped.value)
    assert message.startswith("checkpoint 14 could not be written (No space left on device: ")
    assert "The last good checkpoint (iteration 12)" in message
    assert message.endswith(f"continue with: jaxcrl.run.resume('{run_dir}')")  # train() from Python
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["12", "6"]


def test_an_old_checkpoint_that_cannot_be_removed_is_one_warning_and_training_goes_on(
    tmp_path, monkeypatch, capsys
):
    # It stopped the run as "checkpoint 20 could not be written", naming checkpoint 16 as the
    # last good one, though 20 was whole: only removing an older one had failed.
    from orbax.checkpoint._src.path import deleter

    def undeletable(self, step):
        raise PermissionError(f"[Errno 1] Operation not permitted: '{step}/_CHECKPOINT_METADATA'")

    for kind in (deleter.StandardCheckpointDeleter, deleter.ThreadedCheckpointDeleter):
        monkeypatch.setattr(kind, "delete", undeletable)
    run_dir = tmp_path / "run"
    config = dataclasses.replace(TINY, run_dir=str(run_dir), checkpoint_every=4, keep_checkpoints=1)
    result = train(config)  # checkpoints 4, 8, 12, 14: each removal of an older one fails
    assert result.metrics[-1]["iteration"] == 14
    assert sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir()) == [4, 8, 12, 14]
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "checkpoint" in line]
    assert warning.startswith("warning: checkpoint 8 was written, but an older checkpoint in ")
    assert warning.endswith(
        "could not be removed (PermissionError: [Errno 1] Operation not permitted: "
        "'4/_CHECKPOINT_METADATA'); remove it by hand where it is no longer needed; "
        "training goes on"
    )
    assert checkpoint.is_complete(run_dir / "checkpoints", 14)


def test_a_metrics_row_that_cannot_be_written_stops_the_run_in_one_line(tmp_path, monkeypatch):
    import errno

    import pytest

    from jaxcrl.logger import Loggers, MetricsLog
    from jaxcrl.run import RunWriteError

    def disk_full(self, row):
        raise OSError(errno.ENOSPC, "No space left on device")

    def close_on_a_full_disk(self, exit_code=0):  # TensorBoard's flush on close, say
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(MetricsLog, "write", disk_full)
    # A sink that fails to close as well did put its own traceback in the message's place.
    monkeypatch.setattr(Loggers, "close", close_on_a_full_disk)
    with pytest.raises(
        RunWriteError,
        match=r"^a metrics row of iteration \d+ could not be "
        r"written \(No space left on device\); stopped. No checkpoint had",
    ):
        train(dataclasses.replace(TINY, run_dir=str(tmp_path / "run")))


def test_a_log_that_cannot_be_closed_after_a_finished_run_is_a_warning(
    tmp_path, monkeypatch, capsys
):
    import errno

    from jaxcrl.logger import Loggers

    def close_on_a_full_disk(self, exit_code=0):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Loggers, "close", close_on_a_full_disk)
    result = train(dataclasses.replace(TINY, run_dir=str(tmp_path / "run")))
    assert result.final["env_steps"] == TINY.total_env_steps  # the run and its rows stand
    assert "warning: a log file could not be closed (No space left on device)" in (
        capsys.readouterr().err
    )


def test_a_tensorstore_error_is_told_by_its_cause_and_the_array_it_was_reading():
    # The warning of a damaged checkpoint cut TensorStore's message at 200 characters, inside
    # the nested driver errors, before the cause; kilobytes of specs followed it.
    from jaxcrl.checkpoint import _describe

    message = (
        'OUT_OF_RANGE: Error opening "cast" driver: Error opening "zarr" driver: Error reading '
        '"agent.policy_params.params.network.Dense_2.kernel/.zarray" in OCDBT database at local '
        'file "/runs/a/checkpoints/14/state/": Error reading Byte range [0, 10033) of local file '
        '"/runs/a/checkpoints/14/state/d/fec7": Requested byte range [0, 10033) is not valid for '
        "value of size 0 [tensorstore_spec='{\"context\":{\"cache_pool\":{}}}'] [source locations='x']"
    )
    assert _describe(ValueError(message)) == (
        "ValueError: Requested byte range [0, 10033) is not valid for value of size 0, reading "
        "agent.policy_params.params.network.Dense_2.kernel"
    )
    assert _describe(ValueError("its progress document says iteration 3")) == (
        "ValueError: its progress document says iteration 3"
    )
    # Orbax wraps some in a bare Exception that shows a bound method where the specs would be.
    cause = ValueError(
        'OUT_OF_RANGE: Error reading "agent.policy_params.params.network.Dense_1.kernel/0.0.0" '
        'in OCDBT database at local file "/runs/a/checkpoints/14/state/": Requested byte range '
        "[34242, 38071) is not valid for value of size 100"
    )
    wrapper = Exception(
        "Encountered error while reading array index: (slice(0, 1, 1),). See full TensorStore "
        "details: <bound method pybind11_detail_function_record_v1.spec of TensorStore({)"
    )
    wrapper.__cause__ = cause
    assert _describe(wrapper) == (
        "ValueError: Requested byte range [34242, 38071) is not valid for value of size 100, "
        "reading agent.policy_params.params.network.Dense_1.kernel"
    )


def test_the_command_lines_show_jaxcrls_warnings_in_one_line(monkeypatch):
    # eval.py showed "saved_runs.py:59: UserWarning: ..." and a line of source code.
    import os
    import warnings

    import jaxcrl
    from jaxcrl.config import warnings_in_one_line

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    warnings_in_one_line()
    ours = os.path.join(os.path.dirname(jaxcrl.__file__), "saved_runs.py")
    assert warnings.formatwarning("a: b", UserWarning, ours, 59) == "warning: a: b\n"
    theirs = warnings.formatwarning("c", DeprecationWarning, "/lib/other.py", 3, "x = 1")
    assert theirs.startswith("/lib/other.py:3: DeprecationWarning: c")
