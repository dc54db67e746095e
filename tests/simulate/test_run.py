"""Sweeps: theory vs simulation at large n, reproducibility under chunking, the table, bad input.

Theory checks: the simulated accuracies of S seeds at sample size n are compared with the
n -> inf limit of ``theory/`` corrected to second order for finite n (the fitted w is
asymptotically normal around w_inf with the sandwich covariance, computed independently by Monte
Carlo in ``helpers.predicted_accuracy``); tolerance Z standard errors. Keep rates are compared
with the closed forms with their binomial standard errors.
"""

import json

import numpy as np
import pytest

import theory
from simulate import generators, pruners, run

from .helpers import Z, flip_label_only, flip_linear_verifier, predicted_accuracy

N, SEEDS = 4000, 16


def _pooled_rate_check(rows, rate, count):
    """Pooled rate over seeds vs its closed form: |sum k - sum n r| <= Z sqrt(sum n r (1 - r))."""
    r = np.array([row[f"theory_{rate}"] for row in rows])
    k = np.array([row[rate] * c for row, c in zip(rows, count)])
    assert abs(k.sum() - (count * r).sum()) <= Z * np.sqrt((count * r * (1 - r)).sum()) + 1e-9


def _accuracy_check(rows, rule, mu, w_inf, lam, loss, seed, real_fraction=0.0):
    acc = np.array([row["accuracy"] for row in rows])
    mean, sd, mc_se = predicted_accuracy(rule, mu, w_inf, N, lam, loss,
                                         np.random.default_rng(seed), real_fraction=real_fraction)
    se = np.sqrt(sd**2 / acc.size + mc_se**2)
    assert abs(acc.mean() - mean) <= Z * se, (acc.mean(), mean, se)
    assert all(row["converged"] for row in rows)


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_label_only_pruning_matches_theory_on_both_sides_of_pstar(loss):
    mu = np.array([1.0, 0.0, 0.0])
    phi, psi, lam = 0.8, 0.4, 0.05
    ps = theory.pstar(phi, psi)
    p_values = (0.3, 0.8)
    assert p_values[0] < ps < p_values[1]
    table = run(mu, N, generators=[generators.flip(p) for p in p_values],
                pruners=pruners.label_only(phi, psi), lam=lam, loss=loss, seeds=SEEDS,
                root_seed=11)
    assert len(table) == 2 * SEEDS
    for gi, p in enumerate(p_values):
        rows = table.where(generator_index=gi).rows
        limit = theory.label_only.limit_accuracy(p, phi, psi, mu, lam, loss=loss)
        assert all(r["theory_accuracy"] == pytest.approx(limit, abs=1e-12) for r in rows)
        assert (limit > 0.5) == (p < ps)
        n_correct = np.array([N * (1 - r["p"]) for r in rows])
        _pooled_rate_check(rows, "phi", n_correct)
        _pooled_rate_check(rows, "psi", N - n_correct)
        w_inf = theory.label_only.limit_weights(p, phi, psi, mu, lam, loss=loss)
        _accuracy_check(rows, flip_label_only(p, phi, psi), mu, w_inf, lam, loss, seed=gi)


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_linear_verifier_matches_theory_on_both_sides_of_the_breakdown(loss):
    mu = np.array([1.2, 0.0, 0.0])
    angle, lam = 0.9, 1.0
    w_v = np.array([np.cos(angle), np.sin(angle), 0.0])
    p_values = (0.75, 0.99)  # p_break is about 0.94 (logistic) and 0.95 (square) at lam = 1
    table = run(mu, N, generators=[generators.flip(p) for p in p_values],
                pruners=pruners.linear(w_v), lam=lam, loss=loss, seeds=SEEDS, root_seed=12)
    phi, psi = theory.linear_verifier.keep_rates(mu, w_v)
    sides = []
    for gi, p in enumerate(p_values):
        rows = table.where(generator_index=gi).rows
        assert all(r["theory_phi"] == pytest.approx(phi, abs=1e-12) for r in rows)
        sides.append(rows[0]["theory_accuracy"] > 0.5)
        n_correct = np.array([N * (1 - r["p"]) for r in rows])
        _pooled_rate_check(rows, "phi", n_correct)
        _pooled_rate_check(rows, "psi", N - n_correct)
        w_inf = theory.linear_verifier.limit_weights(
            mu, np.tile(w_v, (8, 1)), np.full(8, p), np.full(8, lam), np.zeros(8), loss=loss)[0]
        _accuracy_check(rows, flip_linear_verifier(p, w_v, 0.0), mu, w_inf, lam, loss, seed=gi)
    assert sides == [True, False]  # the two error rates straddle the breakdown


