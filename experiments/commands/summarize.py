"""``beyond-collapse summarize``: the summarization pipeline (generate -> verify -> fine-tune).

    beyond-collapse summarize --preset quick --out results/summarize-quick
    beyond-collapse summarize --preset cpu                  # figures/data/summarize-cpu
    beyond-collapse summarize --preset cpu --xlsum-train train.jsonl --xlsum-test test.jsonl

Stages are stored under --out and skipped when rerun. For a local Hugging Face model as the
generator or verifier, see ``scripts/summarize_xlsum_llama.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from experiments.summarize.presets import PRESETS

    parser.add_argument("--preset", default="quick", help=f"one of {', '.join(PRESETS)}")
    parser.add_argument("--out", help="results directory (default results/summarize-<preset>; "
                        "figures/data/summarize-cpu for the cpu preset)")
    parser.add_argument("--xlsum-train", help="XLSUM JSON-lines file of training articles")
    parser.add_argument("--xlsum-test", help="XLSUM JSON-lines file of test articles")
    parser.add_argument("--seed", type=_args.seed, help="override the preset's root seed")
    parser.add_argument("--set", dest="settings", action="append", type=_args.setting,
                        default=[], metavar="KEY=VALUE",
                        help="override a preset value, dotted for nested ones (repeatable): "
                        "--set retrain.steps=6000 --set 'sizes=[5000, 20000]'")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def main(args) -> int:
    from experiments.summarize import pipeline, presets

    overrides = {}
    if args.seed is not None:
        overrides["root_seed"] = args.seed
    if (args.xlsum_train is None) != (args.xlsum_test is None):
        raise ValueError("give both --xlsum-train and --xlsum-test, or neither")
    for flag, path in (("--xlsum-train", args.xlsum_train), ("--xlsum-test", args.xlsum_test)):
        if path is not None:
            if not Path(path).is_file():
                raise ValueError(f"{flag} {path}: " + ("is a directory, expected a JSON-lines "
                                                       "file" if Path(path).is_dir() else
                                                       "no such file"))
            overrides[flag[2:].replace("-", "_")] = path
    config = presets.validate(_args.apply_settings(presets.preset(args.preset, **overrides),
                                                   args.settings))
    default = Path("figures/data/summarize-cpu") if args.preset == "cpu" and not \
        args.xlsum_train else Path(f"results/summarize-{args.preset}")
    out = _args.out_dir(args.out if args.out else default)
    try:
        pipeline.run(config, out, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: finished stages are stored in {out}; run again to resume")
        return 130
    _, summary = pipeline.load_results(out)
    print(_args.dumps(summary, indent=1))
    return 0
