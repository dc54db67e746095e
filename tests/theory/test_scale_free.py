"""Scale-free quantities are computed scale-free, and the large-lam and tiny-mu limits are right.

References are independent: mpmath at 60 digits (whose exponent range is unbounded, so squares
of 1e300 are exact there), scipy at unit scale, or the function itself at scale one. Inputs
range over hypothesis' full range of finite floats, subnormals excluded (they are refused).
"""

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from theory import label_only, linear_generator, linear_verifier

mpmath.mp.dps = 60

real = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
unit_open = st.floats(1e-300, 1.0, exclude_min=False, allow_subnormal=False)
vec = st.lists(real, min_size=2, max_size=2).map(np.array)
nonzero_vec = vec.filter(lambda v: np.any(v != 0))
moderate = st.floats(-1e3, 1e3, allow_subnormal=False).filter(lambda x: x == 0 or abs(x) >= 1e-3)
moderate_vec = st.lists(moderate, min_size=2, max_size=2).map(np.array).filter(
    lambda v: np.any(v != 0))
exponent = st.integers(-300, 300)
prob = st.floats(0.0, 1.0, allow_subnormal=False)
MU = np.array([1.2, -0.4])
SIGMA = np.array([[1.0, 0.3], [0.3, 0.6]])


def mp_vec(v):
    return [mpmath.mpf(float(x)) for x in v]


def mp_dot(a, b):
    return mpmath.fsum(x * y for x, y in zip(a, b))


def mp_quad(w, sigma):
    sw = [mp_dot([mpmath.mpf(float(s)) for s in row], w) for row in sigma]
    return mp_dot(w, sw)


def mp_accuracy(w, mu, sigma):
    w = mp_vec(w)
    spread = mpmath.sqrt(mp_quad(w, sigma))
    return mp_ncdf(mp_dot(mp_vec(mu), w) / spread) if spread > 0 else 0.5


def mp_ncdf(x):
    return float(mpmath.ncdf(max(min(x, 100), -100)))  # Phi(+-100) is 1 or 0 in float64


@settings(max_examples=60)
@given(w=vec, mu=nonzero_vec)
def test_linear_accuracy_over_the_full_float_range(w, mu):
    expected = mp_accuracy(w, mu, np.eye(2))
    assert theory.linear_accuracy(w, mu) == pytest.approx(expected, abs=1e-13)
    assert theory.linear_accuracy(w, mu, SIGMA) == pytest.approx(mp_accuracy(w, mu, SIGMA),
                                                                 abs=1e-13)


def test_linear_accuracy_example_from_the_report():
    for w in ([1e200, 1e200], [1e-160, 1e-160], [1e155, 1e155], [1.7e308, 1.7e308]):
        assert theory.linear_accuracy(w, [1.2, 0.0]) == pytest.approx(stats.norm.cdf(1.2 / 2**0.5))


@settings(max_examples=40)
@given(mu=moderate_vec, k=st.integers(-150, 150))
def test_bayes_accuracy_invariant_under_mu_and_sigma_rescaling(mu, k):
    c = 10.0**k
    base = theory.bayes_accuracy(mu, SIGMA)
    assert theory.bayes_accuracy(c * mu, c * c * SIGMA) == pytest.approx(base, abs=1e-13)


@settings(max_examples=60)
@given(phi=unit_open, psi=unit_open)
def test_pstar_exact_and_symmetric_over_the_full_range(phi, psi):
    exact = float(mpmath.mpf(phi) / (mpmath.mpf(phi) + mpmath.mpf(psi)))
    assert theory.pstar(phi, psi) == pytest.approx(exact, rel=1e-15)
    assert theory.pstar(phi, psi) + theory.pstar(psi, phi) == pytest.approx(1.0, abs=4e-16)


@settings(max_examples=60)
@given(p=prob, phi=unit_open, psi=unit_open)
def test_selected_error_rate_exact_and_symmetric_in_p(p, phi, psi):
    p_, phi_, psi_ = (mpmath.mpf(x) for x in (p, phi, psi))
    exact = float(p_ * psi_ / (p_ * psi_ + (1 - p_) * phi_))
    r = theory.selected_error_rate(p, phi, psi)
    assert r == pytest.approx(exact, rel=1e-13, abs=1e-300)
    # p <-> 1 - p with phi <-> psi exchanges the kept right and wrong samples.
    assert theory.selected_error_rate(1 - p, psi, phi) == pytest.approx(1 - r, abs=1e-15)


