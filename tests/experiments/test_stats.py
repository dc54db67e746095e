"""The pipelines' small statistics against scipy and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments._stats import seed_spread, spearman, standard_error


def test_spearman_matches_scipy_and_refuses_degenerate_input():
    rng = np.random.default_rng(1)
    x, y = rng.random(9), rng.random(9)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)
    assert np.isnan(spearman([1, 2], [2, 1]))
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_paired_standard_error_of_a_difference():
    """Two models right on the same items except three: the paired error counts only those."""
    a = np.zeros(100)
    b = a.copy()
    b[:3] = 1.0
    d = b - a
    assert standard_error(d) == pytest.approx(np.sqrt(0.03 * 0.97 * 100 / 99 / 100))
    assert standard_error(d) == pytest.approx(stats.sem(d))


def test_seed_spread_against_scipy_welch():
    gen, ver = [0.40, 0.43, 0.42], [0.47, 0.50, 0.46, 0.49]
    out = seed_spread({"generator": gen, "oracle": ver})
    assert out["generator"]["mean"] == pytest.approx(np.mean(gen))
    assert out["oracle"]["sd"] == pytest.approx(stats.tstd(ver))
    assert out["oracle"]["mean_minus_generator"] == pytest.approx(np.mean(ver) - np.mean(gen))
    # Welch's t statistic is the difference over this standard error
    welch = stats.ttest_ind(ver, gen, equal_var=False).statistic
    assert out["oracle"]["mean_minus_generator"] / out["oracle"]["se"] == pytest.approx(welch)
    assert "se" not in out["generator"]
    assert np.isnan(seed_spread({"generator": [0.4], "x": [0.5]})["x"]["se"])
