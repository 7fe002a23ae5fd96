"""Spreading a run over devices and hosts: shardings of the train state, its placement, and the
barriers that keep the processes of a multi-host run together."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxcrl.config import ConfigError, TrainConfig, first_line
from jaxcrl.trainer import TrainerState

# Axis of each buffer leaf that indexes env copies, after the leading member axis.
BUFFER_ENV_AXIS = {
    "states": 2,
    "actions": 2,
    "episode_ids": 2,
    "episode_last_time": 2,
    "current_episode_ids": 1,
}


def fewer_devices_hint() -> str:
    """How to make fewer devices visible to JAX on this machine's platform, for messages."""
    platform = getattr(jax.devices()[0], "platform", None)
    if platform == "cpu":
        return "XLA_FLAGS without --xla_force_host_platform_device_count"
    return {"gpu": "CUDA_VISIBLE_DEVICES=0", "tpu": "TPU_VISIBLE_CHIPS=0"}.get(
        platform, "JAX's device settings"
    )


def check_placement(
    config: TrainConfig, num_members: int, num_devices: int | None = None, resuming: bool = False
) -> None:
    """Raise ConfigError when the run cannot be spread over ``num_devices`` devices (default: all
    visible); train and resume (``resuming``: the run's sizes are fixed) check this before they
    write to the run directory."""
    num_devices = num_devices or len(jax.devices())
    if num_devices == 1:
        return
    if config.physics == "warp":
        raise ConfigError(
            f"--physics warp runs on one device, and this run sees {num_devices}: MuJoCo "
            "Warp keeps one contact buffer for all env copies, which is not split over devices. "
            f"Make one device visible ({fewer_devices_hint()}) or use --physics jax"
        )
    by_members = num_members > 1 and num_members % num_devices == 0
    if config.dataset is None and not by_members and config.num_envs % num_devices != 0:
        fix = (
            "resume it where a device count that divides one of them is visible "
            f"({fewer_devices_hint()}); a resumed run keeps its sizes"
            if resuming
            else f"use a --num-envs or a member count that is a multiple of {num_devices}, or "
            f"make fewer devices visible ({fewer_devices_hint()})"
        )
        raise ConfigError(
            f"--num-envs {config.num_envs} cannot be split over {num_devices} devices, nor can "
            f"the run's {num_members} member(s) (seeds x swept values); {fix}"
        )


def device_memory_bytes() -> int | None:
    """Memory of one device: the accelerator's limit, or the host's RAM for CPU devices."""
    device = jax.local_devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    return host_memory_bytes() if device.platform == "cpu" else None


def host_memory_bytes() -> int | None:
    """The host's RAM (None where the system does not say)."""
    if not hasattr(os, "sysconf"):
        return None
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def tree_bytes(shapes: Any) -> int:
    """Bytes that a pytree of arrays (or of their shapes) holds."""
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes))


def gib(size: float) -> str:
    """``size`` bytes in GiB, as the memory checks report them."""
    return f"{size / 2**30:.1f} GiB"


# The fix a resumed run is offered when a device is too small: its sizes are fixed.
RESUME_ON_MORE_MEMORY = "resume it on a device with more memory (a resumed run keeps its sizes)"


