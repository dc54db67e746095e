"""The property-testing kit (``simulate.testing``): the project's own selectors pass it, and
deliberately wrong selectors fail it."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from simulate import data, pruners, selection, testing

KEY = jax.random.key(19)


@pytest.mark.parametrize("sel, phi, psi", [
    (selection.NoPruning(), 1.0, 1.0), (selection.Random(0.4), 0.4, 0.4),
    (selection.Oracle(), 1.0, 0.0), (selection.LabelOnly(0.8, 0.25), 0.8, 0.25),
    (selection.flip(0.2), 0.8, 0.2),
])
def test_the_label_level_selectors_pass_rates_and_breakdown(sel, phi, psi):
    rep = testing.check_rates(sel, KEY, phi=phi, psi=psi)
    assert rep.n == 20_000 and 0 < rep.n_kept <= rep.n
    testing.check_breakdown(sel, KEY, phi=phi, psi=psi)


@settings(max_examples=8)
@given(rates=testing.verifier_rates())
def test_label_only_passes_at_any_rates(rates):
    testing.check_rates(selection.LabelOnly(*rates), KEY, phi=rates[0], psi=rates[1], n=5_000)


@settings(max_examples=10)
@given(sc=testing.scenarios())
def test_every_scenario_pruner_keeps_at_its_theory_rates(sc):
    """One description serves both sides: the pruner built from a theory.scenario verifier
    (linear and top-r included) keeps at the rates theory.scenario.keep_rates gives it."""
    testing.check_scenario(sc, KEY)


def _scenario_cases():
    from theory import scenario as sc

    mu = np.array([1.2, 0.0, 0.0])
    w_g, w_v = np.array([1.0, 0.6, 0.0]), np.array([1.0, 0.0, 0.8])
    return [testing.Scenario(mu, sc.flip(0.3), sc.top_r(0.4, w_v)),
            testing.Scenario(mu, sc.linear_generator(w_g), sc.top_r(0.6, w_v)),
            testing.Scenario(mu, sc.linear_generator(w_g), sc.linear_verifier(2 * w_v, 0.5))]


@pytest.mark.parametrize("sc", _scenario_cases(), ids=["flip-top_r", "linear-top_r",
                                                       "linear-linear"])
def test_margin_pruners_under_linear_generators_keep_at_their_theory_rates(sc):
    testing.check_scenario(sc, KEY)


@pytest.mark.slow
def test_limit_accuracy_on_either_side_of_pstar():
    out = testing.check_limit_accuracy(selection.LabelOnly(0.9, 0.3), phi=0.9, psi=0.3)
    (below, (acc_b, lim_b)), (above, (acc_a, lim_a)) = sorted(out.items())
    assert below < 0.75 < above and acc_b > 0.5 > acc_a
    # Sigma = I: the limit is Phi(|mu|) below p* and 1 - Phi(|mu|) above (docs/theory.md,
    # section 'Label-only pruning in the large-sample limit')
    assert lim_b == pytest.approx(1 - lim_a, abs=1e-9)


# --- deliberately wrong selectors ----------------------------------------------------------


class _ClaimsTooMuch:
    """Claims phi = 0.9 but keeps correct candidates at 0.8."""

    def select(self, key, scores=None, *, correct=None, groups=None):
        u = data.uniforms(key, correct.shape[0])
        return u < jnp.where(correct, 0.8, 0.3)


class _IgnoresLabels:
    """Claims (0.9, 0.3) but keeps at 0.6 whatever the label."""

    def select(self, key, scores=None, *, correct=None, groups=None):
        return data.uniforms(key, correct.shape[0]) < 0.6


class _KeepsTheWrongOnes:
    """Keeps at the claimed overall rate but the wrong candidates first: p* on the wrong side."""

    def select(self, key, scores=None, *, correct=None, groups=None):
        u = data.uniforms(key, correct.shape[0])
        return u < jnp.where(correct, 0.3, 0.9)


@pytest.mark.parametrize("wrong", [_ClaimsTooMuch(), _IgnoresLabels(), _KeepsTheWrongOnes()])
def test_wrong_selectors_fail_the_rate_check(wrong):
    with pytest.raises(testing.SelectorCheckError, match="phi"):
        testing.check_rates(wrong, KEY, phi=0.9, psi=0.3)


def test_a_selector_whose_kept_error_ignores_p_fails_the_breakdown_check():
    """It holds the kept error rate at 0.15 whatever p, so it cannot break down at p*:
    ``check_breakdown`` catches it (through its rates on either side of p*)."""

    class FixedError:
        def select(self, key, scores=None, *, correct=None, groups=None):
            # keep all wrong ones and as many correct ones as make the kept error 0.15 at p=0.3
            u = data.uniforms(key, correct.shape[0])
            n_w = jnp.sum(~correct)
            frac = jnp.minimum(1.0, n_w / 0.15 * 0.85 / jnp.maximum(jnp.sum(correct), 1))
            return jnp.where(correct, u < frac, True)

    with pytest.raises(testing.SelectorCheckError):
        testing.check_breakdown(FixedError(), KEY, phi=0.9, psi=0.3)


def test_a_wrong_linear_pruner_fails_its_scenario():
    """The kit holds a pruner to the theory of its scenario: a linear verifier with the wrong
    threshold (0.5 instead of 0) keeps too little."""
    from theory import scenario

    mu = np.array([1.0, 0.5])
    sc = testing.Scenario(mu, scenario.flip(0.2), scenario.linear_verifier(mu, 0.0))
    testing.check_scenario(sc, KEY)
    _, phi, psi = scenario.keep_rates(mu, sc.generator, sc.verifier)
    with pytest.raises(testing.SelectorCheckError):
        testing.check_rates(pruners.linear(mu, 0.5), KEY, phi=phi, psi=psi, generator=0.2, mu=mu)


def test_accuracy_tolerance_shrinks_with_n_and_vanishes_in_one_dimension():
    t1 = testing._accuracy_tolerance(0.6, 0.9, 0.3, 1.5, 3, 10_000, 0.1, 4.5)
    t2 = testing._accuracy_tolerance(0.6, 0.9, 0.3, 1.5, 3, 40_000, 0.1, 4.5)
    assert 0 < t2 < t1 < 0.05
    assert testing._accuracy_tolerance(0.6, 0.9, 0.3, 1.5, 1, 10_000, 0.1, 4.5) == 0.0


@pytest.mark.parametrize("call, name", [
    (lambda: testing.check_rates(selection.Oracle(), KEY, phi=1.5, psi=0.0), "phi"),
    (lambda: testing.check_rates(selection.Oracle(), KEY, phi=0.0, psi=0.0), "phi and psi"),
    (lambda: testing.check_rates(selection.Oracle(), KEY, phi=1.0, psi=0.0, n=10), "n"),
    (lambda: testing.check_rates(selection.Oracle(), KEY, phi=1.0, psi=0.0, z=-1), "z"),
    (lambda: testing.check_rates(selection.Oracle(), KEY, phi=1.0, psi=0.0, generator="x"),
     "generator"),
    (lambda: testing.check_breakdown(selection.Oracle(), KEY, phi=1.0, psi=0.0, margin=0.7),
     "margin"),
    (lambda: testing.verifier_rates(0.0), "low"),
    (lambda: testing.mixtures(min_norm=2, max_norm=1), "min_norm"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_simulate_imports_without_hypothesis():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import simulate, simulate.testing as t, jax\n"
            "from simulate import selection\n"
            "t.check_rates(selection.Oracle(), jax.random.key(0), phi=1.0, psi=0.0, n=1000)\n"
            "try:\n    t.mixtures()\nexcept ImportError as e:\n    print('strategies:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "need hypothesis" in out.stdout
