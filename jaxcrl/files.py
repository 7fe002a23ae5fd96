"""Rewriting a run's files so that a crash at any moment leaves the old or the new file whole."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """A staging path beside ``path`` to write; when the block ends, it replaces ``path``.

    ``os.replace`` is atomic, so readers (and a crash) see either the whole old file or the whole
    new one. If the block raises, ``path`` is left untouched and the staging file removed.
    """
    staging = path.with_name(path.name + ".tmp")
    try:
        yield staging
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)  # a full disk must not leave a half-written stray
        raise


@contextlib.contextmanager
def replace_atomically(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """Open a staging file beside ``path`` for writing; when the block ends, it replaces
    ``path`` (``staged_file``)."""
    with staged_file(path) as staging, staging.open("w", newline=newline) as stream:
        yield stream
        write_through(stream)  # else a power cut after the rename can leave it empty


def place_atomically(path: Path, data: bytes | None = None, source: Path | None = None) -> None:
    """Write ``data`` (or a copy of the file ``source``) to ``path`` through a staging file
    (``staged_file``): a full disk raises a plain OSError and leaves an old ``path`` as it was."""
    with staged_file(path) as staging:
        if source is not None:
            shutil.copyfile(source, staging)
        else:
            staging.write_bytes(data)
        sync_file(staging)


# What fsync raises on file systems that cannot do it (some FUSE and network mounts).
CANNOT_SYNC = (errno.EINVAL, errno.ENOTSUP, errno.ENOSYS)


def write_through(stream: TextIO) -> None:
    """Flush ``stream`` and have the OS put it on disk (a power cut then keeps what it holds),
    where its file system can."""
    stream.flush()
    try:
        os.fsync(stream.fileno())
    except OSError as error:
        if error.errno not in CANNOT_SYNC:
            raise


def sync_file(path: Path) -> None:
    """Have the OS put what was written to ``path`` on disk (``write_through``), if it exists."""
    if path.exists():
        with path.open("a") as stream:
            write_through(stream)


def check_folder_writable(path: Path, what: str) -> None:
    """ValueError (one line, naming ``what`` ``path``) unless the file ``path`` can be written:
    the nearest folder of it that exists must be a folder that may be written in (the rest is
    made when the file is written)."""
    existing = next(parent for parent in path.absolute().parents if parent.exists())
    if not existing.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {existing} is a file, not a directory")
    try:  # a real write: permission bits say yes to root even on /proc or a read-only mount
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(f"{what} {str(path)!r}: cannot write in {existing} ({reason})") from None
