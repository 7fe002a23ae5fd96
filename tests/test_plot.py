"""Learning-curve plots and the seed summary of ``python -m jaxcrl.plot``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxcrl import plot
from jaxcrl.extras import install_extra

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_run(run_dir: Path, rows: list[dict]) -> Path:
    """A run directory holding ``rows`` as metrics.jsonl."""
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return run_dir


def single_seed_rows() -> list[dict]:
    return [
        {"iteration": i, "env_steps": 1000 * i, "eval/success": i / 4, "eval/time_near_goal": i / 8}
        for i in range(1, 5)
    ]


def multi_seed_rows(swept: dict | None = None) -> list[dict]:
    rows = []
    for i in range(1, 5):
        for member in range(3):
            row = {
                "iteration": i,
                "env_steps": 1000 * i,
                "seed": 7 + member,
                "member": member,
                "eval/success": i / 5 + 0.1 * member,
                "eval/time_near_goal": 0.1 * member,
            }
            rows.append({**row, **(swept(member) if swept else {})})
    return rows


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 5000


def test_plot_writes_a_png_for_single_and_multi_member_runs(tmp_path):
    single = write_run(tmp_path / "single", single_seed_rows())
    multi = write_run(tmp_path / "multi", multi_seed_rows())
    figure = plot.plot_runs([single, multi], tmp_path / "out" / "curves.png")
    assert_png(tmp_path / "out" / "curves.png")
    success_axis, time_axis = figure.axes
    assert (
        success_axis.get_title() == "eval/success"
        and time_axis.get_title() == "eval/time_near_goal"
    )
    labels = [line.get_label() for line in success_axis.get_lines()]
    assert labels == ["single", "multi (n=3)"]
    np.testing.assert_allclose(
        success_axis.get_lines()[1].get_ydata(), [0.3, 0.5, 0.7, 0.9], atol=1e-9
    )
    assert len(success_axis.collections) == 1  # one shaded band, for the multi-member run


def test_members_of_a_sweep_are_averaged_apart(tmp_path):
    rows = multi_seed_rows(lambda member: {"critic_lr": 1e-3 if member < 2 else 3e-4})
    run = write_run(tmp_path / "sweep", rows)
    assert plot.swept_keys(rows) == ["critic_lr"]
    figure = plot.plot_runs([run], tmp_path / "sweep.png", metrics=["eval/success"], labels=["lr"])
    labels = sorted(line.get_label() for line in figure.axes[0].get_lines())
    assert labels == ["lr critic_lr=0.0003", "lr critic_lr=0.001 (n=2)"]
    lines = plot.summary_lines([run], labels=["lr"])
    assert lines[0].startswith("lr critic_lr=0.001: final eval/success mean 0.850 | IQM 0.850")
    assert lines[1] == "lr critic_lr=0.0003: final eval/success 1.000 | n=1"  # one seed: no CI
    # One run, metric, label or field may be given as itself: a string was read letter by letter.
    alone = plot.plot_runs(run, tmp_path / "one.png", metrics="eval/success", labels="lr")
    assert sorted(line.get_label() for line in alone.axes[0].get_lines()) == labels
    by_seed = plot.plot_runs(str(run), tmp_path / "seed.png", "eval/success", group_by="seed")
    assert len(by_seed.axes[0].get_lines()) == 3  # seeds 7, 8 and 9
    # No field at all (a bare --group-by) averages every member together.
    pooled = plot.plot_runs(run, tmp_path / "all.png", "eval/success", labels="lr", group_by=[])
    assert [line.get_label() for line in pooled.axes[0].get_lines()] == ["lr (n=3)"]
    (line,) = plot.summary_lines([run], labels=["lr"], group_by=[])
    assert line.startswith("lr: final eval/success mean 0.900 |") and line.endswith("n=3")
    assert plot.parse_args([str(run), "--group-by"]).group_by == []


def test_summary_uses_each_members_last_evaluation(tmp_path):
    run = write_run(tmp_path / "multi", multi_seed_rows())
    (line,) = plot.summary_lines([run])
    assert line.startswith("multi: final eval/success mean 0.900 | IQM 0.900 | 95% CI [")
    assert line.endswith("n=3")


def test_the_summary_of_a_run_writing_an_evaluation_compares_members_at_one_step(tmp_path):
    # Members' rows are appended one by one: member 0's last evaluation is on disk before the
    # others'. The final figure must not compare member 0 one evaluation ahead.
    rows = multi_seed_rows()[:-2]
    run = write_run(tmp_path / "writing", rows)
    (line,) = plot.summary_lines([run])
    assert line.startswith("writing: final eval/success mean 0.700 |"), line
    # ... and says which step that is.
    note = "(at 3000 env steps, the last that every member reports; member 0 also later)"
    assert line.endswith(f"n=3 {note}"), line
    # The curve ends there too: its last point was member 0 alone, still labelled n=3.
    figure = plot.plot_runs([run], tmp_path / "writing.png", metrics=["eval/success"])
    (curve,) = figure.axes[0].get_lines()
    np.testing.assert_allclose(curve.get_xdata(), [1000, 2000, 3000])
    np.testing.assert_allclose(curve.get_ydata(), [0.3, 0.5, 0.7], atol=1e-9)


def test_a_partly_written_last_row_is_left_out_and_other_bad_lines_are_named(tmp_path):
    run = write_run(tmp_path / "half", single_seed_rows())
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text[: len(text) - 20])  # cut inside the last row
    with pytest.warns(UserWarning, match="line 4 is partly written; left out"):
        assert len(plot.load_run(run)) == 3
    script = f"from jaxcrl import plot; plot.main([{str(run)!r}, '--out', {str(run / 'c.png')!r}])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("metrics.jsonl: line 4 is partly written; left out\n")
    assert done.stderr.count("\n") == 1  # one line, not Python's file, line and source
    lines = text.splitlines()
    (run / "metrics.jsonl").write_text("\n".join([lines[0], lines[1][:30], *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=r"metrics.jsonl: line 2 is not a JSON row"):
        plot.load_run(run)


def test_a_run_setting_up_and_a_mix_of_online_and_offline_runs_are_clear_errors(tmp_path):
    setting_up = tmp_path / "setting_up"
    setting_up.mkdir()
    (setting_up / "config.yaml").write_text("config: {}\n")
    with pytest.raises(
        ValueError,
        match="setting_up: no evaluation written yet: the run is still setting up, or it stopped",
    ):
        plot.load_run(setting_up)
    online = write_run(tmp_path / "online", single_seed_rows())
    offline_rows = [{"iteration": i, "gradient_steps": 10 * i, "eval/success": 0.5} for i in (1, 2)]
    offline = write_run(tmp_path / "offline", offline_rows)
    with pytest.raises(ValueError, match="offline count gradient steps .* plot them apart"):
        plot.plot_runs([online, offline], tmp_path / "mixed.png")
    figure = plot.plot_runs([offline], tmp_path / "offline.png", metrics=["eval/success"])
    assert figure.axes[0].get_xlabel() == "gradient steps (offline)"


def test_missing_metrics_file_names_the_run_dir(tmp_path):
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="not_a_run.*metrics.jsonl"):
        plot.plot_runs([empty], tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def test_unknown_metric_and_label_count_are_errors(tmp_path):
    run = write_run(tmp_path / "single", single_seed_rows())
    with pytest.raises(ValueError, match="eval/nothing"):
        plot.plot_runs([run], tmp_path / "curves.png", metrics=["eval/nothing"])
    with pytest.raises(ValueError, match="2 labels for 1 run"):
        plot.plot_runs([run], tmp_path / "curves.png", labels=["a", "b"])


def test_command_line_writes_the_png_and_reports_errors(tmp_path):
    run = write_run(tmp_path / "multi", multi_seed_rows())
    out = tmp_path / "curves.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaxcrl.plot",
            str(run),
            "--out",
            str(out),
            "--metrics",
            "eval/success",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert_png(out)
    assert "multi: final eval/success" in done.stdout and f"wrote {out}" in done.stdout
    with pytest.raises(SystemExit) as failure:
        plot.main([str(tmp_path / "missing"), "--out", str(out)])
    assert failure.value.code == 2


@pytest.mark.parametrize("name", ["curves", "critic_lr_0.0003"])
def test_an_out_name_without_an_image_suffix_gets_the_png_it_is_written_as(tmp_path, capsys, name):
    run = write_run(tmp_path / "multi", multi_seed_rows())
    plot.main([str(run), "--out", str(tmp_path / name), "--metrics", "eval/success"])
    assert_png(tmp_path / f"{name}.png")
    assert f"wrote {tmp_path / name}.png" in capsys.readouterr().out


def test_an_out_name_of_another_kind_of_file_is_refused(tmp_path, capsys):
    # curves.txt was written as curves.txt.png, while plot_runs refused the same name.
    run = write_run(tmp_path / "multi", multi_seed_rows())
    with pytest.raises(SystemExit):
        plot.main([str(run), "--out", str(tmp_path / "curves.txt")])
    assert "curves.txt: matplotlib writes no 'txt' images; name the file .png" in (
        capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "multi"]


def test_an_output_that_cannot_be_written_is_one_error_line(tmp_path, capsys):
    run = write_run(tmp_path / "multi", multi_seed_rows())
    blocked = tmp_path / "multi" / "metrics.jsonl" / "curves.png"  # a file where a folder goes
    with pytest.raises(SystemExit) as failure:
        plot.main([str(run), "--out", str(blocked)])
    assert failure.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "Traceback" not in error
    assert error.endswith("metrics.jsonl is a file, not a directory\n")  # was "File exists"
    with pytest.raises(ValueError, match="matplotlib writes no 'txt' images"):
        plot.plot_runs(run, tmp_path / "new" / "curves.txt")
    assert not (tmp_path / "new").exists()  # refused before its folder was made


def test_a_run_with_one_evaluation_draws_a_point(tmp_path):
    run = write_run(tmp_path / "one", single_seed_rows()[:1])
    figure = plot.plot_runs(run, tmp_path / "one.png", "eval/success")
    (line,) = figure.axes[0].get_lines()
    assert line.get_marker() == "o" and len(line.get_xdata()) == 1


def test_runs_of_the_same_name_are_told_apart_and_one_given_twice_is_refused(tmp_path):
    first = write_run(tmp_path / "exp_a" / "run", single_seed_rows())
    second = write_run(tmp_path / "exp_b" / "run", single_seed_rows())
    figure = plot.plot_runs([first, second], tmp_path / "two.png", "eval/success")
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels == ["exp_a/run", "exp_b/run"]
    with pytest.raises(ValueError, match="is given twice; give each run directory once"):
        plot.plot_runs([first, tmp_path / "exp_a" / "." / "run"], tmp_path / "twice.png")


def test_a_line_that_is_not_text_is_named(tmp_path):
    run = write_run(tmp_path / "run", single_seed_rows())
    lines = (run / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = b"\xff\xfe garbage\n"
    (run / "metrics.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(ValueError, match="line 2 is not a JSON row \\(not UTF-8 text\\)"):
        plot.plot_runs(run, tmp_path / "curves.png")


def test_a_group_by_field_no_row_holds_is_refused(tmp_path):
    run = write_run(tmp_path / "sweep", multi_seed_rows(lambda m: {"critic_lr": 1e-3 * (m + 1)}))
    with pytest.raises(ValueError, match="--group-by critic-lr: no row holds it; fields: "):
        plot.plot_runs([run], tmp_path / "curves.png", group_by=["critic-lr"])
    with pytest.raises(ValueError, match="--group-by nosuch: no row holds it"):
        plot.summary_lines([run], group_by=["nosuch"])
    assert len(plot.summary_lines([run], group_by=["critic_lr"])) == 3
    # A baseline without the field beside the sweep: grouped by what each run holds.
    baseline = write_run(tmp_path / "baseline", single_seed_rows())
    figure = plot.plot_runs([baseline, run], tmp_path / "both.png", group_by="critic_lr")
    assert len(figure.axes[0].get_lines()) == 1 + 3
    assert len(plot.summary_lines([baseline, run], group_by=["critic_lr"])) == 1 + 3


def test_a_sweep_without_the_group_by_field_keeps_its_swept_values_apart(tmp_path):
    # Grouped by a field only the other run holds, its six members were pooled into one curve.
    lse = write_run(tmp_path / "lse", multi_seed_rows(lambda m: {"logsumexp_penalty": m % 2}))
    bc = write_run(tmp_path / "bc", multi_seed_rows(lambda m: {"bc_alpha": 0.1 * (m + 1)}))
    figure = plot.plot_runs([lse, bc], tmp_path / "both.png", "eval/success", group_by="bc_alpha")
    labels = sorted(line.get_label() for line in figure.axes[0].get_lines())
    assert labels[3:] == ["lse logsumexp_penalty=0 (n=2)", "lse logsumexp_penalty=1"]
    assert len(plot.summary_lines([lse, bc], group_by=["bc_alpha"])) == 3 + 2


def test_a_multi_seed_run_with_one_evaluation_shows_its_interval(tmp_path):
    # A band over a single step has no width: the 95% interval was drawn as nothing.
    run = write_run(tmp_path / "one", [row for row in multi_seed_rows() if row["iteration"] == 1])
    figure = plot.plot_runs(run, tmp_path / "one.png", "eval/success")
    (bar,) = figure.axes[0].containers
    (segment,) = bar.lines[2][0].get_segments()
    low, high = sorted(segment[:, 1])
    assert low < 0.3 < high and high - low > 0.05  # around the mean of 0.2, 0.3 and 0.4


def test_an_image_format_matplotlib_cannot_write_names_the_ones_it_can(tmp_path):
    run = write_run(tmp_path / "run", single_seed_rows())
    with pytest.raises(ValueError, match=r"\.svg or another of: .*\bpng\b"):
        plot.plot_runs(run, tmp_path / "curves.xyz")


def test_without_matplotlib_the_command_says_which_extra_to_install(tmp_path, capsys, monkeypatch):
    # The command line read matplotlib's formats first: a ModuleNotFoundError traceback.
    run = write_run(tmp_path / "multi", multi_seed_rows())
    real_find_spec = plot.importlib.util.find_spec
    hide = lambda name, *args: None if name == "matplotlib" else real_find_spec(name, *args)
    monkeypatch.setattr(plot.importlib.util, "find_spec", hide)
    with pytest.raises(SystemExit) as failure:
        plot.main([str(run), "--out", str(tmp_path / "curves.png")])
    assert failure.value.code == 2
    hint = install_extra("plot")  # this checkout's, or the package index's for a wheel
    assert capsys.readouterr().err == f"error: plotting needs matplotlib: {hint}\n"
