"""The MJX quadruped ("ant") on open ground and in mazes: the torso's (x, y) must reach a goal.

State = qpos (15: torso xyz, torso quaternion wxyz, 8 joint angles) ++ qvel (14), so the goal
names ``state[0:2]``, the torso's (x, y). The model (``assets/ant.xml``) lets only the four foot
spheres touch the floor, which is what makes it fast under MJX; see the comments there.

Facts taken from JaxGCRL (``jaxgcrl/envs/ant.py`` and ``ant_maze.py``, Bortkiewicz et al. 2025),
used as the defaults here:
* timestep 0.01 with 5 frames per action; MJX solver Newton, 1 iteration, 4 line-search steps;
* reset noise: qpos + U(-0.1, 0.1), qvel = 0.1 * N(0, 1);
* healthy torso height in (0.2, 1.0), else the episode terminates; episodes of 1000 steps;
* open ground: the goal lies on the circle of radius 10 around the start, at a uniform angle;
* mazes: cells of 4 m (``maze_size_scaling=4``), success when the torso is within 0.5 m of the goal
  (the same 0.5 m threshold as on open ground).
Where we differ on purpose: every episode draws a new start and goal (JaxGCRL's mazes start in one
fixed cell); maze goals get a uniform jitter inside their cell instead of the cell centre; the
episode also terminates when the torso turns upside down; the quaternion noise is renormalised.
The motors' gear is 60 by default (``motor_gear``; JaxGCRL's and the model file's is 150): at 150
this light MJX ant jumps or flips out of its healthy range after a median of 23 random-action
steps and reached none of its 10 m goals in 10M env steps; at 60 it learns them (BENCHMARKS.md,
"Ant diagnostics" and "Ant with weaker motors"). JaxGCRL's ant keeps 150 and gets long episodes
from Brax's spring pipeline instead.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.base import EnvState, GoalEnv, advance, goal_metrics, make_state
from jaxcrl.envs.maze_walls import WalkerMaze, maze_episode_length, walker_maze_xml
from jaxcrl.envs.mjx_base import (
    ASSETS,
    MjxGoalEnv,
    check_at_most,
    check_goal_ring,
    check_reset_noise,
    healthy_range,
    unhealthy_setting,
)

ANT_XML = ASSETS / "ant.xml"

# Reset noise past which the ant's physics breaks, by terminate_when_unhealthy. 50 random-action
# steps from fresh starts gave NaN observations (in the step that ended the episode or before)
# in none of 256 copies at 0.1, 0.25 and 0.5 with it off (nor in 32 over 1000 steps), but in 1 of
# 64 at 0.75 and 1.0, 2 at 1.5 and 2, 10 at 3. With it on, a fall ends most noisy starts first:
# none of 64 up to 30, 14 at 100.
MAX_RESET_NOISE = {False: 0.5, True: 30.0}
# Motor gear past which the ant's physics breaks, by terminate_when_unhealthy. With it off, 50
# random-action steps gave NaN observations in none of 256 copies at gear 300 and 500, but in 2
# of 256 at 700, 7 of 64 at 1000 and all 16 at 10^4. With it on, the flips such torques cause
# end the episode first: none of 32 up to 3 x 10^4.
MAX_MOTOR_GEAR = {False: 500.0, True: 3e4}


@struct.dataclass
class AntParams:
    """Task constants of the open-ground ant (all may be vmapped over)."""

    success_threshold: jax.Array  # [] metres between torso (x, y) and goal
    goal_min_radius: jax.Array  # [] goals lie in the annulus [min, max] around the start
    goal_max_radius: jax.Array  # []
    healthy_z_min: jax.Array  # [] torso height below which the ant has fallen
    healthy_z_max: jax.Array  # [] torso height above which it has jumped off the ground
    reset_noise: jax.Array  # [] scale of the random start pose and speed


def with_motor_gear(xml: str, gear: float) -> str:
    """The ant MJCF ``xml`` with every motor's gear (torque at |action| = 1) set to ``gear``."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        raise ValueError(f"xml is not MJCF text ({error}); give a MuJoCo XML model") from None
    for motor in root.iter("motor"):
        if motor.get("gear") is not None or motor.get("joint") is None:
            motor.set("gear", f"{gear:g}")
    return ET.tostring(root, encoding="unicode")


