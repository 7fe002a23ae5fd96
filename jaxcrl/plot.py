"""Learning curves from run directories: ``python -m jaxcrl.plot RUN_DIR [RUN_DIR ...] --out curves.png``.

Each run directory gives one line per panel, labelled by its name. A multi-seed run (rows with a
``member`` field) gives the mean across members with a shaded 95% bootstrap band; members that
differ in a swept hyperparameter (e.g. ``critic_lr``) are averaged only with their own kind.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxcrl.arguments import OneLineParser
from jaxcrl.config import resume_elsewhere, warnings_in_one_line
from jaxcrl.extras import install_extra
from jaxcrl.files import check_folder_writable
from jaxcrl.logger import read_metrics, x_step
from jaxcrl.members import member_groups, rows_by_member
from jaxcrl.stats import bootstrap_interval, format_summary, summarize

DEFAULT_METRICS = ("eval/success", "eval/time_near_goal")
# Row fields written at every evaluation that are neither metrics nor swept hyperparameters.
PER_EVALUATION_FIELDS = frozenset(
    {"iteration", "env_steps", "wall_time_s", "sps", "setup_time_s", "gradient_steps", "alpha"}
)
# A curve: (label, env steps [T], values [members, T] with NaN where a member has no value).
Curve = tuple[str, np.ndarray, np.ndarray]


def load_run(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of ``run_dir/metrics.jsonl``; a clear error naming the run if there are none."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file() and (Path(run_dir) / "config.yaml").is_file():
        raise ValueError(
            f"{run_dir}: no evaluation written yet: the run is still setting up, or it stopped "
            f"before its first evaluation ({resume_elsewhere(run_dir)} starts it again)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (is this a jaxcrl run directory?)")
    rows = read_metrics(path)
    if not rows:
        raise ValueError(f"{run_dir}: metrics.jsonl holds no rows yet")
    return rows


def check_group_by(rows: Sequence[dict[str, Any]], group_by: Sequence[str] | None) -> None:
    """Refuse ``--group-by`` fields that no row holds (a misspelt field would group nothing);
    ``rows``: those of every run plotted together."""
    present = {key for row in rows for key in row}
    unknown = [name for name in group_by or () if name not in present]
    if unknown:
        fields = sorted(key for key in present if "/" not in key)
        raise ValueError(f"--group-by {', '.join(unknown)}: no row holds it; fields: {fields}")


def is_offline(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether a run's rows count gradient steps (an offline run) rather than env steps."""
    return all(row.get("env_steps") is None for row in rows)


def swept_keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Fields that are fixed within each member but differ across members: swept hyperparameters."""
    members = rows_by_member(rows)
    candidates = {
        key
        for row in rows
        for key in row
        if "/" not in key and key not in PER_EVALUATION_FIELDS and key not in ("seed", "member")
    }
    swept = []
    for key in sorted(candidates):
        per_member = [{repr(row.get(key)) for row in member} for member in members.values()]
        if all(len(values) == 1 for values in per_member) and len(set.union(*per_member)) > 1:
            swept.append(key)
    return swept


def metric_matrix(
    members: dict[int, list[dict[str, Any]]], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Env steps [T] and values [members, T] of ``metric`` (NaN where a member has none)."""
    steps = sorted(
        {x_step(row) for rows in members.values() for row in rows if row.get(metric) is not None}
    )
    column = {step: index for index, step in enumerate(steps)}
    values = np.full((len(members), len(steps)), np.nan)
    for index, rows in enumerate(members.values()):
        for row in rows:
            if row.get(metric) is not None:
                values[index, column[x_step(row)]] = row[metric]
    return np.asarray(steps, dtype=np.float64), values


