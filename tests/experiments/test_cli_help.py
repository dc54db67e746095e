"""The command line's own documentation: every flag has help, the flag vocabulary is the same
in every subcommand, and every example printed by ``--help`` runs as written.

The examples run through ``cli.main`` with the expensive calls (the experiment pipelines, sweep
and simulation runs, figure rendering) replaced by recorders, so the command lines themselves,
their settings and their validation run as a user's would; the theory calculators run for real.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from experiments import cli
from simulate.table import Table

ROOT = Path(__file__).resolve().parents[2]


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _all_parsers():
    parser = cli.build_parser()
    yield "beyond-collapse", parser
    for name, sub in _subparsers(parser):
        yield name, sub
        for inner, subsub in _subparsers(sub):
            yield f"{name} {inner}", subsub


def _examples() -> list[str]:
    """Every ``beyond-collapse ...`` line (with its ``\\`` continuations) of every help text."""
    found = []
    for _, parser in _all_parsers():
        lines = parser.format_help().splitlines()
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            if line.startswith("beyond-collapse "):
                while line.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    line = line[:-1] + " " + lines[i].strip()
                found.append(line)
            i += 1
    return list(dict.fromkeys(found))


EXAMPLES = _examples()


def test_every_flag_has_help():
    missing = []
    for name, parser in _all_parsers():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_one_flag_vocabulary():
    """Seeds are --root-seed (a seed) and --seeds (a count) everywhere; --json and --out exist
    wherever output is written; --preset has choices."""
    seen = {}
    for name, parser in _all_parsers():
        flags = {s: a for a in parser._actions for s in a.option_strings}
        seen[name] = flags
        if "--seed" in flags:  # only as a hidden, deprecated alias of --root-seed
            assert flags["--seed"].help == argparse.SUPPRESS and "--root-seed" in flags, name
        if "--preset" in flags:
            assert flags["--preset"].choices, name
    for name in ("theory", "simulate", "sweep", "figures", "eigen", "summarize"):
        assert "--json" in seen[name], name
    for name in ("simulate", "sweep", "eigen", "summarize"):
        assert "--root-seed" in seen[name], name
    for name in ("simulate", "sweep", "figures", "eigen", "summarize"):
        assert "--out" in seen[name], name
    assert "--no-compile-cache" in seen["beyond-collapse"]


def test_the_examples_were_found():
    commands = {shlex.split(e)[1] for e in EXAMPLES}
    assert commands == {"theory", "simulate", "sweep", "figures", "eigen", "summarize"}
    assert len(EXAMPLES) >= 25


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    """cwd with the files the examples name; the expensive calls record their arguments."""
    calls = []
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    shutil.copy(ROOT / "examples" / "sweeps" / "tiny.toml", tmp_path / "big.toml")
    (tmp_path / "audit.csv").write_text("correct,kept\n1,1\n1,0\n0,0\n1,1\n0,1\n")
    record = '{"id": "%d", "url": "u", "title": "t", "summary": "a b", "text": "a b c"}\n'
    for name in ("train.jsonl", "test.jsonl"):
        (tmp_path / name).write_text("".join(record % i for i in range(3)))

    from experiments.eigen import pipeline as eigen_pipeline
    from experiments.summarize import pipeline as summarize_pipeline
    from simulate import sweep

    def pipeline_run(config, out, *, progress=True):
        calls.append(("pipeline", config, Path(out)))
        return []

    for module in (eigen_pipeline, summarize_pipeline):
        monkeypatch.setattr(module, "run", pipeline_run)
        monkeypatch.setattr(module, "load_results", lambda out: ([], {"stub": True}))

    def sweep_run(spec, out, **kwargs):
        calls.append(("sweep", spec, Path(out)))
        return Table([{"n": n} for n in spec.n])

    monkeypatch.setattr(sweep, "run", sweep_run)

    def simulate_run(mu, n, **kwargs):
        calls.append(("simulate", (mu, n), kwargs))
        return Table([{"n": 1, "loss": "logistic", "lam": 0.01, "real_fraction": 0.0,
                       "generator_index": 0, "pruner_index": 0, "accuracy": 0.9, "p": 0.1,
                       "phi": 1.0, "psi": 1.0, "pstar": 0.5, "converged": True}])

    import simulate

    monkeypatch.setattr(simulate, "run", simulate_run)

    from experiments.commands import figures as figures_command

    def fake_render(quick=False, out_dir=None, **kwargs):
        calls.append(("figure", quick, out_dir, kwargs))
        return [Path(out_dir or "figures") / "fig.png"]

    import importlib

    for _, module_name in figures_command.FIGURES:
        monkeypatch.setattr(importlib.import_module(module_name), "render", fake_render)
    monkeypatch.setattr(figures_command, "EXPERIMENT_FIGURES", [])
    return calls


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_runs_as_written(example, stubbed, capsys):
    argv = shlex.split(example, comments=True)
    assert argv[0] == "beyond-collapse"
    rc = cli.main(argv[1:])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    if "--json" in argv:
        json.loads(captured.out)  # one standard JSON document
    command = argv[1]
    if command in ("eigen", "summarize", "sweep"):
        assert stubbed, "the example did not reach its run"
    if command == "simulate":
        assert stubbed and stubbed[0][0] == "simulate"


def test_theory_json_before_the_calculator_is_json(capsys):
    """``theory --json pstar`` printed text: the calculator's default reset the group's flag."""
    assert cli.main(["theory", "--json", "pstar", "--phi", "0.9", "--psi", "0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["pstar"] == pytest.approx(0.75)
    assert cli.main(["theory", "--json", "finite", "--alpha", "2", "--p", "0.1"]) == 0
    assert "accuracy" in json.loads(capsys.readouterr().out)
    assert cli.main(["theory", "pstar", "--phi", "0.9", "--psi", "0.3"]) == 0
    assert capsys.readouterr().out.startswith("p* =")


def test_seed_is_a_deprecated_alias_of_root_seed(stubbed, capsys):
    assert cli.main(["eigen", "--seed", "4", "--out", "o", "--quiet"]) == 0
    assert stubbed[-1][1]["root_seed"] == 4
    assert "--seed is deprecated; use --root-seed" in capsys.readouterr().err
    assert cli.main(["summarize", "--root-seed", "5", "--out", "o2", "--quiet"]) == 0
    assert stubbed[-1][1]["root_seed"] == 5


def test_preset_choices_are_enforced(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["eigen", "--preset", "gpu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--preset" in err and "quick" in err and "cpu" in err


def test_sweep_overrides_seeds(stubbed, capsys):
    assert cli.main(["sweep", "examples/sweeps/tiny.toml", "--root-seed", "9", "--seeds", "3",
                     "--out", "t", "--json"]) == 0
    spec = stubbed[-1][1]
    assert spec.root_seed == 9 and spec.seeds == (0, 1, 2)
    assert json.loads(capsys.readouterr().out)["results"].endswith("results.csv")


def test_figures_quick_and_preset_quick_are_one_flag(stubbed, capsys):
    assert cli.main(["figures", "--quick", "--only", "collapse", "--json"]) == 0
    assert cli.main(["figures", "--preset", "quick", "--only", "collapse"]) == 0
    assert [c[1] for c in stubbed if c[0] == "figure"] == [True, True]
    assert cli.main(["figures", "--only", "finite", "--recompute"]) == 0
    assert stubbed[-1][3]["recompute"] is True


def test_a_command_builds_only_its_own_parser():
    """``beyond-collapse X`` imports X's libraries only (JAX takes seconds to import): the
    figures command hands its work to worker processes and does not import JAX itself, while
    the top-level help still lists every command."""
    import subprocess
    import sys

    probe = ("import sys\nfrom experiments import cli\n"
             "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "print('JAX', 'jax' in sys.modules)")
    for argv in (["--help"], ["figures", "--help"]):
        out = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[-1] == "JAX False", argv
    listed = subprocess.run([sys.executable, "-m", "experiments.cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120).stdout
    for name, _, _ in cli.COMMANDS:
        assert name in listed
