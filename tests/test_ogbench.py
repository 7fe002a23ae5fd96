"""OGBench's own environments: sizes, local dataset generation, host evaluation, offline runs."""

import dataclasses
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from egl_renders import render_report

from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.dataset import Dataset, load_splits
from jaxcrl.envs import make_env
from jaxcrl.envs.ogbench_envs import OGBENCH_SIZES, OgbenchEnv
from jaxcrl.host_eval import (
    episode_seed,
    evaluate_policy_on_host,
    objects_at_goal,
    run_task_episode,
)
from jaxcrl.offline import make_offline_trainer
from jaxcrl.ogbench_data import (
    generate,
    junction_cells,
    main,
    manipulation_oracles,
    scene_is_healthy,
    stack_probability,
    val_seed,
)
from jaxcrl.trainer import FIRST_NONFINITE


@pytest.mark.parametrize("env_id", sorted(OGBENCH_SIZES))
def test_recorded_sizes_match_ogbench(env_id):
    env = make_env(env_id)
    gym_env = env.make()
    try:
        observation, info = gym_env.reset(seed=0, options={"task_id": 1})
        assert observation.shape == (env.state_size,)
        assert info["goal"].shape == (env.state_size,)
        assert gym_env.action_space.shape == (env.action_size,)
        assert gym_env.spec.max_episode_steps == env.episode_length
        assert gym_env.unwrapped.num_tasks == env.num_tasks
    finally:
        gym_env.close()
    assert env.goal_indices == tuple(range(env.state_size))


@pytest.mark.parametrize("env_id", ["pointmaze-medium-v0", "antsoccer-arena-v0"])
def test_making_an_env_leaves_no_model_file_or_descriptor_behind(env_id, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    open_before = len(os.listdir("/proc/self/fd"))
    gym_env = make_env(env_id).make()
    try:
        observation, _ = gym_env.reset(seed=0, options={"task_id": 1})
        assert np.all(np.isfinite(observation))
    finally:
        gym_env.close()
    assert os.listdir(tmp_path) == []  # OGBench writes its model with mkstemp and keeps it
    assert len(os.listdir("/proc/self/fd")) <= open_before
    assert tempfile.tempdir == str(tmp_path)


def test_visual_twins_observe_64x64_images_with_the_state_envs_actions():
    env = make_env("visual-antmaze-medium-v0")
    assert env.image_shape == (64, 64, 3) and env.state_size == 64 * 64 * 3
    assert env.goal_indices == tuple(range(env.state_size))
    assert (env.action_size, env.episode_length) == OGBENCH_SIZES["antmaze-medium-v0"][1:]
    with pytest.raises(ValueError, match="unknown OGBench env 'visual-pointmaze-medium-v0'"):
        OgbenchEnv("visual-pointmaze-medium-v0")  # OGBench has no visual point maze


def test_a_visual_env_gives_the_recorded_image_sizes():
    # Rendering needs EGL (MUJOCO_GL=egl), so the env runs in its own process.
    report = render_report(
        """
import gymnasium, ogbench, numpy as np
env = gymnasium.make("visual-antmaze-medium-v0")
observation, info = env.reset(seed=0, options={"task_id": 1})
observation, *_ = env.step(env.action_space.sample())
print(json.dumps([list(observation.shape), str(observation.dtype), list(info["goal"].shape),
                  list(env.action_space.shape), env.spec.max_episode_steps]))
"""
    )
    env = make_env("visual-antmaze-medium-v0")
    assert report == [list(env.image_shape), "uint8", list(env.image_shape), [8], 1000]


class ImageTaskEnv:
    """A stand-in for an OGBench visual env: image observations, success after three steps."""

    def __init__(self):
        import gymnasium

        self.steps = 0
        self.unwrapped = self
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (2,))

    def reset(self, seed, options):
        self.steps = 0
        goal = np.full((4, 4, 3), 7, np.uint8)
        return np.zeros((4, 4, 3), np.uint8), {"goal": goal}

    def step(self, action):
        self.steps += 1
        observation = np.full((4, 4, 3), self.steps, np.uint8)
        return observation, 0.0, False, self.steps == 5, {"success": self.steps >= 3}


