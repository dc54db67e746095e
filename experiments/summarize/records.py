"""XLSUM records and candidate files, as JSON lines.

XLSUM: one JSON object per line with string fields ``id, url, title, summary, text``.
Candidates: one object per line with ``article_id`` (string), ``text`` (string) and ``score``
(a finite number: the generator's length-normalised log-likelihood, or null). Readers raise
ValueError naming the file and line of any malformed record (bad JSON, a key given twice in one
record, a missing or mistyped field, a non-finite or out-of-range score, a duplicated article
id) and refuse a file without records; nothing is skipped silently. Lines end only at "\n"
(JSON escapes every other line break inside strings, but text from elsewhere may hold U+2028 or
U+0085 raw), so any Unicode text round-trips. Writers are atomic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple

from simulate.store import write_atomic

__all__ = ["Article", "Candidate", "read_xlsum", "write_xlsum", "read_candidates",
           "write_candidates"]

XLSUM_FIELDS = ("id", "url", "title", "summary", "text")


class Article(NamedTuple):
    id: str
    url: str
    title: str
    summary: str
    text: str


class Candidate(NamedTuple):
    article_id: str
    text: str
    score: float  # NaN when the file gives null


def _unique_keys(pairs):
    record = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"key {key!r} given twice")
        record[key] = value
    return record


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _records(path):
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, expected a JSON-lines file") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror})") from None
    found = False
    # Split on "\n" only: str.splitlines would also break at U+2028, U+0085, ... inside text.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}:{number}: not UTF-8 text ({err.reason})") from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys,
                                parse_constant=_reject_constant)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not valid JSON: {err.msg}") from None
        except ValueError as err:  # a repeated key, NaN/Infinity, a 5000-digit integer
            raise ValueError(f"{path}:{number}: {err}") from None
        except RecursionError:
            raise ValueError(f"{path}:{number}: nested too deeply") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object")
        found = True
        yield number, record
    if not found:
        raise ValueError(f"{path}: no records (an empty file)")


def read_xlsum(path) -> list[Article]:
    """Articles of an XLSUM JSON-lines file."""
    out, seen = [], {}
    for number, record in _records(path):
        for field in XLSUM_FIELDS:
            if field not in record:
                raise ValueError(f"{path}:{number}: missing field {field!r}")
            if not isinstance(record[field], str):
                raise ValueError(f"{path}:{number}: field {field!r} must be a string")
        if record["id"] in seen:
            raise ValueError(f"{path}:{number}: duplicate id {record['id']!r} (first at line "
                             f"{seen[record['id']]})")
        seen[record["id"]] = number
        out.append(Article(*(record[f] for f in XLSUM_FIELDS)))
    return out


def _write_lines(path, records) -> None:
    """JSON lines that the readers accept back: finite numbers, encodable text."""
    lines = []
    for i, record in enumerate(records, start=1):
        try:
            line = json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"
            line.encode("utf-8")
        except ValueError as err:  # NaN or inf; UnicodeEncodeError is a ValueError too
            raise ValueError(f"{path}: record {i}: cannot be written: {err}") from None
        lines.append(line)
    write_atomic(path, "".join(lines))


def write_xlsum(path, articles) -> None:
    records = []
    for i, a in enumerate(articles, start=1):
        record = dict(zip(XLSUM_FIELDS, a))
        bad = [f for f in XLSUM_FIELDS if not isinstance(record.get(f), str)]
        if bad:
            raise ValueError(f"{path}: article {i}: field {bad[0]!r} must be a string")
        records.append(record)
    _write_lines(path, records)


def read_candidates(path) -> list[Candidate]:
    """Candidate summaries of a candidate file (any number per article)."""
    out = []
    for number, record in _records(path):
        for field in ("article_id", "text"):
            if not isinstance(record.get(field), str):
                raise ValueError(f"{path}:{number}: field {field!r} must be a string")
        score = record.get("score")
        if score is None:
            score = math.nan
        elif isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ValueError(f"{path}:{number}: field 'score' must be a number or null")
        else:
            try:
                score = float(score)
            except OverflowError:  # a 400-digit integer
                score = math.inf
            if not math.isfinite(score):  # 1e400 parses to inf
                raise ValueError(f"{path}:{number}: field 'score' must be a finite number; got "
                                 f"{str(record['score'])[:40]}")
        out.append(Candidate(record["article_id"], record["text"], score))
    return out


def write_candidates(path, candidates) -> None:
    records = []
    for c in candidates:
        score = None if c.score is None or math.isnan(c.score) else float(c.score)
        records.append({"article_id": c.article_id, "text": c.text, "score": score})
    _write_lines(path, records)
