"""A word-level tokenizer for the JAX backend: whitespace-separated, lower-cased words.

Ids 0, 1, 2 are PAD, BOS, EOS (``experiments.seq2seq``), 3 is UNK; the rest is the vocabulary,
built from a corpus (``WordTokenizer.fit``) or given as a list.
"""

from __future__ import annotations

import numpy as np

from experiments.seq2seq import EOS, PAD

__all__ = ["WordTokenizer"]

UNK = 3


class WordTokenizer:
    def __init__(self, words):
        words = list(dict.fromkeys(words))
        self.words = ["<pad>", "<bos>", "<eos>", "<unk>"] + [w for w in words if w not in (
            "<pad>", "<bos>", "<eos>", "<unk>")]
        self.ids = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def fit(cls, texts, min_count=1):
        counts = {}
        for t in texts:
            for w in t.lower().split():
                counts[w] = counts.get(w, 0) + 1
        return cls(sorted(w for w, c in counts.items() if c >= min_count))

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text, *, eos=False) -> list[int]:
        ids = [self.ids.get(w, UNK) for w in text.lower().split()]
        return ids + [EOS] if eos else ids

    def decode(self, ids) -> str:
        words = []
        for t in ids:
            t = int(t)
            if t in (EOS, PAD):
                break
            if 3 < t < len(self.words):
                words.append(self.words[t])
            elif t == UNK:
                words.append("<unk>")
        return " ".join(words)

    def batch(self, texts, length, *, eos=False) -> np.ndarray:
        """(N, length) int32, PAD-filled; texts longer than ``length`` are cut (EOS kept)."""
        out = np.full((len(texts), length), PAD, np.int32)
        for i, t in enumerate(texts):
            ids = self.encode(t, eos=eos)
            if len(ids) > length:
                ids = ids[:length - 1] + [EOS] if eos else ids[:length]
            out[i, :len(ids)] = ids
        return out
