"""The proxy p* and the label-level breakdown (docs/theory.md, section 'The proxy p*')."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _validate
from ._numerics import numpy_or_jax, safe_div


@numpy_or_jax
def pstar(phi, psi):
    """p* = 1 / (1 + psi/phi) = phi / (phi + psi).

    The largest generator error rate that the verifier still turns into a majority-correct
    training set. ``phi`` (keep rate of correct samples) and ``psi`` (keep rate of wrong ones)
    broadcast; they lie in [0, 1] and are not both 0. Oracle: 1; no or random pruning: 1/2.
    """
    phi, psi = _validate.keep_rates(phi, psi)
    return _pstar(phi, psi)


@jax.jit  # one program, not one per operation (as theory.gaussian)
def _pstar(phi, psi):
    phi, psi = _joint_unit(phi, psi)
    return phi / (phi + psi)


def _joint_unit(phi, psi):
    """(phi, psi) / max(phi, psi): both ratios are scale-free, and tiny rates keep their ratio
    instead of underflowing in a product."""
    scale = jnp.maximum(phi, psi)
    scale = jnp.where(scale > 0, scale, 1.0)
    return phi / scale, psi / scale


@numpy_or_jax
def selected_error_rate(p, phi, psi):
    """Error rate after selection, r_sel = p psi / (p psi + (1 - p) phi).

    ``r_sel < 1/2`` iff ``p < p*``. NaN where nothing is kept (``(1-p) phi + p psi = 0``).
    """
    p = _validate.probability("p", p)
    phi, psi = _validate.keep_rates(phi, psi)
    return _selected_error_rate(p, phi, psi)


@jax.jit
def _selected_error_rate(p, phi, psi):
    phi, psi = _joint_unit(phi, psi)
    wrong = p * psi
    kept = wrong + (1 - p) * phi
    return safe_div(wrong, kept, fill=jnp.nan)


@numpy_or_jax
def kept_mass(p, phi, psi):
    """K = (1 - p) phi + p psi: the fraction of synthesized samples the verifier keeps."""
    p = _validate.probability("p", p)
    phi, psi = _validate.keep_rates(phi, psi)
    return (1 - p) * phi + p * psi


@numpy_or_jax
def signed_signal(p, phi, psi):
    """B = (1 - p) phi - p psi: kept correct minus kept wrong mass; zero exactly at p = p*."""
    p = _validate.probability("p", p)
    phi, psi = _validate.keep_rates(phi, psi)
    return (1 - p) * phi - p * psi
