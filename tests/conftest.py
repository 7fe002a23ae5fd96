"""Settings of the whole test run, for every test and the processes they start (train.py,
eval.py, multi-process runs), which inherit them through the environment:

- one persistent XLA compilation cache, so a program that several tests build compiles once per
  test run (a temporary folder, removed when the run ends);
- less LLVM optimisation: tests run tiny programs, so compiling dominates. On the 2-core CPU,
  test_cli + test_members + test_resume took 106 s with these flags and 155 s without, the MJX
  env tests 117 s and 143 s; the learning tests reach the same success rates either way;
- several worker processes (pytest-xdist, `-n` in pyproject.toml) share the main process's cache
  and flags, and on a GPU no worker takes most of its memory up front.
"""

import os
import shutil
import tempfile

import jax

IS_WORKER = "PYTEST_XDIST_WORKER" in os.environ  # workers inherit what the main process set

FAST_COMPILE_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
if FAST_COMPILE_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_FLAGS}".strip()
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

if not IS_WORKER:
    os.environ["JAXCRL_TESTS_XLA_CACHE"] = tempfile.mkdtemp(prefix="jaxcrl-tests-xla-cache-")
_CACHE_DIR = os.environ["JAXCRL_TESTS_XLA_CACHE"]
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
    """Remove this test run's compilation cache, once: in the main process, after every worker."""
    if not IS_WORKER:
        shutil.rmtree(_CACHE_DIR, ignore_errors=True)
