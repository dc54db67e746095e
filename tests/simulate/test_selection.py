"""The selection interface: its selectors against independent computations, the simulations'
pruners against the selections recorded from the code before the interface (bit for bit)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulate import generators, pruners, run, selection
from theory import scenario

from .helpers import Z

REFERENCE = np.load(Path(__file__).parents[1] / "data" / "selection_reference.npz")


def test_recorded_pruner_masks_are_reproduced_bit_for_bit():
    """Recorded at c35f981 by tests/data/record_selection_reference.py (``pruner.keep``)."""
    r = REFERENCE
    for x64 in (False, True):
        with jax.enable_x64(x64):
            x, lab, cor = (jnp.asarray(r[k]) for k in ("sim_x", "sim_labels", "sim_correct"))
            w = r["sim_w"]
            for seed in (0, 7):
                key = jax.random.key(seed)
                cases = {"none": pruners.none(), "random": pruners.random(0.37),
                         "oracle": pruners.oracle(), "label_only": pruners.label_only(0.8, 0.25),
                         "linear": pruners.linear(w, 0.1), "top_r_w": pruners.top_r(0.3, w)}
                for name, p in cases.items():
                    got = np.asarray(pruners.keep(p, key, x, lab, cor))
                    np.testing.assert_array_equal(got, r[f"sim_{int(x64)}_{seed}_{name}"],
                                                  err_msg=f"{name} x64={x64} seed={seed}")
                got = np.asarray(selection.TopR(0.3).select(key, jnp.asarray(r["sim_scores"])))
                np.testing.assert_array_equal(got, r[f"sim_{int(x64)}_{seed}_top_r_scores"])


@pytest.mark.slow
def test_recorded_sweep_is_reproduced_bit_for_bit():
    mu = np.array([1.0, 0.5, 0.0])
    table = run(mu, 300, generators=[generators.flip(0.2),
                                     generators.linear(np.array([1.0, 0.2, 0.3]))],
                pruners=[pruners.none(), pruners.random(0.5), pruners.oracle(),
                         pruners.label_only(0.9, 0.3),
                         pruners.linear(np.array([1.0, 1.0, 0.0]), 0.2),
                         pruners.top_r(0.4, np.array([1.0, 0.0, 1.0])),
                         pruners.supervised(30, rate=0.5), pruners.supervised(30)],
                lam=0.05, seeds=2, root_seed=5)
    # what was selected, exactly; the fits' accuracies to the last bits the contraction order
    # of the fitter's gradient leaves (it changed after the recording, for speed)
    for col in ("p", "phi", "psi", "pstar", "kept"):
        np.testing.assert_array_equal(np.asarray(table.column(col), float), REFERENCE[f"run_{col}"],
                                      err_msg=col)
    np.testing.assert_allclose(np.asarray(table.column("accuracy"), float),
                               REFERENCE["run_accuracy"], rtol=0, atol=1e-6)


# --- the selectors against independent computations ----------------------------------------


@given(n=st.integers(1, 60), rate=st.floats(0.01, 1.0), seed=st.integers(0, 2**31 - 1))
def test_top_r_keeps_the_highest_scores_earlier_index_on_ties(n, rate, seed):
    scores = np.round(np.random.default_rng(seed).standard_normal(n), 1)
    got = np.asarray(selection.TopR(rate).select(None, scores))
    count = int(np.ceil(rate * n - 1e-9))
    # independent: Python's sort is stable, so (-score, index) order breaks ties by index
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    expected = np.zeros(n, bool)
    expected[order[:count]] = True
    np.testing.assert_array_equal(got, expected)


@given(groups=st.lists(st.integers(0, 5), min_size=1, max_size=40), seed=st.integers(0, 2**31 - 1),
       tau=st.none() | st.floats(-1, 1))
def test_best_of_k_keeps_each_groups_first_best(groups, seed, tau):
    g = np.array(groups)
    scores = np.round(np.random.default_rng(seed).standard_normal(len(g)), 1)
    got = np.asarray(selection.BestOfK(tau).select(None, scores, groups=g))
    expected = np.zeros(len(g), bool)
    for gid in set(groups):
        members = [i for i in range(len(g)) if g[i] == gid]
        best = max(members, key=lambda i: (scores[i], -i))  # highest, then earliest
        expected[best] = tau is None or scores[best] > tau
    np.testing.assert_array_equal(got, expected)


def test_threshold_and_oracle_and_none():
    s = np.array([0.3, np.nan, -1.0, 0.31, np.inf])
    np.testing.assert_array_equal(selection.Threshold(0.3).select(None, s),
                                  [False, False, False, True, True])
    c = np.array([True, False, True])
    np.testing.assert_array_equal(selection.Oracle().select(None, correct=c), c)
    np.testing.assert_array_equal(selection.NoPruning().select(None, groups=np.arange(4)),
                                  np.ones(4, bool))
    assert selection.flip(0.2) == selection.LabelOnly(0.8, 0.2)


def test_label_level_rates_within_binomial_tolerance():
    n = 40_000
    key = jax.random.key(2)
    correct = np.asarray(jax.random.uniform(jax.random.key(1), (n,))) < 0.7
    for sel, phi, psi in [(selection.Random(0.4), 0.4, 0.4),
                          (selection.LabelOnly(0.9, 0.2), 0.9, 0.2),
                          (selection.flip(0.3), 0.7, 0.3)]:
        r = selection.measure(correct, sel.select(key, correct=correct))
        for got, want, m in ((r.phi, phi, correct.sum()), (r.psi, psi, (~correct).sum())):
            assert abs(float(got) - want) <= Z * np.sqrt(want * (1 - want) / m)


def test_random_and_label_only_share_their_uniforms():
    """Common random numbers: what Random(rate) keeps, LabelOnly(rate, rate) keeps too."""
    c = np.arange(100) % 3 == 0
    key = jax.random.key(5)
    np.testing.assert_array_equal(selection.Random(0.35).select(key, correct=c),
                                  selection.LabelOnly(0.35, 0.35).select(key, correct=c))


def test_scenario_descriptions_become_selectors():
    assert selection.from_scenario(scenario.label_only(0.8, 0.1)) == selection.LabelOnly(0.8, 0.1)
    assert selection.from_scenario(scenario.no_pruning()) == selection.NoPruning()
    lin = pruners.from_scenario(scenario.linear_verifier(np.ones(2), 0.5))
    assert isinstance(lin, selection.Selector) and isinstance(lin, pruners.MixtureScorer)
    with pytest.raises(ValueError, match="inputs"):
        selection.from_scenario(scenario.top_r(0.5, np.ones(2)))


class _KeepPositive:
    """A selector of one's own: no kind, no params."""

    def select(self, key, scores=None, *, correct=None, groups=None):
        return jnp.asarray(scores) > 0


