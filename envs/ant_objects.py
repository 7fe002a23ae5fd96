"""The MJX ant with a movable object: push a ball to a goal, or a block out of the way of one.

``ant_soccer``: the ant must push a ball until the ball's (x, y) lies within 0.5 m of a goal.
``ant_push``: a wall with one gap separates the ant from its goal and a block plugs the gap; the
ant must shove the block aside (the right way: pushed the wrong way it plugs the goal's corridor)
and walk its torso to the goal.

Both models are ``assets/ant.xml`` plus one body on two horizontal slide joints whose qpos is the
object's world (x, y). State = qpos (17: the ant's 15, object x, y) ++ qvel (16: the ant's 14,
object vx, vy) = 33. The goal names the ball's (x, y), ``state[15:17]``, in ant_soccer and the
torso's (x, y), ``state[0:2]``, in ant_push. The ant's reset noise, fall termination and dense
reward are those of ``Ant`` (envs/ant.py).

Which geoms collide (MuJoCo pairs geoms when contype of one & conaffinity of the other != 0):
* feet - floor (as for the ant): the only ground contact;
* torso and feet - object (OBJECT_BIT): how the ant pushes; legs and thighs pass through objects;
* ant_push only: torso - walls (WALL_BIT, as in the ant mazes; ``wall_contacts`` adds the feet),
  and the block - walls through an invisible sphere inscribed in the block. The sphere matches the
  box against a wall face; at a wall's corner the block's corner may cut in by up to 0.41 of its
  half width, which rounds its corners a little.
Objects slide on joints and cannot tip or leave the floor, so they have no floor contact: a
friction loss on their slide joints (``OBJECT_FRICTION`` x weight) stands in for floor friction
and stops them once the ant lets go. MJX evaluates every candidate pair each physics step:
ant_soccer has 9 (4 feet-floor, 5 ant-ball), ant_push 23 (4 feet-floor, 5 ant-block, 7 torso-wall
and 7 block-wall, for its 7 wall boxes). Measured with ``jit(vmap(step))`` at 64 envs on a busy
2-core CPU (best of 12 interleaved runs of 50 steps): ant 13.6k steps/s, ant_soccer 9.5k, ant_push
6.2k; ant_push with the feet on the walls too (51 pairs) 5.0k, and with the block's box itself
against the walls (box-box pairs, 4 contacts each: 44 pairs) 3.2k.

Facts taken from JaxGCRL (``jaxgcrl/envs/ant_ball.py``, ``ant_push.py``, ``assets/ant_ball.xml``
and ``assets/ant_push.xml``, and the episode length of its ``scripts/train.sh``; Bortkiewicz et
al. 2025), used as the defaults here:
* both: the ant of ``envs/ant.py`` (timestep 0.01, 5 frames per action, healthy torso height in
  (0.2, 1.0), reset noise 0.1); success within 0.5 m; episodes of 1000 steps;
* ant_ball: the ball is a sphere of radius 0.5 m and about 0.58 kg (two geoms of density 1 and
  0.1) on x and y slide joints; the ant starts at the origin; the goal lies on the circle of
  radius 5 m around it at a uniform angle; the ball starts at 0.2 of the way to the goal plus an
  offset of about 1 m; the observation holds the ball's (x, y) and the goal names it;
* ant_push: the map of HIRO's AntPush (Nachum et al. 2018) with 8 m cells: from the start cell
  two corridors lead to a junction, a block 7.2 m wide (0.9 of a cell) fills the junction, and
  the goal lies in one of the two dead ends beyond it, at the dead end's centre plus U(0, 2) m in
  x and in y; the ant starts at the centre of the start cell; the observation holds the block's
  (x, y) and the goal names the torso's.
Where we differ on purpose: every episode draws its start and goal anew, as in all jaxcrl tasks.
ant_soccer: JaxGCRL's offset takes its x from one uniform angle and its y from the goal's angle;
ours is 1 m at a uniform angle, and the ball is moved out to 1.65 m from the ant's start when
nearer (JaxGCRL's rule can put it inside the ant, or on a foot). ant_push: the ant starts in any
of the three cells in front of the junction, up to 2 m from its centre; goals lie up to 1 m from
a dead end's centre (JaxGCRL's 2 m span, centred); the block is 7.6 m wide, 0.2 m short of the
cell on each side (BLOCK_GAP: past JaxGCRL's 7.2 m this ant's torso slipped to the goal); walls
and block are 1 m high (JaxGCRL: 4 m and 3.6 m), which the ant cannot climb either way; the
block slides on x and y only (JaxGCRL's also on z).
Both: the objects resist with a friction loss (JaxGCRL's ball slides on undamped joints and its
block weighs 0.2 g); the MJX solver is the ant's (1 Newton iteration, 4
line-search steps; JaxGCRL's ant_push uses 4 and 8): 32 copies x 1000 random steps showed no
wall penetration before a fall.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcrl.envs.ant import ANT_XML, Ant, AntParams, ant_maze_xml
from jaxcrl.envs.base import EnvState, GoalEnv, thousandths_below
from jaxcrl.envs.maze_walls import WALL_BIT
from jaxcrl.envs.mazes import wall_problem
from jaxcrl.envs.mjx_base import check_goal_range, check_start_apart

OBJECT_BIT = 4  # conaffinity of the ball and the block; the torso and feet carry it in contype
OBJECT_FRICTION = 0.1  # slide-joint friction loss as a fraction of the object's weight
GRAVITY = 9.81

BALL_RADIUS = 0.5  # JaxGCRL's ball
BALL_MASS = 0.58  # JaxGCRL's two ball geoms: densities 1 and 0.1 over a 0.5 m sphere
BLOCK_MASS = 1.0  # about the ant's 0.91 kg: it takes a deliberate push, not a brush
WALL_HEIGHT = 1.0  # as in the ant mazes
FOOT_RADIUS = 0.08  # the ant's foot spheres (assets/ant.xml)

# The block leaves BLOCK_GAP metres between each of its sides and its cell's. In the gap its four
# corners face wall corners (or open floor) across diagonals of sqrt(2) x 0.2 = 0.28 m, and its
# sides lie 0.2 m from any wall beside them; the torso, the one part of the ant that walls stop
# (``wall_contacts="torso"``), is a sphere 0.5 m across, so it gets past only by pushing the
# block out. (JaxGCRL's block, 0.9 of an 8 m cell, left 0.4 m gaps and 0.57 m diagonals, which
# this torso slipped through.) The block's wall guard, a sphere of radius cell / 2 - 0.2, stays
# 0.2 m from the walls of a corridor and from the wall corners it passes, so a straight push
# slides the block out of the gap and down a corridor without touching a wall.
BLOCK_GAP = 0.2


def block_half_width(cell_size: float) -> float:
    """Half the block's side in cells of ``cell_size`` metres: BLOCK_GAP inside the cell."""
    return 0.5 * cell_size - BLOCK_GAP


