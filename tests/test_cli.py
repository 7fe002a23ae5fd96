"""train.py -> eval.py round trip, and command-line errors, as a user runs them."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jaxcrl.cli import parse_resume_args
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.config_files import read_overrides, write_config
from jaxcrl.logger import read_metrics
from jaxcrl.run_dir import has_checkpoint
from jaxcrl.saved_runs import load_member

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


def test_train_then_eval_round_trip(tmp_path, capsys):
    from jaxcrl.cli import train_main

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

    # The final checkpoint reads back in Python, learner and replay buffer, for analysis.
    loaded = load_member(run_dir)
    assert int(loaded.buffer.steps_written) * 8 == 3072
    assert int(loaded.learner.gradient_steps) == rows[-1]["gradient_steps"]
    assert loaded.config.seed == 3 and loaded.env.name == "point_open"
    with pytest.raises(ConfigError, match="--member 1 is not in this run"):
        load_member(run_dir, member=1)

    evaluated = run_script("eval.py", "--run-dir", str(run_dir), "--episodes", "5", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    lines = evaluated.stdout.strip().splitlines()
    assert lines[0].startswith("success rate") and lines[1].startswith("time near goal")
    result = json.loads(lines[-1])
    assert result["episodes"] == 5
    assert 0.0 <= result["eval/success"] <= 1.0 and result["eval/final_distance"] >= 0

    assert (run_dir / "metrics.csv").read_text().count("\n") == 3  # header + 2 rows

    # Toward a goal the user names, with a video of one episode toward it.
    video = tmp_path / "episode.mp4"
    toward = run_script(
        "eval.py", "--run-dir", str(run_dir), "--episodes", "3", "--goal", "2.5,2.5",
        "--video", str(video), cwd=tmp_path,
    )  # fmt: skip
    assert toward.returncode == 0, toward.stderr
    assert json.loads(toward.stdout.splitlines()[-2])["goal"] == [2.5, 2.5]
    assert "video of" in toward.stdout and video.stat().st_size > 0
    wrong = run_script("eval.py", "--run-dir", str(run_dir), "--goal", "1,2,3", cwd=tmp_path)
    assert wrong.returncode != 0 and "--goal has 3 numbers but point_open takes 2" in (wrong.stderr)

    # Refusals, which stop before anything compiles, run in this process (a new one took
    # seconds each to import JAX).
    def refused(*flags: str) -> str:
        with pytest.raises(SystemExit) as stopped:
            train_main(list(flags))
        assert stopped.value.code not in (0, None)
        return capsys.readouterr().err

    assert "already holds a run" in refused(*TINY_FLAGS, "--run-dir", str(run_dir))
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2  # the saved run is untouched

    # A finished run resumes to no further work and leaves its rows as they are.
    resumed = run_script("train.py", "--resume", str(run_dir), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2

    # Trained further: a new --total-env-steps, evaluated every 22 iterations as before.
    longer = run_script(
        "train.py", "--resume", str(run_dir), "--total-env-steps", "4480", cwd=tmp_path
    )
    assert longer.returncode == 0, longer.stderr
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [row["env_steps"] for row in rows] == [1664, 3072, 4480]
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["config"]["total_env_steps"] == 4480 and saved["config"]["eval_every"] == 22
    assert saved["lengthened"] == [
        {"at_iteration": 44, "total_env_steps": [3072, 4480], "eval_every": [None, 22]}
    ]
    for length in ("2048", "64"):  # 64 ends in the prefill: it was told to raise it to 320
        shorter = refused("--resume", str(run_dir), "--total-env-steps", length)
        past = f"already trained for 4480 env steps, past --total-env-steps {length}; give a"
        assert past in shorter, shorter
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 3
    assert yaml.safe_load((run_dir / "config.yaml").read_text()) == saved
    # The same length edited into config.yaml is named as the file's, not as a flag.
    config_text = (run_dir / "config.yaml").read_text()
    (run_dir / "config.yaml").write_text(
        config_text.replace("total_env_steps: 4480", "total_env_steps: 2048")
    )
    edited = refused("--resume", str(run_dir))
    past = "past total_env_steps: 2048 in its config.yaml; set a larger value there"
    assert past in edited, edited
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 3


def test_resume_refuses_what_is_not_a_run_and_extra_flags(tmp_path):
    result = run_script("train.py", "--resume", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "--resume" in result.stderr and "not a jaxcrl run directory" in result.stderr
    (tmp_path / "config.yaml").write_text("config: {}\n")
    (tmp_path / "checkpoints").mkdir()
    result = run_script("train.py", "--resume", str(tmp_path), "--seed", "4", cwd=tmp_path)
    assert result.returncode != 0 and "drop the other flags (--seed 4)" in result.stderr
    result = run_script("train.py", "--resume", str(tmp_path), "--num-updates", "9", cwd=tmp_path)
    assert result.returncode != 0 and "this is an online run" in result.stderr
    result = run_script(
        "train.py", "--resume", str(tmp_path), "--total-env-steps", "lots", cwd=tmp_path
    )
    assert (
        result.returncode != 0 and "--total-env-steps must be a positive integer" in result.stderr
    )


def test_resume_takes_a_new_length_and_the_launch_options(tmp_path):
    (tmp_path / "config.yaml").write_text("config: {}\n")
    assert parse_resume_args(["--resume", str(tmp_path), "--no-progress"]) == (
        tmp_path,
        {"progress": False},
    )
    given = ["--progress", "--resume", str(tmp_path), "--total-env-steps", "5"]
    assert parse_resume_args(given) == (tmp_path, {"total_env_steps": 5, "progress": True})
    assert parse_resume_args(["--resume", str(tmp_path)]) == (tmp_path, {})
    # A run started on one host goes on over several (or back on one).
    given = ["--resume", str(tmp_path), "--distributed", "--no-progress"]
    assert parse_resume_args(given) == (tmp_path, {"progress": False, "distributed": True})
    given = ["--resume", str(tmp_path), "--no-distributed"]
    assert parse_resume_args(given) == (tmp_path, {"distributed": False})


def test_several_seeds_print_their_summary(tmp_path):
    run_dir = tmp_path / "run"
    trained = run_script(
        "train.py", *TINY_FLAGS, "--num-seeds", "3", "--run-dir", str(run_dir), cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert "success rate over 3 members: mean" in trained.stdout and "IQM" in trained.stdout
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert sorted({row["seed"] for row in rows}) == [0, 1, 2] and len(rows) == 6
    evaluated = run_script("eval.py", "--run-dir", str(run_dir), "--episodes", "4", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert len(json.loads(evaluated.stdout.splitlines()[-1])["members"]) == 3


@pytest.mark.parametrize(
    "args,message",
    [
        (["--env", "nowhere"], "unknown env 'nowhere'"),
        (["--batch-size", "100000", "--buffer-size", "5000"], "larger than the buffer holds"),
        (["--num-envs", "0"], "--num-envs must be a positive integer"),
        (["--unroll-length", "-3"], "--unroll-length must be a positive integer"),
        (["--config", "no_such_preset"], "neither a YAML file nor a preset"),
        (["--sweep", "goal_discount=1.5,0.9"], "--sweep goal_discount=1.5: --goal-discount"),
        (["--critic-lr", "nan"], "--critic-lr must be a finite number, got nan"),
        (["--num-envs", "x"], "error parsing --num-envs: invalid literal for int()"),
        (["--config", "offline_crl_paper"], "--num-updates 1000000 sets the length of an offline"),
    ],
)
def test_config_errors_exit_nonzero_with_one_line(args, message, tmp_path):
    result = run_script("train.py", *args, "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert not (tmp_path / "r").exists()


def test_an_unwritable_run_dir_is_one_error_line(tmp_path):
    result = run_script("train.py", "--run-dir", "/proc/jaxcrl-test/run", cwd=tmp_path)
    last_line = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert last_line.startswith("error: --run-dir /proc/jaxcrl-test/run: cannot create it (")


def test_a_run_whose_start_failed_is_started_by_resume(tmp_path):
    from jaxcrl.cli import parse_train_args

    # What a start that crashed (or was stopped) while compiling leaves: config.yaml and an
    # empty checkpoints/.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = parse_train_args([*TINY_FLAGS, "--seed", "5", "--run-dir", str(run_dir)])
    write_config(config, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    (run_dir / "checkpoints").mkdir()
    again = run_script("train.py", *TINY_FLAGS, "--run-dir", str(run_dir), cwd=tmp_path)
    assert again.returncode != 0
    assert f"--resume {run_dir} starts it from the beginning" in again.stderr, again.stderr

    started = run_script("train.py", "--resume", str(run_dir), cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert f"{run_dir} has no checkpoint yet (its start did not finish)" in started.stderr
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [row["env_steps"] for row in rows] == [1664, 3072] and rows[0]["seed"] == 5
    assert has_checkpoint(run_dir)
    # Now that it saved work, a new start there is refused as before.
    refused = run_script("train.py", *TINY_FLAGS, "--run-dir", str(run_dir), cwd=tmp_path)
    assert refused.returncode != 0 and "already holds a run; choose a new" in refused.stderr
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2
    # Checkpoints that vanish after evaluations were logged: starting again would drop the rows.
    shutil.rmtree(run_dir / "checkpoints")
    lost = run_script("train.py", "--resume", str(run_dir), cwd=tmp_path)
    assert lost.returncode != 0
    assert "logged evaluations up to iteration 44, but its checkpoints are gone" in lost.stderr
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2
    # A kill while the first checkpoint was being saved: its iteration's row is logged (rows go
    # first), the checkpoint half written. Starting again makes the same row.
    first_row = (run_dir / "metrics.jsonl").read_text().splitlines()[0]
    (run_dir / "metrics.jsonl").write_text(first_row + "\n")
    (run_dir / "checkpoints" / "22.orbax-checkpoint-tmp-1").mkdir(parents=True)
    again = run_script("train.py", "--resume", str(run_dir), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [row["iteration"] for row in read_metrics(run_dir / "metrics.jsonl")] == [22, 44]


def test_a_stray_metrics_file_without_config_yaml_is_not_appended_to(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text('{"iteration": 7}\n')
    result = run_script("train.py", *TINY_FLAGS, "--run-dir", str(run_dir), cwd=tmp_path)
    assert result.returncode != 0 and "holds a metrics.jsonl but no config.yaml" in result.stderr
    assert (run_dir / "metrics.jsonl").read_text() == '{"iteration": 7}\n'


def test_a_runs_config_yaml_as_config_leaves_its_run_dir_behind(tmp_path, capsys):
    from jaxcrl.cli import parse_train_args

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = parse_train_args([*TINY_FLAGS, "--run-dir", str(run_dir)])
    write_config(config, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    capsys.readouterr()
    again = parse_train_args(["--config", str(run_dir / "config.yaml"), "--seed", "3"])
    assert again.run_dir is None and again.seed == 3 and again.num_envs == 8
    # Said, so that a run_dir edited in the file is not dropped unseen.
    note = f"note: --config {run_dir / 'config.yaml'} records the run in {run_dir}; this one"
    assert note in capsys.readouterr().err
    parse_train_args(["--config", str(run_dir / "config.yaml"), "--run-dir", str(tmp_path / "b")])
    assert capsys.readouterr().err == ""


def test_eval_of_a_directory_that_is_not_a_run(tmp_path):
    result = run_script("eval.py", "--run-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "not a jaxcrl run directory" in result.stderr


def test_help_lists_every_env_and_preset_in_lines_a_terminal_shows_whole(tmp_path):
    from jaxcrl.config_files import available_presets
    from jaxcrl.envs import portable_env, registered_envs

    result = run_script("train.py", "--help", cwd=tmp_path)
    assert result.returncode == 0
    words = set(result.stdout.replace(",", " ").split())
    # Mazes another test registered in this process exist here only, not in the script's process.
    every_process = {name for name in registered_envs() if portable_env(name)[0] == name}
    assert len(every_process) > 60
    assert every_process <= words and set(available_presets()) <= words
    assert "--total-env-steps" in result.stdout
    listing = result.stdout[result.stdout.index("Registered envs:") : result.stdout.index("╭")]
    assert max(map(len, listing.splitlines())) <= 110  # OGBench's ~40 ids share a few lines
    assert sum("OGBench" in line for line in listing.splitlines()) == 1  # not one per id


def test_logger_flag_is_an_alias_of_loggers():
    from jaxcrl.cli import parse_train_args

    assert parse_train_args(["--logger", "tensorboard"]).loggers == ("tensorboard",)
    assert parse_train_args(["--loggers", "tensorboard", "wandb"]).loggers == (
        "tensorboard",
        "wandb",
    )
    assert parse_train_args([]).loggers == ()


def test_env_options_given_with_a_preset_add_to_its_own():
    from jaxcrl.cli import parse_train_args

    assert parse_train_args(["--config", "ant"]).env_options == ("motor_gear=60",)
    added = parse_train_args(["--config", "ant", "--env-options", "goal_max_radius=5"])
    assert added.env_options == ("motor_gear=60", "goal_max_radius=5")
    replaced = parse_train_args(["--config", "ant", "--env-options", "motor_gear=150"])
    assert replaced.env_options == ("motor_gear=150",)
    dashed = parse_train_args(["--config", "ant", "--env-options", "motor-gear=150"])
    assert dashed.env_options == ("motor-gear=150",)  # the same option, in its dash spelling


@pytest.mark.parametrize(
    "options, message",
    [
        (["episode_length=50", "episode_length=80"], "names 'episode_length' twice"),
        (["max_step=.nan"], "'max_step=.nan': VALUE must be a finite number"),
    ],
)
def test_env_options_named_twice_or_not_finite_are_refused(options, message, capsys):
    from jaxcrl.cli import parse_train_args

    with pytest.raises(SystemExit):
        parse_train_args(["--env-options", *options])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--logger", "tensorboard", "--loggers", "wandb"],
        ["--sweep", "critic_lr=1e-4,3e-4", "--sweep=actor_lr=1e-4,3e-4"],
        ["--env-options", "max_step=0", "--env_options", "episode_length=60"],
    ],
)
def test_a_list_flag_given_twice_is_refused_not_cut_to_its_last_values(args, capsys):
    from jaxcrl.cli import parse_train_args

    with pytest.raises(SystemExit):
        parse_train_args(args)
    flag = args[0] if args[0] != "--logger" else "--loggers"
    assert f"error: {flag} is given 2 times, and only the last would count" in (
        capsys.readouterr().err
    )


def test_metrics_an_env_does_not_define_print_as_not_available():
    from jaxcrl.cli import figure

    assert figure(0.12345) == "0.123"
    assert figure(None) == "n/a" and figure(float("nan")) == "n/a"


@pytest.mark.parametrize(
    "args, line",
    [
        # These printed argparse's three-line usage of the few flags read ahead of the others.
        (["--total-env-steps"], "argument --total-env-steps/--total_env_steps: expected one"),
        (["--config"], "argument --config: expected one argument (see train.py --help)"),
        (["--progress=yes"], "argument --progress: ignored explicit argument 'yes'"),
        # These resumed the last run named, or trained to the last length given.
        (["--resume", "a", "--resume", "b"], "--resume is given 2 times (a, b); give it once"),
        (
            ["--resume", "a", "--total-env-steps", "30", "--total-env-steps", "20"],
            "--total-env-steps is given 2 times (30, 20); give it once",
        ),
    ],
)
def test_flags_read_ahead_of_the_others_fail_in_one_line(args, line, capsys):
    from jaxcrl.cli import train_main

    with pytest.raises(SystemExit) as stopped:
        train_main(args)
    assert stopped.value.code == 2
    (printed,) = capsys.readouterr().err.strip().splitlines()
    assert printed.startswith(f"error: {line}"), printed


@pytest.mark.parametrize(
    "main,args,line",
    [
        # The value is named: it had been cut off where tyro wraps the line.
        (
            "train",
            ["--num-envs", "abc"],
            "--num-envs: invalid literal for int() with base 10: 'abc'",
        ),
        ("train", ["--update-to-data-ratio", "1/16"], "convert string to float: '1/16' (see"),
        # A misspelt flag alone: its value was listed among the options.
        ("train", ["--batch", "3"], "unrecognized option: --batch; perhaps you meant --batch-size"),
        ("train", ["--batch", "3", "--sed", "1"], "unrecognized options: --batch, --sed ("),
        ("train", ["--contrastive-loss", "nce"], "invalid choice 'nce' for argument"),
        ("train", ["--num-envs"], "missing value for argument '--num-envs'"),
        ("eval", [], "missing required option: --run-dir (see eval.py --help)"),
        # Beside a missing option, the misspelt flag or the value without one was left out.
        (
            "eval",
            ["--rundir", "r"],
            "missing required option: --run-dir; unrecognized option: --rundir (",
        ),  # fmt: skip
        ("eval", ["r"], "missing required option: --run-dir; r: no option flag names this value"),
        ("eval", ["--run-dir", "r", "--episode", "3"], "perhaps you meant --episodes"),
    ],
)
def test_a_flag_that_does_not_parse_is_one_error_line(main, args, line, capsys):
    from jaxcrl.cli import eval_main, parse_train_args

    with pytest.raises(SystemExit) as stopped:
        (parse_train_args if main == "train" else eval_main)(args)
    assert stopped.value.code == 2
    (printed,) = capsys.readouterr().err.strip().splitlines()
    assert printed.startswith("error: ") and line in printed, printed
    assert printed.endswith(f"(see {main}.py --help)")


def test_a_flag_for_an_option_the_sweep_varies_is_refused(capsys, tmp_path):
    from jaxcrl.cli import parse_train_args

    with pytest.raises(SystemExit):
        parse_train_args(["--critic_lr=1e-3", "--sweep", "critic-lr=1e-4,3e-4"])
    assert "error: --critic-lr and --sweep critic-lr=1e-4,3e-4 both set critic_lr" in (
        capsys.readouterr().err
    )
    # A sweep from a file is cleared by a bare --sweep, which the message now says.
    swept = tmp_path / "swept.yaml"
    swept.write_text("sweep: ['critic_lr=1e-4,3e-4']\n")
    with pytest.raises(SystemExit):
        parse_train_args(["--config", str(swept), "--critic-lr", "1e-3"])
    assert "(a bare --sweep clears one that --config gave)" in capsys.readouterr().err
    cleared = parse_train_args(["--config", str(swept), "--critic-lr", "1e-3", "--sweep"])
    assert cleared.sweep == () and cleared.critic_lr == 1e-3
    # A flag for another option beside the sweep is fine.
    config = parse_train_args(["--actor-lr", "1e-3", "--sweep", "critic_lr=1e-4,3e-4"])
    assert config.actor_lr == 1e-3
    # An option no sweep can vary is named as such first (dropping the flag led to that error).
    from jaxcrl.cli import train_main

    with pytest.raises(SystemExit):
        train_main(
            ["--batch-size", "32", "--sweep", "batch_size=4,8", "--run-dir", str(tmp_path / "r")]
        )
    assert "error: --sweep cannot vary 'batch_size'" in capsys.readouterr().err


def test_a_presets_values_that_the_run_would_not_use_go_back_to_their_defaults(tmp_path):
    # The sweep's values win over the preset's; a --dataset run has no env-step length. Left in,
    # config.yaml recorded values the run never used, and the library refuses such configs.
    from jaxcrl.cli import parse_train_args

    defaults = TrainConfig()
    swept = parse_train_args(["--config", "point_u_maze", "--sweep", "target_entropy=-1,1"])
    assert read_overrides("point_u_maze")["target_entropy"] != defaults.target_entropy
    assert swept.target_entropy == defaults.target_entropy
    assert swept.total_env_steps == read_overrides("point_u_maze")["total_env_steps"]
    data = tmp_path / "data.npz"
    offline = parse_train_args(["--config", "point_u_maze", "--dataset", str(data)])
    assert offline.total_env_steps == defaults.total_env_steps
    assert offline.batch_size == read_overrides("point_u_maze").get("batch_size", 256)


def film_an_untrained_reacher(tmp_path: Path, renderer: str | None) -> subprocess.CompletedProcess:
    """eval.py --video on a reacher run with no checkpoint, on a machine with no display, with
    MUJOCO_GL set to ``renderer`` (None: unset)."""
    run_dir = tmp_path / "reacher"
    run_dir.mkdir()
    write_config(TrainConfig(env="reacher", run_dir=str(run_dir)), run_dir / "config.yaml", {})
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL"):
        env.pop(name, None)
    env |= {"MUJOCO_GL": renderer} if renderer else {}
    return subprocess.run(
        [sys.executable, str(REPO / "eval.py"), "--run-dir", str(run_dir), "--video", "a.mp4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_video_of_a_mujoco_task_without_opengl_is_refused_before_evaluating(tmp_path):
    # It used to evaluate every episode first (40 s on the ant), then fail to draw the video.
    done = film_an_untrained_reacher(tmp_path, "glfw")  # GLFW opens no window: no context
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --video: reacher: MuJoCo could not open an OpenGL context")
    assert "MUJOCO_GL=egl" in last and "checkpoint" not in done.stderr


def test_a_video_on_a_machine_without_a_display_picks_egl_itself(tmp_path, monkeypatch):
    # Without MUJOCO_GL, a headless server's video was refused until the user set MUJOCO_GL=egl.
    from jaxcrl.envs.base import choose_offscreen_renderer, other_renderer_fix

    done = film_an_untrained_reacher(tmp_path, None)
    # The renderer started, so the run's missing checkpoint is what stops it.
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'reacher'} has no checkpoints/ directory; the run is still setting "
        f"up, or it stopped before saving one (python {REPO / 'train.py'} --resume "
        f"{tmp_path / 'reacher'} starts it again)"
    )
    # A display, a chosen renderer, or MuJoCo already imported: nothing is changed.
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delitem(sys.modules, "mujoco", raising=False)
    assert choose_offscreen_renderer() is None and "MUJOCO_GL" not in os.environ
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert choose_offscreen_renderer() is None and os.environ["MUJOCO_GL"] == "osmesa"
    # When EGL itself fails, the fix offered is another renderer, not EGL again.
    assert other_renderer_fix("egl").startswith("set MUJOCO_GL=osmesa")


def test_config_given_twice_is_refused_and_another_env_leaves_the_presets_env_options(capsys):
    from jaxcrl.cli import parse_train_args

    with pytest.raises(SystemExit):
        parse_train_args(["--config", "point_medium", "--config", "point_u_maze"])
    assert (
        "error: --config is given 2 times (point_medium, point_u_maze)" in capsys.readouterr().err
    )
    # The ant preset's motor_gear is the ant's: on the humanoid it was refused as unknown.
    humanoid = parse_train_args(["--config", "ant", "--env", "humanoid", "--num-envs", "64"])
    assert humanoid.env_options == ()
    notes = capsys.readouterr().err
    assert "the env options of ant in --config ant (motor_gear=60) are left out" in notes
    # The preset's other settings, chosen for the ant, stay: said aloud (a flag's value is not).
    kept = "note: --env humanoid keeps the other settings of --config ant, chosen for ant: "
    assert kept + "total_env_steps=10000000 buffer_size=4000000 prefill_steps=512000" in notes
    given = parse_train_args(["--config", "ant", "--env", "humanoid", "--env-options", "a=1"])
    assert given.env_options == ("a=1",)
    kept = parse_train_args(["--config", "ant", "--env-options", "goal_max_radius=5"])
    assert kept.env_options == ("motor_gear=60", "goal_max_radius=5")
    # A preset that names no env (the offline objectives') was said to be chosen for point_open.
    capsys.readouterr()
    parse_train_args(["--config", "offline_crl_paper", "--env", "point_u_maze"])
    assert "note:" not in capsys.readouterr().err


def test_a_presets_collection_options_are_left_out_of_a_dataset_run(tmp_path):
    from jaxcrl.cli import parse_train_args

    assert read_overrides("point_medium")["redraw_goal_on_success"] is True
    config = parse_train_args(["--config", "point_medium", "--dataset", str(tmp_path / "d.npz")])
    assert config.redraw_goal_on_success is False
    assert config.buffer_size == TrainConfig().buffer_size
    # A preset's BC weight gives way to another objective given on the command line.
    assert read_overrides("offline_crl_paper")["bc_weight"] == 0.05
    other = ["--config", "offline_crl_paper", "--actor-objective", "ddpg_bc"]
    assert parse_train_args(other).bc_weight == TrainConfig().bc_weight
    # A preset's --num-evals gives way to --eval-every given on the command line.
    assert read_overrides("ant")["num_evals"] == 20
    spaced = parse_train_args(["--config", "ant", "--eval-every", "7"])
    assert (spaced.num_evals, spaced.eval_every) == (TrainConfig().num_evals, 7)


def test_env_option_numbers_in_exponent_form_are_numbers():
    from jaxcrl.config import parse_env_options

    # PyYAML (YAML 1.1) reads 5e-1 and 1e3 as strings; a quoted value stays a string.
    options = parse_env_options(("success_threshold=5e-1", "episode_length=1e3", "name='1e3'"))
    assert options == {"success_threshold": 0.5, "episode_length": 1000.0, "name": "1e3"}
    # ... and 0100 as octal 64, 1:30 as 90 (base 60): numbers in decimal, times as text.
    options = parse_env_options(("episode_length=0100", "cell_size=-007", "time=1:30"))
    assert options == {"episode_length": 100, "cell_size": -7, "time": "1:30"}
    assert parse_env_options(("max_step=0.50", "flag=true")) == {"max_step": 0.5, "flag": True}
