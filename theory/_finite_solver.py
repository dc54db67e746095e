"""Numerical kernels of ``theory.finite``: the fixed point of theory/finite.md, solved in batch.

Everything here is a pure JAX function of arrays with a leading batch axis N (one entry per
(alpha, c+, c-, ||mu||, lam) point) and runs in float64 (the caller enables x64).

Unknowns per point, in the coordinates the Newton iteration uses:
    y = (log V, mbar, log rho)        shape (N, 3)
with V the prox step (the susceptibility), mbar = mu_hat^T w and rho = ||P_perp w|| (the norm of
w orthogonal to mu), so that m = mu^T w = ||mu|| mbar and q = ||w||^2 = mbar^2 + rho^2.

The fixed-point map (theory/finite.md, eq. (FP)):
    h   = s m + sqrt(q) xi,   s = +1 (kept, correct label, weight c+) or -1 (kept, wrong, c-)
    P   = prox_{V l}(h),  f = l'(P),  d = l''(P) / (1 + V l''(P))
    D   = E[d],  S = E[s f],  F2 = E[f^2]       (E = sum_s c_s E_xi, xi ~ N(0, 1))
    V' = 1 / (alpha (lam + D)),  mbar' = -||mu|| S / (lam + D),
    rho' = sqrt(F2 / alpha) / (lam + D)
E_xi is Gauss-Hermite quadrature with ``nodes`` points (probabilists' weights, normalised).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

SIGNS = (1.0, -1.0)  # s for the two kept classes: correct label (c+), flipped label (c-)
_PROX_MAX_ITER = 200  # safeguarded Newton halves the bracket at worst: 200 halvings is plenty
_NEWTON_STEP_CAP = 1.0  # largest Newton move in log V, log rho, and mbar / sqrt(q)


class Params(NamedTuple):
    """Per-point parameters, each shape (N,)."""

    alpha: jax.Array  # n / d
    c_plus: jax.Array  # mass of kept, correctly labelled samples (per training sample)
    c_minus: jax.Array  # mass of kept, wrongly labelled samples
    mu_norm: jax.Array  # ||mu||
    lam: jax.Array  # ridge strength


@functools.cache
def hermite_rule(nodes: int):
    """Probabilists' Gauss-Hermite rule: E[g(xi)] ~ sum_k w_k g(xi_k), xi ~ N(0, 1), sum w = 1."""
    xi, w = np.polynomial.hermite_e.hermegauss(nodes)
    return xi, w / w.sum()


# ---------------------------------------------------------------------------------------------
# Losses: l'(u), l''(u) and the prox  P = argmin_u l(u) + (u - h)^2 / (2V).


def _logistic_derivatives(u):
    """l(u) = log(1 + e^-u): l'(u) = -sigmoid(-u), l''(u) = sigmoid(u) sigmoid(-u)."""
    s_neg = jax.nn.sigmoid(-u)
    return -s_neg, s_neg * (1.0 - s_neg)


