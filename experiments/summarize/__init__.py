"""The summarization adapter: XLSUM records, ROUGE, summary verifiers, p* under three
correctness rules, JAX and Hugging Face backends, and the generate -> verify -> fine-tune
pipeline (``beyond-collapse summarize``; docs/experiments.md, section 'Summarization')."""

from . import backends, corpus, pipeline, presets, pstar, records, rouge, tokenizer, verifiers

__all__ = ["backends", "corpus", "pipeline", "presets", "pstar", "records", "rouge",
           "tokenizer", "verifiers"]
