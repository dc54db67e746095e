"""Figure 2: the phase transition at p* (label-only pruning, flip generator).

Accuracy against the generator error rate p for verifiers of p* = 0.5 (no pruning), 0.7 and 0.9:
lines are the n -> inf theory (``theory.label_only.limit_accuracy``: Bayes accuracy below p*,
its mirror above), points are simulations at increasing n (mean over seeds +- 1 standard error,
sweep ``figures/sweeps/phase-transition.toml``), converging to the step; thin lines of the same
shade are the finite-n theory at each simulated n (``theory.finite.solve`` on a dense p grid,
through ``simulate.curves``).

    python -m figures.fig_phase_transition [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

import theory
from figures import _common
from simulate import specs as spec_strings

STEM = "fig_phase_transition"


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    table = _common.sweep_results("phase-transition", quick=quick, out_dir=out_dir,
                                  executor=executor, scheduler=scheduler, progress=progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    first = table.rows[0]
    mu = np.zeros(int(first["d"]))
    mu[0] = first["mu_norm"]
    lam, loss = float(first["lam"]), first["loss"]
    pruners = list(dict.fromkeys(r["pruner_spec"] for r in table.rows))
    sizes = sorted({r["n"] for r in table.rows})
    groups = _common.group(table, ("pruner_spec", "n", "gen_p"))
    curves = _common.sweep_theory("phase-transition", quick=quick, out_dir=out_dir, dense="p",
                                  points=21 if quick else 91, progress=progress)
    fig, axes = plt.subplots(1, len(pruners), figsize=(4.0 * len(pruners), 4.0), sharey=True)
    p_grid = np.linspace(0.0, 1.0, 201 if quick else 801)  # quick: a coarser theory curve
    markers = ["o", "s", "^", "D"]
    shades = plt.cm.viridis(np.linspace(0.15, 0.8, len(sizes)))
    for ax, spec in zip(np.atleast_1d(axes), pruners):
        kind, params = spec_strings.parse(spec)
        phi, psi = (params["phi"], params["psi"]) if kind == "label_only" else (1.0, 1.0)
        ps = float(theory.pstar(phi, psi))
        limit = theory.label_only.limit_accuracy(p_grid, phi, psi, mu, lam, loss=loss)
        ax.plot(p_grid, limit, color="k", lw=1.6, label="n -> inf (theory)")
        ax.axvline(ps, color="0.5", ls=":", lw=1)
        for size, shade, marker in zip(sizes, shades, markers):
            keys = sorted(k for k in groups if k[0] == spec and k[1] == size)
            ax.errorbar([k[2] for k in keys], [groups[k][0] for k in keys],
                        yerr=[groups[k][1] for k in keys], fmt=marker, color=shade, ms=4.5,
                        label=f"n = {size} (simulation)")
            p_theory, acc = _common.curve(curves, {"pruner_spec": spec, "n": float(size)},
                                          x="gen_p")
            ax.plot(p_theory, acc, color=shade, lw=1.1,
                    label=f"n = {size} (finite-n theory)" if len(p_theory) else None)
        title = "no pruning" if kind == "none" else f"label-only, phi={phi:g}, psi={psi:g}"
        ax.set_title(f"{title}: p* = {ps:.2f}")
        ax.set_xlabel("generator error rate p")
    np.atleast_1d(axes)[0].set_ylabel("test accuracy of the downstream model")
    np.atleast_1d(axes)[0].legend(loc="lower left")
    seeds = len({r["seed"] for r in table.rows})
    fig.suptitle(f"Phase transition at p* ({loss} loss, lam = {lam:g}, d = {len(mu)}, "
                 f"||mu|| = {mu[0]:g}, {seeds} seeds; dotted: p*)")
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
