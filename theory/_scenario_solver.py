"""Numerical kernels of ``theory.finite.solve``: the general fixed point, batched over points.

docs/theory.md ("General scenarios") derives it. Each point carries its scenario as atoms
(``theory.scenario.Atoms``, padded to a common count J with zero weights): kept mass ``weight``,
``u`` = y' times the input's coordinates in the span R of the rule directions, ``e`` = y' y. The
unknowns, in the coordinates Newton uses, are

    y = (log V, a_1, a_2, a_m, log rho)          shape (N, 5)

with a = (a_1, a_2) the overlaps of w with R's basis, a_m with the direction of mu orthogonal to
R, and rho = ||w|| orthogonal to span(mu, R). With sigma = sqrt(a_m^2 + rho^2),

    h = u . a + e mu_m a_m + sigma xi,    xi ~ N(0, 1),
    P = prox_{V l}(h),  f = l'(P),  d = l''(P) / (1 + V l''(P)),
    D = E[d],  S = E[e f],  G = E[f u],  F2 = E[f^2]          (E: atoms x Gauss-Hermite in xi)
    V' = 1 / (alpha (lam + D)),  a' = (D a - G) / (lam + D),  a_m' = -mu_m S / (lam + D),
    rho' = sqrt(F2 / alpha) / (lam + D).

At alpha = inf, V = rho = 0 (the population problem); their coordinates are pinned to 0.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._finite_solver import LOSSES, hermite_rule

_NEWTON_STEP_CAP = 1.0
DIM = 5


class Params(NamedTuple):
    """Per-point inputs: alpha, lam, infinite (N,); atoms (N, J) / (N, J, 2); mu_r (N, 2);
    mu_m (N,); active (N, 2)."""

    alpha: jax.Array
    lam: jax.Array
    infinite: jax.Array
    weight: jax.Array
    u: jax.Array
    e: jax.Array
    mu_r: jax.Array
    mu_m: jax.Array
    active: jax.Array


def unpack(y, infinite):
    v = jnp.where(infinite, 0.0, jnp.exp(y[:, 0]))
    rho = jnp.where(infinite, 0.0, jnp.exp(y[:, 4]))
    return v, y[:, 1:3], y[:, 3], rho


def sqrt_q(y, infinite):
    _, a, am, rho = unpack(y, infinite)
    return jnp.sqrt(jnp.sum(a * a, axis=1) + am * am + rho * rho)


def fixed_point_map(y, prox_warm, params: Params, loss: str, nodes: int):
    """(y', prox values (N, J, nodes)) for one application of the map."""
    prox, derivatives = LOSSES[loss]
    xi, wq = hermite_rule(nodes)
    v, a, am, rho = unpack(y, params.infinite)
    # floored: at alpha = inf with mu in R both terms vanish, and sqrt'(0) would poison the
    # Jacobian with NaN (the floor changes h by 1e-150)
    sigma = jnp.sqrt(jnp.maximum(am * am + rho * rho, 1e-300))
    h0 = jnp.einsum("njr,nr->nj", params.u, a) + params.e * (params.mu_m * am)[:, None]
    h = h0[..., None] + sigma[:, None, None] * jnp.asarray(xi)
    vb = v[:, None, None]
    p = prox(h, vb, prox_warm)
    l1, l2 = derivatives(p)
    d = l2 / (1.0 + vb * l2)
    weight = params.weight[..., None] * jnp.asarray(wq)
    big_d = jnp.sum(weight * d, axis=(1, 2))
    big_s = jnp.sum(weight * params.e[..., None] * l1, axis=(1, 2))
    big_g = jnp.einsum("njk,njr->nr", weight * l1, params.u)
    f2 = jnp.sum(weight * l1 * l1, axis=(1, 2))
    lam_d = params.lam + big_d
    alpha = jnp.where(params.infinite, 1.0, params.alpha)
    a_new = params.active * (big_d[:, None] * a - big_g) / lam_d[:, None]
    y_new = jnp.concatenate([
        jnp.where(params.infinite, 0.0, -jnp.log(alpha * lam_d))[:, None],
        a_new,
        (-params.mu_m * big_s / lam_d)[:, None],
        jnp.where(params.infinite, 0.0, 0.5 * jnp.log(f2 / alpha) - jnp.log(lam_d))[:, None],
    ], axis=1)
    return y_new, p


def residual_error(r, y, infinite):
    """max(|r_logV|, |r_logrho|, |r_a| / ||w||): scale-free, as in ``_finite_solver``."""
    sq = sqrt_q(y, infinite)
    err = jnp.maximum(jnp.abs(r[:, 0]), jnp.abs(r[:, 4]))
    err = jnp.maximum(err, jnp.max(jnp.abs(r[:, 1:4]), axis=1) / sq)
    return jnp.where(jnp.isfinite(err), err, jnp.inf)


def _residual_and_jacobian(y, prox_warm, params, loss, nodes):
    def resid(yy):
        y_new, p = fixed_point_map(yy, prox_warm, params, loss, nodes)
        return y_new - yy, p

    n = y.shape[0]
    basis = jnp.broadcast_to(jnp.eye(DIM)[:, None, :], (DIM, n, DIM))
    (r, p), (dr, _) = jax.vmap(lambda t: jax.jvp(resid, (y,), (t,)), out_axes=(None, 0))(basis)
    return r, jnp.transpose(dr, (1, 2, 0)), p


class SolveOutput(NamedTuple):
    y: jax.Array
    error: jax.Array
    converged: jax.Array
    iterations: jax.Array


# max_iter is traced: the retry with twice the iterations reuses the program.
@functools.partial(jax.jit, static_argnames=("loss", "nodes"))
def newton_solve(y0, params: Params, *, loss: str, nodes: int, tol, max_iter, damping):
    """Safeguarded Newton on T(y) = y with a damped fallback (as ``_finite_solver``)."""
    n, j = params.weight.shape
    xi, _ = hermite_rule(nodes)
    prox0 = jnp.zeros((n, j, nodes)) + jnp.asarray(xi)

    def cond(state):
        return (~jnp.all(state[3])) & (state[4] < max_iter)

    def body(state):
        y, prox_warm, _, conv, it, iters = state
        r, jac, prox_vals = _residual_and_jacobian(y, prox_warm, params, loss, nodes)
        err = residual_error(r, y, params.infinite)
        conv_here = conv | (err <= tol)
        step = -jnp.linalg.solve(jac, r[..., None])[..., 0]
        step = jnp.where(jnp.all(jnp.isfinite(step), axis=1, keepdims=True), step, damping * r)
        sq = sqrt_q(y, params.infinite)
        size = jnp.maximum(jnp.maximum(jnp.abs(step[:, 0]), jnp.abs(step[:, 4])),
                           jnp.max(jnp.abs(step[:, 1:4]), axis=1) / sq)
        step = step * jnp.minimum(1.0, _NEWTON_STEP_CAP / size)[:, None]
        y_try = y + step
        r_try, prox_try = fixed_point_map(y_try, prox_vals, params, loss, nodes)
        err_try = residual_error(r_try - y_try, y_try, params.infinite)
        better = err_try < err
        y_next = jnp.where(better[:, None], y_try, y + damping * r)
        y_next = jnp.where(conv_here[:, None], y, y_next)
        # the trial's residual is already known: a point whose accepted step lands within tol
        # is done without another Jacobian (a damped step's residual is not known)
        err_next = jnp.where(conv_here, err, jnp.where(better, err_try, jnp.inf))
        prox_next = jnp.where(better[:, None, None], prox_try, prox_vals)
        iters = iters + (~conv_here).astype(iters.dtype)
        return y_next, prox_next, err_next, conv_here | (err_next <= tol), it + 1, iters

    init = (y0, prox0, jnp.full((n,), jnp.inf), jnp.zeros((n,), bool), jnp.asarray(0),
            jnp.zeros((n,), jnp.int32))
    y, _, err, conv, _, iters = jax.lax.while_loop(cond, body, init)
    return SolveOutput(y, err, conv, iters)


@functools.partial(jax.jit, static_argnames=("loss", "nodes", "fine_nodes"))
def quadrature_correction(y, params: Params, fine: Params, *, loss: str, nodes: int,
                          fine_nodes: int):
    """One Newton step from the coarse solution toward the fixed point of the finer rule
    (``fine``: the atoms built with twice the nodes; ``fine_nodes`` Hermite points)."""
    n, j = params.weight.shape
    xi_c, _ = hermite_rule(nodes)
    xi_f, _ = hermite_rule(fine_nodes)
    _, jac, _ = _residual_and_jacobian(y, jnp.zeros((n, j, nodes)) + jnp.asarray(xi_c),
                                       params, loss, nodes)
    y_fine, _ = fixed_point_map(
        y, jnp.zeros((n, fine.weight.shape[1], fine_nodes)) + jnp.asarray(xi_f), fine, loss,
        fine_nodes)
    return -jnp.linalg.solve(jac, (y_fine - y)[..., None])[..., 0]


# ---------------------------------------------------------------------------------------------
# Square loss: the fixed point is linear in (a, a_m) once V is known (docs/theory.md).


def square_closed_form(alpha, lam, infinite, weight, u, e, mu_r, mu_m, active):
    """y = (log V, a_1, a_2, a_m, log rho) for the square loss, NumPy, each point (N, ...).

    With K = E[1], B = E[e], c = E[u], b = E[e u], M = E[u u^T] over the atoms:
      alpha lam V^2 + (alpha (lam + K) - 1) V - 1 = 0,    L = lam (1 + V),
      [[L I + M, mu_m b], [mu_m b^T, L + K (1 + mu_m^2)]] (a, a_m) = (c, mu_m B),
      rho^2 (alpha (lam + K/(1+V))^2 (1+V)^2 - K) = E[(g - 1)^2] + K a_m^2,  g = u.a + e mu_m a_m.
    At alpha = inf, V = 0 and rho = 0. NaN where there is no solution (lam = 0, alpha K <= 1).
    """
    k = weight.sum(axis=1)
    big_b = (weight * e).sum(axis=1)
    c = np.einsum("nj,njr->nr", weight, u)
    b = np.einsum("nj,nj,njr->nr", weight, e, u)
    m = np.einsum("nj,njr,njs->nrs", weight, u, u)
    alpha_f = np.where(infinite, 1.0, alpha)
    lin = alpha_f * (lam + k) - 1.0
    disc = np.sqrt(lin * lin + 4.0 * alpha_f * lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(lin + disc > 0, 2.0 / np.where(lin + disc > 0, lin + disc, 1.0), np.nan)
    v = np.where(infinite, 0.0, v)
    big_l = lam * (1.0 + v)
    n = alpha.shape[0]
    mat = np.zeros((n, 3, 3))
    mat[:, :2, :2] = m + big_l[:, None, None] * np.eye(2)
    mat[:, :2, 2] = mu_m[:, None] * b
    mat[:, 2, :2] = mu_m[:, None] * b
    mat[:, 2, 2] = big_l + k * (1.0 + mu_m**2)
    rhs = np.concatenate([c, (mu_m * big_b)[:, None]], axis=1)
    # unused coordinates of R: a = 0 (identity rows keep the system regular)
    for r in range(2):
        off = active[:, r] == 0
        mat[off, r, :] = 0.0
        mat[off, :, r] = 0.0
        mat[off, r, r] = 1.0
        rhs[off, r] = 0.0
    with np.errstate(invalid="ignore"):
        sol = np.linalg.solve(np.where(np.isfinite(mat), mat, 0.0)[..., :, :],
                              rhs[..., None])[..., 0]
    a, am = sol[:, :2], sol[:, 2]
    g = np.einsum("njr,nr->nj", u, a) + e * (mu_m * am)[:, None]
    err2 = np.sum(weight * (g - 1.0) ** 2, axis=1) + k * am**2
    with np.errstate(divide="ignore", invalid="ignore"):
        den = alpha_f * (lam + k / (1.0 + v)) ** 2 * (1.0 + v) ** 2 - k
        rho2 = err2 / den
        log_rho = np.where(infinite, 0.0, 0.5 * np.log(rho2))
        log_v = np.where(infinite, 0.0, np.log(v))
    return np.concatenate([log_v[:, None], a, am[:, None], log_rho[:, None]], axis=1)
