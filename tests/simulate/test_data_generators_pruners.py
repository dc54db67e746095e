"""Sampling, exact accuracy, generators and pruners against definitions, theory and Monte Carlo.

Monte Carlo tolerances: Z (false alarm 1e-4 per check) standard errors computed from the
sample size of each check.
"""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from simulate import data, generators, pruners

from .helpers import Z, sk_logistic

MU = np.array([1.0, -0.5, 0.25])


def _key(i):
    return jax.random.key(i)


def _x64(fn, *args, **kwargs):
    with jax.enable_x64(True):
        return jax.tree_util.tree_map(np.asarray, fn(*args, **kwargs))


# --- data ------------------------------------------------------------------------------------


def test_sample_moments_match_the_mixture():
    sigma = np.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 2.0]])
    n = 20_000
    x, y = _x64(lambda: data.sample(_key(0), data.mixture(MU, sigma), n))
    assert x.shape == (n, 3) and set(np.unique(y)) == {-1.0, 1.0}
    assert abs(y.mean()) <= Z / np.sqrt(n)
    z = x - y[:, None] * MU  # noise: mean 0, covariance sigma
    se_mean = np.sqrt(np.diag(sigma) / n)
    assert np.all(np.abs(z.mean(axis=0)) <= Z * se_mean)
    cov = np.cov(z, rowvar=False)
    se_cov = np.sqrt((np.diag(sigma)[:, None] * np.diag(sigma)[None, :] + sigma**2) / n)
    assert np.all(np.abs(cov - sigma) <= Z * se_cov)


def test_sample_is_prefix_stable_and_key_dependent():
    with jax.enable_x64(True):
        mix = data.mixture(MU)
        x1, y1 = data.sample(_key(1), mix, 700)
        x2, y2 = data.sample(_key(1), mix, 300)
        x3, _ = data.sample(_key(2), mix, 300)
        u1, u2 = data.uniforms(_key(1), 600), data.uniforms(_key(1), 10)
    np.testing.assert_array_equal(np.asarray(x1)[:300], np.asarray(x2))
    np.testing.assert_array_equal(np.asarray(y1)[:300], np.asarray(y2))
    np.testing.assert_array_equal(np.asarray(u1)[:10], np.asarray(u2))
    assert not np.allclose(np.asarray(x2), np.asarray(x3))


@settings(max_examples=20)
@given(w=st.lists(st.floats(-3, 3, allow_subnormal=False), min_size=3, max_size=3))
def test_accuracy_is_theory_linear_accuracy(w):
    w = np.array(w)
    sigma = np.array([[1.0, 0.2, 0.0], [0.2, 1.5, 0.0], [0.0, 0.0, 0.7]])
    with jax.enable_x64(True):
        got = np.asarray(data.accuracy(w, data.mixture(MU, sigma)))
    np.testing.assert_allclose(got, theory.linear_accuracy(w, MU, sigma), rtol=1e-12, atol=1e-15)


def test_accuracy_matches_a_sampled_test_set():
    rng = np.random.default_rng(0)
    w = np.array([0.7, 0.4, -1.0])
    n = 200_000
    y = rng.choice([-1.0, 1.0], n)
    x = y[:, None] * MU + rng.standard_normal((n, 3))
    empirical = np.mean(np.sign(x @ w) == y)
    exact = _x64(lambda: data.accuracy(w, data.mixture(MU)))
    assert abs(empirical - exact) <= Z * np.sqrt(exact * (1 - exact) / n)


@pytest.mark.parametrize(
    "mu, sigma, name",
    [
        (np.zeros(0), None, "mu"),
        (np.array([1.0, np.nan]), None, "mu"),
        (np.ones(2), np.eye(3), "sigma"),
        (np.ones(2), np.array([[1.0, 2.0], [2.0, 1.0]]), "sigma"),
        (np.ones(2), np.array([[1.0, 0.5], [0.0, 1.0]]), "sigma"),
    ],
)
def test_bad_mixture(mu, sigma, name):
    with pytest.raises(ValueError, match=name):
        data.mixture(mu, sigma)


def test_negative_n():
    with pytest.raises(ValueError, match="n"):
        data.sample(_key(0), data.mixture(MU), -1)