def test_tiny_keep_rates_keep_their_ratio():
    assert theory.pstar(1e-300, 1e-300) == 0.5
    assert theory.selected_error_rate(1e-10, 1e-300, 1e-300) == pytest.approx(1e-10, rel=1e-12)


def mp_keep_rates(mu, w_v, tau):
    w = mp_vec(w_v)
    norm = mpmath.sqrt(mp_dot(w, w))
    a = mp_dot(mp_vec(mu), w) / norm
    t = mpmath.mpf(float(tau)) / norm
    return mp_ncdf(a - t), mp_ncdf(-a - t)


@settings(max_examples=60)
@given(w_v=nonzero_vec, mu=nonzero_vec.filter(lambda m: np.max(np.abs(m)) < 1e5), tau=real)
def test_verifier_keep_rates_over_the_full_float_range(w_v, mu, tau):
    phi, psi = linear_verifier.keep_rates(mu, w_v, tau)
    ref_phi, ref_psi = mp_keep_rates(mu, w_v, tau)
    assert phi == pytest.approx(ref_phi, abs=1e-13)
    assert psi == pytest.approx(ref_psi, abs=1e-13)
    # Turning the verifier round exchanges the two rates.
    flipped = linear_verifier.keep_rates(mu, -w_v, tau)
    assert flipped[0] == pytest.approx(psi, abs=1e-15) and flipped[1] == pytest.approx(phi, abs=1e-15)


def test_verifier_examples_from_the_report():
    w = np.array([1.0, 1.0])
    base = linear_verifier.keep_rates(MU, w)
    for s in (1e-200, 1e200, 1e300):
        np.testing.assert_allclose(linear_verifier.keep_rates(MU, s * w), base, atol=1e-15)
        np.testing.assert_allclose(linear_verifier.tau_for_rate(MU, s * w, 0.2, 0.3),
                                   s * linear_verifier.tau_for_rate(MU, w, 0.2, 0.3), rtol=1e-14)
        np.testing.assert_allclose(linear_generator.keep_rates(MU, s * w, MU),
                                   linear_generator.keep_rates(MU, w, MU), atol=1e-15)


@settings(max_examples=40)
@given(w_v=moderate_vec, k=exponent, p=prob, rate=st.floats(1e-6, 1 - 1e-6))
def test_tau_for_rate_inverts_keep_rates_and_scales_with_w_v(w_v, k, p, rate):
    s = 10.0**k
    tau = linear_verifier.tau_for_rate(MU, s * w_v, p, rate)  # |tau| < 1e305: finite
    phi, psi = linear_verifier.keep_rates(MU, s * w_v, tau)
    assert (1 - p) * phi + p * psi == pytest.approx(rate, rel=1e-9)
    base = linear_verifier.tau_for_rate(MU, w_v, p, rate)
    assert tau == pytest.approx(s * base, rel=1e-12, abs=1e-300)


@settings(max_examples=30)
@given(w_g=nonzero_vec, w_v=moderate_vec, k=exponent, tau=moderate.filter(lambda t: abs(t) <= 3))
def test_generator_keep_rates_are_scale_free(w_g, w_v, k, tau):
    s = 10.0**k
    unit_g = w_g / np.max(np.abs(w_g))
    unit_g = np.where(np.abs(unit_g) < np.finfo(float).tiny, 0.0, unit_g)
    # Near w_g = +-w_v the rates change like 1/sqrt(1 - rho^2): there the rounding of the
    # inputs themselves (s * w_v) would dominate.
    unit_v = w_v / np.max(np.abs(w_v))
    rho = unit_g @ SIGMA @ unit_v / np.sqrt((unit_g @ SIGMA @ unit_g) * (unit_v @ SIGMA @ unit_v))
    assume(abs(rho) < 1 - 1e-6)
    out = linear_generator.keep_rates(MU, w_g, s * w_v, s * tau, sigma=SIGMA)
    ref = linear_generator.keep_rates(MU, unit_g, w_v, tau, sigma=SIGMA)
    np.testing.assert_allclose(out, ref, atol=1e-12)


# Limits: large lam by the asymptotic form, tiny mu ----------------------------------------------

HUGE = [1e154, 1e200, 1e300, 1.7e308]


@pytest.mark.parametrize("sigma", [None, SIGMA], ids=["identity", "general"])
@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("lam", HUGE)
def test_label_only_large_lam_is_the_asymptotic_form(lam, loss, sigma):
    """w_inf -> (B / lam) mu as lam -> inf: accuracy Phi(sign(B) mu^T mu / ||mu||_Sigma)."""
    cov = np.eye(2) if sigma is None else sigma
    expected = stats.norm.cdf(MU @ MU / np.sqrt(MU @ cov @ MU))
    for p, want in ((0.1, expected), (0.9, 1 - expected)):
        acc = label_only.limit_accuracy(p, 0.9, 0.3, MU, lam, loss=loss, sigma=sigma)
        assert acc == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("sigma", [None, SIGMA], ids=["identity", "general"])
