"""``beyond-collapse sweep FILE``: run a sweep file into a resumable results directory.

Example::

    beyond-collapse sweep examples/sweeps/phase-transition.toml --out results/phase
    beyond-collapse sweep big.toml --executor dask --scheduler tcp://10.0.0.5:8786

Interrupted runs resume: run the same command again and only missing units are computed.
The file format is documented in ``simulate/sweep.py`` and ``examples/sweeps/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import _args

EXAMPLES = """
beyond-collapse sweep examples/sweeps/phase-transition.toml --out results/phase-transition
beyond-collapse sweep examples/sweeps/tiny.toml --root-seed 3 --seeds 2 --out results/tiny-3
beyond-collapse sweep big.toml --executor dask --scheduler tcp://HOST:8786
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="sweep file (TOML)")
    parser.add_argument("--out", help="results directory (default: results/<sweep name>)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where units run: this process, or Dask distributed")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler "
                        "(default with --executor dask: an embedded LocalCluster)")
    parser.add_argument("--workers", type=_args.positive_int,
                        help="LocalCluster worker processes (default 2)")
    _args.add_root_seed(parser, "override the file's root_seed")
    parser.add_argument("--seeds", type=_args.positive_int,
                        help="override the file's seeds with a count (ids 0..SEEDS-1)")
    _args.add_json(parser, "print one JSON object: rows, units and the results path")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args) -> int:
    from simulate import sweep

    if args.scheduler is not None and args.executor != "dask":
        raise ValueError("--scheduler needs --executor dask")
    if args.workers is not None and (args.executor != "dask" or args.scheduler is not None):
        raise ValueError("--workers sizes the embedded cluster of --executor dask (without "
                         "--scheduler)")
    spec = sweep.load(args.file)
    overrides = {k: v for k, v in (("root_seed", args.root_seed), ("seeds", args.seeds))
                 if v is not None}
    if overrides:
        spec = sweep.from_dict({**spec.config, **overrides}, source=spec.source)
    out = _args.out_dir(args.out if args.out else Path("results") / spec.name)
    try:
        table = sweep.run(spec, out, executor=args.executor, scheduler=args.scheduler,
                          workers=args.workers, progress=not args.quiet)
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(_args.dumps({"rows": len(table), "units": len(spec.units()),
                           "results": str(out / "results.csv")}))
    else:
        print(f"{len(table)} rows ({len(spec.units())} units) in {out / 'results.csv'}",
              file=sys.stdout)
    return 0