def test_host_evaluation_hands_image_observations_to_the_policy_flat_and_uint8():
    seen = []

    def policy(observation):
        seen.append(observation)
        return np.zeros(2)

    result = run_task_episode(ImageTaskEnv(), policy, task_id=1, seed=0)
    assert result["success"] == 1.0 and result["time_near_goal"] == 3 / 5
    assert all(o.shape == (2 * 4 * 4 * 3,) and o.dtype == np.uint8 for o in seen)
    assert seen[1][0] == 1 and seen[1][-1] == 7  # state image, then goal image


def test_offline_training_reads_an_image_dataset_for_a_visual_env():
    env = make_env("visual-cube-single-v0")
    rng = np.random.default_rng(0)
    steps = 64
    dataset = Dataset(
        observations=rng.integers(0, 256, (steps, env.state_size), dtype=np.uint8),
        actions=rng.uniform(-1, 1, (steps, env.action_size)).astype(np.float32),
        terminals=(np.arange(steps) % 16 == 15).astype(np.float32),
    )
    config = dataclasses.replace(
        TrainConfig(env=env.name), batch_size=8, hidden_width=16, repr_dim=8, cnn_channels=(4,)
    )
    trainer = make_offline_trainer(config, env, env.default_params(), dataset)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    assert state.data.buffer.states.dtype == jnp.uint8
    state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(2, jnp.int32))
    assert int(metrics[FIRST_NONFINITE]) == -1 and int(state.agent.gradient_steps) == 2


def test_data_without_an_oracle_is_refused_with_where_to_get_it(capsys):
    with pytest.raises(SystemExit):
        main(["--env", "antmaze-medium-v0", "--out", "unused.npz"])
    assert "trained expert policies" in capsys.readouterr().err


def test_unknown_ogbench_env_is_refused():
    with pytest.raises(ValueError, match="unknown OGBench env 'cube-nine-v0'; choose from"):
        OgbenchEnv("cube-nine-v0")


def test_navigate_data_covers_the_maze_and_marks_episode_ends():
    dataset = generate("pointmaze-medium-v0", episodes=3, episode_length=200, noise=None, seed=0)
    assert dataset.observations.shape == (600, 2) and dataset.actions.shape == (600, 2)
    assert dataset.observations.dtype == np.float32
    np.testing.assert_array_equal(np.flatnonzero(dataset.terminals), [199, 399, 599])
    assert np.all(np.abs(dataset.actions) <= 1.0)
    # The oracle walks: each episode travels more than one 4 m maze cell.
    for episode in np.split(dataset.observations, 3):
        assert np.linalg.norm(episode[-1] - episode[0]) > 4.0 or np.ptp(episode, axis=0).max() > 4.0
    again = generate("pointmaze-medium-v0", episodes=3, episode_length=200, noise=None, seed=0)
    np.testing.assert_array_equal(dataset.observations, again.observations)


def test_play_data_moves_the_cube():
    dataset = generate("cube-single-v0", episodes=1, episode_length=150, noise=None, seed=0)
    assert dataset.observations.shape == (150, 28) and dataset.actions.shape == (150, 5)
    assert dataset.terminals[-1] == 1.0 and dataset.terminals[:-1].sum() == 0
    assert np.all(np.abs(dataset.actions) <= 1.0)
    arm_moves = np.ptp(dataset.observations, axis=0)
    assert arm_moves.max() > 0.1  # the oracle drives the arm; a frozen env would give ~0


@pytest.mark.parametrize("env_id", ["cube-double-v0", "scene-v0", "puzzle-3x3-v0"])
def test_play_data_of_each_manipulation_kind_mark_episode_ends(env_id):
    dataset = generate(env_id, episodes=2, episode_length=50, noise=None, seed=0)
    assert dataset.observations.shape == (100, OGBENCH_SIZES[env_id][0])
    np.testing.assert_array_equal(np.flatnonzero(dataset.terminals), [49, 99])
    assert np.all(np.abs(dataset.actions) <= 1.0) and np.ptp(dataset.actions, axis=0).min() > 0


def test_play_uses_ogbench_plan_oracles_and_noisy_its_markov_oracles():
    from ogbench.manipspace.oracles.markov.markov_oracle import MarkovOracle
    from ogbench.manipspace.oracles.plan.plan_oracle import PlanOracle

    gym_env = OgbenchEnv("puzzle-3x3-v0").make(mode="data_collection")
    try:
        play = manipulation_oracles(gym_env, "puzzle-3x3-v0", "play", noise=0.1)
        noisy = manipulation_oracles(gym_env, "puzzle-3x3-v0", "noisy", noise=0.1)
    finally:
        gym_env.close()
    assert all(isinstance(oracle, PlanOracle) for oracle in play.values())
    assert (play["cube"]._noise, play["cube"]._noise_smoothing) == (0.1, 0.5)
    assert all(isinstance(oracle, MarkovOracle) for oracle in noisy.values())
    assert noisy["cube"]._min_norm == 0.4
    # Puzzle's buttons are pressed with the gripper closed, as in OGBench's puzzle data.
    assert play["button"]._gripper_always_closed and noisy["button"]._gripper_always_closed


