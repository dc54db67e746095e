"""``beyond-collapse summarize``: the summarization pipeline (generate -> verify -> fine-tune).

Stages are stored under --out and skipped when rerun. For a local Hugging Face model as the
generator or verifier, see ``scripts/summarize_xlsum_llama.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _args
from .eigen import _print_summary

EXAMPLES = """
beyond-collapse summarize --preset quick --out results/summarize-quick
beyond-collapse summarize --preset cpu                  # figures/data/summarize-cpu
beyond-collapse summarize --preset cpu \\
    --set 'replicates={"seeds": 3, "verifiers": ["oracle", "random"]}'   # the stored run
beyond-collapse summarize --preset quick --set train.steps=40 --set 'sizes=[60]' --out results/s
beyond-collapse summarize --preset cpu --xlsum-train train.jsonl --xlsum-test test.jsonl
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from experiments.summarize.presets import PRESETS

    _args.add_preset(parser, PRESETS, "quick", "a named configuration")
    parser.add_argument("--out", help="results directory (default results/summarize-<preset>; "
                        "figures/data/summarize-cpu for the cpu preset)")
    parser.add_argument("--xlsum-train", help="XLSUM JSON-lines file of training articles")
    parser.add_argument("--xlsum-test", help="XLSUM JSON-lines file of test articles")
    _args.add_root_seed(parser, "override the preset's root seed", deprecated_seed=True)
    parser.add_argument("--set", dest="settings", action="append", type=_args.setting,
                        default=[], metavar="KEY=VALUE",
                        help="override a preset value, dotted for nested ones (repeatable): "
                        "--set train.steps=6000 --set 'sizes=[5000, 20000]'")
    parser.add_argument("--figure", action="store_true", help="draw the figure afterwards")
    _args.add_json(parser, "print the summary as one line of JSON (default: indented)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def main(args) -> int:
    from experiments.summarize import pipeline, presets

    overrides = {}
    if args.root_seed is not None:
        overrides["root_seed"] = args.root_seed
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
    figures = []
    if args.figure:
        from figures import fig_summarize

        cpu_store = args.preset == "cpu" and out == Path("figures/data/summarize-cpu")
        figures = [str(p) for p in fig_summarize.render(
            data_dir=out, out_dir=None if cpu_store else out)]
    _print_summary(args, summary, figures)
    return 0
