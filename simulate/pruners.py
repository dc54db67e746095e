"""The pruning interface, and how its keep rates are measured (docs/theory.md, sections
'Model and notation', 'The proxy p*', 'Estimating p* from an audit set').

A pruner (a verifier) maps (key, inputs, synthesized labels, optional scores, optional
correctness) to keep decisions:

    keep = pruner.keep(key, inputs, labels, scores=None, correct=None)     # bool (n,)

``inputs`` (n, d) and ``labels`` (n,) in {-1, +1} are the synthesized candidates; ``scores`` (n,)
is any per-candidate score (a verifier's margin, a reward); ``correct`` (n,) the ground truth
whether each label is right, needed only by the idealised pruners that read it (oracle,
label-only). Pruners that ignore ``inputs`` (all but ``linear``, and ``top_r`` given scores) work
on any kind of candidate, so the transformer and summarization experiments reuse them.

``measure(correct, kept)`` gives p, phi, psi and p* of any pruner by the same formulas
(docs/theory.md, section 'Estimating p* from an audit set'); ``audit`` adds credible intervals
through ``theory.estimate_pstar``.

- ``none()``: keep all (phi = psi = 1, p* = 1/2).  ``random(rate)``: keep with prob. ``rate``.
- ``oracle()``: keep iff correct (phi = 1, psi = 0, p* = 1).
- ``label_only(phi, psi)``: keep with prob. phi if correct, psi if not, independently of x.
- ``linear(w_v, tau)``: keep iff labels * inputs^T w_v > tau.
- ``top_r(rate, w_v)``: keep the ceil(rate n) candidates of largest margin (``scores`` if given,
  else labels * inputs^T w_v); ties go to the earlier index.
- ``supervised(n_real, lam, tau=0, rate=None)``: a ``linear`` (or, with ``rate``, ``top_r``)
  verifier whose w_v is the ridge-logistic fit on n_real real samples: ``fitted(key, mix)``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import data
from ._checks import (
    check_flags,
    check_finite,
    check_nonnegative,
    check_positive_int,
    check_probability,
    check_rate,
    check_vector,
)
from .generators import fit_on_real

__all__ = [
    "NoPruning", "Random", "Oracle", "LabelOnly", "LinearVerifier", "TopR", "Supervised",
    "none", "random", "oracle", "label_only", "linear", "top_r", "supervised",
    "Rates", "measure", "audit", "from_scenario",
]


def _needs(name, value, pruner):
    if value is None:
        raise ValueError(f"the {pruner} pruner needs {name}")
    return value


@dataclasses.dataclass(frozen=True)
class NoPruning:
    kind = "none"

    def keep(self, key, inputs, labels, scores=None, correct=None):
        return jnp.ones(labels.shape, bool)

    def params(self) -> dict:
        return {}


@dataclasses.dataclass(frozen=True)
class Random:
    rate: float
    kind = "random"

    def __post_init__(self):
        object.__setattr__(self, "rate", float(check_rate("rate", self.rate)))

    def keep(self, key, inputs, labels, scores=None, correct=None):
        return data.uniforms(key, labels.shape[-1], labels.dtype) < self.rate

    def params(self) -> dict:
        return {"prune_rate": self.rate}


@dataclasses.dataclass(frozen=True)
class Oracle:
    kind = "oracle"

    def keep(self, key, inputs, labels, scores=None, correct=None):
        return jnp.asarray(_needs("correct", correct, "oracle"), bool)

    def params(self) -> dict:
        return {}


@dataclasses.dataclass(frozen=True)
class LabelOnly:
    """Keep a correct candidate with probability phi, a wrong one with probability psi."""

    phi: float
    psi: float
    kind = "label_only"

    def __post_init__(self):
        object.__setattr__(self, "phi", float(check_probability("phi", self.phi)))
        object.__setattr__(self, "psi", float(check_probability("psi", self.psi)))
        if self.phi == 0 and self.psi == 0:
            raise ValueError("phi and psi are both 0: the pruner would keep nothing")

    def keep(self, key, inputs, labels, scores=None, correct=None):
        correct = jnp.asarray(_needs("correct", correct, "label_only"), bool)
        u = data.uniforms(key, labels.shape[-1], labels.dtype)
        # One uniform per candidate, shared by all (phi, psi) and by ``random``: common numbers.
        return u < jnp.where(correct, self.phi, self.psi)

    def params(self) -> dict:
        return {"prune_phi": self.phi, "prune_psi": self.psi}


@dataclasses.dataclass(frozen=True, eq=False)
class LinearVerifier:
    """Keep iff labels * inputs^T w_v > tau (w_v not normalised)."""

    w_v: jax.Array
    tau: float = 0.0
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "w_v", check_vector("w_v", self.w_v))
        object.__setattr__(self, "tau", check_finite("tau", self.tau))

    def margins(self, inputs, labels):
        return labels * (inputs @ self.w_v)

    def keep(self, key, inputs, labels, scores=None, correct=None):
        return self.margins(inputs, labels) > self.tau

    def params(self) -> dict:
        return {"prune_tau": _scalar(self.tau)}


@dataclasses.dataclass(frozen=True, eq=False)
class TopR:
    """Keep the ceil(rate n) candidates with the largest margin (``scores`` or labels x^T w_v)."""

    rate: float
    w_v: jax.Array | None = None
    kind = "top_r"

    def __post_init__(self):
        object.__setattr__(self, "rate", float(check_rate("rate", self.rate)))
        if self.w_v is not None:
            object.__setattr__(self, "w_v", check_vector("w_v", self.w_v))

    def keep(self, key, inputs, labels, scores=None, correct=None):
        if scores is None:
            if self.w_v is None:
                raise ValueError("the top_r pruner needs scores or a verifier direction w_v")
            scores = labels * (inputs @ self.w_v)
        n = scores.shape[-1]
        count = int(np.ceil(self.rate * n - 1e-9))  # rate * n up to rounding, at least 1 if n > 0
        order = jnp.argsort(-scores, axis=-1, stable=True)
        rank = jnp.argsort(order, axis=-1, stable=True)
        return rank < count

    def params(self) -> dict:
        return {"prune_rate": self.rate}


@dataclasses.dataclass(frozen=True)
class Supervised:
    """A verifier trained on ``n_real`` real samples: ridge-logistic w_v, then keep iff
    y' x^T w_v > tau, or (with ``rate``) the top ``rate`` fraction by that margin."""

    n_real: int
    lam: float = 1e-2
    tau: float = 0.0
    rate: float | None = None
    kind = "supervised"

    def __post_init__(self):
        object.__setattr__(self, "n_real", check_positive_int("n_real", self.n_real))
        object.__setattr__(self, "lam", float(check_nonnegative("lam", self.lam)))
        object.__setattr__(self, "tau", float(check_finite("tau", self.tau)))
        if self.rate is not None:
            object.__setattr__(self, "rate", float(check_rate("rate", self.rate)))

    def with_direction(self, w_v):
        """The pruner this verifier becomes once its direction w_v is fitted."""
        return LinearVerifier(w_v, self.tau) if self.rate is None else TopR(self.rate, w_v)

    def fitted(self, key, mix: data.Mixture):
        w_v, _ = fit_on_real(key, mix, self.n_real, self.lam)
        return self.with_direction(w_v)

    def keep(self, key, inputs, labels, scores=None, correct=None):
        raise TypeError("a supervised verifier must be fitted first: use .fitted(key, mix)")

    def params(self) -> dict:
        out = {"prune_n_real": self.n_real, "prune_lam": self.lam}
        out.update({"prune_rate": self.rate} if self.rate is not None else {"prune_tau": self.tau})
        return out


