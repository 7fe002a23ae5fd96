"""Run a render script in a fresh interpreter under MUJOCO_GL=egl and read the JSON it prints.

MuJoCo fixes its OpenGL back end when first imported, which other test modules may already have
done without MUJOCO_GL; so MuJoCo renders run in their own process. Scripts may call
``red_pixels(image)``: the number of strongly red pixels, i.e. of the goal marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

RED_PIXELS = """
import json

def red_pixels(image):
    return int(((image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)).sum())
"""


def render_report(script: str) -> Any:
    """Run ``script`` (with ``red_pixels`` and ``json`` defined) and parse its last line."""
    result = subprocess.run(
        [sys.executable, "-c", RED_PIXELS + script],
        env={**os.environ, "MUJOCO_GL": "egl"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
