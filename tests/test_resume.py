"""Runs survive faults: resume after SIGTERM and SIGKILL, damaged checkpoints, non-finite values."""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tiny_runs import TINY

from jaxcrl import run
from jaxcrl.config import ConfigError, TrainConfig, loop_sizes
from jaxcrl.host_progress import TIMING_FIELDS
from jaxcrl.logger import read_csv, read_metrics
from jaxcrl.run import NonFiniteError, resume, train
from jaxcrl.run_dir import has_checkpoint

REPO = Path(__file__).resolve().parents[1]

TINY = dataclasses.replace(
    TINY,
    total_env_steps=4 * 4 * 26,  # 2 prefill + 24 training iterations
    eval_every=6,
    checkpoint_every=3,
    keep_checkpoints=3,
    progress=False,
)


def learning_fields(rows):
    return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows]


@pytest.fixture(scope="module")
def straight_rows(tmp_path_factory):
    """Metrics of the uninterrupted run that every interrupted one must reproduce."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    return learning_fields(train(dataclasses.replace(TINY, run_dir=str(run_dir))).metrics)


def test_resume_after_a_damaged_newest_checkpoint_falls_back_and_matches(tmp_path, straight_rows):
    run_dir = tmp_path / "run"
    train(dataclasses.replace(TINY, run_dir=str(run_dir), total_env_steps=4 * 4 * 14))
    # That run stopped at iteration 12 (its own end). Damage the newest checkpoint's arrays.
    steps = sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [6, 9, 12]
    for path in (run_dir / "checkpoints" / "12" / "state").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\0garbage")
    # Pretend it was the longer run: the resume must continue from iteration 9.
    config_path = run_dir / "config.yaml"
    config_path.write_text(
        config_path.read_text().replace(f"total_env_steps: {4 * 4 * 14}", "total_env_steps: 416")
    )
    from jaxcrl.checkpoint import CheckpointError
    from jaxcrl.saved_runs import evaluate_run

    with pytest.raises(
        CheckpointError, match=r"12 cannot be read .*; its other checkpoints: \[6, 9"
    ):
        evaluate_run(run_dir, episodes=2, step=12)  # that one asked for: the others named
    with pytest.warns(
        UserWarning, match="checkpoint 12 cannot be read.*using checkpoint 9"
    ) as said:
        result = resume(run_dir)
    assert "tensorstore_spec" not in str(said[0].message)  # TensorStore's kilobytes of specs
    assert learning_fields(result.metrics) == straight_rows
    assert (run_dir / "checkpoints" / "12.damaged").is_dir()  # kept, not deleted


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A finished run of 12 iterations with checkpoints 6, 9 and 12 (copy it before changing it)."""
    run_dir = tmp_path_factory.mktemp("short") / "run"
    train(dataclasses.replace(TINY, run_dir=str(run_dir), total_env_steps=4 * 4 * 14))
    return run_dir


def test_a_run_whose_every_checkpoint_is_damaged_says_so_in_one_line(tmp_path, short_run):
    # Each array read still in flight when a restore failed printed a traceback into orbax's
    # closed event loop: 100 to 300 lines of "Event loop is closed" around the one error.
    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    for path in (run_dir / "checkpoints").rglob("*"):
        if path.is_file() and path.parent.name == "d":  # the arrays' data files
            path.write_bytes(b"\0garbage")
    done = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "--resume", str(run_dir)],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert done.stderr.startswith(f"error: {run_dir}/checkpoints: checkpoint 12 cannot be read")
    assert done.stderr.count("\n") == 1, done.stderr[:3000]


@pytest.mark.parametrize(
    "change",
    [
        {"iteration": 5},  # valid JSON, the wrong iteration: it used to replace the real rows
        {"iteration": "twelve"},
        {"pending_sums": None},
        {"elapsed_s": "soon"},
    ],
    ids=["wrong-iteration", "iteration-text", "no-sums", "elapsed-text"],
)
def test_a_malformed_progress_document_marks_its_checkpoint_damaged(tmp_path, short_run, change):
    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    document_path = run_dir / "checkpoints" / "12" / "progress" / "metadata"
    document = {**json.loads(document_path.read_text()), **change}
    document_path.write_text(json.dumps({k: v for k, v in document.items() if v is not None}))
    rows = read_metrics(run_dir / "metrics.jsonl")
    with pytest.warns(UserWarning, match="checkpoint 12 cannot be read.*using checkpoint 9"):
        result = resume(run_dir)
    # Iterations 10 to 12 trained again from checkpoint 9: the same rows as before.
    assert learning_fields(result.metrics) == learning_fields(rows)
    assert (run_dir / "checkpoints" / "12.damaged").is_dir() and has_checkpoint(run_dir)