def _scalar(x):
    return float(np.asarray(x)) if np.ndim(x) == 0 else np.asarray(x).tolist()


def none() -> NoPruning:
    return NoPruning()


def random(rate) -> Random:  # noqa: A001 - the pruner's name in docs/theory.md
    return Random(rate)


def oracle() -> Oracle:
    return Oracle()


def label_only(phi, psi) -> LabelOnly:
    return LabelOnly(phi, psi)


def linear(w_v, tau=0.0) -> LinearVerifier:
    return LinearVerifier(w_v, tau)


def top_r(rate, w_v=None) -> TopR:
    return TopR(rate, w_v)


def supervised(n_real, lam=1e-2, tau=0.0, rate=None) -> Supervised:
    return Supervised(n_real, lam, tau, rate)


def from_scenario(verifier):
    """The pruner of a ``theory.scenario`` verifier (other pruners are returned as is)."""
    from theory import scenario

    if isinstance(verifier, scenario.NoPruning):
        return NoPruning()
    if isinstance(verifier, scenario.LabelOnly):
        return LabelOnly(verifier.phi, verifier.psi)
    if isinstance(verifier, scenario.LinearVerifier):
        return LinearVerifier(verifier.w, verifier.tau)
    if isinstance(verifier, scenario.TopR):
        return TopR(verifier.rate, verifier.w)
    return verifier


# ---------------------------------------------------------------------------------------------


class Rates(NamedTuple):
    """Measured rates, each of the batch shape (...):

    p = 1 - mean(c), phi = sum(s c) / sum(c), psi = sum(s (1 - c)) / sum(1 - c),
    p* = phi / (phi + psi), kept = mean(s). NaN where a rate has no sample (phi without correct
    candidates, psi without wrong ones, p* where either is NaN or both are 0).
    """

    p: jax.Array
    phi: jax.Array
    psi: jax.Array
    pstar: jax.Array
    kept: jax.Array


def measure(correct, kept) -> Rates:
    """p, phi, psi, p* and the kept fraction from correctness and keep decisions, (..., n) each,
    reduced over the last axis. The one place where these rates are computed from samples."""
    c = check_flags("correct", correct)
    s = check_flags("kept", kept).astype(c.dtype)
    if c.shape != s.shape:
        raise ValueError(f"correct and kept must have the same shape; got {c.shape} and {s.shape}")
    if c.shape[-1] == 0:
        raise ValueError("correct is empty: no candidates to measure")
    n_c = jnp.sum(c, axis=-1)
    n_w = jnp.sum(1 - c, axis=-1)
    phi = jnp.where(n_c > 0, jnp.sum(s * c, axis=-1) / jnp.where(n_c > 0, n_c, 1), jnp.nan)
    psi = jnp.where(n_w > 0, jnp.sum(s * (1 - c), axis=-1) / jnp.where(n_w > 0, n_w, 1), jnp.nan)
    total = phi + psi
    pstar = jnp.where(total > 0, phi / jnp.where(total > 0, total, 1), jnp.nan)
    # Divide by counts computed at run time: a compile-time constant divisor may be turned into a
    # multiplication by its reciprocal, whose rounding would then depend on the array shapes.
    n_all = n_c + n_w
    return Rates(n_w / n_all, phi, psi, pstar, jnp.sum(s, axis=-1) / n_all)


def audit(correct, kept, level=0.95):
    """``theory.estimate_pstar`` on an audit set: point estimates (the same as ``measure``) with
    credible intervals for p*, and the probability that p < p*."""
    import theory  # deferred: the closed forms are needed only here and in ``run``

    return theory.estimate_pstar(np.asarray(correct), np.asarray(kept), level=level)
