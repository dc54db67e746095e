"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse


def floats(text: str) -> list[float]:
    """Comma-separated numbers, e.g. ``0.1,0.3``."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def setting(text: str) -> tuple[list[str], object]:
    """``KEY=VALUE`` with a dotted key into a nested configuration (``retrain.steps=6000``);
    the value is read as JSON (numbers, lists, true/false) and otherwise kept as a string."""
    import json

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip().split("."), value


def apply_settings(config: dict, settings) -> dict:
    """A copy of ``config`` with each (path, value) of ``settings`` set; unknown nested keys are
    an error naming the key (top-level keys are left to the experiment's validation)."""
    import copy

    config = copy.deepcopy(config)
    for path, value in settings or ():
        node = config
        for i, part in enumerate(path[:-1]):
            if not isinstance(node.get(part), dict):
                raise ValueError(f"--set: {'.'.join(path[:i + 1])} is not a section of the "
                                 "configuration")
            node = node[part]
        if len(path) > 1 and path[-1] not in node:
            raise ValueError(f"--set: unknown configuration key {'.'.join(path)!r}")
        node[path[-1]] = value
    return config
