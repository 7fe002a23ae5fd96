"""Interquartile mean, bootstrap intervals and the seed summary."""

import numpy as np
import pytest

from jaxcrl.stats import bootstrap_interval, format_summary, iqm, summarize


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm([100.0, 0.0, 1.0, 2.0]) == pytest.approx(1.5)  # outliers 0 and 100 dropped
    assert iqm([0, 0, 1, 1, 1, 1, 1, 1000]) == pytest.approx(1.0)


def test_iqm_trims_floor_of_a_quarter_from_each_end():
    # n=5 drops one value from each end, n=3 drops none (as scipy.stats.trim_mean(x, 0.25)).
    assert iqm([10, 1, 2, 3, -10]) == pytest.approx(2.0)
    assert iqm([1, 2, 6]) == pytest.approx(3.0)
    assert iqm([0.7]) == pytest.approx(0.7)


def test_iqm_along_an_axis():
    values = np.array([[1, 2, 3, 4], [0, 0, 0, 8]], dtype=float)
    np.testing.assert_allclose(iqm(values, axis=1), [2.5, 0.0])
    with pytest.raises(ValueError):
        iqm([])


def test_bootstrap_interval_of_identical_values_is_a_point():
    assert bootstrap_interval([0.4] * 6) == pytest.approx((0.4, 0.4))


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    low, high = bootstrap_interval(values, seed=3)
    assert 0.0 <= low < np.mean(values) < high <= 1.0
    assert bootstrap_interval(values, seed=3) == (low, high)
    narrow = bootstrap_interval(values, confidence=0.5, seed=3)
    assert low <= narrow[0] < narrow[1] <= high


def test_bootstrap_interval_of_the_mean_matches_the_normal_approximation():
    # For 400 draws of N(0, 1) the 95% interval of the mean is about +-1.96 / sqrt(400) = 0.098.
    values = np.random.default_rng(0).normal(size=400)
    low, high = bootstrap_interval(values, num_samples=4000)
    assert (high - low) / 2 == pytest.approx(1.96 / 20, rel=0.1)
    assert low < values.mean() < high


def test_bootstrap_interval_takes_other_statistics():
    values = [0.0, 1.0, 2.0, 3.0, 100.0, 101.0, 102.0, 103.0]
    low, high = bootstrap_interval(values, statistic=np.median)
    assert 0.0 <= low <= high <= 103.0
    low_iqm, high_iqm = bootstrap_interval(values, statistic=iqm)
    assert 0.0 <= low_iqm <= iqm(values) <= high_iqm <= 103.0


def test_bootstrap_interval_rejects_bad_input():
    with pytest.raises(ValueError):
        bootstrap_interval([])
    with pytest.raises(ValueError):
        bootstrap_interval([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_interval([1.0, 2.0], confidence=1.0)


def test_summarize_success_rates_across_seeds():
    summary = summarize([0.2, 0.6, 0.6, 0.8, 1.0])
    assert summary["count"] == 5
    assert summary["mean"] == pytest.approx(0.64)
    assert summary["iqm"] == pytest.approx((0.6 + 0.6 + 0.8) / 3)
    assert 0.2 <= summary["low"] < 0.64 < summary["high"] <= 1.0
    line = format_summary(summary)
    assert line.startswith("mean 0.640 | IQM 0.667 | 95% CI [") and line.endswith("n=5")
    assert format_summary(summarize([0.25])) == "0.250 | n=1"  # one value: no spread to give
