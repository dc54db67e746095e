"""Estimating p* from an audit set (docs/theory.md, section 'Estimating p* from an audit set').

Each audited synthesized sample has a ground-truth correctness ``c`` and a keep decision ``s``:

    phi_hat = sum(s c) / sum(c),  psi_hat = sum(s (1 - c)) / sum(1 - c),
    p*_hat = phi_hat / (phi_hat + psi_hat),  p_hat = 1 - mean(c).

Uncertainty: the three rates have independent Jeffreys posteriors Beta(k + 1/2, n - k + 1/2)
(the likelihood factorises over correctness, keep-given-correct and keep-given-wrong). The
posterior of p* = phi / (phi + psi) has the CDF G(x) = P(phi (1 - x) <= x psi), a one-dimensional
integral computed by double-exponential quadrature in the quantiles of the narrower posterior;
the interval is its equal-tailed credible interval and ``prob_p_below_pstar`` = P(p < p*) =
E_p[1 - G(p)]. Deterministic: no sampling. ``method="wilson"`` instead carries Wilson score
intervals for phi and psi (each at level 1 - alpha/2) to p* through its monotonicity: conservative.

For best-of-k selection, pass one entry per candidate (arrays of any shape are flattened).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = ["estimate_pstar", "PstarEstimate"]

# Double-exponential (tanh-sinh) nodes on (0, 1): exact to ~1e-12 for the smooth bounded
# integrands here, including the endpoint behaviour of Beta quantiles.
_DE_STEP = 1.0 / 24
_DE_T = np.arange(-3.5, 3.5 + _DE_STEP / 2, _DE_STEP)
_DE_ARG = 0.5 * np.pi * np.sinh(_DE_T)
_DE_U = special.expit(2 * _DE_ARG)  # (1 + tanh(arg)) / 2 without cancellation
_DE_W = _DE_STEP * 0.25 * np.pi * np.cosh(_DE_T) / np.cosh(_DE_ARG) ** 2
_DE_W = _DE_W / _DE_W.sum()


class PstarEstimate(NamedTuple):
    """Point estimates, credible intervals and counts from one audit set."""

    p: float
    phi: float
    psi: float
    pstar: float
    pstar_interval: tuple[float, float]
    prob_p_below_pstar: float
    p_interval: tuple[float, float]
    phi_interval: tuple[float, float]
    psi_interval: tuple[float, float]
    n: int
    n_correct: int
    n_kept_correct: int
    n_wrong: int
    n_kept_wrong: int
    level: float
    method: str

    @property
    def interval(self) -> tuple[float, float]:
        """The credible interval for p* (same as ``pstar_interval``)."""
        return self.pstar_interval

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self._asdict().items()}


def _binary(name, x):
    arr = np.asarray(x)
    if arr.dtype == bool:
        return arr.ravel()
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be boolean (or 0/1); got dtype {arr.dtype}")
    flat = arr.ravel().astype(float)
    if np.any(np.isnan(flat)):
        raise ValueError(f"{name} contains NaN")
    if np.any((flat != 0) & (flat != 1)):
        bad = flat[(flat != 0) & (flat != 1)][0]
        raise ValueError(f"{name} must be boolean (or 0/1); got {bad}")
    return flat.astype(bool)


class _Beta:
    """Jeffreys posterior of a rate after k successes in n trials."""

    def __init__(self, k, n):
        self.a, self.b = k + 0.5, n - k + 0.5

    @property
    def sd(self):
        a, b = self.a, self.b
        return np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))

    def cdf(self, x):
        return special.betainc(self.a, self.b, np.clip(x, 0.0, 1.0))

    def quantile(self, u):
        return special.betaincinv(self.a, self.b, u)

    def interval(self, level):
        tail = 0.5 * (1 - level)
        return float(self.quantile(tail)), float(self.quantile(1 - tail))


class _PstarPosterior:
    """Posterior CDF and quantiles of p* = phi / (phi + psi) for independent Beta posteriors.

    G(x) = P(phi (1 - x) <= x psi) is an expectation over the narrower posterior (the outer
    variable, at fixed quantile nodes) of the wider one's CDF, which is smooth there.
    """

    def __init__(self, phi: _Beta, psi: _Beta):
        self.phi, self.psi = phi, psi
        self.outer_is_phi = phi.sd <= psi.sd
        self.nodes = (phi if self.outer_is_phi else psi).quantile(_DE_U)

    def cdf(self, x):
        """G(x), vectorised over x."""
        x = np.asarray(x, float)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.outer_is_phi:  # G = E_phi[P(psi >= phi (1 - x) / x)]
                inner = 1.0 - self.psi.cdf(np.where(x > 0, self.nodes * (1 - x) / x, np.inf))
            else:  # G = E_psi[P(phi <= psi x / (1 - x))]
                inner = self.phi.cdf(np.where(x < 1, self.nodes * x / (1 - x), np.inf))
        g = np.sum(_DE_W * inner, axis=-1)
        x = x[..., 0]
        return np.clip(np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, g)), 0.0, 1.0)

    def quantile(self, u):
        lo, hi = np.zeros_like(u), np.ones_like(u)
        for _ in range(50):  # bisection to 1e-15: G is monotone, no smoothness needed
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)


def _wilson(k, n, level):
    if n == 0:
        return 0.0, 1.0
    z = special.ndtri(0.5 + 0.5 * level)  # scipy.stats would add 0.3 s to every import
    frac = k / n
    centre = (frac + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(frac * (1 - frac) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(num, den):
    return num / den if den > 0 else float("nan")


def estimate_pstar(correct, kept, level=0.95, method="beta") -> PstarEstimate:
    """Estimate p, phi, psi and p* of a verifier from an audit set, with uncertainty.

    Args:
      correct: booleans (any shape), whether each synthesized sample is right.
      kept: booleans of the same shape, whether the verifier keeps it.
      level: credible level of the intervals, in (0, 1).
      method: "beta" (Jeffreys posteriors, default) or "wilson" (conservative).
    Returns a ``PstarEstimate``; rates with no sample to estimate them are NaN (their intervals
    still come from the prior).
    """
    c = _binary("correct", correct)
    s = _binary("kept", kept)
    if c.size == 0:
        raise ValueError("correct is empty: the audit set has no samples")
    if np.shape(correct) != np.shape(kept):
        raise ValueError(
            f"correct and kept must have the same shape; got {np.shape(correct)} and {np.shape(kept)}"
        )
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    if method not in ("beta", "wilson"):
        raise ValueError(f"method must be 'beta' or 'wilson'; got {method!r}")

    n = c.size
    n_correct = int(c.sum())
    n_wrong = n - n_correct
    k_phi = int((s & c).sum())
    k_psi = int((s & ~c).sum())
    phi_hat = _ratio(k_phi, n_correct)
    psi_hat = _ratio(k_psi, n_wrong)
    pstar_hat = _ratio(phi_hat, phi_hat + psi_hat) if n_correct and n_wrong else float("nan")

    post_p, post_phi, post_psi = _Beta(n_wrong, n), _Beta(k_phi, n_correct), _Beta(k_psi, n_wrong)
    post_pstar = _PstarPosterior(post_phi, post_psi)
    prob_below = float(np.sum(_DE_W * (1.0 - post_pstar.cdf(post_p.quantile(_DE_U)))))

    if method == "beta":
        tail = 0.5 * (1 - level)
        lo, hi = post_pstar.quantile(np.array([tail, 1 - tail]))
        intervals = [post_p.interval(level), post_phi.interval(level), post_psi.interval(level)]
    else:
        inner = 1 - 0.5 * (1 - level)
        intervals = [_wilson(n_wrong, n, level), _wilson(k_phi, n_correct, inner),
                     _wilson(k_psi, n_wrong, inner)]
        (phi_lo, phi_hi), (psi_lo, psi_hi) = intervals[1], intervals[2]
        lo = phi_lo / (phi_lo + psi_hi) if phi_lo + psi_hi > 0 else 0.0
        hi = phi_hi / (phi_hi + psi_lo) if phi_hi + psi_lo > 0 else 1.0

    return PstarEstimate(
        p=n_wrong / n,
        phi=phi_hat,
        psi=psi_hat,
        pstar=pstar_hat,
        pstar_interval=(float(lo), float(hi)),
        prob_p_below_pstar=min(1.0, max(0.0, prob_below)),
        p_interval=intervals[0],
        phi_interval=intervals[1],
        psi_interval=intervals[2],
        n=n,
        n_correct=n_correct,
        n_kept_correct=k_phi,
        n_wrong=n_wrong,
        n_kept_wrong=k_psi,
        level=float(level),
        method=method,
    )
