"""Number encodings and tokenisers for matrices and eigenvalue vectors (after Charton's LAWT).

Every number is first rounded to three significant digits, x = s * m * 10**e with a 3-digit
mantissa m in 100..999 (m = 0 for zero, written with e = 0). Encodings of one number:

- P10:   sign, three digit tokens, exponent:   3.14159 -> ``+ 3 1 4 E-2``
- P1000: sign, one mantissa token, exponent:   3.14159 -> ``+ 314 E-2``; -0.0123 -> ``- 123 E-4``
- B1999: signed mantissa token, exponent:      3.14159 -> ``N314 E-2``
- FP15:  one token for the whole number:       3.14159 -> ``N314e-2``

A matrix is ``V<rows> V<cols>`` then its entries row by row; a vector ``V<len>`` then its
entries. Token ids: 0, 1, 2 are PAD, BOS, EOS (``experiments.seq2seq``); the vocabulary of an
encoding is the same for sources and targets. Decoding returns None ("no answer") for any
sequence that does not follow the grammar exactly.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.seq2seq import BOS, EOS, PAD

__all__ = ["ENCODINGS", "Tokenizer", "round3", "tokenizer"]

ENCODINGS = ("P10", "P1000", "B1999", "FP15")
EXPONENTS = range(-30, 31)  # enough for |x| in [1e-28, 1e33)
FP15_EXPONENTS = range(-12, 5)  # one token per (mantissa, exponent): a narrower range


def round3(x: float) -> tuple[int, int, int]:
    """(sign, mantissa in 100..999 or 0, exponent) of x rounded to three significant digits."""
    if not math.isfinite(x):
        raise ValueError(f"cannot encode {x!r}")
    if x == 0:
        return 1, 0, 0
    sign = 1 if x > 0 else -1
    a = abs(x)
    e = math.floor(math.log10(a)) - 2
    m = round(a / 10.0 ** e)
    if m >= 1000:  # 999.6 rounds up to the next decade
        m, e = m // 10, e + 1
    if m < 100:  # log10 rounding at an exact power of ten
        m, e = m * 10, e - 1
    return sign, int(m), int(e)


def value(sign: int, m: int, e: int) -> float:
    return float(sign * m * 10.0 ** e) if m else 0.0


class Tokenizer:
    """Encode/decode matrices and vectors in one encoding. ``max_dim`` bounds the sizes."""

    def __init__(self, encoding: str = "P1000", max_dim: int = 10):
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}; got {encoding!r}")
        if isinstance(max_dim, bool) or not isinstance(max_dim, int) or max_dim < 1:
            raise ValueError(f"max_dim must be a positive integer; got {max_dim!r}")
        self.encoding = encoding
        self.max_dim = max_dim
        words = [f"V{i}" for i in range(1, max_dim + 1)]
        if encoding == "P10":
            words += ["+", "-"] + [str(i) for i in range(10)] + [f"E{e}" for e in EXPONENTS]
        elif encoding == "P1000":
            words += ["+", "-"] + [str(i) for i in range(1000)] + [f"E{e}" for e in EXPONENTS]
        elif encoding == "B1999":
            words += [f"N{i}" for i in range(-999, 1000)] + [f"E{e}" for e in EXPONENTS]
        else:
            words += [f"N{i}e{e}" for i in range(-999, 1000) for e in FP15_EXPONENTS
                      if i or e == 0]
        self.words = ["<pad>", "<bos>", "<eos>"] + words
        self.ids = {w: i for i, w in enumerate(self.words)}

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def tokens_per_number(self) -> int:
        return {"P10": 5, "P1000": 3, "B1999": 2, "FP15": 1}[self.encoding]

    def number_words(self, x: float) -> list[str]:
        s, m, e = round3(float(x))
        if self.encoding == "P10":
            digits = f"{m:03d}"
            return ["+" if s > 0 else "-", *digits, f"E{e}"]
        if self.encoding == "P1000":
            return ["+" if s > 0 else "-", str(m), f"E{e}"]
        if self.encoding == "B1999":
            return [f"N{s * m}", f"E{e}"]
        return [f"N{s * m}e{e}"]

    def _ids(self, words):
        try:
            return [self.ids[w] for w in words]
        except KeyError as err:
            raise ValueError(f"{self.encoding} cannot represent the token {err.args[0]!r} "
                             f"(number out of range)") from None

    def encode_matrix(self, a) -> list[int]:
        a = np.asarray(a, float)
        if a.ndim != 2 or not 1 <= a.shape[0] <= self.max_dim or not 1 <= a.shape[1] <= \
                self.max_dim:
            raise ValueError(f"matrix must be 2-D with sides in [1, {self.max_dim}]; got shape "
                             f"{a.shape}")
        words = [f"V{a.shape[0]}", f"V{a.shape[1]}"]
        for x in a.ravel():
            words += self.number_words(x)
        return self._ids(words)

    def encode_vector(self, v) -> list[int]:
        """Vector ids followed by EOS (a decoder target)."""
        v = np.asarray(v, float)
        if v.ndim != 1 or not 1 <= v.shape[0] <= self.max_dim:
            raise ValueError(f"vector must be 1-D with length in [1, {self.max_dim}]; got "
                             f"shape {v.shape}")
        words = [f"V{v.shape[0]}"]
        for x in v:
            words += self.number_words(x)
        return self._ids(words) + [EOS]

    def _read_numbers(self, words, count):
        """``count`` numbers from the start of ``words``; None if malformed."""
        out, i, k = [], 0, self.tokens_per_number
        for _ in range(count):
            chunk = words[i:i + k]
            if len(chunk) < k:
                return None
            x = self._parse_number(chunk)
            if x is None:
                return None
            out.append(x)
            i += k
        return out, i

    def _parse_number(self, chunk):
        try:
            if self.encoding in ("P10", "P1000"):
                sign_word, *mant, exp = chunk
                if sign_word not in ("+", "-") or not exp.startswith("E"):
                    return None
                if self.encoding == "P10":
                    if not all(len(d) == 1 and d.isdigit() for d in mant):
                        return None
                    m = int("".join(mant))
                else:
                    if not mant[0].isdigit():
                        return None
                    m = int(mant[0])
                s = 1 if sign_word == "+" else -1
                e = int(exp[1:])
            elif self.encoding == "B1999":
                mant, exp = chunk
                if not (mant.startswith("N") and exp.startswith("E")):
                    return None
                sm, e = int(mant[1:]), int(exp[1:])
                s, m = (1 if sm >= 0 else -1), abs(sm)
            else:
                word = chunk[0]
                if not word.startswith("N") or "e" not in word:
                    return None
                mant, exp = word[1:].split("e")
                sm, e = int(mant), int(exp)
                s, m = (1 if sm >= 0 else -1), abs(sm)
        except ValueError:
            return None
        if m != 0 and not 100 <= m <= 999:
            return None
        if m == 0 and e != 0:
            return None
        return value(s, m, e)

    def words_of(self, ids) -> list[str] | None:
        """Words up to (not including) the first EOS or PAD; None on BOS or an unknown id."""
        words = []
        for t in ids:
            t = int(t)
            if t in (EOS, PAD):
                break
            if t == BOS or not 0 <= t < len(self.words):
                return None
            words.append(self.words[t])
        return words

    def decode_vector(self, ids) -> np.ndarray | None:
        """Eigenvalue vector from decoder output ids (EOS-terminated); None if malformed."""
        ids = [int(t) for t in ids]
        if EOS not in ids:
            return None
        words = self.words_of(ids)
        if not words or not words[0].startswith("V"):
            return None
        try:
            n = int(words[0][1:])
        except ValueError:
            return None
        got = self._read_numbers(words[1:], n)
        if got is None or got[1] != len(words) - 1:
            return None
        return np.array(got[0])

    def decode_matrix(self, ids) -> np.ndarray | None:
        words = self.words_of(ids)
        if not words or len(words) < 2 or not all(w.startswith("V") for w in words[:2]):
            return None
        try:
            r, c = int(words[0][1:]), int(words[1][1:])
        except ValueError:
            return None
        got = self._read_numbers(words[2:], r * c)
        if got is None or got[1] != len(words) - 2:
            return None
        return np.array(got[0]).reshape(r, c)

    def pad(self, sequences, length) -> np.ndarray:
        """(N, length) int32, PAD-filled; ValueError if a sequence is longer."""
        out = np.full((len(sequences), length), PAD, np.int32)
        for i, s in enumerate(sequences):
            if len(s) > length:
                raise ValueError(f"sequence {i} has {len(s)} tokens > {length}")
            out[i, :len(s)] = s
        return out

    def matrix_length(self, d: int) -> int:
        return 2 + d * d * self.tokens_per_number

    def vector_length(self, d: int) -> int:
        return 1 + d * self.tokens_per_number + 1  # V<d>, numbers, EOS


def tokenizer(encoding: str = "P1000", max_dim: int = 10) -> Tokenizer:
    return Tokenizer(encoding, max_dim)
