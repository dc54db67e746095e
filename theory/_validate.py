"""Input checks that name the offending parameter.

Checks run on concrete values only: inside ``jax.jit`` the values are tracers and cannot be
inspected, so the caller is responsible there (the functions still compute, NaN in, NaN out).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._numerics import is_concrete

LOSSES = ("logistic", "square")


def _as_array(name, x):
    try:
        arr = jnp.asarray(x, dtype=jnp.result_type(float))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric; got {x!r}") from err
    return arr


def _values(x):
    return np.asarray(x) if is_concrete(x) else None


def _first_bad(values, bad):
    return values[bad].ravel()[0]


def finite(name, x):
    arr = _as_array(name, x)
    v = _values(arr)
    if v is not None and not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite; got {_first_bad(v, ~np.isfinite(v))}")
    return arr


def probability(name, x):
    """A value (or array) in [0, 1]."""
    arr = finite(name, x)
    v = _values(arr)
    if v is not None and np.any((v < 0) | (v > 1)):
        bad = _first_bad(v, (v < 0) | (v > 1))
        raise ValueError(f"{name} must be a probability in [0, 1]; got {bad}")
    return arr


def rate(name, x):
    """A selection rate in (0, 1]."""
    arr = finite(name, x)
    v = _values(arr)
    if v is not None and np.any((v <= 0) | (v > 1)):
        bad = _first_bad(v, (v <= 0) | (v > 1))
        raise ValueError(f"{name} must be a rate in (0, 1]; got {bad}")
    return arr


def nonnegative(name, x):
    arr = finite(name, x)
    v = _values(arr)
    if v is not None and np.any(v < 0):
        raise ValueError(f"{name} must be >= 0; got {_first_bad(v, v < 0)}")
    return arr


def keep_rates(phi, psi):
    """Two keep rates in [0, 1], not both zero (a verifier that keeps nothing defines no p*)."""
    phi = probability("phi", phi)
    psi = probability("psi", psi)
    vp, vq = _values(phi), _values(psi)
    if vp is not None and vq is not None and np.any((vp == 0) & (vq == 0)):
        raise ValueError("phi and psi are both 0: the verifier keeps nothing, p* is undefined")
    return phi, psi


def vector(name, x, *, nonzero=True):
    """A vector (or a batch of vectors, last axis = dimension) with d >= 1 finite entries."""
    arr = finite(name, x)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a vector of length d >= 1; got a scalar")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have d >= 1 entries; got shape {arr.shape}")
    v = _values(arr)
    if nonzero and v is not None and np.any(np.all(v == 0, axis=-1)):
        raise ValueError(f"{name} must be a nonzero vector; got all zeros")
    return arr


def same_dimension(**vectors):
    dims = {name: arr.shape[-1] for name, arr in vectors.items() if arr is not None}
    if len(set(dims.values())) > 1:
        detail = ", ".join(f"{k} has d={v}" for k, v in dims.items())
        raise ValueError(f"dimension mismatch: {detail}")


def covariance(sigma, d):
    """A symmetric positive-definite (..., d, d) matrix, or None for the identity."""
    if sigma is None:
        return None
    arr = finite("sigma", sigma)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"sigma must be a square (d, d) matrix; got shape {arr.shape}")
    if arr.shape[-1] != d:
        raise ValueError(f"dimension mismatch: sigma is {arr.shape[-1]}x{arr.shape[-1]}, mu has d={d}")
    v = _values(arr)
    if v is not None:
        if not np.allclose(v, np.swapaxes(v, -1, -2), rtol=1e-10, atol=1e-12):
            raise ValueError("sigma must be symmetric")
        if np.any(np.linalg.eigvalsh(v) <= 0):
            raise ValueError("sigma must be positive definite")
    return arr


def loss(name):
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {name!r}")
    return name
