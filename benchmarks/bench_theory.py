"""Speed of the closed forms on a grid of a million points.

Workloads: p* on a 100^3 grid of (p, phi, psi) is trivial; the label-only square-loss n -> inf
accuracy on the same grid with mu in d = 10 and (a) Sigma = I, (b) a general Sigma shared by the
grid (one eigendecomposition, then O(d) per point). Baseline, run in the same process: the
straightforward implementation, a Python loop that forms M + lam I and calls numpy.linalg.solve
per point, timed on a subset and scaled to the grid. Prints compile time separately.

    python benchmarks/bench_theory.py [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats

import theory
from theory import label_only


def timed(fn, repeat=3):
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return out, first, best


def baseline_square_accuracy(p, phi, psi, mu, lam, sigma):
    """Per point: M = K (Sigma + mu mu^T), b = B mu, w = (M + lam I)^-1 b, Phi(margin / spread)."""
    d = len(mu)
    out = np.empty(len(p))
    for i in range(len(p)):
        k = (1 - p[i]) * phi[i] + p[i] * psi[i]
        b = (1 - p[i]) * phi[i] - p[i] * psi[i]
        w = np.linalg.solve(k * (sigma + np.outer(mu, mu)) + lam * np.eye(d), b * mu)
        spread = np.sqrt(w @ sigma @ w)
        out[i] = stats.norm.cdf(mu @ w / spread) if spread > 0 else 0.5
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--side", type=int, default=100, help="grid is side^3 points")
    parser.add_argument("--baseline-points", type=int, default=3000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    d, lam = 10, 0.1
    mu = rng.standard_normal(d)
    a = rng.standard_normal((d, d))
    sigma = a @ a.T / d + 0.5 * np.eye(d)
    g = np.linspace(0.0, 1.0, args.side)
    p, phi, psi = np.meshgrid(g, np.linspace(0.01, 1.0, args.side), g, indexing="ij")
    n = p.size

    results = []
    _, first, best = timed(lambda: theory.pstar(phi, psi))
    results.append({"name": "pstar", "points": n, "compile_and_run_s": first, "run_s": best})

    sub = rng.choice(n, args.baseline_points, replace=False)
    flat = [x.ravel()[sub] for x in (p, phi, psi)]
    for name, cov in (("square_accuracy_identity", None), ("square_accuracy_general_sigma", sigma)):
        out, first, best = timed(
            lambda cov=cov: label_only.limit_accuracy(p, phi, psi, mu, lam, loss="square",
                                                      sigma=cov))
        start = time.perf_counter()
        ref = baseline_square_accuracy(*flat, mu, lam, np.eye(d) if cov is None else cov)
        baseline = (time.perf_counter() - start) * n / args.baseline_points
        agree = float(np.max(np.abs(out.ravel()[sub] - ref)))
        results.append({"name": name, "points": n, "compile_and_run_s": first, "run_s": best,
                        "baseline_s_scaled": baseline, "ratio": baseline / best,
                        "max_abs_diff_vs_baseline": agree})

    if args.json:
        print(json.dumps(results))
        return
    print(f"{'workload':<32}{'points':>10}{'compile+run s':>15}{'run s':>10}{'baseline s':>12}"
          f"{'ratio':>10}{'max |diff|':>12}")
    for r in results:
        print(f"{r['name']:<32}{r['points']:>10}{r['compile_and_run_s']:>15.3f}{r['run_s']:>10.3f}"
              f"{r.get('baseline_s_scaled', float('nan')):>12.1f}{r.get('ratio', float('nan')):>10.0f}"
              f"{r.get('max_abs_diff_vs_baseline', float('nan')):>12.1e}")
    print("baseline: per-point numpy.linalg.solve loop (scaled from a subset); ratio = baseline / run")


if __name__ == "__main__":
    main()
