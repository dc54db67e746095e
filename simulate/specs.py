"""Generators and pruners from short spec strings, as the command line and sweep files write them.

A spec is ``kind`` or ``kind:key=value,key=value`` with numeric values:

- generators: ``flip:p=0.1``; ``linear:angle=0.3`` (unit w_g at that angle from mu, radians);
  ``trained:n_real=20,lam=0.01`` (ridge-logistic fit on n_real real samples).
- pruners: ``none``; ``random:rate=0.5``; ``oracle``; ``label_only:phi=0.9,psi=0.3``;
  ``linear:angle=0.5,tau=0``; ``top_r:rate=0.25,angle=0.5``;
  ``supervised:n_real=50,lam=0.01,tau=0`` (or ``rate=0.25`` for top-r selection).

Directions given by an angle need ``mu``: the unit vector at that angle from mu in the plane of
mu and the first axis least aligned with it (``direction``).
"""

from __future__ import annotations

import math

import numpy as np

from . import generators as _generators
from . import pruners as _pruners

__all__ = ["parse", "generator", "pruner", "direction", "GENERATOR_KINDS", "PRUNER_KINDS"]

GENERATOR_KINDS = ("flip", "linear", "trained")
PRUNER_KINDS = ("none", "random", "oracle", "label_only", "linear", "top_r", "supervised")


def parse(text: str) -> tuple[str, dict]:
    """``"kind:a=1,b=2"`` -> ``("kind", {"a": 1.0, "b": 2.0})``."""
    if not isinstance(text, str):
        raise ValueError(f"a spec must be a string like 'flip:p=0.1'; got {text!r}")
    kind, _, rest = text.partition(":")
    params = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"spec {text!r}: expected key=value, got {item!r}")
        key = key.strip()
        if key in params:
            raise ValueError(f"spec {text!r}: {key} given twice")
        try:
            params[key] = float(value)
        except ValueError as err:
            raise ValueError(f"spec {text!r}: {key} must be a number, got {value!r}") from err
        if not math.isfinite(params[key]):
            raise ValueError(f"spec {text!r}: {key} must be finite, got {value!r}")
    return kind.strip(), params


def _take(params: dict, spec: str, required=(), optional=()):
    unknown = set(params) - set(required) - set(optional)
    if unknown:
        raise ValueError(f"spec {spec!r}: unknown parameters {sorted(unknown)}")
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"spec {spec!r}: missing parameters {missing}")
    return params


def _count(params: dict, spec: str, key: str) -> int:
    value = params[key]
    if value != int(value) or value < 1:
        raise ValueError(f"spec {spec!r}: {key} must be a positive integer, got {value:g}")
    return int(value)


def direction(mu, angle: float) -> np.ndarray:
    """Unit vector at ``angle`` radians from mu, in the plane of mu and the first axis least
    aligned with it. mu (d,) nonzero; returns (d,)."""
    mu = np.asarray(mu, float)
    norm = np.linalg.norm(mu)
    if norm == 0:
        raise ValueError("mu must be nonzero to place a direction at an angle from it")
    e1 = mu / norm
    if len(mu) == 1:
        if math.sin(angle) != 0:
            raise ValueError("in d = 1 the angle must be 0 or pi")
        return e1 * math.cos(angle)
    axis = np.eye(len(mu))[int(np.argmin(np.abs(e1)))]
    e2 = axis - (axis @ e1) * e1
    e2 /= np.linalg.norm(e2)
    return math.cos(angle) * e1 + math.sin(angle) * e2


def generator(text: str, mu):
    """A generator (``simulate.generators``) from its spec; mu (d,) places angles."""
    kind, params = parse(text)
    if kind == "flip":
        return _generators.flip(_take(params, text, ["p"])["p"])
    if kind == "linear":
        return _generators.linear(direction(mu, _take(params, text, ["angle"])["angle"]))
    if kind == "trained":
        params = _take(params, text, ["n_real"], ["lam"])
        return _generators.trained(_count(params, text, "n_real"), params.get("lam", 1e-2))
    raise ValueError(f"unknown generator {kind!r} in {text!r}; choose {', '.join(GENERATOR_KINDS)}")


def pruner(text: str, mu):
    """A pruner (``simulate.pruners``) from its spec; mu (d,) places angles."""
    kind, params = parse(text)
    if kind == "none":
        _take(params, text)
        return _pruners.none()
    if kind == "oracle":
        _take(params, text)
        return _pruners.oracle()
    if kind == "random":
        return _pruners.random(_take(params, text, ["rate"])["rate"])
    if kind == "label_only":
        params = _take(params, text, ["phi", "psi"])
        return _pruners.label_only(params["phi"], params["psi"])
    if kind == "linear":
        params = _take(params, text, ["angle"], ["tau"])
        return _pruners.linear(direction(mu, params["angle"]), params.get("tau", 0.0))
    if kind == "top_r":
        params = _take(params, text, ["rate", "angle"])
        return _pruners.top_r(params["rate"], direction(mu, params["angle"]))
    if kind == "supervised":
        params = _take(params, text, ["n_real"], ["lam", "tau", "rate"])
        return _pruners.supervised(_count(params, text, "n_real"), params.get("lam", 1e-2),
                                   params.get("tau", 0.0), params.get("rate"))
    raise ValueError(f"unknown pruner {kind!r} in {text!r}; choose {', '.join(PRUNER_KINDS)}")
