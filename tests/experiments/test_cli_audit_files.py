"""Audit files of ``theory estimate``: byte-order marks, ragged rows, bad bytes, directories."""

import numpy as np
import pytest

from experiments.cli import main
from experiments.commands.theory import read_audit_file


@pytest.mark.parametrize("name, text", [
    ("a.csv", "correct,kept\n1,0\n0,1\ntrue,yes\n"),
    ("a.jsonl", '{"correct": 1, "kept": 0}\n{"correct": 0, "kept": 1}\n'
                '{"correct": true, "kept": "yes"}\n'),
])
def test_a_utf8_byte_order_mark_is_read_like_the_plain_file(tmp_path, name, text):
    plain, bom = tmp_path / name, tmp_path / f"bom-{name}"
    plain.write_text(text)
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    c, k = read_audit_file(bom, "correct", "kept")
    np.testing.assert_array_equal(c, [True, False, True])
    np.testing.assert_array_equal(k, [False, True, True])


@pytest.mark.parametrize("name, content, message", [
    ("x.csv", b"correct,kept\n1,0\n1,0,1\n", "x.csv:3: 3 fields, the header has 2"),
    ("x.csv", b"correct,kept\n1\n", "x.csv:2: 1 fields, the header has 2"),
    ("x.csv", b"correct,kept\n1,0\n0,\xff\n", "x.csv:3: not UTF-8"),
    ("x.jsonl", b'{"correct": 1, "kept": 0}\n{"correct": "\xfe", "kept": 0}\n',
     "x.jsonl:2: not UTF-8"),
    ("x.csv", b"", "x.csv: empty file"),
    ("x.jsonl", b'{"correct": 1, "kept": ' + b"1" * 5000 + b"}\n", "x.jsonl:1: not valid JSON"),
    ("x.jsonl", b'{"correct": [1], "kept": 0}\n', "x.jsonl:1: column 'correct' must be a"),
])
def test_malformed_audit_files_name_the_file_and_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["theory", "estimate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_directory_is_named_not_a_traceback(tmp_path, capsys):
    assert main(["theory", "estimate", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
