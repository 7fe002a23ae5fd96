"""Tests of the ant with a movable object (envs/ant_objects.py): ant_soccer and ant_push.

Each env compiles once per module through test_envs_mjx_suite's ``Rollout``: ``jit(vmap(step))``
and ``jit(vmap(reset))`` at XLA optimisation level 0 for 4 copies, and a 100-step random rollout
that auto-resets 4-step episodes. The physics checks reuse that compiled step on hand-set states,
one scenario per copy, so they compile nothing new.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from egl_renders import render_report
from env_checks import (  # noqa: F401  (pytest collects the test with this module's rollout)
    check_first_states,
    check_goal_at_the_achieved_state,
    check_goals_differ_across_episodes,
    check_random_rollout,
    check_step_keeps_the_goal,
    num_candidate_contacts,
    test_hundred_random_steps_without_resets_stay_finite,
)
from test_envs_mjx_suite import EPISODE_LENGTH, NUM_ENVS, NUM_STEPS, Rollout, compiled

from jaxcrl.envs import DISTANCE, SUCCESS, env_arguments, make_env, redraw_reached_goals
from jaxcrl.envs.ant_objects import (
    BLOCK_GAP,
    PUSH_CELLS,
    AntPush,
    block_half_width,
    min_ball_clearance,
    nearest_ball_start,
    push_cells,
)

ENVS = ["ant_soccer", "ant_push"]
GOAL_INDICES = {"ant_soccer": (15, 16), "ant_push": (0, 1)}  # the ball's (x, y); the torso's


@pytest.fixture(params=ENVS)
def rollout(request) -> Rollout:
    """A compiled env and its random rollout (cached across tests)."""
    return compiled(request.param)


def simulate(rollout: Rollout, qpos: np.ndarray, qvel: np.ndarray, num_steps: int) -> np.ndarray:
    """Positions [num_steps, NUM_ENVS, nq] from (qpos, qvel) [NUM_ENVS, nq or nv], motors off."""
    physics = rollout.first.physics.replace(qpos=jnp.asarray(qpos), qvel=jnp.asarray(qvel))
    states = rollout.first.replace(physics=physics)
    actions = jnp.zeros((NUM_ENVS, rollout.env.action_size))
    trace = []
    for _ in range(num_steps):
        states = rollout.step(states, actions)
        trace.append(np.asarray(states.physics.qpos))
    return np.stack(trace)


def launch(env, placements: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(qpos, qvel) [NUM_ENVS, ...] at the standing pose, one copy per dict of overrides.

    Keys: ``torso`` (x, y, z), ``torso_speed`` (vx, vy), ``object`` (x, y), ``object_speed``.
    """
    qpos = np.tile(np.asarray(env.home_qpos), (NUM_ENVS, 1))
    qvel = np.zeros((NUM_ENVS, env.mj_model.nv), np.float32)
    for copy, placement in enumerate(placements):
        qpos[copy, :3] = placement.get("torso", (0.0, 0.0, 0.55))
        qvel[copy, :2] = placement.get("torso_speed", (0.0, 0.0))
        qpos[copy, -2:] = placement.get("object", qpos[copy, -2:])
        qvel[copy, -2:] = placement.get("object_speed", (0.0, 0.0))
    return qpos, qvel


def test_reset_shapes_dtypes_and_state_layout(rollout):
    env, state = rollout.env, rollout.first
    check_first_states(env, state, NUM_ENVS)
    assert env.state_size == 33 and env.goal_indices == GOAL_INDICES[env.name]
    assert env.observation_size == 35 and env.goal_size == 2
    qpos, qvel = np.asarray(state.physics.qpos), np.asarray(state.physics.qvel)
    np.testing.assert_array_equal(state.obs[:, :33], np.concatenate([qpos, qvel], -1))
    np.testing.assert_array_equal(qvel[:, -2:], 0.0)  # the object starts at rest


def test_random_rollout_shapes_and_finite(rollout):
    check_random_rollout(rollout.env, rollout.obs, rollout.metrics, NUM_STEPS, NUM_ENVS)
    assert rollout.done.sum() >= NUM_STEPS // EPISODE_LENGTH * NUM_ENVS  # every episode ended


