"""The MJX humanoid on open ground and in mazes: the torso's (x, y) must reach a goal.

State = qpos (24: torso xyz, torso quaternion wxyz, 17 joint angles) ++ qvel (23), so the goal
names ``state[0:2]``, the torso's (x, y). The model (``assets/humanoid.xml``) lets only the two
foot spheres touch the floor (and, in mazes, one trunk capsule touch the walls); see the comments
there.

Facts taken from JaxGCRL (``envs/humanoid.py`` and ``humanoid_maze.py``, Bortkiewicz et al. 2025),
used as the defaults here:
* timestep 0.003 with 5 frames per action; MJX solver Newton, 1 iteration, 4 line-search steps,
  Euler damping disabled;
* healthy torso height in (1.0, 2.0), else the episode terminates;
* open ground: goal at a uniform angle and a distance uniform in [1, 5] m from the start (uniform
  in distance, not by area, so near goals are denser); success within 0.5 m;
* mazes: cells of 2 m (``maze_size_scaling=2``, half the ant's 4 m) with walls 1 m high; the same
  0.5 m threshold.
Where we differ on purpose: the goal is the torso's (x, y) only (JaxGCRL adds a fixed target
height of 1.25 m, which carries no information); reset noise is U(-0.01, 0.01) on qpos and qvel
(the usual humanoid's; JaxGCRL uses none); every maze episode draws a new start and goal cell
(JaxGCRL starts in one fixed cell) with a uniform jitter inside the cell; episodes last 1000
steps on open ground, as for the ant, and longer in long mazes (``humanoid_maze_episode_length``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.base import EnvState, GoalEnv, advance, goal_metrics, make_state
from jaxcrl.envs.maze_walls import WalkerMaze, maze_episode_length, walker_maze_xml
from jaxcrl.envs.mjx_base import (
    ASSETS,
    MjxGoalEnv,
    check_goal_ring,
    check_reset_noise,
    healthy_range,
    unhealthy_setting,
)

HUMANOID_XML = ASSETS / "humanoid.xml"

# Reset noise past which the humanoid's physics breaks, by terminate_when_unhealthy. 50
# random-action steps from fresh starts gave NaN observations (in the step that ended the
# episode or before) in none of 128 copies at 0.01, 1 and 2 with it off, but in 1 of 32 at 3 and
# all at 10. With it on, a fall ends most noisy starts first: none of 64 at 10, 1 at 30, 25 at 300.
MAX_RESET_NOISE = {False: 2.0, True: 10.0}

# Which humanoid geoms touch maze walls: MJX checks every (geom, wall box) pair each step, so
# this sets the cost. "trunk" is the one invisible capsule around pelvis, torso and head.
WALL_CONTACTS = ("trunk", "trunk_and_feet")


@struct.dataclass
class HumanoidParams:
    """Task constants of the open-ground humanoid (all may be vmapped over)."""

    success_threshold: jax.Array  # [] metres between torso (x, y) and goal
    goal_min_distance: jax.Array  # [] goal distance from the start is uniform in [min, max]
    goal_max_distance: jax.Array  # []
    healthy_z_min: jax.Array  # [] torso height below which the humanoid has fallen
    healthy_z_max: jax.Array  # [] torso height above which it has left the ground
    reset_noise: jax.Array  # [] start pose and speed are U(-noise, noise) around standing


class Humanoid(MjxGoalEnv):
    """Walk the humanoid's torso to a goal at a random angle and distance from its start."""

    render_camera = None  # frame the humanoid and its goal (up to 5 m apart) together
    render_min_distance = 4.5  # a standing humanoid (1.4 m) and a goal 1 m away both in view
    render_lookat_height = 0.7
    goal_marker_radius = 0.25
    goal_marker_height = 1.25
    # Constructor arguments that the mazes built on this task set themselves: not env options.
    internal_arguments: tuple[str, ...] = ("xml",)

    def __init__(
        self,
        episode_length: int = 1000,
        goal_min_distance: float = 1.0,
        goal_max_distance: float = 5.0,
        success_threshold: float = 0.5,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        reset_noise: float = 0.01,
        terminate_when_unhealthy: bool = True,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
        xml: str | None = None,
    ):
        if not 0 <= goal_min_distance <= goal_max_distance:
            raise ValueError(
                "need 0 <= goal_min_distance <= goal_max_distance, got "
                f"{goal_min_distance} and {goal_max_distance}"
            )
        check_reset_noise(
            reset_noise,
            MAX_RESET_NOISE[terminate_when_unhealthy],
            " " + unhealthy_setting(terminate_when_unhealthy),
        )
        self.healthy_z_range = healthy_range(healthy_z_range)
        super().__init__(xml or HUMANOID_XML.read_text(), frame_skip, impl)
        self.name = "humanoid"
        self.episode_length = int(episode_length)
        self.goal_min_distance = float(goal_min_distance)
        self.goal_max_distance = float(goal_max_distance)
        self.success_threshold = float(success_threshold)
        self.reset_noise = float(reset_noise)
        self.terminate_when_unhealthy = terminate_when_unhealthy
        self.dense_reward = dense_reward
        self.home_qpos = jnp.asarray(self.mj_model.qpos0, jnp.float32)  # standing, torso at 1.4 m
        self.state_size = int(self.mj_model.nq + self.mj_model.nv)  # 24 + 23 = 47
        self.goal_indices = (0, 1)
        self.check_placement()

    def check_placement(self) -> None:
        """ValueError naming the option when a reset may start the torso within the success
        threshold of its goal, or put goals farther out than float32 tells the threshold."""
        check_goal_ring(
            ("goal_min_distance", "goal_max_distance"),
            self.goal_min_distance,
            self.goal_max_distance,
            self.success_threshold,
            self.reset_noise,
        )

    def default_params(self) -> HumanoidParams:
        """Goal distances, threshold, healthy height range and reset noise from the constructor."""
        return HumanoidParams(
            success_threshold=jnp.asarray(self.success_threshold),
            goal_min_distance=jnp.asarray(self.goal_min_distance),
            goal_max_distance=jnp.asarray(self.goal_max_distance),
            healthy_z_min=jnp.asarray(self.healthy_z_range[0]),
            healthy_z_max=jnp.asarray(self.healthy_z_range[1]),
            reset_noise=jnp.asarray(self.reset_noise),
        )

    def goal_offset(self, key: jax.Array, params: HumanoidParams) -> jax.Array:
        """A goal's (x, y) [2] from the start: uniform angle, distance uniform in [min, max]."""
        angle_key, distance_key = jax.random.split(key)
        angle = jax.random.uniform(angle_key, (), minval=0.0, maxval=2 * jnp.pi)
        distance = jax.random.uniform(
            distance_key, (), minval=params.goal_min_distance, maxval=params.goal_max_distance
        )
        return distance * jnp.stack([jnp.cos(angle), jnp.sin(angle)])

    def sample_start_goal(
        self, key: jax.Array, params: HumanoidParams
    ) -> tuple[jax.Array, jax.Array]:
        """Start at the origin; goal at a uniform angle and a uniform distance in [min, max]."""
        return jnp.zeros(2), self.goal_offset(key, params)

    def draw_goal(self, state: EnvState, key: jax.Array, params: HumanoidParams) -> EnvState:
        """``state`` (one copy) pursuing a goal drawn by the episode's law around its torso.

        A fresh episode's goal lies 1 to 5 m from the origin, so a humanoid standing at its goal
        was sent up to 10 m; from its own (x, y) the new goal is as far as an episode's first.
        """
        return self.with_goal(state, state.obs[:2] + self.goal_offset(key, params))

    def reset(self, key: jax.Array, params: HumanoidParams) -> EnvState:
        """Standing pose and speed with small noise at a new start, with a new goal."""
        key, place_key, pose_key, speed_key = jax.random.split(key, 4)
        start, goal = self.sample_start_goal(place_key, params)
        nq, nv = self.mj_model.nq, self.mj_model.nv
        qpos = self.home_qpos + jax.random.uniform(
            pose_key, (nq,), minval=-params.reset_noise, maxval=params.reset_noise
        )
        qpos = qpos.at[:2].add(start)
        qpos = qpos.at[3:7].set(qpos[3:7] / jnp.linalg.norm(qpos[3:7]))
        qvel = jax.random.uniform(
            speed_key, (nv,), minval=-params.reset_noise, maxval=params.reset_noise
        )
        data = self.physics_from(qpos, qvel)
        metrics = goal_metrics(qpos[:2], goal, params.success_threshold)
        return make_state(data, jnp.concatenate([qpos, qvel]), goal, key, metrics)

    def step(self, state: EnvState, action: jax.Array, params: HumanoidParams) -> EnvState:
        """Apply ``action`` (17 motor torques in [-1, 1]) for ``frame_skip`` physics steps."""
        data = self.simulate(state.physics, action)
        qpos, qvel = data.qpos, data.qvel
        height = qpos[2]
        healthy = (height > params.healthy_z_min) & (height < params.healthy_z_max)
        terminated = (~healthy).astype(jnp.float32) if self.terminate_when_unhealthy else 0.0
        metrics = goal_metrics(qpos[:2], state.goal, params.success_threshold)
        state_vector = jnp.concatenate([qpos, qvel])
        return advance(state, data, state_vector, metrics, self.dense_reward, terminated)


