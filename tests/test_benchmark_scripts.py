"""The benchmark scripts' option checks and one-line refusals (benchmarks/*.py)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the scripts import their sibling modules by name

import arguments  # noqa: E402
import episodes  # noqa: E402
import seeds  # noqa: E402
import throughput  # noqa: E402


def run_main(module_name: str, argv: list[str], monkeypatch) -> None:
    """Run a script's main() with ``argv`` as its command line."""
    module = __import__(module_name)
    monkeypatch.setattr(sys, "argv", [f"{module_name}.py", *argv])
    module.main()


@pytest.mark.parametrize(
    "script, argv",
    [
        ("throughput", ["--iterations", "0"]),
        ("throughput", ["--env-steps", "-1"]),
        ("throughput", ["--num-envs", "0"]),
        ("env_sps_mjx", ["--repeats", "0"]),
        ("env_sps_mjx", ["--steps", "0"]),
        ("offline_updates", ["--batch-sizes", "0"]),
        ("offline_updates", ["--episodes", "0"]),
        ("pixel_convolution", ["--iterations", "0"]),
        ("success_by_goal_distance", ["--run-dir", "RUN", "--episodes", "0"]),
        ("maze_success_by_path", ["--run-dir", "RUN", "--bin", "0"]),
        ("point_maze_diagnostics", ["--run-dir", "RUN", "--bin", "0"]),
        ("random_object_moves", ["--env", "point_open", "--episodes", "0"]),
        ("critic_negatives", ["--run-dir", "RUN", "--gap", "0"]),
        ("critic_negatives", ["--run-dir", "RUN", "--anchors", "0"]),
        ("seeds", ["--seeds", "0"]),
        ("redraw_cost", ["--calls", "0"]),
    ],
)
def test_sizes_below_one_are_refused_by_argparse(script, argv, monkeypatch, capsys):
    with pytest.raises(SystemExit) as stop:
        run_main(script, argv, monkeypatch)
    assert stop.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    "script, env_flag",
    [
        ("throughput", "--envs"),
        ("env_sps_mjx", "--envs"),
        ("random_object_moves", "--env"),
        ("redraw_cost", "--envs"),
        ("seeds", "--env"),  # before its table's header
    ],
)
def test_unknown_env_names_are_refused_in_one_line_listing_valid_ones(
    script, env_flag, monkeypatch, capsys
):
    # The flag is named as given (--envs was told as --env), before any env is timed.
    names = ["reacher", "nope"] if env_flag == "--envs" else ["nope"]
    pattern = rf"^error: unknown env 'nope' for {env_flag}; .*point_open"
    with pytest.raises(SystemExit, match=pattern):
        run_main(script, [env_flag, *names], monkeypatch)
    assert capsys.readouterr().out == ""  # nothing measured or printed first


@pytest.mark.parametrize(
    "script, argv",
    [
        ("redraw_cost", ["--envs", "pointmaze-medium-v0"]),
        ("pixel_convolution", ["--env", "visual-cube-single-v0"]),
    ],
)
def test_ogbench_envs_are_refused_in_one_line_before_anything_is_timed(script, argv, monkeypatch):
    # Both ended in a NotImplementedError traceback (pixel_convolution after its first part).
    with pytest.raises(SystemExit, match=r"^error: .* is an OGBench env: its episodes run on"):
        run_main(script, argv, monkeypatch)


@pytest.mark.parametrize("script", ["throughput", "offline_updates"])
def test_an_output_that_is_a_folder_is_refused_before_measuring(script, tmp_path, monkeypatch):
    # Both measured, then failed on the folder with a traceback.
    with pytest.raises(SystemExit, match=rf"^error: --out {tmp_path} is a folder; name a file"):
        run_main(script, ["--out", str(tmp_path)], monkeypatch)


def test_bad_env_options_are_refused_in_one_line(monkeypatch):
    with pytest.raises(SystemExit, match=r"^error: --env-options: --env point_open takes no"):
        run_main(
            "random_object_moves", ["--env", "point_open", "--env-options", "x=1"], monkeypatch
        )


def test_env_sps_takes_mjx_envs_only(monkeypatch):
    with pytest.raises(SystemExit, match=r"^error: point_open is not an MJX env; .*reacher"):
        run_main("env_sps_mjx", ["--envs", "point_open"], monkeypatch)
    with pytest.raises(SystemExit, match=r"^error: brax steps on Brax's own MJX back end"):
        run_main("env_sps_mjx", ["--envs", "brax", "--physics", "warp"], monkeypatch)


