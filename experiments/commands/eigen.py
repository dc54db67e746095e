"""``beyond-collapse eigen``: the eigenvalue experiment (generate -> verify -> retrain).

    beyond-collapse eigen --preset quick --out results/eigen-quick     # about a minute
    beyond-collapse eigen --preset cpu                                  # figures/data/eigen-cpu
    beyond-collapse eigen --preset paper --out /data/eigen-paper        # a GPU, days

Stages are stored under --out and skipped when rerun; an interrupted training resumes from its
checkpoint. Prints the summary (and writes results.csv, summary.json, run.json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from experiments.eigen.presets import PRESETS

    parser.add_argument("--preset", default="quick", help=f"one of {', '.join(PRESETS)}")
    parser.add_argument("--out", help="results directory (default results/eigen-<preset>; "
                        "figures/data/eigen-cpu for the cpu preset)")
    parser.add_argument("--seed", type=_args.seed, help="override the preset's root seed")
    parser.add_argument("--set", dest="settings", action="append", type=_args.setting,
                        default=[], metavar="KEY=VALUE",
                        help="override a preset value, dotted for nested ones (repeatable): "
                        "--set retrain.steps=6000 --set 'sizes=[5000, 20000]'")
    parser.add_argument("--figure", action="store_true", help="draw the figure afterwards")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def main(args) -> int:
    from experiments.eigen import pipeline, presets

    overrides = {} if args.seed is None else {"root_seed": args.seed}
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
    print(_args.dumps(summary, indent=1))
    if args.figure:
        from figures import fig_eigen

        for path in fig_eigen.render(data_dir=out, out_dir=out if args.preset != "cpu" else None):
            print(f"wrote {path}")
    return 0