# How far the ant's feet reach (horizontally, from the torso's centre) at the start: 0.87 m
# standing; reset noise n on the joints and the torso's tilt stretches that by at most 1.7 n
# (the largest reach over the 2^15 corners of the noise box and 10^5 uniform draws: 0.95 m at
# n = 0.05, 1.01 m at 0.1, 1.03 m at 0.15, some of those feet lifted to the ball's height), and
# no pose stretches it past 1.14 m (hip, thigh and shin laid out flat: 0.28 + 0.28 + 0.57 m).
def foot_reach(reset_noise: float) -> float:
    """The farthest a foot's centre starts from the torso's (x, y) under ``reset_noise``."""
    return min(0.87 + 1.7 * abs(reset_noise), 1.14)


def min_ball_clearance(reset_noise: float) -> float:
    """The least start distance between torso and ball at which no foot can touch the ball
    (the feet's reach plus a foot's and the ball's radius), rounded up to centimetres."""
    return math.ceil(round(100 * (foot_reach(reset_noise) + FOOT_RADIUS + BALL_RADIUS), 6)) / 100


def nearest_ball_start(
    goal_min_radius: float,
    goal_max_radius: float,
    ball_lead: float,
    ball_spread: float,
    ball_clearance: float,
    reset_noise: float,
) -> float:
    """The least distance between the ball's start and its goal that ``AntSoccer`` resets draw.

    Seen from the torso's start (the origin moved up to sqrt(2) * reset_noise), the goal lies at
    a distance r in [goal_min_radius - that, goal_max_radius + that] and the ball at the offset
    o = ball_lead * goal + ball_spread * u (u a uniform unit vector), moved out along o to
    ``ball_clearance`` when nearer. Where |o| >= ball_clearance is possible, u along the goal
    puts the ball on the goal's ray |(1 - ball_lead) r - ball_spread| from it, and any other u
    farther. The clearance puts the ball on that ray, |r - ball_clearance| from the goal, when
    every o is nearer (ball_lead r + ball_spread < ball_clearance) or when u against the goal
    gives an o along it that is (ball_spread <= ball_lead r < ball_clearance + ball_spread);
    otherwise the clearance's balls lie farther than the unmoved ones. The least over r of these
    pieces, each |a r + b| on an interval, lies at an end of the range or of a piece, or at a zero.
    """
    shift = math.sqrt(2) * reset_noise
    low, high = max(goal_min_radius - shift, 0.0), goal_max_radius + shift
    lead, spread, clearance = ball_lead, ball_spread, ball_clearance
    candidates = [low, high, clearance]
    if lead < 1:
        candidates.append(spread / (1 - lead))
    if lead > 0:
        candidates += [(clearance - spread) / lead, spread / lead, (clearance + spread) / lead]
    nearest = math.inf
    tolerance = 1e-9  # take a piece's ends as in it: the least over it is its limit there
    for r in candidates:
        if not low <= r <= high:
            continue
        if lead * r + spread >= clearance - tolerance:
            nearest = min(nearest, abs((1 - lead) * r - spread))
        moved_on_ray = spread - tolerance <= lead * r <= clearance + spread + tolerance
        if lead * r + spread <= clearance + tolerance or moved_on_ray:
            nearest = min(nearest, abs(r - clearance))
    return nearest


