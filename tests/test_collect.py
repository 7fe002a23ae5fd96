"""The dataset collector: OGBench-layout train and -val files from jaxcrl's envs."""

import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxcrl.collect import main, parse_options, segment_terminals
from jaxcrl.dataset import load_splits, read_source
from jaxcrl.envs import make_env


def test_segment_terminals_cut_every_l_steps_and_restart_after_an_episode_end():
    dones = np.zeros((2, 8), np.float32)
    dones[1, 4] = 1.0  # the second copy's first episode ends early, at step 4
    terminals = segment_terminals(dones.copy(), segment_length=3)
    np.testing.assert_array_equal(terminals[0], [0, 0, 1, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(terminals[1], [0, 0, 1, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(
        segment_terminals(dones.copy(), None)[1], [0, 0, 0, 0, 1, 0, 0, 1]
    )


def test_an_episodes_last_segment_is_never_a_single_step():
    # Segments of 3 in 7 steps ended 3, 3, 1: the last step was never a sampled state or goal.
    dones = np.zeros((2, 7), np.float32)
    dones[1, 3] = 1.0  # an episode of 4 steps, then one of 3
    terminals = segment_terminals(dones, segment_length=3)
    np.testing.assert_array_equal(terminals[0], [0, 0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(terminals[1], [0, 0, 0, 1, 0, 0, 1])


def test_collect_writes_train_and_val_splits_of_consecutive_steps(tmp_path):
    out = tmp_path / "point_open-stitch.npz"
    main(
        [
            "--env", "point_open", "--episodes", "5", "--val-episodes", "2", "--out", str(out),
            "--episode-length", "20", "--segment-length", "5", "--seed", "3",
            "--env-options", "max_step=0.2",
        ]
    )  # fmt: skip
    env = make_env("point_open", max_step=0.2)
    train, val = load_splits(out, env.state_size, env.action_size)
    assert train.observations.shape == (100, 2) and val.observations.shape == (40, 2)
    expected = np.tile([0, 0, 0, 0, 1], 20)
    np.testing.assert_array_equal(train.terminals, expected)
    assert np.abs(train.actions).max() <= 1.0 and train.actions.std() > 0.4
    # Rows of one episode are consecutive steps: moves are at most max_step per axis.
    moves = np.abs(np.diff(train.observations.reshape(5, 20, 2), axis=1))
    assert moves.max() <= 0.2 + 1e-5 and moves.max() > 0.1
    # Different episodes start from different places.
    starts = train.observations.reshape(5, 20, 2)[:, 0]
    assert len(np.unique(starts[:, 0])) == 5
    # Both splits name the env and options they came from, for runs on another env to notice.
    for split in (out, tmp_path / "point_open-stitch-val.npz"):
        assert read_source(split) == {
            "env": "point_open",
            "env_options": ["max_step=0.2", "episode_length=20"],
        }


def test_an_unknown_env_option_stops_with_one_line_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--env point_open takes no 'gear'"):
        main(["--env", "point_open", "--episodes", "2", "--out", str(tmp_path / "d.npz"),
              "--env-options", "gear=2"])  # fmt: skip
    assert not (tmp_path / "d.npz").exists()


def test_pixel_env_data_are_written_as_uint8_images_and_read_back_flat(tmp_path):
    out = tmp_path / "pixels.npz"
    main(["--env", "point_open_pixels", "--episodes", "2", "--val-episodes", "1",
          "--episode-length", "10", "--out", str(out)])  # fmt: skip
    with np.load(out) as stored:
        assert stored["observations"].shape == (20, 64, 64, 3)
        assert stored["observations"].dtype == np.uint8
        images = stored["observations"]
    env = make_env("point_open_pixels")
    train, _ = load_splits(out, env.state_size, env.action_size)
    assert train.observations.dtype == np.uint8
    np.testing.assert_array_equal(train.observations, images.reshape(20, -1))


def test_both_splits_come_from_one_compiled_rollout_of_equal_calls(tmp_path, monkeypatch):
    import jaxcrl.collect as collect

    traced_sizes = []
    rollout = collect.rollout_states_and_actions

    def counted(env, params, act, key, num_envs):
        traced_sizes.append(num_envs)
        return rollout(env, params, act, key, num_envs)

    monkeypatch.setattr(collect, "rollout_states_and_actions", counted)
    flags = ["--env", "point_open", "--episode-length", "10", "--out", str(tmp_path / "d.npz")]
    main([*flags, "--episodes", "5", "--val-episodes", "2"])
    assert traced_sizes == [7]  # one program for both splits, traced once
    env = make_env("point_open", episode_length=10)
    train, val = load_splits(tmp_path / "d.npz", env.state_size, env.action_size)
    assert len(train.observations) == 5 * 10 and len(val.observations) == 2 * 10
    # 7 copies in calls of at most 3: three calls of 3 copies, the last two dropped.
    traced_sizes.clear()
    states, actions, dones = collect.collect_episodes(
        env, env.default_params(), collect.random_actions(2), jax.random.PRNGKey(0), 7, 3
    )
    assert traced_sizes == [3]
    assert states.shape == (7, 10, 2) and actions.shape == (7, 10, 2) and dones.shape == (7, 10)
    assert len(np.unique(states[:, 0, 0])) == 7  # each call's copies start elsewhere


@pytest.mark.parametrize(
    "flags",
    [
        ["--segment-length", "1"],
        ["--episodes", "0"],
        ["--policy", "noisy-checkpoint"],
        ["--out", "data.h5"],
    ],
)
def test_bad_flags_stop_with_a_usage_error(flags):
    base = {"--env": "point_open", "--episodes": "3", "--out": "data.npz"}
    base.update(dict(zip(flags[::2], flags[1::2], strict=True)))
    argv = [item for pair in base.items() for item in pair]
    with pytest.raises(SystemExit):
        parse_options(argv)


def test_a_flag_that_does_not_parse_is_one_error_line(capsys):
    # argparse printed its whole usage block above the error, unlike train.py and eval.py.
    with pytest.raises(SystemExit) as stopped:
        parse_options(["--env", "point_open", "--episodes", "ten", "--out", "d.npz"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "error: argument --episodes: invalid int value: 'ten' (see collect.py --help)\n"
    )


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--episode-length", "0"], "--episode-length must be a whole number of at least 2 steps"),
        (["--episode-length", "1"], "--episode-length must be a whole number of at least 2 steps"),
        (
            ["--env-options", "episode_length=1"],
            "--env-options episode_length must be a whole number of at least 2 steps",
        ),
        (["--seed", "-1"], "--seed must be from 0 to 2**32 - 1, got -1"),
        (["--seed", str(2**32)], "--seed must be from 0 to 2**32 - 1, got 4294967296"),
        (
            ["--episode-length", "20", "--env-options", "episode_length=30"],
            "--episode-length and --env-options episode_length=... both set the episode length",
        ),
    ],
)
def test_episode_length_is_checked_under_its_own_flag(flags, message, capsys):
    argv = ["--env", "point_open", "--episodes", "3", "--out", "data.npz", *flags]
    with pytest.raises(SystemExit):
        parse_options(argv)
    assert message in capsys.readouterr().err


def test_noisy_checkpoint_policy_acts_like_the_trained_policy_plus_noise(tmp_path, capsys):
    from jaxcrl import TrainConfig, train

    run_dir = tmp_path / "run"
    config = TrainConfig(
        env="point_open",
        total_env_steps=2048,
        prefill_steps=1024,
        num_envs=64,
        num_evals=1,
        eval_episodes=8,
        hidden_width=32,
        batch_size=64,
        run_dir=str(run_dir),
        progress=False,
        env_options=("max_step=0.1", "episode_length=40"),
        num_seeds=2,
    )
    train(config)
    common = ["--env", "point_open", "--episodes", "4", "--val-episodes", "1"]
    common += ["--policy", "noisy-checkpoint", "--run-dir", str(run_dir)]
    main([*common, "--noise-std", "0", "--out", str(tmp_path / "exact.npz")])
    exact, _ = load_splits(tmp_path / "exact.npz", 2, 2)
    assert "collecting with member 0 of the run's 2; --member picks another" in (
        capsys.readouterr().err
    )
    # --member picks the other seed's policy: same starts, other actions.
    main([*common, "--noise-std", "0", "--member", "1", "--out", str(tmp_path / "other.npz")])
    other, _ = load_splits(tmp_path / "other.npz", 2, 2)
    np.testing.assert_array_equal(exact.observations[0], other.observations[0])
    assert np.abs(other.actions - exact.actions).max() > 0.1
    assert "collecting with member" not in capsys.readouterr().err
    with pytest.raises(SystemExit, match=r"^error: --member 2 is not in this run; it has members"):
        main([*common, "--member", "2", "--out", str(tmp_path / "none.npz")])
    main([*common, "--noise-std", "0.3", "--out", str(tmp_path / "noisy.npz")])
    noisy, _ = load_splits(tmp_path / "noisy.npz", 2, 2)
    # Same seed, so the same starts; with noise the actions depart from the policy's mode.
    np.testing.assert_array_equal(exact.observations[0], noisy.observations[0])
    # The run's env options hold while collecting: moves of at most its max_step, 40-step episodes.
    assert len(exact.observations) == 4 * 40
    assert np.abs(np.diff(exact.observations[:40], axis=0)).max() <= 0.1 + 1e-5
    assert np.abs(noisy.actions - exact.actions).max() > 0.1
    assert np.abs(noisy.actions).max() <= 1.0
    # --episode-length replaces the run's own episode length and keeps its other options.
    main([*common, "--noise-std", "0", "--episode-length", "30", "--out", str(tmp_path / "30.npz")])
    shorter, _ = load_splits(tmp_path / "30.npz", 2, 2)
    assert len(shorter.observations) == 4 * 30
    assert np.abs(np.diff(shorter.observations[:30], axis=0)).max() <= 0.1 + 1e-5
    # --env-options add to the run's own, replacing those of the same name (they replaced all).
    options = ["--env-options", "episode_length=25"]
    main([*common, "--noise-std", "0", *options, "--out", str(tmp_path / "25.npz")])
    given, _ = load_splits(tmp_path / "25.npz", 2, 2)
    assert len(given.observations) == 4 * 25
    assert np.abs(np.diff(given.observations[:25], axis=0)).max() <= 0.1 + 1e-5  # max_step kept

    # A run dir that holds no checkpoint yet is refused in one line, not a traceback.
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    shutil.copy(run_dir / "config.yaml", untrained / "config.yaml")
    with pytest.raises(
        SystemExit,
        match=r"^error: .*untrained has no checkpoints/ directory; the run is still setting up, or it "
        r"stopped before saving one \(python train.py --resume .*untrained starts it again\)$",
    ):
        main([*common[:-1], str(untrained), "--out", str(tmp_path / "none.npz")])


@pytest.mark.parametrize(
    "env, message",
    [
        (
            "cube-single-v0",
            "--env cube-single-v0 is one of OGBench's own envs, which run on the host: make its "
            "data with python -m jaxcrl.ogbench_data --env cube-single-v0 --out data.npz",
        ),
        (
            "antmaze-large-v0",
            "--env antmaze-large-v0 is one of OGBench's own envs, which run on the host: download "
            "OGBench's files with ogbench.download_datasets",
        ),
        ("point_opne", "unknown env 'point_opne' for --env (did you mean point_open?); choose"),
    ],
)
def test_envs_that_cannot_be_collected_here_are_refused_by_name(env, message, capsys):
    with pytest.raises(SystemExit):
        parse_options(["--env", env, "--episodes", "3", "--out", "data.npz"])
    error = capsys.readouterr().err
    assert message in error
    assert "cube-single-v0" not in error.partition("choose one of:")[2]  # OGBench's are not offered


@pytest.mark.parametrize("existing", ["d.npz", "d-val.npz"])
def test_an_existing_split_is_never_overwritten(tmp_path, existing, capsys):
    (tmp_path / existing).write_bytes(b"someone's data")
    with pytest.raises(SystemExit):
        parse_options(["--env", "point_open", "--episodes", "3", "--out", str(tmp_path / "d.npz")])
    assert f"{tmp_path / existing} exists; choose another --out" in capsys.readouterr().err
    assert (tmp_path / existing).read_bytes() == b"someone's data"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--run-dir", "runs/r"], "--run-dir only applies to --policy noisy-checkpoint"),
        (["--noise-std", "0.1"], "--noise-std only applies to --policy noisy-checkpoint"),
        (["--member", "1"], "--member only applies to --policy noisy-checkpoint"),
        (
            ["--policy", "noisy-checkpoint", "--run-dir", "r", "--noise-std", "nan"],
            "--noise-std must be a finite number >= 0, got nan",
        ),
        # It said "use --dense-reward instead", a flag of train.py that collect.py lacks.
        (["--env-options", "dense-reward=1"], "datasets hold no rewards (CRL learns from"),
    ],
)
def test_flags_that_do_not_apply_to_the_collection_are_refused(flags, message, capsys):
    with pytest.raises(SystemExit):
        parse_options(["--env", "point_open", "--episodes", "3", "--out", "data.npz", *flags])
    assert message in capsys.readouterr().err


def test_a_checkpoint_policy_is_refused_in_an_env_that_observes_otherwise(monkeypatch):
    import jaxcrl.saved_runs
    from jaxcrl.collect import noisy_checkpoint_actions
    from jaxcrl.envs import make_env

    trained_on = make_env("point_open_pixels", image_size=24)
    monkeypatch.setattr(
        jaxcrl.saved_runs, "load_member_policy", lambda *args: (trained_on, None, lambda obs: obs)
    )
    with pytest.raises(ValueError, match=r"trained on \(24, 24, 3\) observations .* give \(32, "):
        noisy_checkpoint_actions("r", 0.1, env=make_env("point_open_pixels", image_size=32))
    noisy_checkpoint_actions("r", 0.1, env=make_env("point_open_pixels", image_size=24))


def test_segments_that_cut_no_episode_are_refused(tmp_path):
    out = tmp_path / "d.npz"
    argv = ["--env", "point_open", "--episodes", "2", "--episode-length", "10", "--out", str(out)]
    with pytest.raises(SystemExit, match="--segment-length 9 cuts no episode of 10 steps"):
        main([*argv, "--segment-length", "9"])
    assert not out.exists()
    # Episodes of 3 steps have no segment length to give (the least is 2): the fix is longer ones.
    argv[argv.index("10")] = "3"
    with pytest.raises(SystemExit, match="too short to stitch .* --episode-length to at least 4"):
        main([*argv, "--segment-length", "2"])


def test_a_failed_write_leaves_no_split_behind(tmp_path, monkeypatch):
    # A full disk left the train split whole and the -val split empty; the next try was
    # then refused because the train split existed, and training called the -val split corrupt.
    import jaxcrl.dataset as dataset

    def full_disk(path, *args, **kwargs):
        if "-val" in Path(path).name:
            raise OSError(28, "No space left on device")
        return original(path, *args, **kwargs)

    original = dataset.save_dataset
    monkeypatch.setattr(dataset, "save_dataset", full_disk)
    out = tmp_path / "d.npz"
    argv = ["--env", "point_open", "--episodes", "2", "--episode-length", "10", "--out", str(out)]
    with pytest.raises(SystemExit, match=r"^error: --out .*d.npz: cannot write it \(No space left"):
        main(argv)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(dataset, "save_dataset", original)
    main(argv)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d-val.npz", "d.npz"]


def test_an_output_under_a_file_is_refused_before_collecting(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(SystemExit):
        parse_options(
            ["--env", "point_open", "--episodes", "2", "--out", str(tmp_path / "taken/d.npz")]
        )
    assert "taken is a file, not a folder" in capsys.readouterr().err


def test_an_output_folder_that_cannot_be_written_is_refused_before_collecting(
    tmp_path, monkeypatch, capsys
):
    # A read-only folder was found only once every episode had been collected.
    import os

    import jaxcrl.dataset

    read_only = tmp_path / "read_only"
    read_only.mkdir()
    real_access = os.access
    fake_access = lambda path, mode: Path(path) != read_only and real_access(path, mode)
    monkeypatch.setattr(jaxcrl.dataset.os, "access", fake_access)
    with pytest.raises(SystemExit):
        parse_options(
            ["--env", "point_open", "--episodes", "2", "--out", str(read_only / "new/d.npz")]
        )
    message = capsys.readouterr().err
    assert (
        f"cannot write into {read_only} (read-only or not yours); choose another --out" in message
    )
    parse_options(["--env", "point_open", "--episodes", "2", "--out", str(tmp_path / "d.npz")])


def test_a_collection_larger_than_memory_is_refused_before_it_starts(tmp_path, monkeypatch):
    # 10,000 episodes of 512-pixel images aborted inside XLA with no error line.
    import jaxcrl.collect

    monkeypatch.setattr(jaxcrl.collect, "host_memory_bytes", lambda: 2**20)  # 1 MiB
    out = tmp_path / "d.npz"
    argv = ["--env", "point_open", "--episodes", "1000", "--episode-length", "100"]
    with pytest.raises(SystemExit, match=r"^error: 1100 episodes of 100 steps of point_open"):
        main([*argv, "--out", str(out)])
    assert not out.exists()


NAN_ENV = """
import jax.numpy as jnp
from examples.corridor import Corridor

class NaNs(Corridor):  # NaN states once 3 steps are done
    def step(self, state, action, params):
        state = super().step(state, action, params)
        return state.replace(obs=jnp.where(state.step_count >= 3, jnp.nan, state.obs))
"""


def test_an_env_that_gives_nan_states_writes_no_dataset(tmp_path, monkeypatch):
    # Such data was written, and only offline training refused it.
    (tmp_path / "nan_env.py").write_text(NAN_ENV)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # examples/
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "data.npz"
    with pytest.raises(SystemExit, match=(
        r"^error: nan_env:NaNs gave non-finite observations in 32 steps of the train split "
        r"\(first at step 4 of episode 0\); nothing was written"
    )):  # fmt: skip
        main(["--env", "nan_env:NaNs", "--episodes", "2", "--val-episodes", "1", "--out", str(out)])
    assert list(tmp_path.glob("data*")) == []
