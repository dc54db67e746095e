"""Independent reference computations for the simulation tests (NumPy, SciPy, scikit-learn)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special, stats
from sklearn.linear_model import LogisticRegression

# Two-sided z for a per-check false-alarm rate of 1e-4.
Z = stats.norm.isf(0.5e-4)


def sk_logistic(x, y, q, lam):
    """scikit-learn's minimiser of (1/n) sum q l(y x^T w) + lam/2 |w|^2: C = 1/(lam n)."""
    n = len(y)
    clf = LogisticRegression(C=1.0 / (lam * n), fit_intercept=False, tol=1e-13, max_iter=100_000,
                             solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, y, sample_weight=q)
    return clf.coef_[0]


def ridge_square(x, y, q, lam):
    n, d = x.shape
    return np.linalg.solve((x * q[:, None]).T @ x / n + lam * np.eye(d), x.T @ (q * y) / n)


def objective_gradient(x, y, q, lam, w, loss):
    """Gradient of (1/n) sum q l(y x^T w) + lam/2 |w|^2, computed in NumPy."""
    m = y * (x @ w)
    d1 = -special.expit(-m) if loss == "logistic" else m - 1.0
    return x.T @ (q * y * d1) / len(y) + lam * w


def mixture(rng, n, mu):
    y = rng.choice([-1.0, 1.0], size=n)
    return y[:, None] * mu + rng.standard_normal((n, len(mu))), y


def accuracy(w, mu):
    w = np.atleast_2d(w)
    return stats.norm.cdf(w @ mu / np.linalg.norm(w, axis=-1))


def predicted_accuracy(rule, mu, w_inf, n, lam, loss, rng, n_mc=400_000, draws=40_000,
                       real_fraction=0.0):
    """Mean and per-draw SD of acc(w_hat) at sample size n, to second order.

    w_hat is asymptotically N(w_inf, C / n), C = H^-1 V H^-1 (the M-estimator's sandwich), with
    H = E[q l''(m) x x^T] + lam I and V = Cov(q l'(m) s x), m = s x^T w_inf, estimated on a fresh
    Monte Carlo sample labelled and pruned by ``rule(rng, x, y) -> (s, q)``. The accuracy is
    averaged over draws of w from that normal law: this captures its O(d/n) deficit at a maximum
    (the Bayes direction) as well as its first-order spread elsewhere.
    With ``real_fraction`` rf > 0 a fixed fraction rf of the n samples is real (true label, kept):
    H and V are the rf-weighted averages of the two strata's (within-stratum covariances).
    Returns (mean, sd, mc_se): the predicted mean, the SD of one simulated accuracy, and the Monte
    Carlo standard error of the mean.
    """
    d = len(mu)
    h = lam * np.eye(d)
    v = np.zeros((d, d))

    def real(rng, x, y):
        return y, np.ones(len(y))

    for weight, stratum_rule in ((real_fraction, real), (1 - real_fraction, rule)):
        if weight == 0:
            continue
        x, y = mixture(rng, n_mc, mu)
        s, q = stratum_rule(rng, x, y)
        m = s * (x @ w_inf)
        if loss == "logistic":
            d1, d2 = -special.expit(-m), special.expit(m) * special.expit(-m)
        else:
            d1, d2 = m - 1.0, np.ones_like(m)
        h = h + weight * (x * (q * d2)[:, None]).T @ x / n_mc
        v = v + weight * np.cov((q * d1 * s)[:, None] * x, rowvar=False)
    h_inv = np.linalg.inv(h)
    cov = h_inv @ v @ h_inv / n
    w = rng.multivariate_normal(w_inf, cov, size=draws)
    acc = accuracy(w, mu)
    return acc.mean(), acc.std(ddof=1), acc.std(ddof=1) / np.sqrt(draws)


def flip_label_only(p, phi, psi):
    """Numpy rule: flip labels at rate p, keep correct ones w.p. phi and wrong ones w.p. psi."""

    def rule(rng, x, y):
        wrong = rng.random(len(y)) < p
        keep = rng.random(len(y)) < np.where(wrong, psi, phi)
        return np.where(wrong, -y, y), keep.astype(float)

    return rule


def flip_linear_verifier(p, w_v, tau):
    def rule(rng, x, y):
        s = np.where(rng.random(len(y)) < p, -y, y)
        return s, (s * (x @ w_v) > tau).astype(float)

    return rule
