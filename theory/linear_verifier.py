"""A linear verifier with the flip generator (docs/theory.md, section 'Linear verifiers').

The verifier keeps a synthesized sample iff ``y' x^T w_v > tau``. With ``w_v`` of any length the
rule is that of the unit vector ``w_v / ||w_v||_Sigma`` with threshold ``tau' = tau / ||w_v||_Sigma``,
and ``a = mu^T w_v / ||w_v||_Sigma`` is the verifier's signal:

    phi = Q(tau' - a),   psi = Q(tau' + a),   p* = phi / (phi + psi)   (at tau = 0, p* = Phi(a)).

Unlike label-only pruning, the kept set depends on ``x``: it pulls the learned direction toward
``w_v`` whatever ``p`` is, so the exact breakdown ``p_break`` (where mu^T w_inf changes sign)
depends on ``lam`` and the loss, and differs from p*. The n -> inf limits below take Sigma = I and
solve a two-dimensional problem in span(mu, w_v).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from . import _validate
from ._numerics import (
    chunked,
    damped_newton,
    gauss_expectation,
    gradient_tolerance,
    increasing_root,
    ladder_size,
    norm_cdf,
    norm_pdf,
    norm_sf,
    padded_points,
    numpy_or_jax,
    divide,
    safe_div,
    stable_norm,
    unit_scaled,
)
from .gaussian import _sigma_times

__all__ = [
    "keep_rates",
    "signal_weighted_rates",
    "tau_for_rate",
    "limit_weights",
    "limit_accuracy",
    "breakdown",
]

_BREAKDOWN_GRID = 17
_REFINEMENTS = 12  # each shrinks the bracket 16x: 16^-13 < 1e-15
_NEWTON_MAX_ITER = 500  # near-separable data (tiny lam) needs many steps


def _vectors(mu, w_v, sigma=None):
    mu = _validate.vector("mu", mu)
    w_v = _validate.vector("w_v", w_v)
    _validate.same_dimension(mu=mu, w_v=w_v)
    sigma = _validate.covariance(sigma, mu.shape[-1])
    return mu, w_v, sigma


@jax.jit
def _signal(mu, w_v, sigma=None):
    """(a, s, n): a = mu^T w_v / ||w_v||_Sigma, the verifier margin's mean for y = +1 in units
    of its spread, and ||w_v||_Sigma = s * n with s a scale of w_v and n of order sqrt(d) (a
    threshold is divided by s and n separately: the product may overflow or underflow)."""
    w_v, w_scale = unit_scaled(w_v)
    mu, mu_scale = unit_scaled(mu)
    if sigma is not None:
        sigma, sigma_scale = unit_scaled(sigma, (-2, -1))
        root = jnp.sqrt(sigma_scale[..., 0])
    else:
        root = jnp.ones_like(w_scale)
    n = jnp.sqrt(jnp.sum(w_v * _sigma_times(sigma, w_v), axis=-1))
    a = (jnp.sum(mu * w_v, axis=-1) / n) * (mu_scale / root)[..., 0]
    return a, w_scale[..., 0], n * root[..., 0]


def _threshold(tau, w_scale, n):
    """tau' = tau / ||w_v||_Sigma without forming the norm."""
    return divide(tau, w_scale) / n


@numpy_or_jax
def keep_rates(mu, w_v, tau=0.0, sigma=None):
    """(phi, psi) = (Q(tau' - a), Q(tau' + a)) for the rule y' x^T w_v > tau.

    ``mu``, ``w_v``: (..., d); ``tau``: (...); ``sigma``: (..., d, d) or None. Keep rates do not
    depend on the generator: they are conditional on the label being right or wrong.
    """
    mu, w_v, sigma = _vectors(mu, w_v, sigma)
    tau = _validate.finite("tau", tau)
    return _keep_rates(mu, w_v, tau, sigma)


