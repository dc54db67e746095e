"""Input checks that name the offending parameter.

One policy for every public function: real floating or integer values only (bools, complex
numbers, strings and other objects are refused, as are subnormal magnitudes, which XLA's
arithmetic flushes to zero). Checks of values run on concrete inputs only: inside ``jax.jit``
the values are tracers and cannot be inspected, so the caller is responsible there (the
functions still compute, NaN in, NaN out); the dtype checks apply to tracers too.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from ._numerics import is_concrete

LOSSES = ("logistic", "square")
# Beyond this ||Sigma^-1/2 mu|| the accuracies are 0, 1/2 or 1 to double precision many times
# over, and the Newton solvers of the limits would meet overflowing exponents.
MAX_SIGNAL = 1e6


def real_dtype(name, x):
    """The dtype ``x`` would have as an array; ValueError unless it is real floating or integer.

    Bools are refused (True is not a number here), as are complex values (their imaginary part
    would be dropped silently), strings (``"0.5"`` is not a number) and object arrays.
    """
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be a real number or array; got the string {x!r}")
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        dtype = x.dtype
    else:
        try:
            dtype = np.asarray(x).dtype
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a real number or array; got {x!r}") from err
    kind = np.dtype(dtype).kind
    if kind == "b":
        raise ValueError(f"{name} must be real numbers, not booleans; got {_short(x)}")
    if kind == "c":
        raise ValueError(f"{name} must be real; got complex values {_short(x)}")
    if kind not in "iuf":
        raise ValueError(f"{name} must be real numbers; got {_short(x)} (dtype {dtype})")
    return dtype


def _short(x):
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_array(name, x):
    real_dtype(name, x)
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _values(x):
    return np.asarray(x) if is_concrete(x) else None


def _first_bad(values, bad):
    return values[bad].ravel()[0]


def finite(name, x):
    """A real array with finite, normal-or-zero entries."""
    arr = _as_array(name, x)
    v = _values(arr)
    if v is not None:
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite; got {_first_bad(v, ~np.isfinite(v))}")
        tiny = np.finfo(v.dtype).tiny
        sub = (v != 0) & (np.abs(v) < tiny)
        if np.any(sub):
            raise ValueError(
                f"{name} has the subnormal value {_first_bad(v, sub)!r}: magnitudes below "
                f"{tiny:.3g} are flushed to 0 by the arithmetic here; pass 0 or rescale")
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
        # Checked at unit scale: the tolerances and eigenvalues would under/overflow otherwise.
        scale = np.max(np.abs(v), axis=(-2, -1), keepdims=True)
        u = v / np.where(scale > 0, scale, 1.0)
        if not np.allclose(u, np.swapaxes(u, -1, -2), rtol=1e-10, atol=1e-12):
            raise ValueError("sigma must be symmetric")
        if np.any(scale == 0) or np.any(np.linalg.eigvalsh(u) <= 0):
            raise ValueError("sigma must be positive definite")
    return arr


def signal(mu, sigma=None, *, limit=MAX_SIGNAL):
    """Refuse ||Sigma^-1/2 mu|| > ``limit`` (concrete values only), naming mu."""
    v = _values(mu)
    if v is None or (sigma is not None and _values(sigma) is None):
        return
    m_scale = np.max(np.abs(v), axis=-1)
    m_scale = np.where(m_scale > 0, m_scale, 1.0)
    u = v / m_scale[..., None]
    if sigma is None:
        snr = m_scale * np.sqrt(np.sum(u * u, axis=-1))
    else:
        s = np.asarray(sigma)
        s_scale = np.max(np.abs(s), axis=(-2, -1))
        shape = np.broadcast_shapes(u.shape, s.shape[:-1])
        ub = np.broadcast_to(u, shape)
        quad = np.sum(ub * np.linalg.solve(s / s_scale[..., None, None], ub[..., None])[..., 0], -1)
        snr = (m_scale / np.sqrt(s_scale)) * np.sqrt(np.maximum(quad, 0.0))
    if np.any(snr > limit):
        raise ValueError(
            f"mu is too large: ||Sigma^-1/2 mu|| = {np.max(snr):.3g} exceeds {limit:g}, where every "
            "accuracy here is 0, 1/2 or 1 to double precision; pass a smaller mu")


def loss(name):
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {name!r}")
    return name


def integer(name, x, *, minimum):
    """A Python or NumPy integer >= ``minimum`` (bools and integral floats are refused)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {x!r}")
    if x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {x!r}")
    return int(x)


def positive_number(name, x):
    """A finite real scalar > 0 (for tolerances)."""
    real_dtype(name, x)
    if np.ndim(x) != 0:
        raise ValueError(f"{name} must be a scalar; got shape {np.shape(x)}")
    value = float(x)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {x!r}")
    return value
