"""Bad command lines get one line naming the parameter or file (exit 2), never a traceback;
valid ones that look unusual (negative vectors) are accepted."""

import json

import numpy as np
import pytest

import theory
from experiments.cli import main
from theory import linear_generator


def one_line_error(capsys, argv, *expected):
    try:
        rc = main(argv)
    except SystemExit as exc:  # refused by argparse, naming the flag
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    for text in expected:
        assert text in last, last
    return last


@pytest.mark.parametrize("argv, expected", [
    (["eigen", "--set", "tol=abc"], ["--set tol", "number"]),
    (["summarize", "--set", "threshold=abc"], ["--set threshold", "number"]),
    (["summarize", "--set", "temperature=abc"], ["--set temperature", "number"]),
    (["summarize", "--set", "title_in_source=1"], ["--set title_in_source", "true or false"]),
    (["eigen", "--set", "retrain.lr=Infinity"], ["retrain.lr", "finite"]),
    (["eigen", "--set", 'model={"width": 3}'], ["model", "width"]),
    (["eigen", "--seed", str(2**64)], ["--seed"]),
    (["summarize", "--root-seed", str(2**64)], ["--root-seed"]),
    (["summarize", "--xlsum-train", "x.jsonl"], ["--xlsum-train and --xlsum-test"]),
    (["summarize", "--xlsum-test", "x.jsonl"], ["--xlsum-train and --xlsum-test"]),
])
def test_experiment_settings_of_the_wrong_kind_are_named(tmp_path, capsys, argv, expected):
    one_line_error(capsys, [*argv, "--out", str(tmp_path / "o"), "--quiet"], *expected)
    assert not (tmp_path / "o").exists()  # refused before any work


def test_xlsum_files_are_checked_before_any_work(tmp_path, capsys):
    real = tmp_path / "train.jsonl"
    real.write_text("")
    one_line_error(capsys, ["summarize", "--xlsum-train", str(real), "--xlsum-test",
                            str(tmp_path), "--out", str(tmp_path / "o")], "--xlsum-test",
                   "is a directory")


@pytest.mark.parametrize("command", [["eigen"], ["summarize"], ["figures", "--only", "finite"]])
def test_out_under_or_equal_to_a_file_is_named(tmp_path, capsys, command):
    file = tmp_path / "f.txt"
    file.write_text("x")
    one_line_error(capsys, [*command, "--out", str(file)], "--out", "is a file")
    one_line_error(capsys, [*command, "--out", str(file / "sub")], "--out", "f.txt is a file")


def test_sweep_out_and_file_paths_are_named(tmp_path, capsys):
    sweep_file = tmp_path / "s.toml"
    sweep_file.write_text('name = "s"\nseeds = 1\n[grid]\nn = 10\ngenerator = "flip:p=0.1"\n')
    file = tmp_path / "f.txt"
    file.write_text("x")
    one_line_error(capsys, ["sweep", str(sweep_file), "--out", str(file)], "is a file")
    one_line_error(capsys, ["sweep", str(sweep_file), "--out", str(file / "d")], "is a file")
    one_line_error(capsys, ["sweep", str(tmp_path)], "is a directory")
    (tmp_path / "bad.toml").write_bytes(b'name = "\xff"\n')
    one_line_error(capsys, ["sweep", str(tmp_path / "bad.toml")], "bad.toml", "UTF-8")


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import dask

    sweep_file = tmp_path / "s.toml"
    sweep_file.write_text('name = "s"\nseeds = 1\n[grid]\nn = 10\ngenerator = "flip:p=0.1"\n')
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        one_line_error(capsys, ["sweep", str(sweep_file), "--out", str(tmp_path / "o"),
                                "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1",
                                "--quiet"], "scheduler tcp://127.0.0.1:1", "cannot connect")
    one_line_error(capsys, ["sweep", str(sweep_file), "--out", str(tmp_path / "o"),
                            "--executor", "dask", "--scheduler", "nowhere", "--quiet"],
                   "scheduler nowhere")


def test_negative_vectors_are_values_not_flags(capsys):
    argv = ["theory", "linear-generator", "--mu", "-1.5,0", "--w-g", "-1,-0.5", "--w-v",
            "-1,0.25", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    p, phi, psi = linear_generator.keep_rates(np.array([-1.5, 0.0]), np.array([-1, -0.5]),
                                              np.array([-1, 0.25]), 0.0)
    assert out["w_g"] == [-1, -0.5] and out["p"] == pytest.approx(float(p))
    assert out["pstar"] == pytest.approx(float(theory.pstar(phi, psi)))


@pytest.mark.parametrize("flag", ["--n", "--loss", "--lam", "--real-fraction"])
def test_empty_lists_are_refused_not_replaced_by_defaults(capsys, flag):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--p", "0.1", flag, ","])
    assert exc.value.code == 2
    assert f"argument {flag}: expected at least one" in capsys.readouterr().err


def test_json_output_is_standard_json(capsys):
    # lam = 0 with nothing kept gives V = inf: printed as null, not the non-standard Infinity.
    assert main(["theory", "finite", "--json", "--phi", "1", "--psi", "0", "--p", "1",
                 "--lam", "0", "--alpha", "1,2"]) == 0
    text = capsys.readouterr().out
    assert "Infinity" not in text and "NaN" not in text
    out = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the output"))
    assert out["V"] == [[None, None]]
