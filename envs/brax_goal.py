"""Any Brax environment as a goal-reaching task: ``--env brax --env-options brax_env=NAME ...``.

Brax's envs are not goal-conditioned, so this adds the goal: it names some entries of the
system's generalized positions ``q`` (an ant's torso x and y are ``q[0:2]``), and each episode
draws one uniformly in the box [goal_low, goal_high]. The state is Brax's observation followed
by those entries, so the critic sees what the goal names; success is their distance to the goal
under ``success_threshold``. Brax's own reward is not used; its ``done`` (a fallen robot) ends
the episode. Brax's envs run on their chosen backend (``backend``, MJX by default).

A goal on a hinge's angle is compared as a number, not modulo a turn: keep such a box within
one turn (a limited joint's box must lie within its range). Videos draw Brax's MuJoCo model
with the goal as a red sphere: where the goal names positions (slides, a free root's x, y, z),
the success region around the body posed at the goal; where it names angles, the tip of the
arm posed at the goal. Brax's reacher and pusher draw a target of their own, which is not this
task's goal; videos leave it out.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct

from jaxcrl.envs.base import (
    EnvState,
    GoalEnv,
    advance,
    goal_metrics,
    make_state,
    thousandths_above,
    thousandths_below,
)
from jaxcrl.envs.mjx_base import add_goal_marker, env_renderer

# Joints whose q entry is one position or angle, with a range when limited.
ONE_NUMBER_JOINTS = (int(mujoco.mjtJoint.mjJNT_SLIDE), int(mujoco.mjtJoint.mjJNT_HINGE))
# Brax's physics back ends.
BRAX_BACKENDS = ("mjx", "generalized", "positional", "spring")
# Goal draws per reset: the first one beyond the success threshold of the start is kept (the
# farthest of them, when none is), so an episode almost never starts solved.
GOAL_DRAWS = 8
# Bodies by which Brax's reacher and pusher draw their own target, which is not this task's
# goal: videos leave out their geoms, moved to a geom group that is not drawn.
BRAX_TARGET_BODIES = ("target", "goal")
HIDDEN_GROUP = mujoco.mjNGROUP - 1
# Geoms with an axis (size[1]: half their length), whose ends reach farthest.
AXIAL_GEOMS = (int(mujoco.mjtGeom.mjGEOM_CAPSULE), int(mujoco.mjtGeom.mjGEOM_CYLINDER))


def entry_joint(mj_model: Any, entry: int) -> int:
    """The joint whose generalized positions hold ``q[entry]``."""
    return int(np.searchsorted(mj_model.jnt_qposadr, entry, side="right")) - 1


def goal_entries(goal_q_indices: Any, num_q: int, brax_env: str) -> tuple[int, ...]:
    """``goal_q_indices`` (a whole number or a list of them) as distinct indices into ``q``;
    ValueError naming the fix otherwise."""
    given = np.asarray(goal_q_indices).reshape(-1)
    whole = given.dtype.kind in "iu"  # not floats (0.7), bools or text
    if not (given.size and whole and ((given >= 0) & (given < num_q)).all()):
        raise ValueError(
            f"goal_q_indices {goal_q_indices!r}: {brax_env}'s q has {num_q} entries; give a list "
            f"of some of 0..{num_q - 1}, e.g. goal_q_indices=[0,1] (x and y of a free body)"
        )
    if len(set(given.tolist())) != given.size:
        raise ValueError(f"goal_q_indices {given.tolist()} names an entry twice; name each once")
    return tuple(given.tolist())


def goal_box(
    goal_low: Any, goal_high: Any, indices: tuple[int, ...], mj_model: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The goal box [goal_size] each, checked: numbers, one per goal entry, low <= high, and
    within the range of each limited joint the entries belong to."""
    bounds = []
    for name, given in (("goal_low", goal_low), ("goal_high", goal_high)):
        values = np.asarray(given).reshape(-1)
        if values.size != len(indices) or values.dtype.kind not in "iuf":
            count = f"{len(indices)} number" + ("s" if len(indices) > 1 else "")
            raise ValueError(
                f"{name} {given!r}: give {count}, one per entry of goal_q_indices "
                f"{list(indices)}, e.g. {name}=[{', '.join(['-5'] * len(indices))}]"
            )
        bounds.append(values.astype(np.float32))
    low, high = bounds
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()):
        raise ValueError(f"goal_low {numbers(low)} must be finite and <= goal_high {numbers(high)}")
    for entry, lo, hi in zip(indices, low, high, strict=True):
        joint = entry_joint(mj_model, entry)
        hinge = int(mj_model.jnt_type[joint]) == int(mujoco.mjtJoint.mjJNT_HINGE)
        if hinge and not mj_model.jnt_limited[joint] and hi - lo > 2 * math.pi:
            raise ValueError(
                f"goal_low/goal_high [{lo:g}, {hi:g}] for q[{entry}], an unlimited hinge's "
                "angle, span more than one turn: goals are compared as numbers, so one pose "
                "would be several goals, most never reached; give bounds within 2*pi of each other"
            )
        if mj_model.jnt_limited[joint] and int(mj_model.jnt_type[joint]) in ONE_NUMBER_JOINTS:
            least, most = (np.float32(x) for x in mj_model.jnt_range[joint])
            if lo < least or hi > most:
                raise ValueError(
                    f"goal_low/goal_high [{lo:g}, {hi:g}] for q[{entry}] leave its joint's "
                    f"range: no state reaches such goals; give bounds within "
                    f"[{thousandths_above(least):g}, {thousandths_below(most):g}]"
                )
    return low, high