def test_jit_vmap_step(rollout):
    # rollout.jit_step is jax.jit(jax.vmap(env.step)) with fast-compile options
    stepped = rollout.step(rollout.first, jnp.zeros((NUM_ENVS, rollout.env.action_size)))
    check_step_keeps_the_goal(rollout.env, rollout.first, stepped, NUM_ENVS)
    assert not np.array_equal(stepped.obs[:, :33], rollout.first.obs[:, :33])  # physics moved


def test_goal_at_achieved_position_succeeds_and_far_goal_fails(rollout):
    env = rollout.env
    achieved, at_goal, far = check_goal_at_the_achieved_state(
        env, rollout.first, rollout.step, NUM_ENVS
    )
    # The goal changes no physics: at_goal took the same step as the one that gave ``achieved``.
    np.testing.assert_array_equal(achieved, at_goal.physics.qpos[:, list(GOAL_INDICES[env.name])])
    np.testing.assert_array_equal(at_goal.reward, np.ones(NUM_ENVS))
    np.testing.assert_allclose(far.metrics[DISTANCE], 100.0 * np.sqrt(2.0), rtol=1e-5)


@pytest.mark.parametrize("name", ENVS)
def test_constructor_takes_the_common_overrides(name):
    env = make_env(name, episode_length=7, dense_reward=True, impl="jax", frame_skip=2)
    assert (env.episode_length, env.dense_reward, env.frame_skip) == (7, True, 2)
    assert env.dt == pytest.approx(0.02)
    with pytest.raises(ValueError, match="impl"):
        make_env(name, impl="cuda")


def test_goals_and_starts_differ_across_episodes(rollout):
    episode_starts = check_goals_differ_across_episodes(rollout.done, rollout.goals)
    object_starts = rollout.obs[1:, 0, 15:17][episode_starts]
    torso_starts = rollout.obs[1:, 0, 0:2][episode_starts]
    num_episodes = len(torso_starts)
    assert len(np.unique(torso_starts.round(6), axis=0)) == num_episodes
    if rollout.env.name == "ant_soccer":  # a new ball position every episode
        assert len(np.unique(object_starts.round(6), axis=0)) == num_episodes
    else:  # the block always starts in the gap
        np.testing.assert_allclose(
            object_starts, np.tile(rollout.params.block_start, (num_episodes, 1))
        )


def test_soccer_goal_on_circle_and_ball_ahead_of_the_ant():
    soccer = compiled("ant_soccer")
    state = soccer.many_resets(jax.random.key(3), 64)
    torso, ball = np.asarray(state.obs[:, :2]), np.asarray(state.obs[:, 15:17])
    goal = np.asarray(state.goal)
    np.testing.assert_allclose(np.linalg.norm(goal, axis=-1), 5.0, rtol=1e-5)
    assert np.all(np.abs(torso) <= 0.1 + 1e-6)  # the ant starts at the origin, up to reset noise
    to_ball = np.linalg.norm(ball - torso, axis=-1)
    assert np.all((to_ball >= 1.65 - 1e-5) & (to_ball <= 2.1))
    # Mostly on the goal's side of the ant: 1 m towards the goal plus 1 m in a uniform direction
    # (79% of such balls lie 0.5 m or more ahead; uniform directions around the ant give 25%).
    goal_direction = (goal - torso) / np.linalg.norm(goal - torso, axis=-1, keepdims=True)
    ahead = np.sum((ball - torso) * goal_direction, -1)
    assert np.mean(ahead > 0.5) > 0.6 and ahead.mean() > 0.8


FEET = ("foot_front_left", "foot_front_right", "foot_back_right", "foot_back_left")


