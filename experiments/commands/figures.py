"""``beyond-collapse figures``: regenerate every figure from stored results (running the sweeps
that are missing first).

    beyond-collapse figures --quick          # reduced grids into results/quick/ (a few minutes)
    beyond-collapse figures                  # full grids: figures/data/, figures/*.png|pdf
    beyond-collapse figures --only collapse phase_transition --executor dask

Each figure is also a script: ``python -m figures.fig_<name> [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

# (name, module): simulation figures first, then the theory figures.
FIGURES = [
    ("collapse", "figures.fig_collapse"),
    ("phase_transition", "figures.fig_phase_transition"),
    ("pstar_correlation", "figures.fig_pstar_correlation"),
    ("selection_rate", "figures.fig_selection_rate"),
    ("generations", "figures.fig_generations"),
    ("breakdown_gap", "figures.fig_breakdown_gap"),
    ("breakdown_map", "figures.fig_breakdown_map"),
    ("finite", "figures.fig_finite"),
]
# Figures of the experiments: drawn from their stored cpu-preset results when those exist
# (``beyond-collapse eigen --preset cpu`` / ``summarize --preset cpu`` make them).
EXPERIMENT_FIGURES = [
    ("eigen", "figures.fig_eigen", "eigen-cpu"),
    ("summarize", "figures.fig_summarize", "summarize-cpu"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    names = [name for name, _ in FIGURES] + [name for name, _, _ in EXPERIMENT_FIGURES]
    parser.add_argument("--quick", action="store_true",
                        help="reduced grids, results and figures in results/quick/")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"figures to make (default all): {', '.join(names)}")
    parser.add_argument("--out", help="output directory (default figures/, or results/quick/)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where sweep units run")
    parser.add_argument("--scheduler", help="Dask scheduler address (with --executor dask)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(args) -> int:
    if args.scheduler is not None and args.executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    import figures

    from . import _args

    if args.out is not None:
        _args.out_dir(args.out)

    chosen = [(n, m) for n, m in FIGURES if not args.only or n in args.only]
    for name, module, data in EXPERIMENT_FIGURES:
        if args.only and name not in args.only:
            continue
        if (figures.DATA / data / "results.csv").exists():
            chosen.append((name, module))
        else:
            print(f"{name}: skipped (no stored results in figures/data/{data}; run "
                  f"'beyond-collapse {name} --preset cpu' first)")
    start = time.perf_counter()
    for name, module_name in chosen:
        t0 = time.perf_counter()
        module = importlib.import_module(module_name)
        try:
            paths = module.render(quick=args.quick, out_dir=args.out, executor=args.executor,
                                  scheduler=args.scheduler, progress=not args.quiet)
        except KeyboardInterrupt:
            print(f"interrupted in figure {name}: run again to resume", file=sys.stderr)
            return 130
        print(f"{name}: {', '.join(str(p) for p in paths)} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    print(f"{len(chosen)} figures in {time.perf_counter() - start:.0f} s")
    return 0
