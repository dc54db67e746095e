"""``beyond-collapse figures``: every figure from a tiny grid, stored results reused, bad files
named. The grids here are shrunk copies of the quick sweep files."""

from __future__ import annotations

import re

import pytest

from experiments import cli
from figures import _common, fig_generations
from simulate import sweep

SHRINK = {  # sweep name: {key: tiny value}
    "collapse": {"seeds": "2", "n": "[30, 100]", "angle": "[0.2]"},
    "phase-transition": {"seeds": "2", "n": "[100]", "p": "[0.2, 0.8]"},
    "pstar-correlation": {"seeds": "2", "phi": "[0.9]", "psi": "[0.1, 0.5]", "angle": "[0.5]"},
    "selection-rate": {"seeds": "2", "n": "[50, 200]"},
}


@pytest.fixture
def tiny_sweeps(tmp_path, monkeypatch):
    folder = tmp_path / "sweeps"
    folder.mkdir()
    for name, changes in SHRINK.items():
        text = (_common.SWEEPS / f"{name}-quick.toml").read_text()
        for key, value in changes.items():
            text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
            assert count == 1, (name, key)
        # The figures draw no theory column: skip the predictions (their compile time).
        text = text.replace("\n[data]", "\ntheory = false\n[data]", 1)
        (folder / f"{name}-quick.toml").write_text(text)
    monkeypatch.setattr(_common, "SWEEPS", folder)
    monkeypatch.setattr(fig_generations, "QUICK",
                        {**fig_generations.QUICK, "seeds": 2, "generations": 3, "n": 100})
    return tmp_path / "out"


def test_every_figure_is_made_and_stored_results_are_reused(tiny_sweeps, monkeypatch, capsys):
    out = tiny_sweeps
    assert cli.main(["figures", "--quick", "--out", str(out), "--quiet"]) == 0
    from experiments.commands.figures import FIGURES

    for name, module in FIGURES:
        stem = module.split(".")[-1]
        for ext in ("png", "pdf"):
            path = out / f"{stem}.{ext}"
            assert path.exists() and path.stat().st_size > 5000, path
    assert (out / "fig_collapse.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "fig_collapse.pdf").read_bytes()[:5] == b"%PDF-"
    for name in SHRINK:
        assert (out / "data" / f"{name}-quick" / "results.csv").exists()
    assert (out / "data" / "generations" / "results.csv").exists()

    # A second run draws from the stored results: no unit and no generation is recomputed.
    def fail(*args, **kwargs):
        raise AssertionError("recomputed stored results")

    monkeypatch.setattr(sweep, "compute_unit", fail)
    monkeypatch.setattr("simulate.generations.generations", fail)
    capsys.readouterr()
    assert cli.main(["figures", "--quick", "--out", str(out), "--quiet"]) == 0
    from experiments.commands.figures import EXPERIMENT_FIGURES

    made = len(FIGURES) + sum((_common.DATA / data / "results.csv").exists()
                              for _, _, data in EXPERIMENT_FIGURES)
    assert f"{made} figures" in capsys.readouterr().out


def test_a_malformed_stored_table_is_named(tiny_sweeps, capsys):
    out = tiny_sweeps
    assert cli.main(["figures", "--quick", "--out", str(out), "--quiet",
                     "--only", "selection_rate"]) == 0
    results = out / "data" / "selection-rate-quick" / "results.csv"
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:3] + ["1,2,3"] + lines[4:]) + "\n")
    assert cli.main(["figures", "--quick", "--out", str(out), "--quiet",
                     "--only", "selection_rate"]) == 2
    assert "results.csv:4" in capsys.readouterr().err


def test_scheduler_needs_dask(capsys):
    assert cli.main(["figures", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--executor dask" in capsys.readouterr().err


def test_quick_runs_never_write_the_committed_experiment_figures(tmp_path, monkeypatch):
    """The eigen and summarize figures come from stored cpu results; with --quick and no --out
    they go to the quick folder like every other figure, not over the committed ones."""
    from experiments.commands.figures import EXPERIMENT_FIGURES

    stored = [(name, module) for name, module, data in EXPERIMENT_FIGURES
              if (_common.DATA / data / "results.csv").exists()]
    if not stored:
        pytest.skip("no stored experiment results in this checkout")
    quick = tmp_path / "quick"
    monkeypatch.setattr(_common, "QUICK_OUT", quick)
    before = {m: (_common.HERE / f"{m.split('.')[-1]}.png").stat().st_mtime_ns
              for _, m in stored}
    assert cli.main(["figures", "--quick", "--quiet", "--only", *[n for n, _ in stored]]) == 0
    for _, module in stored:
        stem = module.split(".")[-1]
        assert (quick / f"{stem}.png").exists() and (quick / f"{stem}.pdf").exists()
        assert (_common.HERE / f"{stem}.png").stat().st_mtime_ns == before[module]


def test_saved_figures_follow_the_umask(tmp_path):
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from figures import _common

    old = os.umask(0o022)
    try:
        fig, _ = plt.subplots()
        paths = _common.save(fig, "probe", tmp_path)
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {oct(0o644)}


@pytest.mark.slow
def test_figures_in_worker_processes(tmp_path):
    # two theory figures, each made in its own spawned process, reported in the usual order
    import json
    import subprocess
    import sys

    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "figures", "--quick", "--only", "finite",
         "breakdown_gap", "--jobs", "2", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert list(report["figures"]) == ["breakdown_gap", "finite"]
    for stem in ("fig_finite", "fig_breakdown_gap"):
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 at a time" in proc.stderr


def test_jobs_must_be_a_positive_whole_number(capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        cli.main(["figures", "--jobs", "0"])
    assert stop.value.code == 2 and "--jobs" in capsys.readouterr().err
    monkeypatch.setenv("BEYOND_COLLAPSE_FIGURE_JOBS", "two")
    assert cli.main(["figures", "--only", "finite"]) == 2
    assert "BEYOND_COLLAPSE_FIGURE_JOBS" in capsys.readouterr().err
