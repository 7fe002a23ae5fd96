"""Offline datasets in OGBench's layout: loading, checking, and turning them into a replay buffer.

A dataset file is one ``.npz`` per split (``NAME.npz`` for training, ``NAME-val.npz`` for
validation) holding episodes concatenated in time (Park et al., "OGBench", 2025):

- ``observations`` [N, state_size] float32 (or uint8 images [N, H, W, C]): the env *state* at each
  step, without the goal;
- ``actions`` [N, action_size] float32 in [-1, 1]: the action taken at that step;
- ``terminals`` [N]: 1 on each episode's last step, else 0.

Other keys (``qpos``, ``qvel``, ``button_states``, ...) are ignored, but for ``collected_in``: JSON
text naming the env and env options the data came from, written by this project's collectors so a
run on another env can say so. There are no rewards and no next observations: the next state is the
next row of the same episode, and goals are later rows.

Observations, actions and terminals must hold real numbers (or bools). Given the env's
``image_shape`` (a pixel env), observations must be uint8 images [N, H, W, C] (channels last) or
already flat [N, H*W*C]; given ``image_shape=None`` (a state env), uint8 observations are refused,
since they are almost always images meant for a pixel env.

Actions a little outside [-1, 1] (at most ``ACTION_ROUNDING``, what float rounding of a squashed
action produces) are clipped with a warning; anything further out is refused, since it means the
actions were stored in another scale and clipping would silently change the data.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax.numpy as jnp
import numpy as np

from jaxcrl.buffer import ReplayBuffer, Unroll, init_buffer, insert

REQUIRED_KEYS = ("observations", "actions", "terminals")
# The optional key naming where the data came from: {"env": NAME, "env_options": [NAME=VALUE, ...]}.
SOURCE_KEY = "collected_in"
# How far past the action box a value may lie and still count as rounding (then it is clipped).
ACTION_ROUNDING = 1e-3
# The default ``image_shape``: the env's kind is not known, so the observations' layout and dtype
# are not checked against it (only their flattened size, against ``state_size``).
UNCHECKED = "unchecked"
# Array kinds (numpy ``dtype.kind``) that hold real numbers: bool, signed, unsigned, float.
REAL_KINDS = "biuf"
# What numpy raises on reading a damaged member: zlib for a corrupt deflate stream, zipfile for a
# bad CRC or header, ValueError for a bad .npy header, OSError/EOFError for a short read.
READ_ERRORS = (zlib.error, zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError)


class DatasetError(ValueError):
    """A dataset file that cannot be used, reported as one line: the file, the problem, the fix."""


class Dataset(NamedTuple):
    """One split of an offline dataset, on the host (numpy arrays)."""

    observations: np.ndarray  # [N, state_size] float32, or uint8 pixels flattened to [N, H*W*C]
    actions: np.ndarray  # [N, action_size] float32 in [-1, 1]
    terminals: np.ndarray  # [N] float32, 1.0 on each episode's last step

    @property
    def num_steps(self) -> int:
        """Rows (steps) in the split."""
        return int(self.terminals.shape[0])

    @property
    def num_episodes(self) -> int:
        """Episodes, counting an unterminated tail as one."""
        return episodes_in(self.terminals)


def episodes_in(terminals: np.ndarray) -> int:
    """Episodes that ``terminals`` [N] delimits, counting an unterminated tail as one."""
    return int(terminals.sum()) + int(terminals[-1] == 0)


def validation_path(path: str | Path) -> Path:
    """OGBench's name for the validation split of ``NAME.npz``: ``NAME-val.npz``."""
    path = Path(path)
    return path.with_name(f"{path.stem}-val{path.suffix}")