# --- generators ------------------------------------------------------------------------------


def test_flip_rate_and_common_random_numbers():
    n = 40_000
    with jax.enable_x64(True):
        x, y = data.sample(_key(3), data.mixture(MU), n)
        low = np.asarray(generators.flip(0.1).labels(_key(4), x, y))
        high = np.asarray(generators.flip(0.3).labels(_key(4), x, y))
    y = np.asarray(y)
    for labels, p in ((low, 0.1), (high, 0.3)):
        assert abs(np.mean(labels != y) - p) <= Z * np.sqrt(p * (1 - p) / n)
    assert np.all((low != y) <= (high != y))  # flipped at 0.1 => flipped at 0.3


def test_linear_generator_labels_and_error_rate():
    n = 40_000
    w_g = np.array([1.0, 1.0, 0.0])
    with jax.enable_x64(True):
        x, y = data.sample(_key(5), data.mixture(MU), n)
        labels = np.asarray(generators.linear(w_g).labels(None, x, y))
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_array_equal(labels, np.where(x @ w_g >= 0, 1.0, -1.0))
    p = 1 - theory.linear_accuracy(w_g, MU)
    assert abs(np.mean(labels != y) - p) <= Z * np.sqrt(p * (1 - p) / n)


def test_trained_generator_is_the_sklearn_fit_on_its_real_samples():
    spec = generators.trained(40, lam=0.05)
    with jax.enable_x64(True):
        mix = data.mixture(MU)
        fitted = spec.fitted(_key(6), mix)
        x, y = data.sample(_key(6), mix, 40)
    ref = sk_logistic(np.asarray(x), np.asarray(y), np.ones(40), 0.05)
    np.testing.assert_allclose(np.asarray(fitted.w_g), ref, rtol=1e-5)


@pytest.mark.parametrize("make, name", [
    (lambda: generators.flip(1.5), "p"),
    (lambda: generators.flip(np.nan), "p"),
    (lambda: generators.linear(np.zeros(0)), "w_g"),
    (lambda: generators.trained(0), "n_real"),
    (lambda: generators.trained(10, lam=-1.0), "lam"),
])
def test_bad_generators(make, name):
    with pytest.raises(ValueError, match=name):
        make()


# --- pruners ---------------------------------------------------------------------------------


