"""n -> inf downstream classifier under label-only pruning
(docs/theory.md, section 'Label-only pruning in the large-sample limit').

The flip generator mislabels with probability ``p`` independently of ``x``; the verifier keeps a
correct sample with probability ``phi`` and a wrong one with probability ``psi``, independently
of ``x``. With c+ = (1-p) phi and c- = p psi, the population objective is

    F(w) = c+ E[l(y x^T w)] + c- E[l(-y x^T w)] + (lam/2) ||w||^2,   y x^T w ~ N(mu^T w, w^T Sigma w).

Square loss: w = B / (1 + K mu^T A^-1 mu) A^-1 mu, A = K Sigma + lam I, K = c+ + c-, B = c+ - c-.
Logistic loss: F depends on w only through m = mu^T w and s = w^T Sigma w (and ||w||^2), so in
the eigenbasis of Sigma its Hessian is diagonal plus rank 2 and a damped Newton step costs O(d).
Its minimiser lies on the two-parameter curve w = c (Sigma + nu I)^-1 mu with c = -G_m / (2 G_s)
and nu = lam / (2 G_s) (G the data term as a function of (m, s)); ``limit_curve_parameters``
returns (c, nu). For Sigma = I the problem is one-dimensional, w = a mu / ||mu||.

sign(mu^T w) = sign(B) for both losses and any Sigma and lam: the breakdown is p* exactly.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _validate
from ._numerics import (
    chunked,
    damped_newton,
    gauss_expectation,
    gradient_tolerance,
    ladder_size,
    norm_cdf,
    numpy_or_jax,
    padded_points,
    safe_div,
    stable_norm,
    unit_scaled,
)
from .proxy import pstar

__all__ = ["limit_weights", "limit_accuracy", "limit_curve_parameters", "breakdown"]

_NEWTON_MAX_ITER = 100


class _Problem(NamedTuple):
    """The problem in the eigenbasis of Sigma: everything (..., d) or (...)."""

    c_plus: jax.Array  # (1 - p) phi
    c_minus: jax.Array  # p psi
    lam: jax.Array
    eig: jax.Array  # eigenvalues of Sigma, (..., d)
    mu_t: jax.Array  # U^T mu, (..., d)
    basis: jax.Array | None  # U, (..., d, d); None for the identity


def _validated(p, phi, psi, mu, lam, loss, sigma):
    p = _validate.probability("p", p)
    phi, psi = _validate.keep_rates(phi, psi)
    lam = _validate.nonnegative("lam", lam)
    mu = _validate.vector("mu", mu)
    _validate.loss(loss)
    sigma = _validate.covariance(sigma, mu.shape[-1])
    _validate.signal(mu, sigma)
    return p, phi, psi, mu, lam, sigma


def _prepare(p, phi, psi, mu, lam, sigma):
    if sigma is None:
        eig = jnp.ones_like(mu)
        mu_t, basis = mu, None
    else:
        eig, basis = jnp.linalg.eigh(sigma)
        mu_t = jnp.einsum("...ji,...j->...i", basis, mu)
    return _Problem((1 - p) * phi, p * psi, lam, eig, mu_t, basis)


def _from_eigenbasis(problem, w_t):
    if problem.basis is None:
        return w_t
    return jnp.einsum("...ij,...j->...i", problem.basis, w_t)


def _square_weights_t(problem):
    k = problem.c_plus + problem.c_minus
    b = problem.c_plus - problem.c_minus
    den = k[..., None] * problem.eig + problem.lam[..., None]
    a_inv_mu = safe_div(problem.mu_t, den)
    quad = jnp.sum(problem.mu_t * a_inv_mu, axis=-1)
    coef = b / (1 + k * quad)
    # The same direction from den at unit scale: w ~ 1/lam underflows for a huge lam, this not.
    direction = jnp.sign(b)[..., None] * safe_div(problem.mu_t, unit_scaled(den)[0])
    return coef[..., None] * a_inv_mu, jnp.ones(coef.shape, bool), direction


# ---------------------------------------------------------------------------------------------
# Logistic loss.  z = m + sqrt(s) g;  l(z) = log(1 + e^-z) and its derivatives in z.


def _sig(z):
    return jax.nn.sigmoid(z)


def _loss_moments(m, s, order):
    """E[l^(k)(m + sqrt(s) g)] for k = 0..order (l^(0) = l), g ~ N(0, 1)."""
    r = jnp.sqrt(s)
    feats = [(safe_div(-m, r, fill=jnp.inf), safe_div(1.0, r, fill=jnp.inf))]

    def expect(f):
        return gauss_expectation(lambda g: f(m + r * g), feats, tilt=r)

    out = [expect(lambda z: jnp.logaddexp(0.0, -z))]
    if order >= 1:
        out.append(expect(lambda z: -_sig(-z)))
    if order >= 2:
        out.append(expect(lambda z: _sig(z) * _sig(-z)))
    if order >= 3:
        out.append(expect(lambda z: _sig(z) * _sig(-z) * (1 - 2 * _sig(z))))
    if order >= 4:
        out.append(
            expect(lambda z: _sig(z) * _sig(-z) * ((1 - 2 * _sig(z)) ** 2 - 2 * _sig(z) * _sig(-z)))
        )
    return out


def _objective(w, c_plus, c_minus, lam, eig, mu_t):
    """G(mu_t.w, sum eig w^2) + lam/2 |w|^2 for one problem; w in the eigenbasis.

    G(m, s) = (c+ + c-) E[l(m + sqrt(s) g)] + c- m  (using l(-z) = l(z) + z).
    """
    m, s = jnp.dot(mu_t, w), jnp.dot(eig, w * w)
    (e0,) = _loss_moments(m, s, 0)
    return (c_plus + c_minus) * e0 + c_minus * m + 0.5 * lam * jnp.dot(w, w)


def _newton_step(w, c_plus, c_minus, lam, eig, mu_t):
    """(gradient, Newton step) of ``_objective`` at w."""
    total = c_plus + c_minus
    m, s = jnp.dot(mu_t, w), jnp.dot(eig, w * w)
    _, e1, e2, e3, e4 = _loss_moments(m, s, 4)
    g_m, g_s = total * e1 + c_minus, 0.5 * total * e2
    g_mm, g_ms, g_ss = total * e2, 0.5 * total * e3, 0.25 * total * e4
    v = eig * w
    grad = g_m * mu_t + 2 * g_s * v + lam * w
    # Hessian = diag(dg) + U C U^T with U = [mu_t, v]: Woodbury in O(d).
    dg = 2 * g_s * eig + lam
    dg = jnp.where(dg > 0, dg, 1.0)  # only when nothing is kept and lam = 0: F = 0, grad = 0
    u = jnp.stack([mu_t, v], axis=1)
    c = jnp.array([[g_mm, 2 * g_ms], [2 * g_ms, 4 * g_ss]])
    dinv_grad = grad / dg
    dinv_u = u / dg[:, None]
    small = jnp.eye(2) + c @ (u.T @ dinv_u)
    step = dinv_grad - dinv_u @ jnp.linalg.solve(small, c @ (u.T @ dinv_grad))
    return grad, step


def _logistic_newton_points(c_plus, c_minus, lam, eig, mu_t):
    """Minimise ``_objective`` for a batch of problems ((N,) scalars, (N, k) eig and mu_t):
    the Newton loop on the batch (``damped_newton``), the objective and step vmapped."""
    args = (c_plus, c_minus, lam, eig, mu_t)
    w, grad = damped_newton(lambda w: jax.vmap(_objective)(w, *args),
                            lambda w: jax.vmap(_newton_step)(w, *args), jnp.zeros_like(mu_t),
                            max_iter=_NEWTON_MAX_ITER)
    gscale = jnp.abs(c_plus - c_minus) * jnp.sqrt(jnp.sum(mu_t * mu_t, axis=-1)) + lam * jnp.max(
        jnp.abs(w), axis=-1)
    tol = gradient_tolerance(w.dtype)
    converged = jnp.max(jnp.abs(grad), axis=-1) <= tol * (gscale + jnp.finfo(w.dtype).tiny) \
        + 1e-6 * tol
    # Nothing kept: F = lam/2 |w|^2 (or 0), minimised by w = 0 (the minimum-norm choice at lam = 0).
    nothing = c_plus + c_minus == 0
    return jnp.where(nothing[:, None], 0.0, w), converged | nothing


def _batch_shape(p, phi, psi, mu, lam, sigma):
    sigma_batch = () if sigma is None else jnp.shape(sigma)[:-2]
    return jnp.broadcast_shapes(jnp.shape(p), jnp.shape(phi), jnp.shape(psi), jnp.shape(mu)[:-1],
                                jnp.shape(lam), sigma_batch)


@functools.partial(jax.jit, static_argnames="size")
def _logistic_setup(p, phi, psi, mu, lam, sigma, *, size):
    """The logistic problem in Sigma's eigenbasis and the Newton solver's inputs: per point
    (c+, c-, lam) and (k,) eigenvalues and mu_t, flattened and padded to ``size`` points by
    repeating the first. For Sigma = I, k = 1 whatever d: w ∝ mu, a problem along mu / |mu|."""
    problem = _prepare(p, phi, psi, mu, lam, sigma)
    # Around w = 0, l(z) = log 2 - z/2 + z^2/8 + O(z^4): the minimiser of that quadratic model,
    # twice the square-loss solution at 4 lam, is the answer when it is so small that the
    # O(z^2) relative correction is below rounding (a huge lam, a tiny mu, almost nothing
    # kept). There Newton runs on a harmless stand-in and its result is discarded.
    # (The data term scaled by 1/4 rather than lam by 4: that cannot overflow.)
    w_sq, _, dir_sq = _square_weights_t(problem._replace(
        c_plus=problem.c_plus / 4, c_minus=problem.c_minus / 4))
    w_quad = 2 * w_sq
    reach = stable_norm(problem.mu_t) + 10 * jnp.sqrt(jnp.max(problem.eig, axis=-1))
    negligible = stable_norm(w_quad) * reach < 1e-8
    unit_mu, _ = unit_scaled(problem.mu_t)
    stand_in = problem._replace(
        lam=jnp.where(negligible, 1.0, problem.lam),
        mu_t=jnp.where(negligible[..., None], unit_mu, problem.mu_t))
    batch = _batch_shape(p, phi, psi, mu, lam, sigma)
    if stand_in.basis is None:
        eig = jnp.ones(batch + (1,), stand_in.mu_t.dtype)
        mu_t = jnp.broadcast_to(stable_norm(stand_in.mu_t), batch)[..., None]
    else:
        d = stand_in.mu_t.shape[-1]
        eig = jnp.broadcast_to(stand_in.eig, batch + (d,))
        mu_t = jnp.broadcast_to(stand_in.mu_t, batch + (d,))
    k = eig.shape[-1]
    flat = [jnp.broadcast_to(x, batch).reshape(-1) for x in stand_in[:3]]
    flat += [eig.reshape(-1, k), mu_t.reshape(-1, k)]
    return padded_points(flat, size), (problem, stand_in.mu_t, w_quad, dir_sq, negligible)


# Compiled on its own: it sees (N, k) only, so for Sigma = I one program serves every d.
_logistic_points = jax.jit(_logistic_newton_points)


@functools.partial(jax.jit, static_argnames=("batch", "outputs"))
def _logistic_finish(w, ok, aux, *, batch, outputs):
    """``outputs(problem, w, ok, direction)`` from the Newton solver's (padded) results."""
    problem, stand_in_mu_t, w_quad, dir_sq, negligible = aux
    n = math.prod(batch)
    w, ok = w[:n].reshape(batch + w.shape[-1:]), ok[:n].reshape(batch)
    if problem.basis is None:
        w = w * stand_in_mu_t / stable_norm(stand_in_mu_t)[..., None]
    w = jnp.where(negligible[..., None], w_quad, w)
    direction = jnp.where(negligible[..., None], dir_sq, w)
    ok = ok | negligible
    return outputs(problem, jnp.where(ok[..., None], w, jnp.nan), ok, direction)


