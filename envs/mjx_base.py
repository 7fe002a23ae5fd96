"""Shared plumbing of the MuJoCo MJX tasks: load a model, step it with a frame skip, render it.

An ``MjxGoalEnv`` holds the MuJoCo model twice: ``mj_model`` on the host (for rendering) and
``model`` as an MJX pytree. It also keeps one ``mjx.Data`` built in ``__init__`` as a template, so
a reset only writes ``qpos``/``qvel`` into it instead of allocating a new Data every episode.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import warnings
import weakref
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from jaxcrl.envs.base import (
    EnvState,
    GoalEnv,
    other_renderer_fix,
    thousandths_above,
    thousandths_below,
)
from jaxcrl.extras import install_extra

ASSETS = Path(__file__).parent / "assets"

# Physics back ends that run inside jit: MJX's own JAX code, or MuJoCo Warp on NVIDIA GPUs.
PHYSICS_IMPLS = ("jax", "warp")

# Constraint rows per copy that MuJoCo Warp gets at least (its own default).
WARP_MIN_CONSTRAINT_ROWS = 64

# What MJX prints to stdout when it is imported where Warp is not installed: the usual case for
# impl="jax". The lines would break programs that read stdout (eval.py prints JSON there).
WARP_MISSING_PREFIXES = ("Failed to import warp:", "Failed to import mujoco_warp:")


@contextlib.contextmanager
def quiet_warp_import():
    """Drop MJX's "Failed to import warp" lines from stdout; pass everything else through."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            yield
    finally:
        kept = [
            line
            for line in captured.getvalue().splitlines(keepends=True)
            if not line.startswith(WARP_MISSING_PREFIXES)
        ]
        sys.stdout.write("".join(kept))


with quiet_warp_import():
    from mujoco import mjx


def warp_sizes(mj_model: mujoco.MjModel) -> tuple[int, int]:
    """(contacts, constraint rows) that one copy of ``mj_model`` can have at most: the fixed sizes
    MJX's JAX back end allocates for it."""
    data = mjx.make_data(mj_model, impl="jax")
    return int(data._impl.contact.dist.shape[0]), int(data._impl.efc_J.shape[0])


def warp_data(mj_model: mujoco.MjModel, copies: int) -> mjx.Data:
    """A MuJoCo Warp Data whose contact buffer, shared by every copy stepped together, holds
    ``copies`` times one copy's most contacts (MuJoCo Warp drops contacts past it)."""
    contacts, rows = warp_sizes(mj_model)
    return mjx.make_data(
        mj_model,
        impl="warp",
        naconmax=max(1, copies * contacts),
        njmax=max(WARP_MIN_CONSTRAINT_ROWS, rows),
    )


def quiet_warp() -> None:
    """Keep MuJoCo Warp's informational lines (kernel builds) out of stdout; warnings stay."""
    import warp

    warp.config.quiet = True
    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)


def quiet_solver_limits(model: mjx.Model) -> mjx.Model:
    """``model`` with MuJoCo Warp's per-step warnings about solver iteration limits turned off.

    The tasks here run one Newton iteration on purpose (JaxGCRL's setting), so the limit is
    reached every step; warnings about full contact or constraint buffers stay on.
    """
    from mujoco.mjx.third_party.mujoco_warp import OverflowType

    warnings = int(model.opt._impl.warn_overflow)
    warnings &= ~int(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)
    return model.replace(
        opt=model.opt.replace(_impl=model.opt._impl.replace(warn_overflow=warnings))
    )


def load_physics(xml: str, impl: str = "jax") -> tuple[mujoco.MjModel, mjx.Model, mjx.Data]:
    """Compile MJCF text and move it to the accelerator: (host model, MJX model, Data template).

    A MuJoCo Warp template holds contacts for one copy; ``MjxGoalEnv.reserve_copies`` grows it.
    """
    if impl not in PHYSICS_IMPLS:
        raise ValueError(f"impl={impl!r} is not a physics option; choose one of {PHYSICS_IMPLS}")
    mj_model = mujoco.MjModel.from_xml_string(xml)
    try:
        if impl == "warp":
            quiet_warp()
            model = quiet_solver_limits(mjx.put_model(mj_model, impl=impl))
            data = warp_data(mj_model, copies=1)
        else:
            model = mjx.put_model(mj_model, impl=impl)
            data = mjx.make_data(model)
    except (ImportError, RuntimeError, ValueError) as error:
        raise ValueError(
            f"--physics {impl} (impl={impl!r}) is not available on this machine ({error}); use "
            f"--physics jax, or install MuJoCo Warp: {install_extra('warp')}"
        ) from error
    return mj_model, model, data


