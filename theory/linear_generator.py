"""A linear generator with a linear verifier (docs/theory.md, section 'Linear generators').

The generator labels y' = sign(x^T w_g); the verifier keeps iff y' x^T w_v > tau. With unit
(in the Sigma norm) directions, a_g = mu^T w_g, a_v = mu^T w_v, rho = w_g^T Sigma w_v:

    p   = Phi(-a_g)
    phi = P(u_v > tau' | u_g > 0) = Phi2(a_g, a_v - tau'; rho) / Phi(a_g)
    psi = P(u_v < -tau' | u_g < 0) = Phi2(-a_g, -a_v - tau'; rho) / Phi(-a_g)

where (u_g, u_v) = (a_g + g_1, a_v + g_2) with corr(g_1, g_2) = rho. The ratios are computed as
conditional expectations over a truncated normal, E[Phi((rho g + a_v - tau') / sqrt(1 - rho^2)) |
g > -a_g], which stays accurate when Phi(-a_g) underflows (a nearly perfect generator).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _validate
from ._numerics import chunked, gauss_expectation, norm_cdf, numpy_or_jax, divide, safe_div, unit_scaled
from .gaussian import _sigma_times
from .linear_verifier import _conditional_sd

__all__ = ["keep_rates"]


def _conditional_keep(lower, shift, rho):
    """P(rho g + sqrt(1 - rho^2) e > -shift | g > lower) for independent standard normals g, e."""
    sd = _conditional_sd(rho)

    def integrand(g):
        arg = rho * g + shift
        return jnp.where(sd > 0, norm_cdf(safe_div(arg, sd)), (arg > 0) + 0.5 * (arg == 0))

    feature = (safe_div(-shift, rho, fill=jnp.inf), safe_div(sd, jnp.abs(rho), fill=jnp.inf))
    return gauss_expectation(integrand, [feature], lower=lower)


@jax.jit
def _rates(a_g, a_v, rho, tau):
    shape = jnp.broadcast_shapes(a_g.shape, a_v.shape, rho.shape, tau.shape)
    a_g, a_v, rho, tau = (jnp.broadcast_to(x, shape).reshape(-1) for x in (a_g, a_v, rho, tau))
    # Correct samples: g_1 > -a_g, kept iff a_v + g_2 > tau'. Wrong: g_1 < -a_g, kept iff
    # a_v + g_2 < -tau'; with (g_1, g_2) -> (-g_1, -g_2) that is g_1 > a_g, -a_v + g_2 > tau'.
    phi = jax.vmap(_conditional_keep)(-a_g, a_v - tau, rho)
    psi = jax.vmap(_conditional_keep)(a_g, -a_v - tau, rho)
    # Quadrature rounding can leave a rate a few ulps outside [0, 1].
    phi, psi = jnp.clip(phi, 0.0, 1.0), jnp.clip(psi, 0.0, 1.0)
    return norm_cdf(-a_g).reshape(shape), phi.reshape(shape), psi.reshape(shape)


@numpy_or_jax
def keep_rates(mu, w_g, w_v, tau=0.0, sigma=None):
    """(p, phi, psi) for y' = sign(x^T w_g) pruned by the rule y' x^T w_v > tau.

    ``mu``, ``w_g``, ``w_v``: (..., d) (any nonzero length); ``tau``: (...); ``sigma``:
    (..., d, d) or None for the identity. Returns three arrays of the broadcast batch shape.
    """
    mu = _validate.vector("mu", mu)
    w_g = _validate.vector("w_g", w_g)
    w_v = _validate.vector("w_v", w_v)
    _validate.same_dimension(mu=mu, w_g=w_g, w_v=w_v)
    sigma = _validate.covariance(sigma, mu.shape[-1])
    tau = _validate.finite("tau", tau)

    # Everything at unit scale: the rates depend on w_g and w_v only through their directions
    # (tau scales with w_v), and on (mu, Sigma) only up to (c mu, c^2 Sigma).
    w_g, _ = unit_scaled(w_g)
    w_v, v_scale = unit_scaled(w_v)
    mu, mu_scale = unit_scaled(mu)
    if sigma is not None:
        sigma, sigma_scale = unit_scaled(sigma, (-2, -1))
        root = jnp.sqrt(sigma_scale[..., 0])
    else:
        root = jnp.ones_like(mu_scale)
    mu_scale = (mu_scale / root)[..., 0]
    s_g, s_v = _sigma_times(sigma, w_g), _sigma_times(sigma, w_v)
    n_g = jnp.sqrt(jnp.sum(w_g * s_g, axis=-1))
    n_v = jnp.sqrt(jnp.sum(w_v * s_v, axis=-1))
    a_g = jnp.sum(mu * w_g, axis=-1) / n_g * mu_scale
    a_v = jnp.sum(mu * w_v, axis=-1) / n_v * mu_scale
    rho = jnp.clip(jnp.sum(w_g * s_v, axis=-1) / (n_g * n_v), -1.0, 1.0)
    tau = divide(tau, v_scale[..., 0]) / n_v / root[..., 0]
    # Two quadratures per point (measured: ~40 kB of intermediates).
    return chunked(_rates, [a_g, a_v, rho, tau], [0, 0, 0, 0], point_bytes=48_000)
