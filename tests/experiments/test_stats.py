"""The pipelines' small statistics against scipy and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments._stats import spearman, standard_error


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
