"""One selection interface for every setting (docs/theory.md, sections
'Model and notation', 'The proxy p*', 'Estimating p* from an audit set').

A selector decides which synthesized candidates are kept:

    keep = selector.select(key, scores=None, *, correct=None, groups=None)   # bool (n,)

- ``key``: a JAX PRNG key (selectors that draw nothing ignore it; ``None`` is fine for them).
- ``scores`` (n,): any per-candidate score, higher is better (a verifier's margin, a reward, a
  model's log-likelihood, ROUGE against a reference).
- ``correct`` (n,): the ground truth, whether each candidate is right. Only the idealised
  selectors read it (oracle, label-only, flip); measuring p, phi, psi needs it anyway.
- ``groups`` (n,): integer group ids. A group is the candidates of one prompt, article or
  matrix; best-of-k selection keeps (at most) one candidate per group.

Candidates are one flat axis; a (groups, k) grid flattens row by row with ``grid_groups(a, k)``.
The same classes serve the Gaussian-mixture simulations (``simulate.pruners`` adds the linear
verifiers, which score candidates from their inputs), the eigenvalue experiment and the
summarization experiment. Selectors:

- label-level: ``NoPruning()`` (keep all), ``Random(rate)``, ``Oracle()`` (keep iff correct),
  ``LabelOnly(phi, psi)`` (keep w.p. phi if correct, psi if not) and ``flip(r)`` (the oracle's
  decision flipped w.p. r: ``LabelOnly(1 - r, r)``);
- ``Threshold(tau)``: keep iff score > tau (NaN scores never pass);
- ``TopR(rate)``: keep the ceil(rate n) highest scores (ties: the earlier index);
- ``BestOfK(tau=None)``: keep each group's highest-scoring candidate (ties: the earlier index),
  only if its score > tau when ``tau`` is given.

A selector of your own is any object with that ``select`` method (and, for tables, a ``kind``
string and a ``params()`` dict); ``simulate.testing`` checks one against the theory.

``measure(correct, kept)`` gives p, phi, psi, p* and the kept fraction of any selection by the
same formulas everywhere (docs/theory.md, section 'Estimating p* from an audit set'); ``audit`` adds credible intervals
(``theory.estimate_pstar``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from theory import scenario

from . import data
from ._checks import _concrete, check_flags, check_probability, check_rate

__all__ = [
    "Selector", "NoPruning", "Random", "Oracle", "LabelOnly", "Threshold", "TopR", "BestOfK",
    "flip", "grid_groups", "describe", "from_scenario", "Rates", "measure", "audit",
]


@runtime_checkable
class Selector(Protocol):
    """What every selector provides: keep decisions (n,) bool from scores and/or ground truth."""

    def select(self, key, scores=None, *, correct=None, groups=None) -> jax.Array: ...


# --- argument checks --------------------------------------------------------------------------


def _needs(name, value, kind):
    if value is None:
        raise ValueError(f"the {kind} selector needs {name}")
    return value


def _vector(name, x):
    arr = jnp.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one flat axis of candidates (n,); got shape {arr.shape}")
    return arr


def _scores(scores, kind, allow_nan=False):
    """Scores as a flat array: JAX arrays (and tracers) stay JAX, anything else becomes NumPy,
    so that an order or a threshold of float64 scores is not decided after rounding to float32
    when JAX runs without x64."""
    scores = _needs("scores", scores, kind)
    s = scores if isinstance(scores, jax.Array) else np.asarray(scores)
    if s.ndim != 1:
        raise ValueError(f"scores must be one flat axis of candidates (n,); got shape {s.shape}")
    if s.dtype == bool or not (np.issubdtype(s.dtype, np.floating)
                               or np.issubdtype(s.dtype, np.integer)):
        raise ValueError(f"scores must be real numbers; got dtype {s.dtype}")
    v = _concrete(s)
    if not allow_nan and v is not None and np.isnan(v).any():
        # NaN has no place in an order: argsort and argmax would put it anywhere.
        raise ValueError(f"scores contain NaN; the {kind} selector orders candidates by score")
    return s


def _correct(correct, kind):
    c = _vector("correct", _needs("correct", correct, kind))
    check_flags("correct", c)
    return c.astype(bool)


def _count(scores, correct, groups, kind):
    """The number of candidates, from whichever argument is given (all must agree)."""
    sizes = {name: jnp.shape(x) for name, x in
             (("scores", scores), ("correct", correct), ("groups", groups)) if x is not None}
    if not sizes:
        raise ValueError(f"the {kind} selector needs scores, correct or groups to know how many "
                         "candidates there are")
    shapes = set(sizes.values())
    if len(shapes) != 1 or len(shapes.pop()) != 1:
        raise ValueError(f"scores, correct and groups must be flat (n,) arrays of one length; "
                         f"got shapes {sizes}")
    return next(iter(sizes.values()))[0]


def _group_ids(groups, n):
    g = _concrete(_vector("groups", groups))
    if g is None:
        raise ValueError("groups must be concrete (not traced): they fix the output structure")
    if g.shape != (n,):
        raise ValueError(f"groups must be (n,) = ({n},); got shape {g.shape}")
    if g.dtype.kind not in "iu":
        raise ValueError(f"groups must be integer group ids; got dtype {g.dtype}")
    _, ids = np.unique(g, return_inverse=True)
    return ids.reshape(n)


def grid_groups(a: int, k: int) -> np.ndarray:
    """Group ids (a k,) of a grid of ``a`` groups of ``k`` candidates, flattened row by row."""
    for name, v in (("a", a), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    return np.repeat(np.arange(a), k)


# --- the selectors ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NoPruning(scenario.NoPruning):
    """Keep every candidate (phi = psi = 1, p* = 1/2): ``theory.scenario.NoPruning`` that
    selects."""

    kind = "none"

    def select(self, key, scores=None, *, correct=None, groups=None):
        return jnp.ones((_count(scores, correct, groups, self.kind),), bool)

    def params(self) -> dict:
        return {}


@dataclasses.dataclass(frozen=True)
class Random:
    """Keep each candidate independently with probability ``rate`` (phi = psi = rate)."""

    rate: float
    kind = "random"

    def __post_init__(self):
        object.__setattr__(self, "rate", float(check_rate("rate", self.rate)))

    def select(self, key, scores=None, *, correct=None, groups=None):
        # Uniforms in the default float type: the same numbers as ``LabelOnly`` draws.
        return data.uniforms(key, _count(scores, correct, groups, self.kind)) < self.rate

    def params(self) -> dict:
        return {"prune_rate": self.rate}


@dataclasses.dataclass(frozen=True)
class Oracle:
    """Keep iff correct (phi = 1, psi = 0, p* = 1)."""

    kind = "oracle"

    def select(self, key, scores=None, *, correct=None, groups=None):
        return _correct(correct, self.kind)

    def params(self) -> dict:
        return {}


@dataclasses.dataclass(frozen=True)
class LabelOnly(scenario.LabelOnly):
    """Keep a correct candidate with probability phi, a wrong one with probability psi: the
    scenario description ``theory.scenario.LabelOnly`` (its fields and checks) that selects."""

    def select(self, key, scores=None, *, correct=None, groups=None):
        c = _correct(correct, self.kind)
        # One uniform per candidate, shared by all (phi, psi) and by ``Random``: common numbers.
        u = data.uniforms(key, c.shape[0])
        return u < jnp.where(c, self.phi, self.psi)

    def params(self) -> dict:
        return {"prune_phi": self.phi, "prune_psi": self.psi}


def flip(r) -> LabelOnly:
    """The oracle's decision flipped with probability ``r``: phi = 1 - r, psi = r, p* = 1 - r."""
    r = float(check_probability("r", r))
    return LabelOnly(1.0 - r, r)


