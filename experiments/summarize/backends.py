"""Model backends: generate candidate summaries and score summaries by likelihood.

- ``JaxBackend``: the project's JAX encoder-decoder (``experiments.seq2seq``) with a word-level
  tokenizer, trained from scratch: the default on a CPU.
- ``HFBackend``: any Hugging Face ``transformers`` model a user has locally, causal (prompt +
  summary) or sequence-to-sequence; loaded with ``local_files_only=True`` (nothing is
  downloaded). Optional: ``pip install 'beyond-collapse[hf]'``.

Both expose ``generate(texts, k, key=...) -> (candidates: list of k texts per input, scores
(N, k))`` and ``score(texts, summaries) -> (N,)``, the length-normalised log-likelihood
(mean log-probability per summary token, EOS included).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from experiments import seq2seq

from .tokenizer import WordTokenizer

__all__ = ["JaxBackend", "HFBackend"]


class JaxBackend:
    """A JAX seq2seq summarizer. ``model`` is None until ``train`` or ``load``."""

    def __init__(self, tokenizer: WordTokenizer, max_src_len: int, max_tgt_len: int,
                 model_kwargs: dict | None = None, model=None):
        self.tokenizer = tokenizer
        self.config = seq2seq.ModelConfig(
            src_vocab_size=tokenizer.vocab_size, tgt_vocab_size=tokenizer.vocab_size,
            max_src_len=max_src_len, max_tgt_len=max_tgt_len, **(model_kwargs or {}))
        self.model = model

    def _need_model(self):
        if self.model is None:
            raise ValueError("the backend has no model yet: train or load one")

    def pairs(self, texts, summaries):
        src = self.tokenizer.batch(texts, self.config.max_src_len)
        tgt = self.tokenizer.batch(summaries, self.config.max_tgt_len, eos=True)
        return src, tgt

    def train(self, texts, summaries, *, key, train_config: dict, weights=None,
              checkpoint_dir=None, progress=True):
        src, tgt = self.pairs(texts, summaries)
        res = seq2seq.train(self.config, seq2seq.TrainConfig(**train_config), src, tgt, key=key,
                            weights=weights, checkpoint_dir=checkpoint_dir, progress=progress)
        self.model = res.model
        return self

    def save(self, path, extra=None):
        self._need_model()
        seq2seq.save_checkpoint(path, self.model, self.config,
                                {"words": self.tokenizer.words, **(extra or {})})

    @classmethod
    def load(cls, path):
        model, config, extra = seq2seq.load_checkpoint(path)
        tok = WordTokenizer(extra["words"][4:])
        backend = cls(tok, config.max_src_len, config.max_tgt_len, model=model)
        backend.config = config
        return backend

    def score(self, texts, summaries) -> np.ndarray:
        self._need_model()
        src, tgt = self.pairs(texts, summaries)
        ll, n = seq2seq.log_likelihood(self.model, src, tgt)
        return ll / np.maximum(n, 1)

    def generate(self, texts, k, *, key, method="sample", temperature=1.0):
        """k candidates per text: ancestral samples (``method="sample"``) or the beam."""
        self._need_model()
        src = self.tokenizer.batch(texts, self.config.max_src_len)
        max_len = self.config.max_tgt_len
        if method == "sample":
            tokens, logp = seq2seq.sample_decode(self.model, src, key=key, num_samples=k,
                                                 max_len=max_len, temperature=temperature)
        elif method == "beam":
            res = seq2seq.beam_search(self.model, src, beam_size=k, max_len=max_len)
            tokens, logp = res.tokens, res.scores
        else:
            raise ValueError(f"method must be 'sample' or 'beam'; got {method!r}")
        lengths = np.maximum((tokens != seq2seq.PAD).sum(-1), 1)
        texts_out = [[self.tokenizer.decode(t) for t in row] for row in tokens]
        return texts_out, logp / lengths

    def greedy(self, texts) -> list[str]:
        self._need_model()
        src = self.tokenizer.batch(texts, self.config.max_src_len)
        out = seq2seq.greedy_decode(self.model, src, max_len=self.config.max_tgt_len)
        return [self.tokenizer.decode(t) for t in out]


class HFBackend:
    """A local Hugging Face model as generator and scorer.

    ``kind``: "causal" (the summary follows ``prompt.format(text=...)``) or "seq2seq" (the
    article is the encoder input); inferred from the model's config when not given.
    """

    def __init__(self, model, tokenizer, *, kind=None, prompt="{text}\nSummary:",
                 max_new_tokens=64, device="cpu"):
        import torch  # noqa: F401  (fail early without the optional dependency)

        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.kind = kind or ("seq2seq" if getattr(model.config, "is_encoder_decoder", False)
                             else "causal")
        if self.kind not in ("causal", "seq2seq"):
            raise ValueError(f"kind must be 'causal' or 'seq2seq'; got {kind!r}")
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.device = device
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """Load a model and tokenizer from a local directory (never from a hub)."""
        from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM,
                                  AutoTokenizer)

        path = Path(path)
        if not path.exists():
            raise ValueError(f"{path}: no such model directory (models are never downloaded)")
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        model = auto.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return cls(model, tokenizer, **kwargs)

    def _summary_ids(self, summary):
        ids = self.tokenizer(summary, add_special_tokens=False)["input_ids"]
        return ids + [self.tokenizer.eos_token_id]

    def score(self, texts, summaries) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for text, summary in zip(texts, summaries):
                target = self._summary_ids(summary)
                if self.kind == "causal":
                    prompt = self.tokenizer(self.prompt.format(text=text))["input_ids"]
                    ids = torch.tensor([prompt + target], device=self.device)
                    logits = self.model(input_ids=ids).logits[0, len(prompt) - 1:-1]
                else:
                    enc = self.tokenizer(text, return_tensors="pt").to(self.device)
                    labels = torch.tensor([target], device=self.device)
                    logits = self.model(**enc, labels=labels).logits[0]
                logp = torch.log_softmax(logits.float(), -1)
                picked = logp[torch.arange(len(target)), torch.tensor(target)]
                out.append(float(picked.mean()))
        return np.array(out)

    def generate(self, texts, k, *, key, method="sample", temperature=1.0):
        import torch

        seed = int(np.asarray(jax.random.key_data(key)).ravel()[-1])
        candidates = []
        for i, text in enumerate(texts):
            torch.manual_seed(seed + i)
            source = self.prompt.format(text=text) if self.kind == "causal" else text
            enc = self.tokenizer(source, return_tensors="pt").to(self.device)
            gen = self.model.generate(
                **enc, do_sample=method == "sample", num_beams=1 if method == "sample" else k,
                num_return_sequences=k, temperature=temperature,
                max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id)
            start = enc["input_ids"].shape[1] if self.kind == "causal" else 0
            candidates.append([self.tokenizer.decode(g[start:], skip_special_tokens=True).strip()
                               for g in gen])
        flat_texts = [t for t, cands in zip(texts, candidates) for _ in cands]
        flat = [c for cands in candidates for c in cands]
        scores = self.score(flat_texts, flat).reshape(len(texts), k)
        return candidates, scores