def new_dataset_paths(out: str | Path) -> tuple[Path, Path]:
    """The train and ``-val`` paths a new dataset ``NAME.npz`` will take; refuses a name that is
    not ``.npz`` or whose split already exists (datasets are never overwritten)."""
    train_path = Path(out)
    if train_path.suffix != ".npz":
        raise ValueError(f"--out must name an .npz file (NAME.npz), got {str(out)!r}")
    folder = next(parent for parent in train_path.absolute().parents if parent.exists())
    if not folder.is_dir():
        raise ValueError(f"--out {out}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):  # found now, not after hours of collecting
        raise ValueError(
            f"--out {out}: cannot write into {folder} (read-only or not yours); choose another --out"
        )
    for path in (train_path, validation_path(train_path)):
        if path.exists() or path.is_symlink():
            raise ValueError(
                f"{path} exists; choose another --out (datasets are never overwritten)"
            )
    return train_path, validation_path(train_path)


def split_fingerprints(path: str | Path) -> dict[str, dict[str, int | str] | None]:
    """Size and SHA-256 of the train split and of its ``-val`` split (None when there is none),
    recorded in config.yaml so a resume can tell whether the files are still the same."""

    def fingerprint(split: Path) -> dict[str, int | str] | None:
        if not split.is_file():
            return None
        digest = hashlib.sha256()
        with split.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 24), b""):
                digest.update(block)
        return {"bytes": split.stat().st_size, "sha256": digest.hexdigest()}

    return {"train": fingerprint(Path(path)), "val": fingerprint(validation_path(path))}


def _fail(path: Path, problem: str, fix: str) -> DatasetError:
    """The one-line error for ``path``."""
    return DatasetError(f"dataset {path}: {problem}; {fix}")