def test_a_resume_keeps_metrics_csv_and_refuses_to_go_on_without_the_rows_it_needs(
    tmp_path, short_run
):
    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    csv_rows = read_csv(run_dir / "metrics.csv")
    resume(run_dir)  # a finished run: nothing to train, and metrics.csv was deleted
    assert read_csv(run_dir / "metrics.csv") == csv_rows
    # metrics.jsonl gone: the resume crashed at its end (KeyError) after deleting metrics.csv.
    (run_dir / "metrics.jsonl").rename(tmp_path / "kept.jsonl")
    with pytest.raises(ConfigError, match="metrics.jsonl is missing: it holds the rows up to"):
        resume(run_dir)
    assert read_csv(run_dir / "metrics.csv") == csv_rows
    # Emptied, it lost rows silently, and metrics.csv was written again without them.
    (run_dir / "metrics.jsonl").write_text("")
    with pytest.raises(
        ConfigError,
        match=r"metrics.jsonl lacks rows that metrics.csv holds "
        r"\(iterations 6, 12\): .*or delete metrics.csv to go on without them",
    ):
        resume(run_dir)
    assert read_csv(run_dir / "metrics.csv") == csv_rows
    (tmp_path / "kept.jsonl").rename(run_dir / "metrics.jsonl")
    # An impossible value edited there was told as if a flag had given it.
    config_path = run_dir / "config.yaml"
    original = config_path.read_text()
    config_path.write_text(original.replace("keep_checkpoints: 3", "keep_checkpoints: 0"))
    with pytest.raises(ConfigError, match=r"run/config.yaml: --keep-checkpoints must be a pos"):
        resume(run_dir)
    config_path.write_text(original)
    # config.yaml gone: "not a jaxcrl run directory", though its checkpoints lay there.
    (run_dir / "config.yaml").rename(tmp_path / "kept.yaml")
    with pytest.raises(ConfigError, match=r"config.yaml is missing, though .* holds checkpoints"):
        resume(run_dir)
    (tmp_path / "kept.yaml").rename(run_dir / "config.yaml")
    # A length that ends the run at checkpoint 9, where no evaluation was made: it "finished"
    # with iteration 6's row as its result.
    shutil.rmtree(run_dir / "checkpoints" / "12")
    with pytest.raises(ConfigError, match="checkpoint at iteration 9 would end the run, but no"):
        resume(run_dir, total_env_steps=4 * 4 * (9 + 2))
    assert read_csv(run_dir / "metrics.csv") == csv_rows


def test_reading_a_checkpoint_back_refuses_an_edited_config_yaml(tmp_path, short_run):
    # eval.py evaluated another network (an edited activation) without a word, and an edited
    # width failed as "checkpoint cannot be read" amid orbax's tracebacks.
    from jaxcrl.saved_runs import evaluate_run, load_member, load_member_policy

    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    config_path = run_dir / "config.yaml"
    original = config_path.read_text()
    for line, edited in [("activation: swish", "activation: tanh"), ("repr_dim: 8", "repr_dim: 4")]:
        assert line in original
        config_path.write_text(original.replace(line, edited))
        name = line.split(":")[0]
        for read in (evaluate_run, load_member, load_member_policy):
            with pytest.raises(ConfigError, match=rf"was edited since the checkpoint .*\({name} "):
                read(run_dir)
    # An edited evaluation count is pointed to eval.py's own flag for it.
    count = re.search(r"eval_episodes: (\d+)", original).group(0)
    config_path.write_text(original.replace(count, "eval_episodes: 32"))
    with pytest.raises(ConfigError, match=r"undo the edit, and give eval.py --episodes 32 instead"):
        evaluate_run(run_dir)
    config_path.write_text(original)
    assert evaluate_run(run_dir, episodes=2)["checkpoint"] == 12


