"""A results directory that survives interruption: atomic files keyed by a hash of their content.

Layout of a sweep's ``out_dir``::

    sweep.json        the normalised configuration, package version, root seed, creation time
    units/<hash>.json one file per unit of work: {"unit": parameters, "rows": [row, ...]}
    results.csv       the assembled tidy table, written once every unit is stored

Every file is written to a temporary file in the same directory and renamed over its target
(``os.replace`` is atomic on POSIX), so a process killed at any moment leaves either the old
file, the new one, or nothing: never half a file. A unit file that cannot be read back is treated
as missing and recomputed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path

__all__ = ["unit_hash", "write_atomic", "write_json", "read_json", "write_unit", "read_unit",
           "write_csv", "read_csv"]

UNITS = "units"


def canonical_json(obj) -> str:
    """One text per value: sorted keys, no spaces, floats in shortest round-trip form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def unit_hash(params: dict) -> str:
    """SHA-256 of the canonical JSON of a unit's parameters (64 hex digits)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n")


def read_json(path):
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (line {err.lineno}): {err.msg}") from err


def unit_path(out_dir, key: str) -> Path:
    return Path(out_dir) / UNITS / f"{key}.json"


def write_unit(out_dir, key: str, params: dict, rows: list[dict]) -> None:
    write_atomic(unit_path(out_dir, key),
                 json.dumps({"unit": params, "rows": rows}, allow_nan=True) + "\n")


def read_unit(out_dir, key: str, params: dict):
    """The rows of a stored unit, or None if it is missing, unreadable, or not this unit."""
    path = unit_path(out_dir, key)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(stored, dict) or stored.get("unit") != params:
        return None
    rows = stored.get("rows")
    return rows if isinstance(rows, list) else None


def stray_temporary_files(out_dir) -> list[Path]:
    """Temporary files left by a process killed mid-write (harmless; removed on resume)."""
    out_dir = Path(out_dir)
    return sorted(p for d in (out_dir, out_dir / UNITS) if d.is_dir()
                  for p in d.glob(".*.tmp"))


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if value is None:
        return "nan"
    return str(value)


def write_csv(path, columns: list[str], rows: list[dict]) -> None:
    """Tidy CSV: one header line, one line per row; floats in repr (exact round trip)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, math.nan)) for c in columns])
    write_atomic(path, buf.getvalue())


def _parse_cell(text: str):
    if text == "true":
        return True
    if text == "false":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(path) -> tuple[list[str], list[dict]]:
    """Columns and rows of a table written by ``write_csv``; ValueError names a bad line."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            columns = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty file, expected a header line") from None
        rows = []
        for line, cells in enumerate(reader, start=2):
            if len(cells) != len(columns):
                raise ValueError(f"{path}:{line}: {len(cells)} fields, the header has "
                                 f"{len(columns)}")
            rows.append({c: _parse_cell(v) for c, v in zip(columns, cells)})
    return columns, rows