def test_new_cube_targets_use_the_episode_s_stack_probability(monkeypatch):
    from ogbench.manipspace.envs.cube_env import CubeEnv

    asked = []
    set_new_target = CubeEnv.set_new_target

    def recording(self, return_info=True, p_stack=0.5):
        if return_info:  # the oracle is done; the env's own reset asks with return_info=False
            asked.append(p_stack)
        return set_new_target(self, return_info=return_info, p_stack=p_stack)

    monkeypatch.setattr(CubeEnv, "set_new_target", recording)
    generate("cube-double-v0", episodes=1, episode_length=300, noise=None, seed=0)
    assert len(asked) >= 2 and len(set(asked)) == 1 and 0.0 <= asked[0] <= 0.25
    rng = np.random.default_rng(0)
    draws = {size: [stack_probability(f"cube-{size}-v0", rng) for _ in range(200)]
             for size in ("single", "double", "triple", "quadruple")}  # fmt: skip
    assert max(draws["single"]) == 0.0 and max(draws["double"]) <= 0.25
    assert 0.05 <= min(draws["triple"]) and max(draws["triple"]) <= 0.35
    assert 0.1 <= min(draws["quadruple"]) and max(draws["quadruple"]) <= 0.5
    assert stack_probability("scene-v0", rng) == stack_probability("puzzle-3x3-v0", rng) == 0.5


def test_scene_episodes_whose_cube_leaves_the_view_are_drawn_again(monkeypatch):
    qpos = np.zeros((3, 25))
    qpos[:, 14:17] = [0.4, 0.0, 0.02]
    assert scene_is_healthy(qpos)
    for y, z, healthy in [(0.29, 0.02, False), (-0.3, 0.07, True), (-0.3, 0.02, False)]:
        qpos[1, 15:17] = y, z
        assert scene_is_healthy(qpos) == healthy, (y, z)
    verdicts = []

    def first_unhealthy(qpos):
        verdicts.append(len(verdicts) > 0)
        return verdicts[-1]

    monkeypatch.setattr("jaxcrl.ogbench_data.scene_is_healthy", first_unhealthy)
    dataset = generate("scene-v0", episodes=1, episode_length=20, noise=None, seed=0)
    assert verdicts == [False, True] and dataset.observations.shape == (20, 40)


def test_noisy_recipe_makes_markov_oracle_data_for_manipulation_only(capsys):
    dataset = generate("cube-single-v0", 2, 50, noise=None, seed=0, recipe="noisy")
    np.testing.assert_array_equal(np.flatnonzero(dataset.terminals), [49, 99])
    assert np.all(np.abs(dataset.actions) <= 1.0)
    with pytest.raises(SystemExit):
        main(["--env", "pointmaze-medium-v0", "--recipe", "noisy", "--out", "unused.npz"])
    assert "--recipe noisy does not apply to pointmaze-medium-v0; choose navigate" in (
        capsys.readouterr().err
    )


def test_navigate_goals_are_the_maze_s_junctions_not_its_corridors():
    maze_map = np.array(
        [[1, 1, 1, 1, 1],
         [1, 0, 0, 0, 1],
         [1, 0, 1, 1, 1],
         [1, 0, 1, 1, 1],
         [1, 1, 1, 1, 1]]
    )  # fmt: skip
    # (1, 2) is a horizontal corridor cell and (2, 1) a vertical one; the rest are ends or turns.
    assert junction_cells(maze_map).tolist() == [[1, 1], [1, 3], [3, 1]]