def _logistic(outputs, p, phi, psi, mu, lam, sigma):
    """The logistic minimiser in three programs: the problem (where d and Sigma enter), the
    Newton solve on the points padded to ``lane_ladder`` (one program per padded count and k,
    so grids of many sizes share it), ``outputs`` (as ``_logistic_finish``). Traced arguments
    (the caller's jit) are not padded."""
    batch = _batch_shape(p, phi, psi, mu, lam, sigma)
    flat, aux = _logistic_setup(p, phi, psi, mu, lam, sigma,
                                size=ladder_size(math.prod(batch), p, phi, psi, mu, lam, sigma))
    w, ok = _logistic_points(*flat)
    return _logistic_finish(w, ok, aux, batch=batch, outputs=outputs)


def _point_bytes(loss, mu):
    """Peak intermediate bytes per grid point, from peak RSS on 4096-point grids at d = 10
    (~75 kB logistic, ~3 kB square): the Newton solver holds its quadrature panels per point."""
    d = jnp.shape(mu)[-1]
    return (60_000 + 2_000 * d) if loss == "logistic" else 200 * (d + 4)


def _chunked(kernel, p, phi, psi, mu, lam, sigma, *, point_bytes):
    """``kernel(p, phi, psi, mu, lam, sigma)`` over the grid in memory-bounded chunks."""
    args = [p, phi, psi, mu, lam] + ([] if sigma is None else [sigma])
    cores = [0, 0, 0, 1, 0] + ([] if sigma is None else [2])

    def run(p, phi, psi, mu, lam, *sigma):
        return kernel(p, phi, psi, mu, lam, sigma[0] if sigma else None)

    what = f"d = {jnp.shape(mu)[-1]}"
    if sigma is not None and jnp.ndim(sigma) == 2:
        # A shared Sigma is decomposed once: its d x d eigenbasis must fit as well.
        point_bytes = max(point_bytes, 8 * 4 * jnp.shape(sigma)[-1] ** 2)
    return chunked(run, args, cores, point_bytes=point_bytes, what=what)


