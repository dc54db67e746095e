"""The Hugging Face backend on tiny randomly initialised models built from configs, with a
tokenizer built here: nothing is downloaded."""

from __future__ import annotations

import jax
import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from experiments.summarize.backends import HFBackend  # noqa: E402

WORDS = ["mayor", "vale", "opened", "a", "school", "in", "orton", ".", "and", "closed",
         "factory", "summary:"]


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>",
                                                eos_token="</s>", unk_token="<unk>")


def _causal():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=len(WORDS) + 3, n_positions=64, n_embd=32,
                                  n_layer=2, n_head=2, eos_token_id=1, bos_token_id=1,
                                  pad_token_id=0)
    return transformers.GPT2LMHeadModel(cfg)


def _seq2seq():
    torch.manual_seed(0)
    cfg = transformers.T5Config(vocab_size=len(WORDS) + 3, d_model=32, d_ff=64, num_layers=2,
                                num_heads=2, d_kv=16, decoder_start_token_id=0,
                                eos_token_id=1, pad_token_id=0)
    return transformers.T5ForConditionalGeneration(cfg)


TEXTS = ["mayor vale opened a school in orton .", "mayor vale closed a factory ."]
SUMMARIES = ["mayor vale opened a school", "closed a factory"]


def test_causal_scores_match_the_models_own_loss():
    tok = _tokenizer()
    backend = HFBackend(_causal(), tok, prompt="{text} summary:")
    got = backend.score(TEXTS, SUMMARIES)
    for text, summary, value in zip(TEXTS, SUMMARIES, got):
        prompt = tok(f"{text} summary:")["input_ids"]
        target = tok(summary, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = torch.tensor([prompt + target])
        labels = torch.tensor([[-100] * len(prompt) + target])
        with torch.no_grad():
            loss = backend.model(input_ids=ids, labels=labels).loss
        assert value == pytest.approx(-float(loss), rel=1e-5)


def test_seq2seq_scores_match_the_models_own_loss():
    tok = _tokenizer()
    backend = HFBackend(_seq2seq(), tok)
    assert backend.kind == "seq2seq"
    got = backend.score(TEXTS, SUMMARIES)
    for text, summary, value in zip(TEXTS, SUMMARIES, got):
        enc = tok(text, return_tensors="pt")
        labels = torch.tensor([tok(summary, add_special_tokens=False)["input_ids"]
                               + [tok.eos_token_id]])
        with torch.no_grad():
            loss = backend.model(**enc, labels=labels).loss
        assert value == pytest.approx(-float(loss), rel=1e-5)


@pytest.mark.parametrize("make", [_causal, _seq2seq])
def test_generate_gives_k_scored_candidates(make):
    backend = HFBackend(make(), _tokenizer(), max_new_tokens=6)
    cands, scores = backend.generate(TEXTS, 3, key=jax.random.key(0))
    assert [len(c) for c in cands] == [3, 3] and scores.shape == (2, 3)
    flat_texts = [t for t in TEXTS for _ in range(3)]
    np.testing.assert_allclose(scores.ravel(), backend.score(flat_texts, sum(cands, [])),
                               rtol=1e-6)


def test_local_loading_never_downloads(tmp_path):
    model, tok = _causal(), _tokenizer()
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    backend = HFBackend.from_pretrained(tmp_path / "tiny")
    assert backend.kind == "causal"
    with pytest.raises(ValueError, match="never downloaded"):
        HFBackend.from_pretrained(tmp_path / "meta-llama-not-here")
