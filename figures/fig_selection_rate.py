"""Figure 4: selection rate against accuracy for one verifier.

Top-r selection by a linear verifier 0.8 rad off mu keeps the 12.5 %, 25 %, 50 % or 100 % of
the synthesized samples it is most confident in (the generator is a linear rule 1.0 rad off mu).
Left: accuracy against the number of synthesized samples, one line per rate. Right: accuracy
against the rate at each n. Mean over seeds +- 1 standard error (simulation, sweep
``figures/sweeps/selection-rate.toml``), generator and Bayes accuracy as reference lines. Lines:
the finite-n theory (``theory.finite.solve`` with a ``top_r`` verifier, through
``simulate.curves``), on the left against n with its n -> inf level at the right, on the right at
each simulated n.

    python -m figures.fig_selection_rate [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

from figures import _common

STEM = "fig_selection_rate"


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    table = _common.sweep_results("selection-rate", quick=quick, out_dir=out_dir,
                                  executor=executor, scheduler=scheduler, progress=progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    curves = _common.sweep_theory("selection-rate", quick=quick, out_dir=out_dir,
                                  progress=progress)
    groups = _common.group(table, ("prune_rate", "n"))
    rates = sorted({k[0] for k in groups})
    sizes = sorted({k[1] for k in groups})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3))
    for rate in rates:
        bars = left.errorbar(sizes, [groups[(rate, n)][0] for n in sizes],
                             yerr=[groups[(rate, n)][1] for n in sizes], fmt="o",
                             label=f"keep {100 * rate:g} % (simulation)")
        n_grid, acc = _common.curve(curves, {"prune_rate": rate})
        if n_grid.size:
            left.plot(n_grid, acc, color=bars[0].get_color(), lw=1.3)
            limit = _common.curve(curves, {"prune_rate": rate}, y="theory_limit_accuracy")[1]
            left.plot([1.4 * sizes[-1], 3 * sizes[-1]], [limit[-1]] * 2,
                      color=bars[0].get_color(), lw=2.2)
    left.plot([], [], color="0.3", lw=1.3, label="finite-n theory (lines)")
    left.plot([], [], color="0.3", lw=2.2, label="n -> inf theory (right)")
    shades = plt.cm.viridis(np.linspace(0.15, 0.85, len(sizes)))
    for n, shade in zip(sizes, shades):
        right.errorbar([100 * r for r in rates], [groups[(r, n)][0] for r in rates],
                       yerr=[groups[(r, n)][1] for r in rates], fmt="o", color=shade,
                       label=f"n = {n} synthesized (simulation)")
        r_grid, acc = _common.curve(curves, {"n": float(n)}, x="prune_rate")
        if r_grid.size:
            right.plot(100 * r_grid, acc, color=shade, lw=1.3)
    right.plot([], [], color="0.3", lw=1.3, label="finite-n theory")
    gen_acc = np.nanmean(table.column("generator_accuracy").astype(float))
    bayes = float(table.rows[0]["bayes_accuracy"])
    for ax in (left, right):
        ax.axhline(bayes, color="k", ls="--", lw=1.2, label=f"Bayes {bayes:.3f} (theory)")
        ax.axhline(gen_acc, color="0.4", ls=":", lw=1.5,
                   label=f"generator {gen_acc:.3f} (theory)")
        ax.set_ylabel("test accuracy of the downstream model")
    left.set_xscale("log")
    left.set_xlabel("synthesized samples n (count, log scale)")
    right.set_xscale("log", base=2)
    right.set_xticks([100 * r for r in rates], [f"{100 * r:g}" for r in rates])
    right.set_xlabel("selection rate (% of synthesized samples kept, log scale)")
    left.legend(loc="lower right")
    right.legend(loc="lower right")
    first = table.rows[0]
    seeds = len({r["seed"] for r in table.rows})
    fig.suptitle(f"Top-r selection by a linear verifier (angle {first['prune_angle']:g} rad; "
                 f"d = {first['d']}, ||mu|| = {first['mu_norm']:g}, {seeds} seeds)")
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
