"""n -> inf limits under label-only pruning against independent computations
(docs/theory.md, section 'Label-only pruning in the large-sample limit')."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

import theory
from theory import label_only
from tests.theory.helpers import (
    chi2_bound,
    fit_logistic,
    fit_square,
    flip_labels,
    mixture,
    sandwich_distance,
)
from tests.theory.test_gaussian import random_spd

rates = st.floats(0.05, 1.0)


def pruned_sample(rng, n, p, phi, psi, mu, sigma=None):
    x, y = mixture(rng, n, mu, sigma)
    y_syn, correct = flip_labels(rng, y, p)
    q = np.where(correct, rng.random(n) < phi, rng.random(n) < psi).astype(float)
    return x, y_syn, q


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**31 - 1), d=st.integers(1, 4), p=st.floats(0.0, 1.0, allow_subnormal=False),
    phi=rates, psi=rates, lam=st.floats(1e-3, 3.0), general=st.booleans(),
)
def test_square_limit_matches_large_sample_fit(seed, d, p, phi, psi, lam, general):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    x, y, q = pruned_sample(rng, 100_000, p, phi, psi, mu, sigma)
    w_hat = fit_square(x, y, q, lam)
    w_inf = label_only.limit_weights(p, phi, psi, mu, lam, loss="square", sigma=sigma)
    assert sandwich_distance(x, y, q, lam, w_hat, w_inf, "square") <= chi2_bound(d)


@settings(max_examples=8)
@given(
    seed=st.integers(0, 2**31 - 1), d=st.integers(1, 3), p=st.floats(0.0, 1.0, allow_subnormal=False),
    phi=rates, psi=rates, lam=st.floats(1e-2, 1.0), general=st.booleans(),
)
def test_logistic_limit_matches_scikit_learn_on_a_large_sample(seed, d, p, phi, psi, lam, general):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    x, y, q = pruned_sample(rng, 100_000, p, phi, psi, mu, sigma)
    w_hat = fit_logistic(x, y, q, lam)
    w_inf = label_only.limit_weights(p, phi, psi, mu, lam, sigma=sigma)
    assert sandwich_distance(x, y, q, lam, w_hat, w_inf, "logistic") <= chi2_bound(d)


def _scalar_logistic_limit(c_plus, c_minus, m, lam):
    """Independent solve for Sigma = I: scipy quad for E over t ~ N(m, 1), Brent on F'(a)."""

    def expect(f):
        pts = [0.0] if abs(m) < 12 else None
        return integrate.quad(lambda t: f(t) * stats.norm.pdf(t - m), m - 14, m + 14,
                              points=pts, limit=400, epsabs=1e-14, epsrel=1e-11)[0]

    def dF(a):
        return (c_plus * expect(lambda t: -t * special.expit(-a * t))
                + c_minus * expect(lambda t: t * special.expit(a * t)) + lam * a)

    b = c_plus - c_minus
    if b == 0:
        return 0.0
    hi = 1.0
    while np.sign(dF(np.sign(b) * hi)) != np.sign(b) * 1:
        hi *= 2
    lo_, hi_ = sorted([0.0, np.sign(b) * hi])
    return optimize.brentq(dF, lo_, hi_, xtol=1e-14, rtol=1e-13)


@pytest.mark.parametrize(
    "p, phi, psi, m, lam",
    [
        (0.2, 0.9, 0.3, 1.2, 0.1),
        (0.7, 0.8, 0.5, 0.5, 0.01),
        (0.0, 1.0, 0.0, 3.0, 1e-12),  # clean data, nearly no ridge: a* = 2 m
        (0.3, 1.0, 0.2, 40.0, 1e-12),  # huge signal: the minimiser is set by the ridge
        (0.45, 0.6, 0.55, 2.0, 5.0),
    ],
)
def test_logistic_identity_limit_matches_independent_quadrature(p, phi, psi, m, lam):
    mu = np.array([m, 0.0, 0.0])
    w = label_only.limit_weights(p, phi, psi, mu, lam)
    a_ref = _scalar_logistic_limit((1 - p) * phi, p * psi, m, lam)
    assert w[1] == 0 and w[2] == 0
    assert w[0] == pytest.approx(a_ref, rel=1e-7, abs=1e-12)


@settings(max_examples=6)
@given(seed=st.integers(0, 2**31 - 1), p=st.floats(0, 1, allow_subnormal=False), phi=rates, psi=rates,
       lam=st.floats(1e-3, 3.0))