# Physics steps per env step: beyond this an env step runs for minutes (and 1e12 overflows).
MAX_FRAME_SKIP = 1000


# float32 carries 24 significant bits, so coordinates near x lie up to x * 2**-23 = x / 8.4e6
# apart: a goal 1e6 success thresholds from the origin sits on a grid 0.12 thresholds wide, one
# 1e7 thresholds out on a grid wider than the threshold, which success then cannot resolve.
MAX_THRESHOLDS_OUT = 1e6
# The farthest from the origin, in metres, that goals (and so the robot that reaches them) may
# lie. Float32 positions there are 6e-5 m apart, and already 0.2% of an ant's steps in a maze
# 1e3 m out moved less than that and so not at all (8.6% at 1e4 m, 88% at 1.4e5 m), with no NaN
# to show it. (A robot walks a few metres a second: 1e3 m leaves room for any episode length.)
MAX_WORLD_METRES = 1000.0


def check_start_apart(
    option: str, value: float, limit: float, bound: str, why: str, fix: str, above: bool = False
) -> None:
    """ValueError naming ``option`` unless its ``value`` keeps every episode's start farther than
    the success threshold from its goal: below ``limit`` metres (above it with ``above``), in
    whole millimetres, so that the value the message names is accepted. ``bound`` says how
    ``limit`` is worked out, ``why`` why it keeps starts apart, ``fix`` what to change."""
    accepted = thousandths_above(limit) if above else thousandths_below(limit)
    if not above and accepted <= 0:  # no distance lies below it: another option must change
        raise ValueError(
            f"{bound} is {max(limit, 0.0):.6g} m ({why}), so some episodes would start at their "
            f"goal whatever {option}: {fix}"
        )
    if not (value >= accepted if above else value <= accepted):
        rule = f"at least {accepted:g} m, above" if above else f"at most {accepted:g} m, below"
        raise ValueError(
            f"{option} must be {rule} {bound} = {limit:.6g} m ({why}), or an episode may start "
            f"at its goal; got {value:g}: {fix}"
        )


def check_goal_range(
    option: str, value: float, farthest: float, success_threshold: float, what: str = "goals"
) -> None:
    """ValueError naming ``option`` when its ``value`` puts ``what`` up to ``farthest`` metres
    from the origin, more than MAX_WORLD_METRES (float32 rounds the robot's small moves away) or
    MAX_THRESHOLDS_OUT success thresholds (it cannot resolve the threshold)."""
    # farthest grows about in proportion to value (plus a jitter or noise that does not): 1% less
    # than in proportion, so that the value suggested is accepted.
    about = lambda limit: f"to {float(f'{0.99 * value * limit / farthest:.3g}'):g} or less"
    if not farthest <= MAX_WORLD_METRES:
        raise ValueError(
            f"{option}={value:g} puts {what} up to {farthest:.6g} m from the origin, beyond "
            f"{MAX_WORLD_METRES:g} m, where float32 positions lie so far apart that a robot's "
            f"small moves round to none; lower {option} ({about(MAX_WORLD_METRES)})"
        )
    limit = MAX_THRESHOLDS_OUT * success_threshold
    if not farthest <= limit:
        raise ValueError(
            f"{option}={value:g} puts {what} up to {farthest:.6g} m from the origin, beyond "
            f"1e6 x success_threshold = {limit:.6g} m, where float32 positions lie too far apart "
            f"to tell the threshold; lower {option} ({about(limit)}), or raise success_threshold"
        )


def check_goal_ring(
    names: tuple[str, str],
    least: float,
    most: float,
    success_threshold: float,
    reset_noise: float,
) -> None:
    """ValueError naming the option when goals drawn ``least`` to ``most`` metres from the
    origin (options ``names``) may lie within the success threshold of a torso that the reset
    noise moves up to sqrt(2) * ``reset_noise`` from it, or farther out than
    ``check_goal_range`` allows: the walkers on open ground (ant, humanoid)."""
    least_name, most_name = names
    threshold_room = thousandths_below(least - math.sqrt(2) * reset_noise)
    fix = f"raise {least_name} (and {most_name} with it, if needed)"
    if threshold_room > 0:  # a smaller threshold would do; none does when the noise alone reaches
        fix += f", or lower success_threshold (at most {threshold_room:g} m with these goals) or"
    else:
        fix += ", or lower"
    check_start_apart(
        least_name,
        least,
        success_threshold + math.sqrt(2) * reset_noise,
        "success_threshold + sqrt(2) * reset_noise",
        f"goals lie {least_name} or more from the origin, and the torso starts up to "
        "sqrt(2) * reset_noise from it",
        f"{fix} reset_noise",
        above=True,
    )
    check_goal_range(most_name, most, most, success_threshold)


