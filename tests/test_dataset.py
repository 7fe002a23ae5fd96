"""Offline datasets: loading and checking OGBench-layout files, and the dataset as a buffer."""

import warnings
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxcrl.dataset import (
    Dataset,
    DatasetError,
    buffer_from_dataset,
    load_dataset,
    load_splits,
    save_dataset,
    usable_anchors,
    validation_path,
)
from jaxcrl.goals import sample_future_goal_batch

STATE, ACTION = 3, 2


def make_dataset(episode_lengths, tail: int = 0, seed: int = 0) -> Dataset:
    """Episodes of the given lengths, then ``tail`` steps of an episode without a terminal."""
    rng = np.random.default_rng(seed)
    num_steps = sum(episode_lengths) + tail
    terminals = np.zeros(num_steps, np.float32)
    terminals[np.cumsum(episode_lengths) - 1] = 1.0
    return Dataset(
        # Row t's first entry is t, so a sampled state names the step it came from.
        observations=np.concatenate(
            [np.arange(num_steps)[:, None], rng.normal(size=(num_steps, STATE - 1))], axis=1
        ).astype(np.float32),
        actions=rng.uniform(-1, 1, (num_steps, ACTION)).astype(np.float32),
        terminals=terminals,
    )


def write_raw(path: Path, **arrays) -> Path:
    """An .npz with exactly the given arrays."""
    np.savez(path, **arrays)
    return path


def raw_arrays(**changes) -> dict:
    """The arrays of a valid two-episode dataset, with ``changes`` applied."""
    data = make_dataset([4, 6])._asdict()
    return {**data, **changes}


def test_round_trip_keeps_every_array_and_finds_the_val_split(tmp_path):
    train, val = make_dataset([5, 7, 3], tail=2), make_dataset([4], seed=1)
    path = tmp_path / "point-navigate-v0.npz"
    save_dataset(path, train)
    loaded, missing_val = load_splits(path, STATE, ACTION)
    assert missing_val is None
    for name in ("observations", "actions", "terminals"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(train, name))
    assert loaded.num_episodes == 4 and usable_anchors(loaded) == 17 - 4

    assert validation_path(path) == tmp_path / "point-navigate-v0-val.npz"
    save_dataset(validation_path(path), val)
    _, loaded_val = load_splits(path, STATE, ACTION)
    np.testing.assert_array_equal(loaded_val.observations, val.observations)


def test_extra_keys_are_ignored(tmp_path):
    path = write_raw(tmp_path / "d.npz", **raw_arrays(), qpos=np.zeros((10, 7)))
    assert load_dataset(path, STATE, ACTION).num_steps == 10


MALFORMED = {
    "missing key": (
        lambda: {k: v for k, v in raw_arrays().items() if k != "terminals"},
        "missing key(s) terminals",
    ),
    "mismatched lengths": (lambda: raw_arrays(actions=np.zeros((9, ACTION))), "mismatched"),
    "no episode end": (lambda: raw_arrays(terminals=np.zeros(10)), "no episode end"),
    "terminal not 0 or 1": (lambda: raw_arrays(terminals=np.full(10, 2.0)), "other than 0"),
    "non-finite observation": (
        lambda: raw_arrays(observations=np.where(np.eye(10, STATE) > 0, np.nan, 0.0)),
        "non-finite values in observations",
    ),
    "non-finite action": (
        lambda: raw_arrays(actions=np.full((10, ACTION), np.inf)),
        "non-finite values in actions",
    ),
    "observation holds the goal too": (
        lambda: raw_arrays(observations=np.zeros((10, STATE + 2))),
        f"the env's state has {STATE}",
    ),
    "wrong action size": (lambda: raw_arrays(actions=np.zeros((10, 4))), "the env takes 2"),
    "actions in another scale": (
        lambda: raw_arrays(actions=np.full((10, ACTION), 2.0)),
        "outside [-1, 1]",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_with_one_line_naming_the_file(tmp_path, case):
    arrays, problem = MALFORMED[case]
    path = write_raw(tmp_path / "bad.npz", **arrays())
    with pytest.raises(DatasetError) as error:
        load_dataset(path, STATE, ACTION)
    message = str(error.value)
    assert str(path) in message and problem in message and "\n" not in message
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize("content", [b"not a zip archive", b""])
def test_corrupt_and_missing_files_are_refused(tmp_path, content):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(content)
    with pytest.raises(DatasetError, match="unreadable or corrupt"):
        load_dataset(corrupt)
    good = write_raw(tmp_path / "good.npz", **raw_arrays())
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DatasetError, match="unreadable or corrupt"):
        load_dataset(truncated)
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "absent.npz")


def test_actions_just_past_the_box_are_clipped_with_a_warning(tmp_path):
    actions = raw_arrays()["actions"]
    actions[0, 0] = 1.0005
    path = write_raw(tmp_path / "round.npz", **raw_arrays(actions=actions))
    with pytest.warns(UserWarning, match="clipped"):
        loaded = load_dataset(path, STATE, ACTION)
    assert loaded.actions[0, 0] == 1.0
    actions[0, 0] = 0.5
    write_raw(path, **raw_arrays(actions=actions))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(path, STATE, ACTION)


def test_buffer_from_dataset_is_one_full_ring_with_one_episode_per_terminal():
    dataset = make_dataset([5, 7, 3], tail=2)
    buffer = buffer_from_dataset(dataset)
    assert buffer.states.shape == (17, 1, STATE)
    assert buffer.actions.shape == (17, 1, ACTION)
    assert buffer.episode_ids.shape == (17, 1)
    assert int(buffer.steps_written) == 17
    np.testing.assert_array_equal(buffer.states[:, 0], dataset.observations)
    np.testing.assert_array_equal(buffer.actions[:, 0], dataset.actions)
    expected_ids = np.repeat([0, 1, 2, 3], [5, 7, 3, 2])
    np.testing.assert_array_equal(buffer.episode_ids[:, 0], expected_ids)


def test_future_goals_never_cross_a_terminal_or_the_end_of_the_file():
    lengths = np.random.default_rng(0).integers(5, 40, size=60)
    dataset = make_dataset(lengths.tolist(), tail=9)
    buffer = buffer_from_dataset(dataset)
    batch = sample_future_goal_batch(buffer, jax.random.PRNGKey(0), 4096, 0.9, goal_indices=(0, 1))
    anchors, offsets = np.asarray(batch.anchor_times), np.asarray(batch.offsets)
    goal_times = anchors + offsets
    assert (offsets >= 1).all() and (goal_times < dataset.num_steps).all()
    # No terminal on the anchor or between it and its goal: terminals[anchor:goal] are all 0.
    ended_before = np.concatenate([[0], np.cumsum(dataset.terminals)])
    assert (ended_before[goal_times] == ended_before[anchors]).all()
    # The goal is the state stored at that later row (entry 0 of row t is t).
    np.testing.assert_array_equal(np.asarray(batch.future_goals)[:, 0], goal_times)
    np.testing.assert_array_equal(np.asarray(batch.states)[:, 0], anchors)
    # The unterminated tail is used too, up to its last row.
    assert (anchors >= dataset.num_steps - 9).any()