def test_soccer_ball_never_starts_on_a_foot():
    # Reset noise stretches the feet up to 1.01 m from the torso, some lifted to the ball's
    # height: with the ball 1.3 m out (the least clearance once accepted) a foot started inside
    # it in 6% of resets, and at the 1.5 m default in 0.25%.
    soccer = compiled("ant_soccer")
    env, model = soccer.env, soccer.env.mj_model
    least = min_ball_clearance(env.reset_noise)
    assert env.ball_clearance >= least  # the default
    params = soccer.params.replace(ball_clearance=jnp.asarray(least))
    states = soccer.many_resets(jax.random.key(8), 1024, params)
    feet, ball = [model.geom(name).id for name in FEET], model.geom("ball").id
    touching = model.geom_size[feet, 0] + model.geom_size[ball, 0]  # [4] radii's sums
    data = mujoco.MjData(model)
    nearest = []
    for qpos in np.asarray(states.physics.qpos):
        data.qpos[:] = qpos
        mujoco.mj_kinematics(model, data)
        apart = np.linalg.norm(data.geom_xpos[feet] - data.geom_xpos[ball], axis=-1)
        nearest.append((apart - touching).min())
    assert min(nearest) > 0.0
    with pytest.raises(ValueError, match=f"ball_clearance must be at least {least:g} m"):
        make_env("ant_soccer", ball_clearance=least - 0.01)


def test_soccer_redraws_a_goal_around_the_ant_and_leaves_the_ball():
    # --redraw-goal-on-success drew the goal 5 m from the origin, wherever the ant stood.
    soccer = compiled("ant_soccer")
    env, states = soccer.env, soccer.first
    torso = jnp.array([30.0, -20.0])
    qpos = states.physics.qpos.at[:, :2].set(torso)
    states = states.replace(
        physics=states.physics.replace(qpos=qpos), obs=states.obs.at[:, :2].set(torso)
    )
    ball = states.obs[:, 15:17]
    states = states.replace(
        goal=ball,
        obs=states.obs.at[:, env.state_size :].set(ball),
        metrics={**states.metrics, SUCCESS: jnp.ones(NUM_ENVS)},
    )
    redrawn, changed = redraw_reached_goals(env, soccer.params, states, jax.random.key(9))
    assert np.asarray(changed).all()
    offsets = np.linalg.norm(np.asarray(redrawn.goal) - np.asarray(torso), axis=-1)
    np.testing.assert_allclose(offsets, 5.0, rtol=1e-5)  # goal_min_radius = goal_max_radius
    np.testing.assert_array_equal(redrawn.physics.qpos, states.physics.qpos)  # nothing moved
    np.testing.assert_array_equal(redrawn.obs[:, -2:], redrawn.goal)


def test_soccer_video_frames_the_ant_with_the_ball_and_its_goal():
    # The camera framed the ball and its goal only: an ant 8 m from them was out of the picture.
    soccer = compiled("ant_soccer")
    env = soccer.env
    state = jax.tree.map(lambda leaf: leaf[0], soccer.first)
    state = state.replace(obs=state.obs.at[:2].set(jnp.array([-8.0, 3.0])))
    points = np.asarray([state.obs[:2], state.obs[15:17], state.goal])  # torso, ball, goal
    camera = env.framing_camera(env.framed_points(state))
    # The camera stands 1.6 x the framed box's diagonal back: what lies within half a diagonal
    # (distance / 3.2) of where it looks is in view.
    reach = np.linalg.norm(points - np.asarray(camera.lookat[:2]), axis=-1)
    assert np.all(reach <= camera.distance / 3.2 + 1e-6)


def test_soccer_goal_given_places_the_ball_toward_it_as_a_reset_would():
    # eval.py --goal on ant_soccer left the ball on its way to the reset's own goal.
    soccer = compiled("ant_soccer")
    env = soccer.env
    states = soccer.many_resets(jax.random.key(5), 64)
    asked = jnp.array([0.0, -5.0])
    moved = jax.vmap(lambda state: env.with_goal(state, asked))(states)
    torso, ball = np.asarray(moved.obs[:, :2]), np.asarray(moved.obs[:, 15:17])
    np.testing.assert_array_equal(np.asarray(moved.goal), np.tile([0.0, -5.0], (64, 1)))
    np.testing.assert_array_equal(np.asarray(moved.obs[:, -2:]), np.asarray(moved.goal))
    np.testing.assert_array_equal(torso, np.asarray(states.obs[:, :2]))  # the ant stays put
    np.testing.assert_allclose(np.asarray(moved.physics.qpos[:, -2:]), ball)
    ahead = (ball - torso) @ np.array([0.0, -1.0])
    assert np.mean(ahead > 0.5) > 0.6 and ahead.mean() > 0.8  # as for the reset's own goals
    distance = np.linalg.norm(ball - np.array([0.0, -5.0]), axis=-1)
    np.testing.assert_allclose(np.asarray(moved.metrics[DISTANCE]), distance, rtol=1e-5)