def humanoid_maze_xml(
    walls: np.ndarray, cell_size: float, wall_height: float = 1.0, wall_contacts: str = "trunk"
) -> str:
    """The humanoid model plus box walls for a wall grid; cell (r, c) spans x in [c, c+1) * size.

    Adjacent wall cells merge into few boxes (``maze_walls.wall_boxes``). Only the trunk guard
    capsule and optionally the two feet touch the walls (``wall_contacts``); wall contacts are
    frictionless (condim 1, enforced by a higher priority) so each adds one constraint row.
    """
    if wall_contacts not in WALL_CONTACTS:
        raise ValueError(f"wall_contacts={wall_contacts!r}; choose one of {WALL_CONTACTS}")
    return walker_maze_xml(
        HUMANOID_XML.read_text(),
        walls,
        cell_size,
        wall_height,
        body_geom="wall_guard",
        feet_touch_walls=wall_contacts == "trunk_and_feet",
    )


# Episode-length rule of the humanoid mazes (the ant's rule, envs/ant.py, at a walker's pace):
# 1000 steps, unless the maze's longest shortest path (king moves of cell_size metres) needs more
# at 50 steps per metre (1.33 m/s at 0.015 s per step), rounded up to a hundred. With 2 m cells
# that keeps 1000 for u_maze (6 cells) and gives big (11) 1100 and hardest (19) 1900.
HUMANOID_MAZE_MIN_EPISODE_LENGTH = 1000
HUMANOID_MAZE_STEPS_PER_METRE = 50


