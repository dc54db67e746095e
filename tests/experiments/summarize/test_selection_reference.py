"""Summary selection through the shared interface reproduces the selections recorded from the
code before it (tests/data/record_selection_reference.py, at c35f981: ``best_of_k`` and
``prune``), bit for bit; every verifier of the pipeline is built from the one spec registry."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.summarize import pipeline, presets, verifiers
from simulate import selection, specs

REFERENCE = np.load(Path(__file__).parents[2] / "data" / "selection_reference.npz")


def test_recorded_summary_selections_are_reproduced_bit_for_bit():
    scores = REFERENCE["sum_scores"]  # rounded to one decimal: ties on purpose
    np.testing.assert_array_equal(verifiers.select(selection.BestOfK(), scores),
                                  REFERENCE["sum_best"])
    np.testing.assert_array_equal(verifiers.select(selection.TopR(0.3), scores),
                                  REFERENCE["sum_prune"])
    rand = verifiers.Random(jax.random.key(4)).scores([None] * 50, [["a"] * 4] * 50)
    np.testing.assert_array_equal(rand, REFERENCE["sum_random_scores"])


def test_best_of_k_keeps_one_per_article_by_an_independent_argmax():
    rng = np.random.default_rng(3)
    scores = np.round(rng.random((40, 5)), 1)
    kept = verifiers.select(selection.BestOfK(), scores)
    assert (kept.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(np.argmax(kept, axis=1), np.argmax(scores, axis=1))


def test_every_pipeline_verifier_is_built_from_the_registry():
    assert verifiers.SPECS is specs.registry("summarize")
    assert verifiers.SPECS.kinds == presets.VERIFIERS

    class Other:
        def score(self, texts, summaries):
            return np.zeros(len(texts))

    built = {name: verifiers.SPECS.build(name, key=jax.random.key(0), other=Other(),
                                         judge=pipeline.keyword_judge)
             for name in presets.VERIFIERS}
    assert isinstance(built["random"], verifiers.Random)
    assert isinstance(built["judge"], verifiers.Judge)
    with pytest.raises(ValueError, match="unknown verifier"):
        verifiers.SPECS.parse("vibes")
    with pytest.raises(ValueError, match="key"):
        verifiers.SPECS.build("random")
    with pytest.raises(ValueError, match="backend"):
        verifiers.SPECS.build("other_model")
    with pytest.raises(ValueError, match="scores"):
        verifiers.select(selection.BestOfK(), np.ones(3))
