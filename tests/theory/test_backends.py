"""NumPy in -> float64 NumPy out; JAX in -> JAX out in the caller's precision (here float32).

Alternating the two in one process must work (jit caches are per precision) and agree to the
lower precision.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import theory
from theory import label_only, linear_generator, linear_verifier

MU = np.array([1.2, 0.3])
W_V = np.array([0.6, 0.8])
CASES = [
    ("label_only logistic", lambda mu, w, p: label_only.limit_accuracy(p, 0.9, 0.3, mu, 0.1)),
    ("label_only square", lambda mu, w, p: label_only.limit_weights(p, 0.9, 0.3, mu, 0.1,
                                                                    loss="square")),
    ("linear_verifier logistic", lambda mu, w, p: linear_verifier.limit_weights(mu, w, p, 0.1)),
    ("linear_verifier rates", lambda mu, w, p: linear_verifier.tau_for_rate(mu, w, p, 0.25)),
    ("linear_generator", lambda mu, w, p: linear_generator.keep_rates(mu, w, mu, tau=p)[1]),
    ("selected error", lambda mu, w, p: theory.selected_error_rate(p, 0.9, 0.3)),
]


@pytest.mark.parametrize("name, fn", CASES, ids=[c[0] for c in CASES])
def test_numpy_and_jax_paths_agree_when_alternated(name, fn):
    p = np.array([0.1, 0.6, 0.9])
    first = fn(MU, W_V, p)
    assert isinstance(first, np.ndarray) and first.dtype == np.float64
    as_jax = fn(jnp.asarray(MU), jnp.asarray(W_V), jnp.asarray(p))
    assert isinstance(as_jax, jax.Array) and as_jax.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(as_jax), first, rtol=2e-4, atol=2e-5)
    np.testing.assert_array_equal(fn(MU, W_V, p), first)  # back to float64, same numbers
