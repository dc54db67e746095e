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
from scipy.special import ndtr
from threadpoolctl import threadpool_limits

from simulate.reference import fit_logistic, fit_square  # the same exact fits



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
