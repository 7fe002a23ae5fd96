"""Seeds and swept hyperparameters trained together in one vmapped program."""

import dataclasses
import io
import sys

import jax
import numpy as np
import pytest
from tiny_runs import TINY

from jaxcrl.config import ConfigError
from jaxcrl.host_progress import TIMING_FIELDS
from jaxcrl.members import member_config, run_members
from jaxcrl.run import train

TINY = dataclasses.replace(TINY, num_evals=2, progress=False)


def test_members_cross_the_sweep_grid_with_the_seeds():
    config = dataclasses.replace(
        TINY, seed=10, num_seeds=2, sweep=("critic_lr=1e-3,3e-4", "goal_discount=0.9")
    )
    members = run_members(config)
    assert [m.index for m in members] == [0, 1, 2, 3]
    assert [m.seed for m in members] == [10, 11, 10, 11]
    assert [m.values["critic_lr"] for m in members] == [1e-3, 1e-3, 3e-4, 3e-4]
    single = member_config(config, members[3])
    assert (single.seed, single.critic_lr, single.goal_discount) == (11, 3e-4, 0.9)
    assert single.num_seeds == 1 and single.sweep == ()


def test_shape_changing_sweeps_are_refused():
    with pytest.raises(ConfigError, match="cannot vary 'hidden_width'"):
        run_members(dataclasses.replace(TINY, sweep=("hidden_width=8,16",)))


def test_every_member_is_validated_and_a_bad_swept_value_is_named(tmp_path):
    for sweep, message in [
        ("goal_discount=1.5,0.9", "--sweep goal_discount=1.5: --goal-discount must lie in (0, 1)"),
        ("critic_lr=3e-4,-1", "--sweep critic_lr=-1: --critic-lr must be > 0"),
    ]:
        config = dataclasses.replace(TINY, sweep=(sweep,), run_dir=str(tmp_path / "r"))
        with pytest.raises(ConfigError) as error:
            train(config)
        assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "r").exists()


def comparable(row):
    return {k: v for k, v in row.items() if k not in TIMING_FIELDS and k != "member"}


