"""p* from an audit set: counts, posterior, coverage, bad input
(docs/theory.md, section 'Estimating p* from an audit set')."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory

bools = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=80)


@given(pairs=bools)
def test_point_estimates_are_the_plug_in_ratios(pairs):
    c = np.array([a for a, _ in pairs])
    s = np.array([b for _, b in pairs])
    est = theory.estimate_pstar(c, s)
    assert est.n == len(c) and est.p == pytest.approx(1 - c.mean())
    if c.any():
        assert est.phi == pytest.approx(s[c].mean())
    else:
        assert np.isnan(est.phi)
    if (~c).any():
        assert est.psi == pytest.approx(s[~c].mean())
    if c.any() and (~c).any() and est.phi + est.psi > 0:
        assert est.pstar == pytest.approx(est.phi / (est.phi + est.psi))
    lo, hi = est.pstar_interval
    assert 0 <= lo <= hi <= 1 and 0 <= est.prob_p_below_pstar <= 1


def _posterior_draws(est, rng, n):
    phi = rng.beta(est.n_kept_correct + 0.5, est.n_correct - est.n_kept_correct + 0.5, n)
    psi = rng.beta(est.n_kept_wrong + 0.5, est.n_wrong - est.n_kept_wrong + 0.5, n)
    p = rng.beta(est.n_wrong + 0.5, est.n - est.n_wrong + 0.5, n)
    return p, phi / (phi + psi)


@pytest.mark.parametrize("n, p, phi, psi", [(40, 0.3, 0.8, 0.3), (200, 0.45, 0.6, 0.5),
                                            (25, 0.1, 0.9, 0.7)])
def test_interval_and_probability_match_posterior_sampling(n, p, phi, psi):
    """The deterministic quadrature against Monte Carlo draws from the same posteriors."""
    rng = np.random.default_rng(n)
    c = rng.random(n) > p
    s = np.where(c, rng.random(n) < phi, rng.random(n) < psi)
    est = theory.estimate_pstar(c, s, level=0.9)
    draws = 1_000_000
    p_draw, pstar_draw = _posterior_draws(est, rng, draws)
    lo, hi = est.pstar_interval
    # P(p* <= lo) = 0.05 and P(p* <= hi) = 0.95; MC error of a proportion from 1e6 draws.
    tol = 4.5 * np.sqrt(0.05 * 0.95 / draws)
    assert np.mean(pstar_draw <= lo) == pytest.approx(0.05, abs=tol)
    assert np.mean(pstar_draw <= hi) == pytest.approx(0.95, abs=tol)
    prob = np.mean(p_draw < pstar_draw)
    assert est.prob_p_below_pstar == pytest.approx(prob, abs=4.5 * np.sqrt(prob * (1 - prob) / draws) + 1e-6)


@pytest.mark.parametrize("n, p, phi, psi", [(60, 0.3, 0.8, 0.3), (150, 0.5, 0.7, 0.45)])
def test_interval_covers_the_true_pstar_at_about_the_nominal_rate(n, p, phi, psi):
    rng = np.random.default_rng(2024 + n)
    truth = phi / (phi + psi)
    reps, hits, hits_wilson = 600, 0, 0
    for _ in range(reps):
        c = rng.random(n) > p
        s = np.where(c, rng.random(n) < phi, rng.random(n) < psi)
        lo, hi = theory.estimate_pstar(c, s, level=0.9).pstar_interval
        hits += lo <= truth <= hi
        lo, hi = theory.estimate_pstar(c, s, level=0.9, method="wilson").pstar_interval
        hits_wilson += lo <= truth <= hi
    se = np.sqrt(0.9 * 0.1 / reps)
    # Credible intervals are calibrated only approximately at small n: 2 points of slack.
    assert abs(hits / reps - 0.9) <= 3 * se + 0.02
    assert hits_wilson / reps >= 0.9 - 3 * se  # conservative by construction


def test_small_and_degenerate_audit_sets():
    est = theory.estimate_pstar([True] * 12, [True] * 10 + [False] * 2)
    assert est.p == 0 and np.isnan(est.psi) and np.isnan(est.pstar)
    assert 0 < est.pstar_interval[0] < est.pstar_interval[1] <= 1
    grid = theory.estimate_pstar(np.ones((5, 4), bool), np.eye(5, 4, dtype=bool))  # best-of-k
    assert grid.n == 20 and grid.n_kept_correct == 4


@pytest.mark.parametrize(
    "correct, kept, kwargs, name",
    [
        ([], [], {}, "correct"),
        ([1, 0, 1], [1, 0], {}, "shape"),
        ([1, 2, 0], [1, 0, 0], {}, "correct"),
        ([1, 0, 1], [1, np.nan, 0], {}, "kept"),
        ([1, 0], [1, 0], {"level": 1.5}, "level"),
        ([1, 0], [1, 0], {"method": "exact"}, "method"),
        (["yes", "no"], [1, 0], {}, "correct"),
    ],
)
def test_bad_input_names_the_parameter(correct, kept, kwargs, name):
    with pytest.raises(ValueError, match=name):
        theory.estimate_pstar(correct, kept, **kwargs)
