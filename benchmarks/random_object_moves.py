"""How often uniform random actions move the object that a task's goal names.

Usage: ``python benchmarks/random_object_moves.py --env arm_push_easy [--episodes 256]
[--env-options hand_start=home]``.

CRL learns to move an object only from episodes in which the object moved: every positive pair
of its critic is a state and a later state of the same episode. This script runs ``--episodes``
episodes of uniform random actions in [-1, 1] for the env's episode length, without resets (a
robot that falls keeps stepping), and prints the fraction of episodes whose goal coordinates
(``state[goal_indices]``) moved by more than each distance, with the median of the largest move.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from jaxcrl.config import parse_env_options
from jaxcrl.envs import make_env, reset_batch

DISTANCES = (0.01, 0.02, 0.05, 0.1)  # metres


def largest_moves(env, params, episodes: int, seed: int) -> np.ndarray:
    """Per episode [episodes]: the largest distance of the goal coordinates from their start."""
    step = jax.vmap(env.step, in_axes=(0, 0, None))
    goal_indices = np.asarray(env.goal_indices)

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        start = reset_batch(env, params, reset_key, episodes)

        def one_step(states, step_key):
            actions = jax.random.uniform(
                step_key, (episodes, env.action_size), minval=-1.0, maxval=1.0
            )
            states = step(states, actions, params)
            return states, states.obs[:, goal_indices]

        step_keys = jax.random.split(action_key, env.episode_length)
        _, achieved = jax.lax.scan(one_step, start, step_keys)  # [T, episodes, goal]
        moved = achieved - start.obs[None, :, goal_indices]
        return jax.numpy.linalg.norm(moved, axis=-1).max(axis=0)

    return np.asarray(run(jax.random.PRNGKey(seed)))


def main() -> None:
    """Print the fraction of random-action episodes that moved the goal-named object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--env-options", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    env = make_env(args.env, **parse_env_options(tuple(args.env_options)))
    moves = largest_moves(env, env.default_params(), args.episodes, args.seed)
    shares = ", ".join(f"> {d} m: {np.mean(moves > d):.3f}" for d in DISTANCES)
    name = " ".join([args.env, *args.env_options])
    print(f"{name}: {args.episodes} episodes of random actions")
    print(f"  moved {shares}; median largest move {np.median(moves):.4f} m")


if __name__ == "__main__":
    main()