def test_member_of_a_vmapped_run_equals_the_single_run(tmp_path):
    swept = dataclasses.replace(
        TINY, num_seeds=2, sweep=("critic_lr=1e-3,3e-4",), run_dir=str(tmp_path / "swept")
    )
    result = train(swept)
    assert len(result.members) == 4
    assert result.state.agent.gradient_steps.shape == (4,)
    rows = result.metrics
    assert len(rows) == 4 * 2  # one row per member per evaluation
    assert {row["seed"] for row in rows} == {0, 1} and {row["critic_lr"] for row in rows} == {
        1e-3,
        3e-4,
    }

    member = result.members[3]  # seed 1, critic_lr 3e-4
    single_config = dataclasses.replace(
        member_config(swept, member), run_dir=str(tmp_path / "single")
    )
    single = train(single_config)
    assert single.summary()["count"] == 1
    mine = [comparable(row) for row in rows if row["member"] == 3]
    theirs = [comparable(row) for row in single.metrics]
    assert len(mine) == len(theirs) == 2
    for a, b in zip(mine, theirs, strict=True):
        assert a.keys() - {"critic_lr"} == b.keys()
        for name, value in b.items():
            if name == "critic/accuracy":
                # An argmax over near-tied logits (early in training) may break ties the other
                # way under another vmap width: measured 0.0022 apart here, i.e. one tie flip.
                assert abs(a[name] - value) < 0.01, (a[name], value)
            elif isinstance(value, float):
                np.testing.assert_allclose(a[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
            else:
                assert a[name] == value, name
    params_vmapped = jax.tree.map(lambda x: x[3], result.state.agent.policy_params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b[0], rtol=1e-4, atol=1e-5),
        params_vmapped,
        single.state.agent.policy_params,
    )
    # Different members really are different agents.
    first_leaf = jax.tree.leaves(result.state.agent.policy_params)[0]
    assert not np.allclose(first_leaf[0], first_leaf[1])
    # One summary per swept value: pooling members of different critic_lr means nothing.
    with pytest.raises(ValueError, match="this run sweeps critic_lr: one summary over its"):
        result.summary()
    groups = result.groups()
    assert [group["values"] for group in groups] == [{"critic_lr": 1e-3}, {"critic_lr": 3e-4}]
    assert [group["members"] for group in groups] == [[0, 1], [2, 3]]
    summary = groups[0]["summary"]
    assert summary["count"] == 2 and summary["low"] <= summary["mean"] <= summary["high"]
    with pytest.raises(ValueError, match="eval/sucess is not in every member's final row"):
        result.groups("eval/sucess")


def test_a_sweep_of_one_value_summarizes_and_a_result_prints_in_one_line():
    # sweep=("critic_lr=1e-3",) with two seeds pools nothing, and summary() refused it; and a
    # result shown in a notebook printed every parameter and the replay buffer (100k characters).
    from pathlib import Path

    from jaxcrl.members import Member
    from jaxcrl.run import TrainResult

    members = [Member(index, index, {"critic_lr": 1e-3}) for index in (0, 1)]
    rows = [{"member": i, "eval/success": s, "critic_lr": 1e-3} for i, s in ((0, 0.5), (1, 1.0))]
    result = TrainResult(state=None, metrics=rows, run_dir=Path("runs/a"), members=members)
    assert result.summary()["mean"] == 0.75 and result.summary()["count"] == 2
    assert repr(result) == (
        "TrainResult(run_dir='runs/a', members=2, rows=2, final eval/success=[0.5, 1.0])"
    )
    members[1] = Member(1, 1, {"critic_lr": 3e-4})
    with pytest.raises(ValueError, match="this run sweeps critic_lr"):
        TrainResult(state=None, metrics=rows, run_dir=Path("runs/a"), members=members).summary()


def test_a_summary_of_float32_metrics_reads_as_their_logged_values():
    # eval.py's summary of two members at 0.055 and 0.01 printed 0.03249999787658453.
    from jaxcrl.members import summarize_members

    summary = summarize_members({"eval/time_near_goal": np.array([0.055, 0.01], np.float32)})
    assert summary["eval/time_near_goal"]["mean"] == 0.0325
    assert (summary["eval/time_near_goal"]["low"], summary["eval/time_near_goal"]["high"]) == (
        0.01,
        0.055,
    )


def test_the_progress_line_of_a_sweep_shows_each_values_success_never_pooled(capsys):
    # The line after each evaluation showed one success pooled over every swept value.
    from jaxcrl.host_progress import group_means
    from jaxcrl.logger import Progress
    from jaxcrl.members import Member

    rates = (1e-3, 1e-3, 3e-4, 3e-4)
    members = [Member(i, i % 2, {"critic_lr": rate}) for i, rate in enumerate(rates)]
    rows = [
        {"member": i, "sps": 100.0, "eval/success": success, "eval/time_near_goal": 0.1}
        for i, success in enumerate((0.5, 1.0, 0.0, 0.25))
    ]
    groups = group_means(rows, members)
    assert list(groups) == ["critic_lr=0.001", "critic_lr=0.0003"]
    Progress(1000, enabled=False).update(512, groups)
    assert capsys.readouterr().out == (
        "env_steps=512 sps=100 success[critic_lr=0.001]=0.750 success[critic_lr=0.0003]=0.125\n"
    )
    seeds = [Member(0, 0, {}), Member(1, 1, {})]  # seeds alone: their mean, as before
    Progress(1000, enabled=False).update(512, group_means(rows[:2], seeds))
    assert capsys.readouterr().out == "env_steps=512 sps=100 success=0.750 time_near_goal=0.100\n"


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a console's stderr does."""

    def isatty(self) -> bool:
        """A terminal."""
        return True


def test_progress_bar_names_each_swept_value(monkeypatch):
    # The bar showed a sweep's successes as "0.75 0.12", without the values they belong to.
    from jaxcrl.host_progress import group_means
    from jaxcrl.logger import Progress
    from jaxcrl.members import Member

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    members = [Member(0, 0, {"critic_lr": 1e-3}), Member(1, 0, {"critic_lr": 3e-4})]
    rows = [{"member": i, "sps": 1234.0, "eval/success": s} for i, s in enumerate((0.75, 0.125))]
    bar = Progress(1000, enabled=True)
    bar.update(512, group_means(rows, members))
    bar.close()
    drawn = terminal.getvalue().split("\r")[-1]
    assert "512/1" in drawn
    assert "sps=1,234, success[critic_lr=0.001]=0.75 success[critic_lr=0.0003]=0.12" in drawn


def test_progress_prints_lines_where_stderr_is_a_file(capsys):
    # A batch job's log (stderr not a terminal) got one line of carriage-return frames.
    from jaxcrl.host_progress import group_means
    from jaxcrl.logger import Progress
    from jaxcrl.members import Member

    assert not sys.stderr.isatty()  # pytest captures it into a file-like buffer
    rows = [{"member": 0, "sps": 50.0, "eval/success": 1.0, "eval/time_near_goal": 0.5}]
    bar = Progress(1000, enabled=True)
    bar.update(256, group_means(rows, [Member(0, 0, {})]))
    bar.close()
    captured = capsys.readouterr()
    assert captured.out == "env_steps=256 sps=50 success=1.000 time_near_goal=0.500\n"
    assert captured.err == ""
