"""Sweep files, the resumable store, and a sweep killed midway resuming to the same table."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import cli
from simulate import store, sweep

ROOT = Path(__file__).resolve().parents[2]

SMALL = {
    "name": "small",
    "root_seed": 3,
    "seeds": 8,
    "theory": False,
    "data": {"d": 3, "mu_norm": 1.2},
    "grid": {"n": 120, "p": [0.1, 0.4], "generator": "flip:p={p}",
             "pruner": ["none", "label_only:phi=0.9,psi=0.2"]},
}

SMALL_TOML = """
name = "small"
root_seed = 3
seeds = 8
theory = false
[data]
d = 3
mu_norm = 1.2
[grid]
n = 120
p = [0.1, 0.4]
generator = "flip:p={p}"
pruner = ["none", "label_only:phi=0.9,psi=0.2"]
"""


def _same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a)
                      and math.isnan(b))


def assert_tables_equal(t1, t2):
    assert t1.columns == t2.columns
    assert len(t1) == len(t2)
    for r1, r2 in zip(t1.rows, t2.rows):
        bad = [c for c in t1.columns if not _same(r1[c], r2[c])]
        assert not bad, f"columns differ: {[(c, r1[c], r2[c]) for c in bad]}"


# --- the file format ---------------------------------------------------------------------------

def test_templates_expand_over_the_axes_they_name():
    spec = sweep.from_dict({
        "name": "t", "data": {"d": 4},
        "grid": {"n": 10, "p": [0.1, 0.25], "angle": [0.5, 1.0], "rate": [0.5],
                 "generator": ["flip:p={p}", "trained:n_real=20"],
                 "pruner": ["none", "top_r:rate={rate},angle={angle}", "linear:angle={angle}"]},
    })
    assert spec.generators == ("flip:p=0.1", "flip:p=0.25", "trained:n_real=20")
    assert spec.pruners == ("none", "top_r:rate=0.5,angle=0.5", "top_r:rate=0.5,angle=1.0",
                            "linear:angle=0.5", "linear:angle=1.0")


def test_units_cover_data_points_sizes_and_seeds_with_distinct_stable_hashes():
    raw = {"name": "h", "seeds": [4, 7], "data": {"d": [2, 3], "mu_norm": [1.0, 2.0]},
           "grid": {"n": [10, 20, 30], "generator": "flip:p=0.1"}}
    spec = sweep.from_dict(raw)
    units = spec.units()
    assert len(units) == 4 * 3 * 2
    keys = [store.unit_hash(u) for u in units]
    assert len(set(keys)) == len(keys)
    # The same file gives the same keys; another root seed changes every key.
    assert keys == [store.unit_hash(u) for u in sweep.from_dict(dict(raw)).units()]
    other = [store.unit_hash(u) for u in sweep.from_dict({**raw, "root_seed": 1}).units()]
    assert not set(other) & set(keys)
    # The normalised configuration reads back to the same sweep.
    assert sweep.from_dict(spec.config).config == spec.config


@pytest.mark.parametrize("mutate, names", [
    (lambda r: r.update(colour="red"), "colour"),
    (lambda r: r.update(name=""), "name"),
    (lambda r: r.update(seeds=0), "seeds"),
    (lambda r: r.update(root_seed=-1), "root_seed"),
    (lambda r: r["grid"].update(n=[100, -5]), "[grid].n"),
    (lambda r: r["grid"].update(lam=-1.0), "[grid].lam"),
    (lambda r: r["grid"].update(lam="big"), "[grid].lam"),
    (lambda r: r["grid"].update(loss="hinge"), "[grid].loss"),
    (lambda r: r["grid"].update(real_fraction=1.5), "[grid].real_fraction"),
    (lambda r: r["grid"].update(p=[0.1, 1.5]), "[grid].generator"),
    (lambda r: r["grid"].update(q=[1, 2]), "[grid].q"),
    (lambda r: r["grid"].update(generator="flip:p={nope}"), "nope"),
    (lambda r: r["grid"].update(pruner="oracle:phi=1"), "[grid].pruner"),
    (lambda r: r["grid"].update(pruner="random:rate=0"), "[grid].pruner"),
    (lambda r: r["data"].update(d=0), "[data].d"),
    (lambda r: r["data"].update(sigma=1), "[data].sigma"),
    (lambda r: r.update(fit={"tol": -1}), "[fit].tol"),
    (lambda r: r["grid"].pop("n"), "[grid].n"),
])
def test_malformed_sweeps_name_the_key(mutate, names):
    raw = {**SMALL, "data": dict(SMALL["data"]), "grid": dict(SMALL["grid"])}
    mutate(raw)
    with pytest.raises(ValueError) as err:
        sweep.from_dict(raw, source="bad.toml")
    assert "bad.toml" in str(err.value) and names in str(err.value)


def test_toml_syntax_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nseeds = = 3\n')
    with pytest.raises(ValueError, match=r"broken\.toml.*line"):
        sweep.load(path)
    with pytest.raises(ValueError, match="does not exist"):
        sweep.load(tmp_path / "missing.toml")


# --- the store ---------------------------------------------------------------------------------

def test_run_stores_reuses_and_refuses_another_sweep(tmp_path, monkeypatch):
    spec = sweep.from_dict(SMALL)
    out = tmp_path / "out"
    table = sweep.run(spec, out, progress=False)
    assert len(table) == 8 * 2 * 2
    assert sweep.status(spec, out) == (8, 8)
    assert (out / "results.csv").exists() and (out / "sweep.json").exists()
    stored = sweep.load_results(out)
    assert_tables_equal(stored, table)
    # Every row is one (seed, generator, pruner): no duplicates.
    keys = {(r["seed"], r["generator_spec"], r["pruner_spec"]) for r in table.rows}
    assert len(keys) == len(table)

    # A complete directory is not recomputed.
    def fail(params):
        raise AssertionError("recomputed a stored unit")

    monkeypatch.setattr(sweep, "compute_unit", fail)
    assert_tables_equal(sweep.run(spec, out, progress=False), table)

    # A lost unit file is recomputed (and only it); a corrupt one too.
    monkeypatch.undo()
    files = sorted((out / "units").glob("*.json"))
    files[0].unlink()
    files[1].write_text('{"unit": ')
    (out / "results.csv").unlink()
    calls = []
    original = sweep.compute_unit
    monkeypatch.setattr(sweep, "compute_unit", lambda p: calls.append(p) or original(p))
    assert_tables_equal(sweep.run(spec, out, progress=False), table)
    assert len(calls) == 2

    other = sweep.from_dict({**SMALL, "seeds": 2})
    with pytest.raises(ValueError, match="another sweep"):
        sweep.run(other, out, progress=False)


def test_load_results_refuses_incomplete_and_malformed(tmp_path):
    spec = sweep.from_dict({**SMALL, "seeds": 2})
    out = tmp_path / "out"
    sweep.run(spec, out, progress=False)
    next((out / "units").glob("*.json")).unlink()
    (out / "results.csv").unlink()
    with pytest.raises(ValueError, match=r"incomplete \(1/2 units"):
        sweep.load_results(out)
    sweep.run(spec, out, progress=False)
    lines = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(lines[:2] + [lines[2] + ",extra"]) + "\n")
    with pytest.raises(ValueError, match=r"results\.csv:3"):
        sweep.load_results(out)
    with pytest.raises(ValueError, match="no sweep"):
        sweep.load_results(tmp_path / "empty")


def test_killed_sweep_resumes_to_the_identical_table(tmp_path, monkeypatch):
    """A sweep process SIGKILLed after its third stored unit (by the sweep's own hook, so at
    the same point on any machine) resumes, computing only the five missing units, to the
    table of an uninterrupted run."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL_TOML)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "PYTHONPATH": str(ROOT), sweep.KILL_AFTER_ENV: "3"}
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "sweep", str(path),
                           "--out", str(killed), "--quiet"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    units = killed / "units"
    assert len(list(units.glob("*.json"))) == 3 and not (killed / "results.csv").exists()

    calls = []
    original = sweep.compute_unit
    monkeypatch.setattr(sweep, "compute_unit", lambda p: calls.append(p) or original(p))
    assert cli.main(["sweep", str(path), "--out", str(killed), "--quiet"]) == 0
    assert len(calls) == 5
    monkeypatch.undo()
    assert cli.main(["sweep", str(path), "--out", str(clean), "--quiet"]) == 0
    assert (killed / "results.csv").read_bytes() == (clean / "results.csv").read_bytes()
    assert store.stray_temporary_files(killed) == []
    assert len(list(units.glob("*.json"))) == 8


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    store.write_atomic(path, "old")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        store.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert store.stray_temporary_files(tmp_path) == []


def test_cli_runs_a_sweep_file(tmp_path, capsys):
    out = tmp_path / "tiny"
    path = tmp_path / "t.toml"
    path.write_text(SMALL_TOML.replace("seeds = 8", "seeds = 1"))
    assert cli.main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    assert str(out / "results.csv") in capsys.readouterr().out
    assert cli.main(["sweep", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
