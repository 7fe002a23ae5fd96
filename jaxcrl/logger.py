"""Host-side reporting: ``metrics.jsonl`` rows and the progress bar."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm


def to_python(value: Any) -> Any:
    """A JSON-ready scalar from a JAX/NumPy scalar (non-finite floats become null)."""
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "dtype"):
        value = np.asarray(value).item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, row: dict[str, Any]) -> None:
        """Append ``row``; values are converted to plain Python scalars."""
        with self.path.open("a") as stream:
            stream.write(json.dumps({k: to_python(v) for k, v in row.items()}) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class Progress:
    """A progress bar over env steps showing SPS, ETA and the last success rate."""

    def __init__(self, total_env_steps: int, enabled: bool):
        self.enabled = enabled
        self.bar = tqdm(
            total=total_env_steps,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            disable=not enabled,
            file=sys.stderr,
            desc="train",
        )

    def update(self, env_steps: int, row: dict[str, Any]) -> None:
        """Move the bar to ``env_steps`` and show the newest figures (a line when disabled)."""
        success, sps = row.get("eval/success"), row.get("sps", 0.0)
        if self.enabled:
            self.bar.update(env_steps - self.bar.n)
            self.bar.set_postfix(sps=f"{sps:,.0f}", success=f"{success:.2f}", refresh=True)
        else:
            print(
                f"env_steps={env_steps} sps={sps:.0f} success={success:.3f} "
                f"time_near_goal={row.get('eval/time_near_goal', float('nan')):.3f}",
                flush=True,
            )

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()
