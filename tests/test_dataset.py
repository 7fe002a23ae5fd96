"""Offline datasets: loading and checking OGBench-layout files, and the dataset as a buffer."""

import io
import warnings
import zipfile
import zlib
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxcrl.dataset import (
    UNCHECKED,
    Dataset,
    DatasetError,
    buffer_from_dataset,
    load_dataset,
    load_splits,
    read_source,
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


def test_the_source_record_round_trips_and_loaders_ignore_it(tmp_path):
    source = {"env": "point_u_maze", "env_options": ["max_step=0.2"]}
    save_dataset(tmp_path / "a.npz", make_dataset([4, 6]), source=source)
    assert read_source(tmp_path / "a.npz") == source
    assert load_dataset(tmp_path / "a.npz", STATE, ACTION).num_steps == 10
    save_dataset(tmp_path / "b.npz", make_dataset([4, 6]))  # OGBench's files say nothing
    assert read_source(tmp_path / "b.npz") is None


@pytest.mark.parametrize(
    "stored",
    [np.array("not json"), np.array('["a list"]'), np.array('{"env": 3}'), np.zeros(3)],
)
def test_an_unreadable_source_record_counts_as_none(tmp_path, stored):
    path = write_raw(tmp_path / "d.npz", **raw_arrays(), collected_in=stored)
    assert read_source(path) is None


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
    "string observations": (
        lambda: raw_arrays(observations=np.full((10, STATE), "0.5")),
        "observations hold <U3 values, not real numbers",
    ),
    "string actions": (
        lambda: raw_arrays(actions=np.full((10, ACTION), "up")),
        "actions hold <U2 values, not real numbers",
    ),
    "complex observations": (
        lambda: raw_arrays(observations=np.ones((10, STATE), np.complex64)),
        "observations hold complex64 values",
    ),
    "string terminals": (
        lambda: raw_arrays(terminals=np.array(["no"] * 9 + ["yes"])),
        "terminals hold <U3 values",
    ),
    "image observations for a state env": (
        lambda: raw_arrays(observations=np.zeros((10, STATE), np.uint8)),
        "uint8 observations (images?) for a state env",
    ),
    # Called "unreadable or corrupt" before, and the fix given was to write the file again.
    "object observations": (
        lambda: raw_arrays(observations=np.zeros((10, STATE)).astype(object)),
        "observations is an array of Python objects (dtype object)",
    ),
    # Reported as "mismatched lengths (... terminals 0)".
    "single terminal": (
        lambda: raw_arrays(terminals=np.float32(1)),
        "terminals is a single value, not one row per step",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_with_one_line_naming_the_file(tmp_path, case):
    arrays, problem = MALFORMED[case]
    path = write_raw(tmp_path / "bad.npz", **arrays())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning is no refusal
        with pytest.raises(DatasetError) as error:
            load_dataset(path, STATE, ACTION, image_shape=None)
    assert_one_line(error.value, path, problem)
    assert isinstance(error.value, ValueError)


def assert_one_line(error: DatasetError, path: Path, problem: str) -> None:
    """The error is one line naming the file, the problem and (after a ';') the fix."""
    message = str(error)
    assert str(path) in message and problem in message and "\n" not in message
    assert "; " in message


@pytest.mark.parametrize("content", [b"not a zip archive", b""])
def test_corrupt_and_missing_files_are_refused(tmp_path, content):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(content)
    # Not "pickled (object) data ... allow_pickle", numpy's reason, which misled.
    with pytest.raises(DatasetError, match=r"not an .npz archive \(it starts neither as a zip"):
        load_dataset(corrupt)
    good = write_raw(tmp_path / "good.npz", **raw_arrays())
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DatasetError, match="unreadable or corrupt"):
        load_dataset(truncated)
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "absent.npz")
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(DatasetError, match=r"folder.npz: is a directory; give the .npz file"):
        load_dataset(tmp_path / "folder.npz")
    (tmp_path / "good-val.npz").mkdir()  # was read as "no validation split"
    with pytest.raises(DatasetError, match=r"good-val.npz: is a directory"):
        load_splits(good)


