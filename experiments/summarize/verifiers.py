"""Summary verifiers behind one interface, and the two ways of selecting with them.

A verifier scores every candidate of every article: ``scores(articles, candidates) -> (A, k)``
(higher = better). Selection: ``best_of_k`` keeps each article's highest-scoring candidate;
``prune`` keeps the top ``rate`` of all candidates (``simulate.pruners.top_r``, the same pruning
interface as the simulations). Verifiers:

- ``Oracle``: ROUGE-1 against the reference (needs the references: an upper bound).
- ``Random``: uniform scores from a JAX key.
- ``Self``: the generator's own length-normalised log-likelihood of each candidate.
- ``Likelihood``: another model's length-normalised log-likelihood (any backend's ``score``).
- ``Judge``: any callable ``judge(article_text, candidate_text) -> float``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simulate import pruners

from . import rouge

__all__ = ["Oracle", "Random", "Self", "Likelihood", "Judge", "best_of_k", "prune"]


def _grid(candidates):
    """candidates: a list (per article) of equally long lists of texts."""
    k = {len(c) for c in candidates}
    if len(k) != 1 or 0 in k:
        raise ValueError("every article needs the same number k >= 1 of candidates")
    return len(candidates), k.pop()


class Oracle:
    name = "oracle"

    def scores(self, articles, candidates, **_):
        a, k = _grid(candidates)
        refs = [art.summary for art in articles for _ in range(k)]
        flat = [c for cands in candidates for c in cands]
        return rouge.scores(flat, refs)["rouge1"].reshape(a, k)


class Random:
    name = "random"

    def __init__(self, key):
        self.key = key

    def scores(self, articles, candidates, **_):
        a, k = _grid(candidates)
        return np.asarray(jax.random.uniform(self.key, (a, k)))


class Self:
    """The generator's own length-normalised log-likelihoods, as produced with the candidates."""

    name = "self"

    def scores(self, articles, candidates, *, generator_scores=None, **_):
        a, k = _grid(candidates)
        if generator_scores is None:
            raise ValueError("the self verifier needs the generator's scores of the candidates")
        s = np.asarray(generator_scores, float)
        if s.shape != (a, k):
            raise ValueError(f"generator_scores must be ({a}, {k}); got {s.shape}")
        return s


class Likelihood:
    """Another model's length-normalised log-likelihood: ``backend.score(texts, summaries)``."""

    def __init__(self, backend, name="other_model"):
        self.backend = backend
        self.name = name

    def scores(self, articles, candidates, **_):
        a, k = _grid(candidates)
        texts = [art.text for art in articles for _ in range(k)]
        flat = [c for cands in candidates for c in cands]
        return np.asarray(self.backend.score(texts, flat), float).reshape(a, k)


class Judge:
    """An external judge: any callable (article text, candidate text) -> score."""

    def __init__(self, judge, name="judge"):
        if not callable(judge):
            raise ValueError("judge must be callable (article_text, candidate_text) -> float")
        self.judge = judge
        self.name = name

    def scores(self, articles, candidates, **_):
        a, k = _grid(candidates)
        return np.array([[float(self.judge(art.text, c)) for c in cands]
                         for art, cands in zip(articles, candidates)]).reshape(a, k)


def best_of_k(scores) -> np.ndarray:
    """(A, k) one-hot keep decisions: each article's highest-scoring candidate (first on ties)."""
    scores = np.asarray(scores, float)
    kept = np.zeros(scores.shape, bool)
    kept[np.arange(scores.shape[0]), np.argmax(scores, axis=1)] = True
    return kept


def prune(scores, rate, key=None) -> np.ndarray:
    """(A, k) keep decisions: the top ``rate`` of all candidates by score (``top_r``)."""
    scores = np.asarray(scores, float)
    flat = jnp.asarray(scores.ravel())
    n = flat.shape[0]
    keep = pruners.top_r(rate).keep(key, jnp.zeros((n, 1)), jnp.ones(n), scores=flat)
    return np.asarray(keep).reshape(scores.shape)
