"""Summarization: which verifier's selection makes the best fine-tuning data, and does p* say so?

Left: ROUGE-1 of models fine-tuned on each verifier's best-of-k choices against the number of
articles in the synthesized pool (bars: paired standard errors against the generator), the
generator as a line; crosses are the same selections retrained with other seeds and the grey
band the generator's range over its seeds (training noise, where the run has replicates). Right: ROUGE-1 against p* under the three correctness rules (threshold,
best-of-article, pairwise), at each pool size, with each rule's Spearman correlation. Reads
``figures/data/summarize-cpu`` (``beyond-collapse summarize --preset cpu``).

    python -m figures.fig_summarize [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from figures import _common
from simulate import store

STEM = "fig_summarize"
DATA = _common.DATA / "summarize-cpu"
# The correctness rules whose p* the run stores (columns pstar_<rule>; experiments.summarize.pstar).
RULES = ("threshold", "best", "pairwise")


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           data_dir=None):
    rows, summary = store.read_run(data_dir or DATA, "summarization run")
    if not summary:
        raise ValueError(f"{data_dir or DATA} holds no summary.json of a summarization run")
    _common.use_style()
    import matplotlib.pyplot as plt

    gen = next(r for r in rows if r["model"] == "generator")
    synth = [r for r in rows if r["model"] == "synthetic"]
    reps = [r for r in rows if r["model"] == "replicate"]
    names = list(dict.fromkeys(r["verifier"] for r in synth))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    for name in names:
        pts = sorted((r for r in synth if r["verifier"] == name), key=lambda r: r["size"])
        # Bars: the paired standard error against the generator (same test articles), where
        # the run recorded it.
        se = [r.get("rouge1_minus_generator_se", float("nan")) for r in pts]
        line = left.errorbar([r["size"] for r in pts], [r["rouge1"] for r in pts], yerr=se,
                             marker="o", capsize=3, label=name)
        seeds = [r for r in reps if r["verifier"] == name]
        left.scatter([r["size"] for r in seeds], [r["rouge1"] for r in seeds], marker="x",
                     color=line[0].get_color(), zorder=3)
    gen_seeds = [gen["rouge1"]] + [r["rouge1"] for r in reps if r["verifier"] == ""]
    if len(gen_seeds) > 1:
        left.axhspan(min(gen_seeds), max(gen_seeds), color="0.85", zorder=0,
                     label=f"generator, {len(gen_seeds)} training seeds (data: seed 0)")
    left.axhline(gen["rouge1"], color="0.3", ls="--", label=f"generator ({gen['size']} real)")
    left.set_xlabel("articles in the synthesized pool (one selected summary each)")
    left.set_ylabel("ROUGE-1 F on held-out articles")
    left.set_title("Fine-tuning on best-of-k selections")
    left.legend(loc="best")
    sizes = sorted({r["size"] for r in synth})
    largest = sizes[-1]
    markers = {"threshold": "o", "best": "s", "pairwise": "^"}
    by_size = summary.get("spearman_pstar_rouge1_by_size", {})
    for shade, size in zip(("tab:blue", "tab:red", "tab:green", "tab:purple"), sizes[-4:]):
        at = [r for r in synth if r["size"] == size]
        rhos = by_size.get(str(size)) or (summary["spearman_pstar_rouge1"]
                                          if size == largest else {})
        for rule in RULES:
            rho = rhos.get(rule, float("nan"))
            right.scatter([r[f"pstar_{rule}"] for r in at], [r["rouge1"] for r in at],
                          marker=markers[rule], s=36, color=shade, alpha=0.8,
                          label=f"pool {size}, rule '{rule}': Spearman {rho:.2f}")
        if size == largest:
            for r in at:
                right.annotate(r["verifier"], (r["pstar_pairwise"], r["rouge1"]), fontsize=7,
                               xytext=(3, 3), textcoords="offset points")
    right.axhline(gen["rouge1"], color="0.3", ls="--", label="generator")
    right.set_xlabel("p* of the verifier (three rules for a correct summary)")
    right.set_ylabel("ROUGE-1 after fine-tuning")
    right.set_title("ROUGE-1 against p*, per pool size")
    right.legend(loc="best", fontsize=7)
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