# HIRO's AntPush map as JaxGCRL lays it out; row 0 is the cell row nearest y = 0, so the map reads
# upside down. S: start cells in front of the wall; B: the block in the gap (the junction);
# G: goal cells behind it, two dead ends. Pushed towards one dead end, the block plugs it.
PUSH_MAP = (
    "#####",
    "#SS##",
    "#SBG#",
    "##G##",
    "#####",
)
PUSH_CELLS = np.array([list(row) for row in PUSH_MAP])  # [rows, cols] the mark of each cell


def _ant_touching_objects(xml: str) -> ET.Element:
    """The MJCF tree of ``xml`` with the ant's torso and foot spheres colliding with objects."""
    root = ET.fromstring(xml)
    for geom in root.iter("geom"):
        if geom.get("name") == "torso":
            geom.set("contype", str(int(geom.get("contype", "0")) | OBJECT_BIT))
    for default in root.iter("default"):
        if default.get("class") == "foot":
            foot = default.find("geom")
            foot.set("contype", str(int(foot.get("contype")) | OBJECT_BIT))
    return root


def _add_sliding_object(
    root: ET.Element, name: str, height: float, home: tuple[float, float], geoms: list[dict]
) -> None:
    """Add body ``name`` at ``height`` on x and y slide joints (qpos = its world x, y).

    The joints resist with a friction loss of OBJECT_FRICTION x the body's weight (the mass of
    ``geoms``); the object's ``home`` (x, y) is appended to the ``home`` keyframe.
    """
    mass = sum(float(geom.get("mass", 0.0)) for geom in geoms)
    body = ET.SubElement(root.find("worldbody"), "body", name=name, pos=f"0 0 {height}")
    for axis, direction in (("x", "1 0 0"), ("y", "0 1 0")):
        ET.SubElement(
            body,
            "joint",
            name=f"{name}_{axis}",
            type="slide",
            axis=direction,
            armature="0",  # the ant's joint defaults (armature 1, damping 1) are not an object's
            damping="0",
            frictionloss=f"{OBJECT_FRICTION * mass * GRAVITY:.4f}",
        )
    for geom in geoms:
        ET.SubElement(body, "geom", **geom)
    key = root.find("keyframe/key")
    key.set("qpos", f"{key.get('qpos')}  {home[0]} {home[1]}")


