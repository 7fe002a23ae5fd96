"""How often uniform random actions, or a trained policy, move the object that a task's goal names.

Usage: ``python benchmarks/random_object_moves.py --env arm_push_easy [--episodes 256]
[--env-options hand_start=home]``, or ``--run-dir RUN [--noise-std S]`` for a trained run's
deterministic policy (plus Gaussian noise, as ``collect.py --policy noisy-checkpoint``) in its env
(``--member M`` picks the member of a multi-seed or swept run). OGBench envs, whose episodes run
on the host, are refused.

CRL learns to move an object only from episodes in which the object moved: every positive pair
of its critic is a state and a later state of the same episode. This script runs ``--episodes``
episodes of uniform random actions in [-1, 1], as ``collect.py --policy random`` rolls them out
(an episode ends at the env's episode length or when the robot falls), and prints the fraction
of episodes whose goal's object (``state[success_indices]``, the entries that success measures)
moved by more than each distance, with the median of the largest move.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np
from arguments import named_env, non_negative_float, positive_int  # sibling modules
from episodes import member_policy, refuse_host_evaluated, refuse_images

from jaxcrl.collect import random_actions, rollout_states_and_actions, with_action_noise

DISTANCES = (0.01, 0.02, 0.05, 0.1)  # metres


def largest_moves(env, params, act, episodes: int, seed: int) -> np.ndarray:
    """Per episode [episodes] of ``act``: the goal's object's largest distance from its start."""
    rollout = jax.jit(lambda key: rollout_states_and_actions(env, params, act, key, episodes))
    states, _, dones = rollout(jax.random.PRNGKey(seed))  # [E, T, S], [E, T]
    achieved = np.asarray(states)[..., list(env.success_indices)]
    moved = np.linalg.norm(achieved - achieved[:, :1], axis=-1)  # [E, T]
    # A state after the episode's first end (a fall) belongs to the next episode: not counted.
    dones = np.asarray(dones)
    later_episode = np.cumsum(dones, axis=1) - dones > 0
    return np.where(later_episode, 0.0, moved).max(axis=1)


def main() -> None:
    """Print the fraction of episodes that moved the goal-named object."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", help="roll out uniform random actions in this env")
    parser.add_argument("--run-dir", help="a trained run's policy in its own env, instead")
    parser.add_argument("--member", type=int, default=0, help="with --run-dir: member of a run")
    parser.add_argument(
        "--noise-std",
        type=non_negative_float,
        default=0.0,
        help="with --run-dir: Gaussian noise added to the policy's actions (default 0)",
    )
    parser.add_argument("--episodes", type=positive_int, default=256, help="(default 256)")
    parser.add_argument("--seed", type=int, default=0, help="of the rollouts (default 0)")
    parser.add_argument(
        "--env-options", nargs="*", default=[], metavar="NAME=VALUE", help="with --env"
    )
    args = parser.parse_args()
    if (args.env is None) == (args.run_dir is None):
        parser.error("give exactly one of --env (random actions) and --run-dir (a trained policy)")
    if args.run_dir is not None and args.env_options:
        parser.error(
            "--env-options goes with --env; a run's env takes the options it was saved with"
        )
    if args.run_dir is None and (args.member != 0 or args.noise_std != 0):
        parser.error("--member and --noise-std go with --run-dir (a trained policy)")
    if args.run_dir is not None:
        env, params, policy = member_policy(Path(args.run_dir), args.member)
        act = with_action_noise(policy, args.noise_std)
        name, source = args.run_dir, f"its policy (noise std {args.noise_std})"
    else:
        env = named_env(args.env, args.env_options)
        params, act = env.default_params(), random_actions(env.action_size)
        name, source = " ".join([args.env, *args.env_options]), "random actions"
    refuse_host_evaluated(env)
    refuse_images(env, "object positions")
    moves = largest_moves(env, params, act, args.episodes, args.seed)
    shares = ", ".join(f"> {d} m: {np.mean(moves > d):.3f}" for d in DISTANCES)
    print(f"{name}: {args.episodes} episodes of {source}")
    print(f"  moved {shares}; median largest move {np.median(moves):.4f} m")


if __name__ == "__main__":
    main()
