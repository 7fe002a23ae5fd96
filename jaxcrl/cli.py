"""Command lines: ``train.py`` / ``jaxcrl-train`` and ``eval.py`` / ``jaxcrl-eval``."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import re
import signal
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import tyro

from jaxcrl.arguments import OneLineParser
from jaxcrl.checkpoint import CheckpointError
from jaxcrl.config import (
    SWEEPABLE,
    ConfigError,
    TrainConfig,
    command_name,
    first_line,
    merged_env_options,
    option_name,
    plain_value,
    values_label,
    warnings_in_one_line,
)
from jaxcrl.config_files import (
    available_presets,
    config_from_overrides,
    read_overrides,
    recorded_run_dir,
)
from jaxcrl.envs import registered_envs
from jaxcrl.envs.ogbench_envs import ogbench_env_ids


def _fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


class FlagsAheadParser(OneLineParser):
    """The parser of the few flags train.py reads before tyro (--config, --resume, a resume's
    length): its errors are one line pointing to train.py's help, not a usage of its own."""

    def __init__(self) -> None:
        super().__init__(prog=command_name("train.py"), add_help=False, allow_abbrev=False)


def _once(flag: str, values: list[str] | None) -> str | None:
    """The one value given for ``flag`` (None: not given); a flag given twice is refused rather
    than its last value silently used."""
    if values is not None and len(values) > 1:
        _fail(f"{flag} is given {len(values)} times ({', '.join(values)}); give it once")
    return values[0] if values else None


def _box_sections(box: str) -> list[list[str]]:
    """The text of tyro's framed message, one list of lines per section between rules (drawn
    with box characters, or in plain ASCII where stdout is not UTF-8)."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", box).splitlines()
    framed = any(line.lstrip().startswith("╭") for line in lines)
    sections: list[list[str]] = [[]]
    for number, line in enumerate(lines):
        if framed and line.strip().startswith(("╭", "╰")):  # the top (its title) and bottom
            continue
        if not framed and number == 0:  # the title
            continue
        inner = line.strip().strip("│").rstrip() if framed else line.rstrip()
        text = inner.removeprefix(" " if framed else "  ")  # the frame's inner margin
        if set(text.strip()) <= set("─-"):  # a rule, or a blank line
            if text.strip() and sections[-1]:
                sections.append([])
            continue
        sections[-1].append(text)
    return [section for section in sections if section]


def _one_error_line(box: str, program: str) -> str:
    """tyro's framed parse error as one line: its message, the options it suggests, and where
    the full help is."""
    sections = _box_sections(box)
    if not sections:
        return f"the command line could not be parsed; see {program} --help"
    flag = lambda line: re.match(r"\s*(--[\w.-]+)", line)
    named = lambda lines: list(dict.fromkeys(flag(line).group(1) for line in lines if flag(line)))
    first = sections[0]
    if first[0].endswith(":") and named(first[1:]):  # a heading over the options it is about
        missing = "missing required option" + ("s:" if len(named(first[1:])) > 1 else ":")
        heading = re.sub(r"^Missing from .*:$", missing, first[0])
        message = f"{heading[0].lower()}{heading[1:]} {', '.join(named(first[1:]))}"
    else:
        message = " ".join(line.strip() for line in first)
        message = message[0].lower() + message[1:]
    heading, colon, given = message.partition(": ")
    if heading == "unrecognized options" and colon:  # tyro lists the flags' values too
        flags = [word for word in given.split(", ") if word.startswith("-")] or [given]
        message = f"unrecognized option{'s' if len(flags) > 1 else ''}: {', '.join(flags)}"
    for section in sections[1:]:
        if section[0].strip() == "Perhaps you meant:" and named(section[1:]):
            message += f"; perhaps you meant {' or '.join(named(section[1:]))}"
        if section[0].strip() == "Unrecognized options:" and section[1:]:
            # Beside a missing option: tyro lists a misspelt flag with its value, or a value
            # given without its flag; the flags alone, else the values, complete the line.
            words = [line.strip() for line in section[1:]]
            flags = [word for word in words if word.startswith("-")]
            if flags:
                message += f"; unrecognized option{'s' if len(flags) > 1 else ''}: "
                message += ", ".join(flags)
            else:
                message += f"; {', '.join(words)}: no option flag names "
                message += "these values" if len(words) > 1 else "this value"
    return f"{message} (see {program} --help)"


def _parse_with_tyro(kind: type, args: list[str] | None, program: str, **options: Any) -> Any:
    """``tyro.cli(kind, args=args)``, its parse errors as one ``error:`` line (exit status 2)."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            parsed = tyro.cli(kind, args=args, **options)
    except SystemExit as stopped:
        if stopped.code not in (0, None):
            _fail(_one_error_line(captured.getvalue(), program))
        sys.stderr.write(captured.getvalue())
        raise
    sys.stderr.write(captured.getvalue())  # anything else tyro said goes on
    return parsed