def test_push_starts_in_front_goals_behind_block_in_the_gap():
    push = compiled("ant_push")
    env, state = push.env, push.many_resets(jax.random.key(4), 128)
    cell = env.cell_size
    torso, block, goal = (
        np.asarray(x) for x in (state.obs[:, :2], state.obs[:, 15:17], state.goal)
    )

    def offsets_from(points, mark):
        """Which ``mark`` cell centre is nearest each point, and the offset from it."""
        centres = push_cells(mark, cell)
        index = np.argmin(np.linalg.norm(points[:, None] - centres[None], axis=-1), axis=1)
        return index, points - centres[index]

    start_cells, start_offsets = offsets_from(torso, "S")
    goal_cells, goal_offsets = offsets_from(goal, "G")
    assert np.all(np.abs(start_offsets) <= 2.0 + 0.1 + 1e-5)  # jitter plus the ant's reset noise
    assert np.all(np.abs(goal_offsets) <= 1.0 + 1e-5)
    assert set(start_cells) == {0, 1, 2} and set(goal_cells) == {0, 1}  # every cell is used
    np.testing.assert_array_equal(block, np.tile(push_cells("B", cell), (128, 1)))
    # Starts lie in front of the block and goals behind it, never in a wall.
    row_col = lambda xy: tuple(np.floor(xy / cell).astype(int)[:, ::-1].T)  # noqa: E731
    assert set(PUSH_CELLS[row_col(torso)]) == {"S"} and set(PUSH_CELLS[row_col(goal)]) == {"G"}
    with pytest.raises(ValueError, match="start_jitter"):
        make_env("ant_push", start_jitter=3.5)
    with pytest.raises(ValueError, match="goal_min_radius"):
        make_env("ant_push", goal_min_radius=3.0)


@pytest.mark.parametrize(
    "cell_size, message",
    [
        (3.0, r"start_jitter=2 needs cell_size >= 6 m .*, got cell_size=3; raise cell_size"),
        (0.0, "cell_size must be at least 2 m, so that a start 1 m from every wall fits"),
    ],
)
def test_push_cell_size_too_small_is_named(cell_size, message):
    # A small cell_size was reported as a bad start_jitter, with the range [0, -1] at 0.
    with pytest.raises(ValueError, match=message):
        make_env("ant_push", cell_size=cell_size)


def test_push_options_listed_are_those_it_takes():
    # goal_min_radius, goal_max_radius and xml were listed as options, then refused.
    assert {"goal_min_radius", "goal_max_radius", "xml"}.isdisjoint(env_arguments("ant_push"))
    assert "xml" not in env_arguments("ant_soccer") and "ball_clearance" in env_arguments(
        "ant_soccer"
    )


def test_push_leaves_no_gap_the_torso_fits_through():
    # A block 0.9 of a cell wide left 0.57 m between its corners and the wall corners around
    # the junction: the torso (0.5 m across, the one part of the ant that walls stop) slipped
    # through to the goal without moving the block.
    env = compiled("ant_push").env
    model = env.mj_model
    torso = model.geom_size[model.geom("torso").id, 0]
    block_half = model.geom_size[model.geom("block").id, :2]
    block_centre = model.key_qpos[0, -2:]
    gaps = []
    for geom in range(model.ngeom):
        if model.geom(geom).name.startswith("wall_"):
            # Between two axis-aligned rectangles: the space between them along each axis.
            apart = np.abs(model.geom_pos[geom, :2] - block_centre) - model.geom_size[geom, :2]
            gaps.append(np.linalg.norm(np.maximum(apart - block_half, 0.0)))
    around = [gap for gap in gaps if gap < 1.0]  # the wall corners at the junction
    assert len(around) == 3
    assert max(around) < 2 * torso - 0.1
    # Its sides lie as near the sides of its cell: no wall face beside it leaves more room.
    assert np.all(0.5 * env.cell_size - block_half < 2 * torso - 0.1)


