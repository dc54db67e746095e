"""Precision follows the caller: NumPy or Python input is computed in float64 and returned as
NumPy; JAX input stays in the caller's dtype. No library call changes JAX's global x64 setting
(the float64 paths use the scoped, thread-local ``jax.enable_x64`` context, restored on exit)."""

import threading

import jax
import jax.numpy as jnp
import numpy as np

import simulate
import theory
from simulate import generators
from theory import label_only, linear_verifier


def _default_float():
    return jnp.zeros(()).dtype


def test_numpy_in_float64_out_and_the_global_flag_untouched():
    before = jax.config.jax_enable_x64
    mu = np.array([1.2, 0.0])
    assert isinstance(theory.pstar(0.9, 0.3), float) or np.asarray(theory.pstar(0.9, 0.3)).dtype == np.float64
    acc = label_only.limit_accuracy(np.array([0.1, 0.6]), 0.9, 0.3, mu, 0.1)
    assert isinstance(acc, np.ndarray) and acc.dtype == np.float64
    phi, _ = linear_verifier.keep_rates(mu, np.array([np.cos(0.9), np.sin(0.9)]))
    assert np.asarray(phi).dtype == np.float64
    table = simulate.run(mu, 40, generators=generators.flip(0.2), seeds=1, with_theory=False)
    assert isinstance(table.column("accuracy")[0], np.floating)
    assert jax.config.jax_enable_x64 == before
    assert _default_float() == (jnp.float64 if before else jnp.float32)


def test_jax_input_keeps_the_callers_dtype():
    if jax.config.jax_enable_x64:  # the suite runs with the default (x64 off)
        return
    p = jnp.asarray([0.1, 0.6], jnp.float32)
    out = label_only.limit_accuracy(p, 0.9, 0.3, jnp.asarray([1.2, 0.0], jnp.float32), 0.1,
                                    loss="square")
    assert isinstance(out, jax.Array) and out.dtype == jnp.float32
    assert theory.pstar(jnp.float32(0.9), jnp.float32(0.3)).dtype == jnp.float32


def test_a_float64_call_in_one_thread_leaves_another_threads_precision_alone():
    if jax.config.jax_enable_x64:
        return
    inside, release, seen = threading.Event(), threading.Event(), []

    def worker():
        with jax.enable_x64(True):  # what numpy_or_jax does around a NumPy call
            inside.set()
            release.wait(30)
            seen.append(jnp.zeros(()).dtype)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(30)
    here = _default_float()
    release.set()
    thread.join(30)
    assert here == jnp.float32 and seen == [jnp.float64]
