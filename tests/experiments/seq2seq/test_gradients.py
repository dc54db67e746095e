"""The transformer's written-out backward passes (attention core, layer norm) against two
independent computations: autodiff of the plain formulas, and central finite differences in
float64 (``jax.test_util.check_grads``)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from experiments.seq2seq.model import attention_core, layer_norm


def plain_attention(q, k, v, bias):
    scores = q @ jnp.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]) + bias
    return jax.nn.softmax(scores, axis=-1) @ v


def plain_layer_norm(x, g, b):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(x.var(-1, keepdims=True) + 1e-5) * g + b


def attention_inputs(seed, b, h, lq, lk, dh, bias_kind):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal(s) for s in ((b, h, lq, dh), (b, h, lk, dh), (b, h, lk, dh)))
    if bias_kind == "padding":  # (B, 1, 1, Lk), some keys hidden, never all of a row
        hide = rng.random((b, 1, 1, lk)) < 0.4
        hide[..., 0] = False
        bias = np.where(hide, -1e9, 0.0)
    elif bias_kind == "causal":  # (1, 1, Lq, Lk)
        bias = np.where(np.tril(np.ones((lq, lk), bool)), 0.0, -1e9)[None, None]
    else:  # a dense bias: every entry gets a gradient of its own
        bias = rng.standard_normal((b, h, lq, lk))
    return q, k, v, bias


CASES = [(2, 3, 5, 5, 4, "padding"), (3, 2, 4, 4, 8, "causal"), (2, 2, 3, 6, 4, "dense"),
         (1, 4, 1, 7, 2, "padding")]


@pytest.mark.parametrize("b, h, lq, lk, dh, bias_kind", CASES)
def test_attention_backward_matches_autodiff_and_finite_differences(b, h, lq, lk, dh,
                                                                    bias_kind):
    with jax.enable_x64(True):
        q, k, v, bias = (jnp.asarray(a) for a in attention_inputs(0, b, h, lq, lk, dh,
                                                                  bias_kind))
        np.testing.assert_allclose(attention_core(q, k, v, bias),
                                   plain_attention(q, k, v, bias), rtol=1e-12, atol=1e-12)
        cot = jnp.asarray(np.random.default_rng(1).standard_normal((b, h, lq, dh)))
        argnums = (0, 1, 2, 3)

        def loss(f):
            return lambda *a: jnp.sum(cot * f(*a))

        ours = jax.grad(loss(attention_core), argnums)(q, k, v, bias)
        reference = jax.grad(loss(plain_attention), argnums)(q, k, v, bias)
        for name, a, r in zip("qkvb", ours, reference):
            assert a.shape == r.shape, name
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10, err_msg=name)
        if bias_kind == "dense":  # finite differences need a bias without -1e9 entries
            check_grads(attention_core, (q, k, v, bias), order=1, modes=["rev"])
        else:
            check_grads(lambda q, k, v: attention_core(q, k, v, bias), (q, k, v), order=1,
                        modes=["rev"])


def test_attention_in_float32_stays_close_to_the_float64_gradient():
    """The training precision: the written-out float32 backward is as close to the float64
    gradient as autodiff's float32 backward is."""
    inputs = attention_inputs(2, 4, 4, 9, 9, 8, "padding")
    cot = np.random.default_rng(3).standard_normal((4, 4, 9, 8))

    def grads(f, dtype):
        args = [jnp.asarray(a, dtype) for a in inputs]
        return [np.asarray(g, np.float64) for g in jax.grad(
            lambda q, k, v: jnp.sum(jnp.asarray(cot, dtype) * f(q, k, v, args[3])),
            (0, 1, 2))(*args[:3])]

    with jax.enable_x64(True):
        exact = grads(plain_attention, jnp.float64)
    ours, autodiff = grads(attention_core, jnp.float32), grads(plain_attention, jnp.float32)
    for e, a, r in zip(exact, ours, autodiff):
        scale = np.abs(e).max()
        err_ours = np.abs(a - e).max() / scale
        err_autodiff = np.abs(r - e).max() / scale
        assert err_ours < max(4 * err_autodiff, 1e-6)


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 16), (1, 1, 1, 4)])
def test_layer_norm_backward_matches_autodiff_and_finite_differences(shape):
    rng = np.random.default_rng(sum(shape))
    with jax.enable_x64(True):
        x = jnp.asarray(rng.standard_normal(shape) * 3 + 1)
        g, b = (jnp.asarray(rng.standard_normal(shape[-1])) for _ in range(2))
        np.testing.assert_allclose(layer_norm(x, g, b), plain_layer_norm(x, g, b), rtol=1e-12,
                                   atol=1e-12)
        cot = jnp.asarray(rng.standard_normal(shape))
        ours = jax.grad(lambda *a: jnp.sum(cot * layer_norm(*a)), (0, 1, 2))(x, g, b)
        reference = jax.grad(lambda *a: jnp.sum(cot * plain_layer_norm(*a)), (0, 1, 2))(x, g, b)
        for name, a, r in zip(("x", "g", "b"), ours, reference):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10, err_msg=name)
        check_grads(layer_norm, (x, g, b), order=1, modes=["rev"])
