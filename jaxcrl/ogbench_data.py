"""Make OGBench-layout datasets locally with OGBench's own environments and scripted oracles.

    python -m jaxcrl.ogbench_data --env pointmaze-medium-v0 --out data/pointmaze-medium-navigate.npz
    python -m jaxcrl.ogbench_data --env cube-single-v0 --out data/cube-single-play.npz
    python -m jaxcrl.ogbench_data --env scene-v0 --recipe noisy --out data/scene-noisy.npz

For when OGBench's files cannot be downloaded. Writes ``OUT`` and ``OUT``'s ``-val`` split with
``observations`` [N, obs], ``actions`` [N, act] and ``terminals`` [N] (1 at each episode's last
step, as in OGBench's files), which ``train.py --dataset`` reads as it reads OGBench's own files.

What follows OGBench's data-generation commands (``data_gen_scripts/commands.sh`` with its
``generate_locomaze.py`` and ``generate_manipspace.py``):

- **navigate** (``pointmaze-*``): each episode starts in a uniformly drawn free cell with a goal
  drawn from the maze's junction cells (free cells that are not the middle of a straight
  corridor); the point heads for the next breadth-first-search subgoal (OGBench's
  ``get_oracle_subgoal``) with a unit-length action plus Gaussian noise of std 0.5, clipped to
  [-1, 1], and gets a new junction goal whenever the env reports success. The env is made with
  ``terminate_at_goal=False``.
- **play** (``cube-*``, ``scene-v0``, ``puzzle-*``, the default there): the env in its
  ``data_collection`` mode draws a target and OGBench's non-Markovian plan oracle of the target's
  kind (``CubePlanOracle``, ``ButtonPlanOracle``, ``DrawerPlanOracle``, ``WindowPlanOracle``, with
  ``noise=0.1, noise_smoothing=0.5``; puzzle's buttons pressed with the gripper always closed)
  drives the arm there, with no further action noise; when the oracle is done the env draws a new
  target with ``set_new_target(p_stack=...)``, p_stack drawn per episode (0 for cube-single,
  U(0, 0.25) double, U(0.05, 0.35) triple, U(0.1, 0.5) quadruple, 0.5 otherwise).
- **noisy** (``--recipe noisy``, manipulation only): OGBench's Markov oracles (``min_norm=0.4``;
  scene's cube oracle with ``max_step=100``), whose actions get Gaussian noise of std
  xi * [1, 1, 1, 3, 10] with xi ~ U(0, 0.1) drawn per episode, and a uniform random action
  instead with probability 0.1 (0.2 for puzzles).
- Scene episodes in which the cube leaves the camera's view (its y reaches 0.29, or goes to -0.3
  or below with z outside the drawer's band, 0.06 to 0.08) are drawn again, as OGBench does.
- Sizes: 1000 episodes of 1001 steps (pointmaze-giant: 500 of 2001; cube-triple and puzzle-4x5:
  3000; cube-quadruple and puzzle-4x6: 5000), and a ``-val`` split of a tenth as many episodes.
  ``--episodes``, ``--episode-length``, ``--val-episodes`` and ``--noise`` override these.

What differs: OGBench's scripts draw from unseeded generators, so its exact episodes cannot be
reproduced; here every draw comes from ``--seed`` (the ``-val`` split from a second seed drawn
from it, where OGBench continues one stream into it), so the data have OGBench's distribution,
not its values.
The files hold only the three arrays above, not OGBench's ``qpos``/``qvel``/``button_states``.
The oracles read the env's state, not its observation, so the ``visual-`` twins get the same data
seen as 64x64 images (uint8 [N, 64, 64, 3], as OGBench's visual datasets hold them; rendering
needs ``MUJOCO_GL=egl``).

Size matters: the same small CRL run reached 0.09 success on cube-single after 50k gradient steps
with 100 episodes of this script's earlier Markov-oracle data, and 0.22 with 1000 (BENCHMARKS.md).
Generation runs on one CPU core at about 0.2 s per 1000 steps for pointmaze (3 minutes for 1000
episodes of 1001 steps) and 1.9 (cube-single) to 2.4 (cube-double) s for manipulation (scene 2.3,
puzzle-3x3 2.1: 30 to 40 minutes), measured on short runs; twice that on a busy 2-core machine.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from jaxcrl.arguments import OneLineParser
from jaxcrl.dataset import Dataset, as_stored_states, new_dataset_paths, save_splits
from jaxcrl.envs.ogbench_envs import (
    OGBENCH_SIZES,
    OGBENCH_VISUAL,
    VISUAL_PREFIX,
    OgbenchEnv,
    ogbench_env_ids,
)
from jaxcrl.validation import check_episode_length

RECIPES = ("navigate", "play", "noisy")
# --noise's default per recipe: navigate's Gaussian action std, the play oracles' plan noise, and
# the upper end of the noisy recipe's per-episode noise level (OGBench's values).
DEFAULT_NOISE = {"navigate": 0.5, "play": 0.1, "noisy": 0.1}
PLAN_NOISE_SMOOTHING = 0.5  # std, in steps, of the Gaussian filter on the plan oracles' noise
MARKOV_MIN_NORM = 0.4
# The noisy recipe's noise std per action dimension (x, y, z, yaw, gripper), in units of xi.
NOISY_ACTION_SCALE = np.array([1.0, 1.0, 1.0, 3.0, 10.0])
MAX_SCENE_REDRAWS = 100  # a guard only: unhealthy scene episodes are rare

# OGBench's published sizes (episodes, steps per episode) where they are not (1000, 1001).
OGBENCH_DATA_SIZES = {
    "pointmaze-giant-v0": (500, 2001),
    "cube-triple-v0": (3000, 1001),
    "puzzle-4x5-v0": (3000, 1001),
    "cube-quadruple-v0": (5000, 1001),
    "puzzle-4x6-v0": (5000, 1001),
}

# Envs whose data a scripted oracle can make; the others' datasets need OGBench's trained experts.
ORACLE_ENV_IDS = [
    env_id
    for env_id in OGBENCH_SIZES
    if env_id.split("-")[0] in ("pointmaze", "cube", "scene", "puzzle") and "teleport" not in env_id
]
LOCAL_ENV_IDS = ORACLE_ENV_IDS + [
    VISUAL_PREFIX + env_id for env_id in ORACLE_ENV_IDS if env_id in OGBENCH_VISUAL
]


def how_to_get_data(env_id: str, out: str) -> str:
    """How a user gets offline data for OGBench env ``env_id``: made here, or OGBench's files."""
    if env_id in LOCAL_ENV_IDS:
        return f"make its data with python -m jaxcrl.ogbench_data --env {env_id} --out {out}"
    return (
        "download OGBench's files with ogbench.download_datasets (OGBench collects its data with "
        "trained expert policies; no scripted oracle here makes it)"
    )


