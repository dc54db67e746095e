"""The pipelines' small statistics against scipy and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments._stats import seed_spread, spearman, spread, standard_error


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


def test_seed_spread_by_hand():
    """Seeds of one selection against the one generator that made its data: the mean's
    training noise (scipy's SEM over seeds) and the paired test-set error, in quadrature."""
    ver = [0.47, 0.50, 0.46, 0.49]
    out = seed_spread({"oracle": ver, "none": [0.40]}, 0.43, {"oracle": 0.005})
    assert out["oracle"]["mean"] == pytest.approx(np.mean(ver))
    assert out["oracle"]["sd"] == pytest.approx(stats.tstd(ver))
    assert out["oracle"]["mean_minus_reference"] == pytest.approx(np.mean(ver) - 0.43)
    assert out["oracle"]["se"] == pytest.approx(np.hypot(stats.sem(ver), 0.005))
    # one seed: no spread to measure, so no error either
    assert np.isnan(out["none"]["sd"]) and np.isnan(out["none"]["se"])
    assert spread([0.4, 0.6]) == {"values": [0.4, 0.6], "mean": pytest.approx(0.5),
                                  "sd": pytest.approx(np.sqrt(0.02))}
