"""``beyond-collapse simulate``: the table as JSON, the summary, and errors."""

import argparse
import json

import pytest

from experiments.commands import simulate as command


def _args(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_json_rows(capsys):
    argv = ["--d", "3", "--n", "200", "--p", "0.1,0.3", "--pruner", "none", "--pruner",
            "label_only:phi=0.9,psi=0.3", "--pruner", "linear:angle=0.5,tau=0.1",
            "--seeds", "2", "--json", "--no-theory"]
    assert command.main(_args(argv)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * 3 * 2
    assert {r["pruner"] for r in rows} == {"none", "label_only", "linear"}
    assert all(0 <= r["accuracy"] <= 1 and r["converged"] for r in rows)


def test_summary_text(capsys):
    argv = ["--d", "3", "--n", "200", "--p", "0.2", "--pruner", "oracle", "--seeds", "2",
            "--no-theory"]
    assert command.main(_args(argv)) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "oracle" in out[1]


@pytest.mark.parametrize("argv, name", [
    (["--p", "0.1", "--pruner", "random:rate=2"], "rate"),
    (["--p", "0.1", "--pruner", "magic"], "pruner"),
    (["--p", "0.1", "--pruner", "label_only:phi=0.9"], "psi"),
    (["--p", "1.5"], "p"),
    ([], "generator"),
])
def test_errors(argv, name):
    with pytest.raises(ValueError, match=name):
        command.main(_args(["--seeds", "2", "--no-theory"] + argv))


@pytest.mark.parametrize("argv, flag", [(["--n", "-10"], "--n"), (["--d", "0"], "--d"),
                                        (["--seeds", "0"], "--seeds"),
                                        (["--root-seed", str(2**64)], "--root-seed")])
def test_counts_and_seeds_are_refused_when_parsed(argv, flag, capsys):
    with pytest.raises(SystemExit):
        _args(["--p", "0.1"] + argv)
    assert f"argument {flag}:" in capsys.readouterr().err
