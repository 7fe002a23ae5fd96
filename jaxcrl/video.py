"""Videos of single episodes: the episode runs on the device, its frames are drawn on the host.

``episode_frames`` runs one episode as one compiled ``lax.scan`` that keeps every state, moves
the states to the host once, and draws each with ``env.render`` as it is taken. ``write_video``
writes the frames as .mp4 (H.264 through imageio-ffmpeg, frame by frame) or .gif; both need the
``video`` extra. Neither knows about run directories or
checkpoints.
"""

from __future__ import annotations

import importlib.util
import itertools
import operator
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl.envs import EnvState, GoalEnv
from jaxcrl.envs.base import start_toward
from jaxcrl.extras import install_extra
from jaxcrl.files import check_folder_writable, place_atomically

# Batched like evaluate.Policy, so the evaluation policy serves as is: [1, obs] -> [1, action].
Policy = Callable[[jax.Array], jax.Array]

VIDEO_FORMATS = (".mp4", ".gif")
VIDEO_EXTRA_HINT = f"writing videos needs the video extra: {install_extra('video')}"


def rollout_states(
    env: GoalEnv,
    env_params: Any,
    policy: Policy,
    key: jax.Array,
    num_steps: int,
    goal: jax.Array | None = None,
) -> EnvState:
    """One episode from ``env.reset(key)``: states [num_steps + 1, ...], the reset state first.

    With ``goal`` [goal_size] the episode pursues it instead of the env's own goal, from a start
    not already within its success threshold (``start_toward``). The states keep no PRNG key
    (``key`` is None): it is not needed to draw them.
    """

    def episode(key: jax.Array, env_params: Any) -> EnvState:
        if goal is None:
            first = env.reset(key, env_params)
        else:  # from a start that has not reached it already
            first = start_toward(env, env_params, key, goal)

        def one_step(state: EnvState, _) -> tuple[EnvState, EnvState]:
            action = policy(state.obs[None])[0]
            next_state = env.step(state, action, env_params)
            return next_state, next_state.replace(key=None)

        _, later = jax.lax.scan(one_step, first, None, length=num_steps)
        first = first.replace(key=None)
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, later)

    return jax.jit(episode)(key, env_params)


def episode_frames(
    env: GoalEnv,
    env_params: Any,
    policy: Policy,
    key: jax.Array,
    max_steps: int | None = None,
    goal: jax.Array | None = None,
) -> tuple[int, Iterator[np.ndarray]]:
    """The number of frames of one episode and an iterator that draws them one at a time (RGB
    uint8 [H, W, 3]): the start, then one per step until it ends.

    ``policy`` maps a batch of one observation [1, obs] to [1, action] (as in evaluation). The
    episode ends after ``max_steps`` steps (default: the env's ``episode_length``) or at the step
    where the env terminates it, so there are at most ``max_steps + 1`` frames. ``goal``
    [goal_size], when given, replaces the env's own goal. Frames are drawn as they are taken, so
    a long episode never holds them all.
    """
    num_steps = env.episode_length if max_steps is None else int(max_steps)
    if num_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}")
    states = jax.device_get(rollout_states(env, env_params, policy, key, num_steps, goal))
    ended = np.flatnonzero(np.asarray(states.terminated)[1:] > 0)
    num_frames = 1 + (int(ended[0]) + 1 if ended.size else num_steps)

    def draw() -> Iterator[np.ndarray]:
        for t in range(num_frames):
            state = jax.tree.map(operator.itemgetter(t), states)
            frame = np.asarray(env.render(state, env_params))
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
                raise ValueError(
                    f"{env.name}.render must return RGB uint8 [H, W, 3], got {frame.dtype} "
                    f"{frame.shape}"
                )
            yield frame

    return num_frames, draw()


def rollout_frames(*args: Any, **kwargs: Any) -> list[np.ndarray]:
    """Every frame of one episode as a list: ``episode_frames``'s, drawn at once (the same
    arguments)."""
    return list(episode_frames(*args, **kwargs)[1])


