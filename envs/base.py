"""The goal-reaching environment contract shared by every jaxcrl task.

An environment is a Python object that holds only static facts (sizes, episode length, which
state entries a goal names) plus two pure functions, ``reset(key, params)`` and
``step(state, action, params)``. Everything that may vary between tasks of one family (a maze
layout, a success threshold, a goal region) lives in a ``params`` pytree, so one compiled program
can vmap over it. Functions here act on one environment; callers ``jax.vmap`` them.

Observation layout: ``obs = concat(state, goal)`` with ``state`` of size ``state_size`` and
``goal`` of size ``goal_size``; the goal names ``state[goal_indices]``, and success measures
``state[success_indices]``, the same entries unless an env says fewer. A pixel env sets
``image_shape = (H, W, C)``: its state is one uint8 image flattened to ``H * W * C`` entries and
its goal names the whole state (an image of the state to reach), so the networks put a CNN first.
"""

from __future__ import annotations

import abc
import ctypes.util
import importlib
import math
import numbers
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

# Every environment reports these two metrics each step; evaluation and logging rely on them.
DISTANCE = "distance"
SUCCESS = "success"
# Draws a copy at its goal makes at most (redraw_reached_goals) for a goal it has not reached.
# One fresh goal lies within the threshold of the one a copy stands on in 17% of draws on
# point_spiral, 20% on pusher_easy, 48% on arm_binpick_hard; with 8 draws, each of 2048 copies
# standing on their goal got an unreached one within two, all but 1.1% on arm_binpick_hard
# (such a copy keeps its goal a step and tries again).
REDRAW_TRIES = 8


@struct.dataclass
class EnvState:
    """State of one environment copy; every field is a JAX array or a pytree of them."""

    physics: Any  # env-specific simulator state (positions, an mjx.Data, ...)
    obs: jax.Array  # [observation_size] = state ++ goal
    goal: jax.Array  # [goal_size] the goal of the current episode
    reward: jax.Array  # [] reward of the step that produced this state
    terminated: jax.Array  # [] 1.0 when the env ended the episode itself (a fall, say)
    done: jax.Array  # [] 1.0 when the step that produced this state ended the episode
    step_count: jax.Array  # [] int32 steps taken in the current episode
    metrics: dict[str, jax.Array]  # [] per-step diagnostics, at least DISTANCE and SUCCESS
    key: jax.Array  # PRNG key owned by this copy: draws the next episode's start and goal