def test_visual_play_data_are_the_state_data_seen_as_images(tmp_path):
    # The oracle reads the env's state, so the same seed gives the same actions; rendering needs
    # EGL, so the visual env runs in its own process (and its file is written by the CLI).
    out = tmp_path / "visual.npz"
    report = render_report(
        f"""
import numpy as np
from jaxcrl.ogbench_data import main
main(["--env", "visual-cube-single-v0", "--episodes", "1", "--val-episodes", "1",
      "--episode-length", "12", "--out", {str(out)!r}])
print(json.dumps("written"))
"""
    )
    assert report == "written"
    with np.load(out) as data:
        images, actions = data["observations"], data["actions"]
    assert images.shape == (12, 64, 64, 3) and images.dtype == np.uint8
    assert np.abs(np.diff(images.astype(np.int16), axis=0)).max() > 0  # the arm moves on screen
    state_data = generate("cube-single-v0", episodes=1, episode_length=12, noise=None, seed=0)
    np.testing.assert_allclose(actions, state_data.actions, atol=1e-6)
    train, _ = load_splits(out, 64 * 64 * 3, 5)
    assert train.observations.shape == (12, 64 * 64 * 3) and train.observations.dtype == np.uint8


def test_generator_writes_both_splits_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "pm.npz"
    argv = ["--env", "pointmaze-medium-v0", "--episodes", "2", "--val-episodes", "1"]
    main([*argv, "--episode-length", "50", "--out", str(out)])
    train, val = load_splits(out, 2, 2)
    assert train.num_steps == 100 and train.num_episodes == 2
    assert val is not None and val.num_steps == 50
    assert "navigate data of pointmaze-medium-v0, action noise 0.5" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*argv, "--out", str(out)])
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "out, flags, message",
    [
        ("pm", [], "--out must name an .npz file (NAME.npz), got"),
        ("pm.dat", [], "--out must name an .npz file (NAME.npz), got"),
        (
            "pm.npz",
            ["--episode-length", "1"],
            "--episode-length must be a whole number of at least",
        ),
        ("taken.npz", [], "taken-val.npz exists; choose another --out"),
        ("pm.npz", ["--seed", "-1"], "--seed must be from 0 to 2**32 - 1"),
    ],
)
def test_generator_refuses_an_output_it_would_misname_or_overwrite(
    tmp_path, out, flags, message, capsys
):
    (tmp_path / "taken-val.npz").write_bytes(b"someone's split")
    with pytest.raises(SystemExit):
        main(
            ["--env", "pointmaze-medium-v0", "--episodes", "2", "--out", str(tmp_path / out)]
            + flags
        )
    assert message in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken-val.npz"]


def test_a_val_split_is_never_another_seed_s_train_split():
    # The val split was drawn from --seed + 1: the train split of the next seed a user picks.
    seeds = range(1000)
    val_seeds = {val_seed(seed) for seed in seeds}
    assert len(val_seeds) == len(seeds) and not val_seeds & set(seeds)


def test_generator_defaults_are_ogbench_s_episode_length_and_validation_share(tmp_path, capsys):
    out = tmp_path / "pm.npz"
    main(["--env", "pointmaze-medium-v0", "--episodes", "2", "--out", str(out)])
    train, val = load_splits(out, 2, 2)
    np.testing.assert_array_equal(np.flatnonzero(train.terminals), [1000, 2001])
    assert val is not None and val.num_steps == 1001  # a tenth of the episodes, at least one
    assert "action noise 0.5, 1001-step episodes" in capsys.readouterr().out


def test_host_evaluation_counts_an_oracle_as_successful_and_a_still_policy_not():
    env = make_env("pointmaze-medium-v0")
    maze = env.make().unwrapped

    def oracle(observation):  # walks to the goal (observation = xy ++ goal xy)
        subgoal, _ = maze.get_oracle_subgoal(observation[:2], observation[2:])
        if maze.xy_to_ij(observation[:2]) == maze.xy_to_ij(observation[2:]):
            subgoal = observation[2:]
        step = subgoal - observation[:2]
        return np.clip(step / max(np.linalg.norm(step), 1e-6), -1, 1)

    walked = evaluate_policy_on_host(env, oracle, episodes_per_task=1, seed=0)
    assert walked["eval/success"] == 1.0, walked
    assert all(walked[f"eval/success_task_{k}"] == 1.0 for k in range(1, 6))
    assert 0.0 < walked["eval/time_near_goal"] < 1.0 and walked["eval/final_distance"] < 1.0
    still = evaluate_policy_on_host(env, lambda observation: np.zeros(2), 1, seed=0)
    assert still["eval/success"] == 0.0 and still["eval/time_near_goal"] == 0.0


def test_objects_at_goal_counts_every_object_of_a_scene_and_is_nan_for_a_maze():
    class SceneLike:  # OGBench's scene: (cubes, buttons, drawer, window)
        def _compute_successes(self):
            return [True], [np.True_, np.False_], np.False_, True

    assert objects_at_goal(SceneLike()) == pytest.approx(3 / 5)
    assert np.isnan(objects_at_goal(object()))