def ant_soccer_xml() -> str:
    """The ant plus a ball on slide joints that its torso and feet push."""
    root = _ant_touching_objects(ANT_XML.read_text())
    ball = {
        "name": "ball",
        "type": "sphere",
        "size": str(BALL_RADIUS),
        "mass": str(BALL_MASS),
        "contype": "0",
        "conaffinity": str(OBJECT_BIT),
        "rgba": "0.92 0.92 0.92 1",
    }
    _add_sliding_object(root, "ball", BALL_RADIUS, (2.0, 0.0), [ball])
    return ET.tostring(root, encoding="unicode")


def push_cells(mark: str, cell_size: float) -> np.ndarray:
    """(x, y) centres [num, 2] of the PUSH_MAP cells marked ``mark``."""
    return (np.argwhere(PUSH_CELLS == mark)[:, ::-1] + 0.5) * cell_size


def ant_push_xml(cell_size: float, wall_contacts: str = "torso") -> str:
    """The ant in PUSH_MAP's walls with a block on slide joints plugging the gap."""
    walls = PUSH_CELLS == "#"
    root = _ant_touching_objects(ant_maze_xml(walls, cell_size, WALL_HEIGHT, wall_contacts))
    half = block_half_width(cell_size)
    block = {
        "name": "block",
        "type": "box",
        "size": f"{half} {half} {0.5 * WALL_HEIGHT}",
        "mass": str(BLOCK_MASS),
        "contype": "0",
        "conaffinity": str(OBJECT_BIT),
        "rgba": "0.8 0.55 0.2 1",
    }
    # The block's stand-in against the walls (see the module docstring); group 3 is not drawn.
    wall_guard = {
        "name": "block_wall_guard",
        "type": "sphere",
        "size": str(half),
        "mass": "0",
        "contype": str(WALL_BIT),
        "conaffinity": "0",
        "group": "3",
    }
    home = tuple(push_cells("B", cell_size)[0])
    _add_sliding_object(root, "block", 0.5 * WALL_HEIGHT, home, [block, wall_guard])
    return ET.tostring(root, encoding="unicode")


@struct.dataclass
class AntSoccerParams(AntParams):
    """Task constants of ant_soccer: the ant's, plus where the ball starts."""

    ball_lead: jax.Array  # [] the ball starts near this fraction of the way from start to goal
    ball_spread: jax.Array  # [] ... moved this far (metres) in a uniform direction
    ball_clearance: jax.Array  # [] ... and at least this far from the ant's start