@jax.jit  # one program, not one per operation (as theory.gaussian)
def _keep_rates(mu, w_v, tau, sigma):
    a, w_scale, n = _signal(mu, w_v, sigma)
    t = _threshold(tau, w_scale, n)
    return norm_sf(t - a), norm_sf(t + a)


@numpy_or_jax
def signal_weighted_rates(mu, w_v, tau=0.0):
    """(phi', psi') = (E[q(x, y) y mu^T x], E[q(x, -y) y mu^T x]), Sigma = I.

    phi' = ||mu||^2 Q(tau' - a) + a varphi(tau' - a),  psi' = ||mu||^2 Q(tau' + a) - a varphi(tau' + a).
    As lam -> inf, w_inf ∝ E[q y' x] and the breakdown tends to phi' / (phi' + psi') (which may lie
    outside [0, 1]: then there is no breakdown).
    """
    mu, w_v, _ = _vectors(mu, w_v)
    tau = _validate.finite("tau", tau)
    return _signal_weighted_rates(mu, w_v, tau)


@jax.jit
def _signal_weighted_rates(mu, w_v, tau):
    a, w_scale, n = _signal(mu, w_v)
    t = _threshold(tau, w_scale, n)
    m2 = stable_norm(mu) ** 2
    return (
        m2 * norm_sf(t - a) + a * norm_pdf(t - a),
        m2 * norm_sf(t + a) - a * norm_pdf(t + a),
    )


@numpy_or_jax
def tau_for_rate(mu, w_v, p, rate, sigma=None):
    """The threshold tau that keeps a fraction ``rate`` of the synthesized data (top-r selection).

    Solves (1 - p) Q(tau' - a) + p Q(tau' + a) = rate for the flip generator with error rate ``p``.
    ``rate`` in (0, 1]; rate 1 gives -inf. Shapes broadcast as in ``keep_rates``.
    """
    mu, w_v, sigma = _vectors(mu, w_v, sigma)
    p = _validate.probability("p", p)
    rate = _validate.rate("rate", rate)
    a, w_scale, n = _signal(mu, w_v, sigma)
    tau = chunked(_tau_for_rate, [a, p, rate], [0, 0, 0], point_bytes=_ROOT_BYTES)
    return tau * n * w_scale


@jax.jit
def _tau_for_rate(a, p, rate):
    shape = jnp.broadcast_shapes(a.shape, p.shape, rate.shape)
    a, p, rate = (jnp.broadcast_to(x, shape).reshape(-1) for x in (a, p, rate))

    def solve(a, p, r):
        def fn(t):
            kept = (1 - p) * norm_sf(t - a) + p * norm_sf(t + a)
            return r - kept, (1 - p) * norm_pdf(t - a) + p * norm_pdf(t + a)

        # Q(t + |a|) <= kept(t) <= Q(t - |a|) brackets the root around Q^-1(r).
        centre = -ndtri(jnp.where(r < 1, r, 0.5))
        root, _ = increasing_root(fn, centre - jnp.abs(a), centre + jnp.abs(a))
        return jnp.where(r < 1, root, -jnp.inf)

    return jax.vmap(solve)(a, p, rate).reshape(shape)


# ---------------------------------------------------------------------------------------------
# n -> inf limits. Coordinates: e1 = mu/|mu|, e2 completes w_v/|w_v| = cos(theta) e1 + sin(theta) e2.


def _plane(mu, w_v):
    """(m, cos, sin, e1, e2) with e2 = 0 when w_v is parallel to mu."""
    m = stable_norm(mu)
    u, _ = unit_scaled(mu)
    e1 = u / jnp.linalg.norm(u, axis=-1, keepdims=True)
    v, _ = unit_scaled(w_v)
    v = v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    cos = jnp.clip(jnp.sum(e1 * v, axis=-1), -1.0, 1.0)
    resid = v - cos[..., None] * e1
    sin = jnp.linalg.norm(resid, axis=-1)
    e2 = jnp.where(sin[..., None] > 0, resid / jnp.where(sin > 0, sin, 1.0)[..., None], 0.0)
    return m, cos, sin, e1, e2


