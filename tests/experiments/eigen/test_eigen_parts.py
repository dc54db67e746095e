"""Eigenvalue experiment: encodings, data, metrics and verifiers against independent checks."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.eigen import data, metrics, verifiers
from experiments.eigen.encoding import ENCODINGS, Tokenizer, round3
from experiments.seq2seq import BOS, EOS, PAD

TOKENIZERS = {e: Tokenizer(e, max_dim=6) for e in ENCODINGS}


def three_digits(x: float) -> float:
    """Rounding to three significant digits, computed independently through a string."""
    return float(f"{x:.2e}")


numbers = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False).filter(
    lambda x: x == 0 or abs(x) > 1e-9)


@pytest.mark.parametrize("encoding", ENCODINGS)
@given(values=st.lists(numbers, min_size=1, max_size=6))
def test_vectors_round_trip_to_three_significant_digits(encoding, values):
    tok = TOKENIZERS[encoding]
    if encoding == "FP15" and any(v != 0 and not -12 <= round3(v)[2] <= 4 for v in values):
        with pytest.raises(ValueError, match="out of range"):
            tok.encode_vector(values)
        return
    ids = tok.encode_vector(values)
    assert ids[-1] == EOS
    got = tok.decode_vector(ids)
    np.testing.assert_allclose(got, [three_digits(v) for v in values], rtol=1e-12, atol=0)


@pytest.mark.parametrize("encoding", ENCODINGS)
@given(side=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_matrices_round_trip(encoding, side, seed):
    tok = TOKENIZERS[encoding]
    a = np.random.default_rng(seed).uniform(-10, 10, (side, side))
    got = tok.decode_matrix(tok.encode_matrix(a))
    np.testing.assert_allclose(got, np.vectorize(three_digits)(a), rtol=1e-12)
    assert len(tok.encode_matrix(a)) == tok.matrix_length(side)


@pytest.mark.parametrize("encoding", ENCODINGS)
@given(values=st.lists(st.floats(-50, 50).filter(lambda x: x == 0 or abs(x) > 1e-6),
                      min_size=1, max_size=4), cut=st.integers(0, 30))
def test_malformed_outputs_are_no_answer(encoding, values, cut):
    tok = TOKENIZERS[encoding]
    ids = tok.encode_vector(values)
    # Truncated before EOS: no answer. A foreign token inside: no answer unless it parses.
    assert tok.decode_vector(ids[:min(cut, len(ids) - 1)]) is None
    bad = list(ids)
    bad[1 + (cut % (len(ids) - 2))] = BOS
    assert tok.decode_vector(bad) is None
    wrong_count = [tok.ids[f"V{len(values) % 6 + 1}"]] + ids[1:]
    assert tok.decode_vector(wrong_count) is None
    assert tok.decode_vector([PAD] * 5) is None


def test_encodings_of_the_documented_examples():
    assert [TOKENIZERS["P10"].words[i] for i in TOKENIZERS["P10"].encode_vector([3.14159])] == \
        ["V1", "+", "3", "1", "4", "E-2", "<eos>"]
    p1000 = TOKENIZERS["P1000"]
    assert [p1000.words[i] for i in p1000.encode_vector([-0.0123, 0.0])][1:-1] == \
        ["-", "123", "E-4", "+", "0", "E0"]
    assert [TOKENIZERS["B1999"].words[i] for i in TOKENIZERS["B1999"].encode_vector([3.14159])] \
        == ["V1", "N314", "E-2", "<eos>"]
    assert [TOKENIZERS["FP15"].words[i] for i in TOKENIZERS["FP15"].encode_vector([3.14159])] \
        == ["V1", "N314e-2", "<eos>"]
    assert round3(999.7) == (1, 100, 1) and round3(-1e-3) == (-1, 100, -5)


def test_matrices_are_symmetric_uniform_and_chunk_free():
    key = jax.random.key(0)
    a = data.matrices(key, 2000, 4)
    assert np.array_equal(a, np.swapaxes(a, 1, 2))
    assert a.min() >= -10 and a.max() <= 10
    # Uniform on [-10, 10]: mean 0, variance 100/3 (4-sigma bands over 20000 distinct entries).
    tri = a[:, np.tril_indices(4)[0], np.tril_indices(4)[1]].ravel()
    assert abs(tri.mean()) < 4 * math.sqrt(100 / 3 / tri.size)
    assert abs(tri.var() - 100 / 3) < 4 * math.sqrt(8888.9 / tri.size)
    np.testing.assert_array_equal(data.matrices(key, 10, 4, start=1995)[:5], a[1995:2000])


def test_eigenvalues_match_an_independent_solver():
    a = data.matrices(jax.random.key(1), 50, 5)
    ev = data.eigenvalues(a)
    ref = np.sort(np.linalg.eig(a)[0].real, axis=1)[:, ::-1]
    np.testing.assert_allclose(ev, ref, atol=1e-9)
    assert np.all(np.diff(ev, axis=1) <= 0)
    with pytest.raises(ValueError, match="symmetric"):
        data.eigenvalues(np.array([[1.0, 2.0], [0.0, 1.0]]))


def test_relative_errors_and_accuracies_by_hand():
    truth = np.array([[4.0, -1.0], [2.0, 2.0], [1.0, 0.0]])
    preds = [np.array([4.1, -1.0]), None, np.array([1.0, 0.004])]
    errors = metrics.relative_errors(preds, truth)
    np.testing.assert_allclose(errors, [0.1 / 5, np.inf, 0.004 / 1])
    acc = metrics.accuracies(errors)
    assert acc["acc@5%"] == pytest.approx(2 / 3) and acc["acc@0.5%"] == pytest.approx(1 / 3)
    assert acc["acc@1%"] == pytest.approx(1 / 3) and acc["no_answer"] == pytest.approx(1 / 3)


def _candidates():
    truth = np.array([[3.0, 1.0], [5.0, -2.0], [1.0, 1.0], [2.0, 0.5]])
    preds = np.array([
        [[3.0, 1.0], [9.0, 9.0]],        # top right
        [[4.0, -2.0], [5.0, -2.05]],     # top wrong, second right
        [[np.nan, np.nan], [0.0, 0.0]],  # no answer, wrong
        [[0.0, 0.0], [2.0, 0.5]],        # top wrong, second right
    ])
    errors = np.stack([metrics.relative_errors(list(preds[:, j]), truth) for j in range(2)], 1)
    errors[2, 0] = np.inf
    gen = np.array([[-0.1, -2.0], [-0.2, -0.3], [-5.0, -6.0], [-0.05, -1.0]])
    model = np.array([[-0.3, -1], [-0.9, -1], [-0.1, -1], [-0.2, -1]])
    return verifiers.Candidates(preds, errors, truth, gen, model, 0.05)


def test_verifiers_on_constructed_candidates():
    cand = _candidates()
    key = jax.random.key(0)
    oracle = verifiers.select("oracle", cand, key)
    np.testing.assert_array_equal(oracle.kept, [True, False, False, False])
    best = verifiers.select("best_of_beam", cand, key)
    np.testing.assert_array_equal(best.chosen, [0, 1, 0, 1])
    np.testing.assert_array_equal(best.kept, [True, True, False, True])
    assert verifiers.select("none", cand, key).kept.all()
    # Top 50 % by the second model's score; the unparsable answer scores -inf.
    model = verifiers.select("model:rate=0.5", cand, key)
    np.testing.assert_array_equal(model.kept, [False, False, False, True] | np.array(
        [True, False, False, False]))
    selfv = verifiers.select("self:rate=0.5", cand, key)
    np.testing.assert_array_equal(selfv.kept, [True, False, False, True])
    # A perturbed oracle with no perturbation is the oracle.
    np.testing.assert_array_equal(verifiers.select("perturbed:s=0", cand, key).kept, oracle.kept)
    flip0 = verifiers.select("flip:r=0", cand, key)
    np.testing.assert_array_equal(flip0.kept, oracle.kept)
    flip1 = verifiers.select("flip:r=1", cand, key)
    np.testing.assert_array_equal(flip1.kept, ~oracle.kept)


def test_stricter_oracles_keep_fewer_and_are_rated_against_the_run_tol():
    from simulate.pruners import measure

    cand = _candidates()  # correct at 5 %: (0, 0) exact, (1, 1) 0.71 % off, (3, 1) exact
    key = jax.random.key(0)
    strict = verifiers.select("oracle:tol=0.005", cand, key)
    np.testing.assert_array_equal(strict.kept, [True, False, False, False])
    best = verifiers.select("best_of_beam:tol=0.005", cand, key)
    np.testing.assert_array_equal(best.kept, [True, False, False, True])
    np.testing.assert_array_equal(best.chosen[best.kept], [0, 1])
    rates = measure(jnp.asarray(best.rate_correct), jnp.asarray(best.rate_kept))
    # 2 of the 3 correct candidates kept, no wrong one: phi = 2/3, psi = 0, p* = 1
    assert float(rates.phi) == pytest.approx(2 / 3) and float(rates.psi) == 0.0
    assert float(rates.pstar) == pytest.approx(1.0)
    # at the run's own tol the strict oracles are the plain ones
    loose = verifiers.select("best_of_beam:tol=0.05", cand, key)
    np.testing.assert_array_equal(loose.kept, verifiers.select("best_of_beam", cand, key).kept)


def test_flip_verifier_rates_follow_the_knob():
    m = 20000
    rng = np.random.default_rng(0)
    correct = rng.random(m) < 0.4
    errors = np.where(correct, 0.0, 1.0)[:, None]
    cand = verifiers.Candidates(np.zeros((m, 1, 1)), errors, np.ones((m, 1)),
                                np.zeros((m, 1)), np.zeros((m, 1)), 0.05)
    from simulate.pruners import measure

    for r in (0.1, 0.3):
        sel = verifiers.select(f"flip:r={r}", cand, jax.random.key(3))
        rates = measure(sel.rate_correct, sel.rate_kept)
        se = math.sqrt(r * (1 - r) / (0.4 * m))
        assert abs(float(rates.phi) - (1 - r)) < 4.5 * se
        assert abs(float(rates.pstar) - (1 - r)) < 0.02


@pytest.mark.parametrize("spec, name", [("magic", "unknown verifier"), ("flip:r=2", "out of range"),
                                        ("model", "parameters"), ("random:rate=0", "out of range"),
                                        ("oracle:tol=0", "out of range"),
                                        ("none:tol=0.01", "parameters"),
                                        ("oracle:rate=0.5", "parameters")])
def test_bad_verifier_specs(spec, name):
    with pytest.raises(ValueError, match=name):
        verifiers.check_spec(spec)