def test_host_evaluation_reports_objects_at_goal_for_a_cube_task():
    env = make_env("cube-single-v0")
    gym_env = env.make(terminate_at_goal=False)
    try:  # a still arm leaves the cube where it was, away from its goal
        result = run_task_episode(gym_env, lambda observation: np.zeros(5), task_id=1, seed=0)
    finally:
        gym_env.close()
    assert result["objects_at_goal_initial"] == 0.0 and result["objects_at_goal_final"] == 0.0
    assert result["success"] == 0.0 and np.isnan(result["final_distance"])
    maze = evaluate_policy_on_host(make_env("pointmaze-medium-v0"), lambda o: np.zeros(2), 1, 0)
    assert np.isnan(maze["eval/objects_at_goal_final"])


def test_online_training_on_an_ogbench_env_is_refused():
    from jaxcrl.program import build

    with pytest.raises(ConfigError, match="OGBench env: it trains offline only; give --dataset"):
        build(TrainConfig(env="pointmaze-medium-v0"))


def train_on_generated_point_maze_data(tmp_path, *flags: str):
    """A tiny offline run on three generated pointmaze-medium episodes; returns its run dir."""
    from jaxcrl.cli import train_main

    data = tmp_path / "pm.npz"
    main(["--env", "pointmaze-medium-v0", "--episodes", "3", "--val-episodes", "1",
          "--episode-length", "100", "--out", str(data)])  # fmt: skip
    run_dir = tmp_path / "run"
    train_main(
        ["--env", "pointmaze-medium-v0", "--dataset", str(data), "--num-evals", "1",
         "--batch-size", "32", "--hidden-width", "16", "--repr-dim", "8", "--eval-episodes", "5",
         "--no-progress", "--run-dir", str(run_dir), *flags]
    )  # fmt: skip
    return run_dir


def test_offline_run_on_generated_data_evaluates_on_ogbench_tasks(tmp_path, capsys):
    from jaxcrl.cli import eval_main
    from jaxcrl.logger import read_metrics

    run_dir = train_on_generated_point_maze_data(tmp_path, "--num-updates", "20")
    assert "20 gradient steps in" in capsys.readouterr().out
    (row,) = read_metrics(run_dir / "metrics.jsonl")
    assert row["gradient_steps"] == 20 and row["eval/episode_length"] == 1000
    assert {f"eval/success_task_{k}" for k in range(1, 6)} <= set(row)
    eval_main(["--run-dir", str(run_dir), "--episodes", "5"])
    assert "success rate" in capsys.readouterr().out


