"""The experiment figures read stored runs through ``simulate.store.read_run``, which needs none
of the training code: the same rows and summary as the pipelines' own loaders, and no
experiment module loaded by drawing them."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import figures
from experiments._stats import spearman
from experiments.eigen import pipeline as eigen_pipeline
from experiments.summarize import pipeline as summarize_pipeline
from experiments.summarize import pstar
from figures import _common, fig_summarize
from simulate import store

ROOT = Path(__file__).resolve().parents[2]


def _same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a)
                      and math.isnan(b))


@pytest.mark.parametrize("folder, loader", [("eigen-cpu", eigen_pipeline.load_results),
                                            ("summarize-cpu", summarize_pipeline.load_results)])
def test_the_reader_gives_what_the_pipeline_loads(folder, loader):
    rows, summary = store.read_run(figures.DATA / folder)
    expected_rows, expected_summary = loader(figures.DATA / folder)
    assert summary == expected_summary
    assert len(rows) == len(expected_rows)
    for row, expected in zip(rows, expected_rows):
        assert row.keys() == expected.keys()
        assert all(_same(row[k], expected[k]) for k in row), row


def test_the_reader_names_a_folder_without_results(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path} holds no finished eigenvalue run"):
        store.read_run(tmp_path, "eigenvalue run")


def test_names_stored_as_nan_read_back_empty(tmp_path):
    store.write_csv(tmp_path / "results.csv", ["model", "verifier", "accuracy"],
                    [{"model": "generator", "verifier": None, "accuracy": 0.5},
                     {"model": "synthetic", "verifier": "oracle", "accuracy": float("nan")}])
    rows, summary = store.read_run(tmp_path)
    assert [r["verifier"] for r in rows] == ["", "oracle"]
    assert math.isnan(rows[1]["accuracy"]) and summary == {}


def test_the_figures_copies_agree_with_the_experiments():
    # Figures may not import experiments, so they keep their own copies of these two.
    assert fig_summarize.RULES == pstar.RULES
    rng = np.random.default_rng(0)
    cases = [(rng.normal(size=9), rng.normal(size=9)), ([1, 2], [3, 4]), ([1, 1, 1], [1, 2, 3])]
    for x, y in cases:
        assert _same(_common.spearman(x, y), spearman(x, y))


def test_drawing_the_experiment_figures_loads_no_training_code(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from figures import fig_eigen, fig_summarize
        fig_eigen.render(out_dir={str(tmp_path)!r})
        fig_summarize.render(out_dir={str(tmp_path)!r})
        print(",".join(sorted(m for m in sys.modules
                              if m.split(".")[0] in ("experiments", "equinox", "optax"))))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fig_eigen.pdf", "fig_eigen.png", "fig_summarize.pdf", "fig_summarize.png"]