def test_a_run_saved_before_an_option_existed_reads_back_with_its_default(tmp_path, short_run):
    # Runs saved before --layer-norm-position existed were refused as "edited" (None -> default).
    from jaxcrl.saved_runs import evaluate_run

    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    for step in ("6", "9", "12"):
        document_path = run_dir / "checkpoints" / step / "progress" / "metadata"
        document = json.loads(document_path.read_text())
        del document["options"]["layer_norm_position"]
        document_path.write_text(json.dumps(document))
    config_path = run_dir / "config.yaml"
    original = config_path.read_text()
    line = "  layer_norm_position: before_activation\n"
    assert line in original
    config_path.write_text(original.replace(line, ""))
    assert evaluate_run(run_dir, episodes=2)["checkpoint"] == 12
    config_path.write_text(original.replace("before_activation", "after_activation"))
    with pytest.raises(ConfigError, match=r"\(layer_norm_position 'before_activation' -> 'after"):
        evaluate_run(run_dir, episodes=2)
    config_path.write_text(original)
    resume(run_dir, total_env_steps=4 * 4 * 17)  # lengthened, and recorded from now on
    document_path = run_dir / "checkpoints" / "15" / "progress" / "metadata"
    assert json.loads(document_path.read_text())["options"]["layer_norm_position"] == (
        "before_activation"
    )


def test_a_step_set_aside_twice_keeps_both_damaged_copies(tmp_path):
    from jaxcrl.run_dir import set_aside_checkpoints_after

    folder = tmp_path / "checkpoints"
    for name in ["9", "12", "12.damaged"]:
        (folder / name).mkdir(parents=True)
    set_aside_checkpoints_after(tmp_path, 9)
    assert sorted(p.name for p in folder.iterdir()) == ["12.damaged", "12.damaged.2", "9"]