class Ant(MjxGoalEnv):
    """Walk the ant's torso to a goal on a circle (or annulus) around its start."""

    render_camera = None  # frame the ant and its goal (10 m apart) together
    goal_marker_radius = 0.4
    goal_marker_height = 0.25
    # Constructor arguments that the tasks built on this one set themselves: not env options.
    internal_arguments: tuple[str, ...] = ("xml",)

    def __init__(
        self,
        episode_length: int = 1000,
        goal_min_radius: float = 10.0,
        goal_max_radius: float = 10.0,
        success_threshold: float = 0.5,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        reset_noise: float = 0.1,
        terminate_when_unhealthy: bool = True,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
        xml: str | None = None,
        motor_gear: float = 60.0,
    ):
        if not 0 <= goal_min_radius <= goal_max_radius:
            raise ValueError(
                "need 0 <= goal_min_radius <= goal_max_radius, got "
                f"{goal_min_radius} and {goal_max_radius}"
            )
        if motor_gear <= 0:
            raise ValueError(f"motor_gear must be positive, got {motor_gear}")
        measured = " " + unhealthy_setting(terminate_when_unhealthy)
        check_at_most(
            "motor_gear",
            motor_gear,
            MAX_MOTOR_GEAR[terminate_when_unhealthy],
            f"stronger motors gave NaN physics within 50 random steps{measured}",
        )
        check_reset_noise(reset_noise, MAX_RESET_NOISE[terminate_when_unhealthy], measured)
        self.healthy_z_range = healthy_range(healthy_z_range)
        super().__init__(with_motor_gear(xml or ANT_XML.read_text(), motor_gear), frame_skip, impl)
        self.name = "ant"
        self.motor_gear = float(motor_gear)
        self.episode_length = int(episode_length)
        self.goal_min_radius = float(goal_min_radius)
        self.goal_max_radius = float(goal_max_radius)
        self.success_threshold = float(success_threshold)
        self.reset_noise = float(reset_noise)
        self.terminate_when_unhealthy = terminate_when_unhealthy
        self.dense_reward = dense_reward
        self.home_qpos = jnp.asarray(self.mj_model.key_qpos[0], jnp.float32)  # standing pose
        self.state_size = int(self.mj_model.nq + self.mj_model.nv)  # 15 + 14 = 29
        self.goal_indices = (0, 1)
        self.check_placement()

    def check_placement(self) -> None:
        """ValueError naming the option when a reset may start the torso within the success
        threshold of its goal, or put goals farther out than float32 tells the threshold."""
        check_goal_ring(
            ("goal_min_radius", "goal_max_radius"),
            self.goal_min_radius,
            self.goal_max_radius,
            self.success_threshold,
            self.reset_noise,
        )

    def default_params(self) -> AntParams:
        """Goal annulus, threshold, healthy height range and reset noise from the constructor."""
        return AntParams(
            success_threshold=jnp.asarray(self.success_threshold),
            goal_min_radius=jnp.asarray(self.goal_min_radius),
            goal_max_radius=jnp.asarray(self.goal_max_radius),
            healthy_z_min=jnp.asarray(self.healthy_z_range[0]),
            healthy_z_max=jnp.asarray(self.healthy_z_range[1]),
            reset_noise=jnp.asarray(self.reset_noise),
        )

    def goal_offset(self, key: jax.Array, params: AntParams) -> jax.Array:
        """A goal's (x, y) [2] from the start: uniform angle, uniform by area in the annulus."""
        angle_key, radius_key = jax.random.split(key)
        angle = jax.random.uniform(angle_key, (), minval=0.0, maxval=2 * jnp.pi)
        squared = jax.random.uniform(
            radius_key, (), minval=params.goal_min_radius**2, maxval=params.goal_max_radius**2
        )
        return jnp.sqrt(squared) * jnp.stack([jnp.cos(angle), jnp.sin(angle)])

    def sample_start_goal(self, key: jax.Array, params: AntParams) -> tuple[jax.Array, jax.Array]:
        """Start at the origin; goal at a uniform angle, radius uniform by area in the annulus."""
        return jnp.zeros(2), self.goal_offset(key, params)

    def draw_goal(self, state: EnvState, key: jax.Array, params: AntParams) -> EnvState:
        """``state`` (one copy) pursuing a goal drawn by the episode's law around its torso.

        A fresh episode's goal lies 10 m from the origin, so an ant standing at its goal 10 m out
        was sent up to 20 m; from its own (x, y) the new goal is as far as an episode's first.
        Every body stays where it is (``GoalEnv.with_goal``: ant_soccer's own moves its ball).
        """
        return GoalEnv.with_goal(self, state, state.obs[:2] + self.goal_offset(key, params))

    def reset(self, key: jax.Array, params: AntParams) -> EnvState:
        """New random start pose and speed at a new start, with a new goal."""
        key, place_key, pose_key, speed_key = jax.random.split(key, 4)
        start, goal = self.sample_start_goal(place_key, params)
        nq, nv = self.mj_model.nq, self.mj_model.nv
        qpos = self.home_qpos + params.reset_noise * jax.random.uniform(
            pose_key, (nq,), minval=-1.0, maxval=1.0
        )
        qpos = qpos.at[:2].add(start)
        qpos = qpos.at[3:7].set(qpos[3:7] / jnp.linalg.norm(qpos[3:7]))
        qvel = params.reset_noise * jax.random.normal(speed_key, (nv,))
        qpos, qvel = self.place_objects(place_key, params, qpos, qvel, goal)
        return self.state_at(qpos, qvel, goal, key, params)

    def state_at(
        self, qpos: jax.Array, qvel: jax.Array, goal: jax.Array, key: jax.Array, params: AntParams
    ) -> EnvState:
        """A fresh episode's state at (qpos [nq], qvel [nv]) pursuing ``goal``."""
        state_vector = jnp.concatenate([qpos, qvel])
        metrics = goal_metrics(self.goal_of(state_vector), goal, params.success_threshold)
        return make_state(self.physics_from(qpos, qvel), state_vector, goal, key, metrics)

    def place_objects(
        self, key: jax.Array, params: AntParams, qpos: jax.Array, qvel: jax.Array, goal: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Set the start of any movable object in (qpos [nq], qvel [nv]); the ant alone has none.

        ``key`` is the one that drew the start and goal: fold something into it for new draws.
        """
        return qpos, qvel

    def step(self, state: EnvState, action: jax.Array, params: AntParams) -> EnvState:
        """Apply ``action`` (8 motor torques in [-1, 1]) for ``frame_skip`` physics steps."""
        data = self.simulate(state.physics, action)
        qpos, qvel = data.qpos, data.qvel
        height = qpos[2]
        # z of the torso's up axis from the quaternion (w, x, y, z): negative when upside down.
        torso_up_z = 1.0 - 2.0 * (qpos[4] ** 2 + qpos[5] ** 2)
        healthy = (height > params.healthy_z_min) & (height < params.healthy_z_max)
        healthy = healthy & (torso_up_z > 0.0)
        terminated = (~healthy).astype(jnp.float32) if self.terminate_when_unhealthy else 0.0
        state_vector = jnp.concatenate([qpos, qvel])
        metrics = goal_metrics(self.goal_of(state_vector), state.goal, params.success_threshold)
        return advance(state, data, state_vector, metrics, self.dense_reward, terminated)


# Which ant geoms touch maze walls. MJX evaluates every candidate (geom, wall box) pair each step,
# so this sets the cost: measured on a 2-core CPU, u_maze (5 boxes) at 64 envs runs at about 11k
# steps/s with torso and feet, 12k with the feet only (JaxGCRL's choice: its torso has contype 0),
# 18k with the torso only (the legs then pass through walls, but walls still stop the torso).
WALL_CONTACTS = ("torso_and_feet", "feet", "torso")


def ant_maze_xml(
    walls: np.ndarray,
    cell_size: float,
    wall_height: float = 1.0,
    wall_contacts: str = "torso_and_feet",
) -> str:
    """The ant model plus box walls for a wall grid; cell (r, c) spans x in [c, c+1) * cell_size.

    Adjacent wall cells merge into few boxes (``maze_walls.wall_boxes``). Only the torso sphere
    and/or the four foot spheres touch the walls (``wall_contacts``).
    """
    if wall_contacts not in WALL_CONTACTS:
        raise ValueError(f"wall_contacts={wall_contacts!r}; choose one of {WALL_CONTACTS}")
    return walker_maze_xml(
        ANT_XML.read_text(),
        walls,
        cell_size,
        wall_height,
        body_geom=None if wall_contacts == "feet" else "torso",
        feet_touch_walls=wall_contacts != "torso",
    )


# Episode-length rule of the ant mazes: JaxGCRL's 1000 steps, unless the maze's longest shortest
# path (king moves of cell_size metres) needs more at 8 steps per metre (2.5 m/s at 0.05 s per
# step), rounded up to a hundred. With 4 m cells that keeps 1000 up to 31 cells, which covers
# u_maze (6), big (11) and hardest (19); the 70-cell spiral gets 2300.
ANT_MAZE_MIN_EPISODE_LENGTH = 1000
ANT_MAZE_STEPS_PER_METRE = 8


def ant_maze_episode_length(walls: np.ndarray, cell_size: float) -> int:
    """Steps per ant-maze episode for a wall grid: 1000, or more for long mazes."""
    return maze_episode_length(
        walls, cell_size, ANT_MAZE_STEPS_PER_METRE, ANT_MAZE_MIN_EPISODE_LENGTH
    )


class AntMaze(WalkerMaze, Ant):
    """Walk the ant from a random free cell of a maze to a goal in another random free cell."""

    render_camera = "overview"
    goal_marker_radius = 0.5
    draw_goal = GoalEnv.draw_goal  # a fresh episode's goal: goals lie in cells, not around the ant

    def __init__(
        self,
        layout: str = "u_maze",
        cell_size: float = 4.0,
        cell_jitter: float = 1.0,
        episode_length: int | None = None,
        success_threshold: float = 0.5,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        reset_noise: float = 0.1,
        terminate_when_unhealthy: bool = True,
        dense_reward: bool = False,
        frame_skip: int = 5,
        impl: str = "jax",
        wall_contacts: str = "torso_and_feet",
        motor_gear: float = 60.0,
    ):
        # The ant's feet reach about 0.9 m from the torso; keep them off the walls at the start.
        name = self.place_in_maze(
            "ant",
            layout,
            cell_size,
            cell_jitter,
            1.0,
            reset_noise,
            torso_radius=0.25,
            largest_reset_noise=MAX_RESET_NOISE[terminate_when_unhealthy],
        )
        super().__init__(
            episode_length=episode_length or ant_maze_episode_length(self.walls, cell_size),
            success_threshold=success_threshold,
            healthy_z_range=healthy_z_range,
            reset_noise=reset_noise,
            terminate_when_unhealthy=terminate_when_unhealthy,
            dense_reward=dense_reward,
            frame_skip=frame_skip,
            impl=impl,
            xml=ant_maze_xml(self.walls, self.cell_size, wall_contacts=wall_contacts),
            motor_gear=motor_gear,
        )
        self.name = name
