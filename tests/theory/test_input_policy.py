"""One input policy for every public function: real floating or integer values only; bools,
complex values, strings and subnormal magnitudes are refused with a ValueError naming the
parameter (before any work is done), as are bad tuning arguments of ``finite.accuracy``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theory
from theory import finite, label_only, linear_generator, linear_verifier

MU = np.array([1.2, 0.3])
W = np.array([0.6, 0.8])
SIGMA = np.array([[1.0, 0.2], [0.2, 0.5]])

# name -> (function, valid keyword arguments)
FUNCTIONS = {
    "pstar": (theory.pstar, dict(phi=0.9, psi=0.3)),
    "selected_error_rate": (theory.selected_error_rate, dict(p=0.2, phi=0.9, psi=0.3)),
    "kept_mass": (theory.kept_mass, dict(p=0.2, phi=0.9, psi=0.3)),
    "signed_signal": (theory.signed_signal, dict(p=0.2, phi=0.9, psi=0.3)),
    "bayes_accuracy": (theory.bayes_accuracy, dict(mu=MU, sigma=SIGMA)),
    "linear_accuracy": (theory.linear_accuracy, dict(w=W, mu=MU, sigma=SIGMA)),
    "label_only.limit_weights": (label_only.limit_weights,
                                 dict(p=0.2, phi=0.9, psi=0.3, mu=MU, lam=0.1, sigma=SIGMA)),
    "label_only.limit_accuracy": (label_only.limit_accuracy,
                                  dict(p=0.2, phi=0.9, psi=0.3, mu=MU, lam=0.1, sigma=SIGMA)),
    "label_only.limit_curve_parameters": (label_only.limit_curve_parameters,
                                          dict(p=0.2, phi=0.9, psi=0.3, mu=MU, lam=0.1,
                                               sigma=SIGMA)),
    "label_only.breakdown": (label_only.breakdown, dict(phi=0.9, psi=0.3)),
    "linear_verifier.keep_rates": (linear_verifier.keep_rates,
                                   dict(mu=MU, w_v=W, tau=0.1, sigma=SIGMA)),
    "linear_verifier.signal_weighted_rates": (linear_verifier.signal_weighted_rates,
                                              dict(mu=MU, w_v=W, tau=0.1)),
    "linear_verifier.tau_for_rate": (linear_verifier.tau_for_rate,
                                     dict(mu=MU, w_v=W, p=0.2, rate=0.3, sigma=SIGMA)),
    "linear_verifier.limit_weights": (linear_verifier.limit_weights,
                                      dict(mu=MU, w_v=W, p=0.2, lam=0.1, tau=0.1)),
    "linear_verifier.limit_accuracy": (linear_verifier.limit_accuracy,
                                       dict(mu=MU, w_v=W, p=0.2, lam=0.1, tau=0.1)),
    "linear_verifier.breakdown": (linear_verifier.breakdown,
                                  dict(mu=MU, w_v=W, lam=0.1, tau=0.1)),
    "linear_generator.keep_rates": (linear_generator.keep_rates,
                                    dict(mu=MU, w_g=W, w_v=MU, tau=0.1, sigma=SIGMA)),
    "finite.accuracy": (finite.accuracy, dict(alpha=2.0, p=0.2, phi=0.9, psi=0.3, mu_norm=1.0,
                                              lam=0.1)),
    "finite.kept_masses": (finite.kept_masses, dict(p=0.2, phi=0.9, psi=0.3, real_fraction=0.1)),
}


def _bad(kind, valid):
    """A value of the bad ``kind`` shaped like the valid one."""
    valid = np.asarray(valid, float)
    ones = np.ones_like(valid) * 0.5
    if kind == "complex":
        return (ones + 0.5j).astype(np.complex128) if valid.ndim else np.complex128(0.5 + 0.5j)
    if kind == "string":
        return ones.astype(str) if valid.ndim else "0.5"
    if kind == "bool":
        return np.ones(valid.shape, bool) if valid.ndim else True
    if kind == "subnormal":
        return np.where(valid != 0, valid, 1.0) * 1e-310 if valid.ndim else 1e-310
    if kind == "object":
        return np.array(valid.tolist(), dtype=object) if valid.ndim else None
    raise AssertionError(kind)


CASES = [(name, param, kind) for name, (_, kwargs) in FUNCTIONS.items() for param in kwargs
         for kind in ("complex", "string", "bool", "subnormal", "object")]


@pytest.mark.parametrize("name, param, kind", CASES, ids=[f"{n}-{p}-{k}" for n, p, k in CASES])
def test_every_public_function_refuses_each_bad_kind_naming_the_parameter(name, param, kind):
    fn, kwargs = FUNCTIONS[name]
    kwargs = dict(kwargs, **{param: _bad(kind, kwargs[param])})
    with pytest.raises(ValueError, match=param):
        fn(**kwargs)


@pytest.mark.parametrize("bad", [np.complex128(0.5 + 0.5j), "0.5", True, 1e-310])
def test_pstar_examples_from_the_report(bad):
    with pytest.raises(ValueError, match="phi"):
        theory.pstar(bad, 0.3)


def test_subnormal_messages_say_what_to_do():
    with pytest.raises(ValueError, match="subnormal.*pass 0 or rescale"):
        theory.bayes_accuracy(MU, 1e-320 * np.eye(2))
    with pytest.raises(ValueError, match="psi has the subnormal"):
        theory.pstar(1e-300, 1e-310)


def test_dtype_policy_applies_to_tracers_and_jit_still_works():
    # complex and bool tracers are refused at trace time; real ones trace and differentiate.
    with pytest.raises(ValueError, match="w"):
        jax.jit(theory.linear_accuracy)(jnp.ones(2, jnp.complex64), jnp.asarray(MU))
    with pytest.raises(ValueError, match="phi"):
        jax.jit(theory.pstar)(jnp.asarray(True), jnp.asarray(0.3))
    acc = jax.jit(theory.linear_accuracy)(jnp.asarray(W), jnp.asarray(MU))
    np.testing.assert_allclose(acc, theory.linear_accuracy(W, MU), rtol=1e-6)
    grad = jax.grad(lambda w: theory.linear_accuracy(w, jnp.asarray(MU)))(jnp.asarray(W))
    # d/dw Phi(mu.w/|w|) = phi(.) (mu - (mu.u) u) / |w|, u = w/|w|
    u = W / np.linalg.norm(W)
    expected = np.exp(-0.5 * (MU @ u) ** 2) / np.sqrt(2 * np.pi) * (MU - (MU @ u) * u) / np.linalg.norm(W)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)


def test_integer_arrays_are_accepted():
    assert theory.linear_accuracy(np.array([1, 0]), np.array([1, 0])) == pytest.approx(0.8413447460685429)


def test_too_large_mu_is_refused_by_the_limits():
    with pytest.raises(ValueError, match="mu is too large"):
        label_only.limit_accuracy(0.1, 0.9, 0.3, np.array([1e10, 0.0]), 0.1)
    with pytest.raises(ValueError, match="mu is too large"):
        label_only.limit_accuracy(0.1, 0.9, 0.3, np.array([1.0, 0.0]), 0.1, sigma=1e-14 * np.eye(2))
    with pytest.raises(ValueError, match="mu is too large"):
        linear_verifier.limit_accuracy(np.array([1e10, 0.0]), W, 0.1, 0.1)


# finite.accuracy's tuning arguments -------------------------------------------------------------

ARGS = (2.0, 0.2, 0.9, 0.3, 1.0, 0.1)


@pytest.mark.parametrize("kwargs, name", [
    (dict(tol=-1.0), "tol"), (dict(tol=0.0), "tol"), (dict(tol=1e300), "tol"),
    (dict(tol=float("nan")), "tol"), (dict(tol="1e-8"), "tol"), (dict(tol=np.ones(2)), "tol"),
    (dict(tol=1e-20), "tol"),
    (dict(max_iter=0), "max_iter"), (dict(max_iter=2.5), "max_iter"),
    (dict(max_iter=True), "max_iter"), (dict(max_iter="60"), "max_iter"),
    (dict(nodes="x"), "nodes"), (dict(nodes=None), "nodes"), (dict(nodes=8.7), "nodes"),
    (dict(nodes=4), "nodes"), (dict(nodes=10**6), "nodes"),
    (dict(quadrature_check="yes"), "quadrature_check"),
    (dict(loss=["logistic"]), "loss"),
])
def test_finite_accuracy_validates_its_tuning_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        finite.accuracy(*ARGS, **kwargs)


def test_finite_accuracy_accepts_numpy_integers_for_counts():
    res = finite.accuracy(*ARGS, loss="square", nodes=np.int64(16), max_iter=np.int32(5))
    assert res.converged


@pytest.mark.parametrize("bad", [np.array([1 + 0j, 0j]), np.array(["1", "0"]), np.array([0.5, 1.0])])
@pytest.mark.parametrize("param", ["correct", "kept"])
def test_estimate_pstar_refuses_non_flags(param, bad):
    kwargs = {"correct": np.array([True, False]), "kept": np.array([True, True]), param: bad}
    with pytest.raises(ValueError, match=param):
        theory.estimate_pstar(**kwargs)
