"""Summary verifiers behind one interface, selecting through the selection interface of every
setting (``simulate.selection``).

A verifier scores every candidate of every article: ``scores(articles, candidates) -> (A, k)``
(higher = better). ``select(selector, scores, key)`` hands the scores to any selector, with the
articles as groups: ``selection.BestOfK()`` keeps each article's highest-scoring candidate (the
pipeline's rule), ``selection.TopR(rate)`` the top ``rate`` of all candidates. Verifiers
(registered as specs in ``simulate.specs.registry("summarize")``, built with
``SPECS.build(name, key=..., other=..., judge=...)``):

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

from simulate import selection, specs

from . import rouge

__all__ = ["Oracle", "Random", "Self", "Likelihood", "Judge", "select", "SPECS"]


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
        if key is None:
            raise ValueError("key: the random verifier needs a JAX key")
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
        if not callable(getattr(backend, "score", None)):
            raise ValueError("backend must have score(texts, summaries) (another model)")
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


def select(selector, scores, key=None, correct=None) -> np.ndarray:
    """(A, k) keep decisions of any selector on (A, k) scores, the articles as groups;
    ``correct`` (A, k), a rule's ground truth (``pstar``), for the selectors that read it."""
    scores = np.asarray(scores, float)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"scores must be (articles, k) with k >= 1; got shape {scores.shape}")
    a, k = scores.shape
    if correct is not None:
        correct = np.asarray(correct)
        if correct.shape != scores.shape:
            raise ValueError(f"correct must be {scores.shape} like the scores; got "
                             f"{correct.shape}")
        correct = correct.ravel()
    keep = selector.select(key, scores.ravel(), correct=correct,
                           groups=selection.grid_groups(a, k))
    return np.asarray(keep, bool).reshape(a, k)


SPECS = specs.registry("summarize", noun="verifier")
SPECS.add("oracle", lambda p, **_: Oracle(), doc="ROUGE-1 against the reference")
SPECS.add("random", lambda p, key=None, **_: Random(key), doc="uniform scores")
SPECS.add("self", lambda p, **_: Self(), doc="the generator's own likelihood")
SPECS.add("other_model", lambda p, other=None, **_: Likelihood(other, "other_model"),
          doc="another model's likelihood")
SPECS.add("judge", lambda p, judge=None, **_: Judge(judge, "judge"), doc="an external judge")