# Compiled: called outside a jit, the loop's closure captured h and V as constants, so every
# new value compiled a new loop (a hypothesis test over 60 values compiled 60).
@jax.jit
def _logistic_prox_solve(h, v, u0):
    """Vectorised safeguarded Newton on u + V l'(u) = h (elementwise; any broadcastable shapes).

    g(u) = u - h - V sigmoid(-u) is increasing (g' = 1 + V l'' >= 1) with g(h) < 0 < g(h + V),
    so the root lies in [h, h + V]. A Newton step is taken when it stays in the current bracket
    and at least halves the previous step; otherwise the bracket is bisected (rtsafe), so every
    element converges even from a poor start. ``u0`` is a warm start (clipped into the bracket).
    """
    lo = h
    hi = h + v
    u = jnp.clip(u0, lo, hi)

    def body(state):
        u, lo, hi, step_old, it, conv = state
        s_neg = jax.nn.sigmoid(-u)
        g = u - h - v * s_neg
        slope = 1.0 + v * s_neg * (1.0 - s_neg)
        lo = jnp.where(g < 0, u, lo)
        hi = jnp.where(g > 0, u, hi)
        step = -g / slope
        newton = u + step
        take = (newton >= lo) & (newton <= hi) & (2.0 * jnp.abs(step) <= jnp.abs(step_old))
        # converged elements stay put: at the ulp level a Newton step may fail the halving
        # test, and bisecting the stale bracket would cost ~50 more sweeps of the whole array
        u_new = jnp.where(conv, u, jnp.where(take, newton, 0.5 * (lo + hi)))
        step = u_new - u
        # 1e-13 relative: a few ulps above float64 rounding of u itself.
        conv = conv | (jnp.abs(step) <= 1e-13 * (1.0 + jnp.abs(u))) | (g == 0)
        return u_new, lo, hi, jnp.where(conv, step_old, step), it + 1, conv

    def cond(state):
        return (~jnp.all(state[5])) & (state[4] < _PROX_MAX_ITER)

    init = (u, lo, hi, jnp.full_like(u, jnp.inf), jnp.asarray(0), jnp.zeros(u.shape, bool))
    return jax.lax.while_loop(cond, body, init)[0]


@jax.custom_jvp
def logistic_prox(h, v, u0):
    """prox_{V l}(h) for the logistic loss; derivatives by the implicit function theorem."""
    return _logistic_prox_solve(h, v, u0)


@logistic_prox.defjvp
def _logistic_prox_jvp(primals, tangents):
    h, v, u0 = primals
    dh, dv, _ = tangents  # the warm start does not change the answer
    p = logistic_prox(h, v, u0)
    l1, l2 = _logistic_derivatives(p)
    # d/dh: 1 / (1 + V l''(P));  d/dV: -l'(P) / (1 + V l''(P))   (differentiate P + V l'(P) = h)
    return p, (dh - dv * l1) / (1.0 + v * l2)


def _square_prox(h, v, u0):
    """l(u) = (1 - u)^2 / 2: P = (h + V) / (1 + V), l'(P) = P - 1, l''(P) = 1."""
    del u0
    return (h + v) / (1.0 + v)


def _square_derivatives(u):
    return u - 1.0, jnp.ones_like(u)


LOSSES = {
    "logistic": (logistic_prox, _logistic_derivatives),
    "square": (_square_prox, _square_derivatives),
}


# ---------------------------------------------------------------------------------------------
# The fixed-point map and its residual.


def unpack(y):
    """(V, mbar, rho), each (N,), from y = (log V, mbar, log rho) of shape (N, 3)."""
    return jnp.exp(y[:, 0]), y[:, 1], jnp.exp(y[:, 2])


def fixed_point_map(y, prox_warm, params: Params, loss: str, nodes: int):
    """One application of the map (FP). Returns (y', prox values) with y' in y's coordinates.

    y: (N, 3); prox_warm: (N, 2, nodes) warm start for the prox (ignored for the square loss).
    """
    prox, derivatives = LOSSES[loss]
    xi, wq = hermite_rule(nodes)
    signs = jnp.asarray(SIGNS)
    v, mbar, rho = unpack(y)
    m = params.mu_norm * mbar
    sqrt_q = jnp.sqrt(mbar * mbar + rho * rho)
    h = signs[None, :, None] * m[:, None, None] + sqrt_q[:, None, None] * jnp.asarray(xi)
    vb = v[:, None, None]
    p = prox(h, vb, prox_warm)
    l1, l2 = derivatives(p)
    d = l2 / (1.0 + vb * l2)
    # weights of the (class, node) pairs: c_s times the quadrature weight
    weight = jnp.stack([params.c_plus, params.c_minus], axis=1)[:, :, None] * jnp.asarray(wq)
    big_d = jnp.sum(weight * d, axis=(1, 2))
    big_s = jnp.sum(weight * signs[None, :, None] * l1, axis=(1, 2))
    f2 = jnp.sum(weight * l1 * l1, axis=(1, 2))
    a = params.lam + big_d
    y_new = jnp.stack(
        [
            -jnp.log(params.alpha * a),
            -params.mu_norm * big_s / a,
            0.5 * jnp.log(f2 / params.alpha) - jnp.log(a),
        ],
        axis=1,
    )
    return y_new, p


