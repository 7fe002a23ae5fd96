"""train.py -> eval.py round trip, and command-line errors, as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jaxcrl.logger import read_metrics

REPO = Path(__file__).resolve().parents[1]
TINY_FLAGS = [
    "--total-env-steps",
    "3072",
    "--num-envs",
    "8",
    "--unroll-length",
    "8",
    "--batch-size",
    "32",
    "--buffer-size",
    "1024",
    "--prefill-steps",
    "256",
    "--hidden-width",
    "32",
    "--repr-dim",
    "8",
    "--eval-episodes",
    "8",
    "--num-evals",
    "2",
    "--no-progress",
]


def run_script(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_train_then_eval_round_trip(tmp_path):
    run_dir = tmp_path / "run"
    trained = run_script(
        "train.py", *TINY_FLAGS, "--seed", "3", "--run-dir", str(run_dir), cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert "success rate" in trained.stdout

    document = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert document["config"]["seed"] == 3 and document["config"]["num_envs"] == 8
    assert document["derived"]["updates_per_iteration"] == 4
    assert document["env_info"]["goal_indices"] == [0, 1]

    rows = read_metrics(run_dir / "metrics.jsonl")
    assert len(rows) == 2
    required = {
        "env_steps",
        "wall_time_s",
        "sps",
        "eval/success",
        "eval/time_near_goal",
        "eval/final_distance",
        "critic/loss",
        "critic/accuracy",
        "critic/logits_pos",
        "critic/logits_neg",
        "actor/entropy",
        "alpha",
    }
    assert required <= set(rows[-1])
    assert rows[-1]["env_steps"] == 3072 and rows[0]["env_steps"] < rows[-1]["env_steps"]
    assert (run_dir / "checkpoints").is_dir()

    evaluated = run_script("eval.py", "--run-dir", str(run_dir), "--episodes", "5", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    lines = evaluated.stdout.strip().splitlines()
    assert lines[0].startswith("success rate") and lines[1].startswith("time near goal")
    result = json.loads(lines[-1])
    assert result["episodes"] == 5
    assert 0.0 <= result["eval/success"] <= 1.0 and result["eval/final_distance"] >= 0

    again = run_script("train.py", *TINY_FLAGS, "--run-dir", str(run_dir), cwd=tmp_path)
    assert again.returncode != 0 and "already holds a run" in again.stderr
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2  # the saved run is untouched


@pytest.mark.parametrize(
    "args,message",
    [
        (["--env", "nowhere"], "unknown env 'nowhere'"),
        (["--batch-size", "100000", "--buffer-size", "5000"], "larger than the buffer holds"),
        (["--num-envs", "0"], "--num-envs must be a positive integer"),
        (["--unroll-length", "-3"], "--unroll-length must be a positive integer"),
        (["--config", "no_such_preset"], "neither a YAML file nor a preset"),
    ],
)
def test_config_errors_exit_nonzero_with_one_line(args, message, tmp_path):
    result = run_script("train.py", *args, "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert not (tmp_path / "r").exists()


def test_eval_of_a_directory_that_is_not_a_run(tmp_path):
    result = run_script("eval.py", "--run-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "not a jaxcrl run directory" in result.stderr


def test_help_lists_envs_and_presets(tmp_path):
    result = run_script("train.py", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for name in ["point_open", "point_u_maze", "--total-env-steps", "Presets:"]:
        assert name in result.stdout