def check_memory(
    state_shapes: Any,
    eval_need: int = 0,
    resuming: bool = False,
    episodes_option: str = "--eval-episodes",
    checkpoint_buffer: bool = False,
) -> None:
    """Raise ConfigError when the run's state (replay buffer, env copies, learners, of every
    member) and its evaluation (``eval_need`` bytes for as many episodes as ``episodes_option``
    says, see ``program.eval_memory_bytes``) would not fit in the devices' memory: say so before
    compiling, not after (``resuming``: the run's sizes are fixed). On the CPU a checkpoint with
    the buffer (``checkpoint_buffer``) copies the state into the same memory while it is written:
    a 4.6 GiB pixel buffer peaked at 8.2 GiB resident when saved, 5.9 GiB without it."""
    # Each host of a multi-host run holds its share: buffers and env copies are split over every
    # device (the learners, replicated, are small beside them).
    state_need = tree_bytes(state_shapes) // jax.process_count()
    have = device_memory_bytes()
    if have is None:
        return
    devices = jax.local_devices()
    on_cpu = devices[0].platform == "cpu"
    if not on_cpu:  # a state spread over several accelerators
        have *= len(devices)
    saving_copy = on_cpu and checkpoint_buffer
    if (2 if saving_copy else 1) * state_need + eval_need <= 0.9 * have:
        return
    learner_need = tree_bytes(getattr(state_shapes, "agent", {})) // jax.process_count()
    networks = learner_need > state_need - learner_need
    mostly = (
        "its networks and their optimiser state: --hidden-width, --hidden-depth, --repr-dim, "
        "with pixels --cnn-features"
        if networks
        else "its replay buffer: --buffer-size per member"
    )
    state = f"state needs {gib(state_need)} (mostly {mostly})"
    if saving_copy:
        state += ", twice while a checkpoint copies it on the CPU (--no-checkpoint-buffer: once)"
    evaluation = f"evaluation needs {gib(eval_need)} (the {episodes_option} of each member)"
    if eval_need > state_need:
        parts = evaluation + (f" and its {state}" if state_need else "")
        fix = f"lower {episodes_option}"
    else:
        parts = f"{state} and its {evaluation}"
        fix = (
            "use smaller networks or fewer --num-seeds"
            if networks
            else "lower --buffer-size or --num-seeds"
        )
    if resuming:
        fix = "resume it on devices with more memory (a resumed run keeps its sizes)"
    raise ConfigError(
        f"the run's {parts}: more than the {gib(0.9 * have)} it may use of the {gib(have)} of "
        f"memory its devices have; {fix}"
    )


def check_step_memory(compiled: Any, resuming: bool = False) -> None:
    """Raise ConfigError when a compiled training iteration (``compiled``: its executable) needs
    more memory than one device has: its state plus the working memory of its batches, which the
    state's size alone does not show (a pixel batch's convolutions can hold tens of GiB)."""
    analysis = compiled.memory_analysis()
    have = device_memory_bytes()
    if analysis is None or have is None:
        return
    work = analysis.temp_size_in_bytes
    need = analysis.argument_size_in_bytes + work
    if need <= 0.9 * have:
        return
    fix = (
        RESUME_ON_MORE_MEMORY
        if resuming
        else "train a new run with a smaller --batch-size (with pixels, a smaller image_size "
        "or fewer --cnn-channels)"
    )
    raise ConfigError(
        f"a training iteration needs {gib(work)} of working memory for its batches beside its "
        f"{gib(analysis.argument_size_in_bytes)} state: more than the {gib(0.9 * have)} it may "
        f"use of the {gib(have)} of memory a device has; {fix} (nothing was trained)"
    )


def check_evaluation_memory(
    compiled: Any,
    episodes: int,
    training: Any = None,
    resuming: bool = False,
    episodes_option: str = "--eval-episodes",
) -> None:
    """Raise ConfigError when a compiled evaluation (``compiled``: its executable, over
    ``episodes`` episodes per member) needs more working memory than one device has (beside the
    run's state, the arguments of ``training``, its compiled training iteration): the estimate
    made before compiling misses what an env's step holds per episode (a point maze's walls:
    2.5 KB an episode, 20 times the estimate)."""
    analysis = compiled.memory_analysis()
    step = None if training is None else training.memory_analysis()
    have = device_memory_bytes()
    if analysis is None or have is None:
        return
    work = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
    state = 0 if step is None else step.argument_size_in_bytes
    if state + work <= 0.9 * have:
        return
    if resuming:
        fix = RESUME_ON_MORE_MEMORY
    elif training is not None:
        fix = f"train a new run with fewer {episodes_option} (nothing was trained)"
    else:
        fix = f"give fewer {episodes_option}"
    beside = f" beside the run's {gib(state)} state" if state else ""
    raise ConfigError(
        f"an evaluation of {episodes} episodes per member needs {gib(work)} of working memory"
        f"{beside}: more than the {gib(0.9 * have)} it may use of the {gib(have)} of memory a "
        f"device has; {fix}"
    )


