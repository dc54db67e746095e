"""Results as pandas DataFrames: ``Table.to_pandas`` (pandas imported only when called) and
``sweep.load_dataframe`` for a finished sweep folder."""

import builtins
import math

import numpy as np
import pytest

from simulate import sweep
from simulate.table import Table

pd = pytest.importorskip("pandas")


def test_to_pandas_keeps_rows_columns_dtypes_and_meta():
    table = Table([{"n": 10, "loss": "logistic", "accuracy": 0.8, "converged": True},
                   {"n": 20, "loss": "square", "converged": False}], {"root_seed": 3})
    frame = table.to_pandas()
    assert list(frame.columns) == ["n", "loss", "accuracy", "converged"]
    assert len(frame) == 2
    assert frame["n"].dtype.kind == "i" and frame["converged"].dtype == bool
    assert frame["accuracy"].iloc[0] == 0.8 and math.isnan(frame["accuracy"].iloc[1])
    assert frame.attrs["root_seed"] == 3
    assert Table([]).to_pandas().empty


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match="Table.to_pandas needs pandas: pip install pandas"):
        Table([{"a": 1}]).to_pandas()


def test_a_sweep_reads_back_as_one_dataframe(tmp_path):
    spec = sweep.from_dict({"name": "pd", "seeds": 2, "root_seed": 1, "theory": False,
                            "data": {"d": 3, "mu_norm": 1.0},
                            "grid": {"n": [40, 80], "generator": "flip:p=0.2",
                                     "pruner": ["none", "oracle"]}})
    table = sweep.run(spec, tmp_path / "s", progress=False)
    frame = sweep.load_dataframe(tmp_path / "s")
    assert len(frame) == len(table) == 2 * 2 * 2
    assert frame.attrs["sweep"] == "pd" and frame.attrs["root_seed"] == 1
    np.testing.assert_array_equal(frame["accuracy"].to_numpy(), table.column("accuracy"))
    means = frame.groupby(["n", "pruner"])["accuracy"].mean()
    assert means.shape == (4,)
