"""Runs spread over several devices (4 CPU devices forced by XLA) match one device."""

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from tiny_runs import TINY

from jaxcrl.config import ConfigError, TrainConfig, loop_sizes
from jaxcrl.devices import process_setting
from jaxcrl.host_progress import TIMING_FIELDS
from jaxcrl.run import train
from jaxcrl.saved_runs import evaluate_run

REPO = Path(__file__).resolve().parents[1]

TINY = dataclasses.replace(
    TINY, total_env_steps=4 * 4 * 10, eval_episodes=8, num_evals=2, progress=False
)

# Trains each config given as JSON on the 4 forced devices; prints rows and buffer shardings.
ON_FOUR_DEVICES = """
import json, sys
import jax
from jaxcrl.config import TrainConfig
from jaxcrl.run import train
out = []
for fields in json.loads(sys.argv[1]):
    result = train(TrainConfig(**fields))
    out.append({
        "devices": jax.device_count(),
        "rows": result.metrics,
        "buffer_sharding": list(result.state.buffer.states.sharding.spec),
        "params_sharding": list(jax.tree.leaves(result.state.agent.policy_params)[0].sharding.spec),
    })
print("RESULT" + json.dumps(out))
"""


def same_learning(rows_a, rows_b):
    assert len(rows_a) == len(rows_b)
    for a, b in zip(rows_a, rows_b, strict=True):
        for name, value in b.items():
            if name in TIMING_FIELDS:
                continue
            if name == "critic/accuracy":  # argmax ties may break differently across layouts
                assert abs(a[name] - value) < 0.02, name
            elif isinstance(value, float):
                np.testing.assert_allclose(a[name], value, rtol=1e-3, atol=1e-4, err_msg=name)
            else:
                assert a[name] == value, name


@pytest.fixture(scope="module")
def one_device_run(tmp_path_factory):
    """``TINY`` with N seeds trained on this process's one device, once per module: N -> its
    TrainResult, the reference that runs spread over devices and processes must match."""
    results = {}

    def run(num_seeds: int):
        if num_seeds not in results:
            run_dir = tmp_path_factory.mktemp(f"one_device_{num_seeds}_seeds") / "run"
            results[num_seeds] = train(
                dataclasses.replace(TINY, num_seeds=num_seeds, run_dir=str(run_dir))
            )
        return results[num_seeds]

    return run


