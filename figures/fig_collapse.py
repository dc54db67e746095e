"""Figure 1: collapse without verification, recovery with it.

Accuracy of the downstream classifier against the number of synthesized samples (log scale), for
no pruning, random pruning (50 %), oracle pruning and linear verifiers of three qualities (angle
to mu), with the generator's accuracy and the Bayes accuracy as reference lines. Points: mean
over seeds, bars: +- 1 standard error (simulation, sweep ``figures/sweeps/collapse.toml``).

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

    fig, ax = plt.subplots(figsize=(9.2, 4.4))
    groups = _common.group(table, ("pruner_spec", "n"))
    specs = list(dict.fromkeys(r["pruner_spec"] for r in table.rows))
    for spec in specs:
        ns = sorted(n for s, n in groups if s == spec)
        means = [groups[(spec, n)][0] for n in ns]
        ses = [groups[(spec, n)][1] for n in ns]
        ax.errorbar(ns, means, yerr=ses, marker="o", label=f"{label(spec)} (simulation)")
    gen_acc = np.nanmean(table.column("generator_accuracy").astype(float))
    bayes = float(table.rows[0]["bayes_accuracy"])
    ax.axhline(bayes, color="k", ls="--", lw=1.2, label=f"Bayes accuracy {bayes:.3f} (theory)")
    ax.axhline(gen_acc, color="0.4", ls=":", lw=1.5,
               label=f"generator accuracy {gen_acc:.3f} (theory)")
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