class _KeepPositiveFirstCoordinate(_KeepPositive):
    def score(self, inputs, labels):
        return labels * inputs[:, 0]


def test_a_selector_of_ones_own_is_a_pruner_in_the_mixture():
    assert isinstance(_KeepPositive(), selection.Selector)
    assert selection.describe(_KeepPositive()) == ("_KeepPositive", {})
    x = jnp.array([[1.0, 0.0], [-2.0, 1.0], [0.5, 3.0]])
    lab = jnp.array([1.0, -1.0, -1.0])
    np.testing.assert_array_equal(pruners.keep(_KeepPositiveFirstCoordinate(), None, x, lab),
                                  [True, True, False])


@pytest.mark.parametrize("call, name", [
    (lambda: selection.Oracle().select(None), "correct"),
    (lambda: selection.TopR(0.5).select(None), "scores"),
    (lambda: selection.TopR(0.5).select(None, np.array([1.0, np.nan])), "NaN"),
    (lambda: selection.BestOfK().select(None, np.ones(3)), "groups"),
    (lambda: selection.BestOfK().select(None, np.ones(3), groups=np.ones(2, int)), "groups"),
    (lambda: selection.BestOfK().select(None, np.ones(3), groups=np.ones(3) * 0.5), "groups"),
    (lambda: selection.Random(0.5).select(jax.random.key(0)), "scores, correct or groups"),
    (lambda: selection.NoPruning().select(None, np.ones(3), correct=np.ones(2, bool)), "shapes"),
    (lambda: selection.Threshold(np.inf), "tau"),
    (lambda: selection.BestOfK(np.nan), "tau"),
    (lambda: selection.flip(1.5), "r"),
    (lambda: selection.LabelOnly(0.5, -0.1), "psi"),
    (lambda: selection.Oracle().select(None, correct=np.array([0.5, 1.0])), "correct"),
    (lambda: selection.TopR(0.5).select(None, np.ones((2, 2))), "scores"),
    (lambda: selection.grid_groups(0, 3), "a"),
    (lambda: pruners.keep(object(), None, None, np.ones(3)), "pruner"),
    (lambda: pruners.supervised(10).select(None, np.ones(3)), "fitted"),
    (lambda: pruners.linear(np.ones(2)).select(None), "scores"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
