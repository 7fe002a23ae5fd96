"""Offline CRL: the trainer bundle, option checks, and learning the U-maze from random-action data."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from tiny_runs import compile_optimised

from jaxcrl.collect import collect_dataset, random_actions
from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.dataset import load_splits, save_dataset, validation_path
from jaxcrl.envs import make_env
from jaxcrl.goals import later_steps_in_episode, sample_future_goal_batch
from jaxcrl.offline import make_offline_trainer, offline_data, validate_offline
from jaxcrl.trainer import FIRST_NONFINITE

SMALL = TrainConfig(env="point_open", hidden_width=32, repr_dim=8, batch_size=64, eval_episodes=8)


@functools.cache
def small_dataset(env_name: str = "point_open", episodes: int = 20, seed: int = 0):
    """Random-action episodes of the env (collected once per argument set: tests only read it)."""
    env = make_env(env_name)
    act = random_actions(env.action_size)
    return collect_dataset(env, env.default_params(), act, jax.random.PRNGKey(seed), episodes)


def test_run_iterations_takes_one_gradient_step_per_iteration_and_averages_metrics():
    env = make_env("point_open")
    dataset = small_dataset()
    val_dataset = small_dataset(episodes=4, seed=1)
    trainer = make_offline_trainer(SMALL, env, env.default_params(), dataset, val_dataset)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    assert state.data.buffer.states.shape == (dataset.num_steps, 1, env.state_size)
    run = jax.jit(trainer.run_iterations, donate_argnums=0)
    state, metrics = run(state, jnp.asarray(3, jnp.int32))
    state, metrics = run(state, jnp.asarray(5, jnp.int32))  # same compilation, another count
    assert int(state.iteration) == 8 and int(state.agent.gradient_steps) == 8
    assert int(metrics[FIRST_NONFINITE]) == -1
    assert all(bool(jnp.isfinite(v)) and v.shape == () for v in metrics.values())
    np.testing.assert_array_equal(state.data.buffer.states[:, 0], dataset.observations)

    evaluation = jax.jit(trainer.evaluate)(state.agent.policy_params, jax.random.PRNGKey(1))
    assert 0.0 <= float(evaluation["eval/success"]) <= 1.0

    val_metrics = jax.jit(trainer.validate)(state, jax.random.PRNGKey(2))
    assert "val/critic/loss" in val_metrics and "val/actor/loss" in val_metrics
    # Building the loop traces one gradient step once (it was traced twice: for its metrics'
    # shapes, and as the loop's body).
    import jaxcrl.offline

    steps = []
    real_step = jaxcrl.offline.dataset_step
    jaxcrl.offline.dataset_step = lambda *args: steps.append(1) or real_step(*args)
    try:
        again = make_offline_trainer(SMALL, env, env.default_params(), dataset, val_dataset)
        jax.eval_shape(again.run_iterations, state, jnp.asarray(2, jnp.int32))
    finally:
        jaxcrl.offline.dataset_step = real_step
    assert len(steps) == 1
    assert make_offline_trainer(SMALL, env, env.default_params(), dataset).validate is None


def test_offline_anchors_are_every_step_with_a_later_step_in_its_episode():
    # Episodes of 1, 2, 3 and 2 steps, the last one unterminated (a truncated file's tail).
    terminals = np.array([1, 0, 1, 0, 0, 1, 0, 0], np.float32)
    dataset = small_dataset()
    dataset = dataset._replace(
        observations=dataset.observations[:8], actions=dataset.actions[:8], terminals=terminals
    )
    data = offline_data(dataset)
    np.testing.assert_array_equal(data.anchor_times, [1, 3, 4, 6])
    horizons = later_steps_in_episode(data.buffer, data.anchor_times, jnp.zeros(4, jnp.int32))
    np.testing.assert_array_equal(horizons, [1, 2, 1, 1])


def test_offline_goals_never_leave_their_episode_even_with_two_step_episodes():
    # Two-step episodes (a stitch dataset of --segment-length 2): half the rows have no future
    # goal, so drawing candidate anchors would fail for some rows of a large batch.
    dataset = small_dataset()
    terminals = np.tile(np.array([0, 1], np.float32), dataset.num_steps // 2)
    n = len(terminals)
    dataset = dataset._replace(
        observations=dataset.observations[:n], actions=dataset.actions[:n], terminals=terminals
    )
    data = offline_data(dataset)
    batch = sample_future_goal_batch(
        data.buffer, jax.random.PRNGKey(0), 20_000, 0.9, (0, 1), anchor_times=data.anchor_times
    )
    episode = np.concatenate([[0], np.cumsum(terminals[:-1])])
    anchors, offsets = np.asarray(batch.anchor_times), np.asarray(batch.offsets)
    np.testing.assert_array_equal(episode[anchors], episode[anchors + offsets])
    np.testing.assert_array_equal(offsets, 1)
    np.testing.assert_array_equal(batch.future_goals, dataset.observations[anchors + 1, :2])


def test_offline_trainer_runs_every_actor_objective_with_twin_critics():
    env = make_env("point_open")
    dataset = small_dataset()
    for objective in ("bc_mix", "ddpg_bc"):
        config = dataclasses.replace(SMALL, actor_objective=objective, twin_critics=True)
        trainer = make_offline_trainer(config, env, env.default_params(), dataset)
        state = trainer.init(jax.random.PRNGKey(0))
        state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(2, jnp.int32))
        assert int(metrics[FIRST_NONFINITE]) == -1 and "actor/bc_log_prob" in metrics


def test_offline_trainer_runs_the_ogbench_actor():
    # OGBench's CRL actor: deterministic DDPG+BC on uniformly drawn later goals of the episode.
    env = make_env("point_open")
    config = dataclasses.replace(
        SMALL, actor_objective="ddpg_bc", deterministic_actor=True, actor_goals="uniform"
    )
    trainer = make_offline_trainer(config, env, env.default_params(), small_dataset())
    state = trainer.init(jax.random.PRNGKey(0))
    new_state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(2, jnp.int32))
    assert int(metrics[FIRST_NONFINITE]) == -1
    assert float(metrics["actor/bc_log_prob"]) == pytest.approx(
        -0.5 * float(metrics["actor/bc_mode_error"]), rel=1e-5
    )
    changed = jax.tree.map(
        lambda a, b: bool(jnp.any(a != b)), state.agent.policy_params, new_state.agent.policy_params
    )
    assert all(jax.tree.leaves(changed))


@pytest.mark.parametrize(
    "change,flag",
    [
        ({"num_updates": 0}, "--num-updates"),
        ({"bc_weight": 1.5}, "--bc-weight"),
        ({"bc_alpha": -1.0}, "--bc-alpha"),
        ({"actor_objective": "awr"}, "--actor-objective"),
        ({"batch_size": 10_000}, "--batch-size"),
    ],
)
def test_validate_offline_names_the_bad_option(change, flag):
    dataset = small_dataset(episodes=4)
    validate_offline(SMALL, dataset)
    with pytest.raises(ConfigError, match=flag):
        validate_offline(dataclasses.replace(SMALL, **change), dataset)


def offline_success(tmp_path, seed: int, num_updates: int = 4000) -> dict:
    """Collect random-action U-maze data, train offline CRL, evaluate the deterministic policy."""
    env = make_env("point_u_maze")
    act = random_actions(env.action_size)
    path = tmp_path / "point_u_maze-random.npz"
    save_dataset(path, collect_dataset(env, env.default_params(), act, jax.random.PRNGKey(7), 1000))
    save_dataset(
        validation_path(path),
        collect_dataset(env, env.default_params(), act, jax.random.PRNGKey(8), 100),
    )
    train, val = load_splits(path, env.state_size, env.action_size)
    assert val is not None
    config = TrainConfig(
        env="point_u_maze", seed=seed, dataset=str(path), num_updates=num_updates, eval_episodes=256
    )
    validate_offline(config, train)
    trainer = make_offline_trainer(config, env, env.default_params(), train)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(seed))
    evaluate = jax.jit(trainer.evaluate)
    before = evaluate(state.agent.policy_params, jax.random.PRNGKey(100))
    iterations = jnp.asarray(num_updates, jnp.int32)
    state, _ = compile_optimised(trainer.run_iterations, state, iterations)(state, iterations)
    after = evaluate(state.agent.policy_params, jax.random.PRNGKey(100))
    return {"before": float(before["eval/success"]), "after": float(after["eval/success"])}


def test_offline_crl_learns_the_u_maze_from_random_action_data(tmp_path):
    # Measured on a 2-core CPU shared with other jobs: 1000 random-action episodes (100k steps),
    # 4000 gradient steps at batch 256, 256 eval episodes, 60-75 s with compilation: success
    # 0.81 / 0.81 / 0.81 for seeds 0 / 1 / 2; untrained 0.27 / 0.17 / 0.15 on the same episodes.
    # The same with everything under the tests' fast-compile XLA flags (tests/conftest.py,
    # 2026-11-27); the 4000-step loop compiles with XLA's usual optimisation to run in half the time.
    success = offline_success(tmp_path, seed=0)
    assert success["after"] >= 0.65, success
    assert success["after"] >= success["before"] + 0.35, success


def test_train_py_with_a_dataset_trains_offline_and_eval_reads_it(tmp_path, capsys):
    from jaxcrl.cli import eval_main, train_main
    from jaxcrl.config_files import read_run_config
    from jaxcrl.logger import read_metrics
    from jaxcrl.members import member_keys
    from jaxcrl.program import build, make_program

    env = make_env("point_open")
    path = tmp_path / "point_open-random.npz"
    save_dataset(path, small_dataset(env.name, episodes=20))
    save_dataset(validation_path(path), small_dataset(env.name, episodes=4, seed=1))
    run_dir = tmp_path / "run"
    train_main(
        ["--env", "point_open", "--dataset", str(path), "--num-updates", "40", "--num-evals", "2",
         "--batch-size", "32", "--hidden-width", "16", "--repr-dim", "8", "--eval-episodes", "4",
         "--actor-objective", "bc_mix", "--num-seeds", "2", "--no-progress",
         "--run-dir", str(run_dir)]
    )  # fmt: skip
    assert "40 gradient steps each in" in capsys.readouterr().out
    # Both members read one copy of the dataset (no member axis), and have their own learners.
    config = read_run_config(run_dir)
    _, _, trainer, members = build(config)
    program = make_program(config, env, trainer, members)
    state = jax.eval_shape(program.init, member_keys(members))
    steps = small_dataset(env.name, episodes=20).num_steps
    assert state.data.buffer.states.shape == (steps, 1, env.state_size)
    assert state.agent.gradient_steps.shape == (2,)
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [(row["iteration"], row["member"]) for row in rows] == [
        (20, 0),
        (20, 1),
        (40, 0),
        (40, 1),
    ]
    assert "env_steps" not in rows[-1] and rows[-1]["gradient_steps"] == 40
    assert "actor/bc_log_prob" in rows[-1] and 0.0 <= rows[-1]["eval/success"] <= 1.0
    assert np.isfinite(rows[-1]["val/critic/loss"]) and 0 <= rows[-1]["val/critic/accuracy"] <= 1
    # Evaluation needs the run's policy, not its dataset.
    path.rename(tmp_path / "moved.npz")
    eval_main(["--run-dir", str(run_dir), "--episodes", "3"])
    assert "over 2 members" in capsys.readouterr().out

    bad = tmp_path / "bad.npz"
    np.savez(bad, observations=np.zeros((10, 2), np.float32))
    with pytest.raises(SystemExit):
        train_main(["--dataset", str(bad), "--run-dir", str(tmp_path / "r2")])
    assert "bad.npz" in capsys.readouterr().err and not (tmp_path / "r2").exists()

    # A -val split with no step that has a future goal is refused before anything runs.
    one_step = small_dataset(env.name, episodes=4, seed=1)
    save_dataset(
        tmp_path / "moved-val.npz", one_step._replace(terminals=np.ones_like(one_step.terminals))
    )
    with pytest.raises(SystemExit):
        train_main(["--dataset", str(tmp_path / "moved.npz"), "--run-dir", str(tmp_path / "r3")])
    error = capsys.readouterr().err
    assert "moved-val.npz: every episode is one step long, so the validation split" in error
    assert not (tmp_path / "r3").exists()


def test_first_nonfinite_step_is_counted_like_the_iteration_after_it():
    env = make_env("point_open")
    dataset = small_dataset()
    poisoned = dataset._replace(observations=np.full_like(dataset.observations, np.nan))
    trainer = make_offline_trainer(SMALL, env, env.default_params(), poisoned)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(3, jnp.int32))
    # Bad from the first step on, as the online trainer reports it: 1, not 0.
    assert int(metrics[FIRST_NONFINITE]) == 1 and int(state.iteration) == 3


def test_an_offline_run_resumes_from_anywhere_but_only_on_the_data_it_started_on(
    tmp_path, monkeypatch
):
    from jaxcrl import run

    data = tmp_path / "data"
    data.mkdir()
    save_dataset(data / "d.npz", small_dataset(episodes=20))
    save_dataset(data / "d-val.npz", small_dataset(episodes=4, seed=1))
    run_dir = tmp_path / "run"
    monkeypatch.chdir(data)  # the dataset named relative to where the run starts
    config = dataclasses.replace(
        SMALL, dataset="d.npz", num_updates=20, num_evals=2, batch_size=32, hidden_width=16,
        eval_episodes=4, progress=False, run_dir=str(run_dir),
    )  # fmt: skip
    run.train(config)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["config"]["dataset"] == str((data / "d.npz").resolve())
    assert saved["derived"] == {"training_iterations": 20, "iterations_per_eval": 10}
    assert saved["dataset_files"]["train"]["bytes"] == (data / "d.npz").stat().st_size
    assert len(saved["dataset_files"]["val"]["sha256"]) == 64

    monkeypatch.chdir(tmp_path)
    original = (data / "d-val.npz").read_bytes()
    save_dataset(data / "d-val.npz", small_dataset(episodes=4, seed=2))
    with pytest.raises(ConfigError, match="not the one the run started on .its val split changed"):
        run.resume(run_dir, num_updates=40)
    (data / "d-val.npz").unlink()
    with pytest.raises(ConfigError, match="not the one the run started on .its val split is gone"):
        run.resume(run_dir, num_updates=40)
    (data / "d-val.npz").write_bytes(original)
    # Nor may config.yaml turn it into an online run (it asked for a --dataset never given).
    config_path = run_dir / "config.yaml"
    recorded = config_path.read_text()
    config_path.write_text(recorded.replace(f"dataset: {data / 'd.npz'}", "dataset: null"))
    with pytest.raises(ConfigError, match="names no dataset, but the run trained offline"):
        run.resume(run_dir, num_updates=40)
    config_path.write_text(recorded)
    rows = run.resume(run_dir, num_updates=40).metrics
    assert [row["iteration"] for row in rows] == [10, 20, 30, 40]
    (data / "d.npz").rename(data / "moved.npz")
    with pytest.raises(ConfigError, match="d.npz is gone; put it back, or set dataset: in"):
        run.resume(run_dir, num_updates=60)
    # A relative path written into config.yaml is refused, even where it names the file: it was
    # read from where the resume ran, and a later resume elsewhere read another file or none.
    (data / "moved.npz").rename(data / "d.npz")
    config_path = run_dir / "config.yaml"
    config_path.write_text(config_path.read_text().replace(str(data / "d.npz"), "data/d.npz"))
    relative = r"names the dataset by a relative path \(data/d.npz\), .*to the file's absolute"
    with pytest.raises(ConfigError, match=relative):
        run.resume(run_dir, num_updates=60)


def test_a_dataset_larger_than_a_device_is_refused_before_it_reaches_it(tmp_path, monkeypatch):
    from jaxcrl import devices
    from jaxcrl.program import build

    path = tmp_path / "data.npz"
    save_dataset(path, small_dataset(episodes=20))
    config = TrainConfig(env="point_open", dataset=str(path), num_updates=10)
    need = sum(array.nbytes for array in load_splits(path, 2, 2)[0])
    monkeypatch.setattr(devices, "device_memory_bytes", lambda: need)  # one copy, not two
    with pytest.raises(ConfigError, match=rf"dataset {path} needs 0.0 GiB on each device .*CPU"):
        build(config)
    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 4 * need)
    assert build(config)[2].init is not None