def test_real_data_fraction_matches_theory():
    """p = 0.8 with no pruning collapses (accuracy 1 - Bayes); half real data rescues it."""
    mu = np.array([1.0, 0.0, 0.0])
    lam, p, rf = 0.05, 0.8, 0.5
    table = run(mu, N, generators=generators.flip(p), pruners=pruners.none(), lam=lam,
                real_fraction=[0.0, rf], seeds=SEEDS, root_seed=13)
    collapsed = table.where(real_fraction=0.0).rows
    mixed = table.where(real_fraction=rf).rows
    assert all(r["accuracy"] < 0.5 for r in collapsed) and all(r["n_real"] == 2000 for r in mixed)
    c_plus, c_minus = rf + (1 - rf) * (1 - p), (1 - rf) * p
    w_inf = theory.label_only.limit_weights(1 - c_plus, 1.0, c_minus / (1 - c_plus), mu, lam)
    assert mixed[0]["theory_accuracy"] == pytest.approx(theory.bayes_accuracy(mu), abs=1e-9)
    _accuracy_check(mixed, flip_label_only(p, 1.0, 1.0), mu, w_inf, lam, "logistic", seed=5,
                    real_fraction=rf)


def _small_grid(**kwargs):
    mu = np.array([1.0, 0.5, 0.0])
    args = dict(generators=[generators.flip(0.1), generators.flip(0.4), generators.trained(20)],
                pruners=[pruners.none(), pruners.label_only(0.9, 0.3),
                         pruners.top_r(0.5, np.array([1.0, 1.0, 0.0])),
                         pruners.supervised(30, rate=0.5)],
                lam=[1e-2, 1e-1], seeds=5, root_seed=7, with_theory=False)
    args.update(kwargs)
    return run(mu, 300, **args)


def _values(table):
    return [tuple(np.asarray(v).tobytes() if isinstance(v, float) else v for v in row.values())
            for row in table.rows]


def test_results_are_bit_identical_whatever_the_chunking():
    whole = _small_grid()
    for batch in (1, 2):
        assert _values(_small_grid(batch_size=batch)) == _values(whole)
    # A subset of the seeds reproduces those seeds' rows exactly.
    subset = _small_grid(seeds=[1, 3])
    assert _values(subset) == [
        v for v, row in zip(_values(whole), whole.rows) if row["seed"] in (1, 3)]
    # Another root seed changes the draws.
    other = _small_grid(root_seed=8)
    assert other.column("accuracy").tolist() != whole.column("accuracy").tolist()


def test_table_rows_columns_and_fitted_specs():
    mu = np.array([1.0, 0.5, 0.0])
    table = run(mu, [500, 1000], generators=[generators.flip(0.2), generators.trained(30)],
                pruners=[pruners.oracle(), pruners.supervised(40)], lam=0.05,
                loss=["logistic", "square"], seeds=4, root_seed=3)
    assert len(table) == 2 * 2 * 2 * 2 * 4
    for col in ("root_seed", "seed", "n", "lam", "loss", "p", "phi", "psi", "pstar", "accuracy",
                "converged", "theory_accuracy", "theory_pstar", "gen_n_real", "prune_n_real"):
        assert col in table.columns
    assert set(table.column("root_seed")) == {3}
    assert np.all(table.column("converged")) and np.all(table.column("setup_converged"))
    records = json.loads(table.to_json())
    assert len(records) == len(table) and records[0].keys() == table.rows[0].keys()
    # Oracle: every kept sample is correct.
    oracle = table.where(pruner="oracle").rows
    assert all(r["psi"] == 0.0 or np.isnan(r["psi"]) for r in oracle)
    assert all(r["phi"] == 1.0 for r in oracle)
    # Trained generator: measured error rate vs Phi(-mu^T w_g / |w_g|) of its own fitted w_g.
    rows = table.where(generator="trained", pruner="oracle", loss="logistic").rows
    counts = np.array([r["n"] for r in rows], float)
    p_th = np.array([r["theory_p"] for r in rows])
    wrong = np.array([r["p"] for r in rows]) * counts
    assert abs(wrong.sum() - (counts * p_th).sum()) <= Z * np.sqrt((counts * p_th * (1 - p_th)).sum())
    # Supervised verifier with the flip generator: keep rates vs its fitted direction.
    rows = table.where(generator="flip", pruner="supervised", loss="logistic").rows
    n_correct = np.array([r["n"] * (1 - r["p"]) for r in rows])
    _pooled_rate_check(rows, "phi", n_correct)
    _pooled_rate_check(rows, "psi", np.array([r["n"] for r in rows]) - n_correct)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n": -5}, "n"),
        ({"n": 0}, "n"),
        ({"mu": np.zeros(0)}, "mu"),
        ({"mu": np.array([1.0, np.nan])}, "mu"),
        ({"pruners": pruners.linear(np.ones(3))}, "w_v"),
        ({"lam": -1.0}, "lam"),
        ({"lam": np.nan}, "lam"),
        ({"real_fraction": 1.5}, "real_fraction"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"loss": "hinge"}, "loss"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    args = {"mu": np.array([1.0, 0.0]), "n": 50, "generators": generators.flip(0.1)}
    args.update(kwargs)
    mu, n = args.pop("mu"), args.pop("n")
    with pytest.raises(ValueError, match=name):
        run(mu, n, **args)