def test_four_devices_match_one_and_their_checkpoints_restore_on_one(tmp_path, one_device_run):
    env_split = dataclasses.replace(TINY, num_seeds=2, run_dir=str(tmp_path / "env_split"))
    member_split = dataclasses.replace(TINY, num_seeds=4, run_dir=str(tmp_path / "member_split"))
    fields = [dataclasses.asdict(c) for c in (env_split, member_split)]
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4",
    }
    done = subprocess.run(
        [sys.executable, "-c", ON_FOUR_DEVICES, json.dumps(fields)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    four = json.loads(done.stdout.split("RESULT", 1)[1])
    assert [r["devices"] for r in four] == [4, 4]
    # Two members on four devices: the env axis (axis 2 of [member, time, env, state]) is split.
    assert four[0]["buffer_sharding"][:3] == [None, None, "devices"]
    # Four members on four devices: one member per device.
    assert four[1]["buffer_sharding"][:1] == ["devices"]
    assert set(four[1]["buffer_sharding"][1:]) <= {None}
    assert set(four[0]["params_sharding"]) <= {None}  # replicated

    for config, result in zip((env_split, member_split), four, strict=True):
        same_learning(result["rows"], one_device_run(config.num_seeds).metrics)

    # A checkpoint written by four devices restores in this one-device process.
    evaluated = evaluate_run(Path(member_split.run_dir), episodes=4)
    assert evaluated["checkpoint"] == 8 and len(evaluated["members"]) == 4


# One process of a two-process run (each with 2 forced CPU devices): joins through --distributed
# with the JAX_* variables that jaxcrl.devices.join_processes reads, then trains.
# Each config given as JSON is trained in turn; one RESULT line lists what each run saw.
ONE_OF_TWO_PROCESSES = """
import json, sys
import jax
from jaxcrl.config import TrainConfig
from jaxcrl.run import TrainingInterrupted, train
out = []
for fields in json.loads(sys.argv[1]):
    try:
        result = train(TrainConfig(**fields))
    except TrainingInterrupted as stop:
        sys.exit(f"stopped: {stop}" if stop.signal_number == 15 else 1)
    out.append({"devices": jax.device_count(), "local": jax.local_device_count(),
                "process": jax.process_index(), "rows": result.metrics})
print("RESULT" + json.dumps(out))
"""


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def runs_of(configs: TrainConfig | list[TrainConfig]) -> list[TrainConfig]:
    """``configs`` as a list."""
    return configs if isinstance(configs, list) else [configs]


def start_two_processes(
    configs: list[TrainConfig | list[TrainConfig]],
    tmp_path: Path,
    name: str,
    extra_env: dict | None = None,
    rank_envs: tuple[dict, dict] = ({}, {}),
    command: list[str] | None = None,
) -> tuple[list[subprocess.Popen], list[Path]]:
    """Start process K of a two-process run training ``configs[K]`` (a list: each in turn; and
    ``rank_envs[K]`` added to its environment), or each running ``command``; the processes and
    their logs."""
    port = free_port()
    logs = [tmp_path / f"{name}_process_{rank}.log" for rank in (0, 1)]
    processes = []
    for rank, (config, log) in enumerate(zip(configs, logs, strict=True)):
        with log.open("w") as log_file:  # a file, not a pipe: a full pipe stalls a process
            processes.append(
                subprocess.Popen(
                    command
                    or [
                        sys.executable,
                        "-c",
                        ONE_OF_TWO_PROCESSES,
                        json.dumps([dataclasses.asdict(c) for c in runs_of(config)]),
                    ],
                    env={
                        **os.environ,
                        **(extra_env or {}),
                        **rank_envs[rank],
                        "JAX_PLATFORMS": "cpu",
                        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")
                        + " --xla_force_host_platform_device_count=2",
                        "JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
                        "JAX_NUM_PROCESSES": "2",
                        "JAX_PROCESS_ID": str(rank),
                    },
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=tmp_path,
                )
            )
    return processes, logs


def run_two_processes(configs: list[TrainConfig], tmp_path: Path) -> list[list[dict]]:
    """Train each of ``configs`` in turn as two processes of one run; per process, each run's
    devices, rank and rows."""
    processes, logs = start_two_processes([configs, configs], tmp_path, "two_processes")
    for process in processes:
        process.wait(timeout=900)
    outputs = [log.read_text() for log in logs]
    for process in processes:
        assert process.returncode == 0, "\n\n".join(text[-4000:] for text in outputs)
    return [json.loads(output.split("RESULT", 1)[1].splitlines()[0]) for output in outputs]


def test_two_processes_match_one_device_and_their_checkpoints_restore_on_one(
    tmp_path, one_device_run
):
    env_split = dataclasses.replace(TINY, run_dir=str(tmp_path / "env_split"), distributed=True)
    # Four seeds over four devices on two hosts: each host holds two members' metrics, and
    # reading them once crashed every such run ("spans non-addressable devices").
    member_split = dataclasses.replace(env_split, num_seeds=4, run_dir=str(tmp_path / "members"))
    (env_split_0, members_0), (env_split_1, members_1) = run_two_processes(
        [env_split, member_split], tmp_path
    )
    assert [(r["devices"], r["local"], r["process"]) for r in (env_split_0, env_split_1)] == [
        (4, 2, 0),
        (4, 2, 1),
    ]
    same_learning(env_split_0["rows"], env_split_1["rows"])  # every process sees the same rows
    # Four env copies split over the two processes' four devices do what one device does.
    one = one_device_run(num_seeds=1)
    same_learning(env_split_0["rows"], one.metrics)
    # Only process 0 writes the log; the checkpoint both wrote restores in this 1-device process.
    assert len(Path(env_split.run_dir, "metrics.jsonl").read_text().splitlines()) == len(
        one.metrics
    )
    steps = sorted(int(p.name) for p in Path(env_split.run_dir, "checkpoints").iterdir())
    assert steps == sorted(int(p.name) for p in Path(one.run_dir, "checkpoints").iterdir())
    assert evaluate_run(Path(env_split.run_dir), episodes=4)["checkpoint"] == max(steps)

    assert {row["member"] for row in members_0["rows"]} == {0, 1, 2, 3}
    same_learning(members_0["rows"], members_1["rows"])
    same_learning(members_0["rows"], one_device_run(num_seeds=4).metrics)


def test_process_settings_come_from_the_environment_and_bad_ones_are_named(monkeypatch):
    monkeypatch.delenv("JAX_NUM_PROCESSES", raising=False)
    assert process_setting("JAX_NUM_PROCESSES") is None  # left to JAX's cluster detection
    monkeypatch.setenv("JAX_PROCESS_ID", "3")
    assert process_setting("JAX_PROCESS_ID") == 3
    monkeypatch.setenv("JAX_PROCESS_ID", "first")
    with pytest.raises(ConfigError, match="JAX_PROCESS_ID='first' is not an integer"):
        process_setting("JAX_PROCESS_ID")


def test_a_run_that_cannot_be_spread_over_the_devices_is_refused_before_it_starts():
    from jaxcrl.devices import check_placement

    online = dataclasses.replace(TINY, num_envs=6)
    check_placement(online, num_members=1, num_devices=1)
    check_placement(online, num_members=4, num_devices=4)  # one member per device
    check_placement(dataclasses.replace(online, num_envs=8), num_members=1, num_devices=4)
    check_placement(dataclasses.replace(online, dataset="d.npz"), num_members=1, num_devices=4)
    with pytest.raises(ConfigError, match="--num-envs 6 cannot be split over 4 devices, nor can"):
        check_placement(online, num_members=2, num_devices=4)
    # A resume cannot change the run's sizes: it says what it can change.
    with pytest.raises(ConfigError, match="resume it where a device count that divides one of"):
        check_placement(online, num_members=2, num_devices=4, resuming=True)
    # On CPU devices the fix is XLA_FLAGS, not CUDA_VISIBLE_DEVICES (which changes nothing there).
    with pytest.raises(ConfigError, match=r"--physics warp runs on one device.*\(XLA_FLAGS"):
        check_placement(dataclasses.replace(online, physics="warp"), 4, num_devices=4)


def test_a_checkpoints_folder_that_cannot_be_written_is_refused_before_training(tmp_path):
    from jaxcrl.run_dir import check_checkpoints_writable

    check_checkpoints_writable(tmp_path / "fresh")  # made when missing
    assert (tmp_path / "fresh" / "checkpoints").is_dir()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "checkpoints").write_text("a file where the folder goes")
    with pytest.raises(ConfigError, match="blocked/checkpoints: cannot write there"):
        check_checkpoints_writable(blocked)


def test_a_state_larger_than_the_memory_is_refused_before_anything_is_written(tmp_path):
    # 2e9 transitions per env copy (as many as a 32-bit step counter allows), 640 GB at least.
    config = dataclasses.replace(
        TINY, num_envs=16, buffer_size=16 * 2 * 10**9, run_dir=str(tmp_path / "r")
    )
    with pytest.raises(ConfigError, match=r"the run's state needs \d+\.\d GiB .*lower --buffer"):
        train(config)
    assert not (tmp_path / "r").exists()


def test_an_evaluation_larger_than_the_memory_is_refused_before_anything_is_written(tmp_path):
    # 10^9 point-mass episodes: 64 bytes of env state each, twice over, and the policy's
    # activations (about 120 bytes): 246 GiB.
    config = dataclasses.replace(TINY, eval_episodes=10**9, run_dir=str(tmp_path / "r"))
    with pytest.raises(
        ConfigError, match=r"the run's evaluation needs 1\d\d\.\d GiB .*lower --eval-episodes"
    ):
        train(config)
    assert not (tmp_path / "r").exists()


def test_hosts_probing_one_checkpoints_folder_at_once_do_not_trip_over_each_other(tmp_path):
    # The processes of a multi-host run probe the shared folder together, often with one PID
    # (containers); threads of this process share its PID as well.
    from concurrent.futures import ThreadPoolExecutor

    from jaxcrl.run_dir import check_checkpoints_writable

    def probe_many(_):
        for _ in range(300):
            check_checkpoints_writable(tmp_path)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(probe_many, range(4)))  # re-raises any probe's error
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_each_host_is_held_to_its_share_of_the_state(monkeypatch):
    from jaxcrl import devices

    state = {"buffer": jax.ShapeDtypeStruct((3 * 2**28,), np.uint8)}  # 0.75 GiB
    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 2**29)  # 0.5 GiB
    with pytest.raises(ConfigError, match="needs 0.8 GiB"):
        devices.check_memory(state)
    with pytest.raises(ConfigError, match="resume it on devices with more memory"):
        devices.check_memory(state, resuming=True)
    # The evaluation's episodes count beside the state, and are not split over hosts.
    with pytest.raises(ConfigError, match="evaluation needs 0.5 GiB .*lower --eval-episodes"):
        devices.check_memory({}, 2**29)
    monkeypatch.setattr(jax, "process_count", lambda: 2)  # 0.375 GiB on each of two hosts
    devices.check_memory(state)


