"""Shared by the figure scripts: the style, atomic saving, and stored sweep results.

Full grids store their results in ``figures/data/<sweep name>/`` (committed) and write the
figures beside this file; ``--quick`` grids (``figures/sweeps/<name>-quick.toml``) store and
write under ``results/quick/`` so the committed figures are never overwritten by a quick run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from figures import DATA  # noqa: E402  (the scripts use it as _common.DATA)

HERE = Path(__file__).resolve().parent
STYLE = HERE / "beyond_collapse.mplstyle"
SWEEPS = HERE / "sweeps"
QUICK_OUT = Path("results") / "quick"


def use_style() -> None:
    """Apply the package's matplotlib style."""
    plt.style.use(str(STYLE))


def out_dir_for(quick: bool, out_dir=None) -> Path:
    """Where a figure is written: ``out_dir`` if given, else figures/ (full) or results/quick."""
    if out_dir is not None:
        return Path(out_dir)
    return QUICK_OUT if quick else HERE


def data_dir_for(quick: bool, out_dir=None) -> Path:
    """Where sweep results are stored: figures/data (full grids) or <out>/data (quick)."""
    if not quick and out_dir is None:
        return DATA
    return out_dir_for(quick, out_dir) / "data"


def _file_mode():
    """0o666 less the umask: the mode a plain ``open`` would give a new file."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def save(fig, stem: str, out_dir) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf into ``out_dir`` atomically; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        target = out_dir / f"{stem}.{ext}"
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".{ext}", dir=out_dir)
        os.fchmod(fd, _file_mode())  # mkstemp makes 0600; a figure is for colleagues too
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(target)
    plt.close(fig)
    return paths


def sweep_results(name: str, *, quick: bool = False, out_dir=None, executor: str = "local",
                  scheduler=None, progress: bool = True):
    """The table of ``figures/sweeps/<name>[-quick].toml``, run (or resumed) if not stored."""
    from simulate import sweep

    spec = sweep.load(SWEEPS / f"{name}{'-quick' if quick else ''}.toml")
    store = data_dir_for(quick, out_dir) / spec.name
    if (store / "results.csv").exists():
        return sweep.load_results(store)
    return sweep.run(spec, store, executor=executor, scheduler=scheduler, progress=progress)


QUICK_THEORY_POINTS = 8


def sweep_theory(name: str, *, quick: bool = False, out_dir=None, dense: str = "n",
                 points: int | None = None, progress: bool = True):
    """The finite-n theory curves of ``figures/sweeps/<name>[-quick].toml``
    (``simulate.curves``), stored beside its results and computed only when missing."""
    from simulate import curves, sweep

    spec = sweep.load(SWEEPS / f"{name}{'-quick' if quick else ''}.toml")
    if points is None:
        points = QUICK_THEORY_POINTS if quick else curves.DEFAULT_POINTS
    return curves.stored_theory(spec, data_dir_for(quick, out_dir) / spec.name, dense=dense,
                                points=points, progress=progress)


def curve(theory_table, match: dict, x: str = "n", y: str = "theory_finite_accuracy"):
    """(x, y) arrays of the theory rows whose columns equal ``match``, sorted by x."""
    rows = [r for r in theory_table.rows if all(r.get(k) == v for k, v in match.items())]
    rows.sort(key=lambda r: r[x])
    return (np.array([r[x] for r in rows], float), np.array([r[y] for r in rows], float))


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (NaN-free values; se = 0 for one value)."""
    v = np.asarray([x for x in values if x == x], float)
    if v.size == 0:
        return float("nan"), float("nan")
    se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
    return float(v.mean()), float(se)


def spearman(x, y) -> float:
    """Spearman's rho; NaN with fewer than three points or a constant input (as the experiment
    summaries compute it)."""
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def group(table, keys, value="accuracy"):
    """{key tuple: (mean, se, rows)} of ``value`` over the seeds of each group."""
    groups: dict = {}
    for row in table.rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return {k: (*mean_se(r[value] for r in rows), rows) for k, rows in groups.items()}


def arguments(description: str, recompute: bool = False) -> argparse.ArgumentParser:
    """The command line every figure script shares."""
    from figures import add_figure_preset, add_recompute

    parser = argparse.ArgumentParser(description=description)
    add_figure_preset(parser)
    parser.add_argument("--out", help="output directory for the figure (and quick data)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where sweep units run: this process, or Dask distributed")
    parser.add_argument("--scheduler", help="Dask scheduler address (with --executor dask)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    if recompute:
        add_recompute(parser)
    return parser


def script_main(render, description: str, argv=None, recompute: bool = False) -> int:
    """``main`` of a figure script: parse the shared command line, render, list the files."""
    parser = arguments(description, recompute)
    args = parser.parse_args(argv)
    if args.scheduler is not None and args.executor != "dask":
        parser.error("--scheduler needs --executor dask")
    extra = {"recompute": args.recompute} if recompute else {}
    for path in render(args.preset == "quick", args.out, args.executor, args.scheduler,
                       not args.quiet, **extra):
        print(f"wrote {path}")
    return 0