def _solve_chunked(p, phi, psi, mu, lam, sigma, loss):
    return _chunked(functools.partial(_solve, loss=loss), p, phi, psi, mu, lam, sigma,
                    point_bytes=_point_bytes(loss, mu))


def _solve(p, phi, psi, mu, lam, sigma, loss):
    """(w_inf, accuracy) in the original basis: one program per shape for the square loss,
    three for the logistic (``_logistic``)."""
    if loss == "square":
        return _square_solve(p, phi, psi, mu, lam, sigma)
    return _logistic(_outputs, p, phi, psi, mu, lam, sigma)


@jax.jit
def _square_solve(p, phi, psi, mu, lam, sigma):
    problem = _prepare(p, phi, psi, mu, lam, sigma)
    w_t, ok, direction = _square_weights_t(problem)
    return _outputs(problem, jnp.where(ok[..., None], w_t, jnp.nan), ok, direction)


def _outputs(problem, w_t, ok, direction):
    """(w_inf, accuracy) in the original basis from w_t (NaN where not ok) in the eigenbasis and
    a direction parallel to it, of order one (the accuracy is read from it)."""
    # Scale-free: at unit scale, so that w^T Sigma w neither overflows nor underflows.
    direction, _ = unit_scaled(direction)
    mu_t, mu_scale = unit_scaled(problem.mu_t)
    eig, eig_scale = unit_scaled(problem.eig)
    margin = jnp.sum(mu_t * direction, axis=-1)
    spread = jnp.sqrt(jnp.sum(eig * direction * direction, axis=-1))
    ratio = safe_div(margin, spread) * (mu_scale / jnp.sqrt(eig_scale))[..., 0]
    acc = jnp.where(spread > 0, norm_cdf(ratio), 0.5)
    acc = jnp.where(ok & ~jnp.isnan(spread), acc, jnp.nan)
    return _from_eigenbasis(problem, w_t), acc


