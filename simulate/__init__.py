"""Simulations of training on verified synthesized data (arXiv 2406.07515; docs/theory.md).

Draw real and synthesized data from the Gaussian mixture x | y ~ N(y mu, Sigma), label it with a
generator, prune it with a verifier, fit a ridge classifier and score it exactly, over grids of
parameters and seeds, beside the n -> inf predictions of ``theory/``.

- ``run``: sweeps, returning a tidy ``Table`` (one row per grid point and seed).
- ``fit``: batched ridge-logistic / ridge-square fits sharing features (one compiled L-BFGS loop).
- ``selection``: the one selection interface (``select(key, scores, correct=, groups=)``) of
  every setting, and ``measure``: p, phi, psi, p* of any selection.
- ``generators``, ``pruners``: the simulations' generators and pruners (selectors).
- ``testing``: hypothesis strategies and checks of any selector against the theory (needs
  ``hypothesis`` for the strategies).
- ``generations.generations``: model collapse over generations (each model the next generator).
- ``sweep``: sweep files (TOML) run into a resumable store, locally or on Dask.
- ``specs``: generators and pruners from spec strings (``flip:p=0.1``).
- ``data``: the mixture, prefix-stable sampling, exact accuracy.
"""

from . import data, generations, generators, pruners, selection, specs, sweep
from .fit import FitResult, fit
from .selection import measure
from .run import run
from .table import Table

__all__ = ["run", "fit", "FitResult", "Table", "measure", "data", "generators", "pruners", "specs",
           "sweep", "generations", "selection"]