def unhealthy_setting(terminate_when_unhealthy: bool) -> str:
    """How a walker's measured caps name the option they were measured under."""
    if terminate_when_unhealthy:
        return "with terminate_when_unhealthy on"
    return "with terminate_when_unhealthy off (on, a fall ends such episodes first)"


def check_reset_noise(reset_noise: float, largest: float, measured: str = "") -> None:
    """ValueError unless 0 <= ``reset_noise`` <= ``largest``, the noise past which starts gave
    NaN physics (``measured``: under which setting that was measured)."""
    if reset_noise < 0:
        raise ValueError(f"reset_noise must be >= 0, got {reset_noise}")
    check_at_most(
        "reset_noise",
        reset_noise,
        largest,
        f"start poses and speeds that noisy gave NaN physics within 50 random steps{measured}",
    )


def check_at_most(option: str, value: float, largest: float, why: str) -> None:
    """ValueError naming ``option`` unless ``value`` <= ``largest``; ``why`` says what goes wrong
    past it."""
    if not value <= largest:
        raise ValueError(
            f"{option} must be at most {largest:g}, got {value:g}: {why}; lower it to "
            f"{largest:g} or less"
        )


def healthy_range(healthy_z_range: Any) -> tuple[float, float]:
    """``healthy_z_range`` as (low, high) torso heights; ValueError naming the fix unless it is
    two numbers with low < high."""
    numbers = isinstance(healthy_z_range, (list, tuple)) and all(
        isinstance(z, (int, float)) and not isinstance(z, bool) for z in healthy_z_range
    )
    if not numbers or len(healthy_z_range) != 2 or not healthy_z_range[0] < healthy_z_range[1]:
        raise ValueError(
            "healthy_z_range must be two torso heights [low, high] with low < high, written "
            f"in brackets (e.g. healthy_z_range=[0.2, 1.0]), got {healthy_z_range!r}"
        )
    return float(healthy_z_range[0]), float(healthy_z_range[1])


def _plane_point(coordinates: jax.Array) -> np.ndarray:
    """(x, y) of a goal-space point [goal_size]: its first two entries, y = 0 for 1-D goals."""
    point = np.zeros(2)
    values = np.asarray(coordinates)[:2]
    point[: len(values)] = values
    return point