def test_push_block_slides_out_of_the_gap_without_jamming():
    # A steady push (5 N against 1 N of friction) along a corridor, or askew so that the block
    # meets a wall corner on its way, carries it out of the junction into that dead end.
    push = compiled("ant_push")
    env = push.env
    cell, half = env.cell_size, block_half_width(env.cell_size)
    junction = push_cells("B", cell)[0]  # (20, 20)
    qpos, qvel = launch(env, [{"torso": (*push_cells("S", cell)[0], 0.55)}] * NUM_ENVS)
    directions = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.3], [0.3, 1.0]])
    force = np.zeros((NUM_ENVS, env.mj_model.nbody, 6), np.float32)
    force[:, env.mj_model.body("block").id, :2] = (
        5.0 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    )
    physics = push.first.physics.replace(
        qpos=jnp.asarray(qpos), qvel=jnp.asarray(qvel), xfrc_applied=jnp.asarray(force)
    )
    states = push.first.replace(physics=physics)
    actions = jnp.zeros((NUM_ENVS, env.action_size))
    for _ in range(60):
        states = push.step(states, actions)
    block = np.asarray(states.physics.qpos[:, 15:17]) - junction  # [copies, 2] from the gap
    along = np.where(directions[:, :1] > directions[:, 1:], block, block[:, ::-1])
    # Its near face has left the junction cell, and it lies centred in the corridor.
    assert np.all(along[:, 0] - half > 0.5 * cell), block
    assert np.all(np.abs(along[:, 1]) <= BLOCK_GAP + 0.05), block


def test_push_goals_in_walls_or_off_the_map_are_named():
    # eval.py --goal 0,0 (inside the map's corner wall) evaluated a goal no torso can reach.
    env = compiled("ant_push").env
    assert env.goal_problem(tuple(push_cells("G", env.cell_size)[0])) is None
    assert "lies inside a wall (row 0, column 0 of the map)" in env.goal_problem((0.0, 0.0))
    assert "lies outside the maze" in env.goal_problem((-5.0, 20.0))


def test_push_redraws_goals_in_the_dead_ends():
    push = compiled("ant_push")
    states = push.first.replace(metrics={**push.first.metrics, SUCCESS: jnp.ones(NUM_ENVS)})
    redrawn, _ = redraw_reached_goals(push.env, push.params, states, jax.random.key(10))
    cells = np.floor(np.asarray(redrawn.goal) / push.env.cell_size).astype(int)[:, ::-1]
    assert set(PUSH_CELLS[tuple(cells.T)]) == {"G"}


def test_contacts_are_only_the_needed_pairs():
    # Soccer: 4 feet-floor, torso + 4 feet vs the ball.
    assert num_candidate_contacts(compiled("ant_soccer").env) == 9
    # Push: 4 feet-floor, torso + 4 feet vs the block, torso vs 7 wall boxes, the block's
    # wall guard vs 7 wall boxes; the feet on the walls too add 4 x 7.
    assert num_candidate_contacts(compiled("ant_push").env) == 23
    assert num_candidate_contacts(AntPush(wall_contacts="torso_and_feet")) == 23 + 28


