"""Figure: the finite-n breakdown map of three verifiers with the same p*.

A flip generator with error rate p labels n = alpha d samples (||mu|| = 1.2); a verifier prunes
them and a ridge-logistic classifier (lam = 0.1) is trained on the rest. For every n/d the
exact finite-n theory (``theory.finite.solve``, docs/theory.md, "General scenarios") gives two
error rates of the generator:

- p_gain, below which the downstream model is less accurate than its own generator (1 - p):
  synthesized data are worth training on only for p above it;
- p_half, above which the downstream model is worse than chance: the finite-n breakdown.

The three verifiers keep the same fractions of correct and wrong labels at n -> inf, so they
share p* = phi / (phi + psi): a linear verifier (keep iff y' x^T w_v > 0, w_v 0.9 rad from mu), a
label-only verifier with that verifier's (phi, psi), and top-r selection by the same w_v at the
linear verifier's keep rate at p = p* (its p* equals theirs there). Where they differ is which
samples they keep. The curves are theory only; they are stored in
figures/data/fig_breakdown_map.json and recomputed only when that file is missing or
``--recompute`` is given (``--quick``: a coarser grid, stored under the quick output folder):

    python -m figures.fig_breakdown_map [--quick] [--recompute] [--out DIR]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from figures import _common
from simulate import store

STEM = "fig_breakdown_map"
MU_NORM = 1.2
ANGLE = 0.9
LAM = 0.1
FULL = {"alpha": np.geomspace(0.5, 64.0, 15).tolist(), "p": np.linspace(0.02, 0.98, 49).tolist()}
QUICK = {"alpha": np.geomspace(0.5, 64.0, 6).tolist(), "p": np.linspace(0.04, 0.96, 24).tolist()}
NAMES = {"label_only": "label-only (same phi, psi)", "linear": "linear verifier (margin > 0)",
         "top_r": "top-r by the same w_v"}


def _verifiers():
    """(name -> theory.scenario verifier), the shared p*, and the top-r rate."""
    from theory import linear_verifier, pstar, scenario

    mu = np.array([MU_NORM, 0.0])
    w_v = np.array([np.cos(ANGLE), np.sin(ANGLE)])
    phi, psi = (float(v) for v in linear_verifier.keep_rates(mu, w_v))
    p_star = float(pstar(phi, psi))
    rate = (1 - p_star) * phi + p_star * psi  # the linear verifier's keep rate at p = p*
    return mu, {"label_only": scenario.label_only(phi, psi),
                "linear": scenario.linear_verifier(w_v, 0.0),
                "top_r": scenario.top_r(rate, w_v)}, p_star, phi, psi, rate


def _crossing(p, f):
    """The first p at which f (on the grid p) changes sign, linearly interpolated; NaN if none."""
    f = np.asarray(f, float)
    for i in range(len(p) - 1):
        if np.isfinite(f[i]) and np.isfinite(f[i + 1]) and f[i] * f[i + 1] <= 0 and f[i] != f[i + 1]:
            return float(p[i] + (p[i + 1] - p[i]) * f[i] / (f[i] - f[i + 1]))
    return float("nan")


def compute(grid, progress=True):
    from theory import finite, scenario

    mu, verifiers, p_star, phi, psi, rate = _verifiers()
    alpha = np.r_[np.asarray(grid["alpha"], float), np.inf]
    ps = np.asarray(grid["p"], float)
    out = {"mu_norm": MU_NORM, "angle": ANGLE, "lam": LAM, "pstar": p_star, "phi": phi,
           "psi": psi, "top_r_rate": rate, "alpha": grid["alpha"], "p": grid["p"],
           "accuracy": {}, "p_gain": {}, "p_half": {}, "p_gain_inf": {}, "p_half_inf": {}}
    for name, verifier in verifiers.items():
        acc = np.full((len(ps), len(alpha)), np.nan)
        for i, p in enumerate(ps):
            res = finite.solve(alpha, mu, LAM, generator=scenario.flip(float(p)),
                               verifier=verifier, quadrature_check=False)
            acc[i] = res.accuracy
        if progress:
            print(f"{STEM}: {name} done", file=sys.stderr, flush=True)
        gain = [_crossing(ps, acc[:, j] - (1 - ps)) for j in range(len(alpha))]
        half = [_crossing(ps, acc[:, j] - 0.5) for j in range(len(alpha))]
        out["accuracy"][name] = acc[:, :-1].tolist()
        out["p_gain"][name], out["p_gain_inf"][name] = gain[:-1], gain[-1]
        out["p_half"][name], out["p_half_inf"][name] = half[:-1], half[-1]
    return out


def load_or_compute(quick=False, out_dir=None, recompute=False, progress=True):
    grid = QUICK if quick else FULL
    path = _common.data_dir_for(quick, out_dir) / f"{STEM}.json"
    if path.exists() and not recompute:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("alpha") == grid["alpha"] and data.get("p") == grid["p"]:
            return data
    data = compute(grid, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.write_atomic(path, json.dumps(data, allow_nan=True))
    return data


def plot(data):
    _common.use_style()
    import matplotlib.pyplot as plt

    alpha = np.asarray(data["alpha"], float)
    fig, ax = plt.subplots(figsize=(9.4, 4.6))
    colors = {"label_only": "C0", "linear": "C1", "top_r": "C2"}
    right = alpha[-1] * 1.6
    for name, color in colors.items():
        half = np.asarray(data["p_half"][name], float)
        gain = np.asarray(data["p_gain"][name], float)
        ax.plot(alpha, half, "-o", color=color, ms=3.5, label=f"{NAMES[name]}: p_half")
        ax.plot(alpha, gain, "--s", color=color, ms=3, label=f"{NAMES[name]}: p_gain")
        for value, marker in ((data["p_half_inf"][name], ">"), (data["p_gain_inf"][name], ">")):
            if value == value:
                ax.plot([right], [value], marker, color=color, ms=7, clip_on=False)
    ax.axhline(data["pstar"], color="k", ls=":", lw=1.2,
               label=f"shared proxy p* = {data['pstar']:.3f}")
    ax.set_xscale("log")
    ax.set_xlim(alpha[0] / 1.2, right * 1.15)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("synthesized samples per dimension n / d (log scale; arrows: n -> inf)")
    ax.set_ylabel("generator error rate p")
    ax.set_title(f"Where synthesized data help (p_gain < p < p_half) at finite n "
                 f"(flip generator, ||mu|| = {data['mu_norm']:g}, lam = {data['lam']:g}, "
                 "logistic, theory; a missing point: no crossing for p <= "
                 f"{max(data['p']):g})", fontsize=9)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return fig


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           recompute=False):
    fig = plot(load_or_compute(quick, out_dir, recompute, progress))
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv, recompute=True)


if __name__ == "__main__":
    sys.exit(main())
