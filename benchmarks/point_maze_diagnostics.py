"""Where a point-maze run's long-horizon failures come from: its data, its critic or its actor.

Usage: ``python benchmarks/point_maze_diagnostics.py --run-dir RUN [--pairs 8192]``.

For a trained point-maze run (position state, wall grid) it prints three things, each by path
length (fewest king moves through the maze, ``mazes.path_lengths``):
- **data** (needs a checkpoint saved with its replay buffer, the default): how far the buffer's
  episodes travel from their first cell, and how far apart the critic's (state, future goal)
  pairs are, drawn by the trainer's own sampler;
- **critic**: from the centre of every free cell towards the centre of every other one, whether
  the best of the 8 king-move actions under f(s, a, g) takes the point closer to the goal over
  one cell's worth of steps (sliding along walls as the env does);
- **actor**: the same for the deterministic policy's action.
A critic that points the right way where the actor does not shows an actor that lags its critic;
a critic that points the wrong way for far goals shows data that rarely join far cells.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from arguments import fail, positive_int  # sibling modules
from episodes import add_member_option, loaded_member, print_binned_means

from jaxcrl import agent
from jaxcrl.buffer import stored_steps
from jaxcrl.envs.mazes import cells_of, path_lengths
from jaxcrl.envs.point_maze import PointMaze
from jaxcrl.goals import sample_future_goal_batch

KING_MOVES = np.array(
    [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)], np.float32
)


def episodes_in_time_order(buffer) -> list[np.ndarray]:
    """The stored episodes as arrays of (x, y) states [T, 2], oldest step first."""
    size = int(stored_steps(buffer))
    written = int(buffer.steps_written)
    rows = (written - size + np.arange(size)) % buffer.capacity
    states, ids = np.asarray(buffer.states)[rows], np.asarray(buffer.episode_ids)[rows]
    episodes = []
    for env in range(states.shape[1]):
        starts = np.flatnonzero(np.diff(ids[:, env], prepend=ids[0, env] - 1))
        for piece in np.split(states[:, env], starts[1:]):
            if len(piece) >= 2:
                episodes.append(piece)
    return episodes


def slide(env: PointMaze, params, points: jax.Array, moves: jax.Array) -> jax.Array:
    """Where points [N, 2] end after one cell's worth of env steps with actions moves [N, 2]."""
    steps = int(np.ceil(1.0 / env.max_step))
    state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.PRNGKey(0), len(points)), params
    )
    state = state.replace(physics=points)
    step = jax.vmap(env.step, in_axes=(0, 0, None))
    for _ in range(steps):
        state = step(state, moves, params)
    return state.physics


def main() -> None:
    """Load the run and print the data, critic and actor tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    add_member_option(parser)
    parser.add_argument(
        "--pairs", type=positive_int, default=8192, help="critic pairs drawn from the buffer"
    )
    parser.add_argument("--bin", type=positive_int, default=3, help="path lengths per row (cells)")
    args = parser.parse_args()

    loaded = loaded_member(args.run_dir, args.member)
    env, params, config = loaded.env, loaded.env_params, loaded.config
    if not isinstance(env, PointMaze):
        fail(f"{env.name} is not a point maze; this script reads point-maze runs only")
    walls = np.asarray(env.walls)
    free = np.argwhere(~walls)  # [F, 2] (row, col)
    from_cell = path_lengths(walls, free)  # [F, rows, cols]
    index_of = np.full(walls.shape, -1)
    index_of[free[:, 0], free[:, 1]] = np.arange(len(free))
    distance = lambda a, b: from_cell[index_of[a[:, 0], a[:, 1]], b[:, 0], b[:, 1]]

    if config.dataset is not None:
        print(
            f"data: an offline run, whose checkpoints never hold a replay buffer; its data are "
            f"the dataset {config.dataset} (benchmarks/dataset_reach.py reads how far they reach)"
        )
    elif loaded.buffer is None:
        print("data: the checkpoint holds no replay buffer (run saved with --no-checkpoint-buffer)")
    else:
        episodes = episodes_in_time_order(loaded.buffer)
        reach = np.array(
            [distance(cells_of(e[:1]).repeat(len(e), 0), cells_of(e)).max() for e in episodes]
        )
        batch = sample_future_goal_batch(
            loaded.buffer, jax.random.PRNGKey(0), args.pairs, config.goal_discount, env.goal_indices
        )
        apart = distance(cells_of(batch.states), cells_of(batch.future_goals))
        print(
            f"data: {len(episodes)} stored episodes; cells reached from the first cell: median "
            f"{np.median(reach):.0f}, 90th percentile {np.percentile(reach, 90):.0f}, "
            f"max {reach.max()}"
        )
        shares = np.bincount(apart) / len(apart)
        print(
            "critic pairs (state, future goal) by path length: "
            + ", ".join(f"{n}: {share:.3f}" for n, share in enumerate(shares) if share >= 0.001)
        )

    starts, goals = np.meshgrid(np.arange(len(free)), np.arange(len(free)), indexing="ij")
    lengths = from_cell[starts.ravel(), free[goals.ravel(), 0], free[goals.ravel(), 1]]
    keep = lengths >= 2
    if not keep.any():
        fail(
            f"{env.name}: no two free cells lie 2 or more moves apart, so there is nothing to rank"
        )
    starts, goals, lengths = starts.ravel()[keep], goals.ravel()[keep], lengths[keep]
    points = jnp.asarray(free[starts, ::-1] + 0.5, jnp.float32)  # cell centres (x, y)
    targets = jnp.asarray(free[goals, ::-1] + 0.5, jnp.float32)

    networks, learner = loaded.trainer.networks, loaded.learner

    def critic(actions):
        values = agent.critic_energies(
            networks, config, learner.critic_params, points, actions, targets
        )
        return values.min(axis=0) if values.ndim == 2 else values  # twin critics: the min

    scores = jnp.stack([critic(jnp.broadcast_to(m, points.shape)) for m in KING_MOVES], -1)
    critic_moves = jnp.asarray(KING_MOVES)[jnp.argmax(scores, axis=-1)]
    observations = jnp.concatenate([points, targets], axis=-1)
    actor_moves = agent.policy_action(networks, learner.policy_params, observations)
    closer = lambda moves: (
        distance(cells_of(slide(env, params, points, moves)), free[goals]) < lengths
    )
    print(f"\ncritic and actor from cell centres ({env.name}, {len(lengths)} start-goal pairs):")
    print_binned_means(
        "path (king moves)",
        "pairs",
        lengths,
        {
            "critic's best king move gets closer": closer(critic_moves),
            "actor's action gets closer": closer(actor_moves),
        },
        args.bin,
        first=int(lengths.min()),
    )


if __name__ == "__main__":
    main()
