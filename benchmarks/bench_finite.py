"""Speed of ``theory.finite``: a 200-point alpha curve, and the ratio against a
straightforward solver of the same equations.

The baseline is written the way published replica codes solve such equations: per alpha point,
a damped fixed-point iteration (damping 0.5) of the map (FP) of theory/finite.md, each
expectation an adaptive ``scipy.integrate.quad`` over xi in (-inf, inf), and inside the
integrand the prox computed by ``scipy.optimize.minimize_scalar`` on l(u) + (u - h)^2 / (2V).
It runs in the same process on a subset of the alpha points, from the same starting point
(the square-loss solution), until the relative change per iteration is below 1e-8 (a looser
target than ours, a 1e-10 residual). Timings are
reported, never asserted; compile time is reported apart from run time.

    .venv/bin/python benchmarks/bench_finite.py [--json] [--baseline-points 3] [--lam 1e-3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import integrate, optimize
from scipy.special import expit, ndtr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from theory import finite


def _logistic(u):
    return np.logaddexp(0.0, -u)


def _prox_scalar(h, v):
    """argmin_u l(u) + (u - h)^2 / (2 V) by bounded scalar minimisation (root lies in [h, h+V])."""
    res = optimize.minimize_scalar(lambda u: _logistic(u) + (u - h) ** 2 / (2 * v),
                                   bounds=(h, h + v), method="bounded",
                                   options={"xatol": 1e-12})
    return res.x


def _expect(fn):
    """E[fn(xi)], xi ~ N(0, 1), by adaptive quadrature on the real line."""
    with warnings.catch_warnings():  # quad's roundoff notices at the 1e-11 level
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(lambda x: fn(x) * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi),
                                -np.inf, np.inf, epsabs=1e-11, epsrel=1e-10, limit=200)
    return val


def _f_of(h, v):
    """f = l'(prox_{V l}(h))."""
    return -expit(-_prox_scalar(h, v))


def _d_of(h, v):
    """d = l''(P) / (1 + V l''(P)) at P = prox_{V l}(h)."""
    p = _prox_scalar(h, v)
    l2 = expit(p) * expit(-p)
    return l2 / (1 + v * l2)


def baseline_point(alpha, c_plus, c_minus, mu_norm, lam, start, *, damping=0.5, tol=1e-8,
                   max_iter=5000):
    """Damped fixed-point iteration of (FP) with quad + minimize_scalar. Returns
    (accuracy, iterations, map evaluations, converged)."""
    v, mbar, rho = start
    for it in range(1, max_iter + 1):
        m = mu_norm * mbar
        sq = np.sqrt(mbar**2 + rho**2)
        d_sum = s_sum = f2_sum = 0.0
        for c, s in ((c_plus, 1.0), (c_minus, -1.0)):
            if c == 0:
                continue
            d_sum += c * _expect(lambda x, h0=s * m, sq=sq, v=v: _d_of(h0 + sq * x, v))
            s_sum += c * s * _expect(lambda x, h0=s * m, sq=sq, v=v: _f_of(h0 + sq * x, v))
            f2_sum += c * _expect(lambda x, h0=s * m, sq=sq, v=v: _f_of(h0 + sq * x, v) ** 2)
        a = lam + d_sum
        new = np.array([1 / (alpha * a), -mu_norm * s_sum / a, np.sqrt(f2_sum / alpha) / a])
        old = np.array([v, mbar, rho])
        change = np.max(np.abs(new - old) / np.maximum(np.abs(old), 1e-12))
        v, mbar, rho = (1 - damping) * old + damping * new
        if change <= tol:
            acc = ndtr(mu_norm * mbar / np.sqrt(mbar**2 + rho**2))
            return acc, it, it, True
    return np.nan, max_iter, max_iter, False


