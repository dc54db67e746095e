"""Atomic checkpoints: parameters (and optimizer state) as equinox leaves, metadata as JSON.

A checkpoint is a directory-free pair ``<path>`` (binary leaves) + ``<path>.json`` (config,
extra). Both are written to temporary files and renamed, the JSON last, so a checkpoint whose
JSON exists is complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import equinox as eqx
import jax

from .model import ModelConfig, Seq2Seq

__all__ = ["save_checkpoint", "load_checkpoint", "save_tree", "load_tree"]


def _replace_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tree(path, tree, meta: dict) -> None:
    """Leaves of ``tree`` to ``path``, then ``meta`` to ``path.json`` (both atomic)."""
    path = Path(path)
    _replace_atomic(path, lambda f: eqx.tree_serialise_leaves(f, tree))
    _replace_atomic(Path(f"{path}.json"),
                    lambda f: f.write(json.dumps(meta, indent=1, sort_keys=True).encode()))


def load_tree(path, like):
    """(tree, meta) from ``save_tree``; ``like`` is a tree of the same structure."""
    path = Path(path)
    meta_path = Path(f"{path}.json")
    if not meta_path.exists() or not path.exists():
        raise ValueError(f"no complete checkpoint at {path}")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_path}: not valid JSON: {err.msg}") from err
    with open(path, "rb") as f:
        tree = eqx.tree_deserialise_leaves(f, like)
    return tree, meta


def save_checkpoint(path, model: Seq2Seq, config: ModelConfig, extra: dict | None = None):
    """A model and its config (plus any JSON-able ``extra``), written atomically."""
    save_tree(path, model, {"config": config.to_dict(), "extra": extra or {}})


def load_checkpoint(path):
    """(model, config, extra) saved by ``save_checkpoint``."""
    meta_path = Path(f"{path}.json")
    if not meta_path.exists():
        raise ValueError(f"no complete checkpoint at {path}")
    meta = json.loads(meta_path.read_text())
    config = ModelConfig.from_dict(meta["config"])
    # shapes only: the stored parameters replace them (drawing them compiled a sampler per shape)
    like = eqx.filter_eval_shape(Seq2Seq, config, key=jax.random.key(0))
    model, meta = load_tree(path, like)
    return model, config, meta.get("extra", {})
