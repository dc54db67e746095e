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
