"""Batched, jitted decoding with the key-value cache: beam search, greedy, ancestral sampling.

Outputs exclude BOS, include EOS, and hold PAD after it: (N, ..., max_len) int32. BOS and PAD
are never generated. Each decoder runs ``max_len`` cached steps in one ``lax.scan`` over fixed
shapes, on batches of ``batch_size`` sources (the last padded), so one compiled program serves
any N.

Beam search keeps the ``k`` best partial hypotheses by summed log-probability; a hypothesis
that emitted EOS is finished and extends only by PAD at no cost, so it competes unchanged with
the live ones. The result lists the ``k`` beams by score (finished or not): the summed
log-probability, divided by (number of tokens)**length_penalty when length_penalty > 0.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .model import BOS, EOS, PAD
from .train import _batched, check_tokens

__all__ = ["BeamResult", "beam_search", "greedy_decode", "sample_decode"]

_NEG_INF = -jnp.inf


class BeamResult(NamedTuple):
    tokens: np.ndarray  # (N, k, max_len) int32
    scores: np.ndarray  # (N, k) float32, sorted in decreasing order
    finished: np.ndarray  # (N, k) bool: the beam emitted EOS within max_len


def _check(model, src, max_len, name="max_len"):
    cfg = model.config
    src = check_tokens("src", src, cfg.max_src_len, cfg.src_vocab_size)
    if isinstance(max_len, bool) or not isinstance(max_len, int) or not 1 <= max_len <= \
            cfg.max_tgt_len:
        raise ValueError(f"{name} must be an integer in [1, {cfg.max_tgt_len}]; got {max_len!r}")
    return src


def _forbid_specials(logp):
    """BOS and PAD are never generated."""
    return logp.at[..., BOS].set(_NEG_INF).at[..., PAD].set(_NEG_INF)


def _tile_cache(cache, k):
    """Repeat every source's cache entries k times along the batch axis (axis 1 of the
    stacked per-layer arrays, axis 0 of the bias)."""
    return cache._replace(
        self_k=jnp.repeat(cache.self_k, k, axis=1), self_v=jnp.repeat(cache.self_v, k, axis=1),
        cross_k=jnp.repeat(cache.cross_k, k, axis=1), cross_v=jnp.repeat(cache.cross_v, k, axis=1),
        cross_bias=jnp.repeat(cache.cross_bias, k, axis=0))


@partial(eqx.filter_jit, donate="none")
def _beam_batch(model, src, beam_size, max_len, length_penalty):
    b = src.shape[0]
    k = beam_size
    memory = model.encode(src)
    cache = _tile_cache(model.start_cache(memory, src), k)
    vocab = model.config.tgt_vocab_size
    tokens = jnp.full((b, k, max_len), PAD, jnp.int32)
    # Only the first beam is live at the start, so the k beams never duplicate each other.
    scores = jnp.where(jnp.arange(k) == 0, 0.0, _NEG_INF)[None, :].repeat(b, 0)
    finished = jnp.zeros((b, k), bool)
    last = jnp.full((b * k,), BOS, jnp.int32)
    lengths = jnp.zeros((b, k), jnp.int32)

    def body(carry, pos):
        tokens, scores, finished, last, cache, lengths = carry
        logp, cache = model.step(last, pos, cache)
        logp = _forbid_specials(logp).reshape(b, k, vocab)
        # Finished beams extend only by PAD, at no cost.
        pad_only = jnp.where(jnp.arange(vocab) == PAD, 0.0, _NEG_INF)
        logp = jnp.where(finished[..., None], pad_only, logp)
        total = (scores[..., None] + logp).reshape(b, k * vocab)
        top, flat = jax.lax.top_k(total, k)
        parent, token = flat // vocab, (flat % vocab).astype(jnp.int32)
        gather = lambda a: jnp.take_along_axis(a, parent, axis=1)  # noqa: E731
        was_finished = gather(finished)
        tokens = jnp.take_along_axis(tokens, parent[..., None], axis=1)
        tokens = tokens.at[:, :, pos].set(jnp.where(was_finished, PAD, token))
        lengths = gather(lengths) + (~was_finished).astype(jnp.int32)
        finished = was_finished | (token == EOS)
        rows = (jnp.arange(b)[:, None] * k + parent).reshape(-1)
        cache = cache._replace(self_k=cache.self_k[:, rows], self_v=cache.self_v[:, rows])
        return (tokens, top, finished, token.reshape(-1), cache, lengths), None

    carry = (tokens, scores, finished, last, cache, lengths)
    (tokens, scores, finished, _, _, lengths), _ = jax.lax.scan(
        body, carry, jnp.arange(max_len))
    if length_penalty > 0:
        scores = scores / jnp.maximum(lengths, 1).astype(scores.dtype) ** length_penalty
    order = jnp.argsort(-scores, axis=1)
    return (jnp.take_along_axis(tokens, order[..., None], axis=1),
            jnp.take_along_axis(scores, order, axis=1),
            jnp.take_along_axis(finished, order, axis=1))


def beam_search(model, src, *, beam_size, max_len, batch_size=256,
                length_penalty=0.0) -> BeamResult:
    """The ``beam_size`` best continuations of each source. src (N, Ls) PAD-padded."""
    src = _check(model, src, max_len)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive integer; got {beam_size!r}")
    if not float(length_penalty) >= 0:
        raise ValueError(f"length_penalty must be >= 0; got {length_penalty!r}")
    tokens, scores, finished = _batched(
        lambda s: _beam_batch(model, s, beam_size, max_len, float(length_penalty)), (src,),
        batch_size)
    return BeamResult(tokens.astype(np.int32), scores, finished)


@partial(eqx.filter_jit, donate="none")
def _sample_batch(model, src, key, num_samples, max_len, temperature, greedy):
    b = src.shape[0]
    s = num_samples
    memory = model.encode(src)
    cache = _tile_cache(model.start_cache(memory, src), s)
    last = jnp.full((b * s,), BOS, jnp.int32)
    done = jnp.zeros((b * s,), bool)

    def body(carry, pos):
        last, done, cache, total = carry
        logp, cache = model.step(last, pos, cache)
        logp = _forbid_specials(logp)
        if greedy:
            token = jnp.argmax(logp, axis=-1).astype(jnp.int32)
        else:
            token = jax.random.categorical(jax.random.fold_in(key, pos), logp / temperature,
                                           axis=-1).astype(jnp.int32)
        picked = jnp.take_along_axis(logp, token[:, None], axis=-1)[:, 0]
        out = jnp.where(done, PAD, token)
        total = total + jnp.where(done, 0.0, picked)
        done = done | (token == EOS)
        return (out, done, cache, total), out

    init = (last, done, cache, jnp.zeros((b * s,), memory.dtype))
    (_, _, _, total), out = jax.lax.scan(body, init, jnp.arange(max_len))
    tokens = out.T.reshape(b, s, max_len)
    return tokens, total.reshape(b, s)


def greedy_decode(model, src, *, max_len, batch_size=256) -> np.ndarray:
    """The most likely next token at every step: (N, max_len)."""
    src = _check(model, src, max_len)
    key = jax.random.key(0)  # unused by greedy decoding
    tokens, _ = _batched(lambda s: _sample_batch(model, s, key, 1, max_len, 1.0, True), (src,),
                         batch_size)
    return tokens[:, 0].astype(np.int32)


def sample_decode(model, src, *, key, num_samples, max_len, temperature=1.0, batch_size=256):
    """Ancestral samples at ``temperature``: tokens (N, num_samples, max_len) and the model's
    log-probability of each sample (at temperature 1, the sum over its tokens).

    Source ``i`` of the input uses ``fold_in(key, i)``, so samples do not depend on batching.
    """
    src = _check(model, src, max_len)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer; got {num_samples!r}")
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    n = src.shape[0]
    keys = jax.vmap(lambda i: jax.random.key_data(jax.random.fold_in(key, i)))(jnp.arange(n))
    keys = np.asarray(keys)

    def run(s, kd):
        # One key per source: sample each source's rows with its own stream.
        def one(src_row, key_row):
            return _sample_batch(model, src_row[None], jax.random.wrap_key_data(key_row),
                                 num_samples, max_len, float(temperature), False)

        tokens, logp = jax.vmap(one)(s, kd)
        return tokens[:, 0], logp[:, 0]

    tokens, logp = _batched(run, (src, keys), batch_size)
    return tokens.astype(np.int32), logp
