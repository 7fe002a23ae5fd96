"""Make OGBench-layout datasets locally with OGBench's own environments and scripted oracles.

    python -m jaxcrl.ogbench_data --env pointmaze-medium-v0 --out data/pm.npz
    python -m jaxcrl.ogbench_data --env cube-single-v0 --episodes 100 --out data/cube-small.npz

For when OGBench's files cannot be downloaded. Writes ``OUT`` and ``OUT``'s ``-val`` split
(``--val-episodes`` more episodes from another seed) with ``observations`` [N, obs],
``actions`` [N, act] and ``terminals`` [N] (1 at each episode's last step), which
``train.py --dataset`` reads as it reads OGBench's own files. The data follow OGBench's recipes:

- **navigate** (``pointmaze-*``): the point repeatedly walks to uniformly drawn free cells along
  the maze's breadth-first-search subgoals (OGBench's ``get_oracle_subgoal``), unit-length
  actions plus Gaussian noise (``--noise``, default 0.2);
- **play** (``cube-*``, ``scene-v0``, ``puzzle-*``): the env in its ``data_collection`` mode
  draws random targets and OGBench's Markov oracle for the target's kind (cube, button, drawer,
  window) drives the arm there, plus Gaussian action noise (``--noise``, default 0.1); a new
  target is drawn whenever the oracle is done. The oracles read the env's state, not its
  observation, so the ``visual-`` twins get the same data seen as 64x64 images (uint8
  [N, 64, 64, 3], as OGBench's visual datasets hold them; rendering needs ``MUJOCO_GL=egl``).

The noise levels are this script's choices, stated in its output. The default of 1000 episodes of
1000 steps matches the 1M transitions of OGBench's published navigate and play datasets, and the
size matters: the same small CRL run reached 0.09 success on cube-single after 50k gradient steps
with 100 episodes, and 0.22 with 1000 (0.40 after 100k; BENCHMARKS.md). On a 2-core CPU 1000
episodes take about 24 minutes (cube-single) to 33 minutes (scene).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxcrl.dataset import Dataset, as_stored_states, save_dataset, validation_path
from jaxcrl.envs.ogbench_envs import (
    OGBENCH_SIZES,
    OGBENCH_VISUAL,
    VISUAL_PREFIX,
    OgbenchEnv,
    ogbench_env_ids,
)

DEFAULT_NOISE = {"navigate": 0.2, "play": 0.1}


# Envs whose data a scripted oracle can make; the others' datasets need OGBench's trained experts.
ORACLE_ENV_IDS = [
    env_id
    for env_id in OGBENCH_SIZES
    if env_id.split("-")[0] in ("pointmaze", "cube", "scene", "puzzle") and "teleport" not in env_id
]
LOCAL_ENV_IDS = ORACLE_ENV_IDS + [
    VISUAL_PREFIX + env_id for env_id in ORACLE_ENV_IDS if env_id in OGBENCH_VISUAL
]


def recipe(env_id: str) -> str:
    """OGBench's dataset kind made for ``env_id``: navigate (mazes) or play (manipulation)."""
    return "navigate" if env_id.startswith("pointmaze") else "play"


def navigate_episode(gym_env: Any, rng: np.random.Generator, length: int, noise: float) -> tuple:
    """One navigate episode: (observations [T, obs], actions [T, act])."""
    maze = gym_env.unwrapped
    free_cells = np.argwhere(maze.maze_map == 0)

    def random_cell() -> tuple[int, int]:
        return tuple(int(v) for v in free_cells[rng.integers(len(free_cells))])

    observation, _ = gym_env.reset(
        seed=int(rng.integers(2**31)),
        options={"task_info": {"init_ij": random_cell(), "goal_ij": random_cell()}},
    )
    maze.set_goal(goal_ij=random_cell())
    observations, actions = [], []
    for _ in range(length):
        xy = maze.get_xy()
        if np.linalg.norm(xy - maze.cur_goal_xy) <= maze._goal_tol:
            maze.set_goal(goal_ij=random_cell())
        subgoal, _ = maze.get_oracle_subgoal(xy, maze.cur_goal_xy)
        direction = subgoal - xy
        action = direction / max(float(np.linalg.norm(direction)), 1e-6)
        action = np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0)
        observations.append(observation)
        actions.append(action)
        observation, *_ = gym_env.step(action)
    return stacked(observations), np.asarray(actions, np.float32)


