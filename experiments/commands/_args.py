"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from figures import add_figure_preset, add_recompute  # noqa: F401  (the figures' own flags)

# A value that starts with "-" and is a number or a comma-separated list of numbers.
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf|nan)[-+\d.,eEinfa ]*$", re.IGNORECASE)


def join_negative_values(argv: list[str]) -> list[str]:
    """``--w-g -1,0`` as ``--w-g=-1,0``: argparse takes a value that starts with "-" and is not
    a plain number for an option, so negative vectors would be refused."""
    out: list[str] = []
    for token in argv:
        if (out and _NEGATIVE.match(token) and out[-1].startswith("--") and "=" not in out[-1]
                and out[-1] != "--"):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def out_dir(path, flag: str = "--out") -> Path:
    """An output directory that exists or can be created: not a file, nor under one."""
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"{part} is a file"
                raise ValueError(f"{flag} {path}: {where}, expected a directory")
            break
    return path


def number(text: str) -> float:
    """A finite number (NaN, inf and 1e400 are refused here, naming the flag)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def nonnegative(text: str) -> float:
    """A finite number >= 0 (a norm, a ridge strength)."""
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


MAX_SEED = 2**32 - 1  # JAX keys are 32-bit: larger seeds would repeat smaller ones


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling of a flag: stores into the new flag's ``dest`` and says so once on
    stderr (stored RUN commands still use ``--seed``)."""

    def __init__(self, option_strings, dest, new_flag=None, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.new_flag}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_root_seed(parser, help_text: str, default=None, deprecated_seed: bool = False) -> None:
    """``--root-seed`` (every subcommand's name for it); ``--seed`` as a hidden alias."""
    parser.add_argument("--root-seed", type=seed, default=default, metavar="SEED", help=help_text)
    if deprecated_seed:
        parser.add_argument("--seed", dest="root_seed", type=seed, action=_DeprecatedAlias,
                            new_flag="--root-seed", help=argparse.SUPPRESS)


def add_json(parser, help_text: str = "print one JSON object instead of text",
             inherit: bool = False) -> None:
    """``--json``. ``inherit``: a subparser's flag that leaves the parent's value alone when
    absent (its own default would otherwise overwrite ``theory --json pstar``)."""
    parser.add_argument("--json", action="store_true", help=help_text,
                        default=argparse.SUPPRESS if inherit else False)



def add_preset(parser, presets, default: str, help_text: str) -> None:
    parser.add_argument("--preset", choices=list(presets), default=default,
                        help=f"{help_text} (default {default})")


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {MAX_SEED}], got {text!r}")
    return value


def floats(text: str) -> list[float]:
    """Comma-separated finite numbers, e.g. ``0.1,0.3``."""
    import math

    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
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


def _check_kind(path, old, new) -> None:
    """A value replacing ``old`` must be of its kind (a number for a number, ...)."""
    if old is None or (new is None and isinstance(old, dict)):  # null switches a section off
        return
    kinds = [(bool, "true or false"), ((int, float), "a number"), (str, "a string"),
             (list, "a list"), (dict, "a table {...}")]
    for kind, what in kinds:
        if isinstance(old, kind):
            if not isinstance(new, kind) or (kind is not bool and isinstance(new, bool)):
                raise ValueError(f"--set {'.'.join(path)}: must be {what}; got {new!r}")
            return


def apply_settings(config: dict, settings) -> dict:
    """A copy of ``config`` with each (path, value) of ``settings`` set; unknown nested keys and
    values of another kind than the preset's (a string for a number) are an error naming the
    key (unknown top-level keys are left to the experiment's validation)."""
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
        _check_kind(path, node.get(path[-1]), value)
        node[path[-1]] = value
    return config


def finite_json(obj):
    """``obj`` with every NaN or infinite float as None: standard JSON has neither."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_json(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def dumps(obj, **kwargs) -> str:
    """Standard JSON (NaN and infinities as null)."""
    import json

    return json.dumps(finite_json(obj), allow_nan=False, **kwargs)
