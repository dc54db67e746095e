"""What the experiment pipelines share: one root key with a ``fold_in`` per named stream, a
stage folder, hashes that name stored stages, and progress lines."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jax

from simulate import store

__all__ = ["StagedRun", "stage_hash", "check_replicates"]


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