def _square_point(m, cos, sin, tau, p, lam, data_weight=1.0):
    """w_inf in the (e1, e2) plane for the square loss: (M + lam I)^-1 b
    (docs/theory.md, section 'Linear verifiers').

    Returns (w, ok, direction): ``direction`` is c w with c = max(1, lam), of order one however
    large lam is (w itself ~ b / lam may underflow); the accuracy is read from it.
    ``data_weight`` multiplies the data term (the ridge term stays lam/2 |w|^2).
    """
    mu2 = jnp.stack([m, jnp.zeros_like(m)])
    v2 = jnp.stack([cos, sin])
    a = m * cos
    eye = jnp.eye(2, dtype=mu2.dtype)
    big_m = lam * eye
    b = jnp.zeros(2, mu2.dtype)
    for s, weight in ((1.0, 1 - p), (-1.0, p)):
        c = tau - s * a
        q, dens = norm_sf(c), norm_pdf(c)
        weight = data_weight * weight
        big_m = big_m + weight * (
            q * (eye + jnp.outer(mu2, mu2))
            + s * dens * (jnp.outer(mu2, v2) + jnp.outer(v2, mu2))
            + c * dens * jnp.outer(v2, v2)
        )
        b = b + weight * (s * q * mu2 + dens * v2)
    e = jnp.frexp(jnp.maximum(lam, 1.0))[1]  # solve at unit scale, exactly: w = 2^-e direction
    direction = jnp.linalg.solve(jnp.ldexp(big_m, -e), b)
    return jnp.ldexp(direction, -e), jnp.asarray(True), direction


def _conditional_sd(rho):
    """sqrt(1 - rho^2), with a zero (not NaN) gradient at |rho| = 1 (w parallel to w_v)."""
    resid = 1.0 - rho * rho
    pos = resid > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, resid, 1.0)), 0.0)


def _logistic_objective(w2, m, cos, sin, tau, p, lam):
    """Population objective in the plane, by one-dimensional quadrature per label sign.

    With t = x^T w / |w| ~ N(m_w, 1) and u = x^T w_v ~ N(a, 1), corr rho (given y = +1),
    P(keep | t) = Phi((s (a + rho g) - tau) / sqrt(1 - rho^2)), g = t - m_w, s = y' = +-1.
    """
    alpha, beta = w2[0], w2[1]
    r = jnp.sqrt(alpha * alpha + beta * beta)
    m_w = safe_div(m * alpha, r)
    rho = jnp.clip(safe_div(alpha * cos + beta * sin, r), -1.0, 1.0)
    sd = _conditional_sd(rho)
    a = m * cos
    total = 0.5 * lam * r * r
    for s, weight in ((1.0, 1 - p), (-1.0, p)):

        def integrand(g, s=s):
            arg = s * (a + rho * g) - tau
            keep = jnp.where(sd > 0, norm_cdf(safe_div(arg, sd)), (arg > 0) + 0.5 * (arg == 0))
            return keep * jnp.logaddexp(0.0, -s * r * (m_w + g))

        step_centre = safe_div(s * tau - a, rho, fill=jnp.inf)
        step_width = safe_div(sd, jnp.abs(rho), fill=jnp.inf)
        feats = [(-m_w, safe_div(1.0, r, fill=jnp.inf)), (step_centre, step_width)]
        total = total + weight * gauss_expectation(integrand, feats, tilt=r)
    return total


def _separable(lam, tau):
    """Logistic loss, lam = 0, tau' >= 0: every kept sample has y' x^T w_v > 0, so the loss has
    no finite minimiser and w runs off to infinity along w_v (the lam -> 0+ direction)."""
    return (lam == 0) & (tau >= 0)


