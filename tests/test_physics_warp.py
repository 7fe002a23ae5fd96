"""MuJoCo Warp as the physics of the MJX tasks (``--physics warp``), checked against MJX's JAX
back end. Warp runs its kernels on the CPU too, so these run where the rest of the suite does."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_runs import TINY

from jaxcrl import devices, run
from jaxcrl.config import ConfigError
from jaxcrl.envs import make_env, reset_batch, step_batch
from jaxcrl.envs.mjx_base import warp_sizes
from jaxcrl.program import build


def rollout(env, num_envs: int, actions: jax.Array):
    """States after each of ``actions`` [T, E, A] from a batched reset (auto-resetting)."""
    params = env.default_params()

    def run_all(key):
        states = reset_batch(env, params, key, num_envs)

        def step(states, action):
            states = step_batch(env, params, states, action)
            return states, states.obs[:, : env.state_size]

        return jax.lax.scan(step, states, actions)

    return jax.jit(run_all)(jax.random.key(0))


def test_reacher_follows_the_same_trajectory_as_with_jax():
    """No contacts: the two back ends integrate the same equations, to float32 rounding."""
    actions = jax.random.uniform(jax.random.key(1), (30, 4, 2), minval=-1.0, maxval=1.0)
    env = make_env("reacher", impl="warp")
    _, with_jax = rollout(make_env("reacher"), 4, actions)
    _, with_warp = rollout(env, 4, actions)
    assert with_warp.shape == with_jax.shape == (30, 4, env.state_size)
    np.testing.assert_allclose(with_warp, with_jax, atol=1e-4)


def test_ant_stands_as_with_jax_and_its_contacts_fit_one_buffer_for_all_copies():
    num_envs, steps = 6, 70
    actions = jnp.zeros((steps, num_envs, 8))
    _, with_jax = rollout(make_env("ant"), num_envs, actions)
    # Episodes of 30 steps: the copies reset twice, so merging fresh and running copies is used.
    env = make_env("ant", impl="warp", episode_length=30)
    states, with_warp = rollout(env, num_envs, actions)
    contacts, _ = warp_sizes(env.mj_model)
    assert contacts == 4  # the four feet against the floor, nothing else
    # One buffer of 4 contacts per copy, shared by the copies (no leading copy axis).
    assert states.physics._impl.naconmax == num_envs * contacts
    assert states.physics._impl.contact__dist.shape == (num_envs * contacts,)
    assert states.physics.qpos.shape == (num_envs, 15)
    assert np.isfinite(with_warp).all()
    assert 0 < int(states.physics._impl.nacon[0]) <= num_envs * contacts
    # Standing still, both back ends settle the torso at the same height (end of episode 1); their
    # contact solvers differ in detail (one Newton iteration each): 0.014 m apart at most, measured.
    np.testing.assert_allclose(with_warp[28, :, 2], with_jax[28, :, 2], atol=0.03)
    assert (with_warp[28, :, 2] > 0.5).all()


def test_a_run_reserves_contact_room_for_every_member_and_evaluation_episode():
    config = dataclasses.replace(
        TINY, env="reacher", physics="warp", num_envs=4, eval_episodes=6, num_seeds=2
    )
    env, _, _, members = build(config)
    assert len(members) == 2 and env.reserved_copies == 2 * 6


def test_training_on_warp_physics_end_to_end(tmp_path):
    config = dataclasses.replace(
        TINY, env="reacher", physics="warp", num_seeds=2, run_dir=str(tmp_path / "run")
    )
    result = run.train(config)
    rows = result.metrics
    assert sorted({row["seed"] for row in rows}) == [0, 1] and len(rows) >= 2
    assert all(np.isfinite(row["critic/loss"]) and 0 <= row["eval/success"] <= 1 for row in rows)


def test_warp_physics_refuses_several_devices(monkeypatch):
    config = dataclasses.replace(TINY, physics="warp")
    monkeypatch.setattr(devices.jax, "devices", lambda: ["gpu0", "gpu1"])
    with pytest.raises(ConfigError, match="--physics warp runs on one device, and this run sees 2"):
        devices.place(None, config, 1)


def test_missing_warp_names_the_install(monkeypatch):
    import mujoco.mjx.warp as mjx_warp

    monkeypatch.setattr(mjx_warp, "WARP_INSTALLED", False)
    with pytest.raises(
        ValueError, match=r"--physics warp \(impl='warp'\) is not available.*pip install .*\[warp\]"
    ):
        make_env("reacher", impl="warp")


def test_collect_on_warp_physics_writes_the_same_reacher_data(tmp_path):
    from jaxcrl.collect import main as collect
    from jaxcrl.dataset import load_splits

    splits = {}
    for physics in ("jax", "warp"):
        out = tmp_path / f"{physics}.npz"
        flags = ["--env", "reacher", "--episodes", "3", "--val-episodes", "1", "--seed", "2"]
        collect([*flags, "--episode-length", "10", "--out", str(out), "--physics", physics])
        env = make_env("reacher")
        splits[physics], _ = load_splits(out, env.state_size, env.action_size)
    assert splits["warp"].observations.shape == (30, 8)
    np.testing.assert_array_equal(splits["warp"].actions, splits["jax"].actions)
    np.testing.assert_allclose(splits["warp"].observations, splits["jax"].observations, atol=1e-4)
