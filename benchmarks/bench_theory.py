"""Speed of the closed forms on a grid of a million points.

Workloads: p* on a 100^3 grid of (p, phi, psi) is trivial; the label-only square-loss n -> inf
accuracy on the same grid with mu in d = 10 and (a) Sigma = I, (b) a general Sigma shared by the
grid (one eigendecomposition, then O(d) per point). Baseline, run in the same process: the
straightforward implementation, a Python loop that forms M + lam I and calls numpy.linalg.solve
per point, timed on a subset and scaled to the grid. Prints compile time separately.

    python benchmarks/bench_theory.py [--json]

Memory: ``--memory`` instead runs every batched theory function on grids of growing size, each
in a fresh process, and prints the peak resident memory (above the warmed-up process) beside the
time: with the grid processed in chunks sized to ``theory._numerics.MEMORY_BUDGET`` the peak
stays flat and the time grows linearly in the number of points.

    python benchmarks/bench_theory.py --memory [--points 4096 16384 65536] [--only W ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
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


# Batched workloads of the memory profile: one per public function that takes a grid, the grid
# running through p (or the argument named), d = 10 (as in the report). Elementwise closed forms
# (proxy, gaussian, keep rates) are represented by pstar and keep_rates; theory.scenario's
# functions take one scenario, not a grid.
MEMORY_WORKLOADS = (
    "pstar", "estimate_pstar", "label_only_square", "label_only_square_sigma",
    "label_only_logistic", "label_only_logistic_sigma", "label_only_curve_parameters",
    "verifier_keep_rates", "verifier_signal_weighted_rates", "tau_for_rate", "verifier_square",
    "verifier_logistic", "verifier_breakdown_square", "verifier_breakdown_logistic",
    "generator_keep_rates", "finite_square", "finite_logistic", "finite_solve_square",
    "finite_solve_logistic",
)


def _memory_workload(name):
    from theory import finite, linear_generator, linear_verifier, scenario

    rng = np.random.default_rng(0)
    d = 10
    mu = rng.standard_normal(d) / np.sqrt(d)
    a = rng.standard_normal((d, d))
    sigma = a @ a.T / d + 0.5 * np.eye(d)
    w_v = mu + rng.standard_normal(d) / np.sqrt(d)
    flip, keep = scenario.flip(0.2), scenario.label_only(0.9, 0.3)
    return {
        "pstar": lambda p: theory.pstar(0.1 + 0.9 * p, 0.3),
        # an audit set of as many samples as points
        "estimate_pstar": lambda p: theory.estimate_pstar(p < 0.7, (p * 1e4) % 3 < 2),
        "label_only_square": lambda p: label_only.limit_accuracy(p, 0.9, 0.3, mu, 0.1,
                                                                 loss="square"),
        "label_only_square_sigma": lambda p: label_only.limit_accuracy(
            p, 0.9, 0.3, mu, 0.1, loss="square", sigma=sigma),
        "label_only_logistic": lambda p: label_only.limit_accuracy(p, 0.9, 0.3, mu, 0.1),
        "label_only_logistic_sigma": lambda p: label_only.limit_accuracy(p, 0.9, 0.3, mu, 0.1,
                                                                         sigma=sigma),
        "label_only_curve_parameters": lambda p: label_only.limit_curve_parameters(
            p, 0.9, 0.3, mu, 0.1, sigma=sigma),
        "verifier_keep_rates": lambda p: linear_verifier.keep_rates(mu, w_v, tau=p),
        "verifier_signal_weighted_rates": lambda p: linear_verifier.signal_weighted_rates(
            mu, w_v, tau=p),
        "tau_for_rate": lambda p: linear_verifier.tau_for_rate(mu, w_v, p, 0.3),
        "verifier_square": lambda p: linear_verifier.limit_accuracy(mu, w_v, p, 0.1,
                                                                    loss="square"),
        "verifier_logistic": lambda p: linear_verifier.limit_accuracy(mu, w_v, p, 0.1),
        # the grid runs through lam, as in the report (1,000 lam values)
        "verifier_breakdown_square": lambda p: linear_verifier.breakdown(mu, w_v, 0.01 + p,
                                                                         loss="square"),
        "verifier_breakdown_logistic": lambda p: linear_verifier.breakdown(mu, w_v, 0.01 + p),
        "generator_keep_rates": lambda p: linear_generator.keep_rates(mu, w_v, mu, tau=p),
        "finite_square": lambda p: finite.accuracy(1 + 4 * p, 0.2, 0.9, 0.3, 1.0, 0.1,
                                                   loss="square"),
        "finite_logistic": lambda p: finite.accuracy(1 + 4 * p, 0.2, 0.9, 0.3, 1.0, 0.1),
        "finite_solve_square": lambda p: finite.solve(1 + 4 * p, mu, 0.1, generator=flip,
                                                      verifier=keep, loss="square"),
        "finite_solve_logistic": lambda p: finite.solve(1 + 4 * p, mu, 0.1, generator=flip,
                                                        verifier=keep),
    }[name]


def _measure_one(name, points):
    """In this (fresh) process: warm up on a small grid, then time the full one; peak RSS."""
    fn = _memory_workload(name)
    fn(np.linspace(0.0, 1.0, 16))
    warm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    fn(np.linspace(0.0, 1.0, points))
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": name, "points": points, "run_s": elapsed,
                      "peak_mb": peak, "above_warm_mb": peak - warm}))


def memory_profile(points, as_json, only=None):
    rows = []
    for name in only or MEMORY_WORKLOADS:
        for n in points:
            out = subprocess.run([sys.executable, __file__, "--measure-one", name, str(n)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if as_json:
        print(json.dumps(rows))
        return
    print(f"{'workload':<28}{'points':>10}{'run s':>10}{'s / 1k pts':>12}{'peak MB':>10}"
          f"{'above warm MB':>15}")
    for r in rows:
        print(f"{r['name']:<28}{r['points']:>10}{r['run_s']:>10.2f}"
              f"{1e3 * r['run_s'] / r['points']:>12.3f}{r['peak_mb']:>10.0f}"
              f"{r['above_warm_mb']:>15.0f}")
    print("time includes compiling the chunk's shape once per process (the warm-up compiles a "
          "16-point chunk)")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--measure-one":
        _measure_one(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--memory", action="store_true",
                        help="peak memory and time of every batched function on growing grids")
    parser.add_argument("--points", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--only", nargs="+", choices=MEMORY_WORKLOADS, metavar="WORKLOAD",
                        help="with --memory: these workloads only (default all)")
    parser.add_argument("--side", type=int, default=100, help="grid is side^3 points")
    parser.add_argument("--baseline-points", type=int, default=3000)
    args = parser.parse_args()
    if args.memory:
        memory_profile(args.points, args.json, args.only)
        return

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
