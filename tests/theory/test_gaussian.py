"""Accuracy of linear rules: closed forms against sampling, and the Bayes bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from tests.theory.helpers import binomial_tolerance, mixture


def random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.3 * np.eye(d)


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 5), general=st.booleans())
def test_linear_accuracy_matches_sampling(seed, d, general):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    w = rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    x, y = mixture(rng, 200_000, mu, sigma)
    empirical = np.mean(np.sign(x @ w) == y)
    acc = theory.linear_accuracy(w, mu, sigma)
    assert abs(empirical - acc) <= binomial_tolerance(acc, len(y))


@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 6), general=st.booleans())
def test_no_linear_rule_beats_bayes(seed, d, general):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    sigma = random_spd(rng, d) if general else None
    bayes = theory.bayes_accuracy(mu, sigma)
    w = rng.standard_normal((64, d))
    assert np.all(theory.linear_accuracy(w, mu, sigma) <= bayes + 1e-12)
    best = np.linalg.solve(sigma, mu) if general else mu
    assert theory.linear_accuracy(best, mu, sigma) == pytest.approx(bayes, abs=1e-12)


def test_bayes_accuracy_matches_sampling_of_the_bayes_rule():
    rng = np.random.default_rng(7)
    mu = np.array([0.8, -0.3, 0.5])
    sigma = random_spd(rng, 3)
    x, y = mixture(rng, 400_000, mu, sigma)
    empirical = np.mean(np.sign(x @ np.linalg.solve(sigma, mu)) == y)
    acc = theory.bayes_accuracy(mu, sigma)
    assert abs(empirical - acc) <= binomial_tolerance(acc, len(y))


def test_zero_weights_are_a_coin_flip_and_batches_broadcast():
    mu = np.array([1.0, 2.0])
    assert theory.linear_accuracy(np.zeros(2), mu) == 0.5
    out = theory.linear_accuracy(np.ones((4, 3, 2)), mu)
    assert out.shape == (4, 3)
    assert theory.bayes_accuracy(np.array([[1.0, 0.0], [40.0, 0.0]])).tolist() == pytest.approx(
        [0.8413447460685429, 1.0]
    )


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: theory.bayes_accuracy(np.zeros(3)), "mu"),
        (lambda: theory.bayes_accuracy(np.array([1.0, np.nan])), "mu"),
        (lambda: theory.bayes_accuracy(np.ones(2), np.eye(3)), "dimension"),
        (lambda: theory.bayes_accuracy(np.ones(2), -np.eye(2)), "sigma"),
        (lambda: theory.linear_accuracy(np.ones(3), np.ones(2)), "dimension"),
        (lambda: theory.bayes_accuracy(np.zeros((2, 0))), "mu"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
