"""Envs named by their import path, MODULE:CLASS: a GoalEnv subclass of the user's own module
trains, and config.yaml's name brings it back in another process (examples/corridor.py)."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from env_batches import compiled_reset_batch
from env_checks import check_first_states, check_random_rollout, check_step_keeps_the_goal
from tiny_runs import TINY

from jaxcrl.config import ConfigError, TrainConfig
from jaxcrl.envs import (
    env_import_path,
    make_env,
    register,
    registered_envs,
    step_batch,
)
from jaxcrl.program import make_run_env
from jaxcrl.run import train
from jaxcrl.run_dir import default_run_dir
from jaxcrl.validation import validate

REPO = Path(__file__).resolve().parents[1]
CORRIDOR = "examples.corridor:Corridor"


@pytest.fixture
def repo_on_path(monkeypatch):
    """The repository's root importable, as it is for ``python train.py`` run from there."""
    monkeypatch.syspath_prepend(str(REPO))


def test_the_example_env_keeps_the_env_contract(repo_on_path):
    env = make_env(CORRIDOR, speed=0.5)
    assert (env.name, env.speed, env.observation_size) == (CORRIDOR, 0.5, 4)
    params = env.default_params()
    first = compiled_reset_batch(env, params, jax.random.key(0), 8)
    check_first_states(env, first, 8)
    step = jax.jit(lambda states, actions: step_batch(env, params, states, actions))
    states, observations, metrics = first, [], []
    for key in jax.random.split(jax.random.key(1), 30):  # past the 20-step episodes' ends
        states = step(states, jax.random.uniform(key, (8, 2), minval=-1.0, maxval=1.0))
        observations.append(np.asarray(states.obs))
        metrics.append(jax.tree.map(np.asarray, states.metrics))
    check_random_rollout(
        env, np.stack(observations), jax.tree.map(lambda *m: np.stack(m), *metrics), 30, 8
    )
    check_step_keeps_the_goal(env, first, step(first, np.zeros((8, 2), np.float32)), 8)
    assert env.render(jax.tree.map(lambda x: x[0], first), params).shape == (64, 64, 3)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("examples.corridor:Corridr", "examples.corridor has no Corridr; name its GoalEnv"),
        ("examples.corridor:CorridorParams", "CorridorParams is not a subclass of jaxcrl.envs"),
        ("nowhere.at_all:Corridor", r"cannot import nowhere.at_all \(No module named 'nowhere'\)"),
    ],
)
def test_a_wrong_import_path_is_one_error_that_names_it(repo_on_path, name, problem):
    config = dataclasses.replace(TINY, env=name)
    validate(config, registered_envs())  # before any import
    with pytest.raises(ConfigError, match=rf"--env {name}: .*{problem}"):
        make_run_env(config)


# Envs a user might write with one mistake each, in a module of their own.
MISTAKES = """
import jax.numpy as jnp
from examples.corridor import Corridor
from jaxcrl.envs import GoalEnv

class NoLength(Corridor):
    def __init__(self):
        self.speed = 0.2

class WrongSize(Corridor):
    state_size = 3

class ExtraMetric(Corridor):
    def step(self, state, action, params):
        state = super().step(state, action, params)
        return state.replace(metrics={**state.metrics, "extra": jnp.float32(0)})

class NotWritten(GoalEnv):
    state_size, goal_indices, action_size, episode_length = 2, (0, 1), 2, 10

class NeedsSize(Corridor):
    def __init__(self, size: float):
        super().__init__()

class GoalPastState(Corridor):  # JAX clamps index 5 to 1: it trained on the wrong goal
    goal_indices = (0, 5)

class HalfStep(Corridor):  # trained on 21-step episodes, evaluated on 20-step ones
    def __init__(self):
        super().__init__(episode_length=20.5)

class OneStep(Corridor):  # no step has a later one to be its goal
    def __init__(self):
        super().__init__(episode_length=1)

class ThreeActions(Corridor):  # step adds the action to a 2-D position
    action_size = 3
"""


@pytest.mark.parametrize(
    "name, problem",
    [
        ("NoLength", "NoLength sets no episode_length; set each in the class or its __init__"),
        ("WrongSize", r"reset's obs has shape \(4,\), but state_size 3 and goal_indices \[0, 1\]"),
        ("ExtraMetric", "step returns a state of another structure than reset's"),
        ("NotWritten", "mistakes.NotWritten does not define default_params, reset, step"),
        ("NeedsSize", "has no default for size; give --env-options size=VALUE"),
        ("GoalPastState", r"goal_indices must list .* in \[0, state_size 2\), got \(0, 5\)"),
        ("HalfStep", "episode_length must be a whole number of at least 2 steps .*got 20.5"),
        ("OneStep", "episode_length must be a whole number of at least 2 steps .*got 1$"),
        (
            "ThreeActions",
            r"step fails on an action of shape \(3,\) \(action_size 3\): TypeError: add got "
            r"incompatible shapes for broadcasting: \(2,\), \(3,\); make action_size the length",
        ),
    ],
)
def test_an_env_that_breaks_the_contract_is_one_error_before_training(
    repo_on_path, tmp_path, monkeypatch, name, problem
):
    # Each used to fail inside training: an AttributeError, a flax shape error, a scan error.
    (tmp_path / "mistakes.py").write_text(MISTAKES)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=rf"^--env mistakes:{name}:? .*{problem}"):
        make_run_env(dataclasses.replace(TINY, env=f"mistakes:{name}"))


