"""Pruners of the Gaussian-mixture simulations, on the selection interface (docs/theory.md, sections
'Model and notation', 'The proxy p*').

Every pruner is a selector (``simulate.selection``): ``select(key, scores=None, *, correct=None,
groups=None)`` -> keep (n,) bool. The label-level ones (``none``, ``random``, ``oracle``,
``label_only``) are ``selection``'s own classes. The linear verifiers also score mixture
candidates from their inputs, ``score(inputs, labels) = labels * inputs^T w_v`` (their margins),
and select by those scores; ``keep(pruner, key, inputs, labels, correct)`` does both steps, as the
simulations call it.

- ``none()``: keep all (phi = psi = 1, p* = 1/2).  ``random(rate)``: keep with prob. ``rate``.
- ``oracle()``: keep iff correct (phi = 1, psi = 0, p* = 1).
- ``label_only(phi, psi)``: keep with prob. phi if correct, psi if not, independently of x.
- ``linear(w_v, tau)``: keep iff labels * inputs^T w_v > tau.
- ``top_r(rate, w_v)``: keep the ceil(rate n) candidates of largest margin (``scores`` if given,
  else labels * inputs^T w_v); ties go to the earlier index.
- ``supervised(n_real, lam, tau=0, rate=None)``: a ``linear`` (or, with ``rate``, ``top_r``)
  verifier whose w_v is the ridge-logistic fit on n_real real samples: ``fitted(key, mix)``.

``measure`` (p, phi, psi, p* of any selection) and ``audit`` are ``selection``'s.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

import jax
import numpy as np

from . import data, selection
from ._checks import check_finite, check_nonnegative, check_positive_int, check_rate, check_vector
from .generators import fit_on_real
from .selection import LabelOnly, NoPruning, Oracle, Random, Rates, audit, measure

__all__ = [
    "NoPruning", "Random", "Oracle", "LabelOnly", "LinearVerifier", "TopR", "Supervised",
    "MixtureScorer", "none", "random", "oracle", "label_only", "linear", "top_r", "supervised",
    "keep", "Rates", "measure", "audit", "from_scenario",
]


@runtime_checkable
class MixtureScorer(Protocol):
    """A pruner that scores mixture candidates from their inputs (n, d) and labels (n,)."""

    def score(self, inputs, labels) -> jax.Array: ...


def keep(pruner, key, inputs, labels, correct=None):
    """Keep decisions (n,) of any selector on mixture candidates: scored from ``inputs`` and
    ``labels`` first if it is a ``MixtureScorer``."""
    if not isinstance(pruner, selection.Selector):
        raise ValueError(f"pruner must be a selector (a select method); got {pruner!r}")
    scores = pruner.score(inputs, labels) if isinstance(pruner, MixtureScorer) else None
    return pruner.select(key, scores, correct=correct)


@dataclasses.dataclass(frozen=True, eq=False)
class LinearVerifier:
    """Keep iff labels * inputs^T w_v > tau (w_v not normalised): a threshold on its margins."""

    w_v: jax.Array
    tau: float = 0.0
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "w_v", check_vector("w_v", self.w_v))
        object.__setattr__(self, "tau", check_finite("tau", self.tau))

    def score(self, inputs, labels):
        return labels * (inputs @ self.w_v)

    def select(self, key, scores=None, *, correct=None, groups=None):
        if scores is None:
            raise ValueError("the linear pruner needs scores: its margins, score(inputs, labels)")
        return scores > self.tau

    def params(self) -> dict:
        return {"prune_tau": _scalar(self.tau)}


@dataclasses.dataclass(frozen=True, eq=False)
class TopR(selection.TopR):
    """Keep the ceil(rate n) candidates with the largest score; ``w_v`` (optional) scores mixture
    candidates by their margins labels x^T w_v."""

    w_v: jax.Array | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.w_v is not None:
            object.__setattr__(self, "w_v", check_vector("w_v", self.w_v))

    def score(self, inputs, labels):
        if self.w_v is None:
            raise ValueError("the top_r pruner needs scores or a verifier direction w_v")
        return labels * (inputs @ self.w_v)


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

    def select(self, key, scores=None, *, correct=None, groups=None):
        raise ValueError("a supervised verifier must be fitted first: use .fitted(key, mix)")

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
    """The pruner of a ``theory.scenario`` verifier (selectors are returned as is): one
    description serves the theory and the simulation."""
    from theory import scenario

    if isinstance(verifier, (scenario.NoPruning, scenario.LabelOnly)):
        return selection.from_scenario(verifier)
    if isinstance(verifier, scenario.LinearVerifier):
        return LinearVerifier(verifier.w, verifier.tau)
    if isinstance(verifier, scenario.TopR):
        return TopR(verifier.rate, verifier.w)
    return verifier