def test_a_missing_run_dir_is_refused_in_one_line(tmp_path):
    with pytest.raises(SystemExit, match=r"^error: .* has no config.yaml$"):
        episodes.loaded_member(tmp_path / "nothing here")


def test_point_maze_diagnostics_on_a_maze_without_far_cells_is_one_line(tmp_path, monkeypatch):
    # A 2x2 room has no two cells 2 moves apart: the ranking's minimum raised a ValueError.
    import dataclasses

    from tiny_runs import TINY

    from jaxcrl.run import train

    run_dir = tmp_path / "run"
    room = dataclasses.replace(
        TINY,
        env="point_maze_custom",
        env_options=("layout='####/#..#/#..#/####'",),
        run_dir=str(run_dir),
        num_evals=1,
        progress=False,
    )
    train(room)
    with pytest.raises(SystemExit, match=r"^error: point_maze_custom: no two free cells lie 2"):
        run_main("point_maze_diagnostics", ["--run-dir", str(run_dir)], monkeypatch)


def test_ogbench_envs_are_refused_by_the_episode_scripts():
    with pytest.raises(SystemExit, match=r"^error: cube-single-v0 is an OGBench env"):
        episodes.refuse_host_evaluated(SimpleNamespace(name="cube-single-v0", host_evaluated=True))
    episodes.refuse_host_evaluated(SimpleNamespace(name="point_open"))


def test_critic_negatives_refuses_a_dataset_of_one_episode():
    # In a child process with a time limit: the old code looped forever looking for another episode.
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(BENCHMARKS)!r})
        from critic_negatives import goal_rows
        terminals = np.zeros(500, np.float32)
        terminals[-1] = 1
        goal_rows(terminals, 0.99, anchors=8, gap=10, seed=0)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the dataset holds one episode; another-episode goals need at least two"
    ]


def test_seeds_train_time_is_the_sum_of_chunk_times():
    # Two members, 10 env steps per iteration: chunks of 4 and 6 iterations at 80 and 40 SPS.
    rows = [
        {"iteration": 4, "sps": 80.0},
        {"iteration": 4, "sps": 80.0},
        {"iteration": 10, "sps": 40.0},
        {"iteration": 10, "sps": 40.0},
    ]
    assert seeds.chunk_seconds(rows, members=2, steps_per_iteration=10) == pytest.approx(1 + 3)


def test_throughput_rows_are_rewritten_whole(tmp_path):
    out = tmp_path / "rows.json"
    throughput.write_rows(str(out), [{"env": "a"}])
    assert json.loads(out.read_text()) == [{"env": "a"}]
    throughput.write_rows(str(out), [{"env": "a"}, {"env": "b"}])
    assert json.loads(out.read_text()) == [{"env": "a"}, {"env": "b"}]
    assert [path.name for path in tmp_path.iterdir()] == ["rows.json"]


def test_positive_float_refuses_zero_and_infinity():
    assert arguments.positive_float("0.5") == 0.5
    for text in ("0", "-1", "inf", "nan", "x"):
        with pytest.raises(Exception, match="positive number"):
            arguments.positive_float(text)


def test_dataset_reach_reads_the_env_from_the_dataset(tmp_path, monkeypatch, capsys):
    from jaxcrl.collect import main as collect

    layout = "layout='#####/#...#/#.#.#/#..G#/#####'"
    data = tmp_path / "custom.npz"
    collect(
        [
            "--env", "point_maze_custom", "--env-options", layout, "--episodes", "4",
            "--val-episodes", "1", "--episode-length", "20", "--out", str(data),
        ]
    )  # fmt: skip
    capsys.readouterr()  # the collector's own report
    run_main("dataset_reach", [str(data)], monkeypatch)
    captured = capsys.readouterr()
    assert "| trajectories | 4 |" in captured.out and captured.err == ""
    run_main("dataset_reach", [str(data), "--env", "point_open"], monkeypatch)
    warned = capsys.readouterr().err
    assert "was collected in point_maze_custom, not in --env point_open; its reach" in warned
    assert "(give --env point_maze_custom --env-options 'layout=" in warned
    # The same maze with its other options spelled out, as a run compares it: no warning.
    options = [layout, "success_threshold=0.5", "episode_length=90"]
    run_main("dataset_reach", [str(data), "--env-options", *options], monkeypatch)
    assert capsys.readouterr().err == ""
    # A pixel maze has walls, but its states are images.
    with pytest.raises(SystemExit, match="point_open_pixels observes images; this script reads"):
        run_main("dataset_reach", [str(data), "--env", "point_open_pixels"], monkeypatch)


