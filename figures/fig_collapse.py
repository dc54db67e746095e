"""Figure 1: collapse without verification, recovery with it.

Accuracy of the downstream classifier against the number of synthesized samples (log scale), for
no pruning, random pruning (50 %), oracle pruning and linear verifiers of three qualities (angle
to mu), with the generator's accuracy and the Bayes accuracy as reference lines. Points: mean
over seeds, bars: +- 1 standard error (simulation, sweep ``figures/sweeps/collapse.toml``).
Lines: the finite-n theory of each pruner at alpha = n / d (``theory.finite.solve`` through
``simulate.curves``); the short segments at the right are its n -> inf level.

    python -m figures.fig_collapse [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

from figures import _common

STEM = "fig_collapse"


def label(spec: str) -> str:
    if spec.startswith("linear:angle="):
        return f"linear verifier, angle {float(spec.split('=')[1]):g} rad"
    return {"none": "no pruning", "random:rate=0.5": "random 50 %",
            "oracle": "oracle pruning"}.get(spec, spec)


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    table = _common.sweep_results("collapse", quick=quick, out_dir=out_dir, executor=executor,
                                  scheduler=scheduler, progress=progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    curves = _common.sweep_theory("collapse", quick=quick, out_dir=out_dir, progress=progress)
    fig, ax = plt.subplots(figsize=(9.2, 4.4))
    groups = _common.group(table, ("pruner_spec", "n"))
    specs = list(dict.fromkeys(r["pruner_spec"] for r in table.rows))
    n_max = max(n for _, n in groups)
    for spec in specs:
        ns = sorted(n for s, n in groups if s == spec)
        means = [groups[(spec, n)][0] for n in ns]
        ses = [groups[(spec, n)][1] for n in ns]
        bars = ax.errorbar(ns, means, yerr=ses, fmt="o", label=f"{label(spec)} (simulation)")
        n_grid, acc = _common.curve(curves, {"pruner_spec": spec})
        if n_grid.size:
            color = bars[0].get_color()
            ax.plot(n_grid, acc, color=color, lw=1.3)
            limit = _common.curve(curves, {"pruner_spec": spec}, y="theory_limit_accuracy")[1]
            ax.plot([1.4 * n_max, 3 * n_max], [limit[-1]] * 2, color=color, lw=2.2)
    gen_acc = np.nanmean(table.column("generator_accuracy").astype(float))
    bayes = float(table.rows[0]["bayes_accuracy"])
    ax.axhline(bayes, color="k", ls="--", lw=1.2, label=f"Bayes accuracy {bayes:.3f} (theory)")
    ax.axhline(gen_acc, color="0.4", ls=":", lw=1.5,
               label=f"generator accuracy {gen_acc:.3f} (theory)")
    ax.plot([], [], color="0.3", lw=1.3, label="finite-n theory (lines)")
    ax.plot([], [], color="0.3", lw=2.2, label="n -> inf theory (right)")
    ax.set_xscale("log")
    ax.set_xlabel("synthesized samples n (count, log scale)")
    ax.set_ylabel("test accuracy of the downstream model")
    d, mu = table.rows[0]["d"], table.rows[0]["mu_norm"]
    seeds = len({r["seed"] for r in table.rows})
    ax.set_title(f"Training on a linear generator's labels (d = {d}, ||mu|| = {mu:g}, "
                 f"{seeds} seeds)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