def _indented_list(names: list[str]) -> str:
    """``names`` joined by commas in indented lines of at most 100 columns (tyro joins the lines
    of a description's unindented paragraphs into one)."""
    return textwrap.fill(
        ", ".join(names),
        width=100,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
    )


def _train_description() -> str:
    """--help text: usage notes, every registered env and every preset."""
    ogbench = set(ogbench_env_ids())
    own = {name: text for name, text in registered_envs().items() if name not in ogbench}
    width = max(map(len, own))
    envs = "\n".join(f"  {name:<{width}} {text}" for name, text in own.items())
    ogbench_names = [name for name in registered_envs() if name in ogbench]
    paragraphs = [
        "Train a goal-conditioned agent with Contrastive RL.",
        "--config NAME|PATH.yaml loads a preset (or a run's config.yaml) first; every flag "
        "given overrides it.",
        "--resume DIR continues a stopped run (one stopped before its first checkpoint starts "
        "again from the beginning); with --total-env-steps N (offline: --num-updates N) beside "
        "it, it trains the run to that new length.",
        "--env MODULE:CLASS trains a GoalEnv subclass of your own (e.g. mylab.envs:Corridor); "
        "config.yaml records that name, so evaluating and resuming the run import it again.",
        f"Registered envs:\n{envs}",
        "OGBench's envs (offline only, on OGBench's datasets; evaluated on the host, "
        "the ogbench extra):\n" + _indented_list(ogbench_names),
        "Presets:\n" + _indented_list(available_presets() or ["(none)"]),
    ]
    return "\n\n".join(paragraphs)


def list_option_flags() -> dict[str, tuple[str, ...]]:
    """Each list option's flag spellings (dashes, underscores, aliases), by option name."""
    flags = {}
    for name, annotation in get_type_hints(TrainConfig, include_extras=True).items():
        if get_origin(annotation) is Annotated:
            annotation, *metadata = get_args(annotation)
        else:
            metadata = []
        if get_origin(annotation) is tuple:
            aliases = [alias for meta in metadata for alias in getattr(meta, "aliases", ()) or ()]
            flags[name] = ("--" + name.replace("_", "-"), "--" + name, *aliases)
    return flags


def refuse_repeated_list_flags(argv: list[str], flags: dict[str, tuple[str, ...]]) -> None:
    """Exit with one line when a list option's flag (``flags``: its spellings, by option) is given
    twice: only the last would count."""
    for spellings in flags.values():
        given = [arg for arg in argv if arg.split("=", 1)[0] in spellings]
        if len(given) > 1:
            flag = spellings[0]
            _fail(
                f"{flag} is given {len(given)} times, and only the last would count; list all "
                f"its values after one {flag} (for example {flag} A B)"
            )


def flags_given(args: list[str]) -> set[str]:
    """The flags in ``args``, spelled with dashes (``--critic-lr``)."""
    return {arg.split("=", 1)[0].replace("_", "-") for arg in args if arg.startswith("--")}


def refuse_flags_of_swept_options(args: list[str], sweep: tuple[str, ...]) -> None:
    """Exit with one error line when ``args`` set an option that ``sweep`` also varies: the
    sweep's values would silently win."""
    given = flags_given(args)
    for spec in sweep:
        name = option_name(spec.partition("=")[0])
        flag = "--" + name.replace("_", "-")
        if flag in given and name in SWEEPABLE:  # else the sweep's own error says why
            _fail(
                f"{flag} and --sweep {spec} both set {name}; drop {flag} (the sweep gives each "
                "member its value), or the --sweep entry to train at one value (a bare --sweep "
                "clears one that --config gave)"
            )


