"""Verifiers of the eigenvalue experiment, on the pruning interface of ``simulate.pruners``.

Each verifier maps the generator's candidates to (the candidate chosen per matrix, keep
decisions); p, phi, psi and p* are measured by ``simulate.pruners.measure`` as everywhere else.
Specs (``kind`` or ``kind:key=value``):

- ``none``: keep every top-beam answer.        ``random:rate=0.5``: keep at random.
- ``oracle``: keep iff the top-beam answer is correct (relative L1 error < tol).
- ``best_of_beam``: choose the first correct candidate of the beam, keep the matrix iff there
  is one (rates per candidate: the chosen one is kept, the others not).
- ``oracle:tol=0.02``, ``best_of_beam:tol=0.02``: the same with a stricter threshold than the
  run's (kept labels carry less of the generator's error); rates stay measured against the
  run's ``tol``, so such an oracle has psi = 0 and phi < 1.
- ``flip:r=0.2``: the oracle's decision flipped with probability r (label-only, phi = 1 - r,
  psi = r, p* = 1 - r): the one-knob family of noisy verifiers.
- ``perturbed:s=0.05``: judges against eigenvalues perturbed by relative Gaussian noise of
  scale s (keep iff the answer is within tol of the perturbed truth).
- ``model:rate=0.5``: keeps the top ``rate`` answers by a second model's length-normalised
  log-likelihood of the answer (trained on the same real data, another initialisation).
- ``self:rate=0.5``: the same with the generator's own length-normalised beam score.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simulate import pruners
from simulate.specs import parse

__all__ = ["Candidates", "Selection", "select", "KINDS", "check_spec"]

KINDS = ("none", "random", "oracle", "best_of_beam", "flip", "perturbed", "model", "self")
_PARAMS = {"none": (), "oracle": (), "best_of_beam": (), "random": ("rate",), "flip": ("r",),
           "perturbed": ("s",), "model": ("rate",), "self": ("rate",)}
_OPTIONAL = {"oracle": ("tol",), "best_of_beam": ("tol",)}


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


def check_spec(spec: str) -> tuple[str, dict]:
    kind, params = parse(spec)
    if kind not in KINDS:
        raise ValueError(f"unknown verifier {kind!r} in {spec!r}; choose {', '.join(KINDS)}")
    expected, optional = set(_PARAMS[kind]), set(_OPTIONAL.get(kind, ()))
    if not expected <= set(params) <= expected | optional:
        takes = sorted(expected) + [f"{o} (optional)" for o in sorted(optional)]
        raise ValueError(f"verifier {spec!r} takes parameters {takes or 'none'}")
    for name in ("rate", "r", "s", "tol"):
        if name in params:
            low_ok = params[name] >= 0 if name in ("r", "s") else params[name] > 0
            high_ok = params[name] <= 1 if name in ("rate", "r") else True
            if not (low_ok and high_ok):
                raise ValueError(f"verifier {spec!r}: {name} out of range")
    return kind, params


def select(spec: str, cand: Candidates, key) -> Selection:
    """Apply one verifier to the candidates (randomness from ``key``)."""
    kind, params = check_spec(spec)
    m = cand.errors.shape[0]
    correct = cand.correct
    top_correct = correct[:, 0]
    # what the oracles accept: the run's notion of correct, or a stricter threshold
    accepted = cand.errors < params["tol"] if "tol" in params else correct
    dummy_x = jnp.zeros((m, 1))
    labels = jnp.ones((m,))
    top = np.zeros(m, int)

    def keep(pruner, scores=None, judged=top_correct):
        return np.asarray(pruner.keep(key, dummy_x, labels, scores=scores,
                                      correct=jnp.asarray(judged)))

    if kind == "best_of_beam":
        has = accepted.any(axis=1)
        chosen = np.where(has, np.argmax(accepted, axis=1), 0)
        per_candidate = np.zeros_like(correct)
        per_candidate[np.arange(m), chosen] = has
        return Selection(chosen, has, correct.ravel(), per_candidate.ravel())
    if kind == "none":
        kept = keep(pruners.none())
    elif kind == "random":
        kept = keep(pruners.random(params["rate"]))
    elif kind == "oracle":
        kept = keep(pruners.oracle(), judged=accepted[:, 0])
    elif kind == "flip":
        kept = keep(pruners.label_only(1.0 - params["r"], params["r"]))
    elif kind == "perturbed":
        noise = np.asarray(jax.random.normal(key, cand.truth.shape, jnp.float64
                                             if jax.config.jax_enable_x64 else jnp.float32))
        judged = cand.truth * (1.0 + params["s"] * noise)
        pred = cand.predictions[:, 0]
        err = np.sum(np.abs(pred - judged), 1) / np.sum(np.abs(judged), 1)
        kept = np.isfinite(err) & (err < cand.tol)
    else:  # model, self: top-rate selection by a score (no answer scores -inf)
        scores = cand.model_scores[:, 0] if kind == "model" else cand.gen_scores[:, 0]
        scores = np.where(np.isfinite(cand.errors[:, 0]), scores, -np.inf)
        kept = keep(pruners.top_r(params["rate"]), scores=jnp.asarray(scores))
    kept = np.asarray(kept, bool)
    return Selection(top, kept, top_correct, kept)
