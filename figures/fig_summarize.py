"""Summarization: which verifier's selection makes the best fine-tuning data, and does p* say so?

Left: ROUGE-1 of models fine-tuned on each verifier's best-of-k choices against the number of
articles in the synthesized pool, the generator as a line. Right: final ROUGE-1 against p* under
the three correctness rules (threshold, best-of-article, pairwise), with each rule's Spearman
correlation. Reads ``figures/data/summarize-cpu`` (``beyond-collapse summarize --preset cpu``).

    python -m figures.fig_summarize [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from figures import _common

STEM = "fig_summarize"
DATA = _common.DATA / "summarize-cpu"


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           data_dir=None):
    from experiments.summarize import pipeline, pstar

    rows, summary = pipeline.load_results(data_dir or DATA)
    _common.use_style()
    import matplotlib.pyplot as plt

    gen = next(r for r in rows if r["model"] == "generator")
    synth = [r for r in rows if r["model"] == "synthetic"]
    names = list(dict.fromkeys(r["verifier"] for r in synth))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    for name in names:
        pts = sorted((r for r in synth if r["verifier"] == name), key=lambda r: r["size"])
        left.plot([r["size"] for r in pts], [r["rouge1"] for r in pts], marker="o", label=name)
    left.axhline(gen["rouge1"], color="0.3", ls="--", label=f"generator ({gen['size']} real)")
    left.set_xlabel("articles in the synthesized pool (one selected summary each)")
    left.set_ylabel("ROUGE-1 F on held-out articles")
    left.set_title("Fine-tuning on best-of-k selections")
    left.legend(loc="best")
    largest = max(r["size"] for r in synth)
    final = [r for r in synth if r["size"] == largest]
    markers = {"threshold": "o", "best": "s", "pairwise": "^"}
    for rule in pstar.RULES:
        x = [r[f"pstar_{rule}"] for r in final]
        y = [r["rouge1"] for r in final]
        rho = summary["spearman_pstar_rouge1"].get(rule, float("nan"))
        right.scatter(x, y, marker=markers[rule], s=40,
                      label=f"rule '{rule}': Spearman {rho:.2f}")
        if rule == "pairwise":
            for r in final:
                right.annotate(r["verifier"], (r[f"pstar_{rule}"], r["rouge1"]), fontsize=7,
                               xytext=(3, 3), textcoords="offset points")
    right.axhline(gen["rouge1"], color="0.3", ls="--", label="generator")
    right.set_xlabel("p* of the verifier (three rules for a correct summary)")
    right.set_ylabel(f"ROUGE-1 after fine-tuning (pool {largest})")
    right.set_title("Final ROUGE-1 against p*")
    right.legend(loc="lower right")
    fig.tight_layout()
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="results directory of a summarize run")
    parser.add_argument("--out", help="output directory (default figures/)")
    args = parser.parse_args(argv)
    for path in render(out_dir=args.out, data_dir=Path(args.data) if args.data else None):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