def without_preset_values_left_unused(config: TrainConfig, args: list[str]) -> TrainConfig:
    """``config`` with the options a preset set but this run would not use put back to their
    defaults (``unused_settings``: an option the sweep varies, --num-evals beside --eval-every,
    an online preset's collection options in a --dataset run); flags in ``args`` are kept, for
    validation to refuse."""
    from jaxcrl.validation import unused_settings

    given = flags_given(args)
    try:
        unused = unused_settings(config)
    except ConfigError:  # validation names what is wrong with the sweep
        return config
    defaults = TrainConfig()
    reset = {
        name: getattr(defaults, name)
        for name in unused
        if "--" + name.replace("_", "-") not in given
    }
    return dataclasses.replace(config, **reset)


def note_preset_settings_kept(config: TrainConfig, preset: TrainConfig, name: str) -> None:
    """Say which of preset ``name``'s settings (chosen for its own env) a run on another env
    keeps: the env options note alone read as if the preset's env-specific part was dropped."""
    defaults = TrainConfig()
    kept = [
        f"{field}={plain_value(getattr(config, field))}"
        for field in config.to_dict()
        if field not in ("env", "env_options", "run_dir")
        and getattr(preset, field) != getattr(defaults, field)
        and getattr(config, field) == getattr(preset, field)
    ]
    if kept:
        print(
            f"note: --env {config.env} keeps the other settings of --config {name}, chosen for "
            f"{preset.env}: {' '.join(kept)} (flags change them)",
            file=sys.stderr,
        )