def numbers(values: np.ndarray) -> str:
    """``[-0.3, 0.3]``: float32 entries as they were given, not as their binary expansions."""
    return "[" + ", ".join(f"{float(value):g}" for value in values) + "]"


# The most episodes that may start within the success threshold of their goal.
MAX_SOLVED_START_SHARE = 0.05


def solved_start_share(
    low: np.ndarray, high: np.ndarray, start: np.ndarray, success_threshold: float
) -> float:
    """About what share of episodes start at their goal: every one of ``GOAL_DRAWS`` goals
    drawn in the box [low, high] within ``success_threshold`` of ``start`` (the model's initial
    q entries; Brax's reset noise aside), estimated from 4096 draws."""
    draws = np.random.default_rng(0).uniform(low, high, (4096, len(low)))
    near = np.mean(np.linalg.norm(draws - start, axis=-1) < success_threshold)
    return float(near**GOAL_DRAWS)


# A PRNG key as Brax's reset takes it, for tracing.
KEY_SHAPE = jax.ShapeDtypeStruct((2,), jnp.uint32)


def traced_states(brax_env: Any) -> tuple[Any, Any]:
    """The shapes of a Brax env's reset state and of the state its step returns."""
    reset_shape = jax.eval_shape(brax_env.reset, KEY_SHAPE)
    action = jax.ShapeDtypeStruct((brax_env.action_size,), jnp.float32)
    return reset_shape, jax.eval_shape(brax_env.step, reset_shape, action)


def brax_backend_problem(brax_env: str, backend: str, error: Exception) -> str:
    """Why Brax refused (or failed to trace) ``brax_env`` on ``backend``, naming the back ends
    it does run on."""
    from brax import envs as brax_envs

    if backend not in BRAX_BACKENDS:
        return f"backend {backend!r} is not one of Brax's: {', '.join(BRAX_BACKENDS)}"
    working = []
    for other in BRAX_BACKENDS:
        try:
            traced_states(brax_envs.get_environment(brax_env, backend=other))
            working.append(other)
        except Exception:  # that back end does not take (or trace) this env either
            continue
    fix = f"give backend={' or '.join(working)}" if working else "pick another brax_env"
    said = (str(error).splitlines() or [type(error).__name__])[0]  # JAX's errors run on
    return f"brax_env {brax_env} does not run on backend={backend} ({said}); {fix}"


@struct.dataclass
class BraxGoalParams:
    """The goal box and the success threshold, as arrays (one program can vmap over them)."""

    goal_low: jax.Array  # [goal_size]
    goal_high: jax.Array  # [goal_size]
    success_threshold: jax.Array  # []


