"""``beyond-collapse figures``: regenerate every figure from stored results (running the sweeps
that are missing first). Each figure is also a script: ``python -m figures.fig_<name> [--quick]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import multiprocessing
import os
import sys
import time

EXAMPLES = """
beyond-collapse figures --quick              # reduced grids into results/quick/ (~60 s, reruns ~17 s)
beyond-collapse figures                      # full grids: figures/data/, figures/*.png|pdf
beyond-collapse figures --preset quick --only collapse generations --out results/quick-2
beyond-collapse figures --only collapse phase_transition --executor dask
beyond-collapse figures --quick --jobs 1     # one figure at a time, in this process
"""

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
# Seconds of a first quick run on 2 cores, two at a time (2026-12-04, evening): the order in
# which workers take them.
FIRST_RUN_SECONDS = {"pstar_correlation": 29, "generations": 22, "collapse": 21,
                     "selection_rate": 14, "phase_transition": 14, "finite": 7,
                     "breakdown_map": 4, "breakdown_gap": 2}
# Figures whose numbers are computed by the script (not swept): --recompute redoes them.
RECOMPUTABLE = ("breakdown_gap", "breakdown_map", "finite")
# Figures of the experiments: drawn from their stored cpu-preset results when those exist
# (``beyond-collapse eigen --preset cpu`` / ``summarize --preset cpu`` make them).
EXPERIMENT_FIGURES = [
    ("eigen", "figures.fig_eigen", "eigen-cpu"),
    ("summarize", "figures.fig_summarize", "summarize-cpu"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from . import _args

    names = [name for name, _ in FIGURES] + [name for name, _, _ in EXPERIMENT_FIGURES]
    _args.add_figure_preset(parser)
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"figures to make (default all): {', '.join(names)}")
    parser.add_argument("--out", help="output directory (default figures/, or results/quick/)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where sweep units run")
    parser.add_argument("--scheduler", help="Dask scheduler address (with --executor dask)")
    _args.add_recompute(parser)
    _args.add_json(parser, "print one JSON object: each figure's files and seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--jobs", type=_args.positive_int, default=None,
                        help="figures made at once, each in its own process (default: the "
                             "number of cores, at most 4, or $BEYOND_COLLAPSE_FIGURE_JOBS; 1 "
                             "runs them in this process)")


JOBS_ENV = "BEYOND_COLLAPSE_FIGURE_JOBS"  # the default of --jobs (the tests set 1)


def _default_jobs() -> int:
    if os.environ.get(JOBS_ENV, "").strip():
        from . import _args

        try:
            return _args.positive_int(os.environ[JOBS_ENV].strip())
        except argparse.ArgumentTypeError as err:
            raise ValueError(f"{JOBS_ENV}: {err}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _render(name, module_name, options):
    """Make one figure: (paths, seconds). Runs in this process or in a worker."""
    t0 = time.perf_counter()
    module = importlib.import_module(module_name)
    paths = module.render(**options)
    return [str(p) for p in paths], time.perf_counter() - t0


def _worker_init():
    from experiments import _cache

    _cache.enable()  # off where the parent turned it off (it says so in the environment)


def main(args) -> int:
    if args.scheduler is not None and args.executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    import figures

    from . import _args

    if args.out is not None:
        _args.out_dir(args.out)

    # With --json, stdout carries the one JSON object: the text lines go to stderr.
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else (
        lambda text: print(text, flush=True))
    quick = args.preset == "quick"
    chosen = [(n, m) for n, m in FIGURES if not args.only or n in args.only]
    skipped = {}
    for name, module, data in EXPERIMENT_FIGURES:
        if args.only and name not in args.only:
            continue
        if (figures.DATA / data / "results.csv").exists():
            chosen.append((name, module))
        else:
            skipped[name] = f"no stored results in figures/data/{data}"
            say(f"{name}: skipped ({skipped[name]}; run "
                f"'beyond-collapse {name} --preset cpu' first)")
    start = time.perf_counter()
    made = {}

    def options(name):
        extra = {"recompute": True} if args.recompute and name in RECOMPUTABLE else {}
        return dict(quick=quick, out_dir=args.out, executor=args.executor,
                    scheduler=args.scheduler, progress=not args.quiet and jobs == 1, **extra)

    def done(name, paths, seconds):
        made[name] = {"files": paths, "seconds": round(seconds, 2)}
        say(f"{name}: {', '.join(paths)} ({seconds:.0f} s)")

    jobs = min(args.jobs or _default_jobs(), max(1, len(chosen)))
    try:
        if jobs == 1:
            for name, module_name in chosen:
                try:
                    done(name, *_render(name, module_name, options(name)))
                except KeyboardInterrupt:
                    print(f"interrupted in figure {name}: run again to resume", file=sys.stderr)
                    return 130
        else:
            # Each figure in its own process: compiling is single-threaded, and the figures
            # share nothing but the compilation cache (sweeps lock their own folders).
            say(f"making {len(chosen)} figures, {jobs} at a time")
            context = multiprocessing.get_context("spawn")  # JAX's threads do not survive fork
            with concurrent.futures.ProcessPoolExecutor(
                    jobs, mp_context=context, initializer=_worker_init) as pool:
                # the longest first, so that no long figure starts last
                ordered = sorted(chosen, key=lambda c: -FIRST_RUN_SECONDS.get(c[0], 0))
                futures = {pool.submit(_render, n, m, options(n)): n for n, m in ordered}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        done(futures[future], *future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    except KeyboardInterrupt:
        print("interrupted: run again to resume (finished figures and sweep units are kept)",
              file=sys.stderr)
        return 130
    made = {name: made[name] for name, _ in chosen if name in made}
    total = time.perf_counter() - start
    if args.json:
        print(_args.dumps({"figures": made, "skipped": skipped, "seconds": round(total, 2)}))
    else:
        print(f"{len(chosen)} figures in {total:.0f} s")
    return 0