@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_label_only_weights_at_large_lam(loss, sigma):
    # B = c+ - c- = 0.9 * 0.9 - 0.1 * 0.3; logistic: l'(0) = -1/2 halves it.
    b = 0.9 * 0.9 - 0.1 * 0.3
    w = label_only.limit_weights(0.1, 0.9, 0.3, MU, 1e300, loss=loss, sigma=sigma)
    scale = 0.5 if loss == "logistic" else 1.0
    np.testing.assert_allclose(w, scale * b * MU / 1e300, rtol=1e-12)


@pytest.mark.parametrize("sigma", [None, SIGMA], ids=["identity", "general"])
@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("lam", [0.0, 0.1, 1e300])
def test_label_only_tiny_mu_gives_a_coin_flip(lam, loss, sigma):
    for scale in (1e-200, 1e-300):
        acc = label_only.limit_accuracy(0.1, 0.9, 0.3, scale * MU, lam, loss=loss, sigma=sigma)
        assert acc == pytest.approx(0.5, abs=1e-15)


def _large_lam_direction(mu, w_v, p, tau):
    """b = E[q y' x] (Sigma = I), the lam -> inf direction of w_inf, by scipy."""
    m = np.linalg.norm(mu)
    v = w_v / np.linalg.norm(w_v)
    a, t = mu @ v, tau / np.linalg.norm(w_v)
    b = np.zeros_like(mu)
    for s, weight in ((1.0, 1 - p), (-1.0, p)):
        c = t - s * a
        b += weight * (s * stats.norm.sf(c) * mu + stats.norm.pdf(c) * v)
    return b, m


@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("lam", HUGE)
def test_verifier_large_lam_is_the_asymptotic_form(lam, loss):
    w_v = np.array([1.0, 1.0])
    for p, tau in ((0.1, 0.0), (0.4, 0.5), (0.8, -0.3)):
        b, _ = _large_lam_direction(MU, w_v, p, tau)
        expected = stats.norm.cdf(MU @ b / np.linalg.norm(b))
        acc = linear_verifier.limit_accuracy(MU, w_v, p, lam, tau=tau, loss=loss)
        assert acc == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_verifier_breakdown_at_large_lam_is_signal_weighted(loss):
    w_v = np.array([1.0, 1.0])
    phi_s, psi_s = linear_verifier.signal_weighted_rates(MU, w_v)
    pb = linear_verifier.breakdown(MU, w_v, 1e300, loss=loss)
    assert pb == pytest.approx(phi_s / (phi_s + psi_s), abs=1e-12)


@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("lam", [0.1, 1e300])
def test_verifier_tiny_mu_gives_a_coin_flip(lam, loss):
    acc = linear_verifier.limit_accuracy(1e-200 * MU, np.array([1.0, 1.0]), 0.1, lam, loss=loss)
    assert acc == pytest.approx(0.5, abs=1e-15)


@settings(max_examples=8)
@given(k=exponent, p=prob)
def test_verifier_limits_are_scale_free_in_w_v_and_tau(k, p):
    s = 10.0**k
    w_v, tau = np.array([0.6, 0.8]), 0.3
    for loss in ("logistic", "square"):
        base = linear_verifier.limit_accuracy(MU, w_v, p, 0.1, tau=tau, loss=loss)
        got = linear_verifier.limit_accuracy(MU, s * w_v, p, 0.1, tau=s * tau, loss=loss)
        assert got == pytest.approx(base, abs=1e-12)


@settings(max_examples=10)
@given(p=prob, phi=st.floats(0.05, 1.0), psi=st.floats(0.05, 1.0),
       lam=st.sampled_from([1e-3, 0.1, 10.0]))
def test_label_only_accuracy_symmetric_under_p_to_one_minus_p(p, phi, psi, lam):
    """(p, phi, psi) -> (1 - p, psi, phi) swaps c+ and c-: w -> -w, accuracy -> 1 - accuracy."""
    for loss in ("logistic", "square"):
        a = label_only.limit_accuracy(p, phi, psi, MU, lam, loss=loss, sigma=SIGMA)
        b = label_only.limit_accuracy(1 - p, psi, phi, MU, lam, loss=loss, sigma=SIGMA)
        assert a + b == pytest.approx(1.0, abs=1e-9)
