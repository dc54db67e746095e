"""The Dask executor gives the in-process table, bit for bit."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("distributed")

from simulate import sweep  # noqa: E402

SPEC = {
    "name": "dask-check",
    "root_seed": 11,
    "seeds": 3,
    "theory": False,  # the theory columns are checked elsewhere; here only executors differ
    "data": {"d": 3, "mu_norm": 1.0},
    "grid": {"n": [80, 160], "lam": [1e-2], "generator": ["flip:p=0.3", "trained:n_real=10"],
             "pruner": ["none", "oracle", "linear:angle=0.7"]},
}


def test_dask_local_cluster_equals_in_process(tmp_path):
    spec = sweep.from_dict(SPEC)
    local = sweep.run(spec, tmp_path / "local", progress=False)
    remote = sweep.run(spec, tmp_path / "dask", executor="dask", workers=2, progress=False)
    assert local.columns == remote.columns and len(local) == len(remote) == 6 * 2 * 3
    for a, b in zip(local.rows, remote.rows):
        for c in local.columns:
            same = a[c] == b[c] or (isinstance(a[c], float) and math.isnan(a[c])
                                    and isinstance(b[c], float) and math.isnan(b[c]))
            assert same, (c, a[c], b[c])
    assert (tmp_path / "local" / "results.csv").read_bytes() == \
        (tmp_path / "dask" / "results.csv").read_bytes()


def test_bad_executor_settings_are_named(tmp_path):
    spec = sweep.from_dict({**SPEC, "seeds": 1})
    with pytest.raises(ValueError, match="executor"):
        sweep.run(spec, tmp_path / "a", executor="spark", progress=False)
    with pytest.raises(ValueError, match="workers"):
        sweep.run(spec, tmp_path / "b", executor="dask", workers=0, progress=False)
