"""The binary Gaussian mixture and its per-sample random numbers
(docs/theory.md, section 'Model and notation').

    y uniform on {-1, +1},   x | y ~ N(y mu, Sigma),   Sigma = L L^T.

Samples are drawn in blocks of ``BLOCK`` rows, block ``b`` from ``fold_in(key, b)``, so the first
``n`` rows of a draw do not depend on how many rows were asked for: a sweep over ``n`` sees nested
training sets (and a result never depends on batching). Keys are explicit JAX PRNG keys.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from theory.conventions import unit_scaled

from ._checks import check_finite, check_nonnegative_int, check_vector

__all__ = ["Mixture", "mixture", "sample", "uniforms", "accuracy", "BLOCK"]

BLOCK = 256


class Mixture(NamedTuple):
    """mu (d,) and the Cholesky factor ``chol`` (d, d) of Sigma, or None for the identity."""

    mu: jax.Array
    chol: jax.Array | None

    @property
    def d(self) -> int:
        return self.mu.shape[-1]

    @property
    def sigma(self):
        return None if self.chol is None else self.chol @ self.chol.T


def mixture(mu, sigma=None) -> Mixture:
    """Validated ``Mixture``: mu a (d,) vector, d >= 1; sigma None or symmetric positive definite
    (d, d). Arrays are float64 under JAX's x64 mode, else the default float dtype."""
    mu = check_vector("mu", mu)
    if sigma is None:
        return Mixture(mu, None)
    sigma_np = np.asarray(check_finite("sigma", sigma), dtype=float)
    d = mu.shape[0]
    if sigma_np.shape != (d, d):
        raise ValueError(f"sigma must have shape (d, d) = ({d}, {d}) to match mu; got {sigma_np.shape}")
    if not np.allclose(sigma_np, sigma_np.T, rtol=1e-10, atol=1e-12):
        raise ValueError("sigma must be symmetric")
    try:
        chol = np.linalg.cholesky(sigma_np)
    except np.linalg.LinAlgError as err:
        raise ValueError("sigma must be positive definite") from err
    return Mixture(mu, jnp.asarray(chol, mu.dtype))


_MIN_BLOCKS = 4


def _block_count(n: int) -> int:
    """Blocks drawn for ``n`` rows: at least 4, then a step of ``simulate.fit.bucket``'s ladder
    (at most 25 % more), so that one compiled sampler serves many n. The extra rows are cut
    off: blocks are independent, so the first n rows are those of an exact draw."""
    from .fit import bucket

    return bucket(max(1, -(-n // BLOCK)), _MIN_BLOCKS)


def _blocks(key, count, draw):
    """Concatenate ``draw(fold_in(key, b))`` over blocks b = 0, 1, ..., count - 1."""
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(count, dtype=jnp.uint32))
    out = jax.vmap(draw)(keys)
    return out.reshape((count * BLOCK,) + out.shape[2:])


def sample(key, mix: Mixture, n: int):
    """Draw ``n`` labelled samples: x (n, d), y (n,) in {-1, +1}. Prefix-stable in ``n``."""
    n = check_nonnegative_int("n", n)
    x, y = _sample(key, mix, _block_count(n))
    return x[..., :n, :], y[..., :n]


@functools.partial(jax.jit, static_argnums=2)
def _sample(key, mix, count):
    dtype = mix.mu.dtype
    d = mix.d

    def draw(block_key):
        k_y, k_z = jax.random.split(block_key)
        y = jnp.where(jax.random.bernoulli(k_y, 0.5, (BLOCK,)), 1.0, -1.0).astype(dtype)
        z = jax.random.normal(k_z, (BLOCK, d), dtype)
        return jnp.concatenate([y[:, None], z], axis=1)

    yz = _blocks(key, count, draw)
    y, z = yz[:, 0], yz[:, 1:]
    if mix.chol is not None:
        z = z @ mix.chol.T
    return y[:, None] * mix.mu + z, y


def uniforms(key, n: int, dtype=None):
    """``n`` independent U(0, 1) numbers, (n,), prefix-stable in ``n`` like ``sample``."""
    n = check_nonnegative_int("n", n)
    out = _uniforms(key, _block_count(n), jnp.dtype(dtype or jnp.result_type(float)))
    return out[..., :n]


@functools.partial(jax.jit, static_argnums=(1, 2))
def _uniforms(key, count, dtype):
    return _blocks(key, count, lambda k: jax.random.uniform(k, (BLOCK,), dtype))


def accuracy(w, mix: Mixture):
    """Exact test accuracy of sign(x^T w): Phi(mu^T w / sqrt(w^T Sigma w)); 1/2 where w = 0.

    w (..., d) -> (...). No test set is sampled.
    """
    # Scale-free in w (and in (mu, L) -> (c mu, c L)): at unit scale, so that w^T Sigma w
    # neither overflows nor underflows.
    w, _ = unit_scaled(w)
    mu, scale = unit_scaled(mix.mu)
    chol = mix.chol
    if chol is not None:
        chol, chol_scale = unit_scaled(chol, (-2, -1))
        scale = scale / chol_scale[..., 0]
    margin = jnp.sum(w * mu, axis=-1)
    proj = w if chol is None else w @ chol  # w^T L, so |w^T L|^2 = w^T Sigma w
    spread = jnp.sqrt(jnp.sum(proj * proj, axis=-1))
    ratio = margin / jnp.where(spread > 0, spread, 1.0) * scale[..., 0]
    return jnp.where(spread > 0, jax.scipy.special.ndtr(ratio), 0.5)