def parse_train_args(argv: list[str] | None = None) -> TrainConfig:
    """TrainConfig from the command line: preset (``--config``) first, flags over it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = FlagsAheadParser()
    pre.add_argument("--config", action="append", default=None)
    known, rest = pre.parse_known_args(argv)
    if known.config is not None and len(known.config) > 1:
        _fail(
            f"--config is given {len(known.config)} times ({', '.join(known.config)}), and only "
            "one is read; give one, and let a YAML file say extends: OTHER to build on another"
        )
    known.config = known.config[0] if known.config else None
    list_flags = list_option_flags()
    refuse_repeated_list_flags(rest, list_flags)
    base, recorded, overrides = TrainConfig(), None, {}
    if known.config is not None:
        try:
            overrides = read_overrides(known.config)
            base = config_from_overrides(overrides)
            recorded = recorded_run_dir(known.config)
        except (ConfigError, TypeError) as error:
            _fail(str(error))
    config = _parse_with_tyro(
        TrainConfig, rest, command_name("train.py"), default=base, description=_train_description()
    )
    refuse_flags_of_swept_options(rest, config.sweep)
    config = without_preset_values_left_unused(config, rest)
    options_given = any(arg.split("=", 1)[0] in list_flags["env_options"] for arg in rest)
    preset_options = base.env_options
    if config.env != base.env and preset_options:  # the preset's env options are its env's
        print(
            f"note: --env {config.env}: the env options of {base.env} in --config "
            f"{known.config} ({' '.join(preset_options)}) are left out",
            file=sys.stderr,
        )
        preset_options = ()
        if not options_given:
            config = dataclasses.replace(config, env_options=())
    if config.env != base.env and "env" in overrides:  # not a preset for any env (offline's)
        note_preset_settings_kept(config, base, known.config)
    if options_given:  # added to the preset's, replacing those of the same name
        try:
            options = merged_env_options(preset_options, config.env_options)
        except ConfigError as error:
            _fail(str(error))
        config = dataclasses.replace(config, env_options=options)
    if recorded is not None and config.run_dir is None:  # run_dir, even edited, is the old run's
        print(
            f"note: --config {known.config} records the run in {recorded}; this one trains in a "
            "new directory (give --run-dir to name it)",
            file=sys.stderr,
        )
    return config


# The options --resume takes beside the run directory: a new length for the run.
RESUME_LENGTH_FLAGS = {
    "total_env_steps": ("--total-env-steps", "--total_env_steps"),
    "num_updates": ("--num-updates", "--num_updates"),
}


# Options of how a run is launched, not of what it trains: --resume may change them.
RESUME_LAUNCH_OPTIONS = ("progress", "distributed")


def parse_resume_args(argv: list[str]) -> tuple[Path, dict[str, Any]] | None:
    """``--resume DIR``, any new length (``--total-env-steps`` or ``--num-updates``) and the
    launch options ``--[no-]progress`` and ``--[no-]distributed``; other flags are refused."""
    pre = FlagsAheadParser()
    pre.add_argument("--resume", action="append", default=None)
    for name, flags in RESUME_LENGTH_FLAGS.items():
        pre.add_argument(*flags, dest=name, action="append", default=None)
    # How this launch runs: a bar or a line per evaluation (for a log file); one process or the
    # processes of a multi-host job.
    for name in RESUME_LAUNCH_OPTIONS:
        pre.add_argument(f"--{name}", dest=name, action="store_true", default=None)
        pre.add_argument(f"--no-{name}", dest=name, action="store_false")
    known, rest = pre.parse_known_args(argv)
    known.resume = _once("--resume", known.resume)
    if known.resume is None:
        return None
    texts = {
        name: _once(flags[0], getattr(known, name)) for name, flags in RESUME_LENGTH_FLAGS.items()
    }
    if rest:
        _fail(
            f"--resume continues a run with its own config.yaml and takes only a new length "
            f"(--total-env-steps or --num-updates), --[no-]progress and --[no-]distributed "
            f"beside it; drop the other flags ({' '.join(rest)}) or start a new run"
        )
    run_dir = Path(known.resume)
    if not (run_dir / "config.yaml").is_file():
        _fail(f"--resume {run_dir}: not a jaxcrl run directory (it has no config.yaml)")
    lengths = {}
    for name, flags in RESUME_LENGTH_FLAGS.items():
        text = texts[name]
        if text is None:
            continue
        try:
            lengths[name] = int(text)
        except ValueError:
            _fail(f"{flags[0]} must be a positive integer, got {text!r}")
        if lengths[name] <= 0:
            _fail(f"{flags[0]} must be a positive integer, got {text}")
    launch = {name: getattr(known, name) for name in RESUME_LAUNCH_OPTIONS}
    return run_dir, {**lengths, **{k: v for k, v in launch.items() if v is not None}}


def train_main(argv: list[str] | None = None) -> None:
    """Entry point of ``train.py``: parse, validate, train (or resume), print the success rate."""
    warnings_in_one_line()
    argv = list(sys.argv[1:] if argv is None else argv)
    resume_args = parse_resume_args(argv)
    config = None if resume_args else parse_train_args(argv)
    from jaxcrl import run  # imported late so --help and config errors stay fast
    from jaxcrl.stop_signals import interrupt_ends_setup

    try:
        with interrupt_ends_setup():  # the loop then turns Ctrl-C into a clean stop
            if resume_args is None:
                result = run.train(config)
            else:  # a run stopped before its first checkpoint starts again from the beginning
                result = run.resume(resume_args[0], **resume_args[1])
    except (
        ConfigError,
        FileExistsError,
        CheckpointError,
        run.NonFiniteError,
        run.RunWriteError,
    ) as error:
        _fail(str(error))
    except run.TrainingInterrupted as stop:
        for number in (signal.SIGINT, signal.SIGTERM):  # a late second signal: already stopping
            signal.signal(number, signal.SIG_IGN)
        print(f"stopped: {stop}", file=sys.stderr)
        if stop.at_once:
            # A chunk may still run on the device; a normal exit waits for it (the runtime
            # joins its threads), for as long as a chunk takes, after the run dir's lock is
            # released. Every file was closed on the way here.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + stop.signal_number)
        raise SystemExit(128 + stop.signal_number) from None
    final = result.final
    print(
        f"success rate {final['eval/success']:.3f} | time near goal "
        f"{figure(final['eval/time_near_goal'])} | final distance "
        f"{figure(final.get('eval/final_distance'))}"
        f" | {amount_of_training(final)} in {final['wall_time_s']:.0f} s | run dir "
        f"{result.run_dir}"
        if len(result.members) == 1
        else format_summary(result)
    )


def defined(value: float | None) -> bool:
    """Whether the env defines this metric: not None and not NaN."""
    return value is not None and value == value


def figure(value: float | None) -> str:
    """A metric with 3 decimals, or n/a where the env does not define it."""
    return f"{value:.3f}" if defined(value) else "n/a"


def amount_of_training(row: dict) -> str:
    """'N env steps', or 'N gradient steps' for an offline run."""
    if row.get("env_steps") is None:
        return f"{row['gradient_steps']:,} gradient steps"
    return f"{row['env_steps']:,} env steps"


def format_summary(result) -> str:
    """Success rate of every member and the mean, IQM and 95% interval across them."""
    lines = []
    for row in result.final_rows:
        label = values_label({name: row[name] for name in result.members[0].values})
        values = f" {label}" if label else ""
        lines.append(
            f"  member {row['member']:>3} seed {row['seed']:>4}{values}: success "
            f"{row['eval/success']:.3f} time near goal {figure(row['eval/time_near_goal'])}"
        )
    swept = list(result.members[0].values)
    # One group per swept value (eval.py's grouping); without a sweep, one group of every member.
    for group in result.groups("eval/success"):
        summary = group["summary"]
        name = values_label(group["values"])
        unit = "seed" if swept else "member"
        if summary["count"] == 1:  # one value has no spread: no IQM or interval to give
            spread = f"of 1 {unit}: {summary['mean']:.3f}"
        else:
            spread = (
                f"over {summary['count']} {unit}s: mean {summary['mean']:.3f}, IQM "
                f"{summary['iqm']:.3f}, 95% bootstrap interval [{summary['low']:.3f}, "
                f"{summary['high']:.3f}]"
            )
        lines.append(f"{name + ': ' if swept else ''}success rate {spread}")
    final = result.final
    lines[-1] += (
        f" | {amount_of_training(final)} each in {final['wall_time_s']:.0f} s | run dir "
        f"{result.run_dir}"
    )
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class EvalArgs:
    """Evaluate a trained run's checkpoint with the deterministic policy."""

    run_dir: Path
    """Run directory written by training."""
    episodes: int | None = None
    """Evaluation episodes (None: the run's); OGBench: rounded to a multiple of its 5 tasks."""
    seed: int | None = None
    """Seed of the episodes' starts and goals; None: the run's own evaluation episodes."""
    checkpoint: int | None = None
    """Checkpoint to load: its number (iteration; offline: gradient step); None: the newest."""
    goal: str | None = None
    """Evaluate toward this goal instead of the env's own, e.g. 3.5,1.5 (goal_size numbers)."""
    video: Path | None = None
    """Also render one episode to this .mp4 or .gif (MuJoCo without a display: EGL)."""
    member: int | None = None
    """Evaluate (and film) this member alone of a multi-member run; None: all (the video: 0)."""