def _logistic_points(m, cos, sin, tau, p, lam):
    """Damped Newton on the (convex) planar objectives of a batch of points (1-D arguments),
    each started from its quadratic model at 0. The Newton loop runs on the batch
    (``damped_newton``); the objective and its derivatives are vmapped.

    In the separable case (``_separable``) returns the limiting unit direction w_v instead.
    """
    # Around w = 0, l(z) = log 2 - z/2 + z^2/8 + O(z^4): the minimiser of that quadratic model,
    # 2 (M + 4 lam I)^-1 b, starts Newton, and is the answer when it is so small that the
    # O(z^2) relative correction is below rounding (almost nothing kept, a tiny mu, or a lam so
    # large that the ridge wins: there w ~ 1/lam may underflow, its direction does not).
    # (The data term scaled by 1/4 rather than lam by 4: that cannot overflow.)
    w_quad, _, quad_dir = jax.vmap(functools.partial(_square_point, data_weight=0.25))(
        m, cos, sin, tau, p, lam)
    w_quad = 2 * w_quad
    negligible = stable_norm(w_quad) * (m + 10.0) < 1e-8
    # There Newton runs on a harmless stand-in problem (its result is discarded).
    m, tau, lam = (jnp.where(negligible, safe, x) for x, safe in ((m, 1.0), (tau, 0.0), (lam, 1.0)))
    args = (m, cos, sin, tau, p, lam)
    restart = negligible | ~jnp.all(jnp.isfinite(w_quad), axis=-1)
    w0 = jnp.where(restart[:, None], jnp.array([1.0, 0.0], w_quad.dtype), w_quad)
    parallel = sin == 0  # then beta = 0 by symmetry and the problem is one-dimensional

    # (The step's gradient has beta's component zeroed where parallel.)
    w, grad = damped_newton(lambda w: jax.vmap(_logistic_objective)(w, *args),
                            lambda w: jax.vmap(_logistic_newton_step)(w, *args, parallel), w0,
                            max_iter=_NEWTON_MAX_ITER)
    tol = gradient_tolerance(w.dtype)
    size = jnp.max(jnp.abs(w), axis=-1)
    converged = jnp.max(jnp.abs(grad), axis=-1) <= tol * (1.0 + m * m + lam * size)
    direction = jnp.where(negligible[:, None], quad_dir, w)
    w = jnp.where(negligible[:, None], w_quad, w)
    separable = _separable(lam, tau) & ~negligible
    along_v = jnp.stack([cos, sin], axis=-1)
    w = jnp.where(separable[:, None], along_v, w)
    direction = jnp.where(separable[:, None], along_v, direction)
    return w, converged | separable | negligible, direction


def _logistic_newton_step(w, m, cos, sin, tau, p, lam, parallel):
    """(gradient, Newton step) of one point's planar objective at w."""

    def grad_twice(w):
        g = jax.grad(_logistic_objective)(w, m, cos, sin, tau, p, lam)
        return g, g

    hess, grad = jax.jacfwd(grad_twice, has_aux=True)(w)  # one forward-over-reverse pass
    grad = jnp.where(parallel, grad * jnp.array([1.0, 0.0]), grad)
    hess = jnp.where(parallel, jnp.array([[hess[0, 0], 0.0], [0.0, 1.0]]), hess)
    return grad, jnp.linalg.solve(hess, grad)


# The point solvers on a batch of points (1-D arguments): (w, ok, direction). Compiled on their
# own: they see the plane's coordinates only, so one program serves every d.
_POINT_SOLVERS = {"square": jax.jit(jax.vmap(_square_point)), "logistic": jax.jit(_logistic_points)}


def _inputs(mu, w_v, p, lam, tau, loss):
    mu, w_v, _ = _vectors(mu, w_v)
    _validate.signal(mu)
    p = _validate.probability("p", p)
    lam = _validate.nonnegative("lam", lam)
    tau = _validate.finite("tau", tau)
    _validate.loss(loss)
    return mu, w_v, p, lam, tau


def _batch_shape(mu, w_v, tau, *scalars):
    return jnp.broadcast_shapes(jnp.shape(mu)[:-1], jnp.shape(w_v)[:-1], jnp.shape(tau),
                                *(jnp.shape(x) for x in scalars))


