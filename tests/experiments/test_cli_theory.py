"""The ``beyond-collapse theory`` command: output formats, errors, audit files."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import theory
from experiments.cli import main


def run_json(capsys, *argv):
    assert main(["theory", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_pstar_json_matches_the_library(capsys):
    out = run_json(capsys, "pstar", "--phi", "0.9", "--psi", "0.3", "--p", "0.5,0.8")
    assert out["pstar"] == pytest.approx(0.75)
    assert out["majority_correct"] == [True, False]
    assert out["selected_error_rate"] == pytest.approx(
        theory.selected_error_rate(np.array([0.5, 0.8]), 0.9, 0.3).tolist()
    )


def test_human_readable_by_default(capsys):
    assert main(["theory", "pstar", "--phi", "0.9", "--psi", "0.3"]) == 0
    assert "p* = phi / (phi + psi) = 0.7500" in capsys.readouterr().out


def test_linear_verifier_and_report(capsys):
    out = run_json(capsys, "linear-verifier", "--mu-norm", "1.2", "--angle", "0.9",
                   "--loss", "square", "--lam", "1.0", "--p", "0.2")
    mu, w_v = np.array([1.2, 0.0]), np.array([np.cos(0.9), np.sin(0.9)])
    assert out["breakdown"] == pytest.approx(
        float(theory.linear_verifier.breakdown(mu, w_v, 1.0, loss="square")))
    assert out["pstar"] == pytest.approx(0.772, abs=5e-4)
    rep = run_json(capsys, "report", "--loss", "square", "--angles", "0.9")
    names = [r["verifier"] for r in rep["verifiers"]]
    assert "oracle" in names and any(n.startswith("linear") for n in names)
    oracle = rep["verifiers"][names.index("oracle")]
    assert oracle["accuracy"] == pytest.approx([rep["bayes_accuracy"]] * len(rep["p"]))


def test_bad_input_exits_with_a_message_naming_the_parameter(capsys):
    assert main(["theory", "pstar", "--phi", "0", "--psi", "0"]) == 2
    assert "phi and psi" in capsys.readouterr().err
    assert main(["theory", "label-only", "--p", "0.2", "--phi", "0.9", "--psi", "0.3",
                 "--lam", "-1"]) == 2
    assert "lam" in capsys.readouterr().err


def test_estimate_reads_csv_and_jsonl(tmp_path, capsys):
    rng = np.random.default_rng(0)
    c = rng.random(80) < 0.7
    s = np.where(c, rng.random(80) < 0.8, rng.random(80) < 0.3)
    ref = theory.estimate_pstar(c, s)
    csv_path = tmp_path / "audit.csv"
    csv_path.write_text("id,correct,kept\n" + "".join(
        f"{i},{int(a)},{'true' if b else 'false'}\n" for i, (a, b) in enumerate(zip(c, s))))
    out = run_json(capsys, "estimate", str(csv_path))
    assert out["pstar"] == pytest.approx(ref.pstar)
    assert out["pstar_interval"] == pytest.approx(list(ref.pstar_interval))
    jsonl = tmp_path / "audit.jsonl"
    jsonl.write_text("".join(json.dumps({"ok": bool(a), "keep": bool(b)}) + "\n"
                             for a, b in zip(c, s)))
    out = run_json(capsys, "estimate", str(jsonl), "--correct-column", "ok",
                   "--kept-column", "keep")
    assert out["n_kept_wrong"] == ref.n_kept_wrong


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad.csv", "correct,kept\n1,1\n1,maybe\n", "bad.csv:3"),
        ("bad.csv", "correct,keep\n1,1\n", "kept"),
        ("bad.jsonl", '{"correct": 1, "kept": 0}\n{"correct": 1\n', "bad.jsonl:2"),
        ("bad.jsonl", '{"correct": 1}\n', "bad.jsonl:1"),
        ("empty.csv", "correct,kept\n", "no audit records"),
    ],
)
def test_malformed_audit_files_get_an_error_naming_the_line(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    assert main(["theory", "estimate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_console_script_is_installed():
    exe = shutil.which("beyond-collapse") or str(
        __import__("pathlib").Path(sys.executable).with_name("beyond-collapse"))
    res = subprocess.run([exe, "theory", "pstar", "--phi", "0.6", "--psi", "0.2", "--json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(res.stdout)["pstar"] == pytest.approx(0.75)
