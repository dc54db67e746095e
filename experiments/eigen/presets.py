"""Presets of the eigenvalue experiment: ``quick`` (the tests), ``cpu`` (2 cores, under an
hour), ``paper`` (the paper's scale, for a GPU). Any field can be overridden."""

from __future__ import annotations

import copy

from experiments._stages import (check_number, check_replicates, check_sections,
                                 check_seed)

from . import verifiers

__all__ = ["PRESETS", "preset", "validate"]

_VERIFIERS = ["none", "random:rate=0.5", "oracle", "best_of_beam", "oracle:tol=0.02",
              "best_of_beam:tol=0.02", "flip:r=0.1", "flip:r=0.2", "flip:r=0.3", "flip:r=0.4",
              "model:rate=0.5", "self:rate=0.5"]

PRESETS = {
    "quick": {
        # Tiny and loose (tol 0.5): the whole pipeline in seconds, not a result.
        "d": 2, "encoding": "P1000", "root_seed": 0, "n_real": 100, "n_synth": 200,
        "sizes": [100, 200], "n_test": 50, "beam": 2, "tol": 0.5, "audit": 100,
        "model": {"d_model": 32, "n_heads": 2, "enc_layers": 1, "dec_layers": 1},
        "generator_train": {"steps": 250, "batch_size": 32, "lr": 3e-3, "warmup": 20},
        "retrain": {"steps": 20, "batch_size": 32, "lr": 3e-3, "warmup": 5},
        "verifiers": ["none", "oracle", "best_of_beam", "flip:r=0.3", "model:rate=0.5"],
        "replicates": {"seeds": 2, "verifiers": ["oracle"]},
    },
    "cpu": {
        # 2 x 2 matrices in P10 (digit tokens learn fastest on a CPU). The generator sees its
        # 20k real matrices about ten times (imperfect, not overfitted); synthesized pools of
        # 2.5x and 25x its real data; every retrained model gets the generator's step budget.
        # Answers kept at the 5 % tolerance carry the generator's own error of up to 5 % and
        # retrain to the generator's level however many there are (pilot: 0.430 from 212k
        # kept of a 500k pool, 0.435 from 85k of 200k); the stricter oracles (2 %) are the
        # verifiers that add information. 10000 test matrices: a standard error of ~0.005 on a
        # difference from the generator (paired); three training seeds of the generator and
        # the oracles measure the training noise that this standard error does not contain.
        "d": 2, "encoding": "P10", "root_seed": 0, "n_real": 20000, "n_synth": 500000,
        "sizes": [50000, 500000], "n_test": 10000, "beam": 4, "tol": 0.05, "audit": 200,
        "model": {"d_model": 64, "n_heads": 4, "enc_layers": 2, "dec_layers": 1},
        "generator_train": {"steps": 3000, "batch_size": 64, "lr": 2e-3, "warmup": 100},
        "retrain": {"steps": 3000, "batch_size": 64, "lr": 2e-3, "warmup": 100},
        "verifiers": _VERIFIERS,
        "decode_batch": 1024,
        "replicates": {"seeds": 3, "verifiers": ["oracle", "oracle:tol=0.02"]},
    },
    "paper": {
        "d": 5, "encoding": "P1000", "root_seed": 0, "n_real": 200_000,
        "n_synth": 10_000_000, "sizes": [200_000, 1_000_000, 4_000_000, 10_000_000],
        "n_test": 10_000, "beam": 8, "tol": 0.05, "audit": 200,
        "model": {"d_model": 512, "n_heads": 8, "enc_layers": 6, "dec_layers": 1},
        "generator_train": {"steps": 300_000, "batch_size": 64, "lr": 1e-4, "warmup": 10_000,
                            "schedule": "inverse_sqrt", "checkpoint_every": 5000},
        "retrain": {"steps": 300_000, "batch_size": 64, "lr": 1e-4, "warmup": 10_000,
                    "schedule": "inverse_sqrt", "checkpoint_every": 5000},
        "verifiers": _VERIFIERS,
        "decode_batch": 1024,
    },
}

_KEYS = {"d", "encoding", "root_seed", "n_real", "n_synth", "sizes", "n_test", "beam", "tol",
         "audit", "model", "generator_train", "retrain", "verifiers", "decode_batch",
         "replicates"}
_OPTIONAL_KEYS = {"decode_batch", "replicates"}


def preset(name: str, **overrides) -> dict:
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}; got {name!r}")
    return validate({**copy.deepcopy(PRESETS[name]), **overrides})


def _positive_int(cfg, key):
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{key} must be a positive integer; got {v!r}")


def validate(cfg: dict) -> dict:
    """Check a configuration, naming the bad key; returns it unchanged."""
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ValueError(f"unknown configuration key {unknown[0]!r}")
    missing = sorted(_KEYS - _OPTIONAL_KEYS - set(cfg))
    if missing:
        raise ValueError(f"missing configuration key {missing[0]!r}")
    for key in ("d", "n_real", "n_synth", "n_test", "beam", "audit"):
        _positive_int(cfg, key)
    if cfg.get("decode_batch") is not None:
        _positive_int(cfg, "decode_batch")
    check_seed(cfg)
    if not 0 < check_number(cfg, "tol") < 1:
        raise ValueError(f"tol must be in (0, 1); got {cfg['tol']!r}")
    sizes = cfg["sizes"]
    if not isinstance(sizes, list) or not sizes or any(isinstance(s, bool) or not isinstance(s, int) or not
                        1 <= s <= cfg["n_synth"] for s in sizes):
        raise ValueError(f"sizes must be integers in [1, n_synth]; got {sizes!r}")
    if not isinstance(cfg["verifiers"], list) or not cfg["verifiers"]:
        raise ValueError(f"verifiers must be a list naming at least one verifier; got "
                         f"{cfg['verifiers']!r}")
    if not isinstance(cfg["encoding"], str):
        raise ValueError(f"encoding must be a string; got {cfg['encoding']!r}")
    check_sections(cfg, "model", ("generator_train", "retrain"))
    for spec in cfg["verifiers"]:
        if not isinstance(spec, str):
            raise ValueError(f"verifiers must be spec strings; got {spec!r}")
        verifiers.check_spec(spec)
    if cfg.get("replicates") is not None:  # null: no replicates
        check_replicates(cfg["replicates"], cfg["verifiers"])
    return cfg