@numpy_or_jax
def limit_weights(p, phi, psi, mu, lam, loss="logistic", sigma=None):
    """The n -> inf minimiser w_inf of the label-only-pruned objective.

    Args:
      p: generator error rate in [0, 1]. phi, psi: keep rates of correct / wrong samples.
      mu: (..., d) class mean. lam: ridge strength >= 0. loss: "logistic" or "square".
      sigma: (..., d, d) covariance or None for the identity.
    All arguments broadcast over leading batch dimensions. Returns (..., d); NaN where the
    Newton solver (logistic) did not converge.
    """
    w, _ = _solve_chunked(*_validated(p, phi, psi, mu, lam, loss, sigma), loss=loss)
    return w


@numpy_or_jax
def limit_accuracy(p, phi, psi, mu, lam, loss="logistic", sigma=None):
    """Test accuracy Phi(mu^T w_inf / ||w_inf||_Sigma) of the n -> inf classifier.

    Same arguments as ``limit_weights``. For Sigma = I it is Phi(||mu||) below p*, 1/2 at p*, and
    1 - Phi(||mu||) above, for any lam and either loss.
    """
    _, acc = _solve_chunked(*_validated(p, phi, psi, mu, lam, loss, sigma), loss=loss)
    return acc


@numpy_or_jax
def limit_curve_parameters(p, phi, psi, mu, lam, sigma=None):
    """(c, nu) with w_inf = c (Sigma + nu I)^-1 mu for the logistic loss (nu = inf: w ∝ mu).

    Read off the fitted w_inf: nu = lam / (2 G_s) where 2 G_s is the curvature of the data term
    in w^T Sigma w, and c = mu-component scaling. Shapes as ``limit_weights``, (...) each.
    """
    return _chunked(_curve_parameters, *_validated(p, phi, psi, mu, lam, "logistic", sigma),
                    point_bytes=_point_bytes("logistic", mu))


