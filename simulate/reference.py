"""A direct reference simulation of any ``theory.scenario`` scenario at finite d.

It shares no code with the theory's solvers (only the scenario objects, read as data) and fits
exactly, so it checks ``theory.finite.solve`` and ``theory.finite.generations`` independently.

One draw: n = round(alpha d) samples, the first n_real = round(real_fraction n) real (true label,
always kept), the rest synthesized: y uniform on {-1, +1}, x = y mu + z, z ~ N(0, I_d), with the
scenario's vectors zero-padded to d (the law of the fit is rotation invariant); labels from the
generator, keep decisions from the verifier (top-r keeps the ceil(rate m) largest y' x^T w of
the m synthesized samples). The fit minimises (1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2)||w||^2
exactly (square: a linear solve with refinement; logistic: Newton with backtracking to a
gradient norm below 1e-8), and the test accuracy of sign(x^T w) is Phi(mu^T w / ||w||).

Randomness: draw ``s`` of grid point ``index`` uses fold_in(fold_in(key(root_seed), index), s),
one stream per purpose below, so a result does not depend on which other draws are made.

``label_only`` and ``label_only_until`` are the special case of a flip generator with label-only
pruning and ||mu|| e_1 as the mean, with their own key derivation (below); they made the stored
simulations of ``figures/fig_finite.py`` and ``benchmarks/validate_finite.py``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.special import expit, ndtr

__all__ = ["Draws", "simulate", "generations", "label_only", "label_only_until", "fit_square",
           "fit_logistic"]

_NEWTON_MAX_ITER = 100
_REFINE_MAX = 10
_STREAMS = {"x": 0, "labels": 1, "keep": 2}


class Draws(NamedTuple):
    """Per-draw results, shape (draws,) (generations: (draws, generations))."""

    accuracy: np.ndarray
    m: np.ndarray  # mu^T w_hat
    q: np.ndarray  # ||w_hat||^2
    converged: np.ndarray


def _gram32(xs32, curvature, n):
    """(1/n) X^T diag(c) X in float32 (a preconditioner only: residuals stay float64)."""
    return ((xs32 * curvature.astype(np.float32)[:, None]).T @ xs32).astype(np.float64) / n


def fit_square(xs, lam, n):
    """argmin (1/n) sum (1 - xs_i^T w)^2 / 2 + (lam/2)||w||^2 over the kept rows xs (k, d)."""
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
    res = np.linalg.norm(rhs - apply(w)) / max(np.linalg.norm(rhs), 1e-300)
    return w, bool(res <= 1e-10 and np.all(np.isfinite(w)))


def fit_logistic(xs, lam, n):
    """argmin (1/n) sum log(1 + exp(-xs_i^T w)) + (lam/2)||w||^2: Newton with Armijo backtracking
    from w = 0 (Hessian in float32, objective, gradient and stopping test in float64)."""
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
    return w, bool(np.linalg.norm(g) <= 1e-8 and np.all(np.isfinite(w)))


def _pad(v, d):
    v = np.asarray(v, float)
    if v.size > d:
        raise ValueError(f"the scenario's vectors have {v.size} entries, more than d = {d}")
    out = np.zeros(d)
    out[: v.size] = v
    return out


def _labels(key, generator, x, y, w_gen=None):
    """y' for a flip generator, a linear one, or (w_gen given) a previous model."""
    u = np.asarray(jax.random.uniform(key, (x.shape[0],), dtype=jnp.float64))
    kind = getattr(generator, "kind", None)
    if kind == "flip" and w_gen is None:
        return np.where(u < generator.p, -y, y)
    margin = x @ w_gen
    if generator.labels == "sign":
        return np.where(margin >= 0, 1.0, -1.0)
    return np.where(u < expit(margin), 1.0, -1.0)


def _keep(key, verifier, x, yp, correct, w_v):
    n = x.shape[0]
    if verifier.kind == "none":
        return np.ones(n, bool)
    if verifier.kind == "label_only":
        u = np.asarray(jax.random.uniform(key, (n,), dtype=jnp.float64))
        return u < np.where(correct, verifier.phi, verifier.psi)
    score = yp * (x @ w_v)
    if verifier.kind == "linear":
        return score > verifier.tau
    count = int(np.ceil(verifier.rate * n - 1e-9))
    keep = np.zeros(n, bool)
    keep[np.argsort(-score, kind="stable")[:count]] = True
    return keep


def _one_fit(keys, mu, generator, verifier, lam, loss, n, n_real, w_gen):
    d = mu.size
    with jax.enable_x64(True):
        k_y, k_z = jax.random.split(keys["x"])
        y = np.where(np.asarray(jax.random.bernoulli(k_y, 0.5, (n,))), 1.0, -1.0)
        x = np.asarray(jax.random.normal(k_z, (n, d), dtype=jnp.float64)) + y[:, None] * mu
        yp = _labels(keys["labels"], generator, x, y, w_gen)
        w_v = _pad(verifier.w, d) if hasattr(verifier, "w") else None
        synth = slice(n_real, n)
        keep = np.ones(n, bool)
        keep[synth] = _keep(keys["keep"], verifier, x[synth], yp[synth], yp[synth] == y[synth],
                            w_v)
    yp[:n_real] = y[:n_real]
    xs = (yp[:, None] * x)[keep]
    fit = fit_square if loss == "square" else fit_logistic
    return fit(xs, lam, n)


def _score(w, mu):
    q = float(w @ w)
    m = float(mu @ w)
    return (float(ndtr(m / np.sqrt(q))) if q > 0 else 0.5), m, q