def check_video_path(path: str | Path) -> Path:
    """``path`` if a video can be written there, checked before any episode runs.

    ValueError (one line) for a name that is not .mp4 or .gif, or whose directory is a file or
    cannot be made; ImportError when the video extra this format needs is not installed.
    """
    path = Path(path)
    if path.name.lower() in VIDEO_FORMATS:  # '.mp4' alone: Python reads it as a hidden name
        raise ValueError(
            f"video path {str(path)!r} needs a name before {path.name}: out{path.name}"
        )
    if path.suffix.lower() not in VIDEO_FORMATS:
        raise ValueError(f"video path {str(path)!r} must end in one of {', '.join(VIDEO_FORMATS)}")
    if path.is_dir():
        raise ValueError(f"video path {str(path)!r} is a directory; name a file in it")
    check_folder_writable(path, "video path")  # write_video makes missing folders
    if importlib.util.find_spec("imageio") is None:
        raise ImportError(VIDEO_EXTRA_HINT)
    if path.suffix.lower() == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise ImportError(f"{VIDEO_EXTRA_HINT} (imageio-ffmpeg is missing)")
    return path


# A GIF is encoded from all its frames at once; beyond this, write an .mp4 (streamed).
GIF_MAX_BYTES = 2**30


def checked_frames(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """``frames`` as they come, each checked to be RGB uint8 [H, W, 3] of the first's size."""
    first_shape = None
    for frame in frames:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError(f"frames must be RGB uint8 [H, W, 3], got {frame.dtype} {frame.shape}")
        if first_shape is not None and frame.shape != first_shape:
            raise ValueError(f"frames must share one size: {frame.shape} after {first_shape}")
        first_shape = frame.shape
        yield frame


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float = 30.0) -> Path:
    """Write RGB uint8 frames [H, W, 3] to ``path`` as .mp4 or .gif (by its extension).

    An .mp4 is written frame by frame as ``frames`` yields them; a .gif holds them all (at most
    ``GIF_MAX_BYTES``) and merges identical consecutive frames into one longer frame (Pillow
    does), so it may hold fewer frames than given, with the same total duration.
    """
    path = check_video_path(path)
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    try:
        import imageio.v2 as iio_v2
        import imageio.v3 as iio
    except ImportError as error:
        raise ImportError(VIDEO_EXTRA_HINT) from error
    frames = checked_frames(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        kept, size = [first], first.nbytes
        for frame in frames:
            size += frame.nbytes
            if size > GIF_MAX_BYTES:
                raise ValueError(
                    f"a GIF is encoded from all its frames at once, and this episode's exceed "
                    f"{GIF_MAX_BYTES / 2**30:g} GiB; write an .mp4 instead (written frame by frame)"
                )
            kept.append(frame)
        # Encoded in memory, then written whole: an encoder that fails on a full disk printed
        # its tracebacks again when it was collected. The duration is in ms per frame.
        gif = iio.imwrite("<bytes>", np.stack(kept), extension=".gif", duration=1000 / fps, loop=0)
        place_atomically(path, data=gif)
        return path
    # H.264 in yuv420p needs even sizes: repeat the last row/column instead of letting ffmpeg
    # rescale every frame to a multiple of 16 (imageio's default).
    height, width, _ = first.shape
    even = lambda frame: np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    with warnings.catch_warnings():
        # imageio-ffmpeg starts ffmpeg with fork + exec, which is safe; JAX warns about any fork.
        warnings.filterwarnings(
            "ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning
        )
        # Encoded in a temporary folder, then copied: ffmpeg stopped by a full disk was told as
        # a broken pipe, and a failed write now leaves an old video at ``path`` whole.
        with tempfile.TemporaryDirectory() as folder:
            encoded = Path(folder) / path.name
            writer = iio_v2.get_writer(
                encoded, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1
            )
            try:
                for frame in itertools.chain([first], frames):
                    writer.append_data(even(frame))
            finally:
                writer.close()
            place_atomically(path, source=encoded)
    return path