def member_data_span(path: Path, member: str) -> tuple[int, int]:
    """Where ``member``'s compressed bytes lie in the zip file at ``path``: (start, end)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    header = path.read_bytes()[info.header_offset : info.header_offset + 30]
    name_length, extra_length = (int.from_bytes(header[i : i + 2], "little") for i in (26, 28))
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


def test_a_corrupt_compressed_member_is_refused_not_a_zlib_traceback(tmp_path):
    good = tmp_path / "good.npz"
    steps = 4000
    terminals = np.zeros(steps, np.float32)
    terminals[-1] = 1.0
    np.savez_compressed(
        good,
        observations=np.arange(steps * STATE, dtype=np.float32).reshape(steps, STATE),
        actions=np.zeros((steps, ACTION), np.float32),
        terminals=terminals,
    )
    start, end = member_data_span(good, "observations.npy")
    middle = (start + end) // 2
    corrupt, good_bytes = tmp_path / "corrupt.npz", good.read_bytes()
    # Flip 8 bytes at a time from the middle of the member on (then from its start): most flips
    # only fail the CRC (BadZipFile), but one that breaks the deflate stream itself is let out by
    # numpy as zlib.error, the case this test is about.
    for offset in [*range(middle, end - 8, 8), *range(start, middle, 8)]:
        data = bytearray(good_bytes)
        data[offset : offset + 8] = bytes(byte ^ 0xFF for byte in data[offset : offset + 8])
        try:
            np.load(io.BytesIO(data))["observations"]
        except zlib.error:
            break
        except (zipfile.BadZipFile, ValueError):  # a bad CRC, or a garbled .npy header
            continue
    else:
        pytest.fail("no flip in the member broke its deflate stream")
    corrupt.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as error:
        load_dataset(corrupt, STATE, ACTION)
    assert_one_line(error.value, corrupt, "unreadable or corrupt .npz (error: Error -3")


def test_an_npy_file_under_an_npz_name_is_refused(tmp_path):
    path = tmp_path / "observations.npz"
    with path.open("wb") as file:
        np.save(file, raw_arrays()["observations"])
    with pytest.raises(DatasetError) as error:
        load_dataset(path, STATE, ACTION)
    assert_one_line(error.value, path, "not an .npz archive")
    assert "numpy.savez" in str(error.value)


IMAGE = (64, 64, 3)  # point_open_pixels draws 64x64 RGB images


def image_arrays(observations: np.ndarray) -> dict:
    """A two-episode dataset of 10 steps with these (image) observations."""
    return raw_arrays(observations=observations)


IMAGES_REFUSED = {
    "channels first": (
        lambda: np.zeros((10, 3, 64, 64), np.uint8),
        "channels-first images [10, 3, 64, 64]; transpose to [N, 64, 64, 3]",
    ),
    "float images": (
        lambda: np.zeros((10, *IMAGE), np.float32),
        "float images (float32); the pixel encoder expects uint8 0..255",
    ),
    "flat float images": (
        lambda: np.zeros((10, 64 * 64 * 3), np.float64),
        "float images (float64)",
    ),
    "int images": (lambda: np.zeros((10, *IMAGE), np.int64), "int64 images"),
    "images of another size": (
        lambda: np.zeros((10, 32, 128, 3), np.uint8),
        "images of shape [32, 128, 3], the env draws [64, 64, 3]",
    ),
    "flat images of another size": (
        lambda: np.zeros((10, 32 * 32 * 3), np.uint8),
        "the env's images have 12288 (64x64x3)",
    ),
}


@pytest.mark.parametrize("case", sorted(IMAGES_REFUSED))
def test_image_datasets_must_be_uint8_channels_last_images_of_the_envs_size(tmp_path, case):
    observations, problem = IMAGES_REFUSED[case]
    path = write_raw(tmp_path / "pixels.npz", **image_arrays(observations()))
    with pytest.raises(DatasetError) as error:
        load_dataset(path, action_size=ACTION, image_shape=IMAGE)
    assert_one_line(error.value, path, problem)


def test_uint8_images_load_flat_for_the_pixel_env_and_only_for_it(tmp_path):
    from jaxcrl.envs import make_env

    env = make_env("point_open_pixels")
    images = np.random.default_rng(0).integers(0, 256, (10, *env.image_shape), np.uint8)
    path = write_raw(tmp_path / "pixels.npz", **image_arrays(images))
    flat_path = write_raw(tmp_path / "flat.npz", **image_arrays(images.reshape(10, -1)))
    for stored in (path, flat_path):
        train, _ = load_splits(stored, env.state_size, env.action_size, image_shape=env.image_shape)
        assert train.observations.shape == (10, env.state_size)
        assert train.observations.dtype == np.uint8
        np.testing.assert_array_equal(train.observations, images.reshape(10, -1))
    # Unchecked (the default, as before) the images load too; for a state env they do not.
    assert load_dataset(path, env.state_size, image_shape=UNCHECKED).num_steps == 10
    with pytest.raises(DatasetError, match="for a state env, whose state is float32"):
        load_dataset(path, env.state_size, image_shape=None)


def test_a_time_major_file_and_a_d4rl_file_are_warned_about(tmp_path):
    # Both trained without a word, on episodes that run into each other.
    episodes = make_dataset([5] * 6)
    time_major = {
        key: np.swapaxes(np.asarray(value).reshape(6, 5, -1), 0, 1).reshape(30, -1).squeeze()
        for key, value in episodes._asdict().items()
    }
    path = write_raw(tmp_path / "time_major.npz", **time_major)
    with pytest.warns(UserWarning, match=r"5 of its 6 episodes are one step long, .*episode by"):
        load_dataset(path, STATE, ACTION, image_shape=None)
    d4rl = {**raw_arrays(), "timeouts": np.zeros(10, bool)}
    path = write_raw(tmp_path / "d4rl.npz", **d4rl)
    with pytest.warns(UserWarning, match=r"holds 'timeouts' \(D4RL's layout\); episodes end"):
        load_dataset(path, STATE, ACTION, image_shape=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a file laid out episode by episode: no warning
        load_dataset(write_raw(tmp_path / "fine.npz", **episodes._asdict()), STATE, ACTION)


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
    # The same ring as inserting the whole dataset into an empty buffer, field by field.
    from jaxcrl.buffer import Unroll, init_buffer, insert

    as_unroll = Unroll(
        states=dataset.observations[:, None],
        actions=dataset.actions[:, None],
        dones=dataset.terminals[:, None],
    )
    inserted = insert(init_buffer(17, 1, STATE, ACTION), as_unroll)
    for built, reference in zip(jax.tree.leaves(buffer), jax.tree.leaves(inserted), strict=True):
        np.testing.assert_array_equal(built, reference)


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
