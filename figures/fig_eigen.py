"""Eigenvalue experiment: does verification beat the generator, and does p* say which?

Left: accuracy (relative L1 error < 5 %) of models trained on each verifier's selection of the
generator's beam-search answers, against the synthesized pool size, with the generator and
models trained on as many real matrices as references; crosses are the same selections
retrained with other seeds, the grey band the generator's range over its seeds (training noise,
where the run has replicates). Right: final accuracy against the measured p* of each verifier
(Spearman correlation printed), with the audit estimate's interval.
Reads ``figures/data/eigen-cpu`` (``beyond-collapse eigen --preset cpu``).

    python -m figures.fig_eigen [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from figures import _common
from simulate import store

STEM = "fig_eigen"
DATA = _common.DATA / "eigen-cpu"


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           data_dir=None):
    rows, summary = store.read_run(data_dir or DATA, "eigenvalue run")
    _common.use_style()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    gen = next(r for r in rows if r["model"] == "generator")
    tol = summary.get("tol", 0.05)
    synth = [r for r in rows if r["model"] == "synthetic" and np.isfinite(r["accuracy"])]
    real = sorted((r for r in rows if r["model"] == "real"), key=lambda r: r["size"])
    reps = [r for r in rows if r["model"] == "replicate" and np.isfinite(r["accuracy"])]
    specs = list(dict.fromkeys(r["verifier"] for r in synth))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    cmap = plt.cm.viridis(np.linspace(0.0, 0.9, len(specs)))
    for spec, color in zip(specs, cmap):
        pts = sorted((r for r in synth if r["verifier"] == spec), key=lambda r: r["size"])
        left.plot([r["size"] for r in pts], [r["accuracy"] for r in pts], marker="o",
                  color=color, label=f"{spec} (p* = {pts[-1]['pstar']:.2f})")
        seeds = [r for r in reps if r["verifier"] == spec]
        left.scatter([r["size"] for r in seeds], [r["accuracy"] for r in seeds], marker="x",
                     color=color, zorder=3)
    gen_seeds = [gen["accuracy"]] + [r["accuracy"] for r in reps if r["verifier"] == ""]
    if len(gen_seeds) > 1:
        left.axhspan(min(gen_seeds), max(gen_seeds), color="0.85", zorder=0,
                     label=f"generator, {len(gen_seeds)} training seeds (data: seed 0)")
    left.plot([r["size"] for r in real], [r["accuracy"] for r in real], "k-s",
              label="trained on real matrices")
    left.axhline(gen["accuracy"], color="0.3", ls="--", lw=1.5,
                 label=f"generator ({gen['accuracy']:.3f}, {gen['size']} real)")
    left.set_xscale("log")
    sizes = sorted({r["size"] for r in synth + real})
    left.set_xticks(sizes, [f"{s // 1000}k" if s % 1000 == 0 else str(s) for s in sizes])
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("synthesized pool size (matrices before selection, log scale)")
    left.set_ylabel(f"accuracy (relative L1 error < {100 * tol:g} %)")
    left.set_title("Retraining on verified beam-search answers")
    left.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))

    largest = max(r["size"] for r in synth)
    final = [r for r in synth if r["size"] == largest and np.isfinite(r["pstar"])]
    x = np.array([r["pstar"] for r in final])
    y = np.array([r["accuracy"] for r in final])
    lo = np.array([r["audit_low"] for r in final])
    hi = np.array([r["audit_high"] for r in final])
    right.errorbar([r["audit_pstar"] for r in final], y,
                   xerr=[np.clip([r["audit_pstar"] for r in final] - lo, 0, None),
                         np.clip(hi - [r["audit_pstar"] for r in final], 0, None)],
                   fmt="none", ecolor="0.75", lw=1, label="audit estimate, 95 % interval")
    right.scatter(x, y, c="C0", zorder=3, label="measured p* (all candidates)")
    for r in final:
        right.annotate(r["verifier"], (r["pstar"], r["accuracy"]), fontsize=6.5,
                       xytext=(3, 3), textcoords="offset points")
    right.axhline(gen["accuracy"], color="0.3", ls="--", lw=1.5, label="generator")
    rho = _common.spearman(x, y)
    right.text(0.03, 0.95, f"Spearman rho = {rho:.2f} ({len(x)} verifiers)",
               transform=right.transAxes, va="top",
               bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    right.set_xlabel("p* = phi / (phi + psi) of the verifier")
    right.set_ylabel(f"accuracy at the largest pool (< {100 * tol:g} %)")
    right.set_title(f"Final accuracy against p* (pool {largest})")
    right.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="results directory of an eigen run")
    parser.add_argument("--out", help="output directory (default figures/)")
    args = parser.parse_args(argv)
    for path in render(out_dir=args.out, data_dir=Path(args.data) if args.data else None):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
