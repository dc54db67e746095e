"""Small statistics shared by the experiment pipelines."""

from __future__ import annotations

import numpy as np

__all__ = ["spearman", "standard_error", "seed_spread"]


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


def seed_spread(values_by_name: dict, reference: str = "generator") -> dict:
    """Per name: the metric over training seeds, its mean and standard deviation; for every
    name but ``reference`` also the difference of means from it, with the Welch standard error
    sqrt(s_a^2 / n_a + s_r^2 / n_r). The seed-to-seed spread holds both training and test noise,
    so this error judges a difference that a paired test-set error alone understates."""
    ref = np.asarray(values_by_name[reference], float)
    out = {}
    for name, values in values_by_name.items():
        a = np.asarray(values, float)
        entry = {"values": a.tolist(), "mean": float(a.mean()),
                 "sd": float(a.std(ddof=1)) if a.size > 1 else float("nan")}
        if name != reference:
            entry["mean_minus_" + reference] = float(a.mean() - ref.mean())
            entry["se"] = (float(np.sqrt(a.var(ddof=1) / a.size + ref.var(ddof=1) / ref.size))
                           if min(a.size, ref.size) > 1 else float("nan"))
        out[name] = entry
    return out
