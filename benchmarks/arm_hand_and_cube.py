"""Where a trained arm cube-task policy takes its hand and the cube over an episode.

Usage: ``python benchmarks/arm_hand_and_cube.py --run-dir RUN [--episodes 256] [--seed 0]
[--member M]`` for a run of ``arm_push_*`` or ``arm_binpick_*``.

Rolls out ``--episodes`` episodes of the run's deterministic policy in its env (the options it was
saved with) and prints, after several numbers of steps (0: the reset state; the last row is the
episode's end), the medians over episodes of the cube's distance to its goal, the grip point's
distance to the cube's goal and to the cube, the grip point's height and the finger opening; then
the share of episodes whose hand came within 3 and 5 cm of the cube, lifted it, and ended with the
hand or the cube within the success threshold of the goal. It tells a policy that carries the cube
from one that reaches the goal without it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from arguments import fail, positive_int  # sibling modules
from episodes import add_member_option, member_policy

from jaxcrl.envs.arm import CUBE_HALF, FINGER_OPEN, NUM_ARM_JOINTS
from jaxcrl.envs.base import reset_batch

REPORT_STEPS = (0, 10, 25, 50, 100)  # and the last step


def rollout_observations(env, params, policy, episodes: int, seed: int) -> np.ndarray:
    """Observations [T + 1, E, obs size] after 0, 1, ..., T steps of one episode per copy.

    Arm episodes never end early, so the copies step without auto-reset: the last row is the
    state the episode ends in, not the start of the next one.
    """
    step = jax.vmap(env.step, in_axes=(0, 0, None))

    def one_step(states, _):
        stepped = step(states, policy(states.obs), params)
        return stepped, stepped.obs

    def rollout(key):
        first = reset_batch(env, params, key, episodes)
        after = jax.lax.scan(one_step, first, None, length=env.episode_length)[1]
        return jnp.concatenate([first.obs[None], after])

    return np.asarray(jax.jit(rollout)(jax.random.PRNGKey(seed)))


def main() -> None:
    """Print where the policy's hand and cube go."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="a trained arm run")
    add_member_option(parser)
    parser.add_argument("--episodes", type=positive_int, default=256, help="(default 256)")
    parser.add_argument("--seed", type=int, default=0, help="of the episodes (default 0)")
    args = parser.parse_args()
    env, params, policy = member_policy(args.run_dir, args.member)
    if not hasattr(env, "goal_space"):
        fail(f"{env.name} is not an arm cube task (arm_push_* or arm_binpick_*)")
    obs = rollout_observations(env, params, policy, args.episodes, args.seed)
    size = env.state_size
    cube = obs[..., list(env.success_indices)]  # [T, E, 3]
    grip = obs[..., size - 3 : size]  # the state's last three entries
    goal = obs[0, :, size : size + 3]  # [E, 3] the cube's goal leads the goal vector
    opening = obs[..., NUM_ARM_JOINTS : NUM_ARM_JOINTS + 2].sum(-1)
    cube_goal = np.linalg.norm(cube - goal, axis=-1)  # [T, E]
    grip_goal = np.linalg.norm(grip - goal, axis=-1)
    grip_cube = np.linalg.norm(grip - cube, axis=-1)
    print(f"{args.run_dir}: {args.episodes} episodes of its deterministic policy, medians")
    print(f"steps cube-goal  grip-goal  grip-cube  grip z  opening (m, {2 * FINGER_OPEN:.2f} open)")
    last = env.episode_length  # steps taken by the episode's end
    for t in (*[t for t in REPORT_STEPS if t < last], last):
        print(
            f"{t:4d}  {np.median(cube_goal[t]):9.3f}  {np.median(grip_goal[t]):9.3f}"
            f"  {np.median(grip_cube[t]):9.3f}  {np.median(grip[t, :, 2]):6.3f}"
            f"  {np.median(opening[t]):.3f}"
        )
    threshold = round(float(params.success_threshold), 4)
    closest = grip_cube.min(axis=0)
    print(
        f"hand within 3 / 5 cm of the cube at some step: {np.mean(closest < 0.03):.3f} / "
        f"{np.mean(closest < 0.05):.3f}; cube lifted 1 cm: "
        f"{np.mean(cube[..., 2].max(axis=0) > CUBE_HALF + 0.01):.3f}"
    )
    hand_there, cube_there = np.mean(grip_goal[-1] < threshold), np.mean(cube_goal[-1] < threshold)
    print(f"at the episode's end within {threshold} m of the goal:", end=" ")
    print(f"hand {hand_there:.3f}, cube {cube_there:.3f}")


if __name__ == "__main__":
    main()