def test_logistic_general_sigma_matches_direct_minimisation(seed, p, phi, psi, lam):
    """A second method: scipy BFGS on the population objective written with scipy quad."""
    rng = np.random.default_rng(seed)
    d = 3
    mu = rng.standard_normal(d)
    sigma = random_spd(rng, d)
    c_plus, c_minus = (1 - p) * phi, p * psi
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / weights.sum()

    def objective(w):
        m, s = mu @ w, np.sqrt(w @ sigma @ w)
        z = m + s * nodes
        return (c_plus * weights @ np.logaddexp(0, -z) + c_minus * weights @ np.logaddexp(0, z)
                + 0.5 * lam * w @ w)

    ref = optimize.minimize(objective, np.zeros(d), method="BFGS", options={"gtol": 1e-11}).x
    w = label_only.limit_weights(p, phi, psi, mu, lam, sigma=sigma)
    np.testing.assert_allclose(w, ref, rtol=1e-5, atol=1e-6)
    # The minimiser lies on the two-parameter curve c (Sigma + nu I)^-1 mu.
    c, nu = label_only.limit_curve_parameters(p, phi, psi, mu, lam, sigma=sigma)
    np.testing.assert_allclose(w, c * np.linalg.solve(sigma + nu * np.eye(d), mu),
                               rtol=1e-7, atol=1e-10)


@given(p=st.floats(0, 1, allow_subnormal=False), phi=rates, psi=rates, lam=st.floats(1e-6, 10.0),
       m=st.floats(0.1, 5.0), loss=st.sampled_from(["logistic", "square"]))
def test_identity_accuracy_is_bayes_below_pstar_and_reversed_above(p, phi, psi, lam, m, loss):
    mu = np.array([m, 0.0])
    acc = label_only.limit_accuracy(p, phi, psi, mu, lam, loss=loss)
    bayes = theory.bayes_accuracy(mu)
    ps = theory.pstar(phi, psi)
    if p < ps - 1e-9:
        assert acc == pytest.approx(bayes, abs=1e-12)
    elif p > ps + 1e-9:
        assert acc == pytest.approx(1 - bayes, abs=1e-12)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), phi=rates, psi=rates, lam=st.floats(1e-4, 100.0),
       loss=st.sampled_from(["logistic", "square"]), general=st.booleans())
def test_breakdown_is_pstar_whatever_lam_loss_and_sigma(seed, phi, psi, lam, loss, general):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(3)
    sigma = random_spd(rng, 3) if general else None
    ps = theory.pstar(phi, psi)
    eps = 1e-4
    p = np.array([max(ps - eps, 0.0), ps, min(ps + eps, 1.0)])
    w = label_only.limit_weights(p, phi, psi, mu, lam, loss=loss, sigma=sigma)
    align = w @ mu
    if ps - eps >= 0:
        assert align[0] > 0
    if ps + eps <= 1:
        assert align[2] < 0
    assert abs(align[1]) <= 1e-9 * (abs(align[0]) + abs(align[2]) + 1e-300)
    assert label_only.breakdown(phi, psi) == ps


def test_extreme_inputs_are_finite_and_correct():
    mu = np.array([40.0, 0.0])
    for loss in ("logistic", "square"):
        for p in (0.0, 1.0):
            acc = label_only.limit_accuracy(p, 0.9, 0.4, mu, 1e-12, loss=loss)
            w = label_only.limit_weights(p, 0.9, 0.4, mu, 1e-12, loss=loss)
            assert np.all(np.isfinite(w)) and np.isfinite(acc)
            assert acc == (1.0 if p == 0 else 0.0)  # Phi(+-40) is 1 or 0 in float64
    # Nothing kept (p = 1, psi = 0) and no ridge: w = 0 (minimum norm), a coin flip.
    for loss in ("logistic", "square"):
        assert label_only.limit_accuracy(1.0, 1.0, 0.0, mu, 0.0, loss=loss) == 0.5
        assert np.all(label_only.limit_weights(1.0, 1.0, 0.0, mu, 0.0, loss=loss) == 0)


def test_jit_vmap_and_batches():
    mu = jnp.array([1.0, 0.5])
    f = jax.jit(lambda p: label_only.limit_accuracy(p, 0.9, 0.4, mu, 0.1, loss="square"))
    out = jax.vmap(f)(jnp.linspace(0.0, 1.0, 5))
    ref = label_only.limit_accuracy(np.linspace(0, 1, 5), 0.9, 0.4, np.asarray(mu), 0.1,
                                    loss="square")
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5)
    w = label_only.limit_weights(np.linspace(0, 1, 4)[:, None], 0.8, np.array([0.1, 0.5]),
                                 np.array([1.0, 0.0, 2.0]), 0.1)
    assert w.shape == (4, 2, 3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(lam=-0.1), "lam"),
        (dict(p=1.1), "p"),
        (dict(phi=0.0, psi=0.0), "phi and psi"),
        (dict(mu=np.zeros(2)), "mu"),
        (dict(loss="hinge"), "loss"),
        (dict(sigma=np.eye(3)), "dimension"),
        (dict(lam=np.nan), "lam"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(p=0.2, phi=0.9, psi=0.3, mu=np.array([1.0, 0.0]), lam=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        label_only.limit_accuracy(**args)
