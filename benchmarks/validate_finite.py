"""Validate ``theory.finite`` against direct simulation at d = 400: |theory - simulation|
<= 0.01 over alpha in [0.5, 50], p in {0.1, 0.3, 0.45, 0.6},
three verifiers (phi, psi), both losses, lam in {1e-3, 1e-1}, plus a few real-data mixes; each
simulated mean over enough draws that its standard error is below 0.003.

Too slow for CI (tens of minutes on 2 cores): run it by hand,

    .venv/bin/python benchmarks/validate_finite.py            # resumes, writes the JSON below
    .venv/bin/python benchmarks/validate_finite.py --summary  # only print the summary

Results go to benchmarks/validate_finite.json (one record per grid point, written as it goes,
so an interrupted run resumes where it stopped). The summary reports the largest error, the
largest error in units of the simulation's standard error, and the points over 0.01.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from simulate.reference import label_only_until as simulate_until
from theory import finite

OUT = Path(__file__).with_name("validate_finite.json")
ROOT_SEED = 20240611
D = 400
MU_NORM = 1.0
TARGET_SE = 0.0025  # below the 0.003 promised above, with margin
MIN_DRAWS = 16  # so that the standard error itself is estimated reasonably
TOLERANCE = 0.01

ALPHAS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
PS = (0.1, 0.3, 0.45, 0.6)
VERIFIERS = ((1.0, 1.0), (0.9, 0.3), (0.5, 0.8))  # p* = 0.5, 0.75, 0.385
LOSSES = ("square", "logistic")
LAMS = (1e-1, 1e-3)


def grid():
    """The validation points as dicts, in a fixed order (their position is the key index)."""
    points = []
    for loss, lam, (phi, psi), p, alpha in itertools.product(LOSSES, LAMS, VERIFIERS, PS, ALPHAS):
        points.append({"alpha": alpha, "p": p, "phi": phi, "psi": psi, "lam": lam, "loss": loss,
                           "real_fraction": 0.0})
    # Real data mixed in: 30 % of the n samples real, correctly labelled, never pruned.
    for loss, lam, p, alpha in itertools.product(LOSSES, (1e-1, 1e-3), (0.45, 0.6), (1.0, 5.0)):
        points.append({"alpha": alpha, "p": p, "phi": 1.0, "psi": 1.0, "lam": lam, "loss": loss,
                           "real_fraction": 0.3})
    return points


def key_of(point):
    return json.dumps({k: point[k] for k in sorted(point)}, sort_keys=True)


def load(path):
    """Records of the results file and of any shard files beside it."""
    records = {}
    for f in [path, *sorted(path.parent.glob(path.stem + ".shard*.json"))]:
        if f.exists():
            records.update({key_of(r["point"]): r for r in json.loads(f.read_text())["records"]})
    return records


def save(path, records):
    payload = {
        "description": "theory.finite vs direct simulation (benchmarks/validate_finite.py)",
        "d": D, "mu_norm": MU_NORM, "root_seed": ROOT_SEED, "target_se": TARGET_SE,
        "key_derivation": "fold_in(fold_in(PRNGKey(root_seed), index), draw)",
        "summary": summarize(list(records.values())),
        "records": list(records.values()),
    }
    path.write_text(json.dumps(payload, indent=1))


def summarize(records):
    if not records:
        return {}
    err = np.array([r["abs_error"] for r in records])
    z = np.array([r["abs_error"] / r["sim_se"] for r in records])
    se = np.array([r["sim_se"] for r in records])
    worst = records[int(np.argmax(err))]
    return {
        "points": len(records),
        "max_abs_error": float(err.max()),
        "mean_abs_error": float(err.mean()),
        "max_error_over_se": float(z.max()),
        "points_over_tolerance": int(np.sum(err > TOLERANCE)),
        "max_sim_se": float(se.max()),
        "worst_point": worst["point"],
        "all_theory_converged": bool(all(r["theory_converged"] for r in records)),
        "all_fits_converged": bool(all(r["fits_converged"] for r in records)),
        "max_quadrature_error": float(max(r["quadrature_error"] for r in records)),
    }


def run_point(index, point):
    t0 = time.time()
    sim = simulate_until(point["alpha"], point["p"], point["phi"], point["psi"], MU_NORM,
                         point["lam"], point["loss"], point["real_fraction"], d=D,
                         target_se=TARGET_SE, min_seeds=MIN_DRAWS, root_seed=ROOT_SEED,
                         index=index)
    th = finite.accuracy(point["alpha"], point["p"], point["phi"], point["psi"], MU_NORM,
                         point["lam"], point["loss"], point["real_fraction"])
    acc = sim.accuracy
    se = float(acc.std(ddof=1) / np.sqrt(acc.size))
    return {
        "index": index, "point": point,
        "theory_accuracy": float(th.accuracy), "theory_m": float(th.m), "theory_q": float(th.q),
        "theory_converged": bool(th.converged), "quadrature_error": float(th.quadrature_error),
        "sim_accuracy": float(acc.mean()), "sim_se": se, "draws": int(acc.size),
        "sim_m": float(sim.m.mean()), "sim_q": float(sim.q.mean()),
        "fits_converged": bool(sim.converged.all()),
        "abs_error": float(abs(acc.mean() - th.accuracy)),
        "seconds": time.time() - t0,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--summary", action="store_true", help="print the stored summary only")
    parser.add_argument("--shard", default="0/1", metavar="I/K",
                        help="run only grid points with index %% K == I, into a shard file "
                        "(2 processes use both cores; a later run without --shard merges)")
    args = parser.parse_args(argv)
    shard, shards = (int(v) for v in args.shard.split("/"))
    records = load(args.out)
    out = args.out if shards == 1 else args.out.with_suffix(f".shard{shard}.json")
    if shards == 1:
        save(args.out, records)  # merge any shard files
        for f in args.out.parent.glob(args.out.stem + ".shard*.json"):
            f.unlink()
    if not args.summary:
        for index, point in enumerate(grid()):
            if key_of(point) in records or index % shards != shard:
                continue
            rec = run_point(index, point)
            records[key_of(point)] = rec
            save(out, records)
            print(f"[{index}] {point}: theory {rec['theory_accuracy']:.4f} sim "
                  f"{rec['sim_accuracy']:.4f} +- {rec['sim_se']:.4f} ({rec['draws']} draws) "
                  f"err {rec['abs_error']:.4f} ({rec['seconds']:.1f}s)", flush=True)
    summary = summarize(list(records.values()))
    print(json.dumps(summary, indent=1))
    return 0 if summary and summary["points_over_tolerance"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