class GoalEnv(abc.ABC):
    """A goal-reaching task: static sizes plus pure ``reset`` and ``step`` functions."""

    name: str = "goal_env"
    state_size: int
    goal_indices: tuple[int, ...]
    action_size: int
    episode_length: int
    image_shape: tuple[int, int, int] | None = None  # (H, W, C) when the state is an image

    @property
    def goal_size(self) -> int:
        """Number of goal entries."""
        return len(self.goal_indices)

    @property
    def success_indices(self) -> tuple[int, ...]:
        """State entries that success and distance measure: those the goal names, by default."""
        return self.goal_indices

    @property
    def observation_size(self) -> int:
        """Size of ``obs`` = state ++ goal."""
        return self.state_size + self.goal_size

    @abc.abstractmethod
    def default_params(self) -> Any:
        """The task constants (layouts, thresholds) as a pytree."""

    @abc.abstractmethod
    def reset(self, key: jax.Array, params: Any) -> EnvState:
        """Start an episode from a new random start with a new random goal."""

    @abc.abstractmethod
    def step(self, state: EnvState, action: jax.Array, params: Any) -> EnvState:
        """Advance one step; ``action`` lies in [-1, 1]^action_size."""

    def goal_of(self, states: jax.Array) -> jax.Array:
        """The goal-space part of ``states`` [..., state_size] -> [..., goal_size]."""
        return states[..., np.asarray(self.goal_indices)]

    @property
    def goal_argument_size(self) -> int:
        """Numbers that ``with_goal`` (eval.py --goal) takes: the goal itself, by default."""
        return self.goal_size

    @property
    def goal_argument_meaning(self) -> str:
        """What those numbers are, for error messages."""
        return f"state entries {list(self.goal_indices)}"

    def goal_problem(self, goal: Sequence[float]) -> str | None:
        """Why ``goal`` (``goal_argument_size`` numbers) cannot be reached, or None: a goal that
        no state can achieve, such as a point inside a wall. None unless an env knows better."""
        return None

    def with_goal(self, state: EnvState, goal: jax.Array) -> EnvState:
        """``state`` (one copy) pursuing ``goal`` [goal_size] instead of its own; obs follows."""
        goal = jnp.asarray(goal, state.goal.dtype)
        return state.replace(goal=goal, obs=jnp.concatenate([state.obs[: self.state_size], goal]))

    def adopt_goal(self, state: EnvState, fresh: EnvState) -> EnvState:
        """``state`` (one copy) pursuing the goal of ``fresh``, another state of this env."""
        goal_obs = fresh.obs[self.state_size :]
        return state.replace(
            goal=fresh.goal, obs=jnp.concatenate([state.obs[: self.state_size], goal_obs])
        )

    def draw_goal(self, state: EnvState, key: jax.Array, params: Any) -> EnvState:
        """``state`` (one copy) pursuing a newly drawn goal: that of a fresh episode, by default.

        ``redraw_reached_goals`` calls it; the default, the goal of ``reset(key)``, follows the
        env's own goal law. An env whose goals lie relative to the start overrides it to draw
        from where the copy stands.
        """
        return self.adopt_goal(state, self.reset(key, params))

    def goal_reached(self, state: EnvState, params: Any) -> jax.Array | None:
        """Whether ``state`` (one copy) is within the success threshold of its goal: [] bool.

        As ``goal_metrics`` measures success in ``step``: the distance between the success
        entries of the state and of the goal under ``params.success_threshold``. None where obs
        and goal cannot tell: an image state (the positions behind it are the env's own) or
        params without a ``success_threshold``.
        """
        threshold = getattr(params, "success_threshold", None)
        if self.image_shape is not None or threshold is None:
            return None
        achieved = state.obs[np.asarray(self.success_indices)]
        goal = state.goal[np.asarray([self.goal_indices.index(i) for i in self.success_indices])]
        return goal_metrics(achieved, goal, threshold)[SUCCESS] > 0

    def reserve_copies(self, count: int) -> None:
        """Make room for ``count`` copies stepped together; most envs need none."""
        del count

    def render(self, state: EnvState, params: Any) -> np.ndarray:
        """Draw one (unbatched) state with its goal as an RGB uint8 image [H, W, 3]."""
        raise NotImplementedError(f"{self.name} has no renderer yet")


def thousandths_below(limit: float) -> float:
    """The largest whole number of thousandths strictly below ``limit`` (millimetres below a
    bound in metres): a bound a message can name and the check then accepts."""
    return (math.ceil(round(1000 * limit, 6)) - 1) / 1000