def test_soccer_ball_rolls_stops_and_meets_the_ant():
    soccer = compiled("ant_soccer")
    env = soccer.env
    data = mujoco.MjData(env.mj_model)
    data.qpos[:] = env.home_qpos
    mujoco.mj_kinematics(env.mj_model, data)
    foot = data.geom_xpos[env.mj_model.geom("foot_front_left").id][:2]  # (+x, +y) of the torso
    qpos, qvel = launch(
        env,
        [
            # 0: the ant flies at 3 m/s into a ball 1.5 m ahead; 1: the same beside its path.
            {"torso": (0.0, 0.0, 0.9), "torso_speed": (3.0, 0.0), "object": (1.5, 0.0)},
            {"torso": (0.0, 0.0, 0.9), "torso_speed": (3.0, 0.0), "object": (1.5, 3.0)},
            # 2: the ball alone, rolling at 2 m/s; 3: rolling at 1 m/s onto a standing foot.
            {"object": (-4.0, 4.0), "object_speed": (2.0, 0.0)},
            {"object": (foot[0] + 0.7, foot[1]), "object_speed": (-1.0, 0.0)},
        ],
    )
    ball = simulate(soccer, qpos, qvel, 50)[:, :, 15:17]  # [steps, copies, 2]
    moved = ball[-1] - qpos[:, 15:17]
    assert moved[0, 0] > 0.1 and abs(moved[0, 1]) < 1e-3  # pushed ahead by the torso
    np.testing.assert_allclose(moved[1], 0.0, atol=1e-4)  # untouched: stays put
    # Friction loss of 0.1 x weight: from 2 m/s the ball stops after 2 / (2 x 0.98) = 2 m.
    assert 1.5 < moved[2, 0] < 2.5 and abs(moved[2, 1]) < 1e-3
    np.testing.assert_allclose(ball[-10:, 2], np.tile(ball[-1, 2], (10, 1)), atol=5e-3)
    # Alone it would roll 0.5 m, through the foot; the foot stops it at their radii's sum.
    foot_gap = np.linalg.norm(ball[:, 3] - foot, axis=-1)
    assert foot_gap.min() > 0.3 and ball[-1, 3, 0] > qpos[3, 15] - 0.35


def test_push_block_moves_and_walls_stop_block_and_ant():
    push = compiled("ant_push")
    env = push.env
    half = block_half_width(env.cell_size)
    block_x, block_y = push_cells("B", env.cell_size)[0]  # (20, 20) with 8 m cells
    right_end = push_cells("G", env.cell_size)[0]  # dead end beyond the block in +x: (28, 20)
    start = push_cells("S", env.cell_size)[0]  # the corner cell (12, 12); a wall at x < 8
    wall_x = start[0] - 0.5 * env.cell_size
    qpos, qvel = launch(
        env,
        [
            # 0: the ant flies at 3 m/s into the block's -x face.
            {"torso": (block_x - half - 1.2, block_y, 0.9), "torso_speed": (3.0, 0.0)},
            # 1: the block slides at 2 m/s towards the wall 0.4 m beyond the dead end's face.
            {"torso": (*start, 0.55), "object": right_end, "object_speed": (2.0, 0.0)},
            # 2: the ant flies at 3 m/s towards the wall, its torso 0.45 m away; 3: the same
            # launch in the open, with the block sliding at 2 m/s down its corridor.
            {"torso": (wall_x + 0.7, start[1], 0.9), "torso_speed": (-3.0, 0.0)},
            {
                "torso": (*start, 0.9),
                "torso_speed": (-3.0, 0.0),
                "object_speed": (0.0, -2.0),
            },
        ],
    )
    trace = simulate(push, qpos, qvel, 50)  # [steps, copies, nq]
    block, torso = trace[:, :, 15:17], trace[:, :, :2]
    assert block[-1, 0, 0] - block_x > 0.03 and abs(block[-1, 0, 1] - block_y) < 1e-3
    # Without the wall the block would slide 2 m; it stops where its face meets the wall.
    wall_face = right_end[0] + 0.5 * env.cell_size
    assert block[:, 1, 0].max() + half < wall_face + 0.05
    assert block[:, 1, 0].max() + half > wall_face - 0.1  # it did reach the wall
    # The same launch carries the ant 0.5 m or more in the open; the wall holds its torso out.
    assert start[0] - torso[:, 3, 0].min() > 0.5
    assert torso[:, 2, 0].min() > wall_x + 0.25 - 0.05
    assert 1.5 < block_y - block[-1, 3, 1] < 2.5  # the block slides freely and stops


def test_xml_loads_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert make_env("ant_soccer").mj_model.nq == 17
    assert AntPush(cell_size=4.0, start_jitter=1.0).mj_model.nq == 17


