"""Direct simulation of the model of ``theory.finite`` at finite d (independent of ``simulate/``
and of the theory's code).

One draw: n = round(alpha d) training samples, of which n_real = round(real_fraction n) are real
(correct label, always kept) and the rest synthesized: y uniform on {-1, +1},
x = y mu + z with z ~ N(0, I_d) and mu = ||mu|| e_1 (the law of the fit is rotation invariant),
the label flipped with probability p, a correct sample kept with probability phi and a flipped
one with probability psi. The fit minimises (1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2) ||w||^2
exactly (square loss: a linear solve with iterative refinement; logistic loss: Newton with
backtracking to a float64 gradient norm below 1e-8), and the test accuracy of sign(x^T w) is the
exact Phi(mu^T w / ||w||).

Randomness: one root seed; the key of draw ``s`` at grid point ``index`` is
fold_in(fold_in(PRNGKey(root_seed), index), s), so a result does not depend on batching.
Used by tests/theory/test_finite.py, benchmarks/validate_finite.py and figures/fig_finite.py.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.special import expit, ndtr
from threadpoolctl import threadpool_limits

_NEWTON_MAX_ITER = 100
_REFINE_MAX = 10


class SimResult(NamedTuple):
    """Per-draw results, each shape (draws,)."""

    accuracy: np.ndarray
    m: np.ndarray  # mu^T w_hat
    q: np.ndarray  # ||w_hat||^2
    converged: np.ndarray


@functools.partial(jax.jit, static_argnames=("n", "n_real", "d"))
def _draw(key, p, phi, psi, mu_norm, *, n, n_real, d):
    """(features y'_i x_i, keep decisions q_i) of one training set; shapes (n, d), (n,)."""
    k_y, k_z, k_flip, k_keep = jax.random.split(key, 4)
    y = jnp.where(jax.random.bernoulli(k_y, 0.5, (n,)), 1.0, -1.0)
    z = jax.random.normal(k_z, (n, d))
    x = z.at[:, 0].add(y * mu_norm)
    synthetic = jnp.arange(n) >= n_real
    flip = jax.random.bernoulli(k_flip, p, (n,)) & synthetic
    u = jax.random.uniform(k_keep, (n,))
    keep = jnp.where(synthetic, jnp.where(flip, u < psi, u < phi), True)
    y_train = jnp.where(flip, -y, y)
    return y_train[:, None] * x, keep


# The fits run in NumPy/LAPACK: XLA's CPU dense solvers are far slower at d = 400.


def _gram32(xs32, curvature, n):
    """(1/n) X^T diag(curvature) X formed in float32, returned as float64: the O(n d^2) part,
    several times faster than float64. It only preconditions: residuals, gradients and stopping
    tests are float64, so the fitted w is float64-accurate."""
    return ((xs32 * curvature.astype(np.float32)[:, None]).T @ xs32).astype(np.float64) / n


def fit_square(xs, lam, n):
    """argmin (1/n) sum_i (1 - xs_i^T w)^2 / 2 + (lam/2)||w||^2 over the kept rows ``xs`` (k, d),
    n the full sample count: w = (X^T X / n + lam I)^-1 X^T 1 / n. Float32 Cholesky factor with
    float64 iterative refinement (each residual is two float64 matrix-vector products)."""
    d = xs.shape[1]
    chol = cho_factor(_gram32(xs.astype(np.float32), np.ones(xs.shape[0]), n) + lam * np.eye(d))
    rhs = xs.sum(axis=0) / n

    def apply(w):
        return xs.T @ (xs @ w) / n + lam * w

    w = cho_solve(chol, rhs)
    for _ in range(_REFINE_MAX):
        res = rhs - apply(w)
        if np.linalg.norm(res) <= 1e-13 * np.linalg.norm(rhs):
            break
        w = w + cho_solve(chol, res)
    res = np.linalg.norm(rhs - apply(w)) / np.linalg.norm(rhs)
    return w, bool(res <= 1e-10 and np.all(np.isfinite(w)))


def fit_logistic(xs, lam, n):
    """argmin (1/n) sum_i log(1 + exp(-xs_i^T w)) + (lam/2)||w||^2 over the kept rows ``xs``
    (k, d), n the full sample count. Newton with Armijo backtracking from w = 0; the Hessian is
    formed in float32 (inexact Newton), the objective, gradient and stopping test in float64."""
    d = xs.shape[1]
    xs32 = xs.astype(np.float32)

    def objective(w):
        return np.sum(np.logaddexp(0.0, -(xs @ w))) / n + 0.5 * lam * (w @ w)

    def gradient(w):
        s_neg = expit(-(xs @ w))
        return -(xs.T @ s_neg) / n + lam * w, s_neg

    w = np.zeros(d)
    f = objective(w)
    for _ in range(_NEWTON_MAX_ITER):
        g, s_neg = gradient(w)
        h = _gram32(xs32, s_neg * (1.0 - s_neg), n) + lam * np.eye(d)
        step = cho_solve(cho_factor(h), g)
        dec = g @ step
        # Newton decrement at rounding level of f: the minimiser is reached.
        if dec <= 1e-24 * (1.0 + abs(f)):
            break
        t, f_t = 1.0, objective(w - step)
        while f_t > f - 1e-4 * t * dec and t > 1e-12:
            t *= 0.5
            f_t = objective(w - t * step)
        if f_t > f - 1e-4 * t * dec:
            break
        w, f = w - t * step, f_t
    g, _ = gradient(w)
    # The gradient is O(1) at w = 0 (mean term B ||mu|| / 2, noise term sqrt(K / alpha) / 2).
    return w, bool(np.linalg.norm(g) <= 1e-8 and np.all(np.isfinite(w)))


def _one(key, p, phi, psi, mu_norm, lam, *, n, n_real, d, loss):
    with jax.enable_x64(True):
        xs, keep = _draw(key, p, phi, psi, mu_norm, n=n, n_real=n_real, d=d)
        xs, keep = np.asarray(xs), np.asarray(keep)
    # Dropped samples contribute nothing to the objective; the 1/n keeps the full n.
    fit = fit_square if loss == "square" else fit_logistic
    w, ok = fit(xs[keep], lam, n)
    m = mu_norm * w[0]
    q = float(w @ w)
    acc = float(ndtr(m / np.sqrt(q))) if q > 0 else 0.5
    return acc, m, q, ok


def simulate(alpha, p, phi, psi, mu_norm, lam, loss="logistic", real_fraction=0.0, *,
             d=400, seeds=range(8), root_seed=0, index=0) -> SimResult:
    """Fit the downstream classifier on ``len(seeds)`` independent training sets (one point).

    Scalars in; arrays of shape (len(seeds),) out. ``index`` identifies the grid point for the
    key derivation (fold_in), ``seeds`` the draws within it.
    """
    n = round(alpha * d)
    n_real = round(real_fraction * n)
    root = jax.random.fold_in(jax.random.PRNGKey(root_seed), index)
    out = []
    # One BLAS thread: at d = 400 a second one gains little and fights XLA's own thread pool
    # (measured: 3x slower fits on 2 cores without the limit).
    with threadpool_limits(limits=1, user_api="blas"):
        for s in seeds:
            key = jax.random.fold_in(root, s)
            out.append(_one(key, float(p), float(phi), float(psi), float(mu_norm), float(lam),
                            n=n, n_real=n_real, d=int(d), loss=loss))
    acc, m, q, ok = (np.array(v) for v in zip(*out))
    return SimResult(acc, m, q, ok.astype(bool))


def simulate_until(alpha, p, phi, psi, mu_norm, lam, loss="logistic", real_fraction=0.0, *,
                   d=400, target_se=0.003, min_seeds=8, max_seeds=400, batch=8,
                   root_seed=0, index=0) -> SimResult:
    """``simulate`` in batches of ``batch`` draws until the standard error of the mean accuracy
    is at most ``target_se`` (or ``max_seeds`` draws were made)."""
    parts = []
    done = 0
    while True:
        res = simulate(alpha, p, phi, psi, mu_norm, lam, loss, real_fraction, d=d,
                       seeds=range(done, done + batch), root_seed=root_seed, index=index)
        parts.append(res)
        done += batch
        acc = np.concatenate([r.accuracy for r in parts])
        se = acc.std(ddof=1) / np.sqrt(acc.size)
        if done >= max(min_seeds, 2) and (se <= target_se or done >= max_seeds):
            break
    return SimResult(*(np.concatenate(v) for v in zip(*parts)))