def check_dataset_memory(path: str, arrays: Any) -> None:
    """Raise ConfigError, before the data reach the device, when an offline run's dataset
    (``arrays``: both splits) would not fit: every device holds all of it (on the CPU, beside
    the host copy it was read into)."""
    have = device_memory_bytes()
    if have is None:
        return
    need = tree_bytes(arrays)
    on_cpu = jax.local_devices()[0].platform == "cpu"
    if (2 * need if on_cpu else need) <= 0.9 * have:
        return
    raise ConfigError(
        f"dataset {path} needs {gib(need)} on each device (both splits"
        + (", twice on the CPU: the file's copy and the device's" if on_cpu else "")
        + f"), more than the {gib(0.9 * have)} it may use of the {gib(have)} a device has; "
        "train on fewer episodes, or on a device with more memory"
    )


def state_shardings(
    state: TrainerState, num_members: int, num_envs: int, devices: list | None = None
) -> tuple[Any, str]:
    """Shardings that spread a run over ``devices`` (default: all), and what they do in words.

    Members go one group per device when they divide evenly; otherwise the env copies and their
    buffer rings are split along the env axis, and XLA turns the batch sampling and the gradient
    into cross-device collectives (the same arithmetic as one device, so results agree).
    Learner parameters are replicated.
    """
    devices = list(devices or jax.devices())
    mesh = Mesh(np.asarray(devices), ("devices",))
    spread = lambda axis, ndim: NamedSharding(
        mesh, PartitionSpec(*([None] * axis + ["devices"] + [None] * (ndim - axis - 1)))
    )
    replicated = NamedSharding(mesh, PartitionSpec())
    offline = not hasattr(state, "env_states")  # no env copies; one dataset for all members
    if num_members > 1 and num_members % len(devices) == 0:
        shardings = jax.tree.map(lambda leaf: spread(0, leaf.ndim), state)
        if offline:
            shardings = shardings.replace(
                data=jax.tree.map(lambda _: replicated, state.data),
                val_data=jax.tree.map(lambda _: replicated, state.val_data),
            )
        return shardings, f"{num_members} members split over {len(devices)} devices"
    if offline:
        return jax.tree.map(lambda _: replicated, state), f"replicated on {len(devices)} devices"
    if num_envs % len(devices) != 0:  # run.train and run.resume check this first
        raise ConfigError(
            f"--num-envs {num_envs} cannot be split over {len(devices)} devices; use a multiple "
            f"of {len(devices)}"
        )
    shardings = jax.tree.map(lambda _: replicated, state)
    shardings = shardings.replace(
        env_states=jax.tree.map(lambda leaf: spread(1, leaf.ndim), state.env_states),
        buffer=shardings.buffer.replace(
            **{
                name: spread(axis, getattr(state.buffer, name).ndim)
                for name, axis in BUFFER_ENV_AXIS.items()
            }
        ),
    )
    return shardings, f"{num_envs} env copies per member split over {len(devices)} devices"


def place(state: TrainerState, config: TrainConfig, num_members: int) -> TrainerState:
    """Put the run's state on every device (a no-op with one device)."""
    if len(jax.devices()) == 1:
        return state
    check_placement(config, num_members)
    shardings, _ = state_shardings(state, num_members, config.num_envs)
    if jax.process_count() > 1:
        # Arrays on one local device cannot move to other hosts' devices; host copies can (each
        # process keeps its shards, and device_put checks that the processes agree).
        state = jax.device_get(state)
        wait_for_processes("place")
    return jax.device_put(state, shardings)


def fetch(tree: Any) -> Any:
    """``tree``'s values on the host. In a multi-host run an array whose shards lie on other
    hosts' devices (members split over devices) is gathered first: this host holds only its own."""

    def value(leaf: Any) -> Any:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return multihost_utils.process_allgather(leaf, tiled=True)
        return jax.device_get(leaf)

    return jax.tree.map(value, tree)


def agreed_signal(signals: list[int]) -> int | None:
    """The signal that stops a run at this chunk end (None: go on). In a multi-host run, one
    that reached any process stops them all here: each saves the same checkpoint and leaves,
    where a process stopping alone would leave the others waiting on it for ever."""
    mine = signals[0] if signals else 0
    if jax.process_count() > 1:
        mine = int(np.max(multihost_utils.process_allgather(np.int32(mine))))
    return mine or None