def default_recipe(env_id: str) -> str:
    """OGBench's default dataset kind for ``env_id``: navigate (mazes) or play (manipulation)."""
    return "navigate" if env_id.startswith("pointmaze") else "play"


def recipe_fits(env_id: str, recipe: str) -> bool:
    """Whether ``recipe`` applies to ``env_id``: navigate to mazes, play and noisy to the rest."""
    return (recipe == "navigate") == (default_recipe(env_id) == "navigate")


def ogbench_data_size(env_id: str) -> tuple[int, int]:
    """OGBench's (episodes, steps per episode) of ``env_id``'s published dataset."""
    return OGBENCH_DATA_SIZES.get(env_id.removeprefix(VISUAL_PREFIX), (1000, 1001))


def stack_probability(env_id: str, rng: np.random.Generator) -> float:
    """One episode's chance that a new cube target sits on another cube (OGBench's per-size law)."""
    ranges = {
        "single": (0.0, 0.0),
        "double": (0.0, 0.25),
        "triple": (0.05, 0.35),
        "quadruple": (0.1, 0.5),
    }
    for size, (low, high) in ranges.items():
        if f"cube-{size}" in env_id:
            return float(rng.uniform(low, high))
    return 0.5


def junction_cells(maze_map: np.ndarray) -> np.ndarray:
    """Free cells [K, 2] that are not the middle of a straight corridor: navigate's goal cells."""
    free = maze_map == 0  # the maze's border is wall, so every free cell has four neighbours
    cells = []
    for i, j in np.argwhere(free):
        up_down, left_right = free[i - 1, j] and free[i + 1, j], free[i, j - 1] and free[i, j + 1]
        walled_sides = not (free[i, j - 1] or free[i, j + 1])
        walled_ends = not (free[i - 1, j] or free[i + 1, j])
        if not ((up_down and walled_sides) or (left_right and walled_ends)):
            cells.append((i, j))
    return np.asarray(cells)


