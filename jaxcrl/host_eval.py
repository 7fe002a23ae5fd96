"""Evaluation in OGBench's own environments, stepped on the host with OGBench's five tasks.

Each member's deterministic policy runs ``episodes_per_task`` episodes of every evaluation task
(``env.reset(options={"task_id": k})``, goal = ``info["goal"]``, OGBench's goal observation).
Episodes run to the time limit (``terminate_at_goal=False``) so that time near the goal is
measured too; OGBench's success ("the goal was reached", where its own episodes stop) is then
"``info['success']`` at any step". Reported per member, like the device evaluation:

- ``eval/success``: fraction of all episodes that reached their goal;
- ``eval/success_task_K``: the same for task K (OGBench reports the mean over its tasks);
- ``eval/time_near_goal``: fraction of steps at the goal, mean over episodes;
- ``eval/final_distance``: for the mazes, metres from the agent to the goal at the last step
  (NaN for the manipulation envs, which define success by object poses);
- ``eval/objects_at_goal_initial`` and ``eval/objects_at_goal_final``: for the manipulation
  envs, the fraction of the scene's objects (cubes, buttons, drawer, window) that OGBench's own
  per-object check counts as at their goal, after reset and at the last step (NaN for the mazes).
  Success needs every object at once, so these show partial progress where success stays at 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl.dataset import as_stored_states
from jaxcrl.members import member_slice

HostPolicy = Callable[[np.ndarray], np.ndarray]  # [obs] -> [action], deterministic


def flat_observation(observation: Any) -> np.ndarray:
    """An OGBench observation as a flat state: images stay uint8, vectors become float32."""
    return as_stored_states(observation).reshape(-1)


def objects_at_goal(unwrapped_env: Any) -> float:
    """Fraction of a manipulation scene's objects at their goal by OGBench's check; NaN elsewhere."""
    compute = getattr(unwrapped_env, "_compute_successes", None)
    if compute is None:
        return float("nan")
    matches = np.concatenate([np.ravel(np.asarray(part, dtype=float)) for part in compute()])
    return float(np.mean(matches))


def run_task_episode(gym_env: Any, policy: HostPolicy, task_id: int, seed: int) -> dict[str, float]:
    """One episode of task ``task_id``: success, time at goal, final distance, objects at goal.

    ``seed`` fixes the whole episode: OGBench's maze resets also jitter the start and goal with
    NumPy's global generator and settle the agent with random actions of the action space, so
    both are seeded too (the global generator's state is put back afterwards).
    """
    global_state = np.random.get_state()
    np.random.seed(seed % 2**32)
    gym_env.action_space.seed(seed)
    try:
        observation, info = gym_env.reset(seed=seed, options={"task_id": task_id})
    finally:
        np.random.set_state(global_state)
    goal = flat_observation(info["goal"])
    objects_at_goal_initial = objects_at_goal(gym_env.unwrapped)
    successes = []
    while True:
        action = policy(np.concatenate([flat_observation(observation), goal]))
        observation, _, terminated, truncated, info = gym_env.step(np.asarray(action))
        successes.append(float(info["success"]))
        if terminated or truncated:
            break
    unwrapped = gym_env.unwrapped
    final_distance = float("nan")
    if hasattr(unwrapped, "cur_goal_xy") and hasattr(unwrapped, "get_xy"):
        final_distance = float(np.linalg.norm(unwrapped.get_xy() - unwrapped.cur_goal_xy))
    return {
        "success": max(successes),
        "time_near_goal": float(np.mean(successes)),
        "final_distance": final_distance,
        "episode_length": float(len(successes)),
        "objects_at_goal_initial": objects_at_goal_initial,
        "objects_at_goal_final": objects_at_goal(unwrapped),
    }


def episode_seed(seed: int, task_id: int, episode: int) -> int:
    """The reset seed of one evaluation episode: distinct for every (seed, task, episode)."""
    # SeedSequence hashes the three numbers together, so no two triples share a seed the way a
    # packed integer (seed * 1000 + 10 * task + episode) does once there are 10+ episodes a task.
    return int(np.random.SeedSequence([seed, task_id, episode]).generate_state(1)[0])


def evaluate_policy_on_host(
    env: Any, policy: HostPolicy, episodes_per_task: int, seed: int
) -> dict[str, float]:
    """Every evaluation task of an ``OgbenchEnv`` with ``policy``; metrics as named above."""
    gym_env = env.make(terminate_at_goal=False)
    per_task = {}
    try:
        for task_id in range(1, env.num_tasks + 1):
            per_task[task_id] = [
                run_task_episode(gym_env, policy, task_id, episode_seed(seed, task_id, episode))
                for episode in range(episodes_per_task)
            ]
    finally:
        gym_env.close()
    episodes = [result for results in per_task.values() for result in results]
    metrics = {
        f"eval/{name}": float(np.mean([result[name] for result in episodes]))
        for name in episodes[0]
    }
    for task_id, results in per_task.items():
        metrics[f"eval/success_task_{task_id}"] = float(np.mean([r["success"] for r in results]))
    return metrics


def episodes_per_task(eval_episodes: int, num_tasks: int) -> int:
    """Episodes of each task for a budget of ``eval_episodes`` (at least one each)."""
    return max(1, eval_episodes // num_tasks)


def episodes_run(eval_episodes: int, num_tasks: int) -> int:
    """Episodes the host evaluation runs for a budget of ``eval_episodes``: as many of each task."""
    return episodes_per_task(eval_episodes, num_tasks) * num_tasks


def make_host_evaluator(env: Any, policy_action: Callable, eval_episodes: int):
    """(policy_params [M], keys [M]) -> metrics {name: [M]}, the members evaluated in turn.

    ``policy_action(params, obs)`` is the deterministic policy; the seed of each member's
    episodes comes from its key, so the same key gives the same episodes.
    """
    act = jax.jit(policy_action)
    per_task = episodes_per_task(eval_episodes, env.num_tasks)

    def evaluate(policy_params: Any, keys: jax.Array) -> dict[str, np.ndarray]:
        seeds = np.asarray(jax.vmap(lambda key: jax.random.randint(key, (), 0, 2**20))(keys))
        rows = []
        for member, seed in enumerate(seeds):
            params = member_slice(policy_params, member)

            def policy(observation: np.ndarray, params=params) -> np.ndarray:
                return np.asarray(act(params, jnp.asarray(observation)))

            rows.append(evaluate_policy_on_host(env, policy, per_task, int(seed)))
        return {name: np.asarray([row[name] for row in rows]) for name in rows[0]}

    return evaluate