@contextlib.contextmanager
def in_every_process(what: str) -> Iterator[None]:
    """Run a block of checks (``what``) that each process of a multi-host run passes or fails
    together: a ConfigError in one process raises in all, where a process stopping alone would
    leave the others waiting for it at their next barrier. A no-op with one process."""
    error = None
    try:
        yield
    except ConfigError as raised:
        error = raised
    if jax.process_count() > 1:
        failed = multihost_utils.process_allgather(np.int32(error is not None))
        others = [str(rank) for rank, flag in enumerate(failed) if flag]
        if error is None and others:
            raise ConfigError(
                f"process {', '.join(others)} of {len(failed)} stopped while {what} (its own "
                "output says why: a file or package that host lacks?); this process stops too"
            )
    if error is not None:
        raise error


def check_same_config(config: TrainConfig) -> None:
    """In a multi-host run, refuse (in every process at once) options that differ between the
    processes: they would train different runs in lockstep and hang or crash."""
    if jax.process_count() == 1:
        return
    # Gathering from every process needs as many devices in each (else a reshape error).
    if jax.device_count() != jax.local_device_count() * jax.process_count():
        raise ConfigError(
            f"process {jax.process_index()} sees {jax.local_device_count()} of the "
            f"{jax.device_count()} devices of {jax.process_count()} processes; give every process "
            "as many devices (for example the same CUDA_VISIBLE_DEVICES count, or XLA_FLAGS on "
            "the CPU)"
        )
    fields = {name: value for name, value in config.to_dict().items() if name != "progress"}
    text = json.dumps(fields, sort_keys=True, default=str).encode()
    digest = np.uint32(int.from_bytes(hashlib.sha256(text).digest()[:4], "little"))
    digests = multihost_utils.process_allgather(digest)
    differing = [str(rank) for rank, value in enumerate(digests) if value != digests[0]]
    if differing:
        raise ConfigError(
            f"process {', '.join(differing)} of {len(digests)} was given other options than "
            "process 0; start the same command (the same flags and --run-dir) in every process"
        )


def process_setting(name: str) -> int | None:
    """The integer in environment variable ``name`` (None when unset), or a ConfigError."""
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not an integer; set it to a whole number") from None


def join_processes(config: TrainConfig) -> None:
    """Connect the processes of a multi-host run (``--distributed``) before any device work.

    JAX finds the coordinator and ranks itself on TPU pods, SLURM, Open MPI and Kubernetes;
    elsewhere each process sets JAX_COORDINATOR_ADDRESS (host:port of process 0),
    JAX_NUM_PROCESSES and JAX_PROCESS_ID. Per-process settings stay out of config.yaml, so
    ``--resume`` works the same way.
    """
    if not config.distributed or jax.distributed.is_initialized():
        return
    num_processes = process_setting("JAX_NUM_PROCESSES")
    process_id = process_setting("JAX_PROCESS_ID")
    address = os.environ.get("JAX_COORDINATOR_ADDRESS")
    if address is not None:  # else JAX finds the cluster itself (TPU pods, SLURM, ...)
        # JAX waits in silence for every process to join (5 minutes by default).
        print(
            f"process {process_id} of {num_processes}: joining the run's coordinator at "
            f"{address}; this waits until every process has started",
            file=sys.stderr,
            flush=True,
        )
    try:
        jax.distributed.initialize(num_processes=num_processes, process_id=process_id)
    except (ValueError, RuntimeError) as error:
        raise ConfigError(
            f"--distributed could not join the other processes ({first_line(error)}); "
            "on a TPU pod or SLURM JAX finds them itself, elsewhere set JAX_COORDINATOR_ADDRESS "
            "(host:port of process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID in every process, "
            "or train in this process alone: drop --distributed, or give --no-distributed (a "
            "--resume of a run started with it)"
        ) from None


PROCESS_BARRIER_TIMEOUT_S = 3600  # how long a process waits for the others to compile
_barriers_passed = itertools.count()  # barrier ids must be unique; every process counts alike


def wait_for_processes(name: str) -> None:
    """Block until every process of a multi-host run reaches barrier ``name`` (else a no-op).

    A barrier of the coordination service, not a device collective: the first collective of a
    communicator gives its peers only 30 s to arrive (CPU hosts, gloo), and processes that
    compile at different speeds can be further apart than that.
    """
    key = f"jaxcrl_{name}_{next(_barriers_passed)}"
    ocp.multihost.get_barrier_sync_fn()(key=key, timeout_ms=PROCESS_BARRIER_TIMEOUT_S * 1000)