def is_whole_number(value: Any) -> bool:
    """Whether ``value`` is an integer (a Python or NumPy one), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def thousandths_above(limit: float) -> float:
    """The smallest whole number of thousandths strictly above ``limit``."""
    return (math.floor(round(1000 * limit, 6)) + 1) / 1000


def make_state(
    physics: Any,
    state_vector: jax.Array,
    goal: jax.Array,
    key: jax.Array,
    metrics: dict[str, jax.Array],
    reward: jax.Array | float = 0.0,
    terminated: jax.Array | float = 0.0,
) -> EnvState:
    """Build an EnvState whose observation is ``state_vector ++ goal``."""
    return EnvState(
        physics=physics,
        obs=jnp.concatenate([state_vector, goal]),
        goal=goal,
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.asarray(terminated, jnp.float32),
        done=jnp.zeros((), jnp.float32),
        step_count=jnp.zeros((), jnp.int32),
        metrics=metrics,
        key=key,
    )


def advance(
    state: EnvState,
    physics: Any,
    state_vector: jax.Array,
    metrics: dict[str, jax.Array],
    dense_reward: bool,
    terminated: jax.Array | float = 0.0,
) -> EnvState:
    """The state after a step: new physics and obs, reward = success (or -distance if dense)."""
    reward = -metrics[DISTANCE] if dense_reward else metrics[SUCCESS]
    return state.replace(
        physics=physics,
        obs=jnp.concatenate([state_vector, state.goal]),
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.asarray(terminated, jnp.float32),
        metrics=metrics,
    )


def goal_metrics(achieved: jax.Array, goal: jax.Array, threshold: jax.Array) -> dict:
    """Distance to the goal and whether it is within ``threshold`` (as 0/1 float)."""
    distance = jnp.linalg.norm(achieved - goal)
    return {DISTANCE: distance, SUCCESS: (distance < threshold).astype(jnp.float32)}


def reset_batch(env: GoalEnv, params: Any, key: jax.Array, num_envs: int) -> EnvState:
    """Reset ``num_envs`` independent copies; leaves have a leading [num_envs] axis.

    (MuJoCo Warp's contact and constraint buffers are the exception: one for all copies.)
    """
    env.reserve_copies(num_envs)
    return jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, num_envs), params)


def reset_toward(
    env: GoalEnv, params: Any, key: jax.Array, num_envs: int, goal: jax.Array
) -> tuple[EnvState, jax.Array | None]:
    """``reset_batch`` with every copy pursuing ``goal`` [goal_size] from a start it has not
    reached: a start within the success threshold of it (a named goal lies where the env's own
    starts may fall) is drawn again, up to ``REDRAW_TRIES`` draws; the first draws are those of
    ``reset_batch(key)``. Returns the states and the copies [E] whose every draw started within
    the threshold (None for an env that cannot tell)."""

    def draw(draw_key: jax.Array) -> EnvState:
        states = reset_batch(env, params, draw_key, num_envs)
        return jax.vmap(lambda state: env.with_goal(state, goal))(states)

    def at_goal(states: EnvState) -> jax.Array | None:
        return jax.vmap(env.goal_reached, in_axes=(0, None))(states, params)

    first = draw(key)
    pending = at_goal(first)
    if pending is None:  # an env that cannot tell (image states)
        return first, None
    redraw = lambda attempt: draw(jax.random.fold_in(key, attempt))
    return draw_while_reached(redraw, at_goal, first, pending)


def draw_while_reached(
    draw: Callable[[jax.Array], EnvState],
    at_goal: Callable[[EnvState], jax.Array],
    first: EnvState,
    pending: jax.Array,
) -> tuple[EnvState, jax.Array]:
    """``first`` (a batch, the first draw) with each ``pending`` [E] copy replaced by draws
    ``draw(attempt)`` (attempt 1, 2, ...) until ``at_goal`` [E] says it has not reached its goal,
    up to ``REDRAW_TRIES`` draws in all; returns the states and the copies still pending."""

    def draw_again(carry):
        attempt, chosen, pending = carry
        drawn = draw(attempt)
        return attempt + 1, select_copies(pending, drawn, chosen), pending & at_goal(drawn)

    _, chosen, pending = jax.lax.while_loop(
        lambda carry: (carry[0] < REDRAW_TRIES) & jnp.any(carry[2]),
        draw_again,
        (jnp.int32(1), first, pending),
    )
    return chosen, pending


def start_toward(env: GoalEnv, params: Any, key: jax.Array, goal: jax.Array) -> EnvState:
    """One copy's ``reset(key)`` pursuing ``goal`` [goal_size], drawn again as ``reset_toward``
    draws a batch's while its start is within the success threshold of the goal."""

    def draw(draw_key: jax.Array) -> EnvState:
        return env.with_goal(env.reset(draw_key, params), goal)

    first = draw(key)
    if env.goal_reached(first, params) is None:
        return first
    _, state = jax.lax.while_loop(
        lambda carry: (carry[0] < REDRAW_TRIES) & env.goal_reached(carry[1], params),
        lambda carry: (carry[0] + 1, draw(jax.random.fold_in(key, carry[0]))),
        (jnp.int32(1), first),
    )
    return state


def merges_itself(node: Any) -> bool:
    """Whether a state node picks between two copies itself: MJX's Data (``Data.where``)."""
    return hasattr(node, "where") and not isinstance(node, jax.Array)


def select_copies(mask: jax.Array, chosen: EnvState, others: EnvState) -> EnvState:
    """Per copy: ``chosen``'s state where ``mask`` [E] is true, ``others``' elsewhere.

    MJX Data merges through its own ``where``, which leaves MuJoCo Warp's buffers (shared by all
    copies) as ``others`` has them.
    """

    def select_one(pick: jax.Array, chosen_one: EnvState, other_one: EnvState) -> EnvState:
        def select(chosen_node, other_node):
            if merges_itself(other_node):
                return other_node.where(pick, chosen_node)
            return jnp.where(pick, chosen_node, other_node)

        return jax.tree.map(select, chosen_one, other_one, is_leaf=merges_itself)

    return jax.vmap(select_one)(mask, chosen, others)


def step_batch(env: GoalEnv, params: Any, states: EnvState, actions: jax.Array) -> EnvState:
    """Step every copy and auto-reset the ones whose episode ended.

    A copy whose episode ends (termination or time limit) comes back already reset to a fresh
    random start and goal, drawn from its own key, with ``done = 1`` and the reward and metrics of
    the step that ended the episode. Resets are computed only when some copy ended (``lax.cond``),
    so fixed-length episodes pay for a reset once per episode, not once per step.
    """
    stepped = jax.vmap(env.step, in_axes=(0, 0, None))(states, actions, params)
    step_count = states.step_count + 1
    done = jnp.maximum(stepped.terminated, (step_count >= env.episode_length).astype(jnp.float32))
    stepped = stepped.replace(step_count=step_count, done=done)

    def reset_finished(stepped: EnvState) -> EnvState:
        next_keys, reset_keys = jnp.moveaxis(jax.vmap(jax.random.split)(stepped.key), 1, 0)
        fresh = jax.vmap(env.reset, in_axes=(0, None))(reset_keys, params)
        fresh = fresh.replace(
            reward=stepped.reward, terminated=stepped.terminated, done=done, metrics=stepped.metrics
        )
        stepped = stepped.replace(key=next_keys)
        return select_copies(done > 0, fresh, stepped)

    return jax.lax.cond(jnp.any(done > 0), reset_finished, lambda s: s, stepped)


def redraw_reached_goals(
    env: GoalEnv, params: Any, states: EnvState, key: jax.Array
) -> tuple[EnvState, jax.Array]:
    """Give each copy at its goal mid-episode a goal it has not reached; returns states, [E] mask.

    A copy at its goal draws a goal (``env.draw_goal``: by default that of a fresh episode, so it
    follows the env's own goal law), from its key of ``split(key, E)``, and draws again, up to
    ``REDRAW_TRIES`` draws, while the goal drawn lies within the success threshold of where it
    stands (``env.goal_reached``). One draw alone did so in 3% (point_medium) to 49%
    (half_cheetah) of redraws, and in all of arm_binpick_easy's, whose goals fill a 4 cm square
    within its 5 cm threshold. The mask marks the copies whose goal changed: a copy with no
    unreached draw keeps its goal, uncounted, and tries again next step. An env that cannot tell
    (``goal_reached`` is None: an image state) takes the first draw. Positions, step counts and
    keys stay. A copy whose episode just ended (``done``) has already been reset and keeps its
    new episode's goal. Nothing is drawn unless some copy is at its goal (``lax.cond``).
    """
    reached = (states.metrics[SUCCESS] > 0) & (states.done == 0)
    copy_keys = jax.random.split(key, reached.shape[0])  # [E]

    def draw(keys: jax.Array) -> EnvState:
        return jax.vmap(lambda state, k: env.draw_goal(state, k, params))(states, keys)

    def at_drawn_goal(drawn: EnvState) -> jax.Array | None:
        return jax.vmap(env.goal_reached, in_axes=(0, None))(drawn, params)

    def redraw(states: EnvState) -> tuple[EnvState, jax.Array]:
        first = draw(copy_keys)  # a fresh episode's goal, as reset_batch(key) draws them
        if at_drawn_goal(first) is None:
            return select_copies(reached, first, states), reached
        fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))
        again = lambda attempt: draw(fold(copy_keys, attempt))
        pending = reached & at_drawn_goal(first)  # copies whose goal so far is reached
        chosen, pending = draw_while_reached(again, at_drawn_goal, first, pending)
        redrawn = reached & ~pending
        return select_copies(redrawn, chosen, states), redrawn

    def keep(states: EnvState) -> tuple[EnvState, jax.Array]:
        return states, jnp.zeros_like(reached)

    states, redrawn = jax.lax.cond(jnp.any(reached), redraw, keep, states)
    return states, redrawn.astype(jnp.float32)


