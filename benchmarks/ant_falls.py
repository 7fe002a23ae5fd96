"""How long an ant stays up under uniform random actions, by the cause that ends its episode.

Usage: ``python benchmarks/ant_falls.py [--episodes 64] [--base-gear 150] [--gears 75 60]
[--brax-backend spring]``.

Part 1 steps jaxcrl's ant model (``envs/assets/ant.xml``) with MuJoCo's C engine under the same
solver options as MJX uses for it and variants of those options, at motor gear ``--base-gear``
(default 150, the model file's and JaxGCRL's; the ant envs default to 60), then at other gears
(``--gears``), so the physics settings can be told apart from the model; every row names its
gear. Part 2 steps Brax's stock ant (the body JaxGCRL trains) under one of Brax's own pipelines.
An episode ends at the first of: torso above 1.0 m ("high", the healthy range's top), below 0.2 m
("low") or upside down ("flip"), or 1000 steps.
"""

from __future__ import annotations

import argparse

import jax
import mujoco
import numpy as np
from arguments import positive_float, positive_int  # sibling module

from jaxcrl.envs.ant import ANT_XML, with_motor_gear

MAX_STEPS = 1000
CAUSES = ("high", "low", "flip")


def end_cause(qpos: np.ndarray) -> str | None:
    """Which rule ends the episode at torso pose ``qpos`` [..., 7+], or None."""
    height, up_z = qpos[2], 1.0 - 2.0 * (qpos[4] ** 2 + qpos[5] ** 2)
    if height > 1.0:
        return "high"
    if height < 0.2:
        return "low"
    return "flip" if up_z < 0.0 else None


def summary(lengths: list[int], causes: list[str]) -> str:
    """Median episode length and the count of each ending."""
    counts = {cause: causes.count(cause) for cause in (*CAUSES, "none")}
    return f"median {np.median(lengths):5.0f} steps, mean {np.mean(lengths):5.0f}; ends {counts}"


def mujoco_episodes(options: dict, frame_skip: int, episodes: int, seed: int, gear: float) -> str:
    """Random-action episodes of jaxcrl's ant in MuJoCo with ``options`` set on ``model.opt``."""
    model = mujoco.MjModel.from_xml_string(with_motor_gear(ANT_XML.read_text(), gear))
    for name, value in options.items():
        setattr(model.opt, name, value)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(seed)
    lengths, causes = [], []
    for _ in range(episodes):
        mujoco.mj_resetDataKeyframe(model, data, 0)
        data.qpos[:] += rng.uniform(-0.1, 0.1, model.nq)  # the env's reset noise
        data.qpos[3:7] /= np.linalg.norm(data.qpos[3:7])
        data.qvel[:] = 0.1 * rng.normal(size=model.nv)
        cause, steps = "none", 0
        while cause == "none" and steps < MAX_STEPS:
            data.ctrl[:] = rng.uniform(-1.0, 1.0, model.nu)
            for _ in range(frame_skip):
                mujoco.mj_step(model, data)
            cause, steps = end_cause(data.qpos) or "none", steps + 1
        lengths.append(steps)
        causes.append(cause)
    return summary(lengths, causes)


def brax_episodes(backend: str, episodes: int, seed: int, max_steps: int = 400) -> str:
    """Random-action episodes of Brax's stock ant under Brax pipeline ``backend``."""
    from brax import envs

    env = envs.get_environment("ant", backend=backend, terminate_when_unhealthy=False)
    states = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(seed), episodes))
    step = jax.jit(jax.vmap(env.step))
    ended = np.zeros(episodes, bool)
    lengths, causes = np.full(episodes, max_steps), np.array(["none"] * episodes, object)
    for steps, key in enumerate(jax.random.split(jax.random.key(seed + 1), max_steps), start=1):
        actions = jax.random.uniform(key, (episodes, env.action_size), minval=-1.0, maxval=1.0)
        states = step(states, actions)
        qpos = np.asarray(states.pipeline_state.q)
        for index in np.flatnonzero(~ended):
            cause = end_cause(qpos[index])
            if cause:
                ended[index] = True
                lengths[index] = steps
                causes[index] = cause
    return summary(list(lengths), list(causes)) + f" (cut at {max_steps})"


def main() -> None:
    """Print one line per physics setting."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=positive_int, default=64, help="(default 64)")
    parser.add_argument("--seed", type=int, default=0, help="of the episodes (default 0)")
    parser.add_argument(
        "--base-gear", type=positive_float, default=150.0, help="motor gear of the solver rows"
    )
    parser.add_argument(
        "--gears", type=positive_float, nargs="*", default=[], help="motor gears to try"
    )
    parser.add_argument(
        "--brax-backend",
        default="generalized",
        choices=["generalized", "spring", "positional", "mjx", ""],
        help="Brax's pipeline for part 2 (default generalized); '' to skip it",
    )
    args = parser.parse_args()
    variants = {
        "MJX options (Newton, 1 iteration, 4 line search), dt 0.01 x 5": ({}, 5),
        "Newton, 4 iterations, 10 line search": ({"iterations": 4, "ls_iterations": 10}, 5),
        "Newton, 50 iterations, 50 line search": ({"iterations": 50, "ls_iterations": 50}, 5),
        "dt 0.005 x 10": ({"timestep": 0.005}, 10),
    }
    for name, (options, frame_skip) in variants.items():
        result = mujoco_episodes(options, frame_skip, args.episodes, args.seed, args.base_gear)
        print(f"jaxcrl ant, motor gear {args.base_gear:g}, {name}: {result}")
    for gear in args.gears:
        result = mujoco_episodes({}, 5, args.episodes, args.seed, gear)
        print(f"jaxcrl ant, motor gear {gear:g}, MJX options: {result}")
    if args.brax_backend:
        result = brax_episodes(args.brax_backend, args.episodes, args.seed)
        print(f"Brax stock ant, {args.brax_backend} pipeline: {result}")


if __name__ == "__main__":
    main()
