"""The simulate entry points follow the theory package's input policy: real numbers only
(complex values, strings, bools refused, naming the parameter), flags that are flags, and
counts, seeds and lists that mean something."""

import numpy as np
import pytest

import simulate
from simulate import data, generators, pruners, run
from simulate.fit import fit
from simulate.generations import generations
from simulate.pruners import measure

MU = np.array([1.0, 0.0])


@pytest.mark.parametrize("correct, kept, name", [
    ([2, 1], [1, 1], "correct"),
    ([0.5, 1], [1, 1], "correct"),
    ([np.nan, 1], [1, 1], "correct"),
    ([1, 0], [1, 0.5], "kept"),
    ([1, 0], [np.nan, 1], "kept"),
    ([1, 0], [1 + 0j, 0j], "kept"),
    (["1", "0"], [1, 0], "correct"),
])
def test_measure_refuses_non_flags(correct, kept, name):
    with pytest.raises(ValueError, match=name):
        measure(np.array(correct), np.array(kept))


def test_measure_accepts_bools_and_zero_one_numbers():
    a = measure(np.array([True, False, True, True]), np.array([True, True, False, True]))
    b = measure(np.array([1, 0, 1, 1]), np.array([1.0, 1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(a.p) == 0.25 and float(a.phi) == pytest.approx(2 / 3)


def test_fit_refuses_complex_features_and_strings():
    x = np.ones((4, 2)) * (1 + 1j)
    with pytest.raises(ValueError, match="x must be real"):
        fit(x, np.array([1.0, -1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="labels"):
        fit(np.ones((2, 2)), np.array(["1", "-1"]))
    with pytest.raises(ValueError, match="lam"):
        fit(np.ones((2, 2)), np.array([1.0, -1.0]), lam=True)


@pytest.mark.parametrize("mu, name", [
    (np.array([1 + 1j, 0]), "mu"), (["1", "0"], "mu"), (np.array([True, False]), "mu"),
])
def test_mixture_refuses_non_real(mu, name):
    with pytest.raises(ValueError, match=name):
        data.mixture(mu)


@pytest.mark.parametrize("kwargs, name", [
    ({"n": []}, "n"),
    ({"generators": []}, "generators"),
    ({"pruners": []}, "pruners"),
    ({"lam": []}, "lam"),
    ({"loss": []}, "loss"),
    ({"real_fraction": []}, "real_fraction"),
    ({"seeds": 2.0}, "seeds"),
    ({"seeds": "2"}, "seeds"),
    ({"seeds": True}, "seeds"),
    ({"seeds": [2**32]}, "seeds"),
    ({"root_seed": 2**64}, "root_seed"),
    ({"root_seed": 1.0}, "root_seed"),
    ({"n": 2.0}, "n"),
    ({"n": True}, "n"),
    ({"lam": 0.1 + 0j}, "lam"),
    ({"lam": "0.1"}, "lam"),
    ({"real_fraction": True}, "real_fraction"),
    ({"tol": -1.0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
])
def test_run_refuses_bad_grids_and_seeds(kwargs, name):
    args = {"generators": generators.flip(0.1), "seeds": 1, **kwargs}
    n = args.pop("n", 50)
    with pytest.raises(ValueError, match=name):
        run(MU, n, **args)


def test_run_accepts_the_largest_root_seed():
    table = run(MU, 8, generators=generators.flip(0.1), seeds=1, root_seed=2**63 - 1,
                with_theory=False)
    assert len(table) == 1


@pytest.mark.parametrize("kwargs, name", [
    ({"root_seed": 2**64}, "root_seed"),
    ({"seeds": 2.0}, "seeds"),
    ({"generations": 2.0}, "generations"),
    ({"pruners": []}, "pruners"),
])
def test_generations_refuses_bad_counts(kwargs, name):
    args = {"generations": 1, "initial": generators.linear(MU), "pruners": pruners.none(),
            "seeds": 1, **kwargs}
    with pytest.raises(ValueError, match=name):
        generations(MU, 20, **args)


def test_simulate_exports_run():
    assert simulate.run is run
