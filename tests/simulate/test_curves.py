"""Theory beside simulations: sweep theory curves (simulate.curves) and the exact trajectory of
retraining chains (simulate.generations.theory_trajectory), against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from simulate import curves, generators, pruners, specs, sweep
from simulate.generations import generations, theory_trajectory
from simulate.run import run

RAW = {
    "name": "curves-test", "root_seed": 0, "seeds": 1,
    "data": {"d": 8, "mu_norm": 1.5},
    "grid": {"n": [40, 400], "p": [0.1, 0.3], "generator": ["flip:p={p}", "trained:n_real=10"],
             "pruner": ["oracle", "linear:angle=0.5", "supervised:n_real=10"]},
}


def test_curves_cover_the_sweep_and_match_its_finite_theory_column():
    spec = sweep.from_dict(RAW)
    table = curves.sweep_theory(spec, points=5, progress=False)
    ns = sorted({r["n"] for r in table.rows})
    assert {40.0, 400.0} <= set(ns) and len(ns) == 5  # the sweep's n plus a log grid
    np.testing.assert_allclose(np.diff(np.log(ns)), np.log(10) / 4, rtol=1e-12)
    # only scenarios with an exact theory: flip generators x (oracle, linear)
    assert {(r["generator_spec"], r["pruner_spec"]) for r in table.rows} == {
        (g, pr) for g in ("flip:p=0.1", "flip:p=0.3") for pr in ("oracle", "linear:angle=0.5")}
    # at the sweep's own n the curve is simulate.run's finite-theory column (a second path)
    mu = np.asarray(spec.mus[0])
    ran = run(mu, 400, generators=[specs.generator("flip:p=0.3", mu)],
              pruners=[specs.pruner("linear:angle=0.5", mu)], seeds=1, with_finite_theory=True)
    row = [r for r in table.rows if r["n"] == 400.0 and r["generator_spec"] == "flip:p=0.3"
           and r["pruner_spec"] == "linear:angle=0.5"][0]
    assert row["theory_finite_accuracy"] == pytest.approx(
        ran.rows[0]["theory_finite_accuracy"], abs=1e-9)
    assert row["theory_limit_accuracy"] == pytest.approx(ran.rows[0]["theory_accuracy"],
                                                         abs=1e-6)
    assert row["theory_pstar"] == pytest.approx(ran.rows[0]["theory_pstar"], abs=1e-9)


def test_dense_extra_axis_and_bad_settings():
    spec = sweep.from_dict(RAW)
    table = curves.sweep_theory(spec, dense="p", points=3, progress=False)
    assert sorted({r["gen_p"] for r in table.rows}) == pytest.approx([0.1, 0.2, 0.3])
    assert sorted({r["n"] for r in table.rows}) == [40.0, 400.0]
    with pytest.raises(ValueError, match="dense"):
        curves.sweep_theory(spec, dense="lam", progress=False)
    with pytest.raises(ValueError, match="points"):
        curves.sweep_theory(spec, points=0, progress=False)


def test_stored_curves_round_trip_and_mend_damage(tmp_path, capsys):
    spec = sweep.from_dict({**RAW, "grid": {**RAW["grid"], "n": 100, "p": 0.2,
                                            "pruner": "oracle", "generator": "flip:p={p}"}})
    first = curves.stored_theory(spec, tmp_path, points=2, progress=False)
    again = curves.stored_theory(spec, tmp_path, points=2, progress=False)
    assert again.rows == first.rows
    path = tmp_path / "theory.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("0.", "9.", 1), encoding="utf-8")
    mended = curves.stored_theory(spec, tmp_path, points=2, progress=False)
    assert "damaged" in capsys.readouterr().err
    assert mended.rows == first.rows


def test_trained_initial_generation_zero_is_the_fit_of_real_data():
    """Generation 0 of a trained initial generator: the proportional limit of its own fit, here
    against a direct average over seeds of fits on real data at d = 400 (binomial-free: the
    accuracy of a fit fluctuates by O(1/sqrt(d)) across seeds; 4 standard errors)."""
    d = 400
    mu = np.zeros(d)
    mu[0] = 1.5
    traj = theory_trajectory(mu, 800, 1, generators.trained(800), pruners.none())
    table = generations(mu, 800, generations=1, initial=generators.trained(800),
                        pruners=[pruners.none()], seeds=6, root_seed=3)
    acc0 = np.array([r["accuracy"] for r in table.rows if r["generation"] == 0])
    se = acc0.std(ddof=1) / np.sqrt(acc0.size)
    assert abs(acc0.mean() - traj[0]) < 4 * se + 2.0 / d


@pytest.mark.slow
def test_replace_trajectory_matches_simulated_chains():
    """Sign-labelled chains with a margin verifier at d = 200, alpha = 10: the simulated mean
    accuracy per generation is within 4 standard errors (over seeds) plus an O(1/d) finite-size
    allowance of the exact trajectory."""
    d = 200
    mu = np.zeros(d)
    mu[0] = 1.2
    w0 = specs.direction(mu, 1.0)
    verifier = pruners.linear(specs.direction(mu, 0.6))
    table = generations(mu, 10 * d, generations=3, initial=generators.linear(w0),
                        pruners=[verifier], labels="sign", seeds=4, root_seed=1,
                        with_theory=True)
    for t in range(4):
        rows = [r for r in table.rows if r["generation"] == t]
        acc = np.array([r["accuracy"] for r in rows])
        se = acc.std(ddof=1) / np.sqrt(acc.size) if t else 0.0
        assert abs(acc.mean() - rows[0]["theory_accuracy"]) < 4 * se + 2.0 / d, t
    accumulate = generations(mu, 10 * d, generations=1, initial=generators.linear(w0),
                             pruners=[verifier], labels="sign", seeds=1, mode="accumulate",
                             with_theory=True)
    assert np.isnan(accumulate.rows[-1]["theory_accuracy"])  # no exact theory there