def _keys(root_seed, index, s):
    base = jax.random.fold_in(jax.random.fold_in(jax.random.key(root_seed), index), s)
    return {k: jax.random.fold_in(base, v) for k, v in _STREAMS.items()}


def simulate(alpha, mu, lam, *, generator, verifier, loss="logistic", real_fraction=0.0, d=400,
             seeds=range(8), root_seed=0, index=0) -> Draws:
    """Fit on ``len(seeds)`` independent training sets at one point (scalars in)."""
    mu_d = _pad(mu, d)
    n = round(alpha * d)
    n_real = round(real_fraction * n)
    w_gen = _pad(generator.w, d) if hasattr(generator, "w") else None
    out = []
    for s in seeds:
        w, ok = _one_fit(_keys(root_seed, index, s), mu_d, generator, verifier, float(lam), loss,
                         n, n_real, w_gen)
        out.append((*_score(w, mu_d), ok))
    acc, m, q, ok = (np.array(v) for v in zip(*out))
    return Draws(acc, m, q, ok.astype(bool))


def generations(alpha, mu, lam, *, initial, verifier, generations, labels="sample",
                loss="logistic", d=400, seeds=range(8), root_seed=0, index=0) -> Draws:
    """Replace-mode retraining chains: generation t's model labels generation t+1's fresh data.

    ``initial``: the generation-0 generator (flip or linear); later generators are the previous
    model with ``labels`` ("sign" or "sample"). Returns per-draw, per-generation results.
    """
    from types import SimpleNamespace

    mu_d = _pad(mu, d)
    n = round(alpha * d)
    rule = SimpleNamespace(kind="model", labels=labels)
    rows = []
    for s in seeds:
        gen, w_gen = initial, (_pad(initial.w, d) if hasattr(initial, "w") else None)
        per = []
        for t in range(generations):
            keys = _keys(root_seed, index, s * 1000 + t)
            w, ok = _one_fit(keys, mu_d, gen, verifier, float(lam), loss, n, 0, w_gen)
            per.append((*_score(w, mu_d), ok))
            gen, w_gen = rule, w
        rows.append(per)
    arr = np.array(rows, dtype=float)  # (draws, generations, 4)
    return Draws(arr[..., 0], arr[..., 1], arr[..., 2], arr[..., 3].astype(bool))


# --- flip generator, label-only pruning ------------------------------------------------------
# Key of draw ``s`` at grid point ``index``: fold_in(fold_in(PRNGKey(root_seed), index), s), split
# four ways (labels, noise, flips, keep decisions). Kept as it was when the stored simulations
# were made, so that they can be reproduced bit for bit.


@functools.partial(jax.jit, static_argnames=("n", "n_real", "d"))
def _label_only_draw(key, p, phi, psi, mu_norm, *, n, n_real, d):
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


def _label_only_one(key, p, phi, psi, mu_norm, lam, *, n, n_real, d, loss):
    with jax.enable_x64(True):
        xs, keep = _label_only_draw(key, p, phi, psi, mu_norm, n=n, n_real=n_real, d=d)
        xs, keep = np.asarray(xs), np.asarray(keep)
    # Dropped samples contribute nothing to the objective; the 1/n keeps the full n.
    fit = fit_square if loss == "square" else fit_logistic
    w, ok = fit(xs[keep], lam, n)
    m = mu_norm * w[0]
    q = float(w @ w)
    acc = float(ndtr(m / np.sqrt(q))) if q > 0 else 0.5
    return acc, m, q, ok


def label_only(alpha, p, phi, psi, mu_norm, lam, loss="logistic", real_fraction=0.0, *, d=400,
               seeds=range(8), root_seed=0, index=0) -> Draws:
    """Fit on ``len(seeds)`` training sets of a flip generator (error rate ``p``) pruned by a
    label-only verifier (``phi``, ``psi``), with ``real_fraction`` real samples; one point.

    Scalars in; arrays of shape (len(seeds),) out. ``index`` identifies the grid point for the
    key derivation, ``seeds`` the draws within it.
    """
    from threadpoolctl import threadpool_limits

    n = round(alpha * d)
    n_real = round(real_fraction * n)
    root = jax.random.fold_in(jax.random.PRNGKey(root_seed), index)
    out = []
    # One BLAS thread: at d = 400 a second one gains little and fights XLA's own thread pool
    # (measured: 3x slower fits on 2 cores without the limit).
    with threadpool_limits(limits=1, user_api="blas"):
        for s in seeds:
            key = jax.random.fold_in(root, s)
            out.append(_label_only_one(key, float(p), float(phi), float(psi), float(mu_norm),
                                       float(lam), n=n, n_real=n_real, d=int(d), loss=loss))
    acc, m, q, ok = (np.array(v) for v in zip(*out))
    return Draws(acc, m, q, ok.astype(bool))


def label_only_until(alpha, p, phi, psi, mu_norm, lam, loss="logistic", real_fraction=0.0, *,
                     d=400, target_se=0.003, min_seeds=8, max_seeds=400, batch=8, root_seed=0,
                     index=0) -> Draws:
    """``label_only`` in batches of ``batch`` draws until the standard error of the mean
    accuracy is at most ``target_se`` (or ``max_seeds`` draws were made)."""
    parts = []
    done = 0
    while True:
        res = label_only(alpha, p, phi, psi, mu_norm, lam, loss, real_fraction, d=d,
                         seeds=range(done, done + batch), root_seed=root_seed, index=index)
        parts.append(res)
        done += batch
        acc = np.concatenate([r.accuracy for r in parts])
        se = acc.std(ddof=1) / np.sqrt(acc.size)
        if done >= max(min_seeds, 2) and (se <= target_se or done >= max_seeds):
            break
    return Draws(*(np.concatenate(v) for v in zip(*parts)))
