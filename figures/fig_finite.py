"""Figure: accuracy against the generator error rate p at several n/d, finite-sample theory
(lines, theory.finite) over direct simulations at d = 400 (points, mean +- 2 standard errors),
turning into the sharp n -> inf step at p* (dashed, theory.label_only).

Two panels: no pruning (phi = psi = 1, p* = 1/2) and a verifier (phi = 0.9, psi = 0.3,
p* = 3/4). Logistic loss, lam = 1e-2, ||mu|| = 1.

The simulations are stored in figures/data/fig_finite_sim.json and made (a few minutes on 2
cores) only when that file is missing or ``--recompute`` is given:

    python -m figures.fig_finite [--recompute] [--out DIR]

Writes figures/fig_finite.png and figures/fig_finite.pdf (or into DIR). ``--quick`` reuses the
stored simulations (it never resimulates).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from figures import _common
from theory import finite, label_only, pstar

HERE = Path(__file__).resolve().parent

DATA = HERE / "data" / "fig_finite_sim.json"
ALPHAS = (1.0, 4.0, 16.0, 64.0)
VERIFIERS = ((1.0, 1.0), (0.9, 0.3))
SIM_PS = tuple(np.round(np.arange(0.05, 1.0, 0.1), 2))
MU_NORM, LAM, LOSS, D, DRAWS, ROOT_SEED = 1.0, 1e-2, "logistic", 400, 8, 7


def make_simulations():
    from simulate.reference import label_only as simulate  # independent of simulate.run

    records = []
    index = 0
    for phi, psi in VERIFIERS:
        for alpha in ALPHAS:
            for p in SIM_PS:
                sim = simulate(alpha, p, phi, psi, MU_NORM, LAM, LOSS, d=D, seeds=range(DRAWS),
                               root_seed=ROOT_SEED, index=index)
                acc = sim.accuracy
                records.append({"index": index, "phi": phi, "psi": psi, "alpha": alpha,
                                "p": float(p), "mean": float(acc.mean()),
                                "se": float(acc.std(ddof=1) / np.sqrt(acc.size)),
                                "draws": int(acc.size),
                                "converged": bool(sim.converged.all())})
                index += 1
                print(f"simulated phi={phi} psi={psi} alpha={alpha} p={p}: {acc.mean():.4f}",
                      flush=True)
    payload = {"description": "d = 400 simulations for figures/fig_finite.py", "d": D,
               "mu_norm": MU_NORM, "lam": LAM, "loss": LOSS, "draws": DRAWS,
               "root_seed": ROOT_SEED,
               "key_derivation": "fold_in(fold_in(PRNGKey(root_seed), index), draw)",
               "records": records}
    from simulate import store

    store.write_atomic(DATA, json.dumps(payload, indent=1))
    return payload


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           recompute=False):
    data = make_simulations() if recompute or not DATA.exists() else json.loads(
        DATA.read_text())
    sims = data["records"]
    _common.use_style()
    import matplotlib.pyplot as plt

    p_grid = np.linspace(0.0, 1.0, 101 if quick else 401)  # quick: a coarser theory curve
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(ALPHAS)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, (phi, psi) in zip(axes, VERIFIERS):
        curves = finite.accuracy(np.asarray(ALPHAS)[:, None], p_grid[None, :], phi, psi,
                                 MU_NORM, LAM, LOSS)
        for k, (alpha, color) in enumerate(zip(ALPHAS, colors)):
            ax.plot(p_grid, curves.accuracy[k], color=color, lw=1.6,
                    label=f"theory, n/d = {alpha:g}")
            pts = [r for r in sims if r["phi"] == phi and r["psi"] == psi and r["alpha"] == alpha]
            ax.errorbar([r["p"] for r in pts], [r["mean"] for r in pts],
                        yerr=[2 * r["se"] for r in pts], fmt="o", ms=3.5, color=color,
                        capsize=2, lw=1)
        limit = label_only.limit_accuracy(p_grid, phi, psi, np.array([MU_NORM, 0.0]), LAM,
                                          loss=LOSS)
        ax.plot(p_grid, limit, "k--", lw=1.2, label="n -> inf (step at p*)")
        ps = float(pstar(phi, psi))
        ax.axvline(ps, color="0.6", lw=0.8, ls=":")
        ax.set_title(f"phi = {phi:g}, psi = {psi:g}  (p* = {ps:.3g})")
        ax.set_xlabel("generator error rate p")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Finite-sample learning curves: {LOSS} loss, lam = {LAM:g}, ||mu|| = "
                 f"{MU_NORM:g}; points: simulation at d = {D} ({data['draws']} draws, +- 2 se)",
                 fontsize=10)
    fig.tight_layout()
    return _common.save(fig, "fig_finite", _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv, recompute=True)


if __name__ == "__main__":
    sys.exit(main())