@functools.partial(jax.jit, static_argnames="size")
def _flat_plane(mu, w_v, tau, *scalars, size=None):
    """Broadcast to one batch and flattened, padded to ``size`` points by repeating the first:
    ([m, cos, sin, tau', scalars...], e1, e2)."""
    m, cos, sin, e1, e2 = _plane(mu, w_v)
    v, w_scale = unit_scaled(w_v)
    tau = _threshold(tau, w_scale[..., 0], jnp.linalg.norm(v, axis=-1))
    shape = _batch_shape(mu, w_v, tau, *scalars)
    flat = [jnp.broadcast_to(x, shape).reshape(-1) for x in (m, cos, sin, tau, *scalars)]
    return padded_points(flat, size), e1, e2


def _plane_points(mu, w_v, tau, *scalars):
    """(batch shape, ``_flat_plane``'s flat coordinates and e1, e2), the flat arrays padded to
    ``lane_ladder`` (so that grids of many sizes share a few compiled solvers) unless they are
    traced by the caller's jit."""
    shape = _batch_shape(mu, w_v, tau, *scalars)
    flat, e1, e2 = _flat_plane(mu, w_v, tau, *scalars,
                               size=ladder_size(math.prod(shape), mu, w_v, tau, *scalars))
    return shape, flat, e1, e2


# Peak intermediate bytes per grid point, from peak RSS: ~5 kB square (4096 points), ~670 kB
# logistic (6.7 GB for 1e4 points unchunked; it differentiates a quadrature twice per step).
_ROOT_BYTES = 8_000


def _limit_bytes(loss, mu):
    d = jnp.shape(mu)[-1]
    return (700_000 if loss == "logistic" else 6_000) + 64 * d


def _limit_chunked(mu, w_v, p, lam, tau, loss):
    return chunked(functools.partial(_limit, loss=loss), [mu, w_v, p, lam, tau], [1, 1, 0, 0, 0],
                   point_bytes=_limit_bytes(loss, mu), what=f"d = {jnp.shape(mu)[-1]}")


def _limit(mu, w_v, p, lam, tau, loss):
    """(w, accuracy): the plane's coordinates (where d enters), the planar solve (one program
    per padded number of points, whatever d), back to R^d."""
    shape, flat, e1, e2 = _plane_points(mu, w_v, tau, p, lam)
    w2, ok, dir2 = _POINT_SOLVERS[loss](*flat)
    return _limit_outputs(w2, ok, dir2, flat, e1, e2, shape=shape, loss=loss)


@functools.partial(jax.jit, static_argnames=("shape", "loss"))
def _limit_outputs(w2, ok, dir2, flat, e1, e2, *, shape, loss):
    n = math.prod(shape)
    w2, ok, dir2, flat = w2[:n], ok[:n], dir2[:n], [x[:n] for x in flat]
    w2 = jnp.where(ok[:, None], w2, jnp.nan).reshape(shape + (2,))
    dir2, _ = unit_scaled(dir2.reshape(shape + (2,)))
    w = w2[..., :1] * e1 + w2[..., 1:] * e2
    if loss == "logistic":  # no finite minimiser: report the direction through the accuracy only
        w = jnp.where(_separable(flat[5], flat[3]).reshape(shape)[..., None], jnp.nan, w)
    m = flat[0].reshape(shape)
    size = jnp.linalg.norm(dir2, axis=-1)
    acc = jnp.where(size > 0, norm_cdf(m * safe_div(dir2[..., 0], size)), 0.5)
    return w, jnp.where(jnp.isnan(w2[..., 0]), jnp.nan, acc)


@numpy_or_jax
def limit_weights(mu, w_v, p, lam, tau=0.0, loss="logistic"):
    """n -> inf minimiser w_inf, (..., d), for the flip generator at error rate ``p`` pruned by
    the linear verifier (w_v, tau); Sigma = I. It lies in span(mu, w_v). NaN where the logistic
    Newton solver did not converge, and for the logistic loss at lam = 0 with tau >= 0: the kept
    set is then separable by w_v and w runs off to infinity along it (``limit_accuracy`` reports
    that direction's accuracy, Phi(mu^T w_v / ||w_v||))."""
    w, _ = _limit_chunked(*_inputs(mu, w_v, p, lam, tau, loss), loss=loss)
    return w