def test_a_state_made_large_by_its_networks_names_the_network_options(monkeypatch):
    # --hidden-width 100000 was told its state was "mostly its replay buffer" and to lower
    # --buffer-size, which would not help.
    from typing import NamedTuple

    from jaxcrl import devices

    class State(NamedTuple):
        agent: jax.ShapeDtypeStruct
        buffer: jax.ShapeDtypeStruct

    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 2**29)  # 0.5 GiB
    wide = State(jax.ShapeDtypeStruct((2**28,), np.float32), jax.ShapeDtypeStruct((8,), np.uint8))
    with pytest.raises(
        ConfigError,
        match=r"needs 1.0 GiB \(mostly its networks and their "
        r"optimiser state: --hidden-width, .*; use smaller networks or fewer --num-seeds$",
    ):
        devices.check_memory(wide)
    deep = State(jax.ShapeDtypeStruct((8,), np.float32), jax.ShapeDtypeStruct((2**30,), np.uint8))
    with pytest.raises(ConfigError, match=r"mostly its replay buffer.*lower --buffer-size"):
        devices.check_memory(deep)


def test_on_the_cpu_a_checkpoint_of_the_buffer_counts_a_second_copy(monkeypatch):
    # A pixel buffer the check let through (20.6 GiB of 23.5) was killed for memory while its
    # first checkpoint was written.
    from jaxcrl import devices

    state = {"buffer": jax.ShapeDtypeStruct((2**28,), np.uint8)}  # 0.25 GiB
    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 2**29)  # 0.5 GiB
    devices.check_memory(state)
    with pytest.raises(ConfigError, match="twice while a checkpoint copies it on the CPU"):
        devices.check_memory(state, checkpoint_buffer=True)