def test_two_member_run_evaluates_with_the_metrics_a_maze_leaves_undefined(tmp_path, capsys):
    import json

    from jaxcrl.cli import eval_main

    run_dir = train_on_generated_point_maze_data(
        tmp_path, "--num-updates", "10", "--num-seeds", "2"
    )
    capsys.readouterr()
    eval_main(["--run-dir", str(run_dir), "--episodes", "5"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("success") and printed[0].endswith("over 2 members")
    result = json.loads(printed[-1])
    assert len(result["members"]) == 2 and result["summary"]["eval/success"]["count"] == 2
    assert result["summary"]["eval/final_distance"]["count"] == 2
    # OGBench's mazes have no objects: NaN for every member, so no summary rather than a crash.
    assert result["summary"]["eval/objects_at_goal_final"] is None
    assert [row["eval/objects_at_goal_final"] for row in result["members"]] == [None, None]


def test_episode_seeds_never_repeat_across_tasks_episodes_and_members():
    triples = [
        (seed, task, episode) for seed in range(3) for task in range(1, 6) for episode in range(40)
    ]
    seeds = {episode_seed(*triple) for triple in triples}
    assert len(seeds) == len(triples)
    assert episode_seed(0, 1, 10) != episode_seed(0, 2, 0)  # collided under seed*1000+10*task+ep
    assert all(0 <= seed < 2**32 for seed in seeds)


def test_a_maze_episode_is_the_same_for_the_same_seed():
    # OGBench's maze reset jitters start and goal with NumPy's global generator: unseeded, the
    # same --seed gave other episodes (final distances 15.4 then 16.5).
    gym_env = make_env("pointmaze-medium-v0").make(terminate_at_goal=False)
    policy = lambda observation: np.array([0.5, -0.3])
    try:
        np.random.seed(1)
        first = run_task_episode(gym_env, policy, task_id=2, seed=7)
        np.random.seed(2)  # whatever the global generator's state
        second = run_task_episode(gym_env, policy, task_id=2, seed=7)
        other = run_task_episode(gym_env, policy, task_id=2, seed=8)
    finally:
        gym_env.close()
    np.testing.assert_equal(first, second)  # NaN where a maze has no objects, in both
    assert first["final_distance"] != other["final_distance"]


def test_a_visual_env_that_cannot_render_is_refused_before_training(tmp_path, monkeypatch):
    # Without MUJOCO_GL=egl (no display), training ran its first chunk and then crashed at the
    # evaluation with no checkpoint saved.
    import mujoco

    from jaxcrl.config import ConfigError, TrainConfig
    from jaxcrl.envs.ogbench_envs import OgbenchEnv
    from jaxcrl.program import build

    def no_display(self, **kwargs):
        raise mujoco.FatalError("an OpenGL platform library has not been loaded into this process")

    monkeypatch.setattr(OgbenchEnv, "make", no_display)
    config = TrainConfig(env="visual-cube-single-v0", dataset=str(tmp_path / "d.npz"))
    with pytest.raises(ConfigError, match=r"could not start \(an OpenGL .*set MUJOCO_GL=egl"):
        build(config, load_dataset=False)
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    make_env("cube-single-v0").check_rendering()  # the state twin renders nothing: not made


def test_training_says_when_ogbench_runs_another_number_of_episodes_than_asked():
    from types import SimpleNamespace

    from jaxcrl.config import TrainConfig
    from jaxcrl.run import host_episodes_note

    env = SimpleNamespace(host_evaluated=True, num_tasks=5)
    note = host_episodes_note(TrainConfig(eval_episodes=3), env)
    assert note == (
        "each evaluation runs 5 episodes, not --eval-episodes 3: OGBench's envs run each of "
        "their 5 tasks equally often"
    )
    assert host_episodes_note(TrainConfig(eval_episodes=10), env) is None
    assert host_episodes_note(TrainConfig(eval_episodes=3), SimpleNamespace()) is None


def test_a_renderer_that_mujoco_gl_names_but_does_not_start_is_one_error(
    monkeypatch, tmp_path, capsys
):
    # MUJOCO_GL=osmesa without OSMesa: PyOpenGL's AttributeError came out as a traceback, while
    # the message for no MUJOCO_GL at all recommends osmesa.
    def no_osmesa(self, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'glGetError'")

    monkeypatch.setattr(OgbenchEnv, "make", no_osmesa)
    env = OgbenchEnv("visual-cube-single-v0")
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    with pytest.raises(RuntimeError, match="MUJOCO_GL=osmesa names a renderer that does not start"):
        env.check_rendering()
    # A state env too: MuJoCo opens that renderer as OGBench's env is made. Training used to
    # run, then fail at its first evaluation with a traceback and nothing saved.
    with pytest.raises(RuntimeError, match="cube-single-v0 is made with MuJoCo's renderer"):
        OgbenchEnv("cube-single-v0").check_rendering()
    with pytest.raises(SystemExit) as stopped:  # as it stopped ogbench_data, which wrote nothing
        from jaxcrl.ogbench_data import main

        main(["--env", "cube-single-v0", "--episodes", "1", "--out", str(tmp_path / "d.npz")])
    assert (
        stopped.value.code == 2 and "MUJOCO_GL=osmesa names a renderer" in capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []
    monkeypatch.delenv("MUJOCO_GL")
    with pytest.raises(AttributeError):  # not a renderer's failure: raised as it is
        env.check_rendering()


def test_an_ogbench_env_without_the_ogbench_package_is_refused_before_training(
    tmp_path, monkeypatch
):
    # Without the extra, a run trained its first evaluation interval, then crashed at the
    # evaluation with no checkpoint saved.
    from jaxcrl.config import ConfigError, TrainConfig
    from jaxcrl.envs import ogbench_envs
    from jaxcrl.program import build

    def not_installed(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(ogbench_envs, "import_starting_renderer", not_installed)
    config = TrainConfig(env="pointmaze-medium-v0", dataset=str(tmp_path / "d.npz"))
    with pytest.raises(ConfigError, match=r"need the ogbench package .*pip install .*\[ogbench\]"):
        build(config, load_dataset=False)
