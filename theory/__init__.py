"""Closed-form theory of training on verified synthesized data (arXiv 2406.07515).

Binary Gaussian mixture ``x | y ~ N(y mu, Sigma)``, a generator that mislabels at rate ``p``, a
verifier that keeps correct samples at rate ``phi`` and wrong ones at rate ``psi``, and a
ridge-regularised linear classifier trained on what is kept. The model:
docs/theory.md, section 'Model and notation'.
"""

from . import finite, label_only, linear_generator, linear_verifier, scenario
from .estimate import PstarEstimate, estimate_pstar
from .gaussian import bayes_accuracy, linear_accuracy
from .proxy import kept_mass, pstar, selected_error_rate, signed_signal

__all__ = [
    "pstar",
    "selected_error_rate",
    "kept_mass",
    "signed_signal",
    "bayes_accuracy",
    "linear_accuracy",
    "estimate_pstar",
    "PstarEstimate",
    "label_only",
    "linear_verifier",
    "finite",
    "linear_generator",
    "scenario",
]