def navigate_episode(gym_env: Any, rng: np.random.Generator, length: int, noise: float) -> tuple:
    """One navigate episode: (observations [T, obs], actions [T, act])."""
    maze = gym_env.unwrapped
    goal_cells = junction_cells(maze.maze_map)
    free_cells = np.argwhere(maze.maze_map == 0)

    def draw(cells: np.ndarray) -> tuple[int, int]:
        return tuple(int(v) for v in cells[rng.integers(len(cells))])

    task = {"init_ij": draw(free_cells), "goal_ij": draw(goal_cells)}
    observation, _ = gym_env.reset(seed=int(rng.integers(2**31)), options={"task_info": task})
    observations, actions = [], []
    for _ in range(length):
        xy = maze.get_xy()
        subgoal, _ = maze.get_oracle_subgoal(xy, maze.cur_goal_xy)
        direction = subgoal - xy
        action = direction / (np.linalg.norm(direction) + 1e-6)
        action = np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0)
        observations.append(observation)
        actions.append(action)
        observation, _, _, _, info = gym_env.step(action)
        if info["success"]:
            maze.set_goal(goal_ij=draw(goal_cells))
    return stacked(observations), np.asarray(actions, np.float32)


def manipulation_oracles(gym_env: Any, env_id: str, recipe: str, noise: float) -> dict[str, Any]:
    """OGBench's oracle of each target kind: plan oracles (play, with ``noise``) or Markov (noisy)."""
    from ogbench.manipspace.oracles.markov import (
        button_markov,
        cube_markov,
        drawer_markov,
        window_markov,
    )
    from ogbench.manipspace.oracles.plan import button_plan, cube_plan, drawer_plan, window_plan

    puzzle = "puzzle" in env_id  # its buttons are pressed with a closed gripper
    if recipe == "play":
        plan = dict(env=gym_env, noise=noise, noise_smoothing=PLAN_NOISE_SMOOTHING)
        return {
            "cube": cube_plan.CubePlanOracle(**plan),
            "button": button_plan.ButtonPlanOracle(gripper_always_closed=puzzle, **plan),
            "drawer": drawer_plan.DrawerPlanOracle(**plan),
            "window": window_plan.WindowPlanOracle(**plan),
        }
    markov = dict(env=gym_env, min_norm=MARKOV_MIN_NORM)
    cube_steps = {"max_step": 100} if "scene" in env_id else {}
    return {
        "cube": cube_markov.CubeMarkovOracle(**cube_steps, **markov),
        "button": button_markov.ButtonMarkovOracle(gripper_always_closed=puzzle, **markov),
        "drawer": drawer_markov.DrawerMarkovOracle(**markov),
        "window": window_markov.WindowMarkovOracle(**markov),
    }


def manipulation_episode(
    gym_env: Any,
    oracles: dict,
    rng: np.random.Generator,
    length: int,
    p_stack: float,
    action_noise: np.ndarray,
    p_random_action: float,
) -> tuple:
    """One play or noisy episode: (observations [T, obs], actions [T, act], qpos [T, nq]).

    ``action_noise`` [act] is the std of the Gaussian noise on the oracle's actions (zero for
    play, whose plan oracles add their own), ``p_random_action`` the chance of a uniform action.
    ``qpos`` is the simulator state each observation was taken in.
    """
    observation, info = gym_env.reset(seed=int(rng.integers(2**31)))
    oracle = oracles[info["privileged/target_task"]]
    oracle.reset(observation, info)
    observations, actions, qpos = [], [], []
    for _ in range(length):
        if p_random_action > 0 and rng.uniform() < p_random_action:
            action = rng.uniform(-1.0, 1.0, action_noise.shape)
        else:
            action = np.asarray(oracle.select_action(observation, info), np.float64)
            if action_noise.any():
                action = action + action_noise * rng.standard_normal(action.shape)
        action = np.clip(action, -1.0, 1.0)
        observations.append(observation)
        actions.append(action)
        observation, _, _, _, info = gym_env.step(action)
        qpos.append(info["prev_qpos"])
        if oracle.done:
            # The new target goes to the oracle only: the data and the next action keep the step's
            # own observation and info, as OGBench's script does (no observation shows targets).
            target_observation, target_info = gym_env.unwrapped.set_new_target(p_stack=p_stack)
            oracle = oracles[target_info["privileged/target_task"]]
            oracle.reset(target_observation, target_info)
    return stacked(observations), np.asarray(actions, np.float32), np.asarray(qpos)


