"""The fast profile of the fuzz harness (``scripts/fuzz.py`` runs the long one): every entry in
scope must give a result or one clear line, never a traceback or a silent acceptance."""

import pytest

from . import entries as fuzz_entries
from . import harness

EXAMPLES = 30  # per entry; the theory commands compile JAX functions, so they get fewer
SLOW = {"cli theory": 10}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = harness.Paths(tmp_path_factory.mktemp("fuzz"))
    return fuzz_entries.build(paths)


CHECKED = ["cli theory", "cli simulate", "cli sweep", "cli figures", "cli eigen",
           "cli summarize", "sweep.from_dict", "sweep.load_results (damaged folders)",
           "records readers (damaged files)", "records round trip (any text)"]


@pytest.mark.parametrize("name", CHECKED)
def test_entry_gives_results_or_one_clear_line(built, name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # default output folders land here, not in the checkout
    tally = harness.Tally()
    examples = SLOW.get(name, EXAMPLES)
    harness.run_entries(built, examples, tally, fuzz_entries.CLI_ENTRIES, only={name})
    assert tally.tried[name] >= examples // 2
    assert not tally.failures, "\n".join(tally.failures.get(name, []))
