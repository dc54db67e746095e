"""Properties of the proxy p* and the selected error rate
(docs/theory.md, section 'The proxy p*')."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import theory

prob = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)
positive_prob = st.floats(1e-6, 1.0, allow_nan=False)


@given(phi=positive_prob, psi=prob)
def test_pstar_in_unit_interval(phi, psi):
    assert 0.0 <= theory.pstar(phi, psi) <= 1.0


@given(phi=st.floats(0.01, 0.98), psi=st.floats(0.01, 0.98), step=st.floats(0.001, 0.02))
def test_pstar_increasing_in_phi_decreasing_in_psi(phi, psi, step):
    assert theory.pstar(phi + step, psi) > theory.pstar(phi, psi)
    assert theory.pstar(phi, psi + step) < theory.pstar(phi, psi)


@given(rate=positive_prob)
def test_pstar_half_when_rates_equal_and_one_for_oracle(rate):
    assert theory.pstar(rate, rate) == pytest.approx(0.5, abs=1e-15)
    assert theory.pstar(rate, 0.0) == 1.0


@given(p=prob, phi=positive_prob, psi=positive_prob)
def test_selected_error_below_half_iff_p_below_pstar(p, phi, psi):
    r = theory.selected_error_rate(p, phi, psi)
    ps = theory.pstar(phi, psi)
    # Away from the boundary, where rounding could decide either way.
    if abs(p - ps) > 1e-9:
        assert (r < 0.5) == (p < ps)


@given(p=prob, phi=positive_prob, psi=positive_prob, seed=st.integers(0, 2**31 - 1))
def test_selected_error_rate_matches_sampling(p, phi, psi, seed):
    # A kept mass >= 1e-3 keeps 200 of the 200k draws on average: never an empty kept set, so
    # every drawn case is checked (nothing kept is checked by name below).
    assume((1 - p) * phi + p * psi >= 1e-3)
    rng = np.random.default_rng(seed)
    n = 200_000
    wrong = rng.random(n) < p
    kept = np.where(wrong, rng.random(n) < psi, rng.random(n) < phi)
    empirical = wrong[kept].mean()
    r = theory.selected_error_rate(p, phi, psi)
    se = np.sqrt(max(r * (1 - r), 1 / kept.sum()) / kept.sum())
    assert abs(empirical - r) <= 4.5 * se


def test_kept_mass_and_signed_signal_vanish_where_expected():
    assert theory.signed_signal(0.75, 0.9, 0.3) == pytest.approx(0.0, abs=1e-15)  # p* = 0.75
    assert theory.kept_mass(0.2, 1.0, 0.0) == pytest.approx(0.8)
    assert np.isnan(theory.selected_error_rate(1.0, 0.5, 0.0))  # nothing kept


def test_broadcasting_and_jax_transforms():
    phi = np.linspace(0.1, 1.0, 7)[:, None]
    psi = np.linspace(0.0, 0.9, 5)[None, :]
    out = theory.pstar(phi, psi)
    assert out.shape == (7, 5) and isinstance(out, np.ndarray)
    jitted = jax.jit(theory.pstar)(jnp.asarray(phi), jnp.asarray(psi))
    np.testing.assert_allclose(np.asarray(jitted), out, rtol=1e-6)
    vmapped = jax.vmap(theory.selected_error_rate, in_axes=(0, None, None))(
        jnp.linspace(0, 1, 11), 0.9, 0.3
    )
    np.testing.assert_allclose(
        np.asarray(vmapped), theory.selected_error_rate(np.linspace(0, 1, 11), 0.9, 0.3), rtol=1e-6
    )
    grad = jax.grad(lambda f: theory.pstar(f, 0.3))(0.6)
    assert float(grad) == pytest.approx(0.3 / 0.9**2, rel=1e-5)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: theory.pstar(1.2, 0.3), "phi"),
        (lambda: theory.pstar(0.5, -0.1), "psi"),
        (lambda: theory.pstar(0.0, 0.0), "phi and psi"),
        (lambda: theory.pstar(np.nan, 0.3), "phi"),
        (lambda: theory.selected_error_rate(1.5, 0.9, 0.3), "p"),
        (lambda: theory.selected_error_rate(0.1, 0.9, np.array([0.2, np.inf])), "psi"),
        (lambda: theory.pstar("high", 0.3), "phi"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