def scene_is_healthy(qpos: np.ndarray) -> bool:
    """Whether scene's cube (qpos [T, nq], its xyz at 14:17) stayed in the camera's view.

    OGBench redraws episodes in which the cube goes too far right, or too far left without being
    in the drawer, so that image goals stay unambiguous.
    """
    _, y, z = qpos[:, 14:17].T
    too_far_right = y >= 0.29
    too_far_left_outside_drawer = (y <= -0.3) & ((z < 0.06) | (z > 0.08))
    return not (too_far_right.any() or too_far_left_outside_drawer.any())


def stacked(observations: list[np.ndarray]) -> np.ndarray:
    """One episode's observations [T, obs]: images flattened and kept uint8, states float32."""
    return as_stored_states(np.stack(observations).reshape(len(observations), -1))


def val_seed(seed: int) -> int:
    """The seed of the ``-val`` split of a dataset made with ``seed``: drawn from it, so that it
    is not another dataset's train seed (``seed + 1`` was the next seed a user would pick)."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


def generate(
    env_id: str,
    episodes: int,
    episode_length: int,
    noise: float | None,
    seed: int,
    recipe: str | None = None,
) -> Dataset:
    """``episodes`` episodes of OGBench's ``recipe`` (default: its own) for ``env_id``."""
    env = OgbenchEnv(env_id)
    recipe = default_recipe(env_id) if recipe is None else recipe
    if recipe not in RECIPES or not recipe_fits(env_id, recipe):
        raise ValueError(f"recipe {recipe!r} does not apply to {env_id}")
    noise = DEFAULT_NOISE[recipe] if noise is None else noise
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # OGBench's envs and oracles draw from NumPy's global generator
    # Episodes run to their own length here, so the env's time limit is never reached.
    gym_env = env.make(
        terminate_at_goal=False,
        max_episode_steps=episode_length + 1,
        **({} if recipe == "navigate" else {"mode": "data_collection"}),
    )
    try:
        if recipe == "navigate":
            parts = [navigate_episode(gym_env, rng, episode_length, noise) for _ in range(episodes)]
        else:
            oracles = manipulation_oracles(gym_env, env_id, recipe, noise)
            parts = [
                manipulation_part(gym_env, oracles, env_id, recipe, rng, episode_length, noise)
                for _ in range(episodes)
            ]
    finally:
        gym_env.close()
    terminals = np.zeros(episodes * episode_length, np.float32)
    terminals[episode_length - 1 :: episode_length] = 1.0
    return Dataset(
        observations=np.concatenate([observations for observations, _ in parts]),
        actions=np.concatenate([actions for _, actions in parts]),
        terminals=terminals,
    )


def manipulation_part(
    gym_env: Any,
    oracles: dict,
    env_id: str,
    recipe: str,
    rng: np.random.Generator,
    length: int,
    noise: float,
) -> tuple:
    """One kept play or noisy episode, its per-episode draws made (scene's redrawn until healthy)."""
    for _ in range(MAX_SCENE_REDRAWS):
        p_stack = stack_probability(env_id, rng)
        if recipe == "noisy":
            action_noise = rng.uniform(0.0, noise) * NOISY_ACTION_SCALE
            p_random_action = 0.2 if "puzzle" in env_id else 0.1
        else:
            action_noise, p_random_action = np.zeros_like(NOISY_ACTION_SCALE), 0.0
        observations, actions, qpos = manipulation_episode(
            gym_env, oracles, rng, length, p_stack, action_noise, p_random_action
        )
        if "scene" not in env_id or scene_is_healthy(qpos):
            return observations, actions
    raise RuntimeError(f"{MAX_SCENE_REDRAWS} scene episodes in a row left the camera's view")


