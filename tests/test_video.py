"""Episode videos (jaxcrl/video.py): frames of one rollout, .mp4/.gif writing, MJX goal markers."""

import sys
import warnings

import imageio.v3 as iio
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from egl_renders import render_report

import jaxcrl.video
from jaxcrl.envs import make_env
from jaxcrl.video import episode_frames, rollout_frames, write_video

NUM_STEPS = 12


def read_video(path) -> np.ndarray:
    """All frames of a written video [T, H, W, 3] (ffmpeg for .mp4, Pillow for .gif)."""
    if str(path).endswith(".gif"):
        return iio.imread(path, index=None)
    with warnings.catch_warnings():  # ffmpeg runs as a forked subprocess, which JAX warns about
        warnings.filterwarnings("ignore", message=r"os\.fork", category=RuntimeWarning)
        return iio.imread(path, index=None, plugin="FFMPEG")


def towards_goal(obs: jax.Array) -> jax.Array:
    """A batched point-maze policy [1, 4] -> [1, 2]: full speed straight at the goal."""
    return jnp.clip(4.0 * (obs[:, 2:] - obs[:, :2]), -1.0, 1.0)


@pytest.fixture(scope="module")
def point_frames() -> list[np.ndarray]:
    """Frames of a 12-step point_u_maze episode."""
    env = make_env("point_u_maze")
    return rollout_frames(env, env.default_params(), towards_goal, jax.random.PRNGKey(0), NUM_STEPS)


def test_point_maze_frames_have_the_right_count_shape_and_dtype(point_frames):
    assert len(point_frames) == NUM_STEPS + 1  # the start, then one frame per step
    for frame in point_frames:
        assert frame.dtype == np.uint8 and frame.shape == (5 * 32, 5 * 32, 3)
    assert not np.array_equal(point_frames[0], point_frames[1])  # the point moved
    # The goal's threshold disc (pink) shows around the point even once the point reaches it.
    assert all((frame == (255, 200, 200)).all(axis=-1).any() for frame in point_frames)


def test_frames_follow_the_policy_and_default_to_one_episode():
    env = make_env("point_open", episode_length=6)
    params = env.default_params()
    frames = rollout_frames(env, params, towards_goal, jax.random.PRNGKey(1))
    assert len(frames) == 6 + 1
    # Standing still, every frame shows the start.
    still = rollout_frames(env, params, lambda obs: jnp.zeros((1, 2)), jax.random.PRNGKey(1))
    assert all(np.array_equal(still[0], frame) for frame in still)
    assert np.array_equal(still[0], frames[0]) and not np.array_equal(still[-1], frames[-1])
    with pytest.raises(ValueError, match="max_steps"):
        rollout_frames(env, params, towards_goal, jax.random.PRNGKey(1), max_steps=0)


def test_a_video_toward_a_named_goal_starts_where_it_has_not_reached_it():
    # As evaluations do: a start within the threshold of a named goal is drawn again.
    env = make_env("point_open", success_threshold=1.5)
    params, goal = env.default_params(), jnp.array([3.5, 3.5])
    for seed in range(12):  # about a quarter of the env's own starts lie within 1.5 of it
        states = jaxcrl.video.rollout_states(
            env, params, towards_goal, jax.random.PRNGKey(seed), 2, goal
        )
        assert np.linalg.norm(np.asarray(states.obs[0, :2]) - goal) > 1.5
        np.testing.assert_array_equal(states.obs[0, 2:], goal)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_write_video_writes_a_decodable_file(point_frames, tmp_path, suffix):
    path = write_video(point_frames, tmp_path / "videos" / f"episode{suffix}", fps=10)
    assert path.exists() and path.stat().st_size > 0
    video = read_video(path)
    assert video.shape[1:] == point_frames[0].shape
    if suffix == ".mp4":
        assert len(video) == len(point_frames)
    else:  # a GIF merges identical consecutive frames into one longer frame
        pairs = zip(point_frames[:-1], point_frames[1:], strict=True)
        changes = sum(not np.array_equal(a, b) for a, b in pairs)
        assert len(video) == 1 + changes


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_a_full_disk_is_one_plain_error_and_leaves_an_old_video_whole(
    tmp_path, monkeypatch, capfd, suffix
):
    # A GIF's failed write printed Pillow's traceback again when its writer was collected, and
    # ffmpeg stopped by a full disk was reported as a broken pipe.
    import errno
    import gc

    import jaxcrl.files

    path = write_video([np.zeros((8, 8, 3), np.uint8)] * 3, tmp_path / f"episode{suffix}")
    old = path.read_bytes()
    capfd.readouterr()

    def full_disk(stream):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jaxcrl.files, "write_through", full_disk)
    with pytest.raises(OSError) as failure:
        write_video([np.full((8, 8, 3), 9, np.uint8)] * 3, path)
    gc.collect()
    assert failure.value.strerror == "No space left on device"
    assert path.read_bytes() == old and list(tmp_path.iterdir()) == [path]
    assert capfd.readouterr().err == ""


