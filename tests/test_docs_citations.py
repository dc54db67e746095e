"""Citations of the project's documents point at sections that exist.

Docstrings and comments cite derivations and protocols as "docs/theory.md, section 'Linear
verifiers'" (or "sections 'A', 'B'"). A section renamed or removed would leave them pointing
nowhere; a reference document outside the repository would leave a reader with no document at
all. Both are checked in every source, sweep and Markdown file of the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".py", ".toml", ".md")
SKIP = {".git", "results", "build", "node_modules", ".venv", ".hypothesis"}
# "docs/x.md, section 'A'" or "docs/x.md, sections 'A', 'B' and 'C'"; a citation may wrap.
CITATION = re.compile(r"(docs/[\w-]+\.md),\s+sections?\s+((?:'[^'\n]+'(?:,?\s+(?:and\s+)?)?)+)")
MENTION = re.compile(r"docs/[\w-]+\.md")
# Reference notes that lived outside the repository; spelled in parts so this file is not a hit.
OUTSIDE = re.compile(r"\b(?:" + "THEORY" + "|" + "EXPERIMENTS" + r")\.md\b")


def _files(root: Path):
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path == Path(__file__).resolve():
            continue  # its examples of broken citations are meant to be broken
        if path.suffix in SUFFIXES and path.is_file() and not SKIP.intersection(rel.parts):
            yield rel, path.read_text(encoding="utf-8")


def headings(path: Path) -> set[str]:
    """The text of every Markdown heading in ``path``, outside fenced code blocks."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.add(line.lstrip("#").strip())
    return found


def problems(root: Path) -> tuple[list[str], int]:
    """(every broken citation as 'file:line: why', the number of section citations checked)."""
    found, checked, cache = [], 0, {}
    for rel, text in _files(root):
        for match in OUTSIDE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{rel}:{line}: cites {match.group()}, which is not in the repository")
        for match in MENTION.finditer(text):
            if not (root / match.group()).is_file():
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{rel}:{line}: {match.group()} does not exist")
        for match in CITATION.finditer(text):
            doc = root / match.group(1)
            if not doc.is_file():
                continue  # reported above
            if doc not in cache:
                cache[doc] = headings(doc)
            line = text.count("\n", 0, match.start()) + 1
            for section in re.findall(r"'([^'\n]+)'", match.group(2)):
                checked += 1
                if section not in cache[doc]:
                    found.append(f"{rel}:{line}: {match.group(1)} has no section '{section}'")
    return found, checked


def test_every_cited_section_exists():
    found, checked = problems(ROOT)
    assert found == []
    # The modules of theory/, simulate/ and experiments/ cite their sections: if the pattern
    # stopped matching them, nothing would be checked and the test would pass vacuously.
    assert checked >= 30


@pytest.mark.parametrize("source, expected", [
    ("x = 1  # docs/theory.md, section 'No such section'\n",
     "docs/theory.md has no section 'No such section'"),
    ('"""See docs/theory.md, sections \'Real\', \'Missing\' and \'Real\'."""\n',
     "docs/theory.md has no section 'Missing'"),
    ('"""The model (docs/theory.md,\nsection \'Missing\')."""\n',
     "docs/theory.md has no section 'Missing'"),
    ("# see docs/gone.md\n", "docs/gone.md does not exist"),
    ('"""The proxy (' + "THEORY" + '.md §2)."""\n', "which is not in the repository"),
])
def test_the_checker_catches_a_broken_citation(tmp_path, source, expected):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "theory.md").write_text(
        "# Title\n\n## Real\n\ntext\n\n```\n## Fenced, not a heading\n```\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(source)
    found, _ = problems(tmp_path)
    assert len(found) == 1 and expected in found[0] and found[0].startswith("pkg/mod.py:")


def test_the_checker_accepts_good_citations(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "theory.md").write_text("# Title\n\n## Real one\n\n### Sub\n")
    (tmp_path / "mod.py").write_text("# docs/theory.md, sections 'Real one' and 'Sub'\n"
                                     "# docs/theory.md, section 'Title'; docs/theory.md\n")
    assert problems(tmp_path) == ([], 3)
