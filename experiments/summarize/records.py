"""XLSUM records and candidate files, as JSON lines.

XLSUM: one JSON object per line with string fields ``id, url, title, summary, text``.
Candidates: one object per line with ``article_id`` (string), ``text`` (string) and ``score``
(a number: the generator's length-normalised log-likelihood, or null). Readers raise ValueError
naming the file and line of any malformed record (bad JSON, a missing or mistyped field, a
duplicated article id); nothing is skipped silently. Writers are atomic.
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


def _records(path):
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not valid JSON: {err.msg}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object")
        yield number, record


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


def write_xlsum(path, articles) -> None:
    write_atomic(path, "".join(json.dumps(dict(zip(XLSUM_FIELDS, a)), ensure_ascii=False) + "\n"
                               for a in articles))


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
        out.append(Candidate(record["article_id"], record["text"], float(score)))
    return out


def write_candidates(path, candidates) -> None:
    lines = []
    for c in candidates:
        score = None if c.score is None or math.isnan(c.score) else float(c.score)
        lines.append(json.dumps({"article_id": c.article_id, "text": c.text, "score": score},
                                ensure_ascii=False) + "\n")
    write_atomic(path, "".join(lines))
