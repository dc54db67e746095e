"""Verifiers of the eigenvalue experiment, on the selection interface of ``simulate.selection``.

Each verifier is a selector and what it is shown: scores (and the ground truth) of each matrix's
top-beam answer, or of every beam candidate with the matrices as groups (best-of-beam). It maps
the generator's candidates to (the candidate chosen per matrix, keep decisions); p, phi, psi and
p* are measured by ``simulate.selection.measure`` as everywhere else. Specs (``kind`` or
``kind:key=value``, registered in ``simulate.specs.registry("eigen", noun="verifier")``):

- ``none``: keep every top-beam answer.        ``random:rate=0.5``: keep at random.
- ``oracle``: keep iff the top-beam answer is correct (relative L1 error < tol).
- ``best_of_beam``: choose the first correct candidate of the beam, keep the matrix iff there
  is one (``BestOfK(tau=0)`` on correctness scores 1/0, groups = matrices; rates per
  candidate: the chosen one is kept, the others not).
- ``oracle:tol=0.02``, ``best_of_beam:tol=0.02``: the same with a stricter threshold than the
  run's (kept labels carry less of the generator's error); rates stay measured against the
  run's ``tol``, so such an oracle has psi = 0 and phi < 1.
- ``flip:r=0.2``: the oracle's decision flipped with probability r (label-only, phi = 1 - r,
  psi = r, p* = 1 - r): the one-knob family of noisy verifiers.
- ``perturbed:s=0.05``: judges against eigenvalues perturbed by relative Gaussian noise of
  scale s (keep iff the answer is within tol of the perturbed truth: ``Threshold(0)`` on
  tol minus that error).
- ``model:rate=0.5``: keeps the top ``rate`` answers by a second model's length-normalised
  log-likelihood of the answer (trained on the same real data, another initialisation).
- ``self:rate=0.5``: the same with the generator's own length-normalised beam score.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simulate import selection, specs

__all__ = ["Candidates", "Selection", "Verifier", "verifier", "select", "KINDS", "check_spec",
           "SPECS"]


class Candidates(NamedTuple):
    """The generator's beam for M matrices: predictions (M, k, d) (NaN rows: no answer),
    errors (M, k) relative L1 (inf: no answer), truth (M, d), gen_scores and model_scores
    (M, k) length-normalised log-likelihoods, tol the correctness threshold."""

    predictions: np.ndarray
    errors: np.ndarray
    truth: np.ndarray
    gen_scores: np.ndarray
    model_scores: np.ndarray
    tol: float

    @property
    def correct(self) -> np.ndarray:
        return self.errors < self.tol


class Selection(NamedTuple):
    chosen: np.ndarray  # (M,) beam index of each matrix's answer
    kept: np.ndarray  # (M,) bool: the matrix enters the training set
    rate_correct: np.ndarray  # what p, phi, psi are measured on (per answer or per candidate)
    rate_kept: np.ndarray


def _top_correct(cand, key):
    return cand.correct[:, 0]


@dataclasses.dataclass(frozen=True)
class Verifier:
    """A selector and what it sees: ``scores(cand, key)`` and ``judged(cand, key)`` (the ground
    truth it may read), per top-beam answer (M,), or per candidate (M k,) with the matrices as
    groups when ``beam`` is set."""

    selector: selection.Selector
    scores: Callable | None = None
    judged: Callable = _top_correct
    beam: bool = False

    def __call__(self, cand: Candidates, key) -> Selection:
        m, k = cand.errors.shape
        scores = None if self.scores is None else self.scores(cand, key)
        judged = jnp.asarray(self.judged(cand, key))
        if self.beam:
            keep = np.asarray(self.selector.select(key, scores, correct=judged.ravel(),
                                                   groups=selection.grid_groups(m, k)), bool)
            per_candidate = keep.reshape(m, k)
            has = per_candidate.any(axis=1)
            chosen = np.where(has, np.argmax(per_candidate, axis=1), 0)
            return Selection(chosen, has, cand.correct.ravel(), keep)
        kept = np.asarray(self.selector.select(key, scores, correct=judged), bool)
        return Selection(np.zeros(m, int), kept, cand.correct[:, 0], kept)


def _accepted(params):
    """What the oracles accept: the run's notion of correct, or a stricter threshold."""
    if "tol" in params:
        return lambda cand, key: cand.errors < params["tol"]
    return lambda cand, key: cand.correct


def _perturbed_scores(s):
    def scores(cand, key):
        noise = np.asarray(jax.random.normal(key, cand.truth.shape, jnp.float64
                                             if jax.config.jax_enable_x64 else jnp.float32))
        judged = cand.truth * (1.0 + s * noise)
        pred = cand.predictions[:, 0]
        err = np.sum(np.abs(pred - judged), 1) / np.sum(np.abs(judged), 1)
        # keep iff err < tol, as a threshold at 0 (exact: tol - err > 0 iff tol > err); NaN (no
        # answer) never passes
        return cand.tol - err
    return scores


def _ranked_scores(field):
    def scores(cand, key):  # no answer scores -inf
        return jnp.asarray(np.where(np.isfinite(cand.errors[:, 0]),
                                    getattr(cand, field)[:, 0], -np.inf))
    return scores


SPECS = specs.registry("eigen", noun="verifier")
SPECS.include(specs.SELECTORS, ("none", "random", "flip"))
SPECS.add("oracle", lambda p: Verifier(
    selection.Oracle(), judged=lambda cand, key: _accepted(p)(cand, key)[:, 0]),
    optional=("tol",), ranges={"tol": "(0, inf)"})
SPECS.add("best_of_beam", lambda p: Verifier(
    selection.BestOfK(tau=0.0), beam=True,
    scores=lambda cand, key: _accepted(p)(cand, key).ravel().astype(float)),
    optional=("tol",), ranges={"tol": "(0, inf)"})
SPECS.add("perturbed", lambda p: Verifier(selection.Threshold(0.0),
                                          scores=_perturbed_scores(p["s"])),
          required=("s",), ranges={"s": "[0, inf)"})
SPECS.add("model", lambda p: Verifier(selection.TopR(p["rate"]),
                                      scores=_ranked_scores("model_scores")),
          required=("rate",), ranges={"rate": "(0, 1]"})
SPECS.add("self", lambda p: Verifier(selection.TopR(p["rate"]),
                                     scores=_ranked_scores("gen_scores")),
          required=("rate",), ranges={"rate": "(0, 1]"})
KINDS = SPECS.kinds  # the built-in kinds (SPECS.add registers more)


def check_spec(spec: str) -> tuple[str, dict]:
    """(kind, params) of a verifier spec; ValueError naming what is wrong."""
    return SPECS.parse(spec)


def verifier(spec: str) -> Verifier:
    """The verifier of a spec: the shared selectors see each matrix's top-beam answer."""
    built = SPECS.build(spec)
    return built if isinstance(built, Verifier) else Verifier(built)


def select(spec: str, cand: Candidates, key) -> Selection:
    """Apply one verifier to the candidates (randomness from ``key``)."""
    return verifier(spec)(cand, key)
