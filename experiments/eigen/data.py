"""Symmetric matrices with uniform entries and their eigenvalues (LAWT's eigenvalue task).

A matrix: entries i.i.d. uniform on [-scale, scale] (scale = 10), the lower triangle mirrored
to the upper. Target: the d eigenvalues in decreasing order (``numpy.linalg.eigvalsh``).
Matrix ``i`` of a stream is drawn from ``fold_in(key, i)``, so a set of matrices does not
depend on how many are drawn or in which chunks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["matrices", "eigenvalues"]


def matrices(key, count: int, d: int, *, start: int = 0, scale: float = 10.0) -> np.ndarray:
    """Matrices ``start .. start + count - 1`` of the stream ``key``: (count, d, d) float64."""
    for name, v in (("count", count), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start must be a non-negative integer; got {start!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0; got {scale!r}")

    def one(i):
        u = jax.random.uniform(jax.random.fold_in(key, i), (d, d), jnp.float32, -1.0, 1.0)
        lower = jnp.tril(u)
        return lower + jnp.tril(u, -1).T

    a = jax.vmap(one)(jnp.arange(start, start + count))
    return np.asarray(a, np.float64) * scale


def eigenvalues(a) -> np.ndarray:
    """Eigenvalues of symmetric matrices (..., d, d), in decreasing order: (..., d)."""
    a = np.asarray(a, float)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"matrices must be (..., d, d); got shape {a.shape}")
    if not np.allclose(a, np.swapaxes(a, -1, -2)):
        raise ValueError("matrices must be symmetric")
    return np.linalg.eigvalsh(a)[..., ::-1].copy()
