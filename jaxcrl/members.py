"""The members of a run: seeds crossed with swept hyperparameter values, trained in one program.

A run trains ``num_members = len(sweep grid) * num_seeds`` independent agents with ``jax.vmap``:
each has its own parameters, optimiser state, replay buffer, env copies and keys, and every leaf of
the run's state carries a leading ``[num_members]`` axis (a one-member run included, so there is a
single code path). Only hyperparameters that change no array shape can differ between members:
they live in arrays (``agent.Hyperparams`` and the learning rates inside the optimiser states).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl import agent
from jaxcrl.config import (
    TrainConfig,
    parse_sweep,
    single_agent_config,
    sweep_points,
    values_label,
)
from jaxcrl.logger import as_written, to_python
from jaxcrl.stats import summarize

# Optimiser states whose learning rate a member may override: field of AgentState -> option.
LEARNING_RATES = {
    "critic_opt_state": "critic_lr",
    "policy_opt_state": "actor_lr",
    "alpha_opt_state": "alpha_lr",
}


@dataclasses.dataclass(frozen=True)
class Member:
    """One agent of a run: its index, its seed and the swept values it trains with."""

    index: int
    seed: int
    values: dict[str, float]

    def describe(self) -> dict[str, Any]:
        """Fields that identify this member in metrics rows."""
        return {"member": self.index, "seed": self.seed, **self.values}


def run_members(config: TrainConfig) -> list[Member]:
    """Every member of the run: the sweep grid (in the order given) crossed with the seeds."""
    members = []
    for values in sweep_points(parse_sweep(config.sweep)):
        for offset in range(config.num_seeds):
            members.append(
                Member(index=len(members), seed=config.seed + offset, values=dict(values))
            )
    return members


def member_config(config: TrainConfig, member: Member) -> TrainConfig:
    """The single-agent configuration equivalent to ``member`` of a run of ``config`` (config.py's
    ``validate`` checks every one of them)."""
    return single_agent_config(config, member.values, member.seed)


def member_keys(members: list[Member]) -> jax.Array:
    """[num_members] PRNG keys, each from its member's seed alone."""
    return jnp.stack([jax.random.PRNGKey(member.seed) for member in members])


def stack(trees: list[Any]) -> Any:
    """Stack pytrees of equal structure along a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def apply_member_values(
    state: Any, config: TrainConfig, members: list[Member], action_size: int
) -> Any:
    """Give each member of a batched TrainerState its own hyperparameters and learning rates."""
    configs = [member_config(config, member) for member in members]
    hyperparams = stack([agent.hyperparams_from(c, action_size) for c in configs])
    learner = state.agent
    for field, option in LEARNING_RATES.items():
        opt_state = getattr(learner, field)
        rates = jnp.asarray([getattr(c, option) for c in configs], jnp.float32)
        opt_state = opt_state._replace(
            hyperparams={**opt_state.hyperparams, "learning_rate": rates}
        )
        learner = learner.replace(**{field: opt_state})
    return state.replace(agent=learner, hyperparams=hyperparams)


def member_slice(tree: Any, index: int) -> Any:
    """Member ``index`` of a batched pytree (the leading axis removed)."""
    return jax.tree.map(lambda leaf: leaf[index], tree)


def member_rows(
    base: dict[str, Any], per_member: dict[str, np.ndarray], members: list[Member]
) -> list[dict[str, Any]]:
    """One logged row per member: shared fields, the member's identity and its own metrics."""
    rows = []
    for member in members:
        row = {**base, **member.describe()}
        row.update({name: values[member.index] for name, values in per_member.items()})
        rows.append({name: to_python(value) for name, value in row.items()})
    return rows


def rows_by_member(rows: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Rows split by their ``member`` field (single-seed runs are member 0)."""
    members: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        members.setdefault(int(row.get("member", 0)), []).append(row)
    return members


def member_groups(
    rows: Sequence[dict[str, Any]], group_by: Sequence[str]
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """Members grouped by their values of ``group_by`` (``critic_lr=0.001``), one group if none."""
    groups: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for member, own_rows in rows_by_member(rows).items():
        name = values_label({key: own_rows[0].get(key) for key in group_by})
        groups.setdefault(name, {})[member] = own_rows
    return groups


def summarize_members(metrics: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Mean, IQM and interval over members of each metric; None where a member's value is NaN."""
    # An env leaves undefined what it cannot measure (OGBench's mazes have no objects at goal,
    # its manipulation scenes no final distance): those metrics are NaN and get no summary.
    summary = {}
    for name, values in metrics.items():
        values = as_written(values).astype(np.float64)
        summary[name] = summarize(values) if np.all(np.isfinite(values)) else None
    return summary


def summarize_groups(
    metrics: dict[str, Any], rows: list[dict[str, Any]], swept: list[str]
) -> list[dict[str, Any]]:
    """For each swept value (``swept`` names the options): its members and their summary."""
    groups = []
    for group in member_groups(rows, swept).values():
        indices = list(group)
        first_row = group[indices[0]][0]
        in_group = {name: np.asarray(values)[indices] for name, values in metrics.items()}
        groups.append(
            {
                "values": {name: first_row[name] for name in swept},
                "members": indices,
                "summary": summarize_members(in_group),
            }
        )
    return groups
