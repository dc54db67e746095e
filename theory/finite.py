"""Finite-sample learning curves in the proportional regime
(docs/theory.md, section 'Finite samples').

``n`` training samples in dimension ``d``, ``n, d -> inf`` with ``alpha = n / d`` and ``||mu||``
fixed. A fraction ``real_fraction`` of the ``n`` samples is real (correct label, never pruned); the
rest is synthesized: ``x | y ~ N(y mu, I_d)``, the label flipped with probability ``p``
independently of ``x``, kept with probability ``phi`` (correct label) or ``psi`` (flipped)
independently of ``x``. The downstream classifier is

    w_hat = argmin_w (1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2) ||w||^2,   no intercept,

``n`` counting every sample, kept or not; ``l(u) = log(1 + e^-u)`` (logistic) or ``(1 - u)^2 / 2``
(square). Only two numbers of the data model survive in the limit: the masses of kept samples
with the correct and with the wrong label, per training sample,

    c+ = rf + (1 - rf)(1 - p) phi,     c- = (1 - rf) p psi        (rf = real_fraction).

Overlaps: ``m = mu^T w_hat`` and ``q = ||w_hat||^2`` (both O(1) when ``||mu||`` is); test accuracy
``Phi(m / sqrt(q))``. They solve the fixed point (FP) derived in ``theory/finite.md`` (CGMT for
the ridge GLM on the two-cluster mixture, cf. Mignacco et al. 2020, Loureiro et al. 2021); for
the square loss it is solved in closed form (SQ), the random-matrix deterministic equivalent (cf.
El Firdoussi et al. 2025). As ``alpha -> inf`` the curves meet ``theory.label_only``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from scipy.special import ndtr

from . import _finite_solver as _fs
from . import _validate

__all__ = ["FiniteResult", "accuracy", "kept_masses"]

DEFAULT_NODES = 96  # Gauss-Hermite points; theory/finite.md §5 shows the error it leaves
MAX_NODES = 1024  # the quadrature arrays are (points, nodes); far past any accuracy gain
# A looser fixed-point tolerance would report converged for a wrong answer (the start itself
# can pass), a tighter one is below the residual's rounding and never converges.
TOL_RANGE = (1e-14, 1e-3)
_ANCHOR_STRIDE = 8  # along each alpha curve, every 8th point is solved first, cold
_RESCUE_STEPS = 12  # continuation steps (geometric in alpha) for points that failed
_DAMPING = 0.5
# Points x nodes per compiled call: 2^20 (8192 points of 128 nodes) keeps a call near 450 MB
# (a 16384-point call of 96 nodes peaked at 890 MB above the process).
_CHUNK_ELEMENTS = 1 << 20


class FiniteResult(NamedTuple):
    """Proportional-regime solution; every field has the broadcast shape of the inputs.

    accuracy: Phi(m / sqrt(q)) (1/2 where w_hat = 0); NaN where not converged.
    m: mu^T w_hat.  q: ||w_hat||^2.  V: the prox step / susceptibility of the fixed point
      (for the square loss the Stieltjes-transform root delta of finite.md (SQ)).
    converged: the fixed-point residual is below ``tol`` (always True for the square loss
      where a solution exists). Where False, accuracy, m, q and V are NaN.
    iterations: Newton iterations of the final solve (0 for closed forms).
    quadrature_error: |accuracy change| when the Gauss-Hermite rule is doubled (first-order
      estimate, finite.md §5); 0 for the closed forms.
    """

    accuracy: np.ndarray
    m: np.ndarray
    q: np.ndarray
    V: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    quadrature_error: np.ndarray


def _positive(name, x):
    arr = np.asarray(_validate.finite(name, x))
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0; got {arr[arr <= 0].ravel()[0]}")
    return arr


def kept_masses(p, phi, psi, real_fraction=0.0):
    """(c+, c-): kept mass with the correct / the wrong label per training sample.

    c+ = rf + (1 - rf)(1 - p) phi and c- = (1 - rf) p psi, rf = real_fraction; broadcast shape.
    """
    with jax.enable_x64(True):  # the checks convert through JAX: keep float64
        p = np.asarray(_validate.probability("p", p))
        phi, psi = (np.asarray(v) for v in _validate.keep_rates(phi, psi))
        rf = np.asarray(_validate.probability("real_fraction", real_fraction))
    return rf + (1 - rf) * (1 - p) * phi, (1 - rf) * p * psi


def _pad(arrays, size):
    """Pad 1-D arrays to ``size`` by repeating their first entry (reuses compiled shapes)."""
    n = arrays[0].shape[0]
    return [np.concatenate([a, np.repeat(a[:1], size - n, axis=0)]) for a in arrays]


def _bucket(n):
    return max(8, 1 << int(np.ceil(np.log2(max(n, 1)))))


def _square_state(params):
    v, mbar, rho = (np.asarray(x) for x in _fs.square_closed_form(_fs.Params(*params)))
    return v, mbar, rho


def _cold_start(params):
    """y0 from the square-loss solution at the same point: the right scale for V, m and rho.

    With lam = 0 the square loss may have no solution (alpha K <= 1); its lam = 0.01 K
    solution still gives a usable start.
    """
    alpha, cp, cm, mu, lam = params
    lam0 = np.where(lam > 0, lam, 0.01 * (cp + cm))
    v, mbar, rho = _square_state((alpha, cp, cm, mu, lam0))
    return np.stack([np.log(v), mbar, np.log(rho)], axis=1)


def _chunk_points(nodes):
    """Points per compiled call: (points, 2, nodes) prox arrays and their Jacobian terms within
    ``_CHUNK_ELEMENTS``, a power of two so that chunks share compiled shapes."""
    return max(8, 1 << int(np.floor(np.log2(max(1, _CHUNK_ELEMENTS // nodes)))))


def _newton(y0, params, idx, loss, nodes, tol, max_iter):
    """Run the batched Newton solver on the points ``idx`` from starts ``y0`` (len(idx), 3),
    a chunk at a time (memory does not grow with the grid)."""
    n = len(idx)
    y, ok, iters = np.zeros((n, 3)), np.zeros(n, bool), np.zeros(n, int)
    chunk = _chunk_points(nodes)
    for start in range(0, n, chunk):
        part = np.asarray(idx)[start:start + chunk]
        size = _bucket(len(part))
        sub = _pad([np.asarray(a)[part] for a in params], size)
        (y0p,) = _pad([y0[start:start + chunk]], size)
        out = _fs.newton_solve(
            np.asarray(y0p), _fs.Params(*(np.asarray(a) for a in sub)),
            loss=loss, nodes=nodes, tol=tol, max_iter=max_iter, damping=_DAMPING,
        )
        k = len(part)
        y[start:start + k] = np.asarray(out.y)[:k]
        ok[start:start + k] = (np.asarray(out.converged)[:k]
                               & np.all(np.isfinite(y[start:start + k]), axis=1))
        iters[start:start + k] = np.asarray(out.iterations)[:k]
    return y, ok, iters


def _solve_logistic(params, nodes, tol, max_iter):
    """Solve (FP) at every point, with warm starts along alpha.

    Points sharing (c+, c-, ||mu||, lam) form a curve in alpha. Every ``_ANCHOR_STRIDE``-th point
    of each curve (and its last) is solved from the square-loss start; the others start from the
    linear interpolation in log alpha of their two neighbouring anchors. Points that still fail
    are approached by continuation: a sequence of alphas, geometric from the nearest converged
    point of the curve (or from 64 alpha, where the problem is benign) to theirs, each solve
    warm-started from the previous one.
    """
    alpha = params[0]
    n = alpha.shape[0]
    keys = np.stack(params[1:], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    order = np.lexsort((alpha, group))
    g_sorted = group[order]
    first = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - start
    last = np.r_[g_sorted[1:] != g_sorted[:-1], True]
    anchor_sorted = (rank % _ANCHOR_STRIDE == 0) | last

    y = np.full((n, 3), np.nan)
    ok = np.zeros(n, bool)
    iters = np.zeros(n, int)

    # Stage 1: anchors, cold.
    idx = order[anchor_sorted]
    y0 = _cold_start([a[idx] for a in params])
    y[idx], ok[idx], iters[idx] = _newton(y0, params, idx, "logistic", nodes, tol, max_iter)

    # Stage 2: the rest, from interpolated anchors (sorted positions prev <= j <= next).
    pos = np.arange(n)
    prev_anchor = np.maximum.accumulate(np.where(anchor_sorted, pos, 0))
    next_anchor = np.minimum.accumulate(np.where(anchor_sorted, pos, n - 1)[::-1])[::-1]
    rest = ~anchor_sorted
    if np.any(rest):
        j = pos[rest]
        i_prev, i_next, i_self = order[prev_anchor[j]], order[next_anchor[j]], order[j]
        la = np.log(alpha)
        span = la[i_next] - la[i_prev]
        t = np.where(span > 0, (la[i_self] - la[i_prev]) / np.where(span > 0, span, 1.0), 0.0)
        t = t[:, None]
        y0 = (1 - t) * y[i_prev] + t * y[i_next]
        y0 = np.where(ok[i_prev][:, None] & ok[i_next][:, None], y0,
                      np.where(ok[i_prev][:, None], y[i_prev],
                               np.where(ok[i_next][:, None], y[i_next], np.nan)))
        cold = np.any(~np.isfinite(y0), axis=1)
        if np.any(cold):
            y0[cold] = _cold_start([a[i_self[cold]] for a in params])
        y[i_self], ok[i_self], iters[i_self] = _newton(
            y0, params, i_self, "logistic", nodes, tol, max_iter)

    # Stage 3: continuation along alpha for the failures.
    bad = np.flatnonzero(~ok)
    if bad.size:
        y_from = np.empty((bad.size, 3))
        alpha_from = np.empty(bad.size)
        la = np.log(alpha)
        for k, i in enumerate(bad):
            same = np.flatnonzero((group == group[i]) & ok)
            if same.size:
                nearest = same[np.argmin(np.abs(la[same] - la[i]))]
                y_from[k], alpha_from[k] = y[nearest], alpha[nearest]
            else:
                alpha_from[k] = np.nan
        fresh = np.isnan(alpha_from)
        if np.any(fresh):
            # No converged neighbour: start far out in alpha, where V is small and Newton easy.
            far = [a[bad[fresh]] for a in params]
            far[0] = 64.0 * far[0]
            alpha_from[fresh] = far[0]
            y_from[fresh] = _cold_start(far)
        # Walk each failed point in from its start; a point that fails a step drops out.
        y_cur = y_from
        alive = np.ones(bad.size, bool)
        it_last = np.zeros(bad.size, int)
        for step in range(1, _RESCUE_STEPS + 1):
            live = np.flatnonzero(alive)
            if live.size == 0:
                break
            frac = step / _RESCUE_STEPS
            a_step = alpha_from[live] ** (1 - frac) * alpha[bad[live]] ** frac
            step_params = [a_step] + [a[bad[live]] for a in params[1:]]
            y_new, ok_new, it_new = _newton(y_cur[live], step_params, np.arange(live.size),
                                            "logistic", nodes, tol, 2 * max_iter)
            y_cur[live[ok_new]] = y_new[ok_new]
            it_last[live] = it_new
            alive[live[~ok_new]] = False
        y[bad] = np.where(alive[:, None], y_cur, np.nan)
        ok[bad] = alive
        iters[bad] = it_last
    return y, ok, iters


def _accuracy_from(mu, mbar, q):
    ratio = np.where(q > 0, mu * mbar / np.sqrt(np.where(q > 0, q, 1.0)), 0.0)
    return ndtr(ratio)


def accuracy(alpha, p, phi, psi, mu_norm, lam, loss="logistic", real_fraction=0.0, *,
             nodes=DEFAULT_NODES, tol=1e-10, max_iter=60, quadrature_check=True):
    """Proportional-regime test accuracy of the ridge classifier on pruned synthesized data.

    Args (all broadcast against each other; NumPy-compatible values):
      alpha: n / d > 0, with n the number of training samples (kept or not, real included).
      p: generator error rate in [0, 1].  phi, psi: keep rates in [0, 1], not both 0.
      mu_norm: ||mu|| >= 0.  lam: ridge strength >= 0 (lam = 0: see finite.md §4).
      loss: "logistic" or "square".  real_fraction: fraction of the n samples that is real,
        correctly labelled and never pruned, in [0, 1].
      nodes: Gauss-Hermite points of the logistic quadrature. tol: fixed-point tolerance on the
        scale-free residual (finite.md §5). max_iter: Newton iterations per solve.
      quadrature_check: also estimate the quadrature error (one extra solve with 2 * nodes).

    Returns a ``FiniteResult`` whose fields have the broadcast shape; accuracy = Phi(m / sqrt(q))
    with m = mu^T w_hat and q = ||w_hat||^2. Non-converged points are NaN with converged False.

    Raises ValueError naming the offending parameter for p, phi, psi or real_fraction outside
    [0, 1], phi = psi = 0, lam < 0, alpha <= 0, mu_norm < 0, NaN or infinite values, or an
    unknown loss; for nodes not an integer in [8, 1024], tol outside [1e-14, 1e-3], max_iter
    not an integer >= 1.
    """
    _validate.loss(loss)
    nodes = _validate.integer("nodes", nodes, minimum=8)
    if nodes > MAX_NODES:
        raise ValueError(f"nodes must be at most {MAX_NODES}; got {nodes}")
    tol = _validate.positive_number("tol", tol)
    if not TOL_RANGE[0] <= tol <= TOL_RANGE[1]:
        raise ValueError(f"tol must be in [{TOL_RANGE[0]:g}, {TOL_RANGE[1]:g}] (the fixed-point "
                         f"residual is scale-free); got {tol!r}")
    max_iter = _validate.integer("max_iter", max_iter, minimum=1)
    if not isinstance(quadrature_check, (bool, np.bool_)):
        raise ValueError(f"quadrature_check must be True or False; got {quadrature_check!r}")
    # Validation converts through JAX: keep float64 for it and for the solver.
    with jax.enable_x64(True):
        alpha = _positive("alpha", alpha)
        mu_norm = np.asarray(_validate.nonnegative("mu_norm", mu_norm))
        lam = np.asarray(_validate.nonnegative("lam", lam))
        c_plus, c_minus = kept_masses(p, phi, psi, real_fraction)
        shape = np.broadcast_shapes(alpha.shape, c_plus.shape, mu_norm.shape, lam.shape)
        flat = [np.broadcast_to(np.asarray(a, float), shape).ravel()
                for a in (alpha, c_plus, c_minus, mu_norm, lam)]
        result = _solve_flat(flat, loss, nodes, tol, max_iter, bool(quadrature_check))
    out = [r.reshape(shape) for r in result]
    if shape == ():
        out = [r[()] for r in out]
    return FiniteResult(*out)


def _solve_flat(flat, loss, nodes, tol, max_iter, quadrature_check):
    alpha, c_plus, c_minus, mu_norm, lam = flat
    n = alpha.size
    k = c_plus + c_minus
    v = np.full(n, np.nan)
    mbar = np.full(n, np.nan)
    rho = np.full(n, np.nan)
    ok = np.zeros(n, bool)
    iters = np.zeros(n, int)
    qerr = np.zeros(n)

    # Nothing kept: w_hat = 0 (V from the ridge alone).
    empty = k == 0
    with np.errstate(divide="ignore"):
        v[empty] = np.where(lam[empty] > 0, 1.0 / (alpha[empty] * lam[empty]), np.inf)
    mbar[empty] = 0.0
    rho[empty] = 0.0
    ok[empty] = True

    live = np.flatnonzero(~empty)
    params = [a[live] for a in flat]
    if loss == "square":
        vs, ms, rs = _square_state(params)
        good = np.isfinite(vs) & np.isfinite(ms) & np.isfinite(rs)
        v[live], mbar[live], rho[live], ok[live] = vs, ms, rs, good
    elif live.size:
        y, good, it = _solve_logistic(params, nodes, tol, max_iter)
        v[live], mbar[live], rho[live] = np.exp(y[:, 0]), y[:, 1], np.exp(y[:, 2])
        ok[live], iters[live] = good, it
        if quadrature_check and np.any(good):
            sel = live[good]
            y_good = y[good]
            dy = np.empty_like(y_good)
            chunk = _chunk_points(2 * nodes)
            for start in range(0, sel.size, chunk):
                part = sel[start:start + chunk]
                size = _bucket(part.size)
                sub = _pad([a[part] for a in flat], size)
                (yp,) = _pad([y_good[start:start + chunk]], size)
                dy[start:start + part.size] = np.asarray(_fs.quadrature_correction(
                    np.asarray(yp), _fs.Params(*(np.asarray(a) for a in sub)),
                    loss="logistic", nodes=nodes, fine_nodes=2 * nodes))[: part.size]
            y_fine = y[good] + dy
            q_c = y[good, 1] ** 2 + np.exp(2 * y[good, 2])
            q_f = y_fine[:, 1] ** 2 + np.exp(2 * y_fine[:, 2])
            qerr[sel] = np.abs(_accuracy_from(mu_norm[sel], y_fine[:, 1], q_f)
                               - _accuracy_from(mu_norm[sel], y[good, 1], q_c))

    q = mbar**2 + rho**2
    m = mu_norm * mbar
    acc = _accuracy_from(mu_norm, mbar, q)
    for arr in (acc, m, q, v):
        arr[~ok] = np.nan
    qerr[~ok] = np.nan
    return acc, m, q, v, ok, iters, qerr


from ._general import GenerationsResult, SolveResult, generations, solve  # noqa: E402

__all__ += ["solve", "SolveResult", "generations", "GenerationsResult"]