def test_resume_in_python_starts_a_run_stopped_before_its_first_checkpoint(
    tmp_path, straight_rows, monkeypatch
):
    # A notebook's Interrupt while compiling leaves config.yaml and no checkpoint; resume()
    # (not only the command line) starts such a run again from the beginning.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    run_dir = tmp_path / "run"
    monkeypatch.setattr(run, "_train_loop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(dataclasses.replace(TINY, run_dir=str(run_dir)))
    monkeypatch.undo()
    assert (run_dir / "config.yaml").is_file() and not has_checkpoint(run_dir)
    assert learning_fields(resume(run_dir, progress=True).metrics) == straight_rows
    # A display choice of this launch, not recorded (config.yaml said progress: true after it).
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["config"]["progress"] is False
    # Given a new length, it starts as a new run of that length: the spacing of evaluations
    # had been pinned to the length it never trained for (eval_every 6 beside num_evals 2).
    shorter = tmp_path / "shorter"
    two_evals = dataclasses.replace(TINY, eval_every=None, num_evals=2, run_dir=str(shorter))
    monkeypatch.setattr(run, "_train_loop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(dataclasses.replace(two_evals, total_env_steps=4 * 4 * 6))  # 4 iterations
    monkeypatch.undo()
    longer = resume(shorter, total_env_steps=TINY.total_env_steps)  # 24 iterations
    assert [row["iteration"] for row in longer.metrics] == [12, 24]
    assert yaml.safe_load((shorter / "config.yaml").read_text())["config"]["eval_every"] is None


def test_a_finished_run_trained_further_matches_the_longer_run(
    tmp_path, straight_rows, capsys, monkeypatch
):
    run_dir = tmp_path / "run"
    train(dataclasses.replace(TINY, run_dir=str(run_dir), total_env_steps=4 * 4 * 14))
    capsys.readouterr()
    # This process shows a bar (the run was started with lines, for a log file), on a terminal.
    monkeypatch.setattr("jaxcrl.logger.shows_a_bar", lambda stream: True)
    result = resume(run_dir, total_env_steps=TINY.total_env_steps, progress=True)
    shown = capsys.readouterr()
    assert "env_steps=" not in shown.out and "train: 100%" in shown.err
    assert learning_fields(result.metrics) == straight_rows
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["config"]["total_env_steps"] == TINY.total_env_steps
    assert saved["config"]["progress"] is False  # a display choice of one process, not recorded
    assert saved["derived"]["training_iterations"] == 24
    assert saved["lengthened"] == [
        {"at_iteration": 12, "total_env_steps": [224, 416], "eval_every": [6, 6]}
    ]


def test_an_edited_config_yaml_is_refused_and_an_edited_length_lengthens(
    tmp_path, short_run, straight_rows
):
    # Edits used to be ignored (learning rates: the checkpoint's values won), to mix two runs
    # (another env), or to fail as unreadable checkpoints (another width).
    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    config_path = run_dir / "config.yaml"
    original = config_path.read_text()
    for line, edited in [("critic_lr: 0.0003", "critic_lr: 0.5"), ("seed: 0", "seed: 5")]:
        config_path.write_text(original.replace(line, edited))
        name, before, after = line.split(":")[0], line.split()[-1], edited.split()[-1]
        with pytest.raises(
            ConfigError,
            match=rf"config.yaml was edited since the checkpoint was "
            rf"saved \({name} {before} -> {after}\)",
        ):
            resume(run_dir)
    # dataset: may follow moved files, not turn an online run offline (it failed as unreadable
    # checkpoints).
    for named in (__file__, tmp_path / "none.npz"):  # not "its dataset is gone; put it back"
        config_path.write_text(original.replace("dataset: null", f"dataset: {named}"))
        with pytest.raises(ConfigError, match="now names a dataset .*, but the run trained online"):
            resume(run_dir)
    assert read_metrics(run_dir / "metrics.jsonl") == read_metrics(short_run / "metrics.jsonl")
    # A new length written there is taken as --total-env-steps takes it: same spacing and rows.
    length = f"total_env_steps: {4 * 4 * 14}"
    assert length in original
    config_path.write_text(original.replace(length, f"total_env_steps: {TINY.total_env_steps}"))
    assert learning_fields(resume(run_dir).metrics) == straight_rows
    saved = yaml.safe_load(config_path.read_text())
    assert saved["lengthened"][0]["total_env_steps"] == [4 * 4 * 14, TINY.total_env_steps]
    assert saved["config"]["run_dir"] == str(
        run_dir
    )  # where it is now, not where it was copied from


def test_the_old_length_given_again_undoes_an_unfinished_lengthening(tmp_path, short_run):
    # A launch that lengthened a finished run and was stopped while compiling left the longer
    # length in config.yaml; giving the old length again trained nothing but kept it there, so
    # the next plain --resume trained on past where the user had stopped.
    from jaxcrl.config_files import read_run_config
    from jaxcrl.run_dir import record_new_length

    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    config_path = run_dir / "config.yaml"
    original = yaml.safe_load(config_path.read_text())
    original["config"]["run_dir"] = str(run_dir)  # a resume records where the run is now
    short = read_run_config(run_dir)
    record_new_length(run_dir, short, run.lengthened(short, total_env_steps=4 * 4 * 26), 12)
    assert yaml.safe_load(config_path.read_text())["config"]["total_env_steps"] == 4 * 4 * 26
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert learning_fields(resume(run_dir, total_env_steps=4 * 4 * 14).metrics) == (
        learning_fields(rows)
    )
    assert yaml.safe_load(config_path.read_text()) == original  # no note, the old spacing
    assert read_metrics(run_dir / "metrics.jsonl") == rows  # and a plain resume trains nothing
    assert learning_fields(resume(run_dir).metrics) == learning_fields(rows)


def test_a_resume_on_other_devices_notes_them_in_config_yaml(tmp_path, short_run, monkeypatch):
    # config.yaml kept the devices of the first launch after a resume on others.
    from jaxcrl import run_dir as run_dirs

    run_dir = tmp_path / "run"
    shutil.copytree(short_run, run_dir)
    first = yaml.safe_load((run_dir / "config.yaml").read_text())["jax"]
    resume(run_dir)  # the same devices: nothing noted
    assert "resumed_on" not in yaml.safe_load((run_dir / "config.yaml").read_text())
    elsewhere = {**first, "devices": ["cpu:0", "cpu:1"]}
    monkeypatch.setattr(run_dirs, "jax_info", lambda: elsewhere)
    resume(run_dir)
    resume(run_dir)  # the same devices as last time: noted once
    record = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert record["jax"] == first and record["resumed_on"] == [
        {"at_iteration": 12, "jax": elsewhere}
    ]


def test_a_new_length_keeps_the_evaluation_spacing_and_the_kind_of_run():
    config = dataclasses.replace(TINY, eval_every=None, num_evals=2, total_env_steps=4 * 4 * 14)
    assert loop_sizes(config) == (12, 6)
    assert loop_sizes(run.lengthened(config, total_env_steps=4 * 4 * 26)) == (24, 6)
    assert run.lengthened(config, total_env_steps=config.total_env_steps) is config
    with pytest.raises(ConfigError, match="online run; give its new length with --total-env"):
        run.lengthened(config, num_updates=100)
    offline = dataclasses.replace(config, dataset="data.npz", num_updates=1000)
    assert loop_sizes(run.lengthened(offline, num_updates=4000)) == (4000, 500)
    with pytest.raises(ConfigError, match="offline run .* with --num-updates"):
        run.lengthened(offline, total_env_steps=10**6)


def poison_critic_loss_after(monkeypatch, good_steps: int) -> None:
    """Make every gradient step after the first ``good_steps`` report a NaN critic loss."""
    from jaxcrl import agent

    real_update = agent.update

    def poisoned_update(networks, config, learner, batch, hyperparams, key):
        learner, metrics = real_update(networks, config, learner, batch, hyperparams, key)
        bad = learner.gradient_steps > good_steps
        metrics["critic/loss"] = metrics["critic/loss"] + bad * float("nan")
        return learner, metrics

    monkeypatch.setattr(agent, "update", poisoned_update)


def test_non_finite_training_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    # From the 40th gradient step on (iteration 10 at 4 per iteration), the loss is NaN.
    poison_critic_loss_after(monkeypatch, 40)
    run_dir = tmp_path / "run"
    with pytest.raises(NonFiniteError, match=r"critic/loss at iteration 11 \(member 0, seed 0\)"):
        train(dataclasses.replace(TINY, run_dir=str(run_dir)))
    steps = sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [3, 6, 9]  # nothing saved from the poisoned chunk
    assert max(row["iteration"] for row in read_metrics(run_dir / "metrics.jsonl")) == 6


def test_non_finite_first_chunk_says_no_checkpoint_was_saved(tmp_path, monkeypatch):
    poison_critic_loss_after(monkeypatch, 0)
    run_dir = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="at iteration 1 .*No checkpoint had been saved yet"):
        train(dataclasses.replace(TINY, run_dir=str(run_dir)))
    assert not has_checkpoint(run_dir)
    # An offline run's inputs are its dataset's, not an env's observations.
    import jax

    from jaxcrl.collect import collect_dataset, random_actions
    from jaxcrl.dataset import save_dataset
    from jaxcrl.envs import make_env

    env = make_env("point_open")
    data = tmp_path / "data.npz"
    key = jax.random.PRNGKey(0)
    save_dataset(data, collect_dataset(env, env.default_params(), random_actions(2), key, 4))
    offline = TrainConfig(
        env="point_open", run_dir=str(tmp_path / "offline"), dataset=str(data), num_updates=8,
        batch_size=16, hidden_width=16, repr_dim=8, eval_episodes=4,
    )  # fmt: skip
    with pytest.raises(NonFiniteError, match=f"or check the dataset {data} for NaN/Inf or a scale"):
        train(offline)
    # A loss weight raised far past its default is named beside the learning rates.
    heavy = dataclasses.replace(
        offline, run_dir=str(tmp_path / "heavy"), actor_objective="ddpg_bc", bc_alpha=1e30
    )
    weight = r"lower the learning rates, or --bc-alpha 1e\+30 \(default 0.1\), or check the"
    with pytest.raises(NonFiniteError, match=weight):
        train(heavy)


def test_a_rows_speed_counts_every_chunk_since_the_previous_evaluation(tmp_path, monkeypatch):
    # With a checkpoint between evaluations, sps measured the last chunk alone (a one-iteration
    # chunk logged 3.5k where the others logged 17k to 24k).
    timed = []
    real = run.throughput

    def recording(config, iteration, member_iterations, seconds):
        timed.append(member_iterations)
        return real(config, iteration, member_iterations, seconds)

    monkeypatch.setattr(run, "throughput", recording)
    # short_run's sizes: its programs are compiled already (the tests' compilation cache).
    train(dataclasses.replace(TINY, run_dir=str(tmp_path / "run"), total_env_steps=4 * 4 * 14))
    assert timed == [6, 6]  # checkpoints every 3 iterations, evaluations every 6


def test_the_advice_after_non_finite_values_names_a_tiny_energy_temperature():
    # --energy-temperature 1e-30 overflowed, and the advice named only the learning rates.
    from jaxcrl.run import raised_loss_weights

    assert raised_loss_weights(TrainConfig()) == ""
    assert raised_loss_weights(TrainConfig(energy_temperature=1e-30, bc_alpha=1e30)) == (
        ", or --bc-alpha 1e+30 (default 0.1), or raise --energy-temperature 1e-30 (default 1)"
    )


def test_resume_checks_its_arguments_as_train_config_does(tmp_path):
    # total_env_steps="6000" failed as a TypeError deep in the resume; progress="no" showed a bar.
    for given, message in [
        ({"total_env_steps": "6000"}, r"--total-env-steps must be a whole number, got '6000'"),
        ({"progress": "no"}, "--progress must be true or false, got 'no'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            resume(tmp_path, **given)


def test_a_stop_signal_during_the_last_chunk_ends_the_run_as_finished(tmp_path, monkeypatch):
    # A scheduler's SIGTERM that lands while the last chunk runs: the run still finishes, saved,
    # and says so (its exit status is 0), where it used to report an interrupt at "24 of 24".
    monkeypatch.setattr(run, "agreed_signal", lambda signals: signal.SIGTERM)
    with pytest.raises(run.TrainingInterrupted, match="stopped at iteration 3 of 24"):
        train(dataclasses.replace(TINY, run_dir=str(tmp_path / "early"), eval_every=3))
    result = train(
        dataclasses.replace(
            TINY, run_dir=str(tmp_path / "last"), eval_every=24, checkpoint_every=24
        )
    )
    assert [row["iteration"] for row in result.metrics] == [24]
    assert has_checkpoint(tmp_path / "last")


def start_training(run_dir: Path, *extra: str, chunk_delay_s: float = 0.5) -> subprocess.Popen:
    flags = [
        "--env", "point_open", "--num-envs", "4", "--unroll-length", "4", "--batch-size", "16",
        "--buffer-size", "96", "--prefill-steps", "32", "--update-to-data-ratio", "0.25",
        "--total-env-steps", "416", "--hidden-width", "16", "--repr-dim", "8",
        "--eval-episodes", "6", "--eval-every", "6", "--checkpoint-every", "3",
        "--keep-checkpoints", "3", "--no-progress", "--run-dir", str(run_dir),
    ]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAXCRL_TEST_CHUNK_DELAY_S": str(chunk_delay_s)}
    args = [sys.executable, str(REPO / "train.py"), *(extra or flags)]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_checkpoint(run_dir: Path, process: subprocess.Popen, after: int = 0) -> int:
    """Poll until a checkpoint newer than ``after`` exists; returns its iteration."""
    deadline = time.time() + 300
    while time.time() < deadline:
        folder = run_dir / "checkpoints"
        steps = (
            [int(p.name) for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
        )
        if steps and max(steps) > after:
            return max(steps)
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("no checkpoint appeared")


def test_ctrl_c_while_compiling_ends_the_run_at_once_without_a_traceback(tmp_path):
    run_dir = tmp_path / "run"
    process = start_training(run_dir)
    deadline = time.time() + 120
    while not (run_dir / "config.yaml").exists():  # written just before compiling starts
        assert time.time() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGINT, stderr  # by the signal, as a shell expects
    assert "Traceback" not in stderr and not has_checkpoint(run_dir)
    # It said nothing: a run directory was left behind, and no word on what to do with it.
    assert stderr.splitlines()[-1] == (
        f"stopped while setting up: nothing was trained; python {REPO / 'train.py'} --resume "
        f"{run_dir} starts it from the beginning"
    )


def test_sigterm_then_sigkill_then_resume_equals_the_straight_run(tmp_path, straight_rows):
    run_dir = tmp_path / "run"
    first = start_training(run_dir)
    wait_for_checkpoint(run_dir, first)
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 128 + signal.SIGTERM, stderr
    assert "SIGTERM received" in stderr and f"--resume {run_dir}" in stderr

    second = start_training(run_dir, "--resume", str(run_dir))
    saved = max(int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit())
    wait_for_checkpoint(run_dir, second, after=saved)
    second.send_signal(signal.SIGKILL)  # no chance to save anything
    second.communicate(timeout=60)

    third = start_training(run_dir, "--resume", str(run_dir))
    stdout, stderr = third.communicate(timeout=300)
    assert third.returncode == 0, stderr
    assert "success rate" in stdout
    assert learning_fields(read_metrics(run_dir / "metrics.jsonl")) == straight_rows


def test_a_second_signal_stops_the_run_at_once_keeping_its_last_checkpoint(tmp_path):
    # An OGBench env's host evaluation can run for minutes: the first Ctrl-C waited for it, and
    # a second one was ignored.
    run_dir = tmp_path / "run"
    # Each chunk waits 5 s after its gradient steps: both signals reach the run inside the chunk
    # after its first checkpoint, as two would reach a long evaluation.
    process = start_training(run_dir, chunk_delay_s=5.0)
    saved = wait_for_checkpoint(run_dir, process)
    # The checkpoint's folder appears just before the run looks for a signal: a first one sent
    # at once on a loaded CPU was taken there, and the run stopped before the second came.
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "send it again to stop at once" in stderr
    last = stderr.strip().splitlines()[-1]
    assert "SIGINT received twice: stopped at once, saving nothing more." in last
    kept = int(re.search(r"The last good checkpoint \(iteration (\d+)\)", last).group(1))
    assert kept >= saved and has_checkpoint(run_dir) and "Traceback" not in stderr


CHUNK_IN_FLIGHT = """
import jax
import jax.numpy as jnp

from jaxcrl import cli, run


def train_with_a_chunk_in_flight(config):
    step = lambda i, v: v * 1.0000001 + 1e-9  # about a minute on a 2-core CPU
    jax.jit(lambda x: jax.lax.fori_loop(0, 10**9, step, x))(jnp.ones(1000))
    raise run.TrainingInterrupted("SIGTERM received twice: stopped at once", 15, at_once=True)


run.train = train_with_a_chunk_in_flight
cli.train_main(["--env", "point_open", "--no-progress"])
"""


def test_a_run_stopped_at_once_exits_without_waiting_for_its_chunk(tmp_path):
    # The process said "stopped at once" and then ran on until the device finished its chunk
    # (the runtime joins its threads at exit), its run dir no longer locked against a resume.
    script = tmp_path / "chunk_in_flight.py"
    script.write_text(CHUNK_IN_FLIGHT)
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 128 + signal.SIGTERM, finished.stderr
    assert "stopped at once" in finished.stderr
    assert time.monotonic() - started < 30  # the chunk alone runs for about a minute


def test_the_first_stop_signal_says_how_long_the_chunk_has_left(capfd):
    # A CPU pixel run's chunk can take an hour, and "stopping at the end of this chunk" said
    # nothing of how long that is, nor how to make it shorter.
    from jaxcrl.stop_signals import stop_requests

    with stop_requests() as received:
        received.chunk_ends_at = time.monotonic() + 600
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
    message = capfd.readouterr().err
    assert "stopping at the end of this chunk (in about 600 s" in message
    assert "--checkpoint-every N shortens chunks" in message
    # In the first chunk, not timed yet, the advice came without a word of why no time is given.
    with stop_requests():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
    message = capfd.readouterr().err
    assert "end of this chunk (the first, whose length is not known yet; --checkpoint-every" in (
        message
    )


def test_one_signal_delivered_twice_at_once_asks_for_one_stop():
    # GNU timeout signals the process and then its process group, so the run saw "twice" and
    # stopped at once, skipping the checkpoint that one request promises.
    from jaxcrl.stop_signals import StoppedAtOnce, stop_requests

    with stop_requests() as received:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # let the handler run
        assert received == [signal.SIGTERM]
        time.sleep(0.15)
        with pytest.raises(StoppedAtOnce):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