class BraxGoal(GoalEnv):
    """A Brax env (``brax.envs.get_environment(brax_env, backend=backend)``) pursuing goals on
    entries ``goal_q_indices`` of its generalized positions ``q``."""

    def __init__(
        self,
        brax_env: str = "ant",
        backend: str = "mjx",
        goal_q_indices: tuple[int, ...] = (0, 1),
        goal_low: tuple[float, ...] = (-5.0, -5.0),
        goal_high: tuple[float, ...] = (5.0, 5.0),
        success_threshold: float = 0.5,
        episode_length: int = 1000,
        dense_reward: bool = False,
    ):
        from brax import envs as brax_envs

        with warnings.catch_warnings():  # Brax's note on its upkeep, once per env made
            warnings.filterwarnings("ignore", message="Brax System, piplines and environments")
            try:
                self.brax = brax_envs.get_environment(brax_env, backend=backend)
            except KeyError:
                known = ", ".join(sorted(getattr(brax_envs, "_envs", {})))
                raise ValueError(
                    f"brax_env {brax_env!r} is not one of Brax's envs: {known}"
                ) from None
            except ValueError as error:  # a backend this env does not run on
                raise ValueError(brax_backend_problem(brax_env, backend, error)) from None
        try:  # some back ends fail under this JAX (swimmer on generalized: jnp.clip's a_min)
            reset_shape, step_shape = traced_states(self.brax)
        except Exception as error:
            raise ValueError(brax_backend_problem(brax_env, backend, error)) from None
        indices = goal_entries(goal_q_indices, reset_shape.pipeline_state.q.shape[-1], brax_env)
        low, high = goal_box(goal_low, goal_high, indices, self.brax.sys.mj_model)
        if not (
            isinstance(success_threshold, (int, float))
            and math.isfinite(success_threshold)
            and success_threshold > 0
        ):
            raise ValueError(f"success_threshold must be a distance > 0, got {success_threshold}")
        start = np.asarray(self.brax.sys.init_q, np.float32)[list(indices)]
        share = solved_start_share(low, high, start, float(success_threshold))
        if share > MAX_SOLVED_START_SHARE:
            raise ValueError(
                f"goal_low {numbers(low)} / goal_high {numbers(high)}: about {share:.0%} of "
                f"episodes would start within success_threshold {success_threshold:g} of their "
                f"goal, since the box lies near where {brax_env} starts (q{list(indices)} = "
                f"{numbers(start)}); widen the box away from the start, or lower "
                "success_threshold"
            )
        if jax.tree.structure(step_shape) != jax.tree.structure(reset_shape):
            raise ValueError(
                f"{brax_env}'s step returns a state of another structure than its reset (its "
                "info or metrics keys differ), which episodes that end and restart cannot mix"
            )
        self.goal_q_indices = indices
        self.goal_box = (low, high)
        self.success_threshold = float(success_threshold)
        self.episode_length = episode_length
        self.dense_reward = dense_reward
        self.brax_observation_size = reset_shape.obs.shape[-1]
        self.state_size = self.brax_observation_size + len(indices)
        self.goal_indices = tuple(range(self.brax_observation_size, self.state_size))
        self.action_size = self.brax.action_size

    def default_params(self) -> BraxGoalParams:
        """The goal box and threshold given to the constructor."""
        low, high = self.goal_box
        return BraxGoalParams(
            goal_low=jnp.asarray(low),
            goal_high=jnp.asarray(high),
            success_threshold=jnp.asarray(self.success_threshold, jnp.float32),
        )

    def _state_vector(self, brax_state: Any) -> tuple[jax.Array, jax.Array]:
        """(Brax's observation ++ the goal's q entries, those entries) of one Brax state."""
        achieved = brax_state.pipeline_state.q[np.asarray(self.goal_q_indices)]
        return jnp.concatenate([brax_state.obs, achieved]), achieved

    def reset(self, key: jax.Array, params: BraxGoalParams) -> EnvState:
        """Brax's reset, and a goal in the box apart from where the start stands."""
        key, brax_key, goal_key = jax.random.split(key, 3)
        brax_state = self.brax.reset(brax_key)
        state_vector, achieved = self._state_vector(brax_state)
        draws = jax.random.uniform(
            goal_key,
            (GOAL_DRAWS, len(self.goal_q_indices)),
            minval=params.goal_low,
            maxval=params.goal_high,
        )
        distances = jnp.linalg.norm(draws - achieved, axis=-1)
        apart = distances >= params.success_threshold
        goal = draws[jnp.where(jnp.any(apart), jnp.argmax(apart), jnp.argmax(distances))]
        metrics = goal_metrics(achieved, goal, params.success_threshold)
        return make_state(brax_state, state_vector, goal, key, metrics)

    def step(self, state: EnvState, action: jax.Array, params: BraxGoalParams) -> EnvState:
        """Brax's step; success is the goal's q entries within the threshold of the goal."""
        brax_state = self.brax.step(state.physics, action)
        state_vector, achieved = self._state_vector(brax_state)
        metrics = goal_metrics(achieved, state.goal, params.success_threshold)
        return advance(state, brax_state, state_vector, metrics, self.dense_reward, brax_state.done)

    @functools.cached_property
    def render_model(self) -> mujoco.MjModel:
        """Brax's MuJoCo model with its own target's geoms (``BRAX_TARGET_BODIES``) moved to
        ``HIDDEN_GROUP``."""
        model = copy.deepcopy(self.brax.sys.mj_model)
        for geom, body in enumerate(model.geom_bodyid):
            if mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) in BRAX_TARGET_BODIES:
                model.geom_group[geom] = HIDDEN_GROUP
        return model

    def check_rendering(self) -> None:
        """NotImplementedError naming MUJOCO_GL when no OpenGL context opens."""
        env_renderer(self, self.render_model, 16, 16)

    def render(
        self, state: EnvState, params: BraxGoalParams, width: int = 320, height: int = 240
    ) -> np.ndarray:
        """Draw one (unbatched) state as an RGB uint8 image [H, W, 3], with the goal as a red
        sphere, from a camera that keeps the root body and the goal in view."""
        mj_model = self.render_model
        renderer = env_renderer(self, mj_model, height, width)
        q = np.asarray(state.physics.pipeline_state.q)
        data = mujoco.MjData(mj_model)
        data.qpos[:] = q
        data.qvel[:] = np.asarray(state.physics.pipeline_state.qd)
        mujoco.mj_forward(mj_model, data)
        goal, radius = goal_marker(mj_model, q, self.goal_q_indices, np.asarray(state.goal))
        if radius is None:  # the goal names positions: its success region
            radius = float(params.success_threshold)
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(mj_model, camera)
        root = np.array(data.xpos[1])  # body 0 is the world
        camera.lookat[:] = 0.5 * (root + goal)
        # Far enough back to keep both in a 45-degree field of view.
        camera.distance = max(camera.distance, 1.6 * float(np.linalg.norm(goal - root)))
        shown = mujoco.MjvOption()
        shown.geomgroup[HIDDEN_GROUP] = 0
        renderer.update_scene(data, camera=camera, scene_option=shown)
        add_goal_marker(renderer.scene, goal, radius)
        return renderer.render()