def choose_offscreen_renderer() -> str | None:
    """Set MUJOCO_GL=egl when nothing chose MuJoCo's renderer, no display is open and EGL is
    installed (a headless Linux server); returns what it set, or None. Works only before
    ``mujoco`` is imported, which reads the variable once."""
    if "MUJOCO_GL" in os.environ or "mujoco" in sys.modules or not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None  # GLFW opens its hidden window on that display
    if ctypes.util.find_library("EGL") is None:
        return None  # MuJoCo's error then names MUJOCO_GL=egl and osmesa
    os.environ["MUJOCO_GL"] = "egl"
    return "egl"


# The packages whose import opens the renderer MUJOCO_GL names (PyOpenGL's is OpenGL).
GL_PACKAGES = ("mujoco", "OpenGL")
# How MuJoCo refuses a MUJOCO_GL value it does not know, when it is imported.
MUJOCO_GL_REFUSED = "invalid value for environment variable MUJOCO_GL"


def other_renderer_fix(renderer: str | None) -> str:
    """What to set when MuJoCo's ``renderer`` (MUJOCO_GL's value, None: unset) cannot start."""
    if renderer == "egl":
        return "set MUJOCO_GL=osmesa (Mesa's software renderer), or run where EGL is installed"
    if renderer == "osmesa":
        return "set MUJOCO_GL=egl (GPU or Mesa EGL), or install OSMesa"
    return "set MUJOCO_GL=egl (GPU or Mesa EGL), or MUJOCO_GL=osmesa"


