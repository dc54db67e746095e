"""A results directory that survives interruption: atomic files keyed by a hash of their content.

Layout of a sweep's ``out_dir``::

    sweep.json        the normalised configuration, package version, root seed, creation time,
                      and once finished the SHA-256 and row count of results.csv
    units/<hash>.json one file per unit of work: {"unit": parameters, "rows": [row, ...],
                      "sha256": checksum of the canonical JSON of unit and rows}
    results.csv       the assembled tidy table, written once every unit is stored
    .lock             held (``flock``) by the one process writing into the directory

Every file is written to a temporary file in the same directory and renamed over its target
(``os.replace`` is atomic on POSIX), so a process killed at any moment leaves either the old
file, the new one, or nothing: never half a file. Files get the permissions of the umask, like
any file the user creates. Checksums catch what renaming cannot (a disk that lost or changed
bytes): a unit whose checksum disagrees is ``Damaged``, named, and recomputed by the sweep.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["unit_hash", "write_atomic", "write_json", "read_json", "write_unit", "read_unit",
           "write_csv", "read_csv", "csv_text", "read_run", "Damaged", "DirectoryLock"]

UNITS = "units"


def canonical_json(obj) -> str:
    """One text per value: sorted keys, no spaces, floats in shortest round-trip form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def unit_hash(params: dict) -> str:
    """SHA-256 of the canonical JSON of a unit's parameters (64 hex digits)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


class Damaged(ValueError):
    """A stored file that exists but does not hold what was written (names the file)."""


_UMASK_LOCK = threading.Lock()


def _file_mode() -> int:
    """0o666 less the umask: the mode ``open`` would give a new file (mkstemp gives 0o600)."""
    with _UMASK_LOCK:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())
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
        raise Damaged(f"{path}: not valid JSON (line {err.lineno}): {err.msg}") from None
    except UnicodeDecodeError as err:
        raise Damaged(f"{path}: not UTF-8 text ({err.reason})") from None
    except (ValueError, RecursionError) as err:  # a huge integer, deep nesting
        raise Damaged(f"{path}: not valid JSON ({type(err).__name__})") from None


def read_run(out, what: str = "run", names=("model", "verifier")) -> tuple[list[dict], dict]:
    """(rows, summary) of a finished experiment folder: its ``results.csv`` and, when present,
    its ``summary.json`` (``{}`` otherwise).

    The one reader of stored experiment results; it needs nothing of the code that made them, so
    figures can draw a run without loading its training code. Columns in ``names`` hold names:
    a cell that reads back as a number (an empty name stored as ``nan``) becomes ``""``.
    ValueError when there is no ``results.csv`` (``what`` names the kind of run).
    """
    out = Path(out)
    if not (out / "results.csv").exists():
        raise ValueError(f"{out} holds no finished {what} (no results.csv)")
    _, rows = read_csv(out / "results.csv")
    for row in rows:
        for name in names:
            if name in row and not isinstance(row[name], str):
                row[name] = ""
    summary = read_json(out / "summary.json") if (out / "summary.json").exists() else {}
    return rows, summary


def unit_path(out_dir, key: str) -> Path:
    return Path(out_dir) / UNITS / f"{key}.json"


def _checksum(params, rows) -> str:
    return hashlib.sha256(canonical_json({"unit": params, "rows": rows}).encode()).hexdigest()


def write_unit(out_dir, key: str, params: dict, rows: list[dict]) -> None:
    record = {"unit": params, "rows": rows, "sha256": _checksum(params, rows)}
    write_atomic(unit_path(out_dir, key), json.dumps(record, allow_nan=True) + "\n")


def read_unit(out_dir, key: str, params: dict):
    """The rows of a stored unit, or None if it is missing; ``Damaged`` (naming the file) if it
    cannot be read, holds another unit, or its checksum disagrees with its content."""
    path = unit_path(out_dir, key)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, RecursionError, OSError) as err:  # bad JSON or bytes; a directory
        raise Damaged(f"{path}: damaged ({type(err).__name__})") from None
    if not isinstance(stored, dict) or stored.get("unit") != params:
        raise Damaged(f"{path}: damaged (not the unit of its name)")
    rows = stored.get("rows")
    if not isinstance(rows, list) or stored.get("sha256") != _checksum(params, rows):
        raise Damaged(f"{path}: damaged (its checksum disagrees with its content)")
    return rows


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


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """Tidy CSV: one header line, one line per row; floats in repr (exact round trip)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, math.nan)) for c in columns])
    return buf.getvalue()


def write_csv(path, columns: list[str], rows: list[dict]) -> None:
    write_atomic(path, csv_text(columns, rows))


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
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise Damaged(f"{path}:{line}: not UTF-8 text ({err.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = next(reader)
    except StopIteration:
        raise Damaged(f"{path}: empty file, expected a header line") from None
    except csv.Error as err:
        raise Damaged(f"{path}:1: not valid CSV ({err})") from None
    rows = []
    try:
        for cells in reader:
            if len(cells) != len(columns):
                raise Damaged(f"{path}:{reader.line_num}: {len(cells)} fields, the header has "
                              f"{len(columns)}")
            rows.append({c: _parse_cell(v) for c, v in zip(columns, cells)})
    except csv.Error as err:
        raise Damaged(f"{path}:{reader.line_num}: not valid CSV ({err})") from None
    return columns, rows


class DirectoryLock:
    """One writer per directory: an exclusive ``flock`` on ``DIR/.lock``, released when the
    process exits however it exits (no stale lock to clean up). ``ValueError`` for a second."""

    def __init__(self, out_dir):
        self.path = Path(out_dir) / ".lock"
        self.fd = None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ValueError(f"{self.path.parent} is in use by another sweep (process "
                             f"{holder}); wait for it to finish, or choose another output "
                             "directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing releases the flock
        self.fd = None
        return False
