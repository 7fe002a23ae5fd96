"""The MJX planar pusher: a three-link arm pushes a puck across a table to a goal position.

State (12) = qpos (5: shoulder, elbow, wrist angles, puck x, puck y) ++ qvel (5) ++ fingertip
(x, y); the goal names the puck's position, ``state[3:5]``. The fingertip comes from the joint
angles by forward kinematics (link lengths read from the model), so no ``mjx.forward`` is needed.

Facts taken from JaxGCRL (``envs/pusher.py``, Bortkiewicz et al. 2025), used as defaults. Its
positions are offsets from the puck's home (0.45, -0.05); here they are written in table
coordinates (offset + home):
* the puck starts at offset x in U(-0.3, 0), y in U(-0.2, 0.2): table x in [0.15, 0.45],
  y in [-0.25, 0.15];
* ``pusher_easy`` goals: offset x in U(-0.55, -0.25), y in U(-0.2, 0.2), i.e. a region just behind
  the puck's start region (table x in [-0.10, 0.20], y in [-0.25, 0.15]);
* ``pusher_hard`` goals: offset x in U(-0.65, 0.35), y in U(-0.55, 0.45), a 1 m square around
  the start (table x in [-0.20, 0.80], y in [-0.60, 0.40]);
* the puck starts at least 0.17 m from the goal; success when the puck is within 0.1 m of it;
* arm speeds start at U(-0.005, 0.005); timestep 0.01 with 5 frames per action.
Episodes last 100 steps (5 s), the usual pusher's limit. Where we differ on purpose: the arm is
planar (3 joints instead of 7); the 0.17 m minimum is enforced by moving the puck away from the
goal along the line joining them, within the arm's reach (JaxGCRL rescales the puck's offset, which
does not guarantee it; ``sample_puck_goal``); goals lie only where the arm can push the puck. The
fingertip reaches 0.87 m from the shoulder (0, -0.6), so a puck it touches (hand radius 0.02 m +
puck radius 0.05 m) lies at most 0.94 m away, and the upper arm (radius 0.04 m) keeps a puck's
centre 0.09 m from the shoulder or more. Sampling 3M joint angles over the joint ranges showed
16.6% of the hard rectangle more than 7 cm from every fingertip position (nearly all of it beyond
0.94 m; the puck could get there only by sliding), none of the easy one. Goals are therefore drawn
in the rectangle and the annulus of radii [0.10, 0.94] m around the shoulder (0.09 m plus a 1 cm
margin; ``goal_min_reach``, ``goal_max_reach``): 82% of the hard rectangle, all of the easy one,
whose goals are unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxcrl.envs.arm import check_min_start_distance, farthest_corner
from jaxcrl.envs.base import EnvState, advance, goal_metrics, make_state
from jaxcrl.envs.mjx_base import ASSETS, MjxGoalEnv

PUSHER_XML = ASSETS / "pusher.xml"

# Rectangles (x_min, y_min), (x_max, y_max) in table coordinates; see the module docstring.
# Goals are also kept within the arm's reach (Pusher.goal_reach), by redrawing up to GOAL_DRAWS
# times.
PUCK_START_REGION = ((0.15, -0.25), (0.45, 0.15))
GOAL_REGIONS = {
    "easy": ((-0.10, -0.25), (0.20, 0.15)),
    "hard": ((-0.20, -0.60), (0.80, 0.40)),
}
# 18% of hard goals fall outside the reach annulus: 16 draws all miss with probability 1e-12.
GOAL_DRAWS = 16
DEFAULT_MIN_START_DISTANCE = 0.17  # metres between the puck's start and the goal, at least


@struct.dataclass
class PusherParams:
    """Task constants: where the puck starts, where goals lie, and the success threshold."""

    success_threshold: jax.Array  # [] metres between puck and goal
    puck_low: jax.Array  # [2] the puck starts uniformly in the rectangle [low, high]
    puck_high: jax.Array  # [2]
    goal_low: jax.Array  # [2] goals lie uniformly in the rectangle [low, high] ...
    goal_high: jax.Array  # [2]
    goal_min_reach: jax.Array  # [] ... and this far from the shoulder or more,
    goal_max_reach: jax.Array  # [] up to this far: where the arm can push the puck
    min_start_distance: jax.Array  # [] the puck starts at least this far from the goal


class Pusher(MjxGoalEnv):
    """Push a puck with a planar arm until it lies within a threshold of a goal point."""

    render_camera = "top"
    goal_marker_radius = 0.05
    goal_marker_height = 0.0

    def __init__(
        self,
        kind: str = "easy",
        episode_length: int = 100,
        success_threshold: float = 0.1,
        min_start_distance: float = DEFAULT_MIN_START_DISTANCE,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
    ):
        if kind not in GOAL_REGIONS:
            raise ValueError(f"unknown pusher kind {kind!r}; choose one of {sorted(GOAL_REGIONS)}")
        check_min_start_distance(
            min_start_distance,
            PUCK_START_REGION,
            GOAL_REGIONS[kind],
            f"pusher_{kind}",
            DEFAULT_MIN_START_DISTANCE,
            "puck",
            success_threshold,
        )
        super().__init__(PUSHER_XML.read_text(), frame_skip, impl)
        model = self.mj_model
        self.shoulder = tuple(float(x) for x in model.body("upper_arm").pos[:2])  # table (x, y)
        self.link_lengths = tuple(
            float(x)
            for x in (
                model.body("forearm").pos[0],
                model.body("hand").pos[0],
                model.site("fingertip").pos[0],
            )
        )
        # Radii around the shoulder where the arm can push the puck's centre: the upper arm's
        # radius plus the puck's (+1 cm) out to the fingertip's reach plus hand and puck radii.
        puck_radius = float(model.geom("puck").size[0])
        self.goal_reach = (
            float(model.geom("upper_arm").size[0]) + puck_radius + 0.01,
            sum(self.link_lengths) + float(model.geom("hand").size[0]) + puck_radius,
        )  # (0.10, 0.94) m
        self.name = f"pusher_{kind}"
        self.kind = kind
        self.episode_length = int(episode_length)
        self.success_threshold = float(success_threshold)
        self.min_start_distance = float(min_start_distance)
        self.dense_reward = dense_reward
        self.state_size = int(model.nq + model.nv + 2)  # 5 + 5 + 2 = 12
        self.goal_indices = (3, 4)

    def default_params(self) -> PusherParams:
        """Start and goal rectangles of this kind, threshold and minimum start distance."""
        goal_low, goal_high = GOAL_REGIONS[self.kind]
        return PusherParams(
            success_threshold=jnp.asarray(self.success_threshold),
            puck_low=jnp.asarray(PUCK_START_REGION[0]),
            puck_high=jnp.asarray(PUCK_START_REGION[1]),
            goal_low=jnp.asarray(goal_low),
            goal_high=jnp.asarray(goal_high),
            goal_min_reach=jnp.asarray(self.goal_reach[0]),
            goal_max_reach=jnp.asarray(self.goal_reach[1]),
            min_start_distance=jnp.asarray(self.min_start_distance),
        )

    def fingertip(self, angles: jax.Array) -> jax.Array:
        """Fingertip (x, y) on the table of the three joint angles [3], by forward kinematics."""
        headings = jnp.cumsum(angles)  # each link's direction in the table plane
        lengths = jnp.asarray(self.link_lengths)
        offset = jnp.stack([lengths @ jnp.cos(headings), lengths @ jnp.sin(headings)])
        return jnp.asarray(self.shoulder) + offset

    def _state_vector(self, qpos: jax.Array, qvel: jax.Array) -> jax.Array:
        """[12] = qpos, qvel, fingertip xy."""
        return jnp.concatenate([qpos, qvel, self.fingertip(qpos[:3])])

    def sample_goal(self, key: jax.Array, params: PusherParams) -> jax.Array:
        """A goal [2] uniform in the goal rectangle within the arm's reach annulus.

        The first of ``GOAL_DRAWS`` uniform draws in the rectangle that lies in the annulus (the
        first draw is the one an unrestricted sampler would make, so easy goals are unchanged); if
        none does, the first moved radially into the annulus.
        """
        first = jax.random.uniform(key, (2,), minval=params.goal_low, maxval=params.goal_high)
        more = jax.random.uniform(
            jax.random.fold_in(key, 1),
            (GOAL_DRAWS - 1, 2),
            minval=params.goal_low,
            maxval=params.goal_high,
        )
        draws = jnp.concatenate([first[None], more])  # [GOAL_DRAWS, 2]
        offsets = draws - jnp.asarray(self.shoulder)
        radii = jnp.linalg.norm(offsets, axis=-1)
        inside = (radii >= params.goal_min_reach) & (radii <= params.goal_max_reach)
        moved = jnp.asarray(self.shoulder) + offsets[0] * (
            jnp.clip(radii[0], params.goal_min_reach, params.goal_max_reach)
            / jnp.maximum(radii[0], 1e-6)
        )
        return jnp.where(inside.any(), draws[jnp.argmax(inside)], moved)

    def sample_puck_goal(self, key: jax.Array, params: PusherParams) -> tuple[jax.Array, jax.Array]:
        """Puck start and goal [2] each, uniform in their regions, at least the minimum apart.

        A puck too near the goal slides away from it along their line to the minimum distance; if
        that leaves the arm's reach (the annulus goals lie in), it starts instead at the corner of
        its start region farthest from the goal, which the constructor's bound on the minimum
        keeps far enough (the start region lies in the annulus).
        """
        puck_key, goal_key = jax.random.split(key)
        puck = jax.random.uniform(puck_key, (2,), minval=params.puck_low, maxval=params.puck_high)
        goal = self.sample_goal(goal_key, params)
        apart = puck - goal
        distance = jnp.linalg.norm(apart)
        # Too close: slide the puck away from the goal along their line (any direction if equal).
        direction = jnp.where(distance > 1e-6, apart / jnp.maximum(distance, 1e-6), jnp.eye(2)[0])
        slid = goal + params.min_start_distance * direction
        reach = jnp.linalg.norm(slid - jnp.asarray(self.shoulder))
        in_reach = (reach >= params.goal_min_reach) & (reach <= params.goal_max_reach)
        corner = farthest_corner(params.puck_low, params.puck_high, goal)
        moved = jnp.where(in_reach, slid, corner)
        puck = jnp.where(distance < params.min_start_distance, moved, puck)
        return puck, goal

    def reset(self, key: jax.Array, params: PusherParams) -> EnvState:
        """Arm straight out with tiny random speeds; a new puck start and goal."""
        key, place_key, speed_key = jax.random.split(key, 3)
        puck, goal = self.sample_puck_goal(place_key, params)
        qpos = jnp.concatenate([jnp.zeros(3), puck])
        arm_speed = jax.random.uniform(speed_key, (3,), minval=-0.005, maxval=0.005)
        qvel = jnp.concatenate([arm_speed, jnp.zeros(2)])
        data = self.physics_from(qpos, qvel)
        metrics = goal_metrics(puck, goal, params.success_threshold)
        return make_state(data, self._state_vector(qpos, qvel), goal, key, metrics)

    def step(self, state: EnvState, action: jax.Array, params: PusherParams) -> EnvState:
        """Apply ``action`` (3 joint torques in [-1, 1]) for ``frame_skip`` physics steps."""
        data = self.simulate(state.physics, action)
        metrics = goal_metrics(data.qpos[3:5], state.goal, params.success_threshold)
        state_vector = self._state_vector(data.qpos, data.qvel)
        return advance(state, data, state_vector, metrics, self.dense_reward)