def renderer_start_problem(error: Exception) -> str | None:
    """Why importing MuJoCo failed with ``error`` when MUJOCO_GL names a renderer this machine
    lacks (None when that is not the cause: no MUJOCO_GL, or an error raised outside MuJoCo's
    and OpenGL's own code, such as one in an env module of the user's)."""
    renderer = os.environ.get("MUJOCO_GL")
    if renderer is None or isinstance(error, ImportError):
        return None
    files = [frame.filename for frame in traceback.extract_tb(error.__traceback__)]
    if not any(f"{os.sep}{package}{os.sep}" in f for f in files for package in GL_PACKAGES):
        return None
    if MUJOCO_GL_REFUSED in str(error):  # a value MuJoCo does not know (its words, its list)
        return (
            f"MuJoCo did not start with MUJOCO_GL={renderer}, which names none of its renderers "
            "(egl, osmesa, glfw): set MUJOCO_GL=egl (no display), or unset it"
        )
    return (
        f"MuJoCo did not start with MUJOCO_GL={renderer} ({type(error).__name__}: {error}); that "
        f"OpenGL library is missing here: {other_renderer_fix(renderer)}"
    )


def import_starting_renderer(name: str) -> Any:
    """Module ``name`` imported; when its import fails because the renderer MUJOCO_GL names
    cannot start here, one ValueError that says so."""
    try:
        return importlib.import_module(name)
    except Exception as error:  # MuJoCo's import opens the renderer MUJOCO_GL names
        problem = renderer_start_problem(error)
        if problem is None:
            raise
        raise ValueError(problem) from None