class MjxGoalEnv(GoalEnv):
    """A GoalEnv whose physics is an MJX model advanced ``frame_skip`` steps per action."""

    # Camera name or id in the MJCF, or None for a free camera that frames the agent and its goal
    # together (a goal 10 m away falls outside a camera that follows the agent).
    render_camera: str | int | None = None
    render_min_distance: float = 3.0  # the framing camera stays at least this far (metres)
    render_lookat_height: float = 0.0  # the height it aims at, above the ground (metres)
    goal_marker_radius: float = 0.05
    goal_marker_height: float = 0.0

    def __init__(self, xml: str, frame_skip: int, impl: str = "jax"):
        if not 1 <= frame_skip <= MAX_FRAME_SKIP:
            raise ValueError(
                f"frame_skip must lie in [1, {MAX_FRAME_SKIP}] physics steps per env step, got "
                f"{frame_skip}"
            )
        self.mj_model, self.model, self.data_template = load_physics(xml, impl)
        self.frame_skip = int(frame_skip)
        self.impl = impl
        self.action_size = int(self.mj_model.nu)
        self.reserved_copies = 1

    def reserve_copies(self, count: int) -> None:
        """Make room for ``count`` copies stepped together: MuJoCo Warp keeps one contact buffer
        for all of them, sized when the states are reset (the JAX back end needs nothing)."""
        if self.impl == "warp" and count > self.reserved_copies:
            with jax.ensure_compile_time_eval():  # a constant, even when called while tracing
                self.data_template = warp_data(self.mj_model, count)
            self.reserved_copies = int(count)

    @property
    def dt(self) -> float:
        """Seconds of simulated time per env step."""
        return float(self.mj_model.opt.timestep) * self.frame_skip

    def physics_from(self, qpos: jax.Array, qvel: jax.Array) -> mjx.Data:
        """A fresh Data at (qpos, qvel): the template with only the positions and speeds set."""
        return self.data_template.replace(qpos=qpos, qvel=qvel)

    def simulate(self, data: mjx.Data, action: jax.Array) -> mjx.Data:
        """Hold ``action`` (clipped to [-1, 1]) on the motors for ``frame_skip`` physics steps."""
        data = data.replace(ctrl=jnp.clip(action, -1.0, 1.0).astype(data.ctrl.dtype))
        return jax.lax.fori_loop(0, self.frame_skip, lambda _, d: mjx.step(self.model, d), data)

    def render(
        self, state: EnvState, params: Any, width: int = 320, height: int = 240
    ) -> np.ndarray:
        """Draw one (unbatched) state with a red goal marker as an RGB uint8 image [H, W, 3]."""
        renderer = self._renderer(height, width)
        data = mujoco.MjData(self.mj_model)
        data.qpos[:] = np.asarray(state.physics.qpos)
        data.qvel[:] = np.asarray(state.physics.qvel)
        mujoco.mj_forward(self.mj_model, data)
        goal = np.append(_plane_point(state.goal), self.goal_marker_height)
        camera = self.render_camera
        if camera is None:
            camera = self.framing_camera(self.framed_points(state))
        renderer.update_scene(data, camera=camera)
        add_goal_marker(renderer.scene, goal, self.goal_marker_radius)
        return renderer.render()

    def framed_points(self, state: EnvState) -> np.ndarray:
        """(x, y) [N, 2] that a video without a named camera keeps in view: what the goal names
        and the goal."""
        achieved = self.goal_of(state.obs[: self.state_size])
        return np.stack([_plane_point(achieved), _plane_point(state.goal)])

    def framing_camera(self, points: np.ndarray) -> mujoco.MjvCamera:
        """A free camera looking down at 55 degrees on the centre of the box around ``points``
        [N, 2], far enough back to keep the whole box in view."""
        low, high = points.min(axis=0), points.max(axis=0)
        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.lookat[:] = (*(0.5 * (low + high)), self.render_lookat_height)
        # A distance of 1.6 x the box's diagonal keeps its corners in a 45-degree field of view.
        camera.distance = max(self.render_min_distance, 1.6 * float(np.linalg.norm(high - low)))
        camera.azimuth, camera.elevation = 90.0, -55.0
        return camera

    def check_rendering(self) -> None:
        """NotImplementedError naming MUJOCO_GL when no OpenGL context opens (checked before a
        video's episode runs, not after)."""
        self._renderer(16, 16)

    def _renderer(self, height: int, width: int) -> mujoco.Renderer:
        """This env's renderer of that size, made on first use (making one costs ~0.1 s)."""
        return env_renderer(self, self.mj_model, height, width)


def env_renderer(
    env: GoalEnv, mj_model: mujoco.MjModel, height: int, width: int
) -> mujoco.Renderer:
    """``env``'s MuJoCo renderer of ``mj_model`` at that size, made on first use and freed with
    ``env``; NotImplementedError naming MUJOCO_GL when no OpenGL context opens."""
    renderers = env.__dict__.setdefault("_renderers", {})
    if (height, width) not in renderers:
        try:
            with warnings.catch_warnings():  # GLFW's warnings: the error below says it all
                warnings.simplefilter("ignore")
                renderer = mujoco.Renderer(mj_model, height, width)
        except Exception as error:  # no OpenGL context: the message says how to get one
            fix = other_renderer_fix(os.environ.get("MUJOCO_GL"))
            raise NotImplementedError(
                f"{env.name}: MuJoCo could not open an OpenGL context ({error}); {fix}, "
                "before mujoco is imported"
            ) from error
        # Free the GL context with the env or at exit, while the interpreter is still whole.
        weakref.finalize(env, renderer.close)
        renderers[height, width] = renderer
    return renderers[height, width]


def add_goal_marker(scene: mujoco.MjvScene, position: np.ndarray, radius: float) -> None:
    """A translucent red sphere of ``radius`` at ``position`` [3] in ``scene``, if it has room."""
    if scene.ngeom < scene.maxgeom:
        mujoco.mjv_initGeom(
            scene.geoms[scene.ngeom],
            mujoco.mjtGeom.mjGEOM_SPHERE,
            np.full(3, radius),
            position,
            np.eye(3).reshape(-1),
            np.array([0.9, 0.1, 0.1, 0.8], np.float32),
        )
        scene.ngeom += 1
