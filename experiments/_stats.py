"""Small statistics shared by the experiment pipelines."""

from __future__ import annotations

import numpy as np

__all__ = ["spearman", "standard_error"]


def spearman(x, y) -> float:
    """Spearman's rho; NaN with fewer than three points or a constant input."""
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def standard_error(values) -> float:
    """Standard error of the mean of ``values`` (NaN for fewer than two). Applied to per-item
    differences of two models scored on the same test items, it is the paired standard error
    of the difference of their means."""
    values = np.asarray(values, float)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
