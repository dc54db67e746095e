"""Two independently written components, one prediction: the simulation engine at finite n, d
against ``theory.finite`` (proportional regime). Agreement within the seeds' standard error."""

import numpy as np
import pytest

import simulate
import theory
from simulate import generators, pruners


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_engine_matches_the_finite_sample_theory(loss):
    d, seeds = 200, 16
    mu = np.zeros(d)
    mu[0] = 1.0
    table = simulate.run(
        mu, [400, 2000], generators=[generators.flip(0.3)],
        pruners=[pruners.label_only(0.9, 0.3)], lam=0.1, loss=loss, seeds=seeds,
        with_theory=False,
    )
    pred = theory.finite.accuracy(np.array([2.0, 10.0]), 0.3, 0.9, 0.3, 1.0, 0.1, loss=loss)
    for n, expected in zip((400, 2000), pred.accuracy):
        acc = table.where(n=n).column("accuracy")
        se = acc.std(ddof=1) / np.sqrt(len(acc))
        # 4 se plus the O(1/d) finite-size bias of overlaps (theory/finite.md: ~1e-3 here).
        assert abs(acc.mean() - expected) <= 4 * se + 0.002
