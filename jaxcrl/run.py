"""The host side of a training run: ``train(config)`` and ``resume(run_dir)``.

Every run trains its members (seeds x swept values, see ``members.py``) in one compiled program
(``program.py``): ``jax.vmap`` over the trainer's pure functions, so each leaf of the state has a
leading ``[num_members]`` axis. The device runs chunks of training iterations; between chunks the
host evaluates, logs one row per member, checkpoints, and watches for non-finite values and for
SIGTERM/SIGINT. Chunks end at every evaluation and every checkpoint, and everything the host
carries between chunks (``HostProgress``, in ``host_progress.py``) is saved in the checkpoint, so
a resumed run logs exactly what an uninterrupted one would (on the CPU, bit for bit).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl import checkpoint
from jaxcrl.config import (
    ConfigError,
    TrainConfig,
    env_steps_after,
    loop_sizes,
    resume_command,
)
from jaxcrl.config_files import read_run_config
from jaxcrl.devices import (
    agreed_signal,
    check_evaluation_memory,
    check_memory,
    check_placement,
    check_same_config,
    check_step_memory,
    fetch,
    in_every_process,
    join_processes,
    place,
    wait_for_processes,
)
from jaxcrl.envs import GoalEnv, portable_env, registered_envs
from jaxcrl.host_eval import episodes_run
from jaxcrl.host_progress import (
    HostProgress,
    chunk_ends,
    group_means,
    nonfinite_report,
    throughput,
)
from jaxcrl.logger import (
    Loggers,
    Progress,
    bar_write,
    check_logger_packages,
    open_loggers,
    read_csv,
    read_metrics,
)
from jaxcrl.members import Member, member_keys, member_rows, summarize_groups
from jaxcrl.program import (
    Program,
    build,
    eval_keys,
    eval_memory_bytes,
    make_program,
    restore_into,
    saved_tree,
    saves_buffer,
    validation_keys,
)
from jaxcrl.run_dir import (
    check_checkpoints_writable,
    check_unchanged_env,
    claim_default_run_dir,
    fixed_options,
    has_checkpoint,
    hold_run_dir,
    keep_rows_up_to,
    prepare_run_dir,
    record_devices,
    record_new_length,
    record_run_config,
    refuse_changed_dataset,
    refuse_edited_options,
    refuse_lost_checkpoints,
    refuse_switched_training,
    set_aside_checkpoints_after,
)
from jaxcrl.stats import summarize
from jaxcrl.stop_signals import StoppedAtOnce, say_on_setup_stop, stop_requests
from jaxcrl.trainer import TrainerState
from jaxcrl.validation import (
    check_dataset_source,
    check_env_fit,
    check_option_types,
    check_update_ratio,
    check_validation_split,
    refuse_new_run_mistakes,
    validate,
)

# Fault-injection tests pause after every chunk, to have time to signal or kill a run midway.
CHUNK_DELAY_S = float(os.environ.get("JAXCRL_TEST_CHUNK_DELAY_S", "0"))


class NonFiniteError(RuntimeError):
    """Training produced NaN or Inf; the run stopped without saving the bad state."""


class RunWriteError(RuntimeError):
    """A checkpoint or a metrics row could not be written (a full disk, a lost mount); the run
    stopped, and ``--resume`` continues it from its last checkpoint once the cause is mended."""


class TrainingInterrupted(RuntimeError):
    """SIGTERM or SIGINT stopped the run after a checkpoint, or (``at_once``: a second one)
    where it was, with a chunk perhaps still running on the device; ``--resume`` continues it."""

    def __init__(self, message: str, signal_number: int, at_once: bool = False):
        super().__init__(message)
        self.signal_number = signal_number
        self.at_once = at_once


@dataclasses.dataclass
class TrainResult:
    """What ``train`` returns: the final device state, every logged row and the run directory."""

    state: TrainerState  # every leaf has a leading [num_members] axis
    metrics: list[dict[str, Any]]  # one row per member per evaluation
    run_dir: Path  # absolute: a notebook that changes directory afterwards still finds it
    members: list[Member]

    def __repr__(self) -> str:
        """The run directory, the members and their last rows' success (one per member when
        there are several): not every parameter."""
        successes = [row.get("eval/success") for row in self.final_rows] if self.metrics else []
        success = successes[0] if len(successes) == 1 else successes or None
        return (
            f"TrainResult(run_dir={str(self.run_dir)!r}, members={len(self.members)}, "
            f"rows={len(self.metrics)}, final eval/success={success})"
        )

    @property
    def final_rows(self) -> list[dict[str, Any]]:
        """The last logged row of each member."""
        last = {row["member"]: row for row in self.metrics}
        return [last[member.index] for member in self.members]

    @property
    def final(self) -> dict[str, Any]:
        """The last row of member 0 (the whole run's result when it has one member)."""
        return self.final_rows[0]

    def _final_values(self, metric: str) -> list[float]:
        """``metric`` in each member's final row; ValueError naming the known ones if absent."""
        values = [row.get(metric) for row in self.final_rows]
        if any(value is None for value in values):
            defined = sorted(name for name, value in self.final.items() if value is not None)
            raise ValueError(
                f"{metric} is not in every member's final row (unknown, or not measured by this "
                f"env); the rows have: {', '.join(defined)}"
            )
        return values

    def summary(self, metric: str = "eval/success") -> dict[str, float]:
        """Mean, IQM and 95% bootstrap interval of ``metric`` over the members' final rows (a
        swept run: see ``groups``)."""
        names = self.members[0].values  # every member holds a value for each swept name
        swept = [name for name in names if len({m.values[name] for m in self.members}) > 1]
        if swept:  # a "sweep" of one value pools nothing
            raise ValueError(
                f"this run sweeps {', '.join(swept)}: one summary over its members would pool "
                f"different values; result.groups({metric!r}) gives one per swept value"
            )
        return summarize(np.asarray(self._final_values(metric), np.float64))

    def groups(self, metric: str = "eval/success") -> list[dict[str, Any]]:
        """One entry per swept value (one in all without a sweep): ``values``, ``members`` and
        the ``summary`` of ``metric`` over their final rows, as eval.py's ``groups``."""
        swept = list(self.members[0].values)
        final = {metric: self._final_values(metric)}
        return [
            {**group, "summary": group["summary"][metric]}
            for group in summarize_groups(final, self.final_rows, swept)
        ]


def raised_loss_weights(config: TrainConfig) -> str:
    """``", or --bc-alpha 1e+30 (default 0.1)"``: the loss weights that ``config`` sets above
    their defaults, and an energy temperature below its default (it divides the logits: ", or
    raise --energy-temperature 1e-30 (default 1)"), for the advice after non-finite values
    (empty when none is)."""
    defaults = TrainConfig()
    said = lambda name, value: f"--{name.replace('_', '-')} {value:g} (default "
    raised = [
        f"{said(name, value)}{getattr(defaults, name):g})"
        for name in ("bc_alpha", "logsumexp_penalty", "alpha")
        if (value := getattr(config, name)) > getattr(defaults, name)
    ]
    advice = f", or {' and '.join(raised)}" if raised else ""
    if (value := config.energy_temperature) < defaults.energy_temperature:
        advice += f", or raise {said('energy_temperature', value)}1)"
    return advice


# --- training -------------------------------------------------------------------------------


def train(config: TrainConfig, again: bool = False) -> TrainResult:
    """Train CRL as ``config`` says; logs, evaluates and checkpoints into the run directory.

    ``again`` starts, from the beginning, a run whose directory holds its config.yaml but no
    checkpoint (see ``start_again``).
    """
    validate(config, registered_envs())  # before portable_env looks the env up (build checks again)
    if not again:  # a run started before these checks were made keeps its config.yaml
        refuse_new_run_mistakes(config)
    # A maze registered in this process only is recorded as its map, so config.yaml rebuilds it.
    env_name, env_options = portable_env(config.env, config.env_options)
    config = dataclasses.replace(config, env=env_name, env_options=env_options)
    if config.dataset is not None:  # so --resume and eval.py find it from any directory
        config = dataclasses.replace(config, dataset=str(Path(config.dataset).resolve()))
    join_processes(config)
    check_same_config(config)
    with in_every_process("checking the run"):
        env, _, trainer, members = build(config)
        warnings = (
            check_env_fit(config, env.episode_length),
            check_dataset_source(config),
            check_validation_split(config),
            check_update_ratio(config),
        )
        for warning in warnings:
            if warning and jax.process_index() == 0:
                print(f"warning: {warning}", file=sys.stderr)
        note = host_episodes_note(config, env)
        if note and jax.process_index() == 0:
            print(f"note: {note}", file=sys.stderr)
        check_placement(config, len(members))
        check_logger_packages(config.loggers)
        program = make_program(config, env, trainer, members)
        abstract = jax.eval_shape(program.init, member_keys(members))
        policy = abstract.agent.policy_params
        eval_need = eval_memory_bytes(config, env, trainer, members, policy)
        check_memory(abstract, eval_need, checkpoint_buffer=saves_buffer(config))
    run_dir = Path(config.run_dir) if config.run_dir else claim_default_run_dir(config)
    config = dataclasses.replace(config, run_dir=str(run_dir))
    with in_every_process("taking the run directory"):
        lock = hold_run_dir(run_dir)
    try:
        if again and jax.process_index() == 0:  # said once no other process trains it
            print(
                f"{run_dir} has no checkpoint yet (its start did not finish): starting it from "
                "the beginning with its config.yaml",
                file=sys.stderr,
            )
        config, run_dir = prepare_run_dir(config, again)
        say_on_setup_stop(
            f"nothing was trained; {resume_command(run_dir)} starts it from the beginning"
        )
        with in_every_process("checking its checkpoints folder"):
            check_checkpoints_writable(run_dir)
        if jax.process_index() == 0:
            recorded = config
            if again:  # how this launch shows progress and joins hosts is not the run's record
                saved = read_run_config(run_dir)
                recorded = dataclasses.replace(
                    config, progress=saved.progress, distributed=saved.distributed
                )
            record_run_config(recorded, run_dir, env)
        start = time.perf_counter()
        state = place(program.init(member_keys(members)), config, len(members))
        return _train_loop(config, env, program, members, run_dir, state, HostProgress(), start, [])
    finally:
        if lock is not None:
            lock.close()


def host_episodes_note(config: TrainConfig, env: GoalEnv) -> str | None:
    """Why an evaluation of OGBench's envs runs another number of episodes than asked (None:
    it runs as many)."""
    if not getattr(env, "host_evaluated", False):
        return None
    ran = episodes_run(config.eval_episodes, env.num_tasks)
    if ran == config.eval_episodes:
        return None
    return (
        f"each evaluation runs {ran} episodes, not --eval-episodes {config.eval_episodes}: "
        f"OGBench's envs run each of their {env.num_tasks} tasks equally often"
    )


def start_again(
    run_dir: Path | str,
    total_env_steps: int | None = None,
    num_updates: int | None = None,
    progress: bool | None = None,
    distributed: bool | None = None,
) -> TrainResult:
    """Start, from the beginning and with its recorded config.yaml, a run that never saved a
    checkpoint (its start crashed or was stopped while compiling); ``--resume`` of such a run."""
    run_dir = Path(run_dir)
    saved_config = read_run_config(run_dir)
    refuse_lost_checkpoints(saved_config, run_dir)
    # Nothing trained yet: a new length spaces the evaluations as a new run of it would.
    config = lengthened(saved_config, total_env_steps, num_updates, keep_spacing=False)
    config = launched(config, progress, distributed)
    return train(dataclasses.replace(config, run_dir=str(run_dir)), again=True)


def lengthened(
    config: TrainConfig,
    total_env_steps: int | None = None,
    num_updates: int | None = None,
    keep_spacing: bool = True,
) -> TrainConfig:
    """``config`` with a new length (env steps online, gradient steps offline), evaluating and
    checkpointing every as many iterations as before (``keep_spacing``; else as its options
    space them over the new length)."""
    offline = config.dataset is not None
    if total_env_steps is not None and offline:
        raise ConfigError(
            "--total-env-steps: this is an offline run (it trains from --dataset); give its new "
            "length with --num-updates"
        )
    if num_updates is not None and not offline:
        raise ConfigError(
            "--num-updates: this is an online run; give its new length with --total-env-steps"
        )
    field, value = ("num_updates", num_updates) if offline else ("total_env_steps", total_env_steps)
    if value is None or value == getattr(config, field):
        return config
    if not keep_spacing:
        return dataclasses.replace(config, **{field: value})
    _, eval_every = loop_sizes(config)
    return dataclasses.replace(config, eval_every=eval_every, **{field: value})


def length_asked(
    config: TrainConfig,
    recorded: dict[str, Any] | None,
    total_env_steps: int | None,
    num_updates: int | None,
) -> tuple[TrainConfig, int | None, int | None]:
    """(``config`` at the length its newest checkpoint trained for, the new length asked): a
    length edited in config.yaml counts as given with --total-env-steps / --num-updates, so that
    it keeps the evaluation spacing and is noted under ``lengthened``. ``recorded``: the
    checkpoint's progress document."""
    length = (recorded or {}).get("length")
    if length is None:  # saved before checkpoints recorded their length
        return config, total_env_steps, num_updates
    trained = dataclasses.replace(
        config, total_env_steps=length["total_env_steps"], num_updates=length["num_updates"]
    )
    if total_env_steps is None and config.total_env_steps != trained.total_env_steps:
        total_env_steps = config.total_env_steps
    if num_updates is None and config.num_updates != trained.num_updates:
        num_updates = config.num_updates
    if total_env_steps is None and num_updates is None:
        return config, None, None
    return trained, total_env_steps, num_updates


def launched(
    config: TrainConfig, progress: bool | None = None, distributed: bool | None = None
) -> TrainConfig:
    """``config`` launched this time with a bar or lines (``progress``) and as one process or a
    multi-host job (``distributed``); None keeps the run's own setting."""
    given = {"progress": progress, "distributed": distributed}
    return dataclasses.replace(config, **{k: v for k, v in given.items() if v is not None})


def resume(
    run_dir: Path | str,
    total_env_steps: int | None = None,
    num_updates: int | None = None,
    progress: bool | None = None,
    distributed: bool | None = None,
) -> TrainResult:
    """Continue a run from its newest readable checkpoint, as if it had never stopped.

    ``total_env_steps`` (online) or ``num_updates`` (offline) changes the run's length, for
    example to train a finished run further; evaluations keep their spacing. ``progress`` and
    ``distributed`` (None: the run's own settings) change only how this launch runs. A run that
    never saved a checkpoint (stopped while compiling) starts again from the beginning.
    """
    given = {
        "total_env_steps": total_env_steps,
        "num_updates": num_updates,
        "progress": progress,
        "distributed": distributed,
    }  # typed as TrainConfig's options: "6000" failed as a TypeError, "no" showed the bar
    check_option_types(TrainConfig(**{k: v for k, v in given.items() if v is not None}))
    run_dir = Path(run_dir)
    if (run_dir / "config.yaml").is_file() and not has_checkpoint(run_dir):
        return start_again(run_dir, total_env_steps, num_updates, progress, distributed)
    # Where the run is now: a moved or copied run's config.yaml still names where it was.
    saved_config = dataclasses.replace(read_run_config(run_dir), run_dir=str(run_dir))
    refuse_changed_dataset(saved_config, run_dir)
    # Before anything starts JAX's backend (reading a checkpoint does): a multi-host run joins
    # its processes first.
    join_processes(launched(saved_config, progress, distributed))
    recorded = checkpoint.saved_progress(run_dir)
    refuse_switched_training(saved_config, recorded, run_dir)
    refuse_edited_options(saved_config, recorded, run_dir)
    try:  # a value edited into config.yaml: named as the file's, not as a flag given
        validate(saved_config, registered_envs(), dataset_must_exist=False)
    except ConfigError as error:
        raise ConfigError(f"{run_dir / 'config.yaml'}: {error}") from None
    length_in_file = total_env_steps is None and num_updates is None  # no flag gave one
    in_file = saved_config
    saved_config, total_env_steps, num_updates = length_asked(
        saved_config, recorded, total_env_steps, num_updates
    )
    config = lengthened(saved_config, total_env_steps, num_updates)  # build() validates it
    if isinstance((recorded or {}).get("iteration"), int):  # before a too short length's checks
        refuse_length_before(recorded["iteration"], config, run_dir, length_in_file)
    check_same_config(config)
    with in_every_process("taking the run directory"):
        lock = hold_run_dir(run_dir)
    say_on_setup_stop(f"{run_dir} is as it was; continue with {resume_command(run_dir)}")
    try:
        # A new length, or one that undoes an unfinished launch's, written in config.yaml.
        rewrite = config is not saved_config or config != in_file
        return _continue(
            run_dir, saved_config, config, progress, distributed, length_in_file, rewrite
        )
    finally:
        if lock is not None:
            lock.close()


def refuse_length_before(
    done: int, config: TrainConfig, run_dir: Path, length_in_file: bool = False
) -> None:
    """Raise ConfigError when ``config``'s length ends before the ``done`` iterations that
    ``run_dir`` has trained; ``length_in_file``: the length is config.yaml's, not a flag's."""
    if config.dataset is not None:
        if done <= config.num_updates:
            return
        reached, field = f"{done} gradient steps", "num_updates"
    else:
        env_steps = env_steps_after(config, done)
        if env_steps <= config.total_env_steps:
            return
        reached, field = f"{env_steps} env steps", "total_env_steps"
    value = getattr(config, field)
    if length_in_file:
        asked, fix = f"{field}: {value} in its config.yaml", "set a larger value there"
    else:
        asked, fix = f"--{field.replace('_', '-')} {value}", "give a larger value"
    raise ConfigError(
        f"{run_dir} has already trained for {reached}, past {asked}; {fix} (nothing was changed)"
    )


def _continue(
    run_dir: Path,
    saved_config: TrainConfig,
    config: TrainConfig,
    progress: bool | None,
    distributed: bool | None,
    length_in_file: bool,
    rewrite: bool,
) -> TrainResult:
    """``resume``'s work once the processes joined and the run directory is held: restore the
    newest readable checkpoint, tidy the directory after it, and train on (``length_in_file``:
    as for ``refuse_length_before``; ``rewrite``: config.yaml records another length than
    ``config``'s, to write again)."""
    with in_every_process("checking the run"):
        env, _, trainer, members = build(config)
        check_unchanged_env(run_dir, env, resuming=True)
        check_placement(config, len(members), resuming=True)
        check_logger_packages(config.loggers, run_dir)
        check_checkpoints_writable(run_dir)
        start = time.perf_counter()
        program = make_program(config, env, trainer, members)
        keys = member_keys(members)
        abstract = jax.eval_shape(program.init, keys)
        # A resume may land on a smaller device than the run started on.
        policy = abstract.agent.policy_params
        eval_need = eval_memory_bytes(config, env, trainer, members, policy)
        check_memory(abstract, eval_need, resuming=True, checkpoint_buffer=saves_buffer(config))

    def saved_shapes(document: dict[str, Any]) -> Any:
        HostProgress.from_saved(document)  # raises on a malformed document: a damaged checkpoint
        return saved_tree(abstract, document["has_buffer"])

    tree, document, step = checkpoint.restore(run_dir, saved_shapes)
    host = HostProgress.from_saved(document)
    if document["has_buffer"]:
        state = jax.device_put(tree)
    else:  # a fresh buffer, prefilled with random actions, under the restored learner
        state = restore_into(program.init(keys), jax.device_put(tree), with_buffer=False)
    done, total = host.iteration, loop_sizes(config)[0]
    refuse_length_before(done, config, run_dir, length_in_file)
    refuse_missing_rows(run_dir, done, total)
    state = place(state, config, len(members))
    if jax.process_index() == 0:  # one process tidies the shared run directory
        if rewrite:
            record_new_length(run_dir, saved_config, config, done)
        record_devices(run_dir, done)
        set_aside_checkpoints_after(run_dir, step)
        keep_rows_up_to(run_dir, done)
    wait_for_processes("run_dir_tidied")
    metrics_path = run_dir / "metrics.jsonl"
    rows = read_metrics(metrics_path) if metrics_path.exists() else []
    config = launched(config, progress, distributed)
    return _train_loop(config, env, program, members, run_dir, state, host, start, rows)


def refuse_missing_rows(run_dir: Path, done: int, total: int) -> None:
    """Raise ConfigError, before anything is changed, when a resume from iteration ``done`` (of
    ``total``) lacks rows it needs: metrics.jsonl gone while metrics.csv shows rows were written,
    or a run that ends at ``done`` without its final evaluation's row."""
    jsonl, csv = run_dir / "metrics.jsonl", run_dir / "metrics.csv"
    if not jsonl.exists() and csv.exists():
        raise ConfigError(
            f"{jsonl} is missing: it holds the rows up to the checkpoint a resume goes on from, "
            f"and a resume would drop what {csv.name} keeps of them; put it back (nothing was "
            "changed)"
        )
    rows = read_metrics(jsonl) if jsonl.exists() else []
    lost = sorted(rows_only_in_csv(rows, csv, done)) if csv.exists() else []
    if lost:  # a resume would write the CSV again from metrics.jsonl, without them
        raise ConfigError(
            f"{jsonl} lacks rows that {csv.name} holds (iteration{'s' if len(lost) > 1 else ''} "
            f"{', '.join(map(str, lost[:5]))}{', ...' if len(lost) > 5 else ''}): rows were lost "
            f"from it; restore it from a copy, or delete {csv.name} to go on without them "
            "(nothing was changed)"
        )
    if done == total and not any(row["iteration"] == done for row in rows):
        raise ConfigError(
            f"{run_dir}'s checkpoint at iteration {done} would end the run, but no evaluation "
            "was made there (a length set to a checkpoint that is not the run's end, or rows "
            "lost); give a larger length (nothing was changed)"
        )


def rows_only_in_csv(rows: list[dict[str, Any]], csv: Path, done: int) -> set[int]:
    """Iterations up to ``done`` of the rows ``csv`` (metrics.csv) holds for some member that
    ``rows`` (metrics.jsonl's) do not: rows lost from metrics.jsonl."""
    held = {(row["iteration"], str(row.get("member", ""))) for row in rows}
    lost = set()
    for row in read_csv(csv):
        try:
            iteration = int(float(row.get("iteration") or "nan"))
        except ValueError:  # not a row of ours: the CSV is a copy, metrics.jsonl decides
            continue
        if iteration <= done and (iteration, row.get("member") or "") not in held:
            lost.add(iteration)
    return lost


def _train_loop(
    config: TrainConfig,
    env: GoalEnv,
    program: Program,
    members: list[Member],
    run_dir: Path,
    state: TrainerState,
    progress: HostProgress,
    start: float,
    rows: list[dict[str, Any]],
) -> TrainResult:
    """Run chunks of iterations from ``progress.iteration`` to the end of training."""
    total, eval_every = loop_sizes(config)
    offline = config.dataset is not None
    with_buffer = saves_buffer(config)
    checkpoint_every = config.checkpoint_every or eval_every
    manager = checkpoint.open_manager(run_dir, keep=config.keep_checkpoints)
    # With several processes (a TPU pod), the first one logs; all of them checkpoint (orbax
    # writes each process's shards).
    main_process = jax.process_index() == 0
    ends = [
        end for end in chunk_ends(total, eval_every, checkpoint_every) if end > progress.iteration
    ]
    saved_at = progress.iteration if progress.iteration > 0 else None  # a resume's checkpoint
    steps_at = (lambda iteration: iteration) if offline else partial(env_steps_after, config)
    wall_time = lambda: progress.elapsed_s + time.perf_counter() - start

    def kept() -> str:
        if saved_at is None:
            return "No checkpoint had been saved yet"
        return f"The last good checkpoint (iteration {saved_at}) in {run_dir}/checkpoints is intact"

    def stopped_writing(error: Exception) -> RunWriteError:
        return RunWriteError(
            f"{error}; stopped. {kept()}; once the cause is mended (free space, remount), "
            f"continue with: {resume_command(run_dir)}"
        )

    cleanup_warned = False

    def save() -> None:
        nonlocal saved_at, cleanup_warned
        document = {
            **progress.saved(wall_time(), with_buffer, len(members)),
            # What --resume checks config.yaml against, and the length trained for.
            "options": fixed_options(config),
            "offline": config.dataset is not None,
            "length": {
                "total_env_steps": config.total_env_steps,
                "num_updates": config.num_updates,
            },
        }
        try:
            tree = saved_tree(state, with_buffer)
            warning = checkpoint.save(manager, progress.iteration, tree, document)
        except checkpoint.CheckpointError as error:
            raise stopped_writing(error) from None
        saved_at = progress.iteration
        if warning and not cleanup_warned:  # once: each later checkpoint would say it again
            cleanup_warned = True
            bar_write(f"warning: {warning}; training goes on", file=sys.stderr)

    bar, loggers = None, Loggers([])
    exit_code = 1  # what W&B records if the loop leaves by an exception
    try:
        if main_process and ends:  # a finished run resumed has nothing to log
            # Before compiling: a logger that cannot start (W&B's login) is told at once.
            loggers = open_loggers(run_dir, config.loggers, config.to_dict(), len(members))
        # Compile ahead of the loop so that the first chunk's SPS measures training alone.
        run_iterations = program.run_iterations.lower(state, jnp.asarray(1, jnp.int32)).compile()
        check_step_memory(run_iterations, resuming=progress.iteration > 0)
        evaluate = program.evaluate
        if hasattr(evaluate, "lower"):  # a device evaluation: compile it now too
            evaluate = evaluate.lower(state.agent.policy_params, eval_keys(members, 0)).compile()
            resuming = progress.iteration > 0
            check_evaluation_memory(evaluate, config.eval_episodes, run_iterations, resuming)
        wait_for_processes("compiled")  # the programs' collectives start together
        jax.block_until_ready(state)
        setup_time = time.perf_counter() - start  # compilation plus prefill (or restore)
        # Opened after compiling, so its rate and ETA count training alone.
        bar = Progress(steps_at(total), config.progress, offline, steps_at(progress.iteration))
        iteration_s = None  # seconds per iteration, as the last chunk took them
        timed_iterations, timed_s = 0, 0.0  # chunks since the last evaluation, for its speed
        inputs = "the env's observations" if not offline else f"the dataset {config.dataset}"
        with stop_requests() as signals:
            for end in ends:
                count = end - progress.iteration
                chunk_start = time.perf_counter()
                if iteration_s is not None:  # for the stop message: when this chunk should end
                    signals.chunk_ends_at = time.monotonic() + iteration_s * count
                state, metrics = run_iterations(state, jnp.asarray(count, jnp.int32))
                metrics = fetch(metrics)
                chunk_time = time.perf_counter() - chunk_start
                iteration_s = chunk_time / count
                timed_iterations, timed_s = timed_iterations + count, timed_s + chunk_time
                time.sleep(CHUNK_DELAY_S)
                problem = nonfinite_report(metrics, members)
                if problem:
                    raise NonFiniteError(
                        f"{problem}; stopped without saving it. {kept()}; lower the learning "
                        f"rates{raised_loss_weights(config)}, or check {inputs} for NaN/Inf or "
                        "a scale far from 1"
                    )
                progress = progress.after_chunk(end, metrics)
                if end % eval_every == 0 or end == total:
                    eval_metrics = fetch(
                        evaluate(state.agent.policy_params, eval_keys(members, end))
                    )
                    base = {
                        "iteration": end,
                        "wall_time_s": wall_time(),
                        "setup_time_s": setup_time,
                        **throughput(config, end, timed_iterations * len(members), timed_s),
                    }
                    timed_iterations, timed_s = 0, 0.0
                    val_metrics = {}
                    if program.validate is not None:  # losses on a batch of the -val split
                        val_metrics = fetch(program.validate(state, validation_keys(members, end)))
                    per_member = {
                        "gradient_steps": fetch(state.agent.gradient_steps),
                        **eval_metrics,
                        **progress.train_means(),
                        **val_metrics,
                    }
                    for row in member_rows(base, per_member, members):
                        try:
                            loggers.write(row)
                        except OSError as error:
                            what = f"a metrics row of iteration {end} could not be written"
                            reason = error.strerror or str(error)
                            raise stopped_writing(f"{what} ({reason})") from None
                        rows.append(row)
                    try:  # on disk before a checkpoint of this iteration is saved
                        loggers.sync()
                    except OSError as error:
                        what = f"the metrics rows of iteration {end} could not be written"
                        raise stopped_writing(f"{what} ({error.strerror or error})") from None
                    progress = progress.after_evaluation()
                    bar.update(steps_at(end), group_means(rows[-len(members) :], members))
                if end % checkpoint_every == 0 or end == total:
                    save()
                stop = agreed_signal(signals)  # one host's signal stops every host here
                if stop and end < total:  # after the last chunk the run is done, and saved
                    if saved_at != end:
                        save()
                    exit_code = 128 + stop
                    raise TrainingInterrupted(
                        f"{signal.Signals(stop).name} received: stopped at iteration {end} of "
                        f"{total} with a checkpoint; continue with: {resume_command(run_dir)}",
                        stop,
                    )
        exit_code = 0
    except StoppedAtOnce as stop:  # a second signal, in an evaluation or a chunk
        exit_code = 128 + stop.signal_number
        raise TrainingInterrupted(
            f"{stop}: stopped at once, saving nothing more. {kept()}; continue with: "
            f"{resume_command(run_dir)}",
            stop.signal_number,
            at_once=True,
        ) from None
    finally:
        if bar is not None:
            bar.close()
        leaving_by_error = sys.exc_info()[1] is not None  # it, not a failed close, is the news
        try:  # W&B's errors are warnings (logger.WandbLog); a local sink's must not skip this
            loggers.close(exit_code)
        except OSError as error:  # a full disk: every row was flushed as it was written
            if not leaving_by_error:
                reason = error.strerror or str(error)
                print(f"warning: a log file could not be closed ({reason})", file=sys.stderr)
        finally:
            manager.close()
    return TrainResult(state=state, metrics=rows, run_dir=run_dir.absolute(), members=members)
