"""Figure 3: the proxy p* predicts performance across verifiers.

Final accuracy of the downstream classifier against the measured p* = phi/(phi + psi) of each
verifier (label-only of several (phi, psi), linear verifiers and top-r selection at several
angles, supervised verifiers trained on 20 or 100 real samples, random, none, oracle), one flip
generator (p = 0.35), one n. Points: mean over seeds (+- 1 standard error on both axes,
simulation, sweep ``figures/sweeps/pstar-correlation.toml``); the Pearson and Spearman
correlations of the means are printed on the plot, with p as a dotted line. Hollow markers: the
finite-n theory of each verifier with an exact theory (all but the supervised ones), at its
theoretical p* (``theory.finite.solve`` through ``simulate.curves``).

    python -m figures.fig_pstar_correlation [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats

from figures import _common

STEM = "fig_pstar_correlation"
FAMILIES = {"label_only": ("label-only", "o"), "linear": ("linear verifier", "s"),
            "top_r": ("top-30 % by a linear verifier", "^"),
            "supervised": ("supervised (trained on real data)", "D"),
            "none": ("no pruning", "X"), "random": ("random 50 %", "P"), "oracle": ("oracle", "*")}


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    table = _common.sweep_results("pstar-correlation", quick=quick, out_dir=out_dir,
                                  executor=executor, scheduler=scheduler, progress=progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    curves = _common.sweep_theory("pstar-correlation", quick=quick, out_dir=out_dir,
                                  progress=progress)
    acc = _common.group(table, ("pruner_spec",), "accuracy")
    pst = _common.group(table, ("pruner_spec",), "pstar")
    fig, ax = plt.subplots(figsize=(8.6, 4.6))
    xs, ys = [], []
    for kind, (name, marker) in FAMILIES.items():
        keys = [k for k in acc if k[0].split(":")[0] == kind]
        if not keys:
            continue
        x = [pst[k][0] for k in keys]
        y = [acc[k][0] for k in keys]
        bars = ax.errorbar(x, y, xerr=[pst[k][1] for k in keys],
                           yerr=[acc[k][1] for k in keys], fmt=marker, ms=6,
                           label=f"{name} (simulation)")
        predicted = [r for r in curves.rows if r["pruner_spec"] in {k[0] for k in keys}]
        if predicted:
            ax.plot([r["theory_pstar"] for r in predicted],
                    [r["theory_finite_accuracy"] for r in predicted], marker, ms=9, mfc="none",
                    color=bars[0].get_color(), label=f"{name} (theory)")
        xs += x
        ys += y
    xs, ys = np.asarray(xs), np.asarray(ys)
    finite = np.isfinite(xs) & np.isfinite(ys)
    pearson = stats.pearsonr(xs[finite], ys[finite]).statistic
    spearman = stats.spearmanr(xs[finite], ys[finite]).statistic
    p = float(table.rows[0]["gen_p"])
    ax.axvline(p, color="0.5", ls=":", lw=1, label=f"generator error p = {p:g}")
    ax.text(0.03, 0.95, f"Pearson r = {pearson:.2f}\nSpearman rho = {spearman:.2f}\n"
            f"({int(finite.sum())} verifiers)", transform=ax.transAxes, va="top",
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_xlabel("measured p* = phi / (phi + psi) of the verifier")
    ax.set_ylabel("test accuracy of the downstream model")
    first = table.rows[0]
    seeds = len({r["seed"] for r in table.rows})
    ax.set_title(f"Accuracy against p* (flip generator p = {p:g}, n = {first['n']}, "
                 f"d = {first['d']}, {seeds} seeds)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
