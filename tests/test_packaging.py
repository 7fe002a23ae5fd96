"""The wheel: it holds the library, its env assets and presets under ``jaxcrl`` alone, and an env
and a preset load from it in any working directory."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What setuptools reads to build the wheel; nothing else of the repository goes in.
SOURCES = ("pyproject.toml", "README.md", "jaxcrl", "envs", "configs")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the repository is left untouched)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=ignore, symlinks=False)
        else:
            shutil.copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", build], cwd=source, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out / result.stdout.strip().splitlines()[-1]


def test_the_wheel_installs_nothing_but_jaxcrl_and_carries_assets_and_presets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"jaxcrl", "jaxcrl-0.1.0.dist-info"}
    assets = {path.name for path in (ROOT / "envs" / "assets").glob("*.xml")}
    presets = {path.name for path in (ROOT / "configs").glob("*.yaml")}
    modules = {path.name for path in (ROOT / "envs").glob("*.py")}
    assert len(assets) >= 5 and len(presets) >= 30
    assert {f"jaxcrl/envs/assets/{name}" for name in assets} <= set(names)
    assert {f"jaxcrl/configs/{name}" for name in presets} <= set(names)
    assert {f"jaxcrl/envs/{name}" for name in modules} <= set(names)


def test_an_mjx_env_and_a_preset_load_from_the_unpacked_wheel_anywhere(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)  # what pip install puts in site-packages
    script = (
        "import jaxcrl\n"
        "from jaxcrl.config_files import config_from_overrides, read_overrides\n"
        "from jaxcrl.envs import make_env\n"
        "print(jaxcrl.__file__)\n"
        "print(make_env('reacher').action_size)\n"
        "print(config_from_overrides(read_overrides('ant')).env)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    module_file, action_size, preset_env = result.stdout.strip().splitlines()[-3:]
    assert Path(module_file).is_relative_to(installed)  # the wheel's copy, not the repository
    assert action_size == "2" and preset_env == "ant"


def test_the_wheel_installs_every_command_line_program(wheel, tmp_path):
    # Without the repository's scripts, collecting a dataset had no command: python -m
    # jaxcrl.collect printed nothing and exited 0.
    info = zipfile.ZipFile(wheel).read("jaxcrl-0.1.0.dist-info/entry_points.txt").decode()
    for command in ("jaxcrl-train", "jaxcrl-eval", "jaxcrl-collect"):
        assert command in info
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    result = subprocess.run(
        [sys.executable, "-m", "jaxcrl.collect", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
    )
    assert result.returncode == 0 and "--segment-length" in result.stdout