@settings(max_examples=25)
@given(
    correct=st.lists(st.booleans(), min_size=1, max_size=60),
    data_=st.data(),
)
def test_measure_agrees_with_theory_estimate_pstar(correct, data_):
    kept = data_.draw(st.lists(st.booleans(), min_size=len(correct), max_size=len(correct)))
    got = _x64(pruners.measure, np.array(correct), np.array(kept))
    ref = theory.estimate_pstar(np.array(correct), np.array(kept))
    for field in ("p", "phi", "psi", "pstar"):
        a, b = float(getattr(got, field)), float(getattr(ref, field))
        assert (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-12, field


def _candidates(n=40_000, p=0.3, key=7):
    with jax.enable_x64(True):
        x, y = data.sample(_key(key), data.mixture(MU), n)
        labels = generators.flip(p).labels(_key(key + 1), x, y)
    return x, labels, labels == y


def test_label_level_pruners_keep_at_their_rates():
    x, labels, correct = _candidates()
    nc, nw = int(np.sum(correct)), int(np.sum(~np.asarray(correct)))
    cases = [(pruners.none(), 1.0, 1.0), (pruners.random(0.4), 0.4, 0.4),
             (pruners.oracle(), 1.0, 0.0), (pruners.label_only(0.8, 0.25), 0.8, 0.25)]
    for pruner, phi, psi in cases:
        with jax.enable_x64(True):
            keep = pruners.keep(pruner, _key(9), x, labels, correct)
            r = pruners.measure(correct, keep)
        assert abs(float(r.phi) - phi) <= Z * np.sqrt(phi * (1 - phi) / nc), pruner
        assert abs(float(r.psi) - psi) <= Z * np.sqrt(psi * (1 - psi) / nw), pruner
        assert abs(float(r.pstar) - phi / (phi + psi)) <= 0.02, pruner


def test_linear_verifier_matches_its_rule_and_theory_keep_rates():
    x, labels, correct = _candidates()
    w_v, tau = np.array([0.6, 0.8, 0.0]) * 2.0, 0.5  # not normalised
    with jax.enable_x64(True):
        keep = np.asarray(pruners.keep(pruners.linear(w_v, tau), None, x, labels))
        r = pruners.measure(correct, keep)
    np.testing.assert_array_equal(keep, np.asarray(labels) * (np.asarray(x) @ w_v) > tau)
    phi, psi = theory.linear_verifier.keep_rates(MU, w_v, tau)
    nc, nw = int(np.sum(correct)), int(np.sum(~np.asarray(correct)))
    assert abs(float(r.phi) - phi) <= Z * np.sqrt(phi * (1 - phi) / nc)
    assert abs(float(r.psi) - psi) <= Z * np.sqrt(psi * (1 - psi) / nw)


@settings(max_examples=10)
@given(rate=st.floats(0.01, 1.0), seed=st.integers(0, 1000))
def test_top_r_keeps_the_largest_margins(rate, seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.standard_normal(97), 1)  # ties on purpose
    with jax.enable_x64(True):
        keep = np.asarray(pruners.top_r(rate).select(None, scores))
    count = int(np.ceil(rate * 97 - 1e-9))
    assert keep.sum() == count
    if 0 < count < 97:
        assert scores[keep].min() >= scores[~keep].max()
    # Ties at the threshold go to the earlier index.
    order = np.lexsort((np.arange(97), -scores))
    np.testing.assert_array_equal(np.flatnonzero(keep), np.sort(order[:count]))


def test_top_r_threshold_matches_theory_tau_for_rate():
    """Top-25 % selection keeps the candidates above the empirical 75 % margin quantile; the
    theory's tau_for_rate must leave a fraction 0.25 (binomial SE) of margins above it."""
    p, rate, n = 0.2, 0.25, 40_000
    x, labels, _ = _candidates(n=n, p=p)
    w_v = np.array([0.6, 0.8, 0.0])
    with jax.enable_x64(True):
        keep = np.asarray(pruners.keep(pruners.top_r(rate, w_v), None, x, labels))
    margins = np.asarray(labels) * (np.asarray(x) @ w_v)
    assert keep.sum() == int(np.ceil(rate * n))
    assert margins[keep].min() >= margins[~keep].max()
    tau = theory.linear_verifier.tau_for_rate(MU, w_v, p, rate)
    assert abs(np.mean(margins > tau) - rate) <= Z * np.sqrt(rate * (1 - rate) / n)


def test_supervised_verifier_is_the_sklearn_fit_and_a_linear_rule():
    spec = pruners.supervised(60, lam=0.1, tau=0.2)
    with jax.enable_x64(True):
        mix = data.mixture(MU)
        fitted = spec.fitted(_key(11), mix)
        xr, yr = data.sample(_key(11), mix, 60)
    ref = sk_logistic(np.asarray(xr), np.asarray(yr), np.ones(60), 0.1)
    np.testing.assert_allclose(np.asarray(fitted.w_v), ref, rtol=1e-5)
    assert fitted.kind == "linear" and float(fitted.tau) == 0.2
    assert pruners.supervised(60, rate=0.3).with_direction(ref).kind == "top_r"


@pytest.mark.parametrize("make, name", [
    (lambda: pruners.random(0.0), "rate"),
    (lambda: pruners.random(1.2), "rate"),
    (lambda: pruners.top_r(-0.1), "rate"),
    (lambda: pruners.label_only(np.nan, 0.2), "phi"),
    (lambda: pruners.label_only(0.5, 1.5), "psi"),
    (lambda: pruners.label_only(0.0, 0.0), "phi and psi"),
    (lambda: pruners.linear(np.ones(2), np.inf), "tau"),
    (lambda: pruners.supervised(-3), "n_real"),
    (lambda: pruners.keep(pruners.oracle(), None, None, np.ones(3)), "correct"),
    (lambda: pruners.keep(pruners.top_r(0.5), None, None, np.ones(3)), "scores"),
])
def test_bad_pruners(make, name):
    with pytest.raises(ValueError, match=name):
        make()
