"""``beyond-collapse eigen``: the eigenvalue experiment (generate -> verify -> retrain).

Stages are stored under --out and skipped when rerun; an interrupted training resumes from its
checkpoint. Prints the summary (and writes results.csv, summary.json, run.json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _args

EXAMPLES = """
beyond-collapse eigen --preset quick --out results/eigen-quick     # about a minute
beyond-collapse eigen --preset cpu                                  # figures/data/eigen-cpu
beyond-collapse eigen --preset cpu --root-seed 1 --set 'sizes=[500000]' --out results/eigen-1
beyond-collapse eigen --preset quick --set retrain.steps=40 --set 'sizes=[100]' --out results/e
beyond-collapse eigen --preset paper --out /data/eigen-paper        # a GPU, days
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from experiments.eigen.presets import PRESETS

    _args.add_preset(parser, PRESETS, "quick", "a named configuration")
    parser.add_argument("--out", help="results directory (default results/eigen-<preset>; "
                        "figures/data/eigen-cpu for the cpu preset)")
    _args.add_root_seed(parser, "override the preset's root seed", deprecated_seed=True)
    parser.add_argument("--set", dest="settings", action="append", type=_args.setting,
                        default=[], metavar="KEY=VALUE",
                        help="override a preset value, dotted for nested ones (repeatable): "
                        "--set retrain.steps=6000 --set 'sizes=[5000, 20000]'")
    parser.add_argument("--figure", action="store_true", help="draw the figure afterwards")
    _args.add_json(parser, "print the summary as one line of JSON (default: indented)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def main(args) -> int:
    from experiments.eigen import pipeline, presets

    overrides = {} if args.root_seed is None else {"root_seed": args.root_seed}
    config = presets.validate(_args.apply_settings(presets.preset(args.preset, **overrides),
                                                   args.settings))
    default = Path("figures/data/eigen-cpu") if args.preset == "cpu" else Path(
        f"results/eigen-{args.preset}")
    out = _args.out_dir(args.out if args.out else default)
    try:
        pipeline.run(config, out, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: finished stages are stored in {out}; run again to resume")
        return 130
    _, summary = pipeline.load_results(out)
    figures = []
    if args.figure:
        from figures import fig_eigen

        figures = [str(p) for p in fig_eigen.render(
            data_dir=out, out_dir=out if args.preset != "cpu" else None)]
    _print_summary(args, summary, figures)
    return 0


def _print_summary(args, summary, figures) -> None:
    if args.json:
        print(_args.dumps({**summary, "figures": figures} if figures else summary))
        return
    print(_args.dumps(summary, indent=1))
    for path in figures:
        print(f"wrote {path}")
