"""Model collapse over generations (simulate.generations) against independent computations."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import theory
from simulate import data, generators, pruners
from simulate.generations import generations
from simulate.run import seed_key

D, N, LAM = 4, 400, 1e-2
MU = np.array([1.2, 0.0, 0.0, 0.0])
W0 = np.array([0.8, 0.6, -0.3, 0.1])


def _sklearn_chain(seed, labels, prune, steps, mode="replace"):
    """Re-derive each generation's data from the documented keys and fit with scikit-learn
    (accumulate: on every generation's candidates so far, each labelled by its own model)."""
    mix = data.mixture(MU)
    w_prev, accs = W0, []
    pool = []
    with jax.enable_x64(True):
        for t in range(1, steps + 1):
            x, y = data.sample(jax.random.fold_in(seed_key(0, seed, "sample"), t), mix, N)
            x, y = np.asarray(x), np.asarray(y)
            margin = x @ w_prev
            if labels == "sample":
                u = np.asarray(data.uniforms(jax.random.fold_in(seed_key(0, seed, "generator"), t),
                                             N, x.dtype))
                lab = np.where(u < 1 / (1 + np.exp(-margin)), 1.0, -1.0)
            else:
                lab = np.where(margin >= 0, 1.0, -1.0)
            keep = (lab == y) if prune == "oracle" else np.ones(N, bool)
            pool = (pool if mode == "accumulate" else []) + [(x, lab, keep)]
            xs, labs, keeps = (np.concatenate(a) for a in zip(*pool))
            # C = 1 / (lam * total): every candidate of the pool counts in the 1/n of the loss
            clf = LogisticRegression(C=1 / (LAM * len(xs)), fit_intercept=False, tol=1e-12,
                                     max_iter=10_000)
            clf.fit(xs, labs, sample_weight=keeps.astype(float))
            w_prev = clf.coef_[0]
            accs.append(float(theory.linear_accuracy(w_prev, MU)))
    return accs


@pytest.mark.parametrize("labels", ["sample", "sign"])
def test_chains_match_scikit_learn(labels):
    table = generations(MU, N, generations=2, initial=generators.linear(W0),
                        pruners=[pruners.none(), pruners.oracle()], labels=labels, lam=LAM,
                        seeds=[2], root_seed=0, tol=1e-10)
    for pi, name in enumerate(["none", "oracle"]):
        rows = table.where(pruner_index=pi).rows
        assert [r["generation"] for r in rows] == [0, 1, 2]
        assert rows[0]["accuracy"] == pytest.approx(float(theory.linear_accuracy(W0, MU)))
        expected = _sklearn_chain(2, labels, name, 2)
        np.testing.assert_allclose([r["accuracy"] for r in rows[1:]], expected, atol=1e-7)
        assert all(r["converged"] for r in rows)


@pytest.mark.parametrize("labels", ["sample", "sign"])
def test_accumulate_chains_match_scikit_learn(labels):
    """Accumulate mode refits on all generations' candidates; generation 1 equals replace."""
    kwargs = dict(generations=3, initial=generators.linear(W0),
                  pruners=[pruners.none(), pruners.oracle()], labels=labels, lam=LAM,
                  seeds=[5], root_seed=0, tol=1e-10)
    table = generations(MU, N, mode="accumulate", **kwargs)
    replace = generations(MU, N, mode="replace", **kwargs)
    assert table.meta["mode"] == "accumulate"
    for pi, name in enumerate(["none", "oracle"]):
        rows = table.where(pruner_index=pi).rows
        expected = _sklearn_chain(5, labels, name, 3, mode="accumulate")
        np.testing.assert_allclose([r["accuracy"] for r in rows[1:]], expected, atol=1e-7)
        first = replace.where(pruner_index=pi).rows[1]
        assert rows[1]["accuracy"] == pytest.approx(first["accuracy"], abs=1e-12)
        # later generations differ from replace (more data): the mode is not ignored
        assert rows[3]["accuracy"] != pytest.approx(replace.where(pruner_index=pi).rows[3]
                                                     ["accuracy"], abs=1e-9)


def test_measured_rates_follow_the_generator():
    """Generation 1 with sign labels: the error rate is 1 - acc(w0) in expectation (binomial
    tolerance over seeds x n draws); the oracle keeps exactly the correct labels."""
    seeds, n = 8, 2000
    table = generations(MU, n, generations=1, initial=generators.linear(W0),
                        pruners=[pruners.none(), pruners.oracle()], labels="sign", seeds=seeds)
    first = [r for r in table.rows if r["generation"] == 1]
    p_expected = 1 - float(theory.linear_accuracy(W0, MU))
    p_none = np.mean([r["p"] for r in first if r["pruner"] == "none"])
    se = np.sqrt(p_expected * (1 - p_expected) / (seeds * n))
    assert abs(p_none - p_expected) < 4.5 * se
    for r in first:
        if r["pruner"] == "oracle":
            assert (r["phi"], r["psi"], r["pstar"]) == (1.0, 0.0, 1.0)
        else:
            assert (r["phi"], r["psi"]) == (1.0, 1.0)


def test_rows_do_not_depend_on_which_seeds_run():
    kw = dict(generations=3, initial=generators.trained(20), pruners=[pruners.random(0.5)],
              seeds=4)
    full = generations(MU, 200, **kw)
    part = generations(MU, 200, **{**kw, "seeds": [1, 3]})
    for row in part.rows:
        match = [r for r in full.rows
                 if (r["seed"], r["generation"]) == (row["seed"], row["generation"])]
        assert match == [row]


@pytest.mark.parametrize("kwargs, name", [
    (dict(initial=generators.flip(0.1)), "initial"),
    (dict(labels="argmax"), "labels"),
    (dict(generations=0), "generations"),
    (dict(pruners=[]), "pruners"),
    (dict(lam=-1.0), "lam"),
    (dict(mode="append"), "mode"),
])
def test_bad_input_is_named(kwargs, name):
    base = dict(generations=2, initial=generators.linear(W0), pruners=[pruners.none()])
    with pytest.raises(ValueError, match=name):
        generations(MU, 50, **{**base, **kwargs})
