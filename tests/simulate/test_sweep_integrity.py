"""A sweep folder that checks itself: checksums, rebuilt results, one writer, file modes, and
limits checked before any work."""

from __future__ import annotations

import json
import os
import stat

import pytest

from experiments import cli
from simulate import store, sweep

from .test_sweep import SMALL, SMALL_TOML, assert_tables_equal

TWO = {**SMALL, "seeds": 2}  # 2 units of 4 variants: 8 rows


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-unit sweep, copied fresh by each test that damages it."""
    out = tmp_path_factory.mktemp("finished") / "out"
    table = sweep.run(sweep.from_dict(TWO), out, progress=False)
    return out, table


def fresh(finished, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(finished[0], out)
    return out


def test_a_truncated_results_file_is_named_then_rebuilt(finished, tmp_path, capsys):
    out = fresh(finished, tmp_path)
    original = (out / "results.csv").read_bytes()
    assert len(finished[1]) == 8
    lines = original.decode().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:2]))  # a crash in the final write
    with pytest.raises(store.Damaged, match=r"results\.csv: damaged"):
        sweep.load_results(out)
    toml = tmp_path / "two.toml"
    toml.write_text(SMALL_TOML.replace("seeds = 8", "seeds = 2"))
    assert cli.main(["sweep", str(toml), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "8 rows (2 units)" in captured.out
    assert "disagreed with the stored units; rebuilt" in captured.err
    assert (out / "results.csv").read_bytes() == original
    assert_tables_equal(sweep.load_results(out), finished[1])


def test_a_results_file_with_the_right_rows_but_other_bytes_is_caught(finished, tmp_path):
    out = fresh(finished, tmp_path)
    text = (out / "results.csv").read_text()
    (out / "results.csv").write_text(text.replace("0.", "0.9", 1))  # one digit changed
    with pytest.raises(store.Damaged, match=r"results\.csv: damaged \(its checksum"):
        sweep.load_results(out)


@pytest.mark.parametrize("garbage, where", [(b"\xff\xfe\x00", "not UTF-8"),
                                            (b"a,\x00b\n", "")])
def test_garbage_bytes_are_named_with_their_line(finished, tmp_path, garbage, where):
    out = fresh(finished, tmp_path)
    data = (out / "results.csv").read_bytes()
    lines = data.splitlines(keepends=True)
    (out / "results.csv").write_bytes(b"".join(lines[:3]) + garbage + b"".join(lines[3:]))
    with pytest.raises(store.Damaged, match=rf"results\.csv:4: .*{where}"):
        sweep.load_results(out)


def test_a_damaged_unit_is_named_and_recomputed(finished, tmp_path, capsys):
    out = fresh(finished, tmp_path)
    unit = sorted((out / "units").glob("*.json"))[0]
    record = json.loads(unit.read_text())
    record["rows"][0]["accuracy"] += 0.125  # valid JSON, wrong content
    unit.write_text(json.dumps(record))
    with pytest.raises(store.Damaged, match=rf"{unit.name}: damaged \(its checksum"):
        sweep.load_results(out)
    assert sweep.status(sweep.from_dict(TWO), out) == (1, 2)
    assert_tables_equal(sweep.run(sweep.from_dict(TWO), out, progress=False), finished[1])
    assert f"{unit.name}: damaged" in capsys.readouterr().err
    assert_tables_equal(sweep.load_results(out), finished[1])


def test_folders_without_checksums_are_still_checked_by_row_count(finished, tmp_path):
    out = fresh(finished, tmp_path)
    import shutil

    shutil.rmtree(out / "units")  # as the stored figure data: sweep.json and results.csv
    meta = json.loads((out / "sweep.json").read_text())
    del meta["results"]
    (out / "sweep.json").write_text(json.dumps(meta))
    assert_tables_equal(sweep.load_results(out), finished[1])
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:-1]))
    with pytest.raises(store.Damaged, match=r"damaged \(7 rows; the sweep has 8\)"):
        sweep.load_results(out)


def test_a_second_writer_is_refused_and_leaves_the_first_alone(tmp_path):
    out = tmp_path / "out"
    spec = sweep.from_dict({**TWO, "seeds": 1})
    with store.DirectoryLock(out):
        own_temporary = out / "units" / ".x.json.123.tmp"  # the first writer's, mid-write
        own_temporary.parent.mkdir(parents=True)
        own_temporary.write_text("{")
        with pytest.raises(ValueError, match=rf"in use by another sweep \(process {os.getpid()}"):
            sweep.run(spec, out, progress=False)
        assert own_temporary.exists()
    own_temporary.unlink()
    assert len(sweep.run(spec, out, progress=False)) == 4  # the lock went with its holder


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        out = tmp_path / "out"
        sweep.run(sweep.from_dict({**TWO, "seeds": 1}), out, progress=False)
    finally:
        os.umask(old)
    files = [out / "sweep.json", out / "results.csv", *(out / "units").glob("*.json")]
    assert len(files) == 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


@pytest.mark.parametrize("mutate, names", [
    (lambda r: r.update(root_seed=2**64), "root_seed: must be an integer in [0, 4294967295]"),
    (lambda r: r.update(root_seed=2**32), "root_seed"),
    (lambda r: r.update(seeds=[0, 2**32]), "seeds"),
    (lambda r: r.update(seeds=10**12), "seeds: must be an integer in [1, 1000000]"),
    (lambda r: r["data"].update(d=10**9), "[data].d: must be an integer in [1, 100000]"),
    (lambda r: r["data"].update(d=[10**5], mu_norm=[float(i) for i in range(200)]), "[data]"),
    (lambda r: r.update(seeds=1000) or r["grid"].update(n=list(range(1, 1002))),
     "= 1001000 units; at most 1000000 fit"),
    (lambda r: r["grid"].update(p=[i / 1e6 for i in range(1, 400)],
                                q=[i / 1e6 for i in range(1, 400)],
                                generator="flip:p={p},q={q}"), "more than 100000 specs"),
    (lambda r: r.update(fit={"max_iter": 2**40}), "[fit].max_iter"),
    (lambda r: r["data"].update(mu=[1e300, 1e300], d=None) or r["data"].pop("d")
     or r["data"].pop("mu_norm"), "norm of mu overflows"),
])
def test_limits_are_checked_before_any_work(mutate, names):
    raw = {**SMALL, "data": dict(SMALL["data"]), "grid": dict(SMALL["grid"])}
    mutate(raw)
    with pytest.raises(ValueError) as err:
        sweep.from_dict(raw, source="big.toml")
    assert "big.toml" in str(err.value) and names in str(err.value)


def test_a_unit_larger_than_memory_is_refused_saying_what_fits(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "_memory_bytes", lambda: 2**30)
    spec = sweep.from_dict({**TWO, "grid": {**TWO["grid"], "n": [100, 10**11]}})
    per_sample = sweep.unit_bytes(1, 3, 4)
    fits = 2**29 // per_sample
    assert sweep.unit_bytes(fits, 3, 4) <= 2**29 < sweep.unit_bytes(fits + 1, 3, 4)
    with pytest.raises(ValueError, match=rf"\[grid\]\.n: a unit with n = 100000000000, d = 3 "
                                         rf"and 4 variants .* n up to {fits} fits"):
        sweep.run(spec, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