def test_joining_says_where_it_waits_and_a_failure_is_one_line(monkeypatch, capsys):
    from jaxcrl import devices

    def no_coordinator(**kwargs):
        raise ValueError("coordinator_address should be defined.")

    monkeypatch.setattr(jax.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(jax.distributed, "initialize", no_coordinator)
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "head:1234")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    with pytest.raises(ConfigError) as error:
        devices.join_processes(dataclasses.replace(TINY, distributed=True))
    assert str(error.value).startswith(
        "--distributed could not join the other processes (coordinator_address should be "
        "defined.); on a TPU pod or SLURM JAX finds them itself, elsewhere set "
        "JAX_COORDINATOR_ADDRESS"
    )
    # A --resume takes the option from config.yaml: "drop --distributed" named no flag it had.
    assert str(error.value).endswith(
        "or give --no-distributed (a --resume of a run started with it)"
    )
    assert "process 1 of 2: joining the run's coordinator at head:1234" in capsys.readouterr().err
    devices.join_processes(TINY)  # one process: nothing to join


def test_processes_given_different_options_are_refused_in_every_process(tmp_path):
    config = dataclasses.replace(TINY, run_dir=str(tmp_path / "run"), distributed=True)
    configs = [config, dataclasses.replace(config, seed=1)]
    processes, logs = start_two_processes(configs, tmp_path, "different")
    for process in processes:
        process.wait(timeout=300)
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode != 0
        assert "process 1 of 2 was given other options than process 0" in log.read_text()
    assert not (tmp_path / "run").exists()


def test_a_signal_to_one_process_stops_every_process_at_one_checkpoint(tmp_path):
    # A preempted host gets SIGTERM alone; stopping alone left the other hosts waiting for ever.
    config = dataclasses.replace(
        TINY,
        total_env_steps=4 * 4 * 20,  # 18 iterations after the prefill's 2, 9 chunks of 1 s
        eval_every=2,
        num_evals=TrainConfig().num_evals,  # --eval-every alone sets the spacing
        run_dir=str(tmp_path / "run"),
        distributed=True,
        progress=False,
    )
    delay = {"JAXCRL_TEST_CHUNK_DELAY_S": "1"}
    processes, logs = start_two_processes([config, config], tmp_path, "signal", delay)
    deadline = time.time() + 300
    while "env_steps=" not in logs[1].read_text():  # training, past compiling
        assert time.time() < deadline and processes[1].poll() is None, logs[1].read_text()
        time.sleep(0.2)
    processes[1].send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=300)
    stops = []
    for process, log in zip(processes, logs, strict=True):
        text = log.read_text()
        assert process.returncode == 1 and "stopped: SIGTERM received" in text, text[-3000:]
        stops += re.findall(r"stopped at iteration (\d+) of", text)
    assert len(stops) == 2 and stops[0] == stops[1] and int(stops[0]) < loop_sizes(config)[0]
    saved = sorted(int(p.name) for p in Path(config.run_dir, "checkpoints").iterdir())
    assert saved[-1] == int(stops[0])
    # Both processes resume it as they started it (reading the checkpoint before joining the
    # processes once made every such resume fail).
    resume = [sys.executable, str(REPO / "train.py"), "--resume", config.run_dir, "--no-progress"]
    processes, logs = start_two_processes([config, config], tmp_path, "resumed", command=resume)
    for process in processes:
        process.wait(timeout=300)
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log.read_text()[-3000:]
    rows = Path(config.run_dir, "metrics.jsonl").read_text().splitlines()
    assert json.loads(rows[-1])["iteration"] == loop_sizes(config)[0]  # the run finished