@numpy_or_jax
def limit_accuracy(mu, w_v, p, lam, tau=0.0, loss="logistic"):
    """Accuracy Phi(mu^T w_inf / ||w_inf||) of the n -> inf classifier; same arguments as
    ``limit_weights``. Below Bayes whenever w_v is not parallel to mu."""
    _, acc = _limit_chunked(*_inputs(mu, w_v, p, lam, tau, loss), loss=loss)
    return acc


def _breakdown(mu, w_v, lam, tau, loss):
    """Breakdowns on the plane's coordinates (one compiled search per padded number of points,
    whatever d; as ``_limit``)."""
    shape, flat, _, _ = _plane_points(mu, w_v, tau, lam)
    return _breakdown_points(*flat, loss=loss)[:math.prod(shape)].reshape(shape)


@functools.partial(jax.jit, static_argnames="loss")
def _breakdown_points(*flat, loss):
    solver = _POINT_SOLVERS[loss]

    def point(m, cos, sin, t, lam):
        def alignment(ps):  # mu-component of w_inf(p) on a batch of p; one compiled solver
            _, ok, dir2 = solver(*(jnp.broadcast_to(x, ps.shape) for x in (m, cos, sin, t)),
                                 ps, jnp.broadcast_to(lam, ps.shape))
            return dir2[:, 0], ok

        def first_turn(lo, hi):
            ps = jnp.linspace(lo, hi, _BREAKDOWN_GRID)
            align, ok = alignment(ps)
            turned = align <= 0
            i = jnp.argmax(turned)
            return ps, i, jnp.any(turned), jnp.all(ok)

        grid, first, any_turn, ok0 = first_turn(jnp.zeros_like(m), jnp.ones_like(m))

        def refine(_, state):
            lo, hi, ok = state
            ps, i, _, ok_i = first_turn(lo, hi)
            # mu^T w > 0 at lo and <= 0 at hi, so 1 <= i and the sign change is in [ps[i-1], ps[i]].
            return ps[jnp.maximum(i - 1, 0)], ps[i], ok & ok_i

        bracket = (grid[jnp.maximum(first - 1, 0)], grid[first], ok0)
        lo, hi, ok = jax.lax.fori_loop(0, _REFINEMENTS, refine, bracket)
        p_break = jnp.where(first == 0, 0.0, 0.5 * (lo + hi))
        p_break = jnp.where(any_turn, p_break, jnp.nan)
        return jnp.where(ok, p_break, jnp.nan)

    return jax.vmap(point)(*flat)


@numpy_or_jax
def breakdown(mu, w_v, lam, tau=0.0, loss="logistic"):
    """Exact breakdown p_break = sup{p0 : mu^T w_inf(p) > 0 for all p < p0} in [0, 1].

    NaN where the limit classifier stays aligned with mu for every p in [0, 1]; 0 where it is
    not aligned even at p = 0. Found on a grid of 17 values of p and refined by 12 rounds of
    17-point search in the bracket (to 1e-15); a sign change that reverses within one grid cell
    of width 1/16 would be missed.
    Compare with ``theory.pstar(*keep_rates(mu, w_v, tau))``: the measurable proxy.
    """
    mu, w_v, _ = _vectors(mu, w_v)
    _validate.signal(mu)
    lam = _validate.nonnegative("lam", lam)
    tau = _validate.finite("tau", tau)
    _validate.loss(loss)
    return chunked(functools.partial(_breakdown, loss=loss), [mu, w_v, lam, tau], [1, 1, 0, 0],
                   point_bytes=_BREAKDOWN_GRID * _limit_bytes(loss, mu),
                   what=f"d = {jnp.shape(mu)[-1]}")
