"""p* of a summary verifier under three named rules for what a "correct" summary is
(with a graded metric, correctness needs a rule: docs/experiments.md,
section 'Correctness rules for p*').

Inputs per article: the ROUGE-1 of each of its k candidates against the reference (rouge,
(A, k)), the verifier's scores (A, k), and its keep decisions (A, k) (best-of-k: the chosen
candidate; pruning: the candidates kept).

- ``threshold``: a candidate is correct iff its ROUGE-1 >= ``threshold``; samples are
  candidates, kept = the verifier's decisions.
- ``best``: a candidate is correct iff it has the article's highest ROUGE-1 (ties: all of
  them); samples are candidates, kept = the verifier's decisions.
- ``pairwise``: samples are ordered pairs (i, j) of one article's candidates with different
  ROUGE-1; "correct" iff rouge_i > rouge_j, "kept" iff the verifier scores i above j. Then
  phi = psi' = the verifier's agreement with ROUGE on pairs, and p* = that agreement.

Each rule gives an estimate (point, interval, counts) by ``simulate.selection.audit``, the
measure of every setting.
"""

from __future__ import annotations

import numpy as np

from simulate import selection

__all__ = ["RULES", "samples", "estimate"]

RULES = ("threshold", "best", "pairwise")


def _check(rouge, scores, kept):
    rouge, scores, kept = np.asarray(rouge, float), np.asarray(scores, float), np.asarray(kept)
    if rouge.ndim != 2 or scores.shape != rouge.shape or kept.shape != rouge.shape:
        raise ValueError(f"rouge, scores and kept must all be (articles, k); got {rouge.shape}, "
                         f"{scores.shape}, {kept.shape}")
    return rouge, scores, kept.astype(bool)


def samples(rule, rouge, scores, kept, threshold=0.5):
    """(correct, kept) boolean sample vectors of a rule."""
    rouge, scores, kept = _check(rouge, scores, kept)
    if rule == "threshold":
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1]; got {threshold!r}")
        return (rouge >= threshold).ravel(), kept.ravel()
    if rule == "best":
        return (rouge == rouge.max(axis=1, keepdims=True)).ravel(), kept.ravel()
    if rule == "pairwise":
        i, j = np.meshgrid(np.arange(rouge.shape[1]), np.arange(rouge.shape[1]), indexing="ij")
        off = i != j
        ri, rj = rouge[:, i[off]], rouge[:, j[off]]
        si, sj = scores[:, i[off]], scores[:, j[off]]
        differ = ri != rj
        return (ri > rj)[differ], (si > sj)[differ]
    raise ValueError(f"rule must be one of {RULES}; got {rule!r}")


def estimate(rule, rouge, scores, kept, threshold=0.5, level=0.95):
    """``simulate.selection.audit`` under one rule."""
    correct, keep = samples(rule, rouge, scores, kept, threshold)
    return selection.audit(correct, keep, level=level)
