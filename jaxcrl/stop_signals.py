"""SIGTERM and SIGINT during a run: the process ends at once while it sets up, and the training
loop collects them to stop at a checkpoint."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any

# What a Ctrl-C during setup says after "stopped while setting up": what it leaves behind, as
# the run knows it (a run directory taken, a resume's checkpoint); set by ``say_on_setup_stop``.
_SETUP_STOP_NOTE = ["nothing was trained"]
# Whether a Ctrl-C now ends the process (setup): the training loop disarms it as it takes over,
# before its own handler is set, so that no signal meant for the loop is taken for setup's.
_SETUP_ARMED = [False]


def say_on_setup_stop(note: str) -> None:
    """Have a Ctrl-C from now until the training loop takes over say ``note`` (where the run
    stands and how to start it again) as it ends the process."""
    _SETUP_STOP_NOTE[0] = note


@contextlib.contextmanager
def interrupt_ends_setup():
    """Let SIGINT end the process at once (as SIGTERM does) until the training loop takes over,
    with one line on where the run stands (``say_on_setup_stop``).

    For command lines only (in a notebook it would end the kernel). Python turns Ctrl-C into an
    exception only once XLA's compiler returns, and an interpreter shut down that way can crash:
    a thread woken by the signal itself (``signal.set_wakeup_fd``) prints the line and ends the
    process by the signal, as a shell expects of a program Ctrl-C stops. Nothing is lost: before
    its first chunk a run has saved nothing, and a resume's checkpoint stays as it was.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    setup_handler = lambda number, frame: None  # noqa: E731 (the watcher ends the process)
    previous = signal.signal(signal.SIGINT, setup_handler)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watched = (read_end, setup_handler)
    watcher = threading.Thread(target=_end_on_interrupt, args=watched, daemon=True)
    _SETUP_ARMED[0] = True
    watcher.start()
    try:
        yield
    finally:
        _SETUP_ARMED[0] = False
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        os.close(write_end)  # the watcher reads the end of the pipe and returns
        watcher.join()
        os.close(read_end)
        _SETUP_STOP_NOTE[0] = "nothing was trained"


def _end_on_interrupt(read_end: int, setup_handler: Any) -> None:
    """Wait for SIGINT's byte on the wakeup pipe while setup is armed and ``setup_handler`` is
    SIGINT's (not once the training loop, which stops at a checkpoint, has taken over); then say
    where the run stands and end the process by SIGINT (its default action, set in C: Python
    sets handlers in its main thread)."""
    while True:
        received = os.read(read_end, 64)
        if not received:  # setup is over: the pipe was closed
            return
        armed = _SETUP_ARMED[0] and signal.getsignal(signal.SIGINT) is setup_handler
        if signal.SIGINT in received and armed:
            break
    print(f"stopped while setting up: {_SETUP_STOP_NOTE[0]}", file=sys.stderr, flush=True)
    try:
        ctypes.CDLL(None).signal(signal.SIGINT, 0)  # SIG_DFL
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the signal ends the process
    finally:
        os._exit(128 + signal.SIGINT)


# The same signal again within this many seconds is one request seen twice: GNU timeout sends its
# signal to the process and then to its process group, which the process leads. No one presses
# Ctrl-C twice this fast.
REPEAT_WINDOW_S = 0.1


class StoppedAtOnce(Exception):
    """A second SIGTERM/SIGINT while a run was stopping: it ends where it is, saving nothing."""

    def __init__(self, signal_number: int):
        super().__init__(f"{signal.Signals(signal_number).name} received twice")
        self.signal_number = signal_number


class StopRequests(list):
    """The stop signals received so far, and when the running chunk should end (a
    ``time.monotonic()`` time, None while unknown), which the first signal's message tells."""

    chunk_ends_at: float | None = None


def wait_words(chunk_ends_at: float | None) -> str:
    """How long the stop will take, as the first signal's message says it (None: the first
    chunk runs, not timed yet; "" when it ends within a second)."""
    if chunk_ends_at is None:
        return " (the first, whose length is not known yet; --checkpoint-every N shortens chunks)"
    left = chunk_ends_at - time.monotonic()
    if left < 1:
        return ""
    return (
        f" (in about {left:.0f} s, judging by the last one; --checkpoint-every N shortens chunks)"
    )


@contextlib.contextmanager
def stop_requests():
    """Collect SIGTERM/SIGINT into a StopRequests list instead of dying, while training runs:
    the run stops at its next checkpoint. A second signal raises StoppedAtOnce wherever the run
    is (an evaluation of OGBench's envs on the host can take minutes)."""
    received = StopRequests()
    _SETUP_ARMED[0] = False  # from here on, a Ctrl-C asks this loop to stop
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set from the main thread
        return

    last_at = [0.0]

    def handler(number: int, _frame) -> None:
        now = time.monotonic()
        if received and received[-1] == number and now - last_at[0] < REPEAT_WINDOW_S:
            return  # one stop request delivered twice (GNU timeout signals child and group)
        last_at[0] = now
        received.append(number)
        if len(received) > 1:
            raise StoppedAtOnce(number)
        name = signal.Signals(number).name
        wait = wait_words(received.chunk_ends_at)
        message = (
            f"\n{name} received: stopping at the end of this chunk{wait} and its evaluation, if "
            "it has one, at a checkpoint; "
            "send it again to stop at once, saving nothing more\n"
        )
        with contextlib.suppress(OSError):  # print() is not safe in a signal handler
            os.write(2, message.encode())

    previous = {
        number: signal.signal(number, handler) for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
