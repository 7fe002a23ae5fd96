"""Session settings: one persistent XLA compilation cache for every test and the processes they
start (train.py, eval.py, multi-process runs), so a program that several tests build compiles once
per session. The cache lives in a temporary folder removed when the session ends."""

import os
import shutil
import tempfile

import jax

_CACHE_DIR = tempfile.mkdtemp(prefix="jaxcrl-tests-xla-cache-")
# Programs that compile in under half a second are not worth a disk round trip.
_CACHE_SETTINGS = {
    "jax_compilation_cache_dir": _CACHE_DIR,
    "jax_persistent_cache_min_compile_time_secs": 0.5,
    "jax_persistent_cache_min_entry_size_bytes": 0,
}
for _name, _value in _CACHE_SETTINGS.items():
    os.environ.setdefault(_name.upper(), str(_value))  # inherited by child processes
    jax.config.update(_name, type(_value)(os.environ[_name.upper()]))


def pytest_sessionfinish(session, exitstatus):
    """Remove this session's compilation cache."""
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