def humanoid_maze_episode_length(walls: np.ndarray, cell_size: float) -> int:
    """Steps per humanoid-maze episode for a wall grid: 1000, or more for long mazes."""
    return maze_episode_length(
        walls, cell_size, HUMANOID_MAZE_STEPS_PER_METRE, HUMANOID_MAZE_MIN_EPISODE_LENGTH
    )


class HumanoidMaze(WalkerMaze, Humanoid):
    """Walk the humanoid from a random free cell of a maze to a goal in another free cell.

    Goals lie in the layout's goal region (its ``G`` cells, else every free cell); the start is
    any free cell but the goal's.
    """

    render_camera = "overview"
    goal_marker_radius = 0.4
    goal_marker_height = 0.5
    draw_goal = GoalEnv.draw_goal  # a fresh episode's goal: goals lie in cells, not around it

    def __init__(
        self,
        layout: str = "u_maze",
        cell_size: float = 2.0,
        cell_jitter: float = 0.5,
        episode_length: int | None = None,
        success_threshold: float = 0.5,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        reset_noise: float = 0.01,
        terminate_when_unhealthy: bool = True,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
        wall_contacts: str = "trunk",
    ):
        # The trunk guard (radius 0.2) must start clear of the walls, with a 0.3 m margin.
        name = self.place_in_maze(
            "humanoid",
            layout,
            cell_size,
            cell_jitter,
            0.5,
            reset_noise,
            torso_radius=0.2,
            largest_reset_noise=MAX_RESET_NOISE[terminate_when_unhealthy],
        )
        super().__init__(
            episode_length=episode_length or humanoid_maze_episode_length(self.walls, cell_size),
            success_threshold=success_threshold,
            healthy_z_range=healthy_z_range,
            reset_noise=reset_noise,
            terminate_when_unhealthy=terminate_when_unhealthy,
            dense_reward=dense_reward,
            frame_skip=frame_skip,
            impl=impl,
            xml=humanoid_maze_xml(self.walls, self.cell_size, wall_contacts=wall_contacts),
        )
        self.name = name
