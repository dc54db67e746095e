"""Spec strings, as the command line, sweep files and experiment presets write them: the one
registry of generators, pruners and verifiers of every setting.

A spec is ``kind`` or ``kind:key=value,key=value`` with numeric values. Each setting has a
``Registry`` in ``REGISTRY`` (``registry(name)``); a kind declares its required and optional
parameters and their ranges, so parsing, validation and error messages are the same everywhere:

- ``"generator"``: ``flip:p=0.1``; ``linear:angle=0.3`` (unit w_g at that angle from mu,
  radians); ``trained:n_real=20,lam=0.01`` (ridge-logistic fit on n_real real samples).
- ``"selector"`` (``simulate.selection``, scores given): ``none``; ``random:rate=0.5``;
  ``oracle``; ``label_only:phi=0.9,psi=0.3``; ``flip:r=0.2``; ``threshold:tau=0``;
  ``top_r:rate=0.25``; ``best_of_k`` (or ``best_of_k:tau=0``).
- ``"pruner"`` (the simulations): the label-level selectors (``none``, ``random``, ``oracle``,
  ``label_only``), ``linear:angle=0.5,tau=0``; ``top_r:rate=0.25,angle=0.5``;
  ``supervised:n_real=50,lam=0.01,tau=0`` (or ``rate=0.25`` for top-r selection).
- ``"eigen"`` and ``"summarize"``: the experiments' verifiers, registered when
  ``experiments.eigen.verifiers`` and ``experiments.summarize.verifiers`` are imported.

Directions given by an angle need ``mu``: the unit vector at that angle from mu in the plane of
mu and the first axis least aligned with it (``direction``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from . import generators as _generators
from . import pruners as _pruners
from . import selection as _selection

__all__ = ["parse", "Registry", "registry", "REGISTRY", "GENERATORS", "PRUNERS", "SELECTORS",
           "generator", "pruner", "selector", "direction", "GENERATOR_KINDS", "PRUNER_KINDS"]


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


def _interval(text: str):
    """``"(0, 1]"`` -> a membership test and its text, for the error message."""
    lo_open, hi_open = text[0] == "(", text[-1] == ")"
    lo, hi = (float(v) for v in text[1:-1].split(","))

    def inside(v):
        return (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
    return inside


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of a registry: ``build(params, **context)`` makes the object of a checked spec.
    ``ranges`` maps a parameter to an interval written ``"(0, 1]"``; ``counts`` are parameters
    that must be positive integers (passed on as ints)."""

    build: Callable
    required: tuple = ()
    optional: tuple = ()
    ranges: dict = dataclasses.field(default_factory=dict)
    counts: tuple = ()
    doc: str = ""


class Registry:
    """The kinds of one setting: ``parse`` checks a spec, ``build`` makes its object."""

    def __init__(self, name: str, noun: str | None = None):
        self.name = name
        self.what = noun or name  # what error messages call an entry
        self._kinds: dict[str, Kind] = {}

    @property
    def kinds(self) -> tuple:
        return tuple(self._kinds)

    def add(self, name, build, *, required=(), optional=(), ranges=None, counts=(), doc=""):
        if name in self._kinds:
            raise ValueError(f"{self.what} {name!r} is registered already")
        self._kinds[name] = Kind(build, tuple(required), tuple(optional), dict(ranges or {}),
                                 tuple(counts), doc)
        return self._kinds[name]

    def remove(self, name):
        """Forget a kind (a test's or a session's own registration)."""
        if name not in self._kinds:
            raise ValueError(f"no {self.what} {name!r} is registered")
        del self._kinds[name]

    def include(self, other: "Registry", names):
        """Share kinds of another registry (the same entries: one definition)."""
        for name in names:
            if name in self._kinds:
                raise ValueError(f"{self.what} {name!r} is registered already")
            self._kinds[name] = other._kinds[name]

    def parse(self, text: str) -> tuple[str, dict]:
        """(kind, params) of a spec, with names, counts and ranges checked."""
        kind, params = parse(text)
        entry = self._kinds.get(kind)
        if entry is None:
            raise ValueError(f"unknown {self.what} {kind!r} in {text!r}; choose "
                             f"{', '.join(self._kinds)}")
        takes = list(entry.required) + [f"{o} (optional)" for o in entry.optional]
        unknown = sorted(set(params) - set(entry.required) - set(entry.optional))
        if unknown:
            raise ValueError(f"spec {text!r}: unknown parameters {unknown}; {kind} takes "
                             f"parameters {takes or 'none'}")
        missing = [k for k in entry.required if k not in params]
        if missing:
            raise ValueError(f"spec {text!r}: missing parameters {missing}; {kind} takes "
                             f"parameters {takes}")
        for name, interval in entry.ranges.items():
            if name in params and not _interval(interval)(params[name]):
                raise ValueError(f"spec {text!r}: {name} out of range: must be in {interval}, "
                                 f"got {params[name]:g}")
        for name in entry.counts:
            if name in params:
                value = params[name]
                if value != int(value) or value < 1:
                    raise ValueError(f"spec {text!r}: {name} must be a positive integer, "
                                     f"got {value:g}")
                params[name] = int(value)
        return kind, params

    def build(self, text: str, **context):
        kind, params = self.parse(text)
        return self._kinds[kind].build(params, **context)


