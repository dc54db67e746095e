"""Theory curves beside a sweep: the finite-n prediction of every scenario it simulates.

``sweep_theory(spec)`` evaluates ``theory.finite.solve`` (docs/theory.md, "General scenarios")
for each (data point, generator, real fraction, pruner, lam, loss) of a sweep, on a dense grid
of one axis: n (log-spaced between the sweep's smallest and largest n, plus the sweep's own
values) or an extra axis of the grid such as a flip rate ``p`` (evenly spaced, plus the sweep's
values). Each row holds the finite-n accuracy at alpha = n / d, its n -> inf limit and the
theory's p, phi, psi and p*. Scenarios without an exact theory (a generator trained on real
samples, a supervised verifier: their directions are random) get no rows.

``stored_theory(spec, out_dir)`` keeps the curves in ``out_dir/theory.csv`` (with
``theory.json``: the settings and the file's checksum) and recomputes them only when the sweep
or the settings change, so figures read them as stored results.
"""

from __future__ import annotations

import copy
import hashlib
import sys
from pathlib import Path

import numpy as np

from . import specs, store
from .predict import finite_columns, request_of
from .table import Table

__all__ = ["sweep_theory", "stored_theory", "DEFAULT_POINTS"]

DEFAULT_POINTS = 48
# bump when the theory's numbers change (quadrature, solver), so stored curves are recomputed
FORMAT = 2
_NO_THEORY = ("trained", "supervised")


def _dense_values(values, points, log):
    values = sorted(float(v) for v in values)
    if len(values) < 2 or points < 2:
        return values
    grid = (np.geomspace if log else np.linspace)(values[0], values[-1], points)
    return sorted(set(values) | {float(v) for v in grid})


def _dense_spec(spec, dense, points):
    """(the sweep with its ``dense`` axis densified, the n values to evaluate)."""
    from .sweep import from_dict

    if dense == "n":
        return spec, _dense_values(spec.n, points, log=True)
    grid = spec.config["grid"]
    if dense not in grid or dense in ("lam", "loss", "real_fraction", "generator", "pruner"):
        extra = sorted(set(grid) - {"n", "lam", "loss", "real_fraction", "generator", "pruner"})
        raise ValueError(f"dense must be 'n' or an extra axis of the sweep ({extra}); "
                         f"got {dense!r}")
    values = grid[dense] if isinstance(grid[dense], list) else [grid[dense]]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"dense: the axis {dense!r} is not numeric")
    raw = copy.deepcopy(spec.config)
    raw["grid"][dense] = _dense_values(values, points, log=False)
    return from_dict(raw, source=spec.source), [float(n) for n in spec.n]


def sweep_theory(spec, *, dense: str = "n", points: int = DEFAULT_POINTS,
                 progress: bool = True) -> Table:
    """The theory curves of a sweep (``simulate.sweep.Sweep``) as a ``Table``; see the module
    docstring. ``points``: grid points of the dense axis (the sweep's own values are added)."""
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ValueError(f"points must be a positive integer; got {points!r}")
    full, ns = _dense_spec(spec, dense, int(points))
    scenarios = []  # (mu, mu_norm, generator spec, rf, pruner spec, lam, loss)
    for mu, mu_norm in zip(full.mus, full.mu_norms):
        for g in full.generators:
            if specs.parse(g)[0] in _NO_THEORY:
                continue
            for rf in full.real_fraction:
                for pr in full.pruners:
                    if specs.parse(pr)[0] in _NO_THEORY:
                        continue
                    for lam in full.lam:
                        for loss in full.loss:
                            scenarios.append((mu, mu_norm, g, rf, pr, lam, loss))

    from tqdm.auto import tqdm

    rows = []
    for mu, mu_norm, g, rf, pr, lam, loss in tqdm(scenarios, desc=f"{spec.name} theory",
                                                  unit="curve", disable=not progress,
                                                  file=sys.stderr, dynamic_ncols=True):
        mu_arr = np.asarray(mu, float)
        request = request_of(specs.generator(g, mu_arr), specs.pruner(pr, mu_arr), lam=lam,
                             loss=loss, real_fraction=rf)
        cols = finite_columns([request] * len(ns), mu_arr, ns, len(mu))
        phi, psi = cols["theory_phi"], cols["theory_psi"]
        with np.errstate(invalid="ignore", divide="ignore"):
            pstar = np.where(phi + psi > 0, phi / (phi + psi), np.nan)
        params = {f"gen_{k}": v for k, v in specs.parse(g)[1].items()}
        params.update({f"prune_{k}": v for k, v in specs.parse(pr)[1].items()})
        for i, n in enumerate(ns):
            rows.append({
                "d": len(mu), "mu_norm": mu_norm, "n": n, "alpha": n / len(mu),
                "generator_spec": g, "pruner_spec": pr, "lam": lam, "loss": loss,
                "real_fraction": rf, **params,
                "theory_finite_accuracy": float(cols["theory_finite_accuracy"][i]),
                "theory_limit_accuracy": float(cols["theory_limit_accuracy"][i]),
                "theory_p": float(cols["theory_p"][i]), "theory_phi": float(phi[i]),
                "theory_psi": float(psi[i]), "theory_pstar": float(pstar[i]),
            })
    return Table(rows, {"sweep": spec.name, "dense": dense, "points": int(points)})


def _settings(spec, dense, points):
    from .sweep import _package_version

    return {"format": FORMAT, "config": spec.config, "dense": dense, "points": int(points),
            "package_version": _package_version()}


def stored_theory(spec, out_dir, *, dense: str = "n", points: int = DEFAULT_POINTS,
                  progress: bool = True) -> Table:
    """``sweep_theory`` kept in ``out_dir/theory.csv``: read back when ``theory.json`` records
    the same sweep, settings and package version and the file matches its checksum; computed
    and written atomically otherwise."""
    out_dir = Path(out_dir)
    csv_path, meta_path = out_dir / "theory.csv", out_dir / "theory.json"
    settings = _settings(spec, dense, points)
    if csv_path.is_file() and meta_path.is_file():
        meta = store.read_json(meta_path)
        if isinstance(meta, dict) and {k: meta.get(k) for k in settings} == settings:
            digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
            if digest == meta.get("sha256"):
                columns, rows = store.read_csv(csv_path)
                return Table(rows, {"sweep": spec.name, "dense": dense, "points": int(points)})
            print(f"{csv_path}: damaged (its checksum disagrees with {meta_path.name}); "
                  "recomputing it", file=sys.stderr)
    table = sweep_theory(spec, dense=dense, points=points, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    with store.DirectoryLock(out_dir):
        text = store.csv_text(table.columns, table.rows)
        store.write_atomic(csv_path, text)
        store.write_json(meta_path, {**settings,
                                     "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                     "rows": len(table)})
    return table
