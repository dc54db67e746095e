"""What the experiment pipelines share: one root key with a ``fold_in`` per named stream, a
stage folder, hashes that name stored stages, and progress lines."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
from pathlib import Path

import jax

from simulate import store

__all__ = ["StagedRun", "stage_hash", "check_replicates", "check_number", "check_seed",
           "check_sections"]

MAX_SEED = 2**32 - 1  # JAX keys are 32-bit: larger seeds would repeat smaller ones


def check_number(cfg, key) -> float:
    """A configuration value that must be a real number (not a string, not true/false)."""
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{key} must be a finite number; got {v!r}")
    return v


def check_seed(cfg, key="root_seed") -> None:
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEED:
        raise ValueError(f"{key} must be an integer in [0, {MAX_SEED}]; got {v!r}")


def check_sections(cfg, model_key, train_keys) -> None:
    """The model and training sections, checked as the pipeline will build them (before any
    work, so a bad value fails at once, naming its section)."""
    from experiments import seq2seq

    builders = [(model_key, lambda kw: seq2seq.ModelConfig(
        src_vocab_size=8, tgt_vocab_size=8, max_src_len=8, max_tgt_len=8, **kw))]
    builders += [(k, lambda kw: seq2seq.TrainConfig(**kw)) for k in train_keys]
    for key, build in builders:
        section = cfg[key]
        if not isinstance(section, dict):
            raise ValueError(f"{key} must be a table {{...}}; got {section!r}")
        cls = seq2seq.ModelConfig if key == model_key else seq2seq.TrainConfig
        for field in dataclasses.fields(cls):  # numbers first: the classes call float() on them
            if (field.name in section and isinstance(field.default, (int, float))
                    and not isinstance(field.default, bool)):
                v = section[field.name]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ValueError(f"{key}.{field.name} must be a finite number; got {v!r}")
        try:
            build(section)
        except TypeError as err:  # an unknown or missing field, a value of the wrong kind
            raise ValueError(f"{key}: {err}") from None
        except ValueError as err:
            raise ValueError(f"{key}.{err}") from None


def stage_hash(obj) -> str:
    """16 hex digits of the SHA-256 of a JSON-able description of a stage's inputs."""
    return hashlib.sha256(store.canonical_json(obj).encode()).hexdigest()[:16]


def check_replicates(rep, names) -> None:
    """A pipeline's optional ``replicates`` setting: ``{"seeds": n >= 2, "verifiers": [...]}``
    naming verifiers among ``names``; errors name the bad part."""
    if not isinstance(rep, dict) or set(rep) != {"seeds", "verifiers"}:
        raise ValueError(f"replicates must be {{'seeds': n, 'verifiers': [...]}}; got {rep!r}")
    seeds = rep["seeds"]
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise ValueError(f"replicates.seeds must be an integer >= 2; got {seeds!r}")
    if not isinstance(rep["verifiers"], list):
        raise ValueError(f"replicates.verifiers must be a list; got {rep['verifiers']!r}")
    unknown = [v for v in rep["verifiers"] if v not in names]
    if unknown:
        raise ValueError(f"replicates.verifiers names {unknown[0]!r}, not one of {list(names)}")


class StagedRun:
    """Base of a pipeline run: ``key(stream, *indices)``, ``log``, and ``stages`` (a folder)."""

    name = "run"
    streams: dict = {}

    def __init__(self, config: dict, out, progress: bool):
        self.cfg = config
        self.out = Path(out)
        self.progress = progress
        self.root = jax.random.key(config["root_seed"])
        self.stages = self.out / "stages"
        self.stages.mkdir(parents=True, exist_ok=True)

    def key(self, stream, *more):
        """fold_in(fold_in(root, stream id), *more): stable ids, so stored stages stay valid."""
        k = jax.random.fold_in(self.root, self.streams[stream])
        for m in more:
            k = jax.random.fold_in(k, m)
        return k

    def log(self, msg):
        if self.progress:
            print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)