def main(argv: list[str] | None = None) -> None:
    """Generate the train and -val files and print what was made."""
    parser = OneLineParser(
        prog="python -m jaxcrl.ogbench_data", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--env", required=True, help=f"one of {', '.join(LOCAL_ENV_IDS)}")
    parser.add_argument(
        "--recipe",
        choices=RECIPES,
        default=None,
        help="OGBench's dataset kind (default: navigate for mazes, play for manipulation)",
    )
    parser.add_argument(
        "--episodes", type=int, default=None, help="training-split episodes (default: OGBench's)"
    )
    parser.add_argument(
        "--val-episodes", type=int, default=None, help="-val split episodes (default: a tenth)"
    )
    parser.add_argument(
        "--episode-length", type=int, default=None, help="steps per episode (default: OGBench's)"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=None,
        help="navigate: action noise std (0.5); play: plan oracles' noise (0.1); "
        "noisy: largest per-episode noise level (0.1)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every draw, from 0 to 2**32 - 1 (default 0)"
    )
    parser.add_argument("--out", required=True, help="PATH.npz; PATH-val.npz is written too")
    args = parser.parse_args(argv)
    if args.env not in LOCAL_ENV_IDS:
        why = (
            "is not an OGBench env"
            if args.env not in ogbench_env_ids()
            else f"cannot be made locally: {how_to_get_data(args.env, args.out)}"
        )
        parser.error(
            f"--env {args.env} {why}; local data can be made for {', '.join(LOCAL_ENV_IDS)}"
        )
    recipe = default_recipe(args.env) if args.recipe is None else args.recipe
    if not recipe_fits(args.env, recipe):
        fits = [name for name in RECIPES if recipe_fits(args.env, name)]
        parser.error(f"--recipe {recipe} does not apply to {args.env}; choose {' or '.join(fits)}")
    episodes, episode_length = ogbench_data_size(args.env)
    episodes = episodes if args.episodes is None else args.episodes
    episode_length = episode_length if args.episode_length is None else args.episode_length
    val_episodes = max(1, episodes // 10) if args.val_episodes is None else args.val_episodes
    if min(episodes, val_episodes) < 1:
        parser.error("--episodes and --val-episodes must be at least 1")
    if not 0 <= args.seed < 2**32:
        parser.error(f"--seed must be from 0 to 2**32 - 1 (NumPy's seeds), got {args.seed}")
    if args.noise is not None and not (math.isfinite(args.noise) and args.noise >= 0):
        parser.error(f"--noise must be a finite number >= 0, got {args.noise}")
    try:
        check_episode_length(episode_length, "--episode-length")
        out, val_out = new_dataset_paths(args.out)
    except ValueError as error:
        parser.error(str(error))
    if args.env.startswith(VISUAL_PREFIX):
        os.environ.setdefault("MUJOCO_GL", "egl")  # images are rendered off screen
    env = OgbenchEnv(args.env)
    try:  # a renderer MUJOCO_GL names that does not start: one line, before any episode
        env.check_rendering()
    except RuntimeError as error:
        parser.error(str(error))
    image_shape = env.image_shape  # written as images, as OGBench's files
    start = time.perf_counter()
    train, val = (
        generate(args.env, count, episode_length, args.noise, seed, recipe)
        for count, seed in ((episodes, args.seed), (val_episodes, val_seed(args.seed)))
    )
    try:
        save_splits(out, train, val, image_shape, {"env": args.env, "env_options": []})
    except OSError as error:  # a full disk: neither split is left behind
        parser.error(f"--out {args.out}: cannot write it ({error.strerror or error})")
    for path, count, dataset in ((out, episodes, train), (val_out, val_episodes, val)):
        print(f"wrote {path}: {count} episodes, {len(dataset.terminals):,} steps")
    noise = DEFAULT_NOISE[recipe] if args.noise is None else args.noise
    noise_words = {
        "navigate": f"action noise {noise}",
        "play": f"plan oracles with noise {noise}",
        "noisy": f"Markov oracles with action noise up to {noise}",
    }[recipe]
    print(
        f"{recipe} data of {args.env}, {noise_words}, {episode_length}-step episodes, "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