class AntSoccer(Ant):
    """Push a ball until it lies within a threshold of a goal 5 m from the ant's start."""

    render_camera = None  # frame the ant, the ball and its goal together
    goal_marker_radius = BALL_RADIUS  # a red ball where the white one should go
    goal_marker_height = BALL_RADIUS

    def __init__(
        self,
        goal_min_radius: float = 5.0,
        goal_max_radius: float = 5.0,
        ball_lead: float = 0.2,
        ball_spread: float = 1.0,
        ball_clearance: float = 1.65,
        **ant_options: Any,
    ):
        """``ant_options`` go to ``Ant``: episode_length, success_threshold, dense_reward, ..."""
        if not 0 <= ball_lead <= 1:
            raise ValueError(
                f"ball_lead must lie in [0, 1] (of the way to the goal), got {ball_lead}"
            )
        if not 0 <= ball_spread <= goal_max_radius:
            raise ValueError(
                f"ball_spread must lie in [0, goal_max_radius = {goal_max_radius:g}] m, got "
                f"{ball_spread}"
            )
        # Set before Ant's constructor, which checks where resets put the ball (check_placement).
        self.ball_lead = float(ball_lead)
        self.ball_spread = float(ball_spread)
        self.ball_clearance = float(ball_clearance)
        super().__init__(
            goal_min_radius=goal_min_radius,
            goal_max_radius=goal_max_radius,
            xml=ant_soccer_xml(),
            **ant_options,
        )
        self.name = "ant_soccer"
        nq = self.mj_model.nq  # 17
        self.goal_indices = (nq - 2, nq - 1)  # the ball's slide joints: its (x, y)

    def check_placement(self) -> None:
        """ValueError naming the option when a reset may put the ball on a foot or within the
        success threshold of its goal, or put goal or ball farther out than float32 tells the
        threshold."""
        # The default, 1.65 m, clears the 1.62 m that the default reset noise (0.1) needs.
        needed = min_ball_clearance(self.reset_noise)
        if not self.ball_clearance >= needed:
            raise ValueError(
                f"ball_clearance must be at least {needed:g} m with reset_noise="
                f"{self.reset_noise:g} (the feet start up to {foot_reach(self.reset_noise):.2f} m "
                f"from the torso; a ball nearer may start on a foot), got {self.ball_clearance}"
            )
        nearest = nearest_ball_start(
            self.goal_min_radius,
            self.goal_max_radius,
            self.ball_lead,
            self.ball_spread,
            self.ball_clearance,
            self.reset_noise,
        )
        check_start_apart(
            "success_threshold",
            self.success_threshold,
            nearest,
            "the nearest a ball can start to its goal",
            f"goal_min_radius={self.goal_min_radius:g}, goal_max_radius={self.goal_max_radius:g}, "
            f"ball_lead={self.ball_lead:g}, ball_spread={self.ball_spread:g}, ball_clearance="
            f"{self.ball_clearance:g} and reset_noise={self.reset_noise:g} place it",
            ("lower success_threshold, or " if thousandths_below(nearest) > 0 else "")
            + "lower ball_lead, ball_spread or ball_clearance, or raise goal_min_radius and "
            "goal_max_radius",
        )
        check_goal_range(
            "goal_max_radius", self.goal_max_radius, self.goal_max_radius, self.success_threshold
        )
        shift = math.sqrt(2) * self.reset_noise  # the torso's start, from the origin
        farthest_ball = shift + max(
            self.ball_clearance,
            self.ball_lead * (self.goal_max_radius + shift) + self.ball_spread,
        )
        check_goal_range(
            "ball_clearance",
            self.ball_clearance,
            farthest_ball,
            self.success_threshold,
            what="the ball's start",
        )

    def framed_points(self, state: EnvState) -> np.ndarray:
        """(x, y) [3, 2] that a video keeps in view: the ball, its goal and the ant's torso."""
        torso = np.asarray(state.obs[:2], np.float64)[None]
        return np.concatenate([super().framed_points(state), torso])

    def default_params(self) -> AntSoccerParams:
        """The ant's constants (goal circle of 5 m) plus the ball's start rule."""
        return AntSoccerParams(
            **vars(super().default_params()),
            ball_lead=jnp.asarray(self.ball_lead),
            ball_spread=jnp.asarray(self.ball_spread),
            ball_clearance=jnp.asarray(self.ball_clearance),
        )

    def place_objects(
        self,
        key: jax.Array,
        params: AntSoccerParams,
        qpos: jax.Array,
        qvel: jax.Array,
        goal: jax.Array,
    ) -> tuple[jax.Array, jax.Array]:
        """The ball at rest near ``ball_lead`` of the way to the goal, ``ball_clearance`` off the ant."""
        angle = jax.random.uniform(jax.random.fold_in(key, 1), (), maxval=2 * jnp.pi)
        unit = jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        start = qpos[:2]
        offset = params.ball_lead * (goal - start) + params.ball_spread * unit
        distance = jnp.linalg.norm(offset)
        direction = jnp.where(distance > 1e-6, offset / jnp.maximum(distance, 1e-6), unit)
        ball = start + jnp.maximum(distance, params.ball_clearance) * direction
        return qpos.at[-2:].set(ball), qvel.at[-2:].set(0.0)

    def with_goal(self, state: EnvState, goal: jax.Array) -> EnvState:
        """A freshly reset ``state`` (one copy) pursuing the ball position ``goal`` [2], its ball
        placed anew toward it as a reset places it toward its own goal (eval.py --goal): left
        where it was, the ball would start on the way to another goal than the one asked."""
        goal = jnp.asarray(goal, state.goal.dtype)
        params = self.default_params()
        qpos, qvel = state.physics.qpos, state.physics.qvel
        qpos, qvel = self.place_objects(state.key, params, qpos, qvel, goal)
        return self.state_at(qpos, qvel, goal, state.key, params)