def test_ant_near_goals_trains_the_builtin_ant_with_env_options():
    import ant_near_goals

    from jaxcrl.config import TrainConfig
    from jaxcrl.program import make_run_env

    options = ant_near_goals.ant_options(1.0, 3.0, 75.0)
    env = make_run_env(TrainConfig(env="ant", env_options=options))
    assert (env.goal_min_radius, env.goal_max_radius, env.motor_gear) == (1.0, 3.0, 75.0)


@pytest.mark.parametrize(
    "script, argv, message",
    [
        # A pixel env's states are image bytes: moves of 1900 m were printed.
        (
            "random_object_moves",
            ["--env", "point_open_pixels", "--episodes", "2"],
            "error: point_open_pixels observes images; this script reads object positions",
        ),
        (
            "throughput",
            ["--envs", "pointmaze-medium-v0", "--num-envs", "2"],
            "error: pointmaze-medium-v0 is an OGBench env",
        ),
        (
            "throughput",
            ["--envs", "point_maze_custom", "--num-envs", "2"],
            "error: --env point_maze_custom: no maze layout given",
        ),
        (
            "throughput",
            ["--envs", "point_open", "--num-envs", "2", "--out", "/nonexistent/rows.json"],
            "error: --out /nonexistent/rows.json: cannot write there",
        ),
        (
            "pixel_convolution",
            ["--env", "point_open"],
            "error: point_open observes states, not images",
        ),
        (
            "dataset_reach",
            ["/nonexistent/data.npz"],
            "error: dataset /nonexistent/data.npz: no such file",
        ),
    ],
)
def test_what_a_script_cannot_measure_is_refused_before_measuring(
    script, argv, message, monkeypatch
):
    with pytest.raises(SystemExit) as stop:
        run_main(script, argv, monkeypatch)
    assert str(stop.value).startswith(message)


def test_random_object_moves_takes_noise_with_a_run_only(monkeypatch, capsys):
    for argv in (
        ["--env", "point_open", "--noise-std", "0.5"],
        ["--run-dir", "R", "--noise-std", "-1"],
    ):
        with pytest.raises(SystemExit) as stop:
            run_main("random_object_moves", argv, monkeypatch)
        assert stop.value.code == 2
    errors = capsys.readouterr().err
    assert "--member and --noise-std go with --run-dir" in errors
    assert "--noise-std: must be a finite number >= 0, got -1" in errors


def test_loop_trace_times_one_trace_of_the_training_loop(monkeypatch, capsys):
    run_main("loop_trace", ["--env", "point_open", "--num-envs", "4"], monkeypatch)
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("point_open at 4 envs: the loop traced in ") and line.endswith(" s")
    with pytest.raises(SystemExit, match="unknown env 'nope'"):
        run_main("loop_trace", ["--env", "nope"], monkeypatch)


def test_maze_setup_times_each_size_and_refuses_a_map_too_small(monkeypatch, capsys):
    run_main("maze_setup", ["--sizes", "6", "12", "--repeats", "1"], monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("6x6 (16 free cells): built in ") and len(lines) == 2
    assert lines[1].endswith("episode_length 100")  # 9 king moves at 0.25 a step: the floor
    with pytest.raises(SystemExit):
        run_main("maze_setup", ["--sizes", "3"], monkeypatch)
    assert "at least 4 cells a side" in capsys.readouterr().err


def test_redraw_cost_times_a_step_and_a_redraw_and_refuses_pixel_envs(monkeypatch, capsys):
    argv = ["--envs", "point_open", "--num-envs", "4", "--calls", "1", "--repeats", "1"]
    run_main("redraw_cost", argv, monkeypatch)
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("point_open") and "redraw (every copy at its goal)" in line
    with pytest.raises(SystemExit, match="point_open_pixels observes images"):
        run_main("redraw_cost", ["--envs", "point_open_pixels", "--num-envs", "4"], monkeypatch)