# Envs that train, written in ways the contract check must not refuse.
FINE = """
import jax.numpy as jnp
from examples.corridor import Corridor

class KeyBits(Corridor):  # reads the PRNG key as training passes it (uint32[2])
    def reset(self, key, params):
        state = super().reset(key, params)
        return state.replace(reward=jnp.float32(key[0] % 2) * 0)

class WeakSuccess(Corridor):  # a Python 0 at reset, float32 from step: JAX promotes it
    def reset(self, key, params):
        state = super().reset(key, params)
        return state.replace(metrics={**state.metrics, "success": 0})

class RewardChosen(Corridor):  # --dense-reward's value (False unless given) fills it
    def __init__(self, dense_reward: bool):
        super().__init__()
        self.dense_reward = dense_reward
"""


@pytest.mark.parametrize("name", ["KeyBits", "WeakSuccess", "RewardChosen"])
def test_envs_written_in_other_ways_that_train_pass_the_contract_check(
    repo_on_path, tmp_path, monkeypatch, name
):
    (tmp_path / "fine_envs.py").write_text(FINE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert make_run_env(dataclasses.replace(TINY, env=f"fine_envs:{name}")).state_size == 2
    if name == "RewardChosen":  # an argument a flag sets is not asked for as an env option
        dense = dataclasses.replace(TINY, env=f"fine_envs:{name}", dense_reward=True)
        assert make_run_env(dense).dense_reward is True


def test_a_module_that_cannot_import_says_what_is_missing_or_hides_it(tmp_path, monkeypatch):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "tasks.py").write_text("from .helpers import thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="it imports mypkg.helpers, which does not exist$"):
        make_run_env(dataclasses.replace(TINY, env="mypkg.tasks:Env"))
    (tmp_path / "needs_more.py").write_text("import a_package_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="needs_more imports a_package_nobody_installed, which"):
        make_run_env(dataclasses.replace(TINY, env="needs_more:Env"))
    # A package named envs is hidden by jaxcrl's own envs/ folder when that comes first on the
    # import path, as it does for python train.py of the checkout: said, not "no such module".
    (tmp_path / "project" / "envs").mkdir(parents=True)
    (tmp_path / "project" / "envs" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    monkeypatch.syspath_prepend(str(REPO))
    with pytest.raises(ConfigError, match="envs is jaxcrl's own envs/ folder here"):
        make_run_env(dataclasses.replace(TINY, env="envs.mine:Mine"))


def test_a_malformed_import_path_is_refused_with_the_other_config_errors():
    config = dataclasses.replace(TINY, env="examples.cor-ridor:Corridor")
    with pytest.raises(ConfigError, match="MODULE:CLASS, dotted names of Python identifiers"):
        validate(config, registered_envs())


def test_a_registered_name_cannot_take_a_colon():
    with pytest.raises(ValueError, match="has a colon; pick a name without one"):
        register("mine:v2", "point_maze", "PointMaze", "a maze")
    assert env_import_path("point_open") is None
    assert env_import_path("mylab.envs:Corridor") == ("mylab.envs", "Corridor")
    # A run's default folder takes the class's name: no colon in a path.
    assert default_run_dir(TrainConfig(env=CORRIDOR)).name.startswith("Corridor-s0-")
    brax = TrainConfig(env="brax", env_options=("brax_env=reacher",), seed=3)
    assert default_run_dir(brax).name.startswith("brax-reacher-s3-")


def test_a_run_of_ones_own_env_is_evaluated_in_another_process(repo_on_path, tmp_path):
    config = dataclasses.replace(
        TINY, env=CORRIDOR, env_options=("speed=0.5",), run_dir=str(tmp_path / "run")
    )
    result = train(config)
    assert "env: examples.corridor:Corridor" in (result.run_dir / "config.yaml").read_text()
    # The installed command (not eval.py, whose folder Python puts on the import path).
    command = [str(Path(sys.executable).with_name("jaxcrl-eval")), "--run-dir", str(result.run_dir)]
    environ = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ""}
    run = lambda **kw: subprocess.run(
        command + ["--episodes", "4"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        **kw,
    )
    # From elsewhere, with the module nowhere on the import path: one line that says so.
    lost = run(cwd=tmp_path)
    assert lost.returncode != 0
    assert (
        lost.stderr.strip()
        .splitlines()[-1]
        .startswith("error: --env examples.corridor:Corridor: cannot import examples.corridor")
    )
    # From the folder above it, as from a project of one's own: the run's policy is evaluated.
    found = run(cwd=REPO)
    assert found.returncode == 0, found.stderr
    assert '"episodes": 4' in found.stdout and "success rate" in found.stdout
