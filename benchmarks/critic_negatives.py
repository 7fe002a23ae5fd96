"""How an offline run's critic scores its true goals against three kinds of other goal.

Usage: ``python benchmarks/critic_negatives.py --run-dir RUN [--anchors 4096] [--gap 200]
[--member M]``.

Anchors (s, a) come from the run's training dataset. Each gets four goals, all read from the
same dataset (``state[goal_indices]``):

- *true*: a later step of the same episode at a geometric offset (the run's discount), as the
  critic's positives are drawn in training, truncated ``--gap`` steps before the episode's end;
- *earlier, same episode*: a step at least ``--gap`` steps before the anchor, which the data
  never lead to from the anchor but which shares the episode's scene;
- *later, same episode*: a step at least ``--gap`` steps after the true goal;
- *another episode*: a step of a different episode, like most of a training batch's negatives.

Prints, per kind, the critic's mean energy (the minimum over twin critics, as the actor uses it)
and the fraction of anchors whose true goal scores above it. A critic that tells only episodes
apart scores the same-episode goals near the true goal and far above another episode's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from arguments import fail, one_line_errors, positive_int  # sibling modules
from episodes import add_member_option, episode_bounds, loaded_member

from jaxcrl import agent
from jaxcrl.dataset import load_dataset
from jaxcrl.goals import truncated_geometric

KINDS = ("true", "earlier, same episode", "later, same episode", "another episode")


def goal_rows(
    terminals: np.ndarray, discount: float, anchors: int, gap: int, seed: int
) -> dict[str, np.ndarray]:
    """Anchor rows and, per kind of goal, the row each anchor's goal of that kind is read from."""
    rng = np.random.default_rng(seed)
    first, last = episode_bounds(terminals)
    if np.unique(first).size < 2:
        fail("the dataset holds one episode; another-episode goals need at least two")
    # Anchors with room for every kind: gap steps before them, and gap steps after a true goal.
    usable = np.flatnonzero(
        (np.arange(terminals.size) - first >= gap) & (last - np.arange(terminals.size) > gap)
    )
    if usable.size == 0:
        fail(f"no anchor has {gap} steps on both sides in its episode; lower --gap")
    rows = rng.choice(usable, anchors)
    horizon = last[rows] - gap - rows  # true goals leave room for a later goal gap steps on
    offsets = truncated_geometric(jax.random.PRNGKey(seed), discount, jnp.asarray(horizon))
    true = rows + np.asarray(offsets)
    earlier = rng.integers(first[rows], rows - gap + 1)
    later = rng.integers(true + gap, last[rows] + 1)
    other = rng.integers(0, terminals.size, anchors)
    while np.any(clash := first[other] == first[rows]):
        other[clash] = rng.integers(0, terminals.size, int(clash.sum()))
    return {
        "anchor": rows,
        "true": true,
        "earlier, same episode": earlier,
        "later, same episode": later,
        "another episode": other,
    }


def main() -> None:
    """Load the run's critic and data, score the four kinds of goal, print a Markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="a trained offline run")
    add_member_option(parser)
    parser.add_argument(
        "--anchors", type=positive_int, default=4096, help="dataset states scored (default 4096)"
    )
    parser.add_argument(
        "--gap", type=positive_int, default=200, help="steps between kinds of goal (at least 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the draws (default 0)")
    args = parser.parse_args()
    loaded = loaded_member(args.run_dir, args.member)
    config, env = loaded.config, loaded.env
    if config.dataset is None:
        fail(f"{args.run_dir} is an online run; this reads an offline run's dataset")
    with one_line_errors():
        data = load_dataset(config.dataset, env.state_size, env.action_size)
    rows = goal_rows(data.terminals, config.goal_discount, args.anchors, args.gap, args.seed)
    goal_indices = np.asarray(env.goal_indices)
    states = jnp.asarray(data.observations[rows["anchor"]])
    actions = jnp.asarray(data.actions[rows["anchor"]])
    networks, critic_params = loaded.trainer.networks, loaded.learner.critic_params

    @jax.jit
    def scores(params: dict, states: jax.Array, actions: jax.Array, goals: jax.Array) -> jax.Array:
        energies = agent.critic_energies(networks, config, params, states, actions, goals)
        return energies.min(axis=0) if config.twin_critics else energies

    def goals_of(rows_of_kind: np.ndarray) -> jax.Array:
        return jnp.asarray(data.observations[rows_of_kind][:, goal_indices])

    energy = {
        kind: np.asarray(scores(critic_params, states, actions, goals_of(rows[kind])))
        for kind in KINDS
    }
    print(f"{args.run_dir}: {args.anchors} anchors, gap {args.gap} steps")
    print("| goal | mean energy | true goal scores higher |\n|---|---:|---:|")
    for kind in KINDS:
        higher = "—" if kind == "true" else f"{np.mean(energy['true'] > energy[kind]):.3f}"
        print(f"| {kind} | {energy[kind].mean():.2f} | {higher} |")


if __name__ == "__main__":
    main()
