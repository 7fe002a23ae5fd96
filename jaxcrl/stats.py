"""Statistics over seeds: interquartile mean and percentile-bootstrap intervals (pure NumPy).

Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice", recommend reporting the
interquartile mean with bootstrap confidence intervals when only a few seeds are run; these are
the figures printed and plotted for multi-seed runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _as_sample(values: Any) -> np.ndarray:
    """``values`` as a non-empty 1-D float array of finite numbers."""
    sample = np.asarray(values, dtype=np.float64).reshape(-1)
    if sample.size == 0:
        raise ValueError("need at least one value")
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"values must be finite, got {sample.tolist()}")
    return sample


def iqm(values: Any, axis: int | None = None) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle half of the sorted values (25% trimmed mean)."""
    values = np.asarray(values, dtype=np.float64)
    if axis is None:
        values, axis = values.reshape(-1), 0
    values = np.sort(values, axis=axis)
    count = values.shape[axis]
    if count == 0:
        raise ValueError("need at least one value")
    # Drop floor(n/4) values from each end, as scipy.stats.trim_mean(x, 0.25) and rliable do.
    cut = int(0.25 * count)
    middle = np.take(values, np.arange(cut, count - cut), axis=axis)
    result = middle.mean(axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def bootstrap_interval(
    values: Any,
    statistic: Callable[..., Any] = np.mean,
    confidence: float = 0.95,
    num_samples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``statistic`` (called with ``axis=-1``) over ``values``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    sample = _as_sample(values)
    rng = np.random.default_rng(seed)
    # [num_samples, n]: each row is one resample with replacement.
    resamples = sample[rng.integers(0, sample.size, size=(num_samples, sample.size))]
    estimates = np.asarray(statistic(resamples, axis=-1))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return float(low), float(high)


def summarize(values: Any, confidence: float = 0.95) -> dict[str, float | int]:
    """Mean, IQM, bootstrap interval of the mean (``low``, ``high``) and count of ``values``."""
    sample = _as_sample(values)
    low, high = bootstrap_interval(sample, np.mean, confidence)
    return {
        "mean": float(sample.mean()),
        "iqm": iqm(sample),
        "low": low,
        "high": high,
        "count": int(sample.size),
        "confidence": confidence,
    }


def format_summary(summary: dict[str, float | int]) -> str:
    """One line such as ``mean 0.610 | IQM 0.633 | 95% CI [0.52, 0.70] | n=5`` (``0.610 | n=1``
    for one value, which has no spread)."""
    if summary["count"] == 1:
        return f"{summary['mean']:.3f} | n=1"
    return (
        f"mean {summary['mean']:.3f} | IQM {summary['iqm']:.3f} | "
        f"{100 * summary.get('confidence', 0.95):.0f}% CI [{summary['low']:.3f}, "
        f"{summary['high']:.3f}] | n={summary['count']}"
    )
