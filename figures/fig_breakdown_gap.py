"""Figure: the proxy p* against the exact breakdown p_break of a linear verifier
(docs/theory.md, section 'Linear verifiers').

A verifier that keeps a synthesized sample iff y' x^T w_v > 0, at angle theta from mu
(||mu|| = 1.2), prunes a flip generator. Its measurable proxy is p* = Phi(||mu|| cos theta). The
error rate at which the n -> inf classifier actually turns against the truth, p_break, depends on
lam and on the loss, and tends to the signal-weighted ratio phi'/(phi'+psi') as lam -> inf.

(a) p* and p_break against theta for several lam (logistic loss; square loss dotted).
(b) p_break against lam for three angles, p* dashed.

The curves are theory only (``theory.linear_verifier``); they are stored in
figures/data/fig_breakdown_gap.json and recomputed (about two minutes) only when that file is
missing or ``--recompute`` is given:

    python -m figures.fig_breakdown_gap [--recompute] [--out DIR]

Writes figures/fig_breakdown_gap.png and .pdf (or into DIR). ``--quick`` changes nothing here:
the figure is theory only and its stored curves are reused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from figures import _common
from simulate import store
from theory import linear_verifier, pstar

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "fig_breakdown_gap.json"
MU_NORM = 1.2
ANGLES = np.linspace(0.05, 1.5, 30)
LAMS_A = (0.03, 0.3, 3.0)
LAMS_B = np.geomspace(1e-2, 1e3, 16)
ANGLES_B = (0.3, 0.9, 1.3)


def _plane(angles):
    angles = np.asarray(angles, float)
    mu = np.array([MU_NORM, 0.0])
    return mu, np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def compute():
    mu, w_v = _plane(ANGLES)
    sphi, spsi = linear_verifier.signal_weighted_rates(mu, w_v)
    out = {
        "mu_norm": MU_NORM, "angles": ANGLES.tolist(),
        "pstar": pstar(*linear_verifier.keep_rates(mu, w_v)).tolist(),
        "lam_inf_ratio": (sphi / (sphi + spsi)).tolist(),
        "panel_a": {}, "lams_b": LAMS_B.tolist(), "angles_b": list(ANGLES_B), "panel_b": {},
    }
    for loss in ("logistic", "square"):
        for lam in LAMS_A:
            out["panel_a"][f"{loss}:{lam:g}"] = linear_verifier.breakdown(
                mu, w_v, lam, loss=loss).tolist()
        mu_b, w_b = _plane(ANGLES_B)
        out["panel_b"][loss] = linear_verifier.breakdown(
            mu_b, w_b[:, None, :], LAMS_B[None, :], loss=loss).tolist()
        print(f"computed {loss}", flush=True)
    return out


def load_or_compute(recompute=False):
    if DATA.exists() and not recompute:
        return json.loads(DATA.read_text())
    data = compute()
    store.write_atomic(DATA, json.dumps(data))
    return data


def plot(data):
    _common.use_style()
    import matplotlib.pyplot as plt

    angles = np.array(data["angles"])
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(11, 4.3), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(LAMS_A)))
    ax_a.plot(angles, data["pstar"], "k-", lw=2, label="proxy p* (measurable)")
    ax_a.plot(angles, data["lam_inf_ratio"], "k:", lw=1.5, label="p_break, lam -> inf")
    for lam, color in zip(LAMS_A, colors):
        logistic = np.array(data["panel_a"][f"logistic:{lam:g}"], float)
        square = np.array(data["panel_a"][f"square:{lam:g}"], float)
        ax_a.plot(angles, logistic, color=color, lw=1.8, label=f"p_break, logistic, lam={lam:g}")
        ax_a.plot(angles, square, color=color, lw=1.2, ls="--", label=f"p_break, square, lam={lam:g}")
    ax_a.set_xlabel("angle between verifier w_v and mu (rad)")
    ax_a.set_ylabel("generator error rate p")
    ax_a.set_ylim(0.45, 1.01)
    ax_a.set_title("(a) proxy vs exact breakdown (theory, n -> inf)")
    ax_a.legend(fontsize=7.5, loc="lower left")
    ax_a.grid(alpha=0.3)

    lams = np.array(data["lams_b"])
    mu_b, w_b = _plane(ANGLES_B)
    ps = pstar(*linear_verifier.keep_rates(mu_b, w_b))
    colors = plt.cm.plasma(np.linspace(0.1, 0.75, len(ANGLES_B)))
    for i, (angle, color) in enumerate(zip(ANGLES_B, colors)):
        ax_b.semilogx(lams, data["panel_b"]["logistic"][i], color=color, lw=1.8,
                      label=f"p_break, logistic, angle {angle:g}")
        ax_b.semilogx(lams, data["panel_b"]["square"][i], color=color, lw=1.2, ls="--",
                      label=f"p_break, square, angle {angle:g}")
        ax_b.axhline(ps[i], color=color, lw=1, ls=":", label=f"p*, angle {angle:g}")
    ax_b.set_xlabel("ridge strength lam")
    ax_b.set_ylabel("generator error rate p")
    ax_b.set_ylim(0.45, 1.01)
    ax_b.set_title("(b) the breakdown moves with lam; the proxy does not")
    ax_b.legend(fontsize=7, loc="lower right", ncol=1)
    ax_b.grid(alpha=0.3)
    fig.suptitle(f"Linear verifier, flip generator, ||mu|| = {data['mu_norm']}, tau = 0 "
                 "(missing p_break: no breakdown in [0, 1])", fontsize=10)
    return fig


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True,
           recompute=False):
    fig = plot(load_or_compute(recompute))
    return _common.save(fig, "fig_breakdown_gap", _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv, recompute=True)


if __name__ == "__main__":
    sys.exit(main())