REGISTRY: dict[str, Registry] = {}


def registry(name: str, noun: str | None = None) -> Registry:
    """The registry of one setting (created on first use); ``noun`` names its entries in error
    messages (default: ``name``)."""
    if name not in REGISTRY:
        REGISTRY[name] = Registry(name, noun)
    return REGISTRY[name]


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


# --- the registries of this package ---------------------------------------------------------

SELECTORS = registry("selector")
SELECTORS.add("none", lambda p, **_: _selection.NoPruning())
SELECTORS.add("random", lambda p, **_: _selection.Random(p["rate"]), required=("rate",),
              ranges={"rate": "(0, 1]"})
SELECTORS.add("oracle", lambda p, **_: _selection.Oracle())
SELECTORS.add("label_only", lambda p, **_: _selection.LabelOnly(p["phi"], p["psi"]),
              required=("phi", "psi"), ranges={"phi": "[0, 1]", "psi": "[0, 1]"})
SELECTORS.add("flip", lambda p, **_: _selection.flip(p["r"]), required=("r",),
              ranges={"r": "[0, 1]"})
SELECTORS.add("threshold", lambda p, **_: _selection.Threshold(p.get("tau", 0.0)),
              optional=("tau",))
SELECTORS.add("top_r", lambda p, **_: _selection.TopR(p["rate"]), required=("rate",),
              ranges={"rate": "(0, 1]"})
SELECTORS.add("best_of_k", lambda p, **_: _selection.BestOfK(p.get("tau")),
              optional=("tau",))

GENERATORS = registry("generator")
GENERATORS.add("flip", lambda p, mu=None: _generators.flip(p["p"]), required=("p",))
GENERATORS.add("linear", lambda p, mu=None: _generators.linear(direction(mu, p["angle"])),
               required=("angle",))
GENERATORS.add("trained", lambda p, mu=None: _generators.trained(p["n_real"], p.get("lam", 1e-2)),
               required=("n_real",), optional=("lam",), counts=("n_real",))

PRUNERS = registry("pruner")
PRUNERS.include(SELECTORS, ("none", "random", "oracle", "label_only"))
PRUNERS.add("linear", lambda p, mu=None: _pruners.linear(direction(mu, p["angle"]),
                                                         p.get("tau", 0.0)),
            required=("angle",), optional=("tau",))
PRUNERS.add("top_r", lambda p, mu=None: _pruners.top_r(p["rate"], direction(mu, p["angle"])),
            required=("rate", "angle"), ranges={"rate": "(0, 1]"})
PRUNERS.add("supervised", lambda p, mu=None: _pruners.supervised(
    p["n_real"], p.get("lam", 1e-2), p.get("tau", 0.0), p.get("rate")),
    required=("n_real",), optional=("lam", "tau", "rate"), counts=("n_real",))

GENERATOR_KINDS = GENERATORS.kinds
PRUNER_KINDS = PRUNERS.kinds


def generator(text: str, mu):
    """A generator (``simulate.generators``) from its spec; mu (d,) places angles."""
    return GENERATORS.build(text, mu=mu)


def pruner(text: str, mu):
    """A pruner (``simulate.pruners``) from its spec; mu (d,) places angles."""
    return PRUNERS.build(text, mu=mu)


def selector(text: str):
    """A selector (``simulate.selection``) from its spec."""
    return SELECTORS.build(text)
