"""A tidy table: one dict per row, the same keys in every row.

pandas is optional: ``Table.to_pandas()`` imports it only when called."""

from __future__ import annotations

import json
import math

import numpy as np

__all__ = ["Table"]


def _plain(x):
    """Python scalars for JSON: NumPy numbers to float/int/bool, NaN to None."""
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if math.isnan(float(x)) else float(x)
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    return x


class Table:
    """Rows of a sweep. ``rows`` is a list of dicts; missing keys are filled with NaN so every
    row has every column. ``meta`` records how the table was made (root seed, settings)."""

    def __init__(self, rows, meta=None):
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
        self.columns = columns
        self.rows = [{k: row.get(k, math.nan) for k in columns} for row in rows]
        self.meta = dict(meta or {})

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def column(self, name) -> np.ndarray:
        """One column as a NumPy array."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return np.array([row[name] for row in self.rows])

    def where(self, **conditions) -> "Table":
        """The rows whose columns equal the given values."""
        keep = [r for r in self.rows if all(r.get(k) == v for k, v in conditions.items())]
        return Table(keep, self.meta)

    def to_records(self) -> list[dict]:
        """Rows with plain Python values (NaN as None): ready for ``json.dumps``."""
        return [{k: _plain(v) for k, v in row.items()} for row in self.rows]

    def to_json(self) -> str:
        return json.dumps(self.to_records())

    def to_csv(self, path) -> None:
        """Write the table as CSV (atomically; the format of a sweep's results.csv)."""
        from .store import write_csv

        write_csv(path, self.columns, self.rows)

    def to_pandas(self):
        """The table as a ``pandas.DataFrame``: one row per row, the columns in order, NumPy
        dtypes (float columns keep NaN; ``meta`` goes to ``DataFrame.attrs``)."""
        pd = _pandas()
        frame = pd.DataFrame({name: self.column(name) if self.rows else [] for name in
                              self.columns}, columns=self.columns)
        frame.attrs.update(self.meta)
        return frame


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError("Table.to_pandas needs pandas: pip install pandas (or the test "
                          "extra: pip install 'beyond-collapse[test]')") from None
    return pandas
