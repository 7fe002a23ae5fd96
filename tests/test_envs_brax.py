"""Brax's envs as goal-reaching tasks (envs/brax_goal.py), on Brax's reacher: the env contract,
goals apart from the start, and the options' checks."""

import functools

import jax
import numpy as np
import pytest
from egl_renders import render_report
from env_checks import (  # noqa: F401  (pytest collects these with this module's rollout)
    test_goal_at_achieved_state_succeeds_and_far_goal_fails,
    test_goals_differ_across_episodes_of_one_slot,
    test_hundred_random_steps_without_resets_stay_finite,
    test_jit_vmap_step,
    test_reset_shapes_and_dtypes,
    test_step_shapes_and_finite_over_random_rollout,
)
from test_envs_mjx import Rollout

from jaxcrl.envs import SUCCESS, make_env, reset_batch

# Brax's reacher: q = two arm joints, then its own target's two slide joints (unused here).
REACHER = {
    "brax_env": "reacher",
    "goal_low": (-3.0, -2.0),
    "goal_high": (3.0, 2.0),
    "success_threshold": 0.2,
}


@functools.cache
def compiled() -> Rollout:
    """Brax's reacher, its goal on the arm's two joint angles, compiled and rolled out once, on
    Brax's spring back end (compiled in 18 s here, against 47 s on its MJX back end, which the
    reset test below runs)."""
    return Rollout("brax", **REACHER, backend="spring")


@pytest.fixture
def rollout() -> Rollout:
    """A compiled env and its random rollout (cached across tests)."""
    return compiled()


def test_the_state_is_braxs_observation_then_the_goals_q_entries(rollout):
    env = rollout.env
    assert (env.brax_observation_size, env.state_size, env.goal_indices) == (11, 13, (11, 12))
    q = np.asarray(rollout.first.physics.pipeline_state.q)
    np.testing.assert_array_equal(np.asarray(rollout.first.obs)[:, 11:13], q[:, :2])
    np.testing.assert_array_equal(
        np.asarray(rollout.first.obs)[:, :11], np.asarray(rollout.first.physics.obs)
    )


def test_no_episode_starts_at_its_goal_and_goals_fill_their_box():
    # A box two thresholds wide around the starts: a goal drawn at random lands within the
    # threshold of the start a fifth of the time.
    env = make_env("brax", **REACHER)
    params = env.default_params().replace(
        goal_low=np.float32([-0.2, -0.2]),
        goal_high=np.float32([0.2, 0.2]),
        success_threshold=np.float32(0.1),
    )
    states = jax.jit(lambda key: reset_batch(env, params, key, 512))(jax.random.key(5))
    assert np.asarray(states.metrics[SUCCESS]).sum() == 0
    goals = np.asarray(states.goal)
    assert np.all(np.abs(goals) <= 0.2) and goals.min() < -0.15 and goals.max() > 0.15


@pytest.mark.parametrize(
    "options, problem",
    [
        ({"brax_env": "rechr"}, "brax_env 'rechr' is not one of Brax's envs: ant, fast"),
        ({"brax_env": "swimmer"}, r"swimmer does not run on backend=mjx \(Unsupported backend"),
        ({"goal_q_indices": (5,)}, r"goal_q_indices \(5,\): reacher's q has 4 entries; give a"),
        ({"goal_q_indices": (0.7, 1.2)}, r"goal_q_indices \(0.7, 1.2\): reacher's q has 4"),
        ({"goal_q_indices": (True, False)}, r"goal_q_indices \(True, False\): reacher's q"),
        ({"goal_q_indices": (0, 0)}, r"goal_q_indices \[0, 0\] names an entry twice"),
        ({"goal_low": (1.0,)}, r"goal_low \(1.0,\): give 2 numbers, one per entry of goal_q"),
        ({"goal_low": ("a", "b")}, r"goal_low \('a', 'b'\): give 2 numbers"),
        ({"goal_low": (1.0, 1.0), "goal_high": (0.0, 2.0)}, r"goal_low \[1, 1\] must be"),
        # Brax's reacher: its shoulder (q[0]) turns without limit; 12 radians is two turns.
        ({"goal_low": (-6.0, -2.0)}, r"\[-6, 3\] for q\[0\], an unlimited hinge's angle, span"),
        # A box within the threshold of the start: every episode began solved, success 1.0.
        (
            {"goal_low": (-0.2, -0.2), "goal_high": (0.2, 0.2), "success_threshold": 0.5},
            r"goal_low \[-0.2, -0.2\] / goal_high \[0.2, 0.2\]: about 100% of episodes would "
            r"start within success_threshold 0.5 of their goal, .*reacher starts \(q\[0, 1\] = "
            r"\[0, 0\]\); widen the box",
        ),
        # Brax's reacher: its elbow (q[1]) turns within [-3, 3] radians.
        ({"goal_high": (3.0, 3.5)}, r"\[-2, 3.5\] for q\[1\] leave .* within \[-2.999, 2.999\]"),
        ({"backend": "mjxx"}, "backend 'mjxx' is not one of Brax's: mjx, generalized"),
        ({"success_threshold": 0.0}, "success_threshold must be a distance > 0, got 0.0"),
    ],
)
def test_options_that_make_no_task_are_refused_with_the_fix(options, problem):
    with pytest.raises(ValueError, match=problem):
        make_env("brax", **{**REACHER, **options})