def up_to_last_shared_step(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """``steps`` [T] and ``values`` [members, T] without the steps after the last one that every
    member reports: a run writing an evaluation's rows (or stopped while writing them) has some
    members one evaluation ahead, whose mean alone would end the curve. Unchanged where no step
    is shared (each member's own points stay)."""
    shared = np.flatnonzero(np.isfinite(values).all(axis=0))
    if shared.size == 0:
        return steps, values
    return steps[: shared[-1] + 1], values[:, : shared[-1] + 1]


def mean_and_band(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, ...]:
    """Mean over members [T] and its bootstrap interval (low [T], high [T]) at every step."""
    mean = np.nanmean(values, axis=0)
    low, high = mean.copy(), mean.copy()
    for step in range(values.shape[1]):
        present = values[:, step][np.isfinite(values[:, step])]
        if present.size > 1:
            low[step], high[step] = bootstrap_interval(present, np.mean, confidence)
    return mean, low, high


def group_keys(rows: Sequence[dict[str, Any]], group_by: Sequence[str] | None) -> list[str]:
    """The fields one run's members are grouped by: those of ``group_by`` its rows hold, else
    its own swept fields (a baseline beside a sweep has none; a sweep of other fields keeps its
    members apart); none for an empty ``group_by``, which averages every member together."""
    if group_by is not None and not list(group_by):  # asked for no field: one group
        return []
    held = [name for name in group_by or () if any(name in row for row in rows)]
    return held or swept_keys(rows)


def run_curves(
    rows: Sequence[dict[str, Any]], label: str, metric: str, group_by: Sequence[str] | None
) -> list[Curve]:
    """The curves of one run for ``metric``: one per group of members that has the metric."""
    curves = []
    for group, members in member_groups(rows, group_keys(rows, group_by)).items():
        steps, values = metric_matrix(members, metric)
        steps, values = up_to_last_shared_step(steps, values)
        if steps.size:
            name = f"{label} {group}".strip()
            curves.append(
                (name if len(members) == 1 else f"{name} (n={len(members)})", steps, values)
            )
    return curves


def final_values(members: dict[int, list[dict[str, Any]]], metric: str) -> tuple[list[float], str]:
    """Each member's value of ``metric`` at the last step that every member reports (a run still
    writing an evaluation's rows, or stopped while writing them, has some members one
    evaluation ahead), and a note naming that step when some are ahead (else ""); at each
    member's own last evaluation when they share none."""
    reported = {
        member: {x_step(row): row[metric] for row in rows if row.get(metric) is not None}
        for member, rows in members.items()
    }
    reported = {member: values for member, values in reported.items() if values}
    shared = set.intersection(*(set(values) for values in reported.values())) if reported else ()
    if not shared:
        return [float(values[max(values)]) for values in reported.values()], ""
    step = max(shared)
    ahead = [member for member, values in reported.items() if max(values) > step]
    note = ""
    if ahead:
        rows = [row for member in members.values() for row in member]
        unit = "gradient steps" if is_offline(rows) else "env steps"
        note = f" (at {step} {unit}, the last that every member reports; member"
        note += f"{'s' if len(ahead) > 1 else ''} {', '.join(map(str, ahead))} also later)"
    return [float(values[step]) for values in reported.values()], note


def summary_lines(
    run_dirs: Sequence[Path],
    metric: str = "eval/success",
    labels: Sequence[str] | None = None,
    group_by: Sequence[str] | None = None,
) -> list[str]:
    """One line per run (and swept group): the final ``metric`` summarized across members."""
    lines = []
    runs = [load_run(run_dir) for run_dir in run_dirs]
    check_group_by([row for rows in runs for row in rows], group_by)
    for rows, label in zip(runs, _labels(run_dirs, labels), strict=True):
        for group, members in member_groups(rows, group_keys(rows, group_by)).items():
            finals, note = final_values(members, metric)
            if finals:
                name = f"{label} {group}".strip()
                lines.append(f"{name}: final {metric} {format_summary(summarize(finals))}{note}")
    return lines


def _labels(run_dirs: Sequence[Path], labels: Sequence[str] | None) -> list[str]:
    """The given labels, or each run directory's name (with as many of its parents as tell
    runs of the same name apart)."""
    if labels is None:
        paths = [Path(run_dir).resolve() for run_dir in run_dirs]
        twice = sorted({str(path) for path in paths if paths.count(path) > 1})
        if twice:
            raise ValueError(f"{twice[0]} is given twice; give each run directory once")
        for depth in range(1, max(len(path.parts) for path in paths) + 1):
            names = [str(Path(*path.parts[-depth:])) for path in paths]
            if len(set(names)) == len(names):
                return names
        return [str(path) for path in paths]
    if len(labels) != len(run_dirs):
        raise ValueError(f"got {len(labels)} labels for {len(run_dirs)} run directories")
    return list(labels)


def as_list(values: Any) -> Any:
    """One string or path as a list of it; a sequence (or None) as it is."""
    return [values] if isinstance(values, str | os.PathLike) else values


def plot_runs(
    run_dirs: Sequence[Path] | Path | str,
    out: Path,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    labels: Sequence[str] | str | None = None,
    group_by: Sequence[str] | str | None = None,
) -> Any:
    """Draw ``metrics`` against env steps for every run into ``out`` (PNG); returns the Figure.

    ``group_by`` names the fields whose members are averaged apart; None finds swept fields,
    and an empty list averages every member of a run together.
    Each of ``run_dirs``, ``metrics``, ``labels`` and ``group_by`` may be one name or a list.
    """
    run_dirs, metrics, labels, group_by = map(as_list, (run_dirs, metrics, labels, group_by))
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    check_folder_writable(Path(out), "--out")
    if not run_dirs:
        raise ValueError("give at least one run directory")
    runs = [
        (label, load_run(run_dir))
        for run_dir, label in zip(run_dirs, _labels(run_dirs, labels), strict=True)
    ]
    check_group_by([row for _, rows in runs for row in rows], group_by)
    offline = [label for label, rows in runs if is_offline(rows)]
    if offline and len(offline) < len(runs):
        raise ValueError(
            f"{', '.join(offline)} count gradient steps (offline) and the others env steps: one "
            "axis cannot show both; plot them apart"
        )

    # A Figure on an Agg canvas, never pyplot: no display needed and no global backend switched
    # under a notebook's feet.
    figure = Figure(figsize=(5.0 * len(metrics), 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axis, metric in zip(axes, metrics, strict=True):
        curves = [
            curve for label, rows in runs for curve in run_curves(rows, label, metric, group_by)
        ]
        if not curves:
            available = sorted({key for _, rows in runs for row in rows for key in row})
            raise ValueError(f"no run reports {metric!r}; fields present: {available}")
        for label, steps, values in curves:
            marker = "o" if steps.size == 1 else None  # a line through one point draws nothing
            if values.shape[0] == 1:
                axis.plot(steps, values[0], label=label, marker=marker)
                continue
            mean, low, high = mean_and_band(values)
            (line,) = axis.plot(steps, mean, label=label, marker=marker)
            if steps.size == 1:  # a band over one step has no width: an error bar shows it
                axis.errorbar(
                    steps, mean, [mean - low, high - mean], color=line.get_color(), capsize=4
                )
            else:
                axis.fill_between(steps, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
        axis.set_title(metric)
        axis.set_xlabel("gradient steps (offline)" if offline else "env steps")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    out = Path(out)
    image_format = out.suffix[1:].lower() or "png"
    if image_format not in figure.canvas.get_supported_filetypes():
        raise ValueError(
            f"{out}: matplotlib writes no {image_format!r} images; name the file .png, .pdf, "
            f".svg or another of: {', '.join(sorted(figure.canvas.get_supported_filetypes()))}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    return figure


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m jaxcrl.plot``."""
    parser = OneLineParser(
        prog="python -m jaxcrl.plot",
        description=(
            "Plot learning curves of jaxcrl runs against env steps and print the final success "
            "rate across seeds. Multi-seed runs show the mean over members with a shaded 95% "
            "bootstrap interval."
        ),
    )
    parser.add_argument(
        "run_dirs", nargs="+", type=Path, help="run directories (hold metrics.jsonl)"
    )
    parser.add_argument("--out", type=Path, default=Path("curves.png"), help="PNG file to write")
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=list(DEFAULT_METRICS),
        help="metrics to draw, one panel each",
    )
    parser.add_argument("--labels", nargs="+", default=None, help="legend labels, one per run dir")
    parser.add_argument(
        "--group-by",
        nargs="*",
        default=None,
        help="row fields whose members are averaged apart (default: fields swept across "
        "members; the flag alone: every member of a run averaged together)",
    )
    args = parser.parse_args(argv)
    # A name without an image suffix ("curves", "lr_0.0003") gets the PNG it is written as, so
    # the printed name is the file's; a suffix that names another kind of file is refused.
    suffix = args.out.suffix[1:]
    if suffix.lower() not in image_suffixes():
        if suffix.isalpha():
            parser.error(
                f"--out {args.out}: matplotlib writes no {suffix!r} images; name the file .png, "
                f".pdf, .svg or another of: {', '.join(sorted(image_suffixes()))}"
            )
        args.out = args.out.with_name(args.out.name + ".png")
    return args


def require_matplotlib() -> None:
    """ImportError naming the extra to install when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(f"plotting needs matplotlib: {install_extra('plot')}")


def image_suffixes() -> set[str]:
    """The file suffixes (no dot) that matplotlib writes images to."""
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    return set(FigureCanvasBase.get_supported_filetypes())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: plot the runs, print one summary line per run, name the PNG written."""
    warnings_in_one_line()
    try:
        args = parse_args(argv)
        plot_runs(args.run_dirs, args.out, args.metrics, args.labels, args.group_by)
        lines = summary_lines(args.run_dirs, args.metrics[0], args.labels, args.group_by)
    except OSError as error:  # an output folder that cannot be written, a run unreadable
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print("\n".join(lines + [f"wrote {args.out}"]))


if __name__ == "__main__":
    main()