@dataclasses.dataclass(frozen=True)
class Threshold:
    """Keep iff score > tau (a NaN score never passes)."""

    tau: float = 0.0
    kind = "threshold"

    def __post_init__(self):
        tau = float(np.asarray(self.tau, float)) if np.ndim(self.tau) == 0 else None
        if tau is None or not np.isfinite(tau):
            raise ValueError(f"tau must be a finite number; got {self.tau!r}")
        object.__setattr__(self, "tau", tau)

    def select(self, key, scores=None, *, correct=None, groups=None):
        return _scores(scores, self.kind, allow_nan=True) > self.tau

    def params(self) -> dict:
        return {"prune_tau": self.tau}


def _top(scores, rate):
    n = scores.shape[-1]
    count = int(np.ceil(rate * n - 1e-9))  # rate * n up to rounding, at least 1 if n > 0
    return _ranked_below(scores, count)


@jax.jit
def _ranked_below(scores, count):
    """Whether each score's rank (highest first, earlier index on ties) is below ``count``: one
    program per shape, whatever the rate (four op-by-op programs each before)."""
    order = jnp.argsort(-scores, axis=-1, stable=True)
    rank = jnp.argsort(order, axis=-1, stable=True)
    return rank < count


@dataclasses.dataclass(frozen=True)
class TopR:
    """Keep the ceil(rate n) candidates of highest score (ties: the earlier index)."""

    rate: float
    kind = "top_r"

    def __post_init__(self):
        object.__setattr__(self, "rate", float(check_rate("rate", self.rate)))

    def select(self, key, scores=None, *, correct=None, groups=None):
        return _top(jnp.asarray(_scores(scores, self.kind)), self.rate)

    def params(self) -> dict:
        return {"prune_rate": self.rate}


