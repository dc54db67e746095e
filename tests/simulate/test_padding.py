"""Compiled programs are shared across sizes: ``fit`` pads rows and problems with zero-weight
padding up to a ladder step, and the sampler draws whole ladder steps of blocks. Neither may
change a result beyond the rounding of a reordered sum, and the same seed gives the same
numbers."""

import importlib

import jax
import numpy as np
import pytest

import simulate
from simulate import data, generators, pruners

fit_module = importlib.import_module("simulate.fit")  # ``simulate.fit`` is also the function


def test_the_ladder():
    bucket = fit_module.bucket
    assert [bucket(n, 1024) for n in (1, 30, 1024, 1025, 3000, 5000)] == [
        1024, 1024, 1024, 1280, 3072, 5120]
    assert [bucket(v, 1) for v in (1, 2, 3, 4, 5, 7, 8, 9, 17, 33)] == [
        1, 2, 3, 4, 5, 7, 8, 10, 20, 40]
    for n in range(1, 5000, 37):  # always enough, never more than 25 % past the floor
        b = bucket(n, 64)
        assert b >= n and (b <= 64 or b <= 1.25 * n)


@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("n", [30, 1500])
def test_padded_and_unpadded_fits_agree(monkeypatch, loss, n):
    # 6 features and 3 problems, as in test_fit.py: the padded programs are shared with it
    rng = np.random.default_rng(n)
    y = rng.choice([-1.0, 1.0], n)
    x = y[:, None] * np.r_[1.0, np.zeros(5)] + rng.standard_normal((n, 6))
    labels = np.where(rng.random((3, n)) < 0.3, -y, y)
    weights = (rng.random((3, n)) < 0.6).astype(float)
    padded = fit_module.fit(x, labels, weights, [1e-3, 1e-2, 1.0], loss=loss)
    monkeypatch.setattr(fit_module, "PAD", False)
    exact = fit_module.fit(x, labels, weights, [1e-3, 1e-2, 1.0], loss=loss)
    np.testing.assert_allclose(padded.w, exact.w, rtol=1e-12, atol=1e-13)
    assert padded.converged.all() and exact.converged.all()
    np.testing.assert_array_equal(padded.iterations, exact.iterations)
    assert padded.w.shape == (3, 6)


def test_one_program_serves_many_sizes():
    """Sizes on one ladder step reuse the compiled fit."""
    rng = np.random.default_rng(0)
    solver = fit_module._solver(traced=False)  # the compiled fit that fit calls
    solver.clear_cache()
    for n in (40, 150, 250):  # all below the 256-row floor
        x = rng.standard_normal((n, 6))
        fit_module.fit(x, np.sign(rng.standard_normal((3, n))) + (0.0), None, [0.1] * 3)
    assert solver._cache_size() == 1


def test_sampling_is_prefix_stable_and_the_same_for_the_same_key():
    with jax.enable_x64(True):
        mix = data.mixture(np.r_[1.0, 0.0, 0.0])
        key = jax.random.key(3)
        x1, y1 = data.sample(key, mix, 700)
        x2, y2 = data.sample(key, mix, 3000)
        x3, y3 = data.sample(key, mix, 700)
        u1, u2 = data.uniforms(key, 10), data.uniforms(key, 2000)
    assert x1.shape == (700, 3) and y1.shape == (700,)
    np.testing.assert_array_equal(x1, x2[:700])
    np.testing.assert_array_equal(y1, y2[:700])
    np.testing.assert_array_equal(x1, x3)
    np.testing.assert_array_equal(u1, u2[:10])


def test_same_seed_same_numbers_across_sizes_and_runs():
    mu = np.r_[1.0, np.zeros(4)]
    kwargs = dict(generators=generators.flip(0.2), pruners=[pruners.none(), pruners.oracle()],
                  seeds=2, root_seed=5, with_theory=False)
    both = simulate.run(mu, [60, 900], **kwargs)
    alone = simulate.run(mu, 900, **kwargs)
    again = simulate.run(mu, [60, 900], **kwargs)
    assert both.to_records() == again.to_records()
    assert both.where(n=900).to_records() == alone.to_records()
