"""The MJX planar half-cheetah: bring the torso's x position to a goal x ahead of or behind it.

State (18) = qpos (9: root x, root z, pitch, six leg angles) ++ qvel (9); the goal is one number,
the torso's x, so ``goal_indices = (0,)`` (JaxGCRL's cheetah also uses the x coordinate alone).
The model (``assets/half_cheetah.xml``) lets only the foot tips, the head tip and the torso touch
the floor; see the comments there.

Facts taken from JaxGCRL (``envs/half_cheetah.py``, Bortkiewicz et al. 2025), used as defaults:
* timestep 0.01 with 5 frames per action;
* reset noise: qpos + U(-0.1, 0.1), qvel = 0.1 * N(0, 1);
* success when |x - goal| < 0.5; the episode never terminates early;
* the goal lies 5 m from the start.
Episodes last 1000 steps (50 s), the usual half-cheetah's limit.
Where we differ on purpose: JaxGCRL's goal is always x = 5 (straight ahead); here each episode
draws a new goal at a distance uniform in [goal_min_distance, goal_max_distance] (5 m by default)
and, with ``goal_behind_probability``, behind the start instead of ahead, so the agent must learn
to run both ways and to stop. A goal redrawn mid-episode (``--redraw-goal-on-success``) follows
the same law from where the torso stands, not from x = 0 (see ``draw_goal``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxcrl.envs.base import EnvState, advance, goal_metrics, make_state
from jaxcrl.envs.mjx_base import (
    ASSETS,
    MjxGoalEnv,
    check_goal_range,
    check_reset_noise,
    check_start_apart,
)

HALF_CHEETAH_XML = ASSETS / "half_cheetah.xml"

# Reset noise past which the cheetah's physics breaks: 50 random-action steps from fresh starts
# gave NaN observations in none of 128 copies at 0.5 and 1 (nor of 32 at 0.1 and 0.3), but in 1
# of 128 at 1.5, 2 at 2, and in 3 of 32 at 3, 13 at 10, all at 100.
MAX_RESET_NOISE = 1.0


@struct.dataclass
class HalfCheetahParams:
    """Task constants of the half-cheetah (all may be vmapped over)."""

    success_threshold: jax.Array  # [] metres between torso x and goal x
    goal_min_distance: jax.Array  # [] the goal lies this far (uniform in [min, max]) from the
    goal_max_distance: jax.Array  # [] start, ahead or behind
    goal_behind_probability: jax.Array  # [] chance that the goal lies behind the start (-x)
    reset_noise: jax.Array  # [] scale of the random start pose and speed


class HalfCheetah(MjxGoalEnv):
    """Run the planar cheetah until its torso x is within a threshold of a goal x."""

    render_camera = None  # frame the cheetah and its goal (5 m apart) together
    goal_marker_radius = 0.2
    goal_marker_height = 0.2

    def __init__(
        self,
        episode_length: int = 1000,
        goal_min_distance: float = 5.0,
        goal_max_distance: float = 5.0,
        goal_behind_probability: float = 0.5,
        success_threshold: float = 0.5,
        reset_noise: float = 0.1,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
    ):
        if not 0 <= goal_min_distance <= goal_max_distance:
            raise ValueError(
                "need 0 <= goal_min_distance <= goal_max_distance, got "
                f"{goal_min_distance} and {goal_max_distance}"
            )
        if not 0 <= goal_behind_probability <= 1:
            raise ValueError(
                f"goal_behind_probability must lie in [0, 1], got {goal_behind_probability}"
            )
        check_reset_noise(reset_noise, MAX_RESET_NOISE)
        # The goal lies goal_min_distance or more from the torso's start x, wherever the noise put
        # it. Equal is not enough: with goal_min_distance = goal_max_distance = success_threshold
        # = 0.5, float32 rounding alone started 407 of 4096 resets within the threshold.
        check_start_apart(
            "goal_min_distance",
            goal_min_distance,
            success_threshold,
            "success_threshold",
            "goals lie goal_min_distance or more from the torso's start",
            "raise goal_min_distance (and goal_max_distance with it, if needed), or lower "
            "success_threshold below goal_min_distance",
            above=True,
        )
        check_goal_range(
            "goal_max_distance",
            goal_max_distance,
            goal_max_distance + reset_noise,
            success_threshold,
        )
        super().__init__(HALF_CHEETAH_XML.read_text(), frame_skip, impl)
        self.name = "half_cheetah"
        self.episode_length = int(episode_length)
        self.goal_min_distance = float(goal_min_distance)
        self.goal_max_distance = float(goal_max_distance)
        self.goal_behind_probability = float(goal_behind_probability)
        self.success_threshold = float(success_threshold)
        self.reset_noise = float(reset_noise)
        self.dense_reward = dense_reward
        self.state_size = int(self.mj_model.nq + self.mj_model.nv)  # 9 + 9 = 18
        self.goal_indices = (0,)

    def default_params(self) -> HalfCheetahParams:
        """Goal distance range, direction odds, threshold and reset noise from the constructor."""
        return HalfCheetahParams(
            success_threshold=jnp.asarray(self.success_threshold),
            goal_min_distance=jnp.asarray(self.goal_min_distance),
            goal_max_distance=jnp.asarray(self.goal_max_distance),
            goal_behind_probability=jnp.asarray(self.goal_behind_probability),
            reset_noise=jnp.asarray(self.reset_noise),
        )

    def sample_goal(
        self, key: jax.Array, start_x: jax.Array, params: HalfCheetahParams
    ) -> jax.Array:
        """Goal x [1]: start x plus a distance in [min, max], negated with the behind odds."""
        distance_key, direction_key = jax.random.split(key)
        distance = jax.random.uniform(
            distance_key, (), minval=params.goal_min_distance, maxval=params.goal_max_distance
        )
        behind = jax.random.bernoulli(direction_key, params.goal_behind_probability)
        return (start_x + jnp.where(behind, -distance, distance))[None]

    def reset(self, key: jax.Array, params: HalfCheetahParams) -> EnvState:
        """Standing pose plus noise near x = 0, with a new goal ahead or behind."""
        key, goal_key, pose_key, speed_key = jax.random.split(key, 4)
        nq, nv = self.mj_model.nq, self.mj_model.nv
        qpos = params.reset_noise * jax.random.uniform(pose_key, (nq,), minval=-1.0, maxval=1.0)
        qvel = params.reset_noise * jax.random.normal(speed_key, (nv,))
        goal = self.sample_goal(goal_key, qpos[0], params)
        data = self.physics_from(qpos, qvel)
        metrics = goal_metrics(qpos[:1], goal, params.success_threshold)
        return make_state(data, jnp.concatenate([qpos, qvel]), goal, key, metrics)

    def draw_goal(self, state: EnvState, key: jax.Array, params: HalfCheetahParams) -> EnvState:
        """``state`` (one copy) pursuing a goal x drawn by the episode's law from its torso's x.

        Why not a fresh episode's goal: that lies 5 m from x = 0, so a cheetah standing at its
        goal of +-5 m got the same goal again in 49% of redraws, and otherwise a run of 10 m;
        from its own x the new goal is as far as an episode's first one (never within the 0.5 m
        threshold while ``goal_min_distance`` exceeds it).
        """
        return self.with_goal(state, self.sample_goal(key, state.obs[0], params))

    def step(self, state: EnvState, action: jax.Array, params: HalfCheetahParams) -> EnvState:
        """Apply ``action`` (6 motor torques in [-1, 1]) for ``frame_skip`` physics steps."""
        data = self.simulate(state.physics, action)
        metrics = goal_metrics(data.qpos[:1], state.goal, params.success_threshold)
        state_vector = jnp.concatenate([data.qpos, data.qvel])
        return advance(state, data, state_vector, metrics, self.dense_reward)
