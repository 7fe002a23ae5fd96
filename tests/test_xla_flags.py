"""jaxcrl's default XLA flags (jaxcrl/xla_flags.py) are added once and never override a user's."""

from __future__ import annotations

import os

from jaxcrl.xla_flags import DEFAULT_FLAGS, with_default_flags

SCHEDULER = "xla_cpu_enable_concurrency_optimized_scheduler"


def test_defaults_are_added_to_empty_flags():
    assert with_default_flags("") == f"--{SCHEDULER}=false"
    assert set(DEFAULT_FLAGS) == {SCHEDULER}


def test_user_flags_are_kept_and_their_values_win():
    flags = with_default_flags(" --xla_force_host_platform_device_count=4 ")
    assert flags == f"--xla_force_host_platform_device_count=4 --{SCHEDULER}=false"
    assert with_default_flags(f"--{SCHEDULER}=true") == f"--{SCHEDULER}=true"
    assert with_default_flags(with_default_flags("")) == with_default_flags("")


def test_importing_jaxcrl_sets_the_flags():
    import jaxcrl  # noqa: F401  (the tests import it anyway; the flags stay set)

    assert f"--{SCHEDULER}=" in os.environ["XLA_FLAGS"]
