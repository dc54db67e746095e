"""Speed of ``theory.finite.solve`` and ``generations`` on the hardest scenario.

A sign generator with a margin verifier (two rule directions, logistic loss): a 200-point alpha
curve (as a user calls it, with the quadrature-error check, and without) and a 10-generation
trajectory, each timed after a first call that compiles (reported
apart). Run alone on the machine; times are reported, never asserted. The median of
``--repeats`` runs is what a user sees.

    python benchmarks/bench_scenarios.py [--points 200] [--generations 10] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from theory import finite
from theory import scenario as sc

MU = np.array([1.0, 0.0, 0.0])
W_G = np.array([np.cos(0.5), np.sin(0.5), 0.0])
W_V = 2.0 * np.array([np.cos(0.8), 0.0, np.sin(0.8)])


def _timed(fn, repeats):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return first, float(np.median(runs))


def main(argv=None):
    ap = argparse.ArgumentParser(description="theory.finite.solve / generations speed")
    ap.add_argument("--points", type=int, default=200, help="alpha points on the curve")
    ap.add_argument("--generations", type=int, default=10, help="length of the trajectory")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the first")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    alpha = np.geomspace(0.5, 64.0, args.points)
    gen, ver = sc.linear_generator(W_G), sc.linear_verifier(W_V, 0.3)
    curve = _timed(lambda: finite.solve(alpha, MU, 0.05, generator=gen, verifier=ver),
                   args.repeats)
    unchecked = _timed(lambda: finite.solve(alpha, MU, 0.05, generator=gen, verifier=ver,
                                            quadrature_check=False), args.repeats)
    traj = _timed(lambda: finite.generations(2.0, MU, 0.05, initial=sc.linear_generator(
        1.5 * W_G, "sample"), verifier=ver, generations=args.generations), args.repeats)
    out = {"curve_points": args.points, "curve_first_s": curve[0], "curve_median_s": curve[1],
           "curve_unchecked_median_s": unchecked[1],
           "generations": args.generations, "generations_first_s": traj[0],
           "generations_median_s": traj[1]}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.points}-point alpha curve (sign generator, margin verifier, logistic): "
              f"median {curve[1]:.2f} s (first call, compiling: {curve[0]:.1f} s); without the "
              f"quadrature-error check {unchecked[1]:.2f} s")
        print(f"{args.generations}-generation trajectory: median {traj[1]:.2f} s "
              f"(first call: {traj[0]:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
