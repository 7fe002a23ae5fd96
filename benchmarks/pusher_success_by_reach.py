"""Success of a trained pusher run, grouped by how far the puck starts from the arm's shoulder.

Usage: ``python benchmarks/pusher_success_by_reach.py --run-dir RUN [--episodes 1024]``.
The arm's fingertip reaches 0.87 m from the shoulder, so a puck far out can be pushed only with the
arm nearly straight. Rows are ranges of the puck's starting distance from the shoulder; each gives
success over all episodes, over those whose goal lies 0.1 m or more closer to the shoulder than the
puck (the puck must be drawn in, the hand on its far side), and over the rest.
"""

from __future__ import annotations

import numpy as np
from arguments import fail  # sibling modules
from episodes import (
    episodes_parser,
    print_binned_means,
    run_episodes,
    saved_policy,
)

BIN_METRES = 0.1
DRAWN_IN_METRES = 0.1  # the goal lies at least this much closer to the shoulder than the puck


def main() -> None:
    """Evaluate once and print one row per range of the puck's starting distance."""
    args = episodes_parser(__doc__).parse_args()
    env, env_params, policy = saved_policy(args)
    if not hasattr(env, "shoulder"):
        fail(f"{env.name} is not a pusher; this script reads pusher runs only")
    states, _, _, success, time_near = run_episodes(
        env, env_params, policy, args.episodes, args.seed
    )
    shoulder = np.asarray(env.shoulder)
    puck = np.asarray(env.goal_of(states.obs[:, : env.state_size]))  # what goals name
    puck_radius = np.linalg.norm(puck - shoulder, axis=1)
    goal_radius = np.linalg.norm(np.asarray(states.goal) - shoulder, axis=1)
    drawn_in = goal_radius <= puck_radius - DRAWN_IN_METRES
    nan = np.full_like(success, np.nan)
    print(f"{env.name}: {args.episodes} episodes, success {success.mean():.3f}")
    print_binned_means(
        "puck from shoulder (m)",
        "episodes",
        np.floor(puck_radius / BIN_METRES).astype(int),
        {
            "success": success,
            "time near goal": time_near,
            "drawn in: share": drawn_in.astype(float),
            "drawn in: success": np.where(drawn_in, success, nan),
            "others: success": np.where(drawn_in, nan, success),
        },
        bin_size=1,
        span_label=lambda low: f"{low * BIN_METRES:.1f}–{(low + 1) * BIN_METRES:.1f}",
    )


if __name__ == "__main__":
    main()
