"""Generators: models that synthesize a label y' for an input x
(docs/theory.md, section 'Model and notation').

A generator maps (key, x (n, d), y (n,)) to labels y' (n,) in {-1, +1}; the true label y is
used only by generators that corrupt it (``flip``). Generators that are themselves trained on
real data (``trained``) are specifications: ``fitted(key, mix)`` draws their training set
and returns the ``Linear`` generator they become.

- ``flip(p)``: y' = -y with probability p, independently of x (uniforms shared across p: a
  sample flipped at rate p is flipped at every larger rate, common random numbers).
- ``linear(w_g, rule="sign")``: y' = sign(x^T w_g) (sign(0) = +1), error rate
  Phi(-mu^T w_g / ||w_g||_Sigma); ``rule="sample"``: y' = +1 with probability sigmoid(x^T w_g).
- ``from_scenario(g)``: the generator a ``theory.scenario`` generator describes.
- ``trained(n_real, lam)``: ``linear`` with w_g the ridge-logistic fit on n_real real samples.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from . import data
from ._checks import (
    check_choice,
    check_nonnegative,
    check_positive_int,
    check_probability,
    check_vector,
)
from .fit import fit

__all__ = ["Flip", "Linear", "Trained", "flip", "linear", "trained", "fit_on_real",
           "from_scenario"]


@dataclasses.dataclass(frozen=True)
class Flip:
    """y' = -y with probability ``p`` (uniforms from ``key``), else y."""

    p: float
    kind = "flip"

    def __post_init__(self):
        object.__setattr__(self, "p", float(check_probability("p", self.p)))

    def labels(self, key, x, y):
        u = data.uniforms(key, y.shape[0], y.dtype)
        return jnp.where(u < self.p, -y, y)

    def params(self) -> dict:
        return {"gen_p": self.p}


@dataclasses.dataclass(frozen=True, eq=False)
class Linear:
    """y' = sign(x^T w_g) (``rule="sign"``; sign(0) counts as +1), or y' = +1 with probability
    sigmoid(x^T w_g) (``rule="sample"``, uniforms from ``key``); w_g (d,)."""

    w_g: jax.Array
    rule: str = "sign"
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "w_g", check_vector("w_g", self.w_g))
        object.__setattr__(self, "rule", check_choice("rule", self.rule, ("sign", "sample")))

    def labels(self, key, x, y):
        margin = x @ self.w_g
        if self.rule == "sample":
            u = data.uniforms(key, y.shape[0], y.dtype)
            return jnp.where(u < jax.nn.sigmoid(margin), 1.0, -1.0).astype(x.dtype)
        return jnp.where(margin >= 0, 1.0, -1.0).astype(x.dtype)

    def params(self) -> dict:
        return {} if self.rule == "sign" else {"gen_rule": self.rule}


@dataclasses.dataclass(frozen=True)
class Trained:
    """A linear generator fitted by ridge-logistic regression on ``n_real`` real samples."""

    n_real: int
    lam: float = 1e-2
    kind = "trained"

    def __post_init__(self):
        object.__setattr__(self, "n_real", check_positive_int("n_real", self.n_real))
        object.__setattr__(self, "lam", float(check_nonnegative("lam", self.lam)))

    def fitted(self, key, mix: data.Mixture) -> Linear:
        """The ``Linear`` generator trained on real samples drawn from ``key``."""
        w, _ = fit_on_real(key, mix, self.n_real, self.lam)
        return Linear(w)

    def params(self) -> dict:
        return {"gen_n_real": self.n_real, "gen_lam": self.lam}


def fit_on_real(keys, mix: data.Mixture, n_real: int, lam: float):
    """Ridge-logistic fit on ``n_real`` true-labelled samples drawn from each key.

    ``keys``: one key or a batch (G,). Returns (w, converged): (d,), () or (G, d), (G,).
    Used by trained generators and supervised verifiers; the draw is prefix-stable in n_real.
    """
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    single = keys.ndim == (0 if typed else 1)  # legacy uint32 keys carry a trailing axis of 2
    batch = keys[None] if single else keys
    x, y = jax.vmap(lambda k: data.sample(k, mix, n_real))(batch)
    res = fit(x, y, None, jnp.asarray(lam, x.dtype))
    w, ok = res.w, res.converged
    return (w[0], ok[0]) if single else (w, ok)


def flip(p) -> Flip:
    return Flip(p)


def linear(w_g, rule="sign") -> Linear:
    return Linear(w_g, rule)


def from_scenario(generator):
    """The simulated generator of a ``theory.scenario`` generator (others are returned as is)."""
    from theory import scenario

    if isinstance(generator, scenario.Flip):
        return Flip(generator.p)
    if isinstance(generator, scenario.LinearGenerator):
        return Linear(generator.w, generator.labels)
    return generator


def trained(n_real, lam=1e-2) -> Trained:
    return Trained(n_real, lam)