def dataset_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a dataset file, with the fix (None: it is a file)."""
    path = Path(path)
    if path.is_dir():
        return "is a directory; give the .npz file (OGBench names splits NAME.npz)"
    if not path.is_file():
        return "no such file; check the path (OGBench names splits NAME.npz)"
    return None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The required arrays of an .npz file, read eagerly so a truncated file fails here."""
    problem = dataset_file_problem(path)
    if problem is not None:
        raise DatasetError(f"dataset {path}: {problem}")
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
    except OSError as error:
        raise _unreadable(path, error) from None
    if not magic.startswith((b"PK", b"\x93NUMPY")):  # numpy would read it as a pickle
        raise _fail(
            path,
            "not an .npz archive (it starts neither as a zip file nor as a .npy array)",
            "write it with numpy.savez (observations, actions, terminals)",
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except READ_ERRORS as error:
        raise _unreadable(path, error) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _fail(
            path,
            f"not an .npz archive (one .npy array of shape {np.shape(archive)})",
            "save observations, actions and terminals together with numpy.savez",
        )
    try:
        with archive:
            missing = [key for key in REQUIRED_KEYS if key not in archive.files]
            if missing:
                raise _fail(
                    path,
                    f"missing key(s) {', '.join(missing)} (found: {', '.join(archive.files)})",
                    "save observations, actions and terminals with numpy.savez",
                )
            if "timeouts" in archive.files:  # D4RL's layout: episode ends split in two keys
                warnings.warn(
                    f"dataset {path} holds 'timeouts' (D4RL's layout); episodes end where "
                    "'terminals' is 1, as in OGBench's files, so if timeouts end episodes too, "
                    "save terminals = terminals | timeouts",
                    stacklevel=4,
                )
            return {key: _read_member(path, archive, key) for key in REQUIRED_KEYS}
    except DatasetError:
        raise
    except READ_ERRORS as error:
        raise _unreadable(path, error) from None


def _read_member(path: Path, archive: Any, key: str) -> np.ndarray:
    """Array ``key`` of an open .npz archive; an object array (Python objects, which numpy
    reads only by unpickling) is refused as such, not as a damaged file."""
    try:
        return np.asarray(archive[key])
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise _fail(
            path,
            f"{key} is an array of Python objects (dtype object), which is not read",
            f"store {key} as numbers: numpy.asarray({key}, dtype=numpy.float32) before savez",
        ) from None


def _unreadable(path: Path, error: Exception) -> DatasetError:
    """The error for a file numpy cannot read, with numpy's reason."""
    return _fail(
        path,
        f"unreadable or corrupt .npz ({type(error).__name__}: {error})",
        "write the file again (numpy.savez of observations, actions, terminals)",
    )


def _check_dtypes(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Refuse arrays that do not hold real numbers (strings, complex, dates), before any cast."""
    for key in REQUIRED_KEYS:
        dtype = arrays[key].dtype
        if dtype.kind not in REAL_KINDS:
            raise _fail(
                path,
                f"{key} hold {dtype} values, not real numbers",
                f"store {key} as float32 (or uint8 images for observations)"
                if key != "terminals"
                else "store terminals as 0/1 numbers (float32 or bool)",
            )


def _check_images(path: Path, observations: np.ndarray, image_shape: tuple[int, int, int]) -> None:
    """Pixel env: uint8 images [N, H, W, C] channels last, or already flat [N, H*W*C]."""
    image_shape = tuple(image_shape)
    height, width, channels = image_shape
    wanted = f"[N, {height}, {width}, {channels}]"
    found = observations.shape[1:]
    channels_first = (channels, height, width)
    if observations.ndim == 4 and found == channels_first and found != image_shape:
        raise _fail(
            path,
            f"channels-first images {list(observations.shape)}",
            f"transpose to {wanted} (numpy.moveaxis(observations, 1, -1))",
        )
    if observations.ndim == 4 and found != image_shape:
        raise _fail(
            path,
            f"images of shape {list(found)}, the env draws {list(image_shape)}",
            f"store images as {wanted}, from the env the data was collected in",
        )
    if observations.ndim == 2 and found[0] != math.prod(image_shape):
        raise _fail(
            path,
            f"observations have {found[0]} entries per step, the env's images have "
            f"{math.prod(image_shape)} ({height}x{width}x{channels})",
            f"store images as {wanted} or flat [N, {math.prod(image_shape)}]",
        )
    if observations.dtype.kind == "f":
        raise _fail(
            path,
            f"float images ({observations.dtype}); the pixel encoder expects uint8 0..255",
            "store pixels as uint8 (multiply [0, 1] floats by 255 and round)",
        )
    if observations.dtype != np.uint8:
        raise _fail(
            path,
            f"{observations.dtype} images; the pixel encoder expects uint8 0..255",
            "store pixels as uint8",
        )


def check_arrays(
    path: Path,
    arrays: dict[str, np.ndarray],
    state_size: int | None = None,
    action_size: int | None = None,
    *,
    image_shape: tuple[int, int, int] | None | Literal["unchecked"] = UNCHECKED,
) -> Dataset:
    """Check shapes, dtypes, values and sizes of the raw arrays and return them as a Dataset.

    ``image_shape`` is the env's (``GoalEnv.image_shape``: None for a state env); left
    ``UNCHECKED``, the observations' layout and dtype are not checked.
    """
    observations, actions, terminals = (arrays[key] for key in REQUIRED_KEYS)
    single = [key for key in REQUIRED_KEYS if arrays[key].ndim == 0]
    if single:
        raise _fail(
            path,
            f"{single[0]} is a single value, not one row per step",
            f"store {single[0]} with one row per step ([N] terminals, [N, size] the others)",
        )
    lengths = {key: len(arrays[key]) for key in REQUIRED_KEYS}
    if len(set(lengths.values())) != 1:
        listed = ", ".join(f"{key} {length}" for key, length in lengths.items())
        raise _fail(path, f"mismatched lengths ({listed})", "store one row per step in each")
    if lengths["terminals"] < 2:
        raise _fail(path, f"{lengths['terminals']} steps", "store at least one whole episode")
    if terminals.ndim != 1:
        raise _fail(path, f"terminals has shape {terminals.shape}", "store terminals as [N]")
    if actions.ndim != 2:
        raise _fail(path, f"actions has shape {actions.shape}", "store actions as [N, action]")
    if observations.ndim not in (2, 4):
        raise _fail(
            path,
            f"observations have shape {observations.shape}",
            "store states as [N, state] or images as [N, H, W, C]",
        )
    _check_dtypes(path, arrays)
    if image_shape is None and observations.dtype == np.uint8:
        raise _fail(
            path,
            "uint8 observations (images?) for a state env, whose state is float32",
            "pick the pixel env the images were drawn for, or store the states as float32",
        )
    if image_shape is not None and image_shape != UNCHECKED:
        _check_images(path, observations, image_shape)
    observations = as_stored_states(observations.reshape(len(observations), -1))
    actions = actions.astype(np.float32)

    terminal_values = np.unique(terminals)
    if not np.isin(terminal_values, [0, 1]).all():
        raise _fail(
            path,
            f"terminals hold values other than 0 and 1 ({terminal_values[:5].tolist()})",
            "store 1 on each episode's last step and 0 elsewhere",
        )
    terminals = terminals.astype(np.float32)
    if terminals.sum() == 0:
        raise _fail(
            path,
            "no episode end (terminals are all 0)",
            "set terminals to 1 on the last step of each episode",
        )
    warn_one_step_episodes(path, terminals)
    for key, values in (("observations", observations), ("actions", actions)):
        if values.dtype != np.uint8:  # integer images are always finite
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.argwhere(bad)[0, 0])
                raise _fail(
                    path,
                    f"{int(bad.sum())} non-finite values in {key} (first at row {row})",
                    "drop or repair those episodes",
                )
    if state_size is not None and observations.shape[1] != state_size:
        raise _fail(
            path,
            f"observations have {observations.shape[1]} entries per step, the env's state has "
            f"{state_size}",
            "pick the env the data was collected in (observations hold the state, no goal)",
        )
    if action_size is not None and actions.shape[1] != action_size:
        raise _fail(
            path,
            f"actions have {actions.shape[1]} entries per step, the env takes {action_size}",
            "pick the env the data was collected in",
        )
    largest = float(np.abs(actions).max())
    if largest > 1.0 + ACTION_ROUNDING:
        raise _fail(
            path,
            f"actions reach {largest:.4g}, outside [-1, 1]",
            "rescale the actions into [-1, 1] (the policy is squashed by tanh)",
        )
    if largest > 1.0:
        warnings.warn(
            f"dataset {path}: actions exceed [-1, 1] by at most {largest - 1:.2g}; clipped",
            stacklevel=3,
        )
        actions = np.clip(actions, -1.0, 1.0)
    return Dataset(observations=observations, actions=actions, terminals=terminals)


def warn_one_step_episodes(path: Path, terminals: np.ndarray) -> None:
    """Warn when most episodes of ``terminals`` [N] are one step long: rows laid out time step
    by time step (all copies' step 0, then step 1, ...) read so, and goals then cross episodes."""
    ends = np.flatnonzero(terminals)
    lengths = np.diff(np.concatenate([[-1], ends]))
    one_step = int((lengths == 1).sum())
    if len(lengths) >= 4 and one_step > len(lengths) / 2:
        warnings.warn(
            f"dataset {path}: {one_step} of its {len(lengths)} episodes are one step long, "
            "which no goal can follow; rows must run episode by episode, each in time order, "
            "with terminals 1 on each episode's last step (not time step by time step)",
            stacklevel=4,
        )


def load_dataset(
    path: str | Path,
    state_size: int | None = None,
    action_size: int | None = None,
    *,
    image_shape: tuple[int, int, int] | None | Literal["unchecked"] = UNCHECKED,
) -> Dataset:
    """Read and check one split; sizes and image shape, when given, must match the env's."""
    path = Path(path)
    return check_arrays(path, _read_arrays(path), state_size, action_size, image_shape=image_shape)


def load_splits(
    path: str | Path,
    state_size: int | None = None,
    action_size: int | None = None,
    *,
    image_shape: tuple[int, int, int] | None | Literal["unchecked"] = UNCHECKED,
) -> tuple[Dataset, Dataset | None]:
    """The training split at ``path`` and its ``-val`` split when that exists (a directory of
    that name is an error, not a missing split)."""
    train = load_dataset(path, state_size, action_size, image_shape=image_shape)
    val_path = validation_path(path)
    val = (
        load_dataset(val_path, state_size, action_size, image_shape=image_shape)
        if val_path.exists()
        else None
    )
    return train, val


def as_stored_states(observations: np.ndarray) -> np.ndarray:
    """States as the buffer keeps them: uint8 images stay uint8, anything else becomes float32."""
    observations = np.asarray(observations)
    return observations if observations.dtype == np.uint8 else observations.astype(np.float32)


def save_dataset(
    path: str | Path,
    dataset: Dataset,
    image_shape: tuple[int, int, int] | None = None,
    source: dict[str, Any] | None = None,
) -> None:
    """Write a split in OGBench's layout (terminals as float32, like OGBench's files).

    With ``image_shape``, the flat uint8 states are written as images [N, H, W, C], as OGBench's
    visual datasets hold them. ``source`` (``{"env": NAME, "env_options": [...]}``) is stored
    under ``SOURCE_KEY``, which OGBench's loader ignores.
    """
    observations = dataset.observations
    if image_shape is not None:
        observations = observations.reshape(len(observations), *image_shape)
    extra = {} if source is None else {SOURCE_KEY: np.array(json.dumps(source))}
    np.savez(
        path,
        observations=observations,
        actions=dataset.actions.astype(np.float32),
        terminals=dataset.terminals.astype(np.float32),
        **extra,
    )


def save_splits(
    out: str | Path,
    train: Dataset,
    val: Dataset,
    image_shape: tuple[int, int, int] | None = None,
    source: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write a new dataset ``NAME.npz`` and its ``NAME-val.npz`` (``save_dataset``'s layout) ->
    their paths. Both are written under hidden names first and renamed only when both are
    whole, so a failed write (a full disk) leaves neither split behind to block the next try."""
    paths = new_dataset_paths(out)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    partial = [path.with_name(f".{path.stem}.partial-{os.getpid()}.npz") for path in paths]
    renamed: list[Path] = []
    try:
        for path, split in zip(partial, (train, val), strict=True):
            save_dataset(path, split, image_shape, source)
        for path, final in zip(partial, paths, strict=True):
            os.replace(path, final)
            renamed.append(final)
    except BaseException:
        for path in renamed:  # this call's own file: one split alone would block the next try
            path.unlink(missing_ok=True)
        raise
    finally:
        for path in partial:
            path.unlink(missing_ok=True)
    return paths


def read_source(path: str | Path) -> dict[str, Any] | None:
    """Where a dataset file says it was collected (``save_dataset``'s ``source``), or None when it
    does not say (OGBench's own files) or says it in a form this version cannot read."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if SOURCE_KEY not in archive.files:
                return None
            source = json.loads(str(archive[SOURCE_KEY]))
    except (*READ_ERRORS, json.JSONDecodeError, TypeError, AttributeError):
        return None
    if not isinstance(source, dict) or not isinstance(source.get("env"), str):
        return None
    options = source.get("env_options", [])
    if not isinstance(options, list) or not all(isinstance(spec, str) for spec in options):
        return None
    return {"env": source["env"], "env_options": options}


def usable_anchor_times(dataset: Dataset) -> np.ndarray:
    """[N - episodes] int32 rows that have a later step in their episode, the ones a batch can be
    drawn from: all but each episode's last row (the final row has none, terminated or not)."""
    return np.flatnonzero(np.asarray(dataset.terminals)[:-1] == 0).astype(np.int32)


def anchors_in(terminals: np.ndarray) -> int:
    """How many of the steps ``terminals`` [N] delimits have a later step in their episode."""
    return len(terminals) - episodes_in(terminals)


def usable_anchors(dataset: Dataset) -> int:
    """How many steps have a later step in their episode (``usable_anchor_times``)."""
    return anchors_in(dataset.terminals)


def split_usable_anchors(path: str | Path) -> int:
    """``usable_anchors`` of a checked split file, reading its terminals alone."""
    with np.load(path) as arrays:
        return anchors_in(np.asarray(arrays["terminals"]))


def buffer_from_dataset(dataset: Dataset) -> ReplayBuffer:
    """The whole dataset as one full ring (num_envs 1, capacity N), episodes cut at terminals.

    Built with ``buffer.insert``, so ``goals.sample_future_goal_batch`` samples it unchanged: goals
    stay inside their episode. An unterminated tail stays the running episode, which the sampler
    already ends at the newest step.
    """
    num_steps = dataset.num_steps
    # The episode tables come from inserting the terminals alone (states and actions of width 0);
    # the data then go in as they are. Inserting them too held three device copies at once (the
    # zero ring, the data, the written ring): a third of the memory for an image dataset.
    no_data = jnp.zeros((num_steps, 1, 0))
    episodes = insert(
        init_buffer(num_steps, 1, 0, 0),
        Unroll(states=no_data, actions=no_data, dones=jnp.asarray(dataset.terminals)[:, None]),
    )
    return episodes.replace(
        states=jnp.asarray(dataset.observations)[:, None],  # [N, 1, state_size]
        actions=jnp.asarray(dataset.actions, jnp.float32)[:, None],  # [N, 1, action_size]
    )
