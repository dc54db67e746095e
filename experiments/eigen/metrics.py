"""How predicted eigenvalues are scored (LAWT's conventions).

Relative L1 error ``sum |pred - true| / sum |true|`` per matrix; a prediction is correct at
tolerance ``tol`` iff its error is below it. "No answer" (a malformed output, None) has error
inf and is never correct. Accuracies are reported at 5 %, 2 %, 1 % and 0.5 %.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOLERANCES", "relative_errors", "accuracies"]

TOLERANCES = (0.05, 0.02, 0.01, 0.005)


def relative_errors(predictions, truth) -> np.ndarray:
    """predictions: sequence of (d,) arrays or None; truth (N, d). Returns (N,) errors."""
    truth = np.asarray(truth, float)
    if truth.ndim != 2 or len(predictions) != truth.shape[0]:
        raise ValueError(f"need one prediction per row of truth {truth.shape}; got "
                         f"{len(predictions)}")
    out = np.full(truth.shape[0], np.inf)
    for i, pred in enumerate(predictions):
        if pred is None:
            continue
        pred = np.asarray(pred, float)
        if pred.shape != truth[i].shape or not np.all(np.isfinite(pred)):
            continue
        denom = np.sum(np.abs(truth[i]))
        out[i] = np.sum(np.abs(pred - truth[i])) / denom if denom > 0 else (
            0.0 if np.all(pred == 0) else np.inf)
    return out


def accuracies(errors, tolerances=TOLERANCES) -> dict:
    """{"acc@5%": fraction of errors < 0.05, ...} and the mean finite error."""
    errors = np.asarray(errors, float)
    out = {f"acc@{100 * t:g}%": float(np.mean(errors < t)) for t in tolerances}
    out["no_answer"] = float(np.mean(~np.isfinite(errors)))
    finite = errors[np.isfinite(errors)]
    out["mean_rel_error"] = float(finite.mean()) if finite.size else float("nan")
    return out
