"""The fast profile of the fuzz harness (``scripts/fuzz.py`` runs the long one): every entry in
scope must give a result or one clear line, never a traceback or a silent acceptance."""

import pytest
import numpy as np
from hypothesis import find, settings
from hypothesis.errors import NoSuchExample

from . import entries as fuzz_entries
from . import harness

EXAMPLES = 30  # per entry; the theory commands compile JAX functions, so they get fewer
THEORY = ["theory.pstar", "theory.selected_error_rate", "theory.bayes_accuracy",
          "theory.label_only.limit_accuracy", "theory.linear_verifier.keep_rates",
          "theory.linear_generator.keep_rates", "theory.estimate_pstar"]
SLOW = {"cli theory": 10}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = harness.Paths(tmp_path_factory.mktemp("fuzz"))
    return fuzz_entries.build(paths)


CHECKED = ["cli theory", "cli simulate", "cli sweep", "cli figures", "cli eigen",
           "cli summarize", "sweep.from_dict", "sweep.load_results (damaged folders)",
           "records readers (damaged files)", "records round trip (any text)"] + THEORY


def test_every_entry_of_the_long_profile_runs_here(built):
    assert sorted(built) == sorted(CHECKED)


@pytest.mark.parametrize("name", CHECKED)
def test_entry_gives_results_or_one_clear_line(built, name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # default output folders land here, not in the checkout
    tally = harness.Tally()
    examples = SLOW.get(name, EXAMPLES)
    harness.run_entries(built, examples, tally, fuzz_entries.CLI_ENTRIES, only={name})
    assert tally.tried[name] >= examples // 2
    assert not tally.failures, "\n".join(tally.failures.get(name, []))


@pytest.mark.parametrize("name", ["PROB", "NONNEG", "NEGATIVE", "REAL", "OUTSIDE_PROB"])
def test_the_float_draws_hold_no_subnormals(name):
    # The theory's input policy refuses subnormals: drawn as valid, one was refused naming
    # itself, not the parameter drawn invalid (a false failure of the long profile).
    tiny = np.finfo(float).tiny
    with pytest.raises(NoSuchExample):
        find(getattr(harness, name), lambda x: 0 < abs(x) < tiny,
             settings=settings(max_examples=2000, database=None, derandomize=True))
