"""The shared transformer: cached decoding, beam search against brute force, sampling against
the model's own distribution, training, weights and bit-identical resumption."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from experiments.seq2seq import (BOS, EOS, PAD, ModelConfig, Seq2Seq, TrainConfig, beam_search,
                                 greedy_decode, load_checkpoint, log_likelihood, sample_decode,
                                 save_checkpoint, train)
from experiments.seq2seq.train import teacher_inputs

TINY = ModelConfig(src_vocab_size=7, tgt_vocab_size=6, max_src_len=4, max_tgt_len=3,
                   d_model=16, n_heads=2, enc_layers=1, dec_layers=2)


def tiny_model(seed=0, scale=3.0):
    """A random model with sharp-ish distributions (its output layer scaled up)."""
    import equinox as eqx

    model = Seq2Seq(TINY, key=jax.random.key(seed))
    return eqx.tree_at(lambda m: m.out.w, model, model.out.w * scale)


SRC = np.array([[3, 4, 5, 6], [6, 5, 0, 0], [3, 3, 3, 0]], np.int32)


def test_cached_steps_equal_the_teacher_forced_pass():
    model = tiny_model()
    tgt = np.array([[3, 4, EOS], [5, EOS, PAD], [4, 4, 5]], np.int32)
    full = jax.nn.log_softmax(model(jnp.asarray(SRC), teacher_inputs(jnp.asarray(tgt))), -1)
    cache = model.start_cache(model.encode(jnp.asarray(SRC)), jnp.asarray(SRC))
    last = jnp.full((3,), BOS, jnp.int32)
    for pos in range(3):
        logp, cache = model.step(last, jnp.asarray(pos), cache)
        np.testing.assert_allclose(logp, full[:, pos], atol=2e-5)
        last = jnp.asarray(tgt[:, pos])


def _all_sequences():
    """Every output of max_len 3 over the generable tokens {3, 4, 5, EOS}, PAD after EOS."""
    out = []
    for length in (1, 2, 3):
        for body in itertools.product((3, 4, 5), repeat=length - 1):
            out.append(list(body) + [EOS] + [PAD] * (3 - length))
    out += [list(s) for s in itertools.product((3, 4, 5), repeat=3)]  # unfinished
    return np.array(out, np.int32)


def test_wide_beam_search_is_exact_and_beam_one_is_greedy():
    model = tiny_model(1)
    seqs = _all_sequences()  # 13 finished + 27 unfinished
    beams = beam_search(model, SRC, beam_size=48, max_len=3)
    for i in range(len(SRC)):
        ll, _ = log_likelihood(model, np.repeat(SRC[i:i + 1], len(seqs), 0), seqs)
        order = np.argsort(-ll)
        valid = np.isfinite(beams.scores[i])
        assert valid.sum() == len(seqs)
        np.testing.assert_allclose(beams.scores[i][valid], ll[order], rtol=1e-5, atol=1e-5)
        got = {tuple(t) for t in beams.tokens[i][valid]}
        assert got == {tuple(s) for s in seqs}
        np.testing.assert_array_equal(beams.finished[i][valid],
                                      [EOS in seqs[j] for j in order])
    greedy = greedy_decode(model, SRC, max_len=3)
    np.testing.assert_array_equal(beam_search(model, SRC, beam_size=1, max_len=3).tokens[:, 0],
                                  greedy)


def test_samples_follow_the_model():
    model = tiny_model(2, scale=1.0)
    src = SRC[:1]
    n = 4000
    tokens, logp = sample_decode(model, src, key=jax.random.key(5), num_samples=n, max_len=3)
    first = tokens[0, :, 0]
    probs = np.exp(np.asarray(jax.nn.log_softmax(model(jnp.asarray(src),
                                                       jnp.full((1, 1), BOS)), -1),
                              np.float64))[0, 0]
    probs[[PAD, BOS]] = 0.0  # renormalised in float64: chisquare wants the totals equal
    probs /= probs.sum()
    generable = [3, 4, 5, EOS]
    counts = np.array([(first == t).sum() for t in generable])
    chi2 = stats.chisquare(counts, n * probs[generable])
    assert chi2.pvalue > 1e-4
    ll, _ = log_likelihood(model, np.repeat(src, 50, 0), tokens[0, :50])
    np.testing.assert_allclose(logp[0, :50], ll, rtol=1e-5, atol=1e-5)
    # The samples of a source do not depend on which sources are decoded with it.
    again, _ = sample_decode(model, SRC, key=jax.random.key(5), num_samples=n, max_len=3,
                             batch_size=2)
    np.testing.assert_array_equal(again[0], tokens[0])


def _reverse_task(n, rng):
    src = rng.integers(3, 9, (n, 4)).astype(np.int32)
    tgt = np.concatenate([src[:, ::-1], np.full((n, 1), EOS)], 1).astype(np.int32)
    return src, tgt


CFG = ModelConfig(src_vocab_size=9, tgt_vocab_size=9, max_src_len=4, max_tgt_len=5,
                  d_model=32, n_heads=2, enc_layers=1, dec_layers=1)


def test_training_learns_a_deterministic_map():
    src, tgt = _reverse_task(1500, np.random.default_rng(0))
    res = train(CFG, TrainConfig(steps=300, batch_size=64, lr=3e-3, warmup=30), src, tgt,
                key=jax.random.key(0), progress=False)
    test_src, test_tgt = _reverse_task(300, np.random.default_rng(1))
    out = greedy_decode(res.model, test_src, max_len=5)
    assert (out == test_tgt).all(axis=1).mean() > 0.95
    assert res.losses[-20:].mean() < 0.1 * res.losses[:20].mean()


def test_batches_follow_the_weights():
    """Batch indices: zero weights are never drawn, the rest in proportion to their weight."""
    from experiments.seq2seq.train import batch_indices

    weights = np.array([0.0, 1.0, 3.0, 0.0, 2.0, 2.0])
    probs = jnp.asarray(weights / weights.sum())
    key = jax.random.key(7)
    idx = np.concatenate([np.asarray(batch_indices(key, t, probs, 64)) for t in range(100)])
    counts = np.bincount(idx, minlength=6)
    assert counts[0] == counts[3] == 0
    kept = weights > 0
    assert stats.chisquare(counts[kept], len(idx) * weights[kept] / weights.sum()).pvalue > 1e-4
    # Each step's draw depends only on (key, step).
    np.testing.assert_array_equal(batch_indices(key, 5, probs, 64), idx[5 * 64:6 * 64])


def test_resume_is_bit_identical_and_checks_the_run(tmp_path):
    src, tgt = _reverse_task(300, np.random.default_rng(4))
    tc = TrainConfig(steps=40, batch_size=16, lr=1e-3, warmup=5, checkpoint_every=15)
    full = train(CFG, tc, src, tgt, key=jax.random.key(2), progress=False)
    ckpt = tmp_path / "run"
    # Interrupt after the step-30 checkpoint by raising from eval_fn.

    class Stop(Exception):
        pass

    def stop_at_30(model, step):
        if step == 30:
            raise Stop
        return {}

    with pytest.raises(Stop):
        train(CFG, tc, src, tgt, key=jax.random.key(2), checkpoint_dir=ckpt,
              progress=False, eval_fn=stop_at_30)
    seen = []  # checkpoint steps of the resumed run: it starts after step 30, not from 0
    resumed = train(CFG, tc, src, tgt, key=jax.random.key(2), checkpoint_dir=ckpt,
                    progress=False, eval_fn=lambda model, step: seen.append(step) or {})
    assert seen == [40]
    leaves_a = jax.tree_util.tree_leaves(full.model)
    leaves_b = jax.tree_util.tree_leaves(resumed.model)
    assert all(np.array_equal(a, b) for a, b in zip(leaves_a, leaves_b))
    np.testing.assert_array_equal(full.losses, resumed.losses)
    # A checkpoint resumes only the run that wrote it: another key, or another step count.
    with pytest.raises(ValueError, match="another run"):
        train(CFG, tc, src, tgt, key=jax.random.key(3), checkpoint_dir=ckpt, progress=False)
    longer = TrainConfig(**{**tc.to_dict(), "steps": 50})
    with pytest.raises(ValueError, match="another run"):
        train(CFG, longer, src, tgt, key=jax.random.key(2), checkpoint_dir=ckpt, progress=False)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model(4)
    save_checkpoint(tmp_path / "m.eqx", model, TINY, {"note": "x"})
    loaded, config, extra = load_checkpoint(tmp_path / "m.eqx")
    assert config == TINY and extra == {"note": "x"}
    for a, b in zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(loaded)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no complete checkpoint"):
        load_checkpoint(tmp_path / "missing.eqx")


@pytest.mark.parametrize("call, name", [
    (lambda m: beam_search(m, SRC, beam_size=0, max_len=3), "beam_size"),
    (lambda m: beam_search(m, SRC, beam_size=2, max_len=9), "max_len"),
    (lambda m: greedy_decode(m, SRC.astype(float), max_len=2), "src"),
    (lambda m: sample_decode(m, SRC, key=jax.random.key(0), num_samples=2, max_len=2,
                             temperature=0), "temperature"),
    (lambda m: log_likelihood(m, SRC, np.zeros((2, 3), np.int32)), "same number of rows"),
    (lambda m: TrainConfig(steps=-1), "steps"),
    (lambda m: ModelConfig(5, 5, 4, 4, d_model=30, n_heads=4), "d_model"),
])
def test_bad_input_is_named(call, name):
    with pytest.raises(ValueError, match=name):
        call(tiny_model())