def test_write_video_pads_odd_sizes_for_h264(tmp_path):
    frames = [np.full((45, 61, 3), 20 * i, np.uint8) for i in range(5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # writing is quiet: no fork warning reaches the user
        path = write_video(frames, tmp_path / "odd.mp4")
    assert read_video(path).shape == (5, 46, 62, 3)


def test_write_video_refuses_bad_input_and_names_the_missing_extra(tmp_path, monkeypatch):
    frames = [np.zeros((8, 8, 3), np.uint8)]
    with pytest.raises(ValueError, match=".mp4, .gif"):
        write_video(frames, tmp_path / "episode.avi")
    with pytest.raises(ValueError, match="RGB uint8"):
        write_video([np.zeros((8, 8), np.float32)], tmp_path / "episode.gif")
    with pytest.raises(ValueError, match="no frames"):
        write_video([], tmp_path / "episode.gif")
    monkeypatch.setitem(sys.modules, "imageio", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "imageio.v3", None)
    with pytest.raises(ImportError, match=r"pip install .*\[video\]'"):
        write_video(frames, tmp_path / "episode.gif")


def test_an_mp4_is_written_from_frames_as_they_come_and_a_gif_has_a_size_limit(
    tmp_path, monkeypatch
):
    drawn = []

    def frames():
        for i in range(6):
            drawn.append(i)
            yield np.full((16, 16, 3), 40 * i, np.uint8)

    path = write_video(frames(), tmp_path / "streamed.mp4")
    assert drawn == list(range(6)) and read_video(path).shape == (6, 16, 16, 3)
    monkeypatch.setattr(jaxcrl.video, "GIF_MAX_BYTES", 3 * 16 * 16 * 3)
    with pytest.raises(ValueError, match="write an .mp4 instead"):
        write_video(frames(), tmp_path / "long.gif")
    sizes = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"frames must share one size: \(8, 10, 3\) after"):
        write_video(sizes, tmp_path / "sizes.mp4")


def test_a_large_maze_is_drawn_with_fewer_pixels_per_cell():
    # 32 pixels per cell made a 31x31 maze's 4500-step video need about 27 GB.
    layout = "/".join(["#" * 31] + ["#" + "." * 28 + "G#"] * 29 + ["#" * 31])
    env = make_env("point_maze_custom", layout=layout)
    params = env.default_params()
    frame = env.render(env.reset(jax.random.PRNGKey(0), params), params)
    assert frame.shape == (31 * 20, 31 * 20, 3)  # 640 // 31 = 20 pixels per cell
    count, frames = episode_frames(env, params, towards_goal, jax.random.PRNGKey(0), 3)
    assert count == 4 and len(list(frames)) == 4


# MJX renders, run by egl_renders.render_report in a fresh interpreter under MUJOCO_GL=egl.
MJX_RENDER_SCRIPT = """
import jax, jax.numpy as jnp
from jaxcrl.envs import make_env
from jaxcrl.video import rollout_frames

env = make_env("reacher")
params = env.default_params()
frames = rollout_frames(env, params, lambda obs: jnp.zeros((1, 2)), jax.random.PRNGKey(2), 2)
state = env.reset(jax.random.PRNGKey(2), params)
off_table = env.render(state.replace(goal=jnp.array([5.0, 5.0])), params)
report = {
    "reacher_frames": [[*frame.shape, str(frame.dtype)] for frame in frames],
    "reacher": red_pixels(frames[0]),
    "reacher_goal_off_table": red_pixels(off_table),
}
for name in ["ant", "ant_u_maze"]:
    env = make_env(name)
    params = env.default_params()
    image = env.render(env.reset(jax.random.PRNGKey(3), params), params, width=160, height=120)
    report[name] = red_pixels(image)
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def mjx_renders() -> dict:
    """Red-pixel counts (and reacher frame shapes) from MJX renders under MUJOCO_GL=egl."""
    return render_report(MJX_RENDER_SCRIPT)


def test_reacher_frames_show_the_red_goal_marker(mjx_renders):
    assert mjx_renders["reacher_frames"] == [[240, 320, 3, "uint8"]] * 3
    assert mjx_renders["reacher"] > 10  # the goal marker
    assert mjx_renders["reacher_goal_off_table"] == 0  # nothing else in the scene is red


@pytest.mark.parametrize("name", ["ant", "ant_u_maze"])
def test_ant_renders_show_the_goal_marker(mjx_renders, name):
    # The open-ground ant's goal lies 10 m away: the framing camera keeps both in view.
    assert mjx_renders[name] > 5
