"""OGBench's own environments (CPU MuJoCo through gymnasium) as training targets of offline CRL.

An OGBench env does not run inside the compiled loop: it supplies the sizes that offline training
needs (state = OGBench's observation, goal = the whole observation, as OGBench's goal-conditioned
tasks define it) and is stepped on the host by ``jaxcrl.host_eval`` with OGBench's five
evaluation tasks and its success definition. Needs the optional ``ogbench`` extra.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import jax

from jaxcrl.envs.base import EnvState, GoalEnv, import_starting_renderer, other_renderer_fix
from jaxcrl.extras import install_extra

# OGBench env id -> (observation size, action size, episode length), read from ogbench 1.2.2
# (humanoidmaze-teleport-v0 is left out: its model fails to load in that release).
OGBENCH_SIZES = {
    "pointmaze-medium-v0": (2, 2, 1000),
    "pointmaze-large-v0": (2, 2, 1000),
    "pointmaze-giant-v0": (2, 2, 1000),
    "pointmaze-teleport-v0": (2, 2, 1000),
    "antmaze-medium-v0": (29, 8, 1000),
    "antmaze-large-v0": (29, 8, 1000),
    "antmaze-giant-v0": (29, 8, 1000),
    "antmaze-teleport-v0": (29, 8, 1000),
    "humanoidmaze-medium-v0": (69, 21, 2000),
    "humanoidmaze-large-v0": (69, 21, 2000),
    "humanoidmaze-giant-v0": (69, 21, 4000),
    "antsoccer-arena-v0": (42, 8, 1000),
    "antsoccer-medium-v0": (42, 8, 1000),
    "cube-single-v0": (28, 5, 200),
    "cube-double-v0": (37, 5, 500),
    "cube-triple-v0": (46, 5, 1000),
    "cube-quadruple-v0": (55, 5, 1000),
    "scene-v0": (40, 5, 750),
    "puzzle-3x3-v0": (55, 5, 500),
    "puzzle-4x4-v0": (83, 5, 500),
    "puzzle-4x5-v0": (99, 5, 1000),
    "puzzle-4x6-v0": (115, 5, 1000),
}
# The envs OGBench also offers with image observations, as "visual-" + the id.
OGBENCH_VISUAL = {
    env_id
    for env_id in OGBENCH_SIZES
    if env_id.split("-")[0] in ("antmaze", "humanoidmaze", "cube", "scene", "puzzle")
}


def import_ogbench() -> Any:
    """The ``ogbench`` package, or an error that says how to install it."""
    try:
        return import_starting_renderer("ogbench")
    except ImportError as error:
        raise RuntimeError(
            f"OGBench environments need the ogbench package ({error}); install it with "
            f"{install_extra('ogbench')}"
        ) from None


# OGBench's visual variants ("visual-" + the id) observe 64 x 64 RGB images from a camera.
VISUAL_PREFIX = "visual-"
VISUAL_IMAGE_SHAPE = (64, 64, 3)


def ogbench_env_ids() -> list[str]:
    """Every OGBench env id this project knows: the state-based ones and their visual twins."""
    return sorted(OGBENCH_SIZES) + [VISUAL_PREFIX + env_id for env_id in sorted(OGBENCH_VISUAL)]


class OgbenchEnv(GoalEnv):
    """Sizes of one OGBench env; its episodes run on the host (``host_evaluated``)."""

    host_evaluated = True

    def __init__(self, env_id: str, num_tasks: int = 5):
        known = ogbench_env_ids()
        if env_id not in known:
            raise ValueError(f"unknown OGBench env {env_id!r}; choose from {known}")
        self.env_id = env_id
        self.name = env_id
        state_env_id = env_id.removeprefix(VISUAL_PREFIX)
        self.state_size, self.action_size, self.episode_length = OGBENCH_SIZES[state_env_id]
        if env_id.startswith(VISUAL_PREFIX):
            self.image_shape = VISUAL_IMAGE_SHAPE
            self.state_size = math.prod(VISUAL_IMAGE_SHAPE)
        self.goal_indices = tuple(range(self.state_size))
        self.num_tasks = num_tasks

    def default_params(self) -> tuple:
        """No task constants: OGBench keeps them inside its own env."""
        return ()

    def reset(self, key: jax.Array, params: Any) -> EnvState:
        """Not available on the device: OGBench envs run on the host."""
        raise NotImplementedError(f"{self.name} runs on the host (jaxcrl.host_eval), not in JAX")

    def step(self, state: EnvState, action: jax.Array, params: Any) -> EnvState:
        """Not available on the device: OGBench envs run on the host."""
        raise NotImplementedError(f"{self.name} runs on the host (jaxcrl.host_eval), not in JAX")

    def make(self, **kwargs: Any) -> Any:
        """A fresh gymnasium instance of this OGBench env (``kwargs`` go to gymnasium.make)."""
        import_ogbench()
        import gymnasium

        with scratch_tempdir():
            return gymnasium.make(self.env_id, **kwargs)

    def check_rendering(self) -> None:
        """Make and reset this env once: RuntimeError naming the fix when a visual env cannot
        render (MuJoCo's OpenGL needs MUJOCO_GL=egl without a display), or when the renderer
        MUJOCO_GL names does not start (MuJoCo opens it as OGBench's env is made, state envs
        too), found before training rather than at its first evaluation; first, RuntimeError
        naming the extra to install when the ogbench package is missing."""
        import_ogbench()
        renderer = os.environ.get("MUJOCO_GL")
        if self.image_shape is None and not renderer:
            return
        gym_env = None
        try:
            gym_env = self.make()
            gym_env.reset(seed=0)
        except Exception as error:  # mujoco.FatalError, or the GL library's own errors
            # A renderer named by MUJOCO_GL that is missing fails in PyOpenGL's own words (an
            # AttributeError on 'glGetError' for OSMesa).
            if not renderer and "OpenGL" not in str(error) and "GL" not in type(error).__name__:
                raise
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            fix = (
                f"MUJOCO_GL={renderer} names a renderer that does not start here: install it, "
                f"or {other_renderer_fix(renderer)}"
                if renderer
                else f"{other_renderer_fix(None)}, and run again"
            )
            what = (
                "renders its images with MuJoCo's OpenGL"
                if self.image_shape is not None
                else "is made with MuJoCo's renderer that MUJOCO_GL names"
            )
            raise RuntimeError(
                f"{self.name} {what}, which could not start ({first[:120]}); {fix}"
            ) from None
        finally:
            if gym_env is not None:
                gym_env.close()


@contextlib.contextmanager
def scratch_tempdir() -> Iterator[str]:
    """Send ``tempfile``'s files to a private directory, removed with what is left open in it.

    OGBench's maze and ball envs write their model to ``tempfile.mkstemp`` and keep neither the
    file nor its descriptor, so every env made would leave an XML file in the system's temp
    directory and one open descriptor. MuJoCo has read the model by the time ``make`` returns.
    """
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="jaxcrl-ogbench-") as scratch:
        tempfile.tempdir = scratch
        try:
            yield scratch
        finally:
            tempfile.tempdir = previous
            close_descriptors_under(scratch)


def close_descriptors_under(directory: str) -> None:
    """Close this process's open descriptors of files inside ``directory`` (Linux /proc only)."""
    descriptors = "/proc/self/fd"
    if not os.path.isdir(descriptors):
        return
    prefix = os.path.realpath(directory) + os.sep
    for name in os.listdir(descriptors):
        try:
            target = os.readlink(os.path.join(descriptors, name))
        except OSError:
            continue  # closed meanwhile (for example the descriptor listdir itself used)
        if target.startswith(prefix):
            os.close(int(name))