def goal_marker(
    mj_model: mujoco.MjModel, q: np.ndarray, goal_q_indices: tuple[int, ...], goal: np.ndarray
) -> tuple[np.ndarray, float | None]:
    """Where to draw ``goal`` [3]: the body of its last q entry, posed with the goal's entries
    set in ``q``; with None for a radius where every entry is a position (a slide, or a free
    root's x, y, z), else, for angles, the far end of the last body of that body's chain (a
    capsule's end, a sphere's centre) and twice that geom's radius."""
    pose = mujoco.MjData(mj_model)
    pose.qpos[:] = q
    pose.qpos[list(goal_q_indices)] = goal
    mujoco.mj_kinematics(mj_model, pose)
    joints = [entry_joint(mj_model, entry) for entry in goal_q_indices]
    positions = all(
        mj_model.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE
        or (mj_model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE and i - mj_model.jnt_qposadr[j] < 3)
        for i, j in zip(goal_q_indices, joints, strict=True)
    )
    body = int(mj_model.jnt_bodyid[joints[-1]])
    if positions:
        return np.array(pose.xpos[body]), None
    parents = list(mj_model.body_parentid)
    while parents.count(body) == 1:  # down a single chain to its tip
        body = parents.index(body, 1)
    least = 0.02 * float(mj_model.stat.extent)  # a marker seen however thin the tip
    points, radii = [pose.xpos[body]], [least]
    for geom in np.flatnonzero(mj_model.geom_bodyid == body):
        centre, size = pose.geom_xpos[geom], mj_model.geom_size[geom]
        ends = [centre]
        if int(mj_model.geom_type[geom]) in AXIAL_GEOMS:
            axis = pose.geom_xmat[geom].reshape(3, 3)[:, 2] * size[1]  # half its length
            ends = [centre + axis, centre - axis]
        points += ends
        radii += [max(2.0 * float(size[0]), least)] * len(ends)
    reach = np.linalg.norm(np.asarray(points) - pose.xpos[body], axis=-1)
    tip = int(np.argmax(reach))  # the point of the tip body farthest from its joint
    return np.array(points[tip]), radii[tip]
