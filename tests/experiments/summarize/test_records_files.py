"""XLSUM and candidate files: any text round-trips, and every malformed file is refused with
one line naming the file and line."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.summarize import records

# Line and paragraph separators that str.splitlines breaks at, inside real news text.
BREAKS = "\u0085\u2028\u2029\x0b\x0c\x1c\x1d\x1e\r"


def test_text_with_unicode_line_breaks_round_trips(tmp_path):
    text = "first" + BREAKS + "last"
    arts = [records.Article("a1", "u", "t" + BREAKS, "s\u2028s", text)]
    records.write_xlsum(tmp_path / "x.jsonl", arts)
    assert records.read_xlsum(tmp_path / "x.jsonl") == arts
    cands = [records.Candidate("a1", text, -1.5)]
    records.write_candidates(tmp_path / "c.jsonl", cands)
    assert records.read_candidates(tmp_path / "c.jsonl") == cands


@given(st.lists(st.tuples(st.text(), st.text(), st.text(), st.text(), st.text()), min_size=1,
                max_size=4, unique_by=lambda t: t[0]),
       st.lists(st.tuples(st.text(), st.text(), st.floats(allow_nan=False,
                                                          allow_infinity=False)),
                min_size=1, max_size=4))
def test_any_text_round_trips(tmp_path_factory, arts, cands):
    folder = tmp_path_factory.mktemp("rt")
    arts = [records.Article(*a) for a in arts]
    records.write_xlsum(folder / "x.jsonl", arts)
    assert records.read_xlsum(folder / "x.jsonl") == arts
    cands = [records.Candidate(*c) for c in cands]
    records.write_candidates(folder / "c.jsonl", cands)
    assert records.read_candidates(folder / "c.jsonl") == cands


GOOD = '{"article_id": "a", "text": "t", "score": %s}'


@pytest.mark.parametrize("score, message", [
    ("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"), ("1e400", "must be a finite number"),
    ("1" * 400, "must be a finite number"), ("-" + "9" * 400, "must be a finite number"),
])
def test_non_finite_scores_are_refused_with_file_and_line(tmp_path, score, message):
    path = tmp_path / "c.jsonl"
    path.write_text(GOOD % "0.5" + "\n" + GOOD % score + "\n")
    with pytest.raises(ValueError, match=rf"c.jsonl:2: .*{message}"):
        records.read_candidates(path)


def test_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"article_id": "a", "text": "t", "score": 1, "score": 2}\n')
    with pytest.raises(ValueError, match=r"c.jsonl:1: key 'score' given twice"):
        records.read_candidates(path)


@pytest.mark.parametrize("reader", [records.read_xlsum, records.read_candidates])
@pytest.mark.parametrize("content", [b"", b"\n\n  \n", "\ufeff".encode()])
def test_an_empty_file_is_refused_by_name(tmp_path, reader, content):
    path = tmp_path / "e.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"e.jsonl: no records"):
        reader(path)


def test_bad_bytes_and_directories_name_the_file(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes((GOOD % "1").encode() + b"\n" + b'{"article_id": "\xff"}\n')
    with pytest.raises(ValueError, match=r"b.jsonl:2: not UTF-8"):
        records.read_candidates(path)
    with pytest.raises(ValueError, match=r"is a directory"):
        records.read_candidates(tmp_path)


def test_writers_refuse_what_readers_refuse(tmp_path):
    with pytest.raises(ValueError, match=r"record 1: cannot be written"):
        records.write_candidates(tmp_path / "c.jsonl", [records.Candidate("a", "t", math.inf)])
    with pytest.raises(ValueError, match=r"record 1: cannot be written"):
        records.write_candidates(tmp_path / "c.jsonl", [records.Candidate("a", "\ud800", 0.0)])
    with pytest.raises(ValueError, match=r"field 'text' must be a string"):
        records.write_xlsum(tmp_path / "x.jsonl", [records.Article("a", "u", "t", "s", 3)])
    assert not (tmp_path / "c.jsonl").exists()
