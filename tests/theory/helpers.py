"""Independent reference computations for the theory tests: sampling and sample fits."""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from sklearn.linear_model import LogisticRegression

# Two-sided z for a per-check false-alarm rate of 1e-4.
Z = stats.norm.isf(0.5e-4)


def mixture(rng, n, mu, sigma=None):
    """(x, y): y uniform on {-1, +1}, x | y ~ N(y mu, sigma)."""
    d = len(mu)
    y = rng.choice([-1.0, 1.0], size=n)
    z = rng.standard_normal((n, d))
    if sigma is not None:
        z = z @ np.linalg.cholesky(sigma).T
    return y[:, None] * mu + z, y


def flip_labels(rng, y, p):
    wrong = rng.random(len(y)) < p
    return np.where(wrong, -y, y), ~wrong


def fit_logistic(x, y, q, lam):
    """scikit-learn's fit of (1/n) sum q l(y x^T w) + lam/2 |w|^2: C = 1/(lam n), no intercept."""
    n = len(y)
    clf = LogisticRegression(C=1.0 / (lam * n), fit_intercept=False, tol=1e-12, max_iter=10_000)
    clf.fit(x, y, sample_weight=q)
    return clf.coef_[0]


def fit_square(x, y, q, lam):
    n, d = x.shape
    m = (x * q[:, None]).T @ x / n
    b = x.T @ (q * y) / n
    return np.linalg.solve(m + lam * np.eye(d), b)


def sandwich_distance(x, y, q, lam, w_hat, w_ref, loss):
    """Mahalanobis distance^2 of w_hat - w_ref under the M-estimator's sandwich covariance.

    Cov(w_hat) ~ H^-1 V H^-1 / n, H the Hessian of the empirical objective, V the covariance of
    the per-sample gradients. Under the null it is ~ chi^2_d.
    """
    n, d = x.shape
    z = y * (x @ w_hat)
    if loss == "logistic":
        d1, d2 = -special.expit(-z), special.expit(z) * special.expit(-z)
    else:
        d1, d2 = z - 1.0, np.ones_like(z)
    h = (x * (q * d2)[:, None]).T @ x / n + lam * np.eye(d)
    grads = (q * d1 * y)[:, None] * x + lam * w_hat
    v = np.atleast_2d(np.cov(grads, rowvar=False))
    h_inv = np.linalg.inv(h)
    cov = h_inv @ v @ h_inv / n
    diff = w_hat - w_ref
    return float(diff @ np.linalg.solve(cov, diff))


def chi2_bound(d, alpha=1e-4):
    return stats.chi2.isf(alpha, d)


def binomial_tolerance(p, n):
    """Z standard errors of a proportion estimated from n draws (floored for p near 0 or 1)."""
    return Z * np.sqrt(max(p * (1 - p), 1.0 / n) / n)