def residual_error(r, y):
    """Scale-free size of the fixed-point residual r = T(y) - y, shape (N,).

    log V and log rho are already relative; mbar is measured against sqrt(q) = ||w||, the scale
    on which it moves the accuracy Phi(m / sqrt(q)).
    """
    sqrt_q = jnp.sqrt(y[:, 1] ** 2 + jnp.exp(2.0 * y[:, 2]))
    err = jnp.maximum(jnp.abs(r[:, 0]), jnp.abs(r[:, 2]))
    err = jnp.maximum(err, jnp.abs(r[:, 1]) / sqrt_q)
    return jnp.where(jnp.isfinite(err), err, jnp.inf)


def _residual_and_jacobian(y, prox_warm, params, loss, nodes):
    """r = T(y) - y (N, 3), its per-point Jacobian dr/dy (N, 3, 3), and the prox values."""

    def resid(yy):
        y_new, p = fixed_point_map(yy, prox_warm, params, loss, nodes)
        return y_new - yy, p

    n = y.shape[0]
    basis = jnp.broadcast_to(jnp.eye(3)[:, None, :], (3, n, 3))
    # Points are independent, so pushing e_j through all of them at once gives column j of
    # every point's 3x3 Jacobian: three forward-mode passes, the primal computed once.
    (r, p), (dr, _) = jax.vmap(lambda t: jax.jvp(resid, (y,), (t,)), out_axes=(None, 0))(basis)
    return r, jnp.transpose(dr, (1, 2, 0)), p


class SolveOutput(NamedTuple):
    y: jax.Array  # (N, 3)
    error: jax.Array  # (N,) final scale-free residual
    converged: jax.Array  # (N,) bool
    iterations: jax.Array  # (N,) Newton iterations used


# max_iter is traced: the retry with twice the iterations reuses the program.
@functools.partial(jax.jit, static_argnames=("loss", "nodes"))
def newton_solve(y0, params: Params, *, loss: str, nodes: int, tol, max_iter, damping):
    """Solve T(y) = y for a batch of points by safeguarded Newton with a damped fallback.

    Each iteration: Newton step on r(y) = T(y) - y with the exact 3x3 Jacobian (forward mode
    through the implicit-function derivative of the prox), capped in size; it is accepted when
    it lowers the residual, otherwise the point takes the damped fixed-point step
    y + damping * r(y). Points stop moving once their residual is below ``tol``.
    """
    n = y0.shape[0]
    xi, _ = hermite_rule(nodes)
    # Prox warm start: P = h (the exact prox when V = 0); the solver clips it into its bracket.
    prox0 = jnp.zeros((n, 2, nodes)) + jnp.asarray(xi)

    def cond(state):
        _, _, _, conv, it, _ = state
        return (~jnp.all(conv)) & (it < max_iter)

    def body(state):
        y, prox_warm, _, conv, it, iters = state
        r, jac, prox_vals = _residual_and_jacobian(y, prox_warm, params, loss, nodes)
        err = residual_error(r, y)
        conv = err <= tol
        step = -jnp.linalg.solve(jac, r[..., None])[..., 0]
        step = jnp.where(jnp.all(jnp.isfinite(step), axis=1, keepdims=True), step, damping * r)
        sqrt_q = jnp.sqrt(y[:, 1] ** 2 + jnp.exp(2.0 * y[:, 2]))
        size = jnp.maximum(jnp.max(jnp.abs(step[:, (0, 2)]), axis=1), jnp.abs(step[:, 1]) / sqrt_q)
        step = step * jnp.minimum(1.0, _NEWTON_STEP_CAP / size)[:, None]
        y_try = y + step
        r_try, prox_try = fixed_point_map(y_try, prox_vals, params, loss, nodes)
        better = residual_error(r_try - y_try, y_try) < err
        y_next = jnp.where(better[:, None], y_try, y + damping * r)
        y_next = jnp.where(conv[:, None], y, y_next)
        prox_next = jnp.where(better[:, None, None], prox_try, prox_vals)
        iters = iters + (~conv).astype(iters.dtype)
        return y_next, prox_next, err, conv, it + 1, iters

    init = (y0, prox0, jnp.full((n,), jnp.inf), jnp.zeros((n,), bool), jnp.asarray(0),
            jnp.zeros((n,), jnp.int32))
    y, prox_warm, _, _, _, iters = jax.lax.while_loop(cond, body, init)
    # Final check at the point returned (the loop may have stopped on max_iter after a step).
    y_new, _ = fixed_point_map(y, prox_warm, params, loss, nodes)
    err = residual_error(y_new - y, y)
    return SolveOutput(y, err, err <= tol, iters)