def test_an_error_in_one_process_stops_every_process_at_once(tmp_path):
    # One host lacks a package (or a file) the others have: it refuses, and the others must not
    # wait for it at their next barrier (an hour) but stop too.
    fake_site = tmp_path / "site"
    (fake_site / "wandb").mkdir(parents=True)
    (fake_site / "wandb" / "__init__.py").write_text("")
    config = dataclasses.replace(
        TINY, run_dir=str(tmp_path / "run"), distributed=True, loggers=("wandb",)
    )
    with_package = {"PYTHONPATH": f"{fake_site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    processes, logs = start_two_processes(
        [config, config], tmp_path, "one_error", rank_envs=(with_package, {})
    )
    for process in processes:
        process.wait(timeout=240)
    texts = [log.read_text() for log in logs]
    assert all(process.returncode != 0 for process in processes)
    assert "--loggers wandb needs the wandb package" in texts[1]
    assert "process 1 of 2 stopped while checking the run" in texts[0], texts[0][-3000:]
    assert not (tmp_path / "run").exists()


def test_an_evaluation_that_needs_more_memory_than_a_device_has_is_refused_before_training(
    tmp_path, monkeypatch
):
    # --eval-episodes 10000000 passed the estimate (1.2 GiB; point maze steps hold 20 times
    # that), trained its first chunk and was killed for memory at the evaluation.
    from jaxcrl import devices

    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 150 * 2**20)
    config = dataclasses.replace(TINY, eval_episodes=100_000, run_dir=str(tmp_path / "run"))
    with pytest.raises(
        ConfigError,
        match=r"an evaluation of 100000 episodes per member needs 0.2 GiB of working memory "
        r".*fewer --eval-episodes \(nothing was trained\)",
    ):
        train(config)
    assert not list((tmp_path / "run" / "checkpoints").iterdir())
    # eval.py's --episodes likewise, before its episodes run.
    monkeypatch.undo()
    run_dir = tmp_path / "small"
    train(dataclasses.replace(TINY, run_dir=str(run_dir)))
    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 150 * 2**20)
    with pytest.raises(ConfigError, match=r"of 100000 episodes .*; give fewer --episodes$"):
        evaluate_run(run_dir, episodes=100_000)


def test_a_training_step_that_needs_more_memory_than_a_device_has_is_refused(monkeypatch):
    # A 256-pixel batch passed the state's check, compiled, then died in its first chunk with a
    # RESOURCE_EXHAUSTED traceback (40 GB for the convolutions' activations).
    from types import SimpleNamespace

    from jaxcrl import devices

    def compiled(temp: float, arguments: float):
        analysis = SimpleNamespace(temp_size_in_bytes=temp, argument_size_in_bytes=arguments)
        return SimpleNamespace(memory_analysis=lambda: analysis)

    monkeypatch.setattr(devices, "device_memory_bytes", lambda: 24 * 2**30)
    with pytest.raises(ConfigError, match=r"a training iteration needs 37.6 GiB .*--batch-size"):
        devices.check_step_memory(compiled(40.4e9, 0.4e9))
    with pytest.raises(ConfigError, match="resume it on a device with more memory"):
        devices.check_step_memory(compiled(40.4e9, 0.4e9), resuming=True)
    devices.check_step_memory(compiled(2e9, 0.4e9))
    monkeypatch.undo()
    small = jax.jit(lambda x: x @ x.T).lower(np.ones((64, 64), np.float32)).compile()
    devices.check_step_memory(small)  # a real executable's analysis, well within memory