def parse_goal(text: str | None) -> tuple[float, ...] | None:
    """``--goal``'s comma-separated coordinates; exits with one line unless each is finite."""
    if text is None:
        return None
    try:
        goal = tuple(float(x) for x in text.split(","))
    except ValueError:
        _fail(f"--goal {text!r}: write comma-separated numbers, e.g. 3.5,1.5")
    if not all(math.isfinite(x) for x in goal):
        _fail(f"--goal {text!r}: every coordinate must be a finite number, e.g. 3.5,1.5")
    return goal


def check_eval_args(args: EvalArgs) -> TrainConfig:
    """The run's config; exits with one line on what eval.py cannot do, before evaluating."""
    from jaxcrl.config_files import read_run_config
    from jaxcrl.saved_runs import check_eval_seed, check_member
    from jaxcrl.video import check_video_path

    if args.episodes is not None and args.episodes <= 0:
        _fail(f"--episodes must be a positive integer, got {args.episodes}")
    try:
        check_eval_seed(args.seed)
        config = read_run_config(args.run_dir)
        if args.member is not None:
            check_member(config, args.member)
    except ConfigError as error:
        _fail(str(error))
    if args.video is None:
        return config
    if config.env in ogbench_env_ids():
        _fail(f"--video: {config.env} runs in OGBench's own simulator, not in JAX; drop --video")
    try:
        check_video_path(args.video)
    except (ValueError, ImportError) as error:
        _fail(f"--video: {error}")
    from jaxcrl.envs.base import GoalEnv, choose_offscreen_renderer
    from jaxcrl.program import make_run_env

    choose_offscreen_renderer()  # a headless server: EGL, before MuJoCo is imported
    try:  # MuJoCo's tasks need an OpenGL context: say so before the evaluation, not after
        env = make_run_env(config)
        getattr(env, "check_rendering", lambda: None)()
    except ConfigError as error:
        _fail(str(error))
    except NotImplementedError as error:
        _fail(f"--video: {error}")
    if type(env).render is GoalEnv.render:  # an env of one's own, drawn by nothing yet
        _fail(
            f"--video: {config.env} has no renderer; give it a render(state, params) method "
            "that returns an RGB uint8 image [H, W, 3]"
        )
    return config