@struct.dataclass
class AntPushParams:
    """Task constants of ant_push (all may be vmapped over); the walls are part of the model."""

    success_threshold: jax.Array  # [] metres between torso (x, y) and goal
    start_centres: jax.Array  # [num_start, 2] (x, y) centres of the cells in front of the gap
    goal_centres: jax.Array  # [num_goal, 2] centres of the dead ends behind it
    start_jitter: jax.Array  # [] starts lie uniformly within +-jitter of a start centre (x and y)
    goal_jitter: jax.Array  # [] goals likewise around a goal centre
    block_start: jax.Array  # [2] the block's (x, y) at every reset: in the gap
    healthy_z_min: jax.Array  # [] torso height below which the ant has fallen
    healthy_z_max: jax.Array  # [] torso height above which it has left the ground
    reset_noise: jax.Array  # [] scale of the random start pose and speed


def _near(key: jax.Array, centres: jax.Array, jitter: jax.Array) -> jax.Array:
    """A uniform row of ``centres`` [num, 2] moved uniformly by up to ``jitter`` in x and y."""
    cell_key, jitter_key = jax.random.split(key)
    offset = jax.random.uniform(jitter_key, (2,), minval=-jitter, maxval=jitter)
    return jax.random.choice(cell_key, centres) + offset


