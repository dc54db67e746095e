"""What the experiment pipelines share: one root key with a ``fold_in`` per named stream, a
stage folder, hashes that name stored stages, and progress lines."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jax

from simulate import store

__all__ = ["StagedRun", "stage_hash"]


def stage_hash(obj) -> str:
    """16 hex digits of the SHA-256 of a JSON-able description of a stage's inputs."""
    return hashlib.sha256(store.canonical_json(obj).encode()).hexdigest()[:16]


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
