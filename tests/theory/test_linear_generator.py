"""Linear generator + linear verifier keep rates (docs/theory.md, section 'Linear generators')."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from theory import linear_generator as lg
from tests.theory.helpers import binomial_tolerance, mixture
from tests.theory.test_gaussian import random_spd


def _bvn(h, k, rho):
    return stats.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]]).cdf([h, k])


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(2, 5), tau=st.floats(-1.0, 1.0, allow_subnormal=False))
def test_keep_rates_match_bivariate_normal_cdf(seed, d, tau):
    """A second method, via scipy: the ratios of bivariate normal CDFs
    (docs/theory.md, section 'Linear generators')."""
    rng = np.random.default_rng(seed)
    mu, w_g, w_v = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(d)
    n_g, n_v = np.linalg.norm(w_g), np.linalg.norm(w_v)
    a_g, a_v = mu @ w_g / n_g, mu @ w_v / n_v
    rho = w_g @ w_v / (n_g * n_v)
    t = tau / n_v
    p, phi, psi = lg.keep_rates(mu, w_g, w_v, tau)
    assert p == pytest.approx(stats.norm.cdf(-a_g), rel=1e-12)
    # scipy's bivariate CDF is accurate to about 1e-8 absolute.
    assert phi * stats.norm.cdf(a_g) == pytest.approx(_bvn(a_g, a_v - t, rho), abs=1e-7)
    assert psi * stats.norm.cdf(-a_g) == pytest.approx(_bvn(-a_g, -a_v - t, rho), abs=1e-7)


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 4), tau=st.floats(-1.0, 1.0, allow_subnormal=False),
       general=st.booleans())
def test_keep_rates_match_sampling(seed, d, tau, general):
    rng = np.random.default_rng(seed)
    mu, w_g, w_v = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    x, y = mixture(rng, 200_000, mu, sigma)
    y_syn = np.sign(x @ w_g)
    correct = y_syn == y
    kept = y_syn * (x @ w_v) > tau
    p, phi, psi = lg.keep_rates(mu, w_g, w_v, tau, sigma=sigma)
    assert abs((~correct).mean() - p) <= binomial_tolerance(p, len(y))
    for mask, rate in ((correct, phi), (~correct, psi)):
        if mask.sum() > 500:
            assert abs(kept[mask].mean() - rate) <= binomial_tolerance(rate, mask.sum())


@pytest.mark.parametrize("m", [12.0, 40.0])
def test_nearly_perfect_generator_gives_the_conditional_rate(m):
    """Phi(-a_g) underflows or nearly; psi = P(a_v + g2 < 0 | g1 < -a_g) is still defined.
    Reference: scipy quad of the truncated density in log space (no Phi(-a_g) division)."""
    # w_g along mu and rho = w_v[0]: the leading terms cancel and psi stays near 1/2.
    mu, w_g, w_v = np.array([m, 0.0]), np.array([1.0, 0.0]), np.array([0.6, 0.8])
    p, phi, psi = lg.keep_rates(mu, w_g, w_v)
    a_g = mu @ w_g / np.linalg.norm(w_g)
    a_v = mu @ w_v / np.linalg.norm(w_v)
    rho = w_g @ w_v / np.linalg.norm(w_g) / np.linalg.norm(w_v)
    log_tail = special.log_ndtr(-a_g)

    def density(g):
        return np.exp(stats.norm.logpdf(g) - log_tail)

    ref, _ = integrate.quad(
        lambda g: density(g) * stats.norm.cdf((-a_v - rho * g) / np.sqrt(1 - rho**2)),
        -a_g - 30.0 / a_g, -a_g, epsabs=1e-13, epsrel=1e-11, limit=200,
    )
    assert p == pytest.approx(stats.norm.cdf(-a_g), rel=1e-10, abs=1e-300)
    assert psi == pytest.approx(ref, abs=1e-9)
    assert 0.01 < psi < 0.99  # a case where the rate is far from trivial


def test_identical_generator_and_verifier_keep_everything_and_reverse_keeps_nothing():
    mu, w = np.array([1.0, 0.5]), np.array([1.0, 0.0])
    assert lg.keep_rates(mu, w, w)[1:] == pytest.approx((1.0, 1.0), abs=1e-12)
    assert lg.keep_rates(mu, w, -w)[1:] == pytest.approx((0.0, 0.0), abs=1e-12)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: lg.keep_rates(np.ones(2), np.zeros(2), np.ones(2)), "w_g"),
        (lambda: lg.keep_rates(np.ones(2), np.ones(2), np.ones(3)), "dimension"),
        (lambda: lg.keep_rates(np.ones(2), np.ones(2), np.ones(2), tau=np.inf), "tau"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
