"""The run directory: refusing to reuse a run, config.yaml records, a resume's tidying."""

import dataclasses
import json

import pytest
import yaml

from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.config_files import read_run_config
from jaxcrl.envs import make_env
from jaxcrl.run_dir import (
    claim_default_run_dir,
    env_info,
    has_checkpoint,
    keep_rows_up_to,
    prepare_run_dir,
    record_new_length,
    record_run_config,
    set_aside_checkpoints_after,
)


def write_rows(run_dir, iterations):
    """A metrics.jsonl with one row per iteration given, and a metrics.csv beside it."""
    lines = [json.dumps({"iteration": i, "eval/success": i / 10}) for i in iterations]
    (run_dir / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    (run_dir / "metrics.csv").write_text("iteration,eval/success\n")


def test_has_checkpoint_counts_only_finished_numbered_steps(tmp_path):
    assert not has_checkpoint(tmp_path)
    (tmp_path / "checkpoints" / "4.damaged").mkdir(parents=True)
    (tmp_path / "checkpoints" / "8.orbax-checkpoint-tmp-1").mkdir()
    assert not has_checkpoint(tmp_path)
    (tmp_path / "checkpoints" / "12").mkdir()
    assert has_checkpoint(str(tmp_path))


def test_runs_started_in_the_same_second_get_directories_of_their_own(tmp_path, monkeypatch):
    # Two train.py launched together without --run-dir took the same runs/ENV-sSEED-TIME: the
    # second was refused, told to resume the first.
    import jaxcrl.run_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(jaxcrl.run_dir.time, "strftime", lambda pattern: "20261207-054701")
    config = TrainConfig(seed=3)
    claimed = [claim_default_run_dir(config) for _ in range(3)]
    names = ["point_open-s3-20261207-054701", "point_open-s3-20261207-054701-2"]
    assert [str(path) for path in claimed] == [
        f"runs/{name}" for name in names + [names[1][:-1] + "3"]
    ]
    assert all(path.is_dir() and not any(path.iterdir()) for path in claimed)
    (tmp_path / "runs").rename(tmp_path / "old")
    (tmp_path / "runs").write_text("")  # a file where the folder goes: one line
    with pytest.raises(ConfigError, match="cannot create it .*give --run-dir a directory"):
        claim_default_run_dir(config)


def test_prepare_run_dir_creates_a_new_directory_and_never_reuses_a_run(tmp_path):
    config = TrainConfig(run_dir=str(tmp_path / "a" / "b"))
    prepared, run_dir = prepare_run_dir(config)
    assert run_dir.is_dir() and prepared.run_dir == str(run_dir)
    (run_dir / "config.yaml").write_text("config: {}\n")
    with pytest.raises(FileExistsError, match=r"saved no checkpoint.*jaxcrl\.run\.resume\("):
        prepare_run_dir(config)
    (run_dir / "checkpoints" / "3").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="already holds a run; choose a new --run-dir"):
        prepare_run_dir(config, again=True)
    assert (run_dir / "config.yaml").read_text() == "config: {}\n"  # nothing was overwritten


def test_starting_again_drops_the_rows_of_the_failed_start(tmp_path):
    write_rows(tmp_path, [2, 4])
    (tmp_path / "config.yaml").write_text("config: {}\n")
    prepare_run_dir(TrainConfig(run_dir=str(tmp_path)), again=True)
    assert (tmp_path / "metrics.jsonl").read_text() == ""


def test_an_unwritable_run_dir_is_a_config_error_naming_the_option():
    with pytest.raises(ConfigError, match="--run-dir .*cannot create it"):
        prepare_run_dir(TrainConfig(run_dir="/proc/jaxcrl-test/run"))  # not even for root


def test_keep_rows_up_to_drops_later_rows_and_the_csv_built_from_them(tmp_path):
    write_rows(tmp_path, [2, 4, 6, 8])
    keep_rows_up_to(tmp_path, 4)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == [2, 4]
    # Written again at once from the rows kept (it was deleted, to be rebuilt only by a resume
    # that went on to train: a finished run's resume lost it).
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "iteration,eval/success",
        "2,0.2",
        "4,0.4",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv", "metrics.jsonl"]


def test_checkpoints_after_the_restored_step_are_renamed_not_deleted(tmp_path):
    for name in ("4", "8", "12", "16.damaged"):
        (tmp_path / "checkpoints" / name).mkdir(parents=True)
    set_aside_checkpoints_after(tmp_path, 8)
    names = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert names == ["12.damaged", "16.damaged", "4", "8"]