class AntPush(Ant):
    """Shove a block out of the gap in a wall, the right way, and walk to a goal behind it."""

    render_camera = "overview"
    goal_marker_radius = 0.5
    # Set here (the model) or refused (its goals lie in PUSH_MAP's dead ends): not env options.
    internal_arguments = ("xml", "goal_min_radius", "goal_max_radius")
    draw_goal = GoalEnv.draw_goal  # a fresh episode's goal: goals lie in the dead ends

    def __init__(
        self,
        cell_size: float = 8.0,
        start_jitter: float = 2.0,
        goal_jitter: float = 1.0,
        wall_contacts: str = "torso",
        **ant_options: Any,
    ):
        """``ant_options`` go to ``Ant``: episode_length, success_threshold, dense_reward, ..."""
        ignored = sorted({"goal_min_radius", "goal_max_radius"} & set(ant_options))
        if ignored:
            raise ValueError(f"ant_push takes no {ignored}: its goals lie in PUSH_MAP's dead ends")
        if not cell_size >= 2.0:
            raise ValueError(
                "cell_size must be at least 2 m, so that a start 1 m from every wall fits in a "
                f"cell, got {cell_size}"
            )
        # The feet reach 0.95 m from the torso: keep them off the walls at the start, and the
        # torso (radius 0.25 m) off them at the goal.
        for option, jitter, clearance in (
            ("start_jitter", start_jitter, 1.0),
            ("goal_jitter", goal_jitter, 0.25),
        ):
            if not jitter >= 0:
                raise ValueError(f"{option} must be >= 0, got {jitter}")
            if jitter > 0.5 * cell_size - clearance:
                raise ValueError(
                    f"{option}={jitter:g} needs cell_size >= {2 * (jitter + clearance):g} m (the "
                    f"torso {clearance:g} m from every wall of its cell), got cell_size="
                    f"{cell_size:g}; raise cell_size, or give {option} in "
                    f"[0, {0.5 * cell_size - clearance:g}]"
                )
        # Set before Ant's constructor, which checks where resets put the ant (check_placement).
        self.cell_size = float(cell_size)
        self.start_jitter = float(start_jitter)
        self.goal_jitter = float(goal_jitter)
        super().__init__(xml=ant_push_xml(cell_size, wall_contacts), **ant_options)
        self.name = "ant_push"
        self.walls = PUSH_CELLS == "#"  # [rows, cols] bool

    def check_placement(self) -> None:
        """ValueError naming the option when a start may lie within the success threshold of
        its goal, or goals lie farther out than float32 tells the threshold."""
        # The nearest start and goal cells of PUSH_MAP are diagonal neighbours, centres cell_size
        # apart along x and y (the next nearest, two cells apart along one, lie farther for any
        # slack). Along each, the start lies within start_jitter of its centre and the reset
        # noise moves the torso up to reset_noise more; the goal lies within goal_jitter.
        slack = self.start_jitter + self.goal_jitter + self.reset_noise
        goals = push_cells("G", self.cell_size)
        check_start_apart(
            "success_threshold",
            self.success_threshold,
            math.sqrt(2) * (self.cell_size - slack),
            "sqrt(2) * (cell_size - start_jitter - goal_jitter - reset_noise)",
            "the nearest a start can lie to its goal: start and goal cells are diagonal "
            "neighbours at best, each point off its centre by its jitter and the torso by "
            "reset_noise more",
            "lower success_threshold, or raise cell_size or lower start_jitter or goal_jitter",
        )
        farthest = float(goals.max()) + self.goal_jitter
        check_goal_range("cell_size", self.cell_size, farthest, self.success_threshold)

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why the torso position ``goal`` (x, y) cannot be reached: outside the map or inside
        a wall."""
        return wall_problem(self.walls, goal, self.cell_size)

    def default_params(self) -> AntPushParams:
        """Start and goal cells of PUSH_MAP, their jitters, the block's place and the ant's."""
        return AntPushParams(
            success_threshold=jnp.asarray(self.success_threshold),
            start_centres=jnp.asarray(push_cells("S", self.cell_size), jnp.float32),
            goal_centres=jnp.asarray(push_cells("G", self.cell_size), jnp.float32),
            start_jitter=jnp.asarray(self.start_jitter),
            goal_jitter=jnp.asarray(self.goal_jitter),
            block_start=jnp.asarray(push_cells("B", self.cell_size)[0], jnp.float32),
            healthy_z_min=jnp.asarray(self.healthy_z_range[0]),
            healthy_z_max=jnp.asarray(self.healthy_z_range[1]),
            reset_noise=jnp.asarray(self.reset_noise),
        )

    def sample_start_goal(
        self, key: jax.Array, params: AntPushParams
    ) -> tuple[jax.Array, jax.Array]:
        """Start near a uniform cell in front of the gap; goal near a uniform dead end."""
        start_key, goal_key = jax.random.split(key)
        start = _near(start_key, params.start_centres, params.start_jitter)
        return start, _near(goal_key, params.goal_centres, params.goal_jitter)

    def place_objects(
        self,
        key: jax.Array,
        params: AntPushParams,
        qpos: jax.Array,
        qvel: jax.Array,
        goal: jax.Array,
    ) -> tuple[jax.Array, jax.Array]:
        """The block at rest in the gap."""
        return qpos.at[-2:].set(params.block_start), qvel.at[-2:].set(0.0)
