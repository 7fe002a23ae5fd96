"""Success of a trained run, grouped by how far each goal starts from what it names.

Usage: ``python benchmarks/success_by_goal_distance.py --run-dir RUN [--episodes 1024] [--bin 0.1]``.
Works for every env of this project that draws its own starts and goals, which is all but the
OGBench envs (their episodes run on the host from OGBench's own tasks: the script refuses them;
evaluate them with eval.py). It runs the run's deterministic policy from the env's own random
starts and goals and prints success, time near goal and final distance per range of the
distance the env reports at reset (the puck's, the torso's, the cube's ... distance to its goal,
in the env's units), so a plateau can be traced to the goals it misses. For mazes the path length
says more: ``benchmarks/maze_success_by_path.py``.
"""

from __future__ import annotations

import numpy as np
from arguments import positive_float  # sibling modules
from episodes import (
    episodes_parser,
    print_binned_means,
    refuse_host_evaluated,
    run_episodes,
    saved_policy,
)

from jaxcrl.envs import DISTANCE
from jaxcrl.evaluate import at_episode_end


def main() -> None:
    """Evaluate once and print one row per range of starting distances."""
    parser = episodes_parser(__doc__)
    parser.add_argument(
        "--bin", type=positive_float, default=0.1, help="distance per row (env units)"
    )
    args = parser.parse_args()

    env, env_params, policy = saved_policy(args)
    refuse_host_evaluated(env)
    states, metrics, alive, success, time_near = run_episodes(
        env, env_params, policy, args.episodes, args.seed
    )
    start = np.asarray(states.metrics[DISTANCE])  # [E]
    final = np.asarray(at_episode_end(metrics[DISTANCE], alive))  # [E]

    print(f"{env.name}: {args.episodes} episodes, success {success.mean():.3f}")
    print_binned_means(  # bins numbered on a grid of --bin
        "distance at reset",
        "episodes",
        np.floor(start / args.bin).astype(int),
        {"success": success, "time near goal": time_near, "final distance": final},
        bin_size=1,
        span_label=lambda low: f"{low * args.bin:.2f}–{(low + 1) * args.bin:.2f}",
    )


if __name__ == "__main__":
    main()
