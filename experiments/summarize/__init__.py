"""The summarization adapter: XLSUM records, ROUGE, summary verifiers, p* under three
correctness rules, JAX and Hugging Face backends, and the generate -> verify -> fine-tune
pipeline (``beyond-collapse summarize``; docs/experiments.md, section 'Summarization')."""

import importlib

__all__ = ["backends", "corpus", "pipeline", "presets", "pstar", "records", "rouge",
           "tokenizer", "verifiers"]


def __getattr__(name):
    # Submodules load on first use: ROUGE's worker processes import ``rouge`` alone, not JAX and
    # the training code (1.7 s per worker).
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
