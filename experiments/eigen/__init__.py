"""The eigenvalue experiment: a transformer learns the eigenvalues of symmetric matrices, its
beam-search answers train new models, and verification decides whether they beat the
generator (docs/experiments.md, section 'Eigenvalues').
``pipeline.run(presets.preset("quick"), out)``, or ``beyond-collapse eigen``."""

from . import data, encoding, metrics, pipeline, presets, verifiers

__all__ = ["data", "encoding", "metrics", "pipeline", "presets", "verifiers"]
