"""Small statistics shared by the experiment pipelines."""

from __future__ import annotations

import numpy as np

__all__ = ["spearman", "standard_error", "spread", "seed_spread"]


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


def spread(values) -> dict:
    """``values``, their ``mean`` and sample standard deviation ``sd`` (NaN for one value)."""
    a = np.asarray(values, float)
    return {"values": a.tolist(), "mean": float(a.mean()),
            "sd": float(a.std(ddof=1)) if a.size > 1 else float("nan")}


def seed_spread(values_by_name: dict, reference: float, test_se: dict | None = None) -> dict:
    """Per name: a metric over training seeds of models trained on the same data (``values``,
    ``mean``, ``sd``), and the mean's difference from ``reference`` (the one model they are
    compared with: the generator that made their data) with the standard error
    sqrt(sd^2 / n + test_se^2): the training noise of the mean, which a test-set error alone
    misses, plus the test-set noise of the paired difference (``test_se[name]``, 0 if absent).
    """
    out = {}
    for name, values in values_by_name.items():
        entry = spread(values)
        paired = float((test_se or {}).get(name, 0.0))
        entry["mean_minus_reference"] = entry["mean"] - float(reference)
        entry["se"] = float(np.sqrt(entry["sd"] ** 2 / len(values) + paired ** 2))
        out[name] = entry
    return out
