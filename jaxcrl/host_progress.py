"""The host's side of a run's chunks: what it carries between them (saved in every checkpoint),
where they end, and what it reads from a chunk's metrics for its rows."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from jaxcrl.config import TrainConfig, env_steps_after, steps_per_iteration, values_label
from jaxcrl.members import Member
from jaxcrl.trainer import FIRST_NONFINITE

# Row fields that measure time, not learning: they differ between a resumed and a straight run.
TIMING_FIELDS = ("wall_time_s", "sps", "updates_per_s", "setup_time_s")


@dataclasses.dataclass(frozen=True)
class HostProgress:
    """What the host loop carries between chunks; every checkpoint saves it beside the state."""

    iteration: int = 0  # training iterations done (offline: gradient steps)
    pending_sums: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # [M] each
    pending_count: int = 0  # iterations summed in pending_sums since the last evaluation
    elapsed_s: float = 0.0  # seconds of training spent by earlier processes of this run

    @classmethod
    def from_saved(cls, document: dict[str, Any]) -> HostProgress:
        """The progress a checkpoint's JSON document records; ValueError naming what is wrong
        with a document that is not one (restore then treats the checkpoint as damaged)."""
        whole = lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0
        number = lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
        checks = {
            "iteration": whole,
            "pending_sums": lambda value: isinstance(value, dict),
            "pending_count": whole,
            "elapsed_s": number,
            "has_buffer": lambda value: isinstance(value, bool),
        }
        if not isinstance(document, dict):
            raise ValueError(f"its progress document is {type(document).__name__}, not a mapping")
        for name, fits in checks.items():
            if name not in document or not fits(document[name]):
                raise ValueError(f"its progress document has no valid {name!r}")
        try:
            sums = {k: np.asarray(v, np.float64) for k, v in document["pending_sums"].items()}
        except (TypeError, ValueError):
            raise ValueError("its progress document's pending_sums are not numbers") from None
        return cls(document["iteration"], sums, document["pending_count"], document["elapsed_s"])

    def saved(self, elapsed_s: float, has_buffer: bool, num_members: int) -> dict[str, Any]:
        """The JSON document a checkpoint stores; ``elapsed_s`` counts this process's time too."""
        return {
            "iteration": self.iteration,
            "pending_sums": {k: v.tolist() for k, v in self.pending_sums.items()},
            "pending_count": self.pending_count,
            "elapsed_s": elapsed_s,
            "has_buffer": has_buffer,
            "num_members": num_members,
        }

    def after_chunk(self, end: int, metrics: dict[str, np.ndarray]) -> HostProgress:
        """Progress after a chunk that ran to iteration ``end``, its mean metrics summed in."""
        count = end - self.iteration
        sums = dict(self.pending_sums)
        for name, values in metrics.items():
            if name != FIRST_NONFINITE:
                sums[name] = sums.get(name, 0.0) + np.asarray(values, np.float64) * count
        return dataclasses.replace(
            self, iteration=end, pending_sums=sums, pending_count=self.pending_count + count
        )

    def after_evaluation(self) -> HostProgress:
        """Progress after an evaluation row took the metric sums: they start again from zero."""
        return dataclasses.replace(self, pending_sums={}, pending_count=0)

    def train_means(self) -> dict[str, np.ndarray]:
        """[M] mean of each training metric over the iterations since the last evaluation."""
        return {name: total / self.pending_count for name, total in self.pending_sums.items()}


def chunk_ends(total: int, eval_every: int, checkpoint_every: int) -> list[int]:
    """Iteration counts at which the host takes over: every evaluation, checkpoint and the end."""
    ends = set(range(eval_every, total + 1, eval_every))
    ends |= set(range(checkpoint_every, total + 1, checkpoint_every))
    ends.add(total)
    return sorted(ends)


def nonfinite_report(metrics: dict[str, np.ndarray], members: list[Member]) -> str | None:
    """A one-line description of the members whose chunk went non-finite (what, at which
    iteration, with which seed and swept values), or None."""
    first = np.asarray(metrics[FIRST_NONFINITE])
    bad = [members[int(index)] for index in np.flatnonzero(first >= 0)]
    if not bad:
        return None
    member = bad[0]
    names = [
        name
        for name, values in metrics.items()
        if name != FIRST_NONFINITE and not np.isfinite(np.asarray(values)[member.index])
    ]
    what = ", ".join(names) if names else "parameters or optimiser state"
    values = "".join(f", {name}={value:g}" for name, value in member.values.items())
    report = (
        f"non-finite {what} at iteration {int(first[member.index])} (member {member.index}, "
        f"seed {member.seed}{values})"
    )
    if len(bad) > 1:
        others = ", ".join(str(other.index) for other in bad[1:])
        report += f", and in member{'s' if len(bad) > 2 else ''} {others}"
    return report


def throughput(
    config: TrainConfig, iteration: int, member_iterations: int, seconds: float
) -> dict[str, float]:
    """A row's progress and speed fields for the chunks since the last evaluation,
    ``member_iterations`` (iterations of all members together) in ``seconds``: env steps online,
    gradient steps offline."""
    if config.dataset is not None:  # no env steps: gradient steps of all members per second
        return {"updates_per_s": member_iterations / seconds}
    return {
        "env_steps": env_steps_after(config, iteration),
        "sps": member_iterations * steps_per_iteration(config) / seconds,
    }


def group_means(rows: list[dict[str, Any]], members: list[Member]) -> dict[str, dict[str, Any]]:
    """The newest rows of ``members`` averaged per swept value (``critic_lr=0.001``: its
    members' mean row), one entry labelled "" for a run without a sweep: the progress display
    never pools members trained differently."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for member, row in zip(members, rows, strict=True):
        groups.setdefault(values_label(member.values), []).append(row)
    return {label: mean_row(group) for label, group in groups.items()}


def mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Members' rows averaged field by field (numbers only), for the progress display."""
    numeric = [k for k, v in rows[0].items() if isinstance(v, (int, float))]
    return {
        k: float(np.mean([row[k] for row in rows if row.get(k) is not None] or [np.nan]))
        for k in numeric
    }