# Rendered by egl_renders.render_report in a fresh interpreter under MUJOCO_GL=egl.
RENDER_SCRIPT = """
import jax
from jaxcrl.envs import make_env

report = {}
for name in ["ant_soccer", "ant_push"]:
    env = make_env(name)
    params = env.default_params()
    state = env.reset(jax.random.key(5), params)
    image = env.render(state, params)
    env.goal_marker_radius = 0.0  # the same scene without its goal marker
    report[name] = [list(image.shape), red_pixels(image), red_pixels(env.render(state, params))]
print(json.dumps(report))
"""


def test_render_shows_the_goal_marker():
    report = render_report(RENDER_SCRIPT)
    for name in ENVS:
        shape, shown, hidden = report[name]
        assert shape == [240, 320, 3]
        assert shown > 5 and hidden == 0, name  # the goal marker; nothing else is red


@pytest.mark.parametrize(
    "radius, noise, nearest",
    [
        (5.0, 0.0, 3.0),  # the ball 0.2 of the way out plus 1 m: (1 - 0.2) * 5 - 1
        (2.0, 0.0, 0.35),  # pushed out to its 1.65 m clearance, on the goal's ray: 2 - 1.65
        (5.0, 0.1, 0.8 * (5 - 0.1 * np.sqrt(2)) - 1),  # the ant's start moved toward the goal
    ],
)
def test_soccer_nearest_ball_start_is_what_resets_draw(radius, noise, nearest):
    soccer = compiled("ant_soccer")
    params = soccer.params.replace(
        goal_min_radius=jnp.asarray(radius),
        goal_max_radius=jnp.asarray(radius),
        reset_noise=jnp.asarray(noise),
    )
    worked_out = nearest_ball_start(radius, radius, 0.2, 1.0, 1.65, noise)
    np.testing.assert_allclose(worked_out, nearest, atol=1e-9)
    states = soccer.many_resets(jax.random.key(18), 2048, params)
    distance = np.asarray(states.metrics[DISTANCE])
    assert distance.min() >= worked_out - 1e-5
    if noise == 0:  # drawn at random, some ball lies within a few millimetres of the least
        assert distance.min() <= worked_out + 0.005


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        # The ball starts 2.887 m or more from its goal with the defaults.
        (
            "ant_soccer",
            {"success_threshold": 2.9},
            r"success_threshold must be at most 2.886 m, below the nearest a ball can start to "
            r"its goal = 2.88686 m",
        ),
        # A ball led most of the way to its goal may start on it: no threshold helps.
        (
            "ant_soccer",
            {"ball_lead": 0.8},
            r"is 0 m .* so some episodes would start at their goal whatever success_threshold: "
            r"lower ball_lead, ball_spread or ball_clearance",
        ),
        # Goals 2 m out leave the ball, 1.65 m out, 0.21 m from them.
        (
            "ant_soccer",
            {"goal_min_radius": 2.0, "goal_max_radius": 2.0},
            r"at most 0.208 m, .* got 0.5: lower success_threshold, or lower ball_lead, "
            r"ball_spread or ball_clearance, or raise goal_min_radius and goal_max_radius",
        ),
        # Diagonal start and goal cells: sqrt(2) * (8 - 2 - 1 - 0.1) = 6.93 m apart at least.
        (
            "ant_push",
            {"success_threshold": 7.0},
            r"success_threshold must be at most 6.929 m, below sqrt\(2\) \* \(cell_size - ",
        ),
        ("ant_push", {"cell_size": 2e5}, r"cell_size=200000 puts goals up to 7000\d\d m"),
        ("ant_soccer", {"ball_clearance": 1e6}, r"ball_clearance=1e\+06 puts the ball's start up"),
        ("ant_soccer", {"goal_max_radius": 1e6}, r"goal_max_radius=1e\+06 puts goals up to"),
        (
            "ant_push",
            {"reset_noise": 0.6, "terminate_when_unhealthy": False},
            r"reset_noise must be at most 0.5",
        ),
    ],
)
def test_options_that_start_solved_or_break_the_physics_are_refused(name, overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        make_env(name, **overrides)
    assert "\n" not in str(error.value)


def test_bounds_accept_the_values_they_name():
    make_env("ant_soccer", success_threshold=2.886)
    make_env("ant_soccer", goal_min_radius=2.0, goal_max_radius=2.0, success_threshold=0.208)
    make_env("ant_push", success_threshold=6.929)
