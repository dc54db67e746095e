"""Batched functions process their grid in memory-bounded chunks: results do not depend on the
chunk size (bit for bit), a point too large for the budget is refused before any work, and
calls traced by the caller's jit still compose."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theory
from theory import _numerics, label_only, linear_generator, linear_verifier

MU = np.array([1.2, 0.3])
W_V = np.array([1.0, 0.5])
SIGMA = np.array([[1.0, 0.2], [0.2, 0.5]])
P = np.linspace(0.0, 1.0, 37)

CASES = {
    "label_only logistic": lambda: label_only.limit_accuracy(P, 0.9, 0.3, MU, 0.1, sigma=SIGMA),
    "label_only square weights": lambda: label_only.limit_weights(
        P[:, None], 0.9, 0.3, MU, np.array([0.01, 1.0]), loss="square", sigma=SIGMA),
    "label_only curve": lambda: label_only.limit_curve_parameters(P, 0.9, 0.3, MU, 0.1),
    "verifier logistic": lambda: linear_verifier.limit_accuracy(MU, W_V, P, 0.1, tau=0.2),
    "verifier square weights": lambda: linear_verifier.limit_weights(MU, W_V, P, 0.1,
                                                                     loss="square"),
    "verifier breakdown": lambda: linear_verifier.breakdown(MU, W_V, P[:5] + 0.01,
                                                            loss="square"),
    "tau_for_rate": lambda: linear_verifier.tau_for_rate(MU, W_V, P, 0.3),
    "generator rates": lambda: linear_generator.keep_rates(MU, W_V, MU, tau=P - 0.5),
}


@pytest.mark.parametrize("name", CASES)
def test_results_do_not_depend_on_the_chunk_size(name, monkeypatch):
    whole = CASES[name]()
    for points in (1, 16, 48):  # padded to 16 each: 3, 3 and 1 chunks of P
        monkeypatch.setattr(_numerics, "CHUNK_POINTS", points)
        jax.tree_util.tree_map(np.testing.assert_array_equal, CASES[name](), whole)


def test_chunks_cover_the_grid_in_order():
    calls = []

    def kernel(x, y):
        calls.append(x.shape[0])
        return x * 10 + y

    x = np.arange(37.0).reshape(37, 1) * np.ones((1, 3))
    out = _numerics.chunked(kernel, [jnp.asarray(x), jnp.asarray(2.0)], [0, 0],
                            point_bytes=1, chunk=16)
    np.testing.assert_array_equal(out, x * 10 + 2)
    assert calls == [16] * 7  # 111 points in chunks of 16, the last one padded


def test_a_point_larger_than_the_budget_is_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(_numerics, "MEMORY_BUDGET", 1000)
    with pytest.raises(ValueError, match="d = 2.*memory budget"):
        label_only.limit_accuracy(P, 0.9, 0.3, MU, 0.1)


def test_traced_calls_are_not_chunked_and_still_compose(monkeypatch):
    monkeypatch.setattr(_numerics, "CHUNK_POINTS", 1)
    p = P[P != theory.pstar(0.9, 0.3)]  # at p* itself float32 may round either way
    f = jax.jit(lambda p: label_only.limit_accuracy(p, 0.9, 0.3, jnp.asarray(MU), 0.1,
                                                    loss="square"))
    expected = label_only.limit_accuracy(p, 0.9, 0.3, MU, 0.1, loss="square")
    np.testing.assert_allclose(f(jnp.asarray(p)), expected, atol=1e-6)


def test_finite_accuracy_solves_in_bounded_chunks_with_the_same_results(monkeypatch):
    from theory import finite

    alpha = np.geomspace(0.5, 8.0, 32)[:, None]  # 64 points: a size other tests compile too
    whole = finite.accuracy(alpha, np.array([0.1, 0.3]), 0.9, 0.3, 1.0, 0.1)
    sizes = []
    for name in ("newton_solve", "quadrature_correction"):
        real = getattr(finite._fs, name)

        def spy(y, params, real=real, **kwargs):
            sizes.append(y.shape[0])
            return real(y, params, **kwargs)

        monkeypatch.setattr(finite._fs, name, spy)
    monkeypatch.setattr(finite, "_CHUNK_ELEMENTS", 8 * finite.DEFAULT_NODES)
    chunked = finite.accuracy(alpha, np.array([0.1, 0.3]), 0.9, 0.3, 1.0, 0.1)
    assert max(sizes) == 8 and len(sizes) > 10  # 64 points, 8 at a time
    assert np.all(whole.converged)
    for got, expected in zip(chunked, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)  # rounding of sums


@pytest.mark.parametrize("loss", ["square", "logistic"])
def test_finite_solve_holds_the_scenario_atoms_a_block_of_points_at_a_time(loss, monkeypatch):
    from theory import _general, finite, scenario

    # 64 points: the whole grid and each block of the doubled grid are one compiled size.
    alpha = np.geomspace(0.5, 8.0, 64)
    args = dict(generator=scenario.flip(0.2), verifier=scenario.label_only(0.9, 0.3), loss=loss)
    whole = finite.solve(alpha, MU, 0.1, **args)
    held = []
    real = _general._fields_for

    def spy(alpha, lam, atom_list, curve):
        held.append(len(atom_list))
        return real(alpha, lam, atom_list, curve)

    monkeypatch.setattr(_general, "_fields_for", spy)
    monkeypatch.setattr(_general, "_BLOCK_ELEMENTS", 1)  # the floor: 64 points a block
    blocks = finite.solve(alpha[:, None], MU, np.array([0.1, 0.1]), **args)
    assert max(held) == 64 and sum(held) == 2 * 128  # coarse and fine atoms, 128 points
    assert np.all(whole.converged)
    # Blocks anchor their own alpha curves: the logistic solutions agree to the solver's tol.
    tol = 1e-15 if loss == "square" else 1e-9
    for got, expected in zip(blocks[:7], whole[:7]):
        np.testing.assert_allclose(got, np.stack([expected] * 2, axis=1), rtol=tol, atol=tol)


def test_finite_generations_runs_a_block_of_points_at_a_time(monkeypatch):
    from theory import _general, finite, scenario

    alpha = np.array([1.0, 2.0, 4.0])
    lam = np.array([[0.05], [0.2]])
    args = dict(initial=scenario.linear_generator(np.array([1.0, 0.5]), "sample"),
                verifier=scenario.label_only(0.9, 0.3), generations=3)
    whole = finite.generations(alpha, MU, lam, **args)
    sizes = []
    real = _general._generations_block

    def spy(alpha, mu, lam, **kw):
        sizes.append(len(alpha))
        return real(alpha, mu, lam, **kw)

    monkeypatch.setattr(_general, "_generations_block", spy)
    monkeypatch.setattr(_general, "_BLOCK_ELEMENTS", 1)  # the floor: 64 points a block
    big_alpha = np.tile(alpha, 30)  # 90 points a row, 180 in all: three blocks
    blocks = finite.generations(big_alpha, MU, lam, **args)
    assert sizes == [64, 64, 52]
    assert blocks.accuracy.shape == (2, 90, 3) and np.all(whole.converged)
    for got, expected in zip(blocks, whole):
        # blocks anchor their own curves: the logistic solutions agree to the solver's tol
        np.testing.assert_allclose(np.asarray(got)[:, :3], expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(np.asarray(got)[:, 87:], expected, rtol=1e-9, atol=1e-9)


def test_budget_chunks_are_steps_of_the_lane_ladder():
    """Chunk sizes from the memory budget are steps of ``lane_ladder`` (16, 32, 48, 64, 96, ...),
    at or below the budget: kernels that pad a batch to the ladder then never exceed it."""
    assert [_numerics.lane_ladder(n) for n in (1, 16, 17, 33, 49, 65, 97, 129)] == [
        16, 16, 32, 48, 64, 96, 128, 192]
    assert [_numerics.lane_ladder(n, down=True) for n in (1, 31, 32, 47, 95, 100, 191)] == [
        16, 16, 32, 32, 64, 96, 128]
    calls = []

    def kernel(x):
        calls.append(x.shape[0])
        return x

    x = jnp.arange(1000.0)
    out = _numerics.chunked(kernel, [x], [0], point_bytes=1, budget=100)
    np.testing.assert_array_equal(out, x)
    assert set(calls) == {96}  # 100 points fit: the ladder's 96, not 112
