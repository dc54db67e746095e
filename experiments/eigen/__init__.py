"""The eigenvalue experiment (EXPERIMENTS.md): a transformer learns the eigenvalues of symmetric
matrices, its beam-search answers train new models, and verification decides whether they beat
the generator. ``pipeline.run(presets.preset("quick"), out)``, or ``beyond-collapse eigen``."""

from . import data, encoding, metrics, pipeline, presets, verifiers

__all__ = ["data", "encoding", "metrics", "pipeline", "presets", "verifiers"]
