"""Accuracy of linear rules on the Gaussian mixture x | y ~ N(y mu, Sigma)
(docs/theory.md, section 'Model and notation')."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _validate
from ._numerics import norm_cdf, numpy_or_jax, safe_div, unit_scaled


def _sigma_times(sigma, w):
    return w if sigma is None else jnp.einsum("...ij,...j->...i", sigma, w)


@numpy_or_jax
def bayes_accuracy(mu, sigma=None):
    """Phi(sqrt(mu^T Sigma^-1 mu)), attained by w ∝ Sigma^-1 mu. ``mu``: (..., d); ``sigma``:
    (..., d, d) or None (identity). Returns the broadcast batch shape."""
    mu = _validate.vector("mu", mu)
    sigma = _validate.covariance(sigma, mu.shape[-1])
    return _bayes_accuracy(mu, sigma)


# Compiled whole: run operation by operation, each operation and shape is a program of its own
# (compiled, or read from the cache, one by one: milliseconds each).
@jax.jit
def _bayes_accuracy(mu, sigma):
    # (mu, Sigma) -> (c mu, c^2 Sigma) leaves the answer unchanged: work at unit scale.
    mu, mu_scale = unit_scaled(mu)
    if sigma is None:
        snr2 = jnp.sum(mu * mu, axis=-1)
    else:
        sigma, sigma_scale = unit_scaled(sigma, (-2, -1))
        mu_scale = mu_scale / jnp.sqrt(sigma_scale[..., 0])
        mu_b = jnp.broadcast_to(mu, jnp.broadcast_shapes(mu.shape, sigma.shape[:-1]))
        snr2 = jnp.sum(mu_b * jnp.linalg.solve(sigma, mu_b[..., None])[..., 0], axis=-1)
    return norm_cdf(jnp.sqrt(snr2) * mu_scale[..., 0])


@numpy_or_jax
def linear_accuracy(w, mu, sigma=None):
    """acc(w) = Phi(mu^T w / sqrt(w^T Sigma w)) for the rule sign(x^T w).

    ``w``, ``mu``: (..., d); ``sigma``: (..., d, d) or None. ``w = 0`` predicts no class; it
    counts as a coin flip, accuracy 1/2 (the n -> inf classifier at p = p* is w = 0).
    """
    w = _validate.vector("w", w, nonzero=False)
    mu = _validate.vector("mu", mu)
    _validate.same_dimension(w=w, mu=mu)
    sigma = _validate.covariance(sigma, mu.shape[-1])
    return _linear_accuracy(w, mu, sigma)


@jax.jit
def _linear_accuracy(w, mu, sigma=None):
    # Scale-free in w, and in (mu, Sigma) -> (c mu, c^2 Sigma): computed at unit scale so that
    # w^T Sigma w neither overflows nor underflows.
    w, _ = unit_scaled(w)
    mu, mu_scale = unit_scaled(mu)
    if sigma is not None:
        sigma, sigma_scale = unit_scaled(sigma, (-2, -1))
        mu_scale = mu_scale / jnp.sqrt(sigma_scale[..., 0])
    margin = jnp.sum(mu * w, axis=-1)
    spread = jnp.sqrt(jnp.sum(w * _sigma_times(sigma, w), axis=-1))
    ratio = safe_div(margin, spread) * mu_scale[..., 0]
    return jnp.where(spread > 0, norm_cdf(ratio), 0.5)
