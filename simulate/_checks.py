"""Input checks that name the offending parameter, and the NumPy/JAX calling convention.

Checks inspect concrete values only: inside ``jax.jit`` values are tracers and the caller is
responsible for them.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from theory.conventions import numpy_or_jax as _theory_numpy_or_jax
from theory.conventions import real_dtype

# Seeds and seed ids feed jax.random: the root seed is a signed 64-bit integer, seed ids are
# folded in as unsigned 32-bit ones.
MAX_ROOT_SEED = 2**63 - 1
MAX_SEED_ID = 2**32 - 1


def _concrete(x):
    return None if isinstance(x, jax.core.Tracer) else np.asarray(x)


def _array_module(arr):
    """The library that reduces ``arr`` without copying it (jnp or np); None for a tracer or an
    empty array, which there is nothing to check in."""
    if isinstance(arr, jax.core.Tracer) or not arr.size:
        return None
    return jnp if isinstance(arr, jax.Array) else np


def as_array(name, x, dtype=None):
    """JAX arrays stay JAX arrays (cast to ``dtype`` if given); anything else becomes a NumPy
    float64 array, so parameters keep full precision whatever JAX's x64 setting. Bools,
    complex values, strings and objects are refused (the theory package's policy)."""
    real_dtype(name, x)
    try:
        if isinstance(x, jax.Array):
            return x.astype(dtype) if dtype is not None else (
                x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float)))
        arr = np.asarray(x, dtype=np.float64 if dtype is None else dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric; got {x!r}") from err
    return arr


def check_finite(name, x, dtype=None):
    """``x`` as a float JAX array; ValueError if any entry is NaN or infinite."""
    arr = as_array(name, x, dtype)
    xp = _array_module(arr)
    if xp is None:
        return arr
    # A finite sum proves every entry finite in one reduction, without a temporary the size of
    # x (feature matrices are large); an infinite one may be overflow, so then look closer.
    with np.errstate(all="ignore"):
        if bool(xp.isfinite(xp.sum(arr))):
            return arr
    v = np.asarray(arr)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite; got {v[~np.isfinite(v)].ravel()[0]}")
    return arr


def check_nonnegative(name, x, dtype=None):
    arr = check_finite(name, x, dtype)
    xp = _array_module(arr)
    if xp is not None and bool(xp.min(arr) < 0):
        v = np.asarray(arr)
        raise ValueError(f"{name} must be >= 0; got {v[v < 0].ravel()[0]}")
    return arr


def check_probability(name, x):
    """A number (or array) in [0, 1]."""
    arr = check_finite(name, x)
    v = _concrete(arr)
    if v is not None and np.any((v < 0) | (v > 1)):
        raise ValueError(f"{name} must be in [0, 1]; got {v[(v < 0) | (v > 1)].ravel()[0]}")
    return arr


def check_rate(name, x):
    """A selection rate in (0, 1]."""
    arr = check_finite(name, x)
    v = _concrete(arr)
    if v is not None and np.any((v <= 0) | (v > 1)):
        raise ValueError(f"{name} must be a rate in (0, 1]; got {v[(v <= 0) | (v > 1)].ravel()[0]}")
    return arr


def check_positive_int(name, x, maximum=None):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral) or x < 1:
        raise ValueError(f"{name} must be a positive integer; got {x!r}")
    if maximum is not None and x > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {x!r}")
    return int(x)


def check_nonnegative_int(name, x, maximum=None):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral) or x < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {x!r}")
    if maximum is not None and x > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {x!r}")
    return int(x)


def check_flags(name, x):
    """Booleans or 0/1 numbers (any shape), as a float array; NaN, 0.5, -1 ... are refused."""
    if not _is_bool(x):
        real_dtype(name, x)
    arr = jnp.asarray(x)
    v = _concrete(arr)
    if v is not None and v.dtype != bool and np.any((v != 0) & (v != 1)):
        raise ValueError(f"{name} must be booleans (or 0/1); got {v[(v != 0) & (v != 1)].ravel()[0]}")
    return arr.astype(jnp.result_type(float))


def _is_bool(x):
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(x).dtype
        except (TypeError, ValueError):
            return False
    return np.dtype(dtype) == bool


def nonempty_list(name, x, what):
    """``x`` as a list (a single value becomes [x]); ValueError if it is empty."""
    if isinstance(x, (str, bytes)) or not isinstance(x, (list, tuple, range, np.ndarray)):
        items = [x]
    else:
        items = list(x)
    if not items:
        raise ValueError(f"{name} must name at least one {what}; got an empty list")
    return items


def check_vector(name, x, d=None):
    """A (d,) vector with d >= 1 finite entries (d checked against ``d`` when given)."""
    arr = check_finite(name, x)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a vector of length d >= 1; got shape {arr.shape}")
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} must have length d = {d}; got {arr.shape[0]}")
    return arr


def check_choice(name, x, choices):
    if x not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {x!r}")
    return x


# The NumPy/JAX calling convention is the theory package's: one implementation.
numpy_or_jax = _theory_numpy_or_jax