def main(argv=None):
    parser = argparse.ArgumentParser(description="theory.finite speed benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--points", type=int, default=200, help="alpha points on the curve")
    parser.add_argument("--baseline-points", type=int, default=3)
    parser.add_argument("--lam", type=float, default=1e-1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    setting = {"p": 0.2, "phi": 0.9, "psi": 0.3, "mu_norm": 1.0, "lam": args.lam}
    alpha = np.geomspace(0.5, 50, args.points)
    timings = {}
    for loss in ("logistic", "square"):
        t0 = time.perf_counter()
        res = finite.accuracy(alpha, loss=loss, **setting)
        first = time.perf_counter() - t0
        runs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            res = finite.accuracy(alpha, loss=loss, **setting)
            runs.append(time.perf_counter() - t0)
        timings[loss] = {"first_call_s": first, "run_s": min(runs),
                         "run_median_s": float(np.median(runs)),
                         "compile_s": max(first - min(runs), 0.0),
                         "converged": bool(np.all(res.converged))}
    curve = finite.accuracy(alpha, loss="logistic", **setting)

    # Baseline on a subset of the curve, from the square-loss solution at each point.
    pick = np.linspace(0, args.points - 1, args.baseline_points).round().astype(int)
    cp, cm = finite.kept_masses(setting["p"], setting["phi"], setting["psi"])
    base = []
    for i in pick:
        sq = finite.accuracy(alpha[i], loss="square", **setting)
        mbar0 = float(sq.m) / setting["mu_norm"]
        start = (float(sq.V), mbar0, float(np.sqrt(sq.q - mbar0**2)))
        t0 = time.perf_counter()
        acc, iters, _, ok = baseline_point(alpha[i], float(cp), float(cm), setting["mu_norm"],
                                           setting["lam"], start)
        sec = time.perf_counter() - t0
        base.append({"alpha": float(alpha[i]), "seconds": sec, "iterations": iters, "converged": ok,
                         "accuracy": float(acc), "ours": float(curve.accuracy[i]),
                         "difference": float(abs(acc - curve.accuracy[i]))})
    ours_per_point = timings["logistic"]["run_s"] / args.points
    base_per_point = float(np.mean([b["seconds"] for b in base]))
    result = {
        "setting": setting, "alpha_points": args.points, "alpha_range": [0.5, 50.0],
        "nodes": finite.DEFAULT_NODES, "timings": timings,
        "baseline": base,
        "ours_seconds_per_point": ours_per_point,
        "baseline_seconds_per_point": base_per_point,
        "speedup_per_point": base_per_point / ours_per_point,
    }
    # Our solver called one point at a time (no batching, no warm starts along alpha) too,
    # after one call that compiles the single-point shapes.
    finite.accuracy(alpha[0], loss="logistic", **setting)
    t0 = time.perf_counter()
    for i in pick:
        finite.accuracy(alpha[i], loss="logistic", **setting)
    single = (time.perf_counter() - t0) / len(pick)
    result["ours_single_point_seconds"] = single
    result["speedup_vs_single_point_calls"] = base_per_point / single

    if args.json:
        print(json.dumps(result))
        return 0
    lg, sq = timings["logistic"], timings["square"]
    print(f"theory.finite, {args.points}-point alpha curve in [0.5, 50], p=0.2, phi=0.9, psi=0.3, "
          f"||mu||=1, lam={args.lam}")
    print(f"  logistic: {lg['run_s']:.3f} s per curve (median {lg['run_median_s']:.3f} s; "
          f"first call {lg['first_call_s']:.1f} s incl. compilation), converged={lg['converged']}")
    print(f"  square:   {sq['run_s']:.4f} s per curve (closed form)")
    print(f"baseline (damped fixed point, scipy quad + minimize_scalar), {len(pick)} points:")
    for b in base:
        print(f"  alpha={b['alpha']:.3g}: {b['seconds']:.1f} s, {b['iterations']} iterations, "
              f"accuracy {b['accuracy']:.6f} vs ours {b['ours']:.6f} (diff {b['difference']:.1e})")
    print(f"speed-up per point: {result['speedup_per_point']:.0f}x on the batched curve; "
          f"{result['speedup_vs_single_point_calls']:.0f}x calling ours one point at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