def _curve_parameters(p, phi, psi, mu, lam, sigma):
    return _logistic(_curve_outputs, p, phi, psi, mu, lam, sigma)


def _curve_outputs(problem, w_t, ok, direction):
    m = jnp.sum(problem.mu_t * w_t, axis=-1)
    s = jnp.sum(problem.eig * w_t * w_t, axis=-1)
    total = problem.c_plus + problem.c_minus
    flat_shape = m.shape
    e1, e2 = jax.vmap(lambda mm, ss: tuple(_loss_moments(mm, ss, 2)[1:]))(
        m.reshape(-1), s.reshape(-1)
    )
    g_m = (jnp.broadcast_to(total, flat_shape).reshape(-1) * e1
           + jnp.broadcast_to(problem.c_minus, flat_shape).reshape(-1))
    two_g_s = jnp.broadcast_to(total, flat_shape).reshape(-1) * e2
    nu = safe_div(jnp.broadcast_to(problem.lam, flat_shape).reshape(-1), two_g_s, fill=jnp.inf)
    c = safe_div(-g_m, two_g_s, fill=0.0)
    return c.reshape(flat_shape), nu.reshape(flat_shape)


def breakdown(phi, psi):
    """The generator error rate where the n -> inf classifier turns against the truth: p*.

    Under label-only pruning it does not depend on lam, the loss, mu or Sigma
    (docs/theory.md, section 'Label-only pruning in the large-sample limit').
    """
    return pstar(phi, psi)