@functools.partial(jax.jit, static_argnames=("loss", "nodes", "fine_nodes"))
def quadrature_correction(y, params: Params, *, loss: str, nodes: int, fine_nodes: int):
    """First-order change of y when the ``nodes``-point rule is replaced by ``fine_nodes``.

    dy = -J^-1 r_fine(y), with J the Jacobian of the residual under the coarse rule and r_fine
    the residual under the fine rule at the coarse solution: one Newton step towards the
    fine-rule fixed point. Its effect on the accuracy estimates the quadrature error.
    """
    n = y.shape[0]
    xi_c, _ = hermite_rule(nodes)
    xi_f, _ = hermite_rule(fine_nodes)
    _, jac, _ = _residual_and_jacobian(y, jnp.zeros((n, 2, nodes)) + jnp.asarray(xi_c),
                                       params, loss, nodes)
    y_fine, _ = fixed_point_map(y, jnp.zeros((n, 2, fine_nodes)) + jnp.asarray(xi_f),
                                params, loss, fine_nodes)
    r_fine = y_fine - y
    return -jnp.linalg.solve(jac, r_fine[..., None])[..., 0]


# ---------------------------------------------------------------------------------------------
# Square loss: the fixed point in closed form (theory/finite.md, eq. (SQ)).


def square_closed_form(params: Params):
    """(V, mbar, rho) for the square loss, each (N,); NaN where no solution exists (lam = 0 and
    alpha K <= 1).

    V is the positive root of alpha lam V^2 + (alpha (lam + K) - 1) V - 1 = 0 (the Marchenko-
    Pastur fixed point), a = lam + K / (1 + V) = 1 / (alpha V),
    mbar = ||mu|| B / ((1 + V) a + ||mu||^2 K),
    rho^2 = [K (m^2 + 1 + mbar^2) - 2 B m] / ([alpha a^2 (1 + V)^2] - K),  m = ||mu|| mbar.
    """
    alpha, c_plus, c_minus, mu_norm, lam = params
    k = c_plus + c_minus
    b = c_plus - c_minus
    lin = alpha * (lam + k) - 1.0
    disc = jnp.sqrt(lin * lin + 4.0 * alpha * lam)
    # Positive root written without cancellation: V = 2 / (lin + disc).
    v = jnp.where(lin + disc > 0, 2.0 / jnp.where(lin + disc > 0, lin + disc, 1.0), jnp.nan)
    a = lam + k / (1.0 + v)
    mbar = mu_norm * b / ((1.0 + v) * a + mu_norm**2 * k)
    m = mu_norm * mbar
    den = alpha * a * a * (1.0 + v) ** 2 - k
    rho2 = (k * (m * m + 1.0 + mbar * mbar) - 2.0 * b * m) / den
    return v, mbar, jnp.sqrt(rho2)