@dataclasses.dataclass(frozen=True)
class BestOfK:
    """Keep each group's highest-scoring candidate (ties: the earlier index); with ``tau``, only
    where that score is > tau, so a group may keep nothing."""

    tau: float | None = None
    kind = "best_of_k"

    def __post_init__(self):
        if self.tau is not None:
            tau = float(np.asarray(self.tau, float)) if np.ndim(self.tau) == 0 else np.nan
            if not np.isfinite(tau):
                raise ValueError(f"tau must be a finite number or None; got {self.tau!r}")
            object.__setattr__(self, "tau", tau)

    def select(self, key, scores=None, *, correct=None, groups=None):
        s = np.asarray(_scores(scores, self.kind))  # groups are concrete: so are the scores
        ids = _group_ids(_needs("groups", groups, self.kind), s.shape[0])
        # Sort by (group, -score, index): the first of each group is its best, earlier on ties.
        order = np.lexsort((np.arange(s.shape[0]), -s, ids))
        first = np.ones(s.shape[0], bool)
        first[1:] = ids[order][1:] != ids[order][:-1]
        keep = np.zeros(s.shape[0], bool)
        keep[order[first]] = True
        if self.tau is not None:
            keep &= s > self.tau
        return jnp.asarray(keep)

    def params(self) -> dict:
        return {} if self.tau is None else {"prune_tau": self.tau}


def describe(selector) -> tuple[str, dict]:
    """(kind, params) of a selector, for tables: a selector of your own may leave out ``kind``
    (its class name is used) and ``params`` (none)."""
    kind = getattr(selector, "kind", None) or type(selector).__name__
    params = selector.params() if callable(getattr(selector, "params", None)) else {}
    return str(kind), dict(params)


def from_scenario(verifier):
    """The selector of a label-level ``theory.scenario`` verifier (``no_pruning``,
    ``label_only``); the linear ones need inputs: ``simulate.pruners.from_scenario``."""
    if isinstance(verifier, scenario.NoPruning):
        return NoPruning()
    if isinstance(verifier, scenario.LabelOnly):
        return LabelOnly(verifier.phi, verifier.psi)
    if isinstance(verifier, (scenario.LinearVerifier, scenario.TopR)):
        raise ValueError("a linear scenario verifier scores candidates from their inputs: "
                         "use simulate.pruners.from_scenario")
    raise ValueError(f"verifier must be a theory.scenario verifier; got {verifier!r}")


# --- measuring any selection ------------------------------------------------------------------


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
    return _rates(c, s)


@jax.jit  # one program, not one per operation (each compiled or read from the cache apart)
def _rates(c, s):
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