def test_a_brax_env_whose_step_fails_to_trace_is_refused_naming_the_back_ends_that_work(
    monkeypatch,
):
    # Brax's swimmer on its generalized back end calls jnp.clip(a_min=...), which JAX 0.10 no
    # longer takes: the TypeError came out of the env's constructor as it was.
    from brax import envs as brax_envs

    real = brax_envs.get_environment

    def step_failing_under_this_jax(*_):
        raise TypeError("clip() got an unexpected keyword argument 'a_min'")

    def failing_on_generalized(name, backend):
        env = real(name, backend=backend)
        if backend == "generalized":
            env.step = step_failing_under_this_jax
        return env

    monkeypatch.setattr(brax_envs, "get_environment", failing_on_generalized)
    with pytest.raises(
        ValueError, match=r"on backend=generalized \(clip.*; give backend=mjx or posi"
    ):
        make_env("brax", **REACHER, backend="generalized")


def test_one_goal_entry_may_be_given_as_a_number_and_numpy_numbers_are_numbers():
    env = make_env("brax", **{**REACHER, "goal_q_indices": 0, "goal_low": -3, "goal_high": 3})
    assert (env.goal_q_indices, env.goal_indices, env.state_size) == ((0,), (11,), 12)
    box = {"goal_low": np.float32([-1, -1]), "goal_high": np.array([1.0, 1.0])}
    env = make_env("brax", **{**REACHER, "goal_q_indices": np.arange(2), **box})
    assert env.goal_q_indices == (0, 1) and env.goal_box[0].tolist() == [-1.0, -1.0]


# Rendered by egl_renders.render_report in a fresh interpreter under MUJOCO_GL=egl.
# A frame needs the state's q, qd and goal alone: Brax's initial pose spares compiling a reset.
RENDER_SCRIPT = """
from types import SimpleNamespace
import numpy as np
from jaxcrl.envs import make_env

def frame(env, goal, moved=0.0):
    q = np.asarray(env.brax.sys.init_q).copy()
    q[len(q) - 2:] += moved  # the reacher's own target's slides
    pose = SimpleNamespace(pipeline_state=SimpleNamespace(q=q, qd=np.zeros(env.brax.sys.qd_size())))
    return env.render(SimpleNamespace(physics=pose, goal=np.asarray(goal)), env.default_params())

def red_centre(image):
    red = (image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)
    return np.argwhere(red).mean(axis=0).tolist()

ant = make_env("brax")
image = frame(ant, np.asarray(ant.brax.sys.init_q)[:2] + 3.0)
reacher = make_env("brax", brax_env="reacher", goal_low=(-3, -2), goal_high=(3, 2))
bent, straight = frame(reacher, [1.0, 1.0]), frame(reacher, [0.0, 0.0])
print(json.dumps({
    "ant": [list(image.shape), str(image.dtype), red_pixels(image)],
    "reacher_red": [red_pixels(bent), red_pixels(straight)],
    "reacher_centres": [red_centre(bent), red_centre(straight)],
    "own_target_drawn": bool((frame(reacher, [1.0, 1.0], moved=0.1) != bent).any()),
}))
"""


def test_a_goal_on_angles_is_drawn_at_the_far_end_of_the_arm_so_posed():
    # It was drawn at the middle of the last capsule, with a sphere as long as the capsule: on
    # the inverted pendulum it hid the whole pole and the cart.
    import warnings

    from brax import envs as brax_envs

    from jaxcrl.envs.brax_goal import goal_marker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = brax_envs.get_environment("inverted_pendulum", backend="generalized").sys.mj_model
    q = np.array(model.qpos0)  # the cart's slide, then the pole's hinge (0: upright)
    upright, radius = goal_marker(model, q, (1,), np.array([0.0]))
    np.testing.assert_allclose(upright, [0.001, 0.0, 0.6], atol=1e-6)  # the 0.6 m pole's top
    assert radius == pytest.approx(2 * 0.049)  # twice the pole's radius
    level, _ = goal_marker(model, q, (1,), np.array([np.pi / 2]))
    np.testing.assert_allclose(np.linalg.norm(level), 0.6, atol=1e-3)  # the top, turned down
    assert abs(level[2]) < 0.01


def test_a_video_frame_shows_the_goal_and_not_brax_own_target():
    report = render_report(RENDER_SCRIPT)
    assert report["ant"] == [[240, 320, 3], "uint8", report["ant"][2]]
    assert report["ant"][2] > 10  # the ant's goal names its torso's x and y: drawn there
    # The reacher's goal names two joint angles: drawn at the fingertip of the arm so posed.
    assert min(report["reacher_red"]) > 5
    bent, straight = np.asarray(report["reacher_centres"])
    assert np.linalg.norm(bent - straight) > 5  # pixels apart
    assert not report["own_target_drawn"]  # Brax's own target moved: the frame is the same