def play_oracles(gym_env: Any) -> dict[str, Any]:
    """OGBench's Markov oracle of each target kind, bound to ``gym_env``."""
    from ogbench.manipspace.oracles.markov.button_markov import ButtonMarkovOracle
    from ogbench.manipspace.oracles.markov.cube_markov import CubeMarkovOracle
    from ogbench.manipspace.oracles.markov.drawer_markov import DrawerMarkovOracle
    from ogbench.manipspace.oracles.markov.window_markov import WindowMarkovOracle

    env = gym_env.unwrapped
    return {
        "cube": CubeMarkovOracle(env=env, min_norm=0.04),
        "button": ButtonMarkovOracle(env=env, min_norm=0.04),
        "drawer": DrawerMarkovOracle(env=env, min_norm=0.04),
        "window": WindowMarkovOracle(env=env, min_norm=0.04),
    }


def play_episode(
    gym_env: Any, oracles: dict, rng: np.random.Generator, length: int, noise: float
) -> tuple:
    """One play episode: (observations [T, obs], actions [T, act])."""
    observation, info = gym_env.reset(seed=int(rng.integers(2**31)))
    oracle = oracles[info.get("privileged/target_task", "cube")]
    oracle.reset(observation, info)
    observations, actions = [], []
    for _ in range(length):
        action = np.asarray(oracle.select_action(observation, info), np.float64)
        action = np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0)
        observations.append(observation)
        actions.append(action)
        observation, _, _, _, info = gym_env.step(action)
        if oracle.done:
            observation, info = gym_env.unwrapped.set_new_target()
            oracle = oracles[info.get("privileged/target_task", "cube")]
            oracle.reset(observation, info)
    return stacked(observations), np.asarray(actions, np.float32)


def stacked(observations: list[np.ndarray]) -> np.ndarray:
    """One episode's observations [T, obs]: images flattened and kept uint8, states float32."""
    return as_stored_states(np.stack(observations).reshape(len(observations), -1))


def generate(
    env_id: str, episodes: int, episode_length: int, noise: float | None, seed: int
) -> Dataset:
    """``episodes`` episodes of OGBench's recipe for ``env_id`` as one Dataset."""
    env = OgbenchEnv(env_id)
    kind = recipe(env_id)
    noise = DEFAULT_NOISE[kind] if noise is None else noise
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # OGBench's envs and oracles draw from NumPy's global generator
    if kind == "navigate":
        gym_env = env.make(max_episode_steps=episode_length + 1)
        make_episode = lambda: navigate_episode(gym_env, rng, episode_length, noise)
    else:
        gym_env = env.make(mode="data_collection", max_episode_steps=episode_length + 1)
        oracles = play_oracles(gym_env)
        make_episode = lambda: play_episode(gym_env, oracles, rng, episode_length, noise)
    try:
        parts = [make_episode() for _ in range(episodes)]
    finally:
        gym_env.close()
    terminals = np.zeros(episodes * episode_length, np.float32)
    terminals[episode_length - 1 :: episode_length] = 1.0
    return Dataset(
        observations=np.concatenate([observations for observations, _ in parts]),
        actions=np.concatenate([actions for _, actions in parts]),
        terminals=terminals,
    )


def main(argv: list[str] | None = None) -> None:
    """Generate the train and -val files and print what was made."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help=f"one of {', '.join(LOCAL_ENV_IDS)}")
    parser.add_argument(
        "--episodes", type=int, default=1000, help="training-split episodes (OGBench's size)"
    )
    parser.add_argument("--val-episodes", type=int, default=10, help="-val split episodes")
    parser.add_argument("--episode-length", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=None, help="action noise (see above)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="PATH.npz; PATH-val.npz is written too")
    args = parser.parse_args(argv)
    if args.env not in LOCAL_ENV_IDS:
        why = (
            "is not an OGBench env"
            if args.env not in ogbench_env_ids()
            else "has no scripted oracle: OGBench collects its data with trained expert policies, "
            "so download its files with ogbench.download_datasets"
        )
        parser.error(
            f"--env {args.env} {why}; local data can be made for {', '.join(LOCAL_ENV_IDS)}"
        )
    if min(args.episodes, args.val_episodes, args.episode_length) < 1:
        parser.error("--episodes, --val-episodes and --episode-length must be at least 1")
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} exists; choose another --out (datasets are never overwritten)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.env.startswith(VISUAL_PREFIX):
        os.environ.setdefault("MUJOCO_GL", "egl")  # images are rendered off screen
    image_shape = OgbenchEnv(args.env).image_shape  # written as images, as OGBench's files
    start = time.perf_counter()
    for path, episodes, seed in (
        (out, args.episodes, args.seed),
        (validation_path(out), args.val_episodes, args.seed + 1),
    ):
        dataset = generate(args.env, episodes, args.episode_length, args.noise, seed)
        save_dataset(path, dataset, image_shape)
        print(f"wrote {path}: {episodes} episodes, {len(dataset.terminals):,} transitions")
    noise = DEFAULT_NOISE[recipe(args.env)] if args.noise is None else args.noise
    print(
        f"{recipe(args.env)} data of {args.env}, action noise {noise}, "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
