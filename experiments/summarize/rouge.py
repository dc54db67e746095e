"""ROUGE-1, ROUGE-2 and ROUGE-L F-measures with Google's ``rouge-score`` (stemming on).

``scores(candidates, references)`` scores pairs; large batches are split over worker processes
(``workers``), since the package is pure Python.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

__all__ = ["KINDS", "scores"]

KINDS = ("rouge1", "rouge2", "rougeL")
_PARALLEL_FROM = 4000  # pairs; below this a pool costs more than it saves


def _score_chunk(pairs):
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(KINDS), use_stemmer=True)
    out = np.empty((len(pairs), len(KINDS)))
    for i, (cand, ref) in enumerate(pairs):
        s = scorer.score(ref, cand)  # (target, prediction)
        out[i] = [s[k].fmeasure for k in KINDS]
    return out


def scores(candidates, references, *, workers=None) -> dict:
    """{"rouge1": (N,), "rouge2": (N,), "rougeL": (N,)} F-measures of candidate i against
    reference i."""
    candidates, references = list(candidates), list(references)
    if len(candidates) != len(references):
        raise ValueError(f"need one reference per candidate; got {len(candidates)} and "
                         f"{len(references)}")
    for name, texts in (("candidates", candidates), ("references", references)):
        if not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{name} must be strings")
    pairs = list(zip(candidates, references))
    if not pairs:
        return {k: np.zeros(0) for k in KINDS}
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers > 1 and len(pairs) >= _PARALLEL_FROM:
        chunks = [pairs[i::workers] for i in range(workers)]
        # spawn, not fork: the parent runs JAX's threads, which a fork would copy half-way.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_score_chunk, chunks))
        out = np.empty((len(pairs), len(KINDS)))
        for i, part in enumerate(parts):
            out[i::workers] = part
    else:
        out = _score_chunk(pairs)
    return {k: out[:, j] for j, k in enumerate(KINDS)}