def test_config_yaml_records_env_facts_and_each_new_length(tmp_path):
    config = TrainConfig(env="point_u_maze", total_env_steps=100_000, run_dir=str(tmp_path))
    env = make_env("point_u_maze")
    record_run_config(config, tmp_path, env)
    longer = TrainConfig(env="point_u_maze", total_env_steps=200_000, run_dir=str(tmp_path))
    record_new_length(tmp_path, config, longer, iteration=40)
    longest = TrainConfig(env="point_u_maze", total_env_steps=300_000, run_dir=str(tmp_path))
    record_new_length(tmp_path, longer, longest, iteration=80)
    document = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert document["env_info"]["goal_indices"] == list(env.goal_indices)
    assert document["env_info"]["success_indices"] == list(env.success_indices)
    assert document["env_info"]["episode_length"] == env.episode_length
    assert document["jax"]["backend"] == "cpu"
    pixels = make_env("point_open_pixels", image_size=24)  # its goal: every entry of an image
    assert env_info(pixels)["goal_indices"] == "0..1727"
    assert document["lengthened"] == [
        {"at_iteration": 40, "total_env_steps": [100_000, 200_000], "eval_every": [None, None]},
        {"at_iteration": 80, "total_env_steps": [200_000, 300_000], "eval_every": [None, None]},
    ]
    assert read_run_config(tmp_path).total_env_steps == 300_000
    assert not (tmp_path / "config.yaml.tmp").exists()
    # The launch that lengthened it at 80 stopped before its next checkpoint; resumed from 80
    # again (its length now read from config.yaml, the spacing pinned), it was noted twice.
    pinned = TrainConfig(env="point_u_maze", total_env_steps=200_000, eval_every=5)
    record_new_length(tmp_path, pinned, dataclasses.replace(longest, eval_every=5), iteration=80)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["lengthened"][1:] == [
        {"at_iteration": 80, "total_env_steps": [200_000, 300_000], "eval_every": [None, 5]},
    ]


def test_config_yaml_in_an_unwritable_place_is_a_config_error(tmp_path):
    (tmp_path / "config.yaml").mkdir()  # a directory where the file should go
    with pytest.raises(ConfigError, match="cannot write config.yaml"):
        record_run_config(TrainConfig(), tmp_path, make_env("point_u_maze"))


def test_a_run_directory_another_process_trains_is_refused_and_left_alone(tmp_path, monkeypatch):
    import dataclasses
    import os

    from tiny_runs import TINY

    from jaxcrl.run import resume, train
    from jaxcrl.run_dir import hold_run_dir

    run_dir = tmp_path / "run"
    config = dataclasses.replace(TINY, run_dir=str(run_dir))
    # Another process holds the directory (a second open file is a second holder for flock).
    other = hold_run_dir(run_dir)
    with pytest.raises(ConfigError, match=rf"{run_dir} is being trained by process {os.getpid()} "):
        train(config)
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock"]  # nothing else written
    other.close()
    monkeypatch.chdir(tmp_path)
    result = train(dataclasses.replace(config, run_dir="run"))  # relative to the working directory
    monkeypatch.chdir("/")  # a notebook that moves on still finds the run from what it returned
    assert result.run_dir == run_dir and (result.run_dir / "metrics.jsonl").is_file()
    rows = (run_dir / "metrics.jsonl").read_text()
    other = hold_run_dir(run_dir)
    with pytest.raises(ConfigError, match="is being trained by .*; wait for it to end"):
        resume(run_dir, total_env_steps=2 * TINY.total_env_steps)
    assert (run_dir / "metrics.jsonl").read_text() == rows
    assert read_run_config(run_dir).total_env_steps == TINY.total_env_steps
    other.close()
    assert len(resume(run_dir, total_env_steps=2 * TINY.total_env_steps).metrics) > 1


def test_a_run_dir_that_is_a_file_or_lies_in_one_is_named_as_such(tmp_path):
    # mkdir's "File exists" read as if the run directory already existed.
    from jaxcrl.run_dir import hold_run_dir

    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    for run_dir in (taken, taken / "run"):
        with pytest.raises(ConfigError) as refused:
            hold_run_dir(run_dir)
        assert str(refused.value) == (
            f"--run-dir {run_dir}: {taken} is a file, not a folder; choose another --run-dir"
        )
    assert taken.read_text() == "mine"
