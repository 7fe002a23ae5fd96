"""How often uniform random actions move the object that a task's goal names.

Usage: ``python benchmarks/random_object_moves.py --env arm_push_easy [--episodes 256]
[--env-options hand_start=home]``.

CRL learns to move an object only from episodes in which the object moved: every positive pair
of its critic is a state and a later state of the same episode. This script runs ``--episodes``
episodes of uniform random actions in [-1, 1], as ``collect.py --policy random`` rolls them out
(an episode ends at the env's episode length or when the robot falls), and prints the fraction
of episodes whose goal coordinates (``state[goal_indices]``) moved by more than each distance,
with the median of the largest move.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from jaxcrl.collect import random_actions, rollout_states_and_actions
from jaxcrl.config import parse_env_options
from jaxcrl.envs import make_env

DISTANCES = (0.01, 0.02, 0.05, 0.1)  # metres


def largest_moves(env, params, episodes: int, seed: int) -> np.ndarray:
    """Per episode [episodes]: the largest distance of the goal coordinates from their start."""
    act = random_actions(env.action_size)
    rollout = jax.jit(lambda key: rollout_states_and_actions(env, params, act, key, episodes))
    states, _, dones = rollout(jax.random.PRNGKey(seed))  # [E, T, S], [E, T]
    achieved = np.asarray(states)[..., list(env.goal_indices)]
    moved = np.linalg.norm(achieved - achieved[:, :1], axis=-1)  # [E, T]
    # A state after the episode's first end (a fall) belongs to the next episode: not counted.
    dones = np.asarray(dones)
    later_episode = np.cumsum(dones, axis=1) - dones > 0
    return np.where(later_episode, 0.0, moved).max(axis=1)


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
