"""The MJX 7-DoF arm with a parallel gripper: reach a point, push a cube, put a cube in a bin.

The model (``assets/arm.xml``) is a Franka-like arm on a table: base at the origin, table top at
z = 0, the arm facing +x. Every task shares one action space and one state layout:

* Action (4; 3 for reach) in [-1, 1]: a displacement of the grip point of up to ``MAX_MOVE`` =
  0.05 m per axis per step, plus the finger opening (-1 closed, +1 open 8 cm). The target
  ``grip + MAX_MOVE * action`` is clipped to the workspace, turned into seven joint angles by
  analytic inverse kinematics (joints 3 and 5 at 0, joint 6 keeps the hand pointing down, joint 7
  keeps the fingers closing along y) and sent to position servos. Why: CRL's fetch and sawyer
  tasks use this kind of Cartesian delta (3 + gripper), the action then points the way the goal
  space does, and random actions explore locally around the hand instead of flinging the arm
  between far joint targets; the servos and gravity compensation make a zero action hold still.
* State = qpos ++ qvel ++ grip point (x, y, z). qpos = 7 arm angles, 2 finger openings and, with
  a cube, its position and quaternion (wxyz); qvel likewise (the cube's 6 speeds). So reach has
  state 9 + 9 + 3 = 21 and goal ``state[18:21]`` (the grip point); push and bin-pick have
  16 + 15 + 3 = 34 and goal ``state[9:12]`` (the cube's centre). With
  ``goal_space="cube_and_grip"`` the goal names the grip point ``state[31:34]`` as well, and reset
  puts both at the cube's goal (the hand holding the cube there), as CRL's Fetch push wrapper
  writes its goal into the gripper's and the block's entries (``contrastive_rl/fetch_envs.py``);
  success still measures the cube alone.
* The grip point comes from the joint angles by forward kinematics (offsets and axes read from
  the model), so neither reset nor step needs ``mjx.forward`` for the observation.

Facts from JaxGCRL (``jaxgcrl/envs/manipulation/arm_*.py`` and ``assets/panda_*.xml``,
Bortkiewicz et al. 2025). Their arm faces +y; a point (x, y) of theirs is (y, -x) here:
* physics timestep 0.002 s with 25 frames per action, i.e. 0.05 s per action; Newton solver;
* reach: 100-step episodes, goals in the box x [0.3, 0.7], y [-0.2, 0.2], z [0.1, 0.5];
* push and bin-pick: 150-step episodes; the goal names the cube's (x, y, z); cube resting height;
* push easy: the cube starts in a 0.2 m square, x [0.5, 0.7], y [0.0, 0.2], the goal lies in the
  adjacent square y [-0.2, 0.0]; push hard: both squares 0.5 m wide;
* success threshold 0.1 m; the actions are absolute joint targets for joints 1, 2, 4 and 6 (3, 5
  and 7 held) plus a binary gripper (a variant with end-effector control exists).
Facts from CRL (Eysenbach et al. 2022, ``contrastive_rl/env_utils.py``): fetch reach and push
run 50 steps, sawyer push and bin 150; success is 0.05 m (Fetch's ``distance_threshold``,
Meta-World's); both use a 3-D end-effector delta plus a gripper action.

Where we differ on purpose: end-effector delta control (see above) with all seven joints driven;
success within 0.05 m (the cube here is 5 cm, Fetch's block, and 0.1 m would count a cube lying
two widths away, or outside a bin wall, as placed); push hard draws cube and goal from one
0.35 x 0.6 m region that the arm can reach (part of JaxGCRL's is beyond a Franka's reach); the
cube starts at least 0.1 m from its goal, so no episode starts solved; bin-pick easy starts the
cube in a 0.1 m square beside the bin, bin-pick hard anywhere on the push-hard region outside the
bin, and goals lie inside the bin at the cube's resting height (JaxGCRL starts the cube in a
second bin); physics timestep 0.01 s with 5 frames per action (same 0.05 s per action, 5x fewer
MJX steps; the servos are integrated implicitly). Reach starts the grip point uniformly in a
0.1 m cube around (0.4, 0, 0.25) (JaxGCRL starts the arm in one fixed pose), and draws a goal
again while it lies within the success threshold of that start (39 of 4096 first draws at
0.05 m), so that no reach episode starts solved either. The cube tasks
start it over the cube (``hand_start="over_cube"``, the default): within 0.1 m of the cube's
centre in x and y, 8-15 cm above the table, as Fetch's push starts the gripper near the block.
Why: CRL learns what moves the cube only from episodes in which it moved, and from the reach
start 2.3% of 256 random-action arm_push_easy episodes moved it by more than 1 cm, against 28.5%
from over the cube (``benchmarks/random_object_moves.py``). ``hand_start="home"`` keeps the
reach start.

Speed, ``jit(vmap(step))`` at 64 envs on a 2-core CPU (benchmarks/env_sps_mjx.py, best of 3):
arm_reach 11.0k env steps/s, arm_push_easy 3.3k, arm_binpick_easy 2.1k. The model's comments
(assets/arm.xml) say what buys this: contacts only between the cube and the table, the pads and
the bin; a larger timestep; a shadow body tree that keeps XLA's CPU compiler from recomputing
the kinematic chain (230 env steps/s without it for arm_push_easy).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.base import EnvState, advance, goal_metrics, make_state, thousandths_above
from jaxcrl.envs.mjx_base import ASSETS, MjxGoalEnv, check_start_apart, mjx

ARM_XML = ASSETS / "arm.xml"

NUM_ARM_JOINTS = 7
# The arm's bodies in assets/arm.xml, base to hand, with their joints. Joints share a body where
# their axes allow: MJX runs one sequential pass per level of the body tree, so a 4-level arm
# steps about twice as fast as one body per joint.
ARM_BODIES = {
    "upper_arm": ("joint1", "joint2", "joint3"),
    "forearm": ("joint4", "joint5"),
    "wrist": ("joint6",),
    "hand": ("joint7",),
}
FINGER_OPEN = 0.04  # metres each finger slides out; both open = 8 cm between the pads
MAX_MOVE = 0.05  # metres the grip target moves per axis per step at |action| = 1
# Grip targets are clipped to this box (x, y, z); z = 0.02 keeps the pads above the table.
WORKSPACE = ((0.2, -0.45, 0.02), (0.8, 0.45, 0.55))
CUBE_HALF = 0.025  # half the cube's edge: its centre's height when it rests on the table
NUM_CUBE_CANDIDATES = 16  # cube starts drawn per reset; the first one allowed is used
NUM_GOAL_CANDIDATES = 16  # reach goals drawn per reset; the first one not reached is used
DEFAULT_MIN_START_DISTANCE = 0.1  # metres between the cube's start and its goal, at least

# Boxes ((x, y, z) low, high) in table coordinates; see the module docstring.
HAND_START = ((0.35, -0.05, 0.2), (0.45, 0.05, 0.3))
# Cube tasks' grip point start: (x, y) offsets from the cube's start centre and z above the table.
HAND_OVER_CUBE = ((-0.1, -0.1, 0.08), (0.1, 0.1, 0.15))
HAND_STARTS = ("over_cube", "home")
# What a cube task's goal names: the cube's centre, or the cube's centre and then the grip point
# (both set to the cube's goal at reset: the hand holds the cube there).
GOAL_SPACES = ("cube", "cube_and_grip")
REACH_GOALS = ((0.3, -0.2, 0.1), (0.7, 0.2, 0.5))
TABLE_REGION = ((0.35, -0.3), (0.7, 0.3))  # push hard and bin-pick hard: cube and goal (x, y)
BIN_CENTRE = (0.55, -0.15)  # must match the body "bin" in assets/arm.xml
BIN_INNER_HALF = 0.08  # inner half-width of the bin; its walls are 1 cm thick


def largest_min_start_distance(start: Sequence, goal: Sequence) -> float:
    """The largest start-to-goal minimum that every goal in rectangle ``goal`` leaves room for.

    That is the least distance, over the goals, to the farthest point of rectangle ``start``;
    rectangles are ((x, y) low, (x, y) high). The farthest point is a corner, whose offset on each
    axis is the start's half-width plus the goal's offset from the start's middle; the worst goal
    takes the least offset on each axis, the nearest the middle its rectangle comes.
    """
    (start_low, start_high), (goal_low, goal_high) = np.asarray(start), np.asarray(goal)
    middle, half = (start_low + start_high) / 2, (start_high - start_low) / 2
    offset = np.maximum(0.0, np.maximum(goal_low - middle, middle - goal_high))
    return float(np.linalg.norm(half + offset))


def check_min_start_distance(
    value: float,
    start: Sequence,
    goal: Sequence,
    env_name: str,
    default: float,
    thing: str,
    success_threshold: float,
) -> None:
    """Raise ValueError unless ``value`` lies in [0, the largest minimum the rectangles ``start``
    and ``goal`` allow], rounded down to the millimetre so that the value named is accepted, and
    ``success_threshold`` lies below it, else the ``thing`` may start at its goal. (Equal is not
    enough: at 0.17 m each, float32 rounding started the pusher's puck, slid to the minimum from
    a nearer draw, within the threshold in 160 of 4096 resets.)"""
    largest = np.floor(1000 * largest_min_start_distance(start, goal)) / 1000
    least = thousandths_above(success_threshold)
    if least > largest:
        raise ValueError(
            f"success_threshold must be below {largest:g} m for {env_name}, the farthest apart "
            f"its {thing} starts can all be from their goals (min_start_distance), got "
            f"{success_threshold:g}: lower it"
        )
    if not least <= value <= largest:
        other_fix = f", or lower success_threshold below {value:g} m" if 0 < value < least else ""
        raise ValueError(
            f"min_start_distance must lie in [{least:g}, {largest:g}] m for {env_name} (the "
            f"default is {default:g}), got {value:g}: below, the {thing} may start within "
            f"success_threshold = {success_threshold:g} m of its goal; beyond, some goals of its "
            f"region have no {thing} start that far away{other_fix}"
        )


def farthest_corner(low: jax.Array, high: jax.Array, point: jax.Array) -> jax.Array:
    """The corner [dim] of the box [low, high] farthest from ``point`` [dim] (2 or 3 axes)."""
    return jnp.where(point < (low + high) / 2, high, low)


def _square(centre: tuple[float, float], half: float) -> tuple[tuple[float, float], ...]:
    """The rectangle ((x, y) low, (x, y) high) of half-width ``half`` around ``centre``."""
    return tuple(tuple(c + sign * half for c in centre) for sign in (-1.0, 1.0))


# Rectangles ((x, y) low, (x, y) high) of each cube task: where the cube starts, where goals lie,
# and where the cube may not start (bin-pick: the bin's footprint widened by the cube's size).
NO_KEEP_OUT = ((0.0, 0.0), (0.0, 0.0))  # the point under the base: no cube starts there anyway
BIN_KEEP_OUT = _square(BIN_CENTRE, BIN_INNER_HALF + 0.01 + CUBE_HALF + 0.01)
CUBE_TASKS = {
    "push_easy": {"cube": ((0.5, 0.0), (0.7, 0.2)), "goal": ((0.5, -0.2), (0.7, 0.0))},
    "push_hard": {"cube": TABLE_REGION, "goal": TABLE_REGION},
    "binpick_easy": {
        "cube": ((0.5, 0.0), (0.6, 0.1)),
        "goal": _square(BIN_CENTRE, 0.02),
        "keep_out": BIN_KEEP_OUT,
    },
    "binpick_hard": {
        "cube": TABLE_REGION,
        "goal": _square(BIN_CENTRE, BIN_INNER_HALF - CUBE_HALF - 0.005),  # cube inside walls
        "keep_out": BIN_KEEP_OUT,
    },
}


@struct.dataclass
class ArmParams:
    """Task constants of the reach task: success threshold, hand start and goal boxes."""

    success_threshold: jax.Array  # [] metres between achieved point and goal
    hand_low: jax.Array  # [3] the grip point starts uniformly in the box [low, high]
    hand_high: jax.Array  # [3]
    goal_low: jax.Array  # [3] goals lie uniformly in the box [low, high]
    goal_high: jax.Array  # [3]


@struct.dataclass
class CubeParams(ArmParams):
    """Task constants of the cube tasks: ArmParams plus where the cube may start."""

    cube_low: jax.Array  # [2] cube start (x, y) uniform in the rectangle [low, high] ...
    cube_high: jax.Array  # [2]
    keep_out_low: jax.Array  # [2] ... but not inside this rectangle (the bin) ...
    keep_out_high: jax.Array  # [2]
    min_start_distance: jax.Array  # [] ... nor closer than this to the goal
    hand_over_cube: jax.Array  # [] 1: the hand box is (dx, dy, z) from the cube; 0: table coords


def _axis_rotation(axis: np.ndarray, angle: jax.Array) -> jax.Array:
    """Rotation matrix [3, 3] by ``angle`` about the unit ``axis`` [3] (Rodrigues)."""
    cross = jnp.asarray(np.cross(np.eye(3), axis))  # the matrix of axis x (.)
    return jnp.eye(3) + jnp.sin(angle) * cross + (1 - jnp.cos(angle)) * cross @ cross


def _uniform(key: jax.Array, low: jax.Array, high: jax.Array, count: int | None = None):
    """Uniform draws in the box [low, high]: [dim], or [count, dim] when ``count`` is given."""
    shape = jnp.shape(low) if count is None else (count, *jnp.shape(low))
    return jax.random.uniform(key, shape, minval=low, maxval=high)


class _ArmTask(MjxGoalEnv):
    """What every arm task shares: model, kinematics, action mapping, reset and step."""

    render_camera = "front"
    goal_marker_radius = 0.02
    removed_bodies: tuple[str, ...] = ()  # bodies of assets/arm.xml this task does not use
    grips = True  # whether the action has a gripper entry

    def __init__(
        self,
        episode_length: int,
        success_threshold: float,
        dense_reward: bool,
        frame_skip: int,
        impl: str,
    ):
        if success_threshold <= 0:
            raise ValueError(f"success_threshold must be > 0, got {success_threshold}")
        root = ET.fromstring(ARM_XML.read_text())
        worldbody = root.find("worldbody")
        for body in list(worldbody.iter("body")):
            if body.get("name") in self.removed_bodies:
                worldbody.remove(body)
        super().__init__(ET.tostring(root, encoding="unicode"), frame_skip, impl)
        model = self.mj_model
        # Forward kinematics: the bodies from the base to the hand, each with its offset from its
        # parent and its joints' anchors and axes (every frame is unrotated in the zero pose).
        self.chain = [
            (
                np.array(model.body(body).pos),
                [(np.array(model.joint(j).pos), np.array(model.joint(j).axis)) for j in joints],
            )
            for body, joints in ARM_BODIES.items()
        ]
        self.grip_offset = np.array(model.site("grip").pos)  # in the hand's frame
        # Inverse kinematics in the arm's vertical plane (see joint_targets): shoulder = joint 2's
        # anchor, elbow = the forearm's origin, wrist = joint 6's (the wrist body's origin).
        shoulder = model.joint("joint2").pos
        upper_arm = model.body("forearm").pos - shoulder  # (x, 0, z) in the zero pose
        forearm = model.body("wrist").pos
        self.shoulder_height = float(shoulder[2])
        self.upper_arm = float(np.hypot(upper_arm[0], upper_arm[2]))
        self.forearm = float(np.hypot(forearm[0], forearm[2]))
        self.upper_arm_tilt = float(np.arctan2(upper_arm[0], upper_arm[2]))
        self.forearm_tilt = float(np.arctan2(-forearm[0], forearm[2]))
        # The largest bend between forearm and upper arm that joint 4's range allows.
        self.max_bend = float(
            -model.joint("joint4").range[0] - self.upper_arm_tilt - self.forearm_tilt
        )
        hand = model.body("hand").pos
        self.wrist_reach = float(hand[0])  # flange axis, ahead of the wrist joint
        self.wrist_drop = float(-(hand[2] + self.grip_offset[2]))  # grip point below the wrist
        self.name = "arm"
        self.episode_length = int(episode_length)
        self.success_threshold = float(success_threshold)
        self.dense_reward = dense_reward
        self.action_size = 4 if self.grips else 3
        # The shadow bodies' coordinates close qpos and qvel (see assets/arm.xml); the state
        # leaves them out.
        shadow = [
            j
            for j in range(model.njnt)
            if model.body(model.jnt_bodyid[j]).name.startswith("shadow")
        ]
        self.num_qpos = int(model.nq - len(shadow))
        self.num_qvel = int(model.nv - len(shadow))
        if shadow and min(model.jnt_qposadr[shadow]) != self.num_qpos:
            raise ValueError("the shadow bodies must come last in assets/arm.xml")
        self.state_size = self.num_qpos + self.num_qvel + 3

    # Kinematics.

    def grip_point(self, angles: jax.Array) -> jax.Array:
        """Grip point (x, y, z) [3] of the seven arm joint angles [7], by forward kinematics."""
        position, rotation, index = jnp.zeros(3), jnp.eye(3), 0
        for offset, joints in self.chain:
            position = position + rotation @ offset
            for anchor, axis in joints:  # each turns the body about a line through its anchor
                pivot = position + rotation @ anchor
                rotation = rotation @ _axis_rotation(axis, angles[index])
                position, index = pivot - rotation @ anchor, index + 1
        return position + rotation @ self.grip_offset

    def joint_targets(self, grip: jax.Array) -> jax.Array:
        """Seven joint angles [7] that put the grip point at ``grip`` [3], hand pointing down.

        Joint 1 turns the arm's plane towards the point; in that plane the upper arm and the
        forearm (each with its elbow offset folded into a straight segment) form a two-link arm
        from the shoulder to the wrist joint, solved elbow up; joint 6 cancels the pitch of
        joints 2 and 4, joint 7 cancels joint 1's yaw. Out-of-reach points give the nearest pose
        in the same direction.
        """
        yaw = jnp.arctan2(grip[1], grip[0])
        reach = jnp.hypot(grip[0], grip[1]) - self.wrist_reach  # wrist joint, from the base axis
        height = grip[2] + self.wrist_drop - self.shoulder_height  # wrist joint, from shoulder
        upper, fore = self.upper_arm, self.forearm
        # Joint 4's range bounds the bend, and so the shoulder-wrist distance from below.
        shortest = np.sqrt(upper**2 + fore**2 + 2 * upper * fore * np.cos(self.max_bend))
        distance = jnp.clip(jnp.hypot(reach, height), shortest, upper + fore - 1e-3)
        cos_bend = (distance**2 - upper**2 - fore**2) / (2 * upper * fore)
        bend = jnp.arccos(jnp.clip(cos_bend, -1.0, 1.0))  # forearm vs upper arm, elbow up
        # Angles from the vertical, positive leaning away from the base.
        lean = jnp.arctan2(reach, height) - jnp.arctan2(
            fore * jnp.sin(bend), upper + fore * jnp.cos(bend)
        )
        shoulder = lean - self.upper_arm_tilt
        elbow = -(bend + self.upper_arm_tilt + self.forearm_tilt)
        zero = jnp.zeros_like(yaw)
        return jnp.stack([yaw, shoulder, zero, elbow, zero, shoulder - elbow, yaw])

    # Episode logic shared by the tasks.

    def state_vector(self, qpos: jax.Array, qvel: jax.Array) -> jax.Array:
        """[state_size] = qpos, qvel (both without the shadow's), grip point."""
        return jnp.concatenate(
            [
                qpos[: self.num_qpos],
                qvel[: self.num_qvel],
                self.grip_point(qpos[:NUM_ARM_JOINTS]),
            ]
        )

    def controls(self, qpos: jax.Array, action: jax.Array) -> jax.Array:
        """Servo targets [nu] (7 joint angles, 2 finger openings) for ``action`` at ``qpos``."""
        action = jnp.clip(action, -1.0, 1.0)
        target = self.grip_point(qpos[:NUM_ARM_JOINTS]) + MAX_MOVE * action[:3]
        target = jnp.clip(target, jnp.asarray(WORKSPACE[0]), jnp.asarray(WORKSPACE[1]))
        opening = 0.5 * FINGER_OPEN * (1.0 + action[3]) if self.grips else FINGER_OPEN
        return jnp.concatenate([self.joint_targets(target), jnp.full(2, opening)])

    def place(self, key: jax.Array, params: Any) -> tuple[jax.Array, jax.Array]:
        """Object coordinates of qpos after the fingers (maybe none) and the goal, for a reset."""
        raise NotImplementedError

    def goal_apart(
        self, key: jax.Array, params: Any, state_vector: jax.Array, goal: jax.Array
    ) -> jax.Array:
        """The goal point [3] of a reset at ``state_vector``, given ``place``'s ``goal``: that
        one here (the cube tasks keep their cubes apart from it in ``place``)."""
        return goal

    def hand_anchor(self, objects: jax.Array, params: Any) -> jax.Array:
        """Point [3] that the hand start box is relative to: the table's origin here."""
        return jnp.zeros(3)

    def goal_vector(self, point: jax.Array) -> jax.Array:
        """The goal [goal_size] that puts every point the goal names at ``point`` [3]."""
        return jnp.tile(point, self.goal_size // 3)

    def point_metrics(self, state_vector: jax.Array, goal: jax.Array, threshold: jax.Array):
        """Distance and success of the task's point alone (the goal's first three entries)."""
        achieved = state_vector[np.asarray(self.success_indices)]
        return goal_metrics(achieved, goal[:3], threshold)

    @property
    def goal_argument_size(self) -> int:
        """``with_goal`` (eval.py --goal) takes one point (x, y, z)."""
        return 3

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why the point ``goal`` (x, y, z) cannot be reached: outside the grip's workspace."""
        low, high = WORKSPACE
        if all(lo <= value <= hi for lo, value, hi in zip(low, goal, high, strict=True)):
            return None
        box = ", ".join(
            f"{axis} in [{lo:g}, {hi:g}]" for axis, lo, hi in zip("xyz", low, high, strict=True)
        )
        point = ", ".join(f"{value:g}" for value in goal)
        return f"({point}) lies outside the arm's workspace ({box}); pick a point inside it"

    def with_goal(self, state: EnvState, goal: jax.Array) -> EnvState:
        """Pursue the point ``goal`` [3]: every point the goal names is put there."""
        return super().with_goal(state, self.goal_vector(jnp.asarray(goal, state.goal.dtype)))

    def reset(self, key: jax.Array, params: ArmParams) -> EnvState:
        """Hand at a random point of its start box, fingers open, still; new objects and goal."""
        key, hand_key, place_key = jax.random.split(key, 3)
        objects, goal = self.place(place_key, params)
        hand = _uniform(hand_key, params.hand_low, params.hand_high)
        hand = jnp.clip(
            hand + self.hand_anchor(objects, params),
            jnp.asarray(WORKSPACE[0]),
            jnp.asarray(WORKSPACE[1]),
        )
        angles = self.joint_targets(hand)
        qpos = jnp.concatenate([angles, jnp.full(2, FINGER_OPEN), objects])
        qpos = jnp.concatenate([qpos, jnp.zeros(self.mj_model.nq - self.num_qpos)])  # shadow
        qvel = jnp.zeros(self.mj_model.nv)
        state_vector = self.state_vector(qpos, qvel)
        goal = self.goal_vector(self.goal_apart(place_key, params, state_vector, goal))
        metrics = self.point_metrics(state_vector, goal, params.success_threshold)
        return make_state(self.physics_from(qpos, qvel), state_vector, goal, key, metrics)

    def step(self, state: EnvState, action: jax.Array, params: ArmParams) -> EnvState:
        """Move the grip target by ``action``, set the fingers, run ``frame_skip`` physics steps."""
        data = state.physics
        data = data.replace(ctrl=self.controls(data.qpos, action).astype(data.ctrl.dtype))
        data = jax.lax.fori_loop(0, self.frame_skip, lambda _, d: self._physics_step(d), data)
        state_vector = self.state_vector(data.qpos, data.qvel)
        metrics = self.point_metrics(state_vector, state.goal, params.success_threshold)
        return advance(state, data, state_vector, metrics, self.dense_reward)

    def _physics_step(self, data: mjx.Data) -> mjx.Data:
        """One MJX step of this env's model."""
        return mjx.step(self.model, data)

    def render(
        self, state: EnvState, params: Any, width: int = 320, height: int = 240
    ) -> np.ndarray:
        """Draw one (unbatched) state from the front camera, the goal marker at its height."""
        self.goal_marker_height = float(state.goal[2])  # the shared renderer draws it there
        return super().render(state, params, width, height)


class ArmReach(_ArmTask):
    """Bring the gripper's grip point to a goal point in 3-D."""

    removed_bodies = ("cube", "bin")
    grips = False

    def __init__(
        self,
        episode_length: int = 100,
        success_threshold: float = 0.05,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
    ):
        super().__init__(episode_length, success_threshold, dense_reward, frame_skip, impl)
        self.name = "arm_reach"
        self.goal_indices = (18, 19, 20)  # the grip point
        # Goals lie in a box around the hand's start box: each start has goals within any
        # threshold, so reset draws the goal again (goal_apart); its fallback, the goal box's
        # farthest corner, lies at least this far from every start.
        check_start_apart(
            "success_threshold",
            self.success_threshold,
            largest_min_start_distance(REACH_GOALS, HAND_START),
            "the least distance from a start to the goal box's farthest corner",
            "goals within the threshold of the hand's start are drawn again, "
            f"{NUM_GOAL_CANDIDATES} times, then that corner is taken",
            "lower success_threshold",
        )

    def default_params(self) -> ArmParams:
        """Threshold, hand start box and goal box (JaxGCRL's reach goals)."""
        return ArmParams(
            success_threshold=jnp.asarray(self.success_threshold),
            hand_low=jnp.asarray(HAND_START[0]),
            hand_high=jnp.asarray(HAND_START[1]),
            goal_low=jnp.asarray(REACH_GOALS[0]),
            goal_high=jnp.asarray(REACH_GOALS[1]),
        )

    def place(self, key: jax.Array, params: ArmParams) -> tuple[jax.Array, jax.Array]:
        """No objects; a goal uniform in the goal box."""
        return jnp.zeros(0), _uniform(key, params.goal_low, params.goal_high)

    def goal_apart(
        self, key: jax.Array, params: ArmParams, state_vector: jax.Array, goal: jax.Array
    ) -> jax.Array:
        """The first of ``goal`` and NUM_GOAL_CANDIDATES - 1 more uniform draws that lies
        ``success_threshold`` or more from the grip point's start, else the goal box's corner
        farthest from it, which the constructor's bound keeps that far."""
        more = _uniform(
            jax.random.fold_in(key, 1), params.goal_low, params.goal_high, NUM_GOAL_CANDIDATES - 1
        )
        candidates = jnp.concatenate([goal[None], more])  # [NUM_GOAL_CANDIDATES, 3]
        grip = state_vector[np.asarray(self.goal_indices)]
        apart = jnp.linalg.norm(candidates - grip, axis=-1) >= params.success_threshold
        corner = farthest_corner(params.goal_low, params.goal_high, grip)
        return jnp.where(apart.any(), candidates[jnp.argmax(apart)], corner)


class _CubeTask(_ArmTask):
    """A task whose goal is a resting place of the cube; ``kind`` picks the regions."""

    task: str = "push"  # prefix of this class's entries in CUBE_TASKS

    def __init__(
        self,
        kind: str = "easy",
        episode_length: int = 150,
        success_threshold: float = 0.05,
        min_start_distance: float = DEFAULT_MIN_START_DISTANCE,
        hand_start: str = "over_cube",
        goal_space: str = "cube",
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
    ):
        if f"{self.task}_{kind}" not in CUBE_TASKS:
            raise ValueError(f"unknown {self.task} kind {kind!r}; choose 'easy' or 'hard'")
        if hand_start not in HAND_STARTS:
            raise ValueError(
                f"unknown hand_start {hand_start!r}; choose one of {', '.join(HAND_STARTS)}"
            )
        if goal_space not in GOAL_SPACES:
            raise ValueError(
                f"unknown goal_space {goal_space!r}; choose one of {', '.join(GOAL_SPACES)}"
            )
        regions = CUBE_TASKS[f"{self.task}_{kind}"]
        check_min_start_distance(
            min_start_distance,
            regions["cube"],
            regions["goal"],
            f"arm_{self.task}_{kind}",
            DEFAULT_MIN_START_DISTANCE,
            "cube",
            success_threshold,
        )
        super().__init__(episode_length, success_threshold, dense_reward, frame_skip, impl)
        self.name = f"arm_{self.task}_{kind}"
        self.kind = kind
        self.min_start_distance = float(min_start_distance)
        self.hand_start = hand_start
        self.goal_space = goal_space
        cube = NUM_ARM_JOINTS + 2  # the cube's free joint follows the arm and the fingers
        grip = self.num_qpos + self.num_qvel  # the grip point closes the state
        self.goal_indices = (cube, cube + 1, cube + 2)
        if goal_space == "cube_and_grip":
            self.goal_indices += (grip, grip + 1, grip + 2)

    @property
    def success_indices(self) -> tuple[int, ...]:
        """The cube's centre, whether or not the goal names the grip point too."""
        return self.goal_indices[:3]

    @property
    def goal_argument_meaning(self) -> str:
        """What ``with_goal``'s numbers are, for error messages."""
        return "the cube's centre (x, y, z)"

    def default_params(self) -> CubeParams:
        """Threshold, hand start box, cube start and goal regions of this kind."""
        regions = CUBE_TASKS[f"{self.task}_{self.kind}"]
        (goal_low, goal_high), (cube_low, cube_high) = regions["goal"], regions["cube"]
        keep_out_low, keep_out_high = regions.get("keep_out", NO_KEEP_OUT)
        over_cube = self.hand_start == "over_cube"
        hand_low, hand_high = HAND_OVER_CUBE if over_cube else HAND_START
        return CubeParams(
            success_threshold=jnp.asarray(self.success_threshold),
            hand_low=jnp.asarray(hand_low),
            hand_high=jnp.asarray(hand_high),
            goal_low=jnp.asarray((*goal_low, CUBE_HALF)),  # goals rest on the table
            goal_high=jnp.asarray((*goal_high, CUBE_HALF)),
            cube_low=jnp.asarray(cube_low),
            cube_high=jnp.asarray(cube_high),
            keep_out_low=jnp.asarray(keep_out_low),
            keep_out_high=jnp.asarray(keep_out_high),
            min_start_distance=jnp.asarray(self.min_start_distance),
            hand_over_cube=jnp.asarray(float(over_cube)),
        )

    def hand_anchor(self, objects: jax.Array, params: CubeParams) -> jax.Array:
        """The cube's start (x, y) at table height with ``hand_over_cube``, else the origin."""
        return params.hand_over_cube * jnp.array([objects[0], objects[1], 0.0])

    def place(self, key: jax.Array, params: CubeParams) -> tuple[jax.Array, jax.Array]:
        """Cube at rest, unrotated, at the first allowed of several draws; a goal in its region."""
        goal_key, cube_key = jax.random.split(key)
        goal = _uniform(goal_key, params.goal_low, params.goal_high)
        candidates = _uniform(cube_key, params.cube_low, params.cube_high, NUM_CUBE_CANDIDATES)
        inside = (candidates >= params.keep_out_low) & (candidates <= params.keep_out_high)
        far = jnp.linalg.norm(candidates - goal[:2], axis=-1) >= params.min_start_distance
        allowed = far & ~inside.all(axis=-1)  # [NUM_CUBE_CANDIDATES]
        # None allowed: the corner farthest from the goal, min_start_distance away or more (the
        # constructor's bound) and outside the bin (no corner of a cube region is in its keep-out).
        fallback = farthest_corner(params.cube_low, params.cube_high, goal[:2])
        cube = jnp.where(allowed.any(), candidates[jnp.argmax(allowed)], fallback)
        return jnp.concatenate([cube, jnp.array([CUBE_HALF, 1.0, 0.0, 0.0, 0.0])]), goal


class ArmPush(_CubeTask):
    """Push (or carry) a cube across the table to a goal position."""

    removed_bodies = ("bin",)
    task = "push"


class ArmBinPick(_CubeTask):
    """Pick up a cube and put it down inside a bin."""

    task = "binpick"