def summary_lines(summary: dict, unit: str, indent: str = "") -> list[str]:
    """Success, time near goal and final distance: mean, IQM and 95% interval over ``unit``s."""
    lines = []
    for name in ("eval/success", "eval/time_near_goal", "eval/final_distance"):
        stats = summary.get(name)
        if stats is None:
            lines.append(f"{indent}{name[5:]:<16}n/a")
            continue
        if stats["count"] == 1:  # one value has no spread: no IQM or interval to give
            lines.append(f"{indent}{name[5:]:<16}{stats['mean']:.3f} of 1 {unit}")
            continue
        lines.append(
            f"{indent}{name[5:]:<16}mean {stats['mean']:.3f}  IQM {stats['iqm']:.3f}  "
            f"95% [{stats['low']:.3f}, {stats['high']:.3f}] over {stats['count']} {unit}s"
        )
    return lines


def eval_main(argv: list[str] | None = None) -> None:
    """Entry point of ``eval.py``: print success rate, time near goal, final distance and JSON."""
    warnings_in_one_line()
    args = _parse_with_tyro(EvalArgs, argv, command_name("eval.py"))
    goal = parse_goal(args.goal)
    config = check_eval_args(args)
    from jaxcrl.saved_runs import evaluate_run

    try:
        metrics = evaluate_run(
            args.run_dir, args.episodes, args.seed, args.checkpoint, goal, args.member
        )
    except (ConfigError, CheckpointError) as error:
        _fail(str(error))
    asked = config.eval_episodes if args.episodes is None else args.episodes
    if metrics.get("started_at_goal"):
        from jaxcrl.envs.base import REDRAW_TRIES

        print(
            f"warning: {metrics['started_at_goal']:.1%} of the episodes started within the "
            f"success threshold of --goal (no start apart from it came up in {REDRAW_TRIES} "
            "draws), so each counts as a success; pick a goal farther from the env's starts, or "
            "train with a smaller success_threshold",
            file=sys.stderr,
        )
    if metrics["episodes"] != asked:
        print(
            f"note: ran {metrics['episodes']} episodes, not {asked}: OGBench envs run each of "
            "their tasks equally often",
            file=sys.stderr,
        )
    if "groups" in metrics:
        for group in metrics["groups"]:
            print(values_label(group["values"]))
            print("\n".join(summary_lines(group["summary"], "seed", indent="  ")))
    elif "members" in metrics:
        print("\n".join(summary_lines(metrics["summary"], "member")))
    else:
        print(f"success rate    {metrics['eval/success']:.3f}")
        print(f"time near goal  {figure(metrics['eval/time_near_goal'])}")
        print(f"final distance  {figure(metrics.get('eval/final_distance'))}")
        final_objects = metrics.get("eval/objects_at_goal_final")
        if defined(final_objects):
            initial_objects = figure(metrics.get("eval/objects_at_goal_initial"))
            print(f"objects at goal {initial_objects} at reset, {figure(final_objects)} at the end")
    print(json.dumps(metrics))
    if args.video is not None:
        write_episode_video(args, goal, metrics["checkpoint"], config)


def write_episode_video(
    args: EvalArgs, goal: tuple[float, ...] | None, step: int, config: TrainConfig
) -> None:
    """Render one episode of a member's policy from checkpoint ``step`` (the one evaluated),
    toward ``goal`` if given, into ``args.video``; ``config``: the run's."""
    import jax
    import jax.numpy as jnp

    from jaxcrl.members import run_members
    from jaxcrl.saved_runs import load_member_policy
    from jaxcrl.video import episode_frames, write_video

    try:
        env, env_params, policy = load_member_policy(args.run_dir, args.member or 0, step)
    except (ConfigError, CheckpointError) as error:
        _fail(str(error))
    goal_array = None if goal is None else jnp.asarray(goal, jnp.float32)
    try:
        num_frames, frames = episode_frames(
            env, env_params, policy, jax.random.PRNGKey(args.seed or 0), goal=goal_array
        )
        path = write_video(frames, args.video)
    except (ImportError, NotImplementedError, ValueError) as error:
        _fail(str(error))
    except OSError as error:  # a full disk, or a device where a file was named
        _fail(f"--video {args.video}: cannot write it ({error.strerror or first_line(error)})")
    except MemoryError:
        _fail(f"--video {args.video}: the episode's frames do not fit in this machine's memory")
    members = run_members(config)
    filmed = ""
    if len(members) > 1:  # which agent of several is in it
        member = members[args.member or 0]
        described = values_label({"seed": member.seed, **member.values})
        filmed = f" of member {member.index} ({described})"
    print(f"video of {num_frames} frames{filmed} written to {path}")
