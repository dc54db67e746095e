"""Linear verifier with the flip generator against independent computations
(docs/theory.md, section 'Linear verifiers')."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from theory import linear_verifier as lv
from tests.theory.helpers import (
    Z,
    binomial_tolerance,
    chi2_bound,
    fit_logistic,
    fit_square,
    flip_labels,
    mixture,
    sandwich_distance,
)
from tests.theory.test_gaussian import random_spd


def plane(m, angle):
    return np.array([m, 0.0]), np.array([np.cos(angle), np.sin(angle)])


def verified_sample(rng, n, mu, w_v, p, tau):
    x, y = mixture(rng, n, mu)
    y_syn, correct = flip_labels(rng, y, p)
    q = (y_syn * (x @ w_v) > tau).astype(float)
    return x, y, y_syn, correct, q


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 4), tau=st.floats(-1.5, 1.5, allow_subnormal=False),
       general=st.booleans())
def test_keep_rates_match_sampling(seed, d, tau, general):
    rng = np.random.default_rng(seed)
    mu, w_v = rng.standard_normal(d), 2 * rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    x, y = mixture(rng, 200_000, mu, sigma)
    phi, psi = lv.keep_rates(mu, w_v, tau, sigma=sigma)
    margin = y * (x @ w_v)
    assert abs(np.mean(margin > tau) - phi) <= binomial_tolerance(phi, len(y))
    assert abs(np.mean(-margin > tau) - psi) <= binomial_tolerance(psi, len(y))


@given(seed=st.integers(0, 2**31 - 1), tau=st.floats(-1.0, 1.0, allow_subnormal=False))
def test_signal_weighted_rates_match_sampling(seed, tau):
    rng = np.random.default_rng(seed)
    mu, w_v = rng.standard_normal(3), rng.standard_normal(3)
    x, y = mixture(rng, 200_000, mu)
    signal = y * (x @ mu)
    margin = y * (x @ w_v)
    for kept, value in zip((margin > tau, -margin > tau), lv.signal_weighted_rates(mu, w_v, tau)):
        sample = kept * signal
        assert abs(sample.mean() - value) <= Z * sample.std() / np.sqrt(len(y))


@given(seed=st.integers(0, 2**31 - 1), p=st.floats(0, 1, allow_subnormal=False),
       rate=st.sampled_from([0.125, 0.25, 0.5, 0.9]))
def test_top_rate_threshold_keeps_exactly_rate(seed, p, rate):
    rng = np.random.default_rng(seed)
    mu, w_v = rng.standard_normal(3), rng.standard_normal(3)
    tau = lv.tau_for_rate(mu, w_v, p, rate)
    phi, psi = lv.keep_rates(mu, w_v, tau)
    assert (1 - p) * phi + p * psi == pytest.approx(rate, abs=1e-12)
    x, y = mixture(rng, 100_000, mu)
    y_syn, _ = flip_labels(rng, y, p)
    kept = np.mean(y_syn * (x @ w_v) > tau)
    assert abs(kept - rate) <= binomial_tolerance(rate, len(y))
    assert lv.tau_for_rate(mu, w_v, p, 1.0) == -np.inf


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(2, 4), p=st.floats(0, 1, allow_subnormal=False),
       tau=st.floats(-1.0, 1.0, allow_subnormal=False), lam=st.floats(1e-3, 3.0))
def test_square_limit_matches_large_sample_fit(seed, d, p, tau, lam):
    rng = np.random.default_rng(seed)
    mu, w_v = rng.standard_normal(d), rng.standard_normal(d)
    x, _, y_syn, _, q = verified_sample(rng, 100_000, mu, w_v, p, tau)
    w_hat = fit_square(x, y_syn, q, lam)
    w_inf = lv.limit_weights(mu, w_v, p, lam, tau, loss="square")
    assert sandwich_distance(x, y_syn, q, lam, w_hat, w_inf, "square") <= chi2_bound(d)


@settings(max_examples=6)
@given(seed=st.integers(0, 2**31 - 1), p=st.floats(0, 1, allow_subnormal=False), tau=st.floats(-1.0, 1.0, allow_subnormal=False),
       lam=st.floats(1e-2, 1.0))
def test_logistic_limit_matches_scikit_learn_on_a_large_sample(seed, p, tau, lam):
    rng = np.random.default_rng(seed)
    mu, w_v = rng.standard_normal(3), rng.standard_normal(3)
    x, _, y_syn, _, q = verified_sample(rng, 100_000, mu, w_v, p, tau)
    w_hat = fit_logistic(x, y_syn, q, lam)
    w_inf = lv.limit_weights(mu, w_v, p, lam, tau)
    assert sandwich_distance(x, y_syn, q, lam, w_hat, w_inf, "logistic") <= chi2_bound(3)


def _square_alignment_cubic(m, angle, lam, tau):
    """mu^T adj(M(p) + lam I) b(p) is a cubic in p (M, b affine in p): its coefficients from
    four exact evaluations of the truncated-moment formulas, written out independently here."""
    mu, v = plane(m, angle)
    a = mu @ v

    def moments(p):
        big_m, b = lam * np.eye(2), np.zeros(2)
        for s, weight in ((1, 1 - p), (-1, p)):
            c = tau - s * a
            q, dens = stats.norm.sf(c), stats.norm.pdf(c)
            big_m += weight * (q * (np.eye(2) + np.outer(mu, mu))
                               + s * dens * (np.outer(mu, v) + np.outer(v, mu))
                               + c * dens * np.outer(v, v))
            b += weight * (s * q * mu + dens * v)
        return big_m, b

    def numerator(p):
        big_m, b = moments(p)
        adj = np.array([[big_m[1, 1], -big_m[0, 1]], [-big_m[1, 0], big_m[0, 0]]])
        return mu @ adj @ b

    ps = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    return np.polyfit(ps, [numerator(p) for p in ps], 3)


@pytest.mark.parametrize("m, angle, lam, tau", [
    (1.2, 0.9, 0.1, 0.0), (1.2, 0.9, 10.0, 0.0), (2.0, 1.2, 1.0, 0.5), (0.7, 0.4, 0.3, -0.3),
    (1.5, 1.4, 0.05, 0.2), (1.0, 2.0, 1.0, 0.0),
])
def test_square_breakdown_is_the_first_sign_change_of_a_cubic(m, angle, lam, tau):
    coeffs = _square_alignment_cubic(m, angle, lam, tau)
    roots = np.roots(coeffs)
    real = np.sort(roots[(abs(roots.imag) < 1e-9) & (roots.real >= 0) & (roots.real <= 1)].real)
    # det(M + lam I) > 0, so the sign of mu^T w is the sign of the cubic.
    crossings = [r for r in real if np.polyval(coeffs, r - 1e-7) > 0 >= np.polyval(coeffs, r + 1e-7)]
    mu, w_v = plane(m, angle)
    got = lv.breakdown(mu, w_v, lam, tau, loss="square")
    if np.polyval(coeffs, 0.0) <= 0:
        assert got == 0.0
    elif crossings:
        assert got == pytest.approx(crossings[0], abs=1e-9)
    else:
        assert np.isnan(got)


@pytest.mark.parametrize("loss", ["square", "logistic"])
def test_breakdown_tends_to_signal_weighted_ratio_as_lam_grows(loss):
    mu, w_v = plane(1.2, 0.9)
    sphi, spsi = lv.signal_weighted_rates(mu, w_v)
    ratio = sphi / (sphi + spsi)
    gaps = [abs(lv.breakdown(mu, w_v, lam, loss=loss) - ratio) for lam in (1.0, 1e2, 1e4)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3


def test_theory_md_example():
    """||mu|| = 1.2, angle 0.9 rad, tau = 0: p* = 0.772, p_break(lam -> inf) = 0.929 and no
    breakdown in [0, 1] at lam = 0 (values quoted to three digits in
    docs/theory.md, section 'Linear verifiers')."""
    mu, w_v = plane(1.2, 0.9)
    assert theory.pstar(*lv.keep_rates(mu, w_v)) == pytest.approx(0.772, abs=5e-4)
    sphi, spsi = lv.signal_weighted_rates(mu, w_v)
    assert sphi / (sphi + spsi) == pytest.approx(0.929, abs=5e-4)
    assert np.isnan(lv.breakdown(mu, w_v, 0.0, loss="square"))
    assert np.isnan(lv.breakdown(mu, w_v, 0.0, loss="logistic"))


def test_logistic_breakdown_against_scikit_learn_at_the_breakdown_point():
    """At p_break the limit w is orthogonal to mu; a large-sample fit there agrees with it."""
    mu, w_v = plane(1.2, 1.2)
    lam = 0.5
    p_break = lv.breakdown(mu, w_v, lam)
    assert 0 < p_break < 1
    w_inf = lv.limit_weights(mu, w_v, p_break, lam)
    assert abs(w_inf @ mu) <= 1e-9 * np.linalg.norm(w_inf)
    for p, sign in ((p_break - 2e-3, 1), (p_break + 2e-3, -1)):
        assert sign * (lv.limit_weights(mu, w_v, p, lam) @ mu) > 0
    rng = np.random.default_rng(3)
    x, _, y_syn, _, q = verified_sample(rng, 200_000, mu, w_v, p_break, 0.0)
    w_hat = fit_logistic(x, y_syn, q, lam)
    assert sandwich_distance(x, y_syn, q, lam, w_hat, w_inf, "logistic") <= chi2_bound(2)


@given(m=st.floats(0.3, 3.0), angle=st.floats(0.05, 1.5), p=st.floats(0, 0.4, allow_subnormal=False),
       lam=st.floats(1e-3, 10.0))
@settings(max_examples=10)
def test_plateau_is_below_bayes_unless_verifier_is_parallel(m, angle, p, lam):
    mu, w_v = plane(m, angle)
    acc = lv.limit_accuracy(mu, w_v, p, lam, loss="square")
    assert acc < theory.bayes_accuracy(mu)
    par = lv.limit_accuracy(mu, mu, p, lam, loss="logistic")
    assert par == pytest.approx(theory.bayes_accuracy(mu), abs=1e-12)


def test_extreme_inputs_are_finite():
    mu, w_v = plane(40.0, 0.9)
    for loss in ("square", "logistic"):
        for p in (0.0, 1.0):
            w = lv.limit_weights(mu, w_v, p, 1e-12, loss=loss)
            acc = lv.limit_accuracy(mu, w_v, p, 1e-12, loss=loss)
            assert np.all(np.isfinite(w)) and np.isfinite(acc)
        assert lv.limit_accuracy(mu, w_v, 0.0, 1e-12, loss=loss) == 1.0
    phi, psi = lv.keep_rates(mu, w_v)
    assert phi == 1.0 and 0 <= psi < 1e-100


def test_jit_and_vmap_with_jax_arrays():
    mu, w_v = (jnp.asarray(v) for v in plane(1.2, 0.9))
    f = jax.jit(jax.vmap(lambda p: lv.limit_accuracy(mu, w_v, p, 0.1, loss="square")))
    out = f(jnp.linspace(0, 1, 4))
    ref = lv.limit_accuracy(np.asarray(mu), np.asarray(w_v), np.linspace(0, 1, 4), 0.1,
                            loss="square")
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-4)
    phi, psi = jax.jit(lv.keep_rates)(mu, w_v)
    ref_phi, ref_psi = lv.keep_rates(np.asarray(mu), np.asarray(w_v))
    assert float(phi) == pytest.approx(ref_phi, rel=1e-5)
    assert float(psi) == pytest.approx(ref_psi, rel=1e-5)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: lv.keep_rates(np.ones(2), np.zeros(2)), "w_v"),
        (lambda: lv.keep_rates(np.zeros(2), np.ones(2)), "mu"),
        (lambda: lv.keep_rates(np.ones(2), np.ones(3)), "dimension"),
        (lambda: lv.keep_rates(np.ones(2), np.ones(2), tau=np.nan), "tau"),
        (lambda: lv.tau_for_rate(np.ones(2), np.ones(2), 0.2, 0.0), "rate"),
        (lambda: lv.tau_for_rate(np.ones(2), np.ones(2), 0.2, 1.5), "rate"),
        (lambda: lv.limit_accuracy(np.ones(2), np.ones(2), 0.2, -1.0), "lam"),
        (lambda: lv.breakdown(np.ones(2), np.ones(2), 0.1, loss="hinge"), "loss"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_logistic_without_ridge_follows_the_verifier():
    """tau >= 0 makes the kept set separable by w_v: at lam = 0 the weights diverge along w_v
    (reported as NaN), and as lam -> 0+ the accuracy tends to that of w_v, Phi(a) = phi."""
    mu, w_v = plane(1.2, 0.9)
    phi, _ = lv.keep_rates(mu, w_v)
    p = np.array([0.1, 0.5, 0.9])
    assert np.all(np.isnan(lv.limit_weights(mu, w_v, p, 0.0)))
    np.testing.assert_allclose(lv.limit_accuracy(mu, w_v, p, 0.0), phi, rtol=1e-12)
    small = lv.limit_accuracy(mu, w_v, p, 1e-10)
    assert np.all(np.abs(small - phi) < 1e-3)
    # With tau < 0 the kept set is not separable and the minimiser is finite.
    assert np.all(np.isfinite(lv.limit_weights(mu, w_v, p, 0.0, tau=-0.5)))
