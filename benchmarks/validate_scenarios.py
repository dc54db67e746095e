"""Validate theory.finite.solve / generations against direct fits at finite d.

Usage: python benchmarks/validate_scenarios.py [--out benchmarks/validate_scenarios.json]
       [--d 400] [--draws 12] [--quick]

Every generator kind (flip, linear sign, linear sample) with every verifier kind (none,
label-only, margin, top-r), both losses, alpha in {0.5, 2, 8, 64}, with and without real data
(rf = 0.3 on alternate scenarios); plus replace-mode generations up to 10. Each point stores
theory, the mean and standard error over ``--draws`` independent fits (simulate.reference),
and z = (theory - mean) / se. Points are appended as they finish (the file is rewritten
atomically after each), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from simulate import reference
from theory import _general, finite
from theory import scenario as sc

MU = np.array([1.0, 0.0, 0.0])
W_G = np.array([np.cos(0.5), np.sin(0.5), 0.0])
W_V = 2.0 * np.array([np.cos(0.8), 0.0, np.sin(0.8)])


def scenarios():
    gens = {"flip": sc.flip(0.25), "sign": sc.linear_generator(W_G),
            "sample": sc.linear_generator(2.0 * W_G, "sample")}
    vers = {"none": sc.no_pruning(), "label_only": sc.label_only(0.9, 0.4),
            "linear": sc.linear_verifier(W_V, 0.3), "top_r": sc.top_r(0.5, W_V)}
    out = []
    for i, (gname, g) in enumerate(gens.items()):
        for j, (vname, v) in enumerate(vers.items()):
            out.append((f"{gname}+{vname}", g, v, 0.3 if (i + j) % 2 else 0.0))
    return out


def _write(path, payload):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".validate-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=1, allow_nan=False)
    os.replace(tmp, path)


def _summary(points):
    z = np.array([p["z"] for p in points if np.isfinite(p["z"])])
    err = np.array([abs(p["theory"] - p["mean"]) for p in points])
    return {"points": len(points), "max_abs_error": float(err.max()) if err.size else None,
            "rms_z": float(np.sqrt(np.mean(z**2))) if z.size else None,
            "mean_z": float(z.mean()) if z.size else None}


def _retheory(payload, lam):
    """The theory column (and z) of every stored point and trajectory, recomputed."""
    by_name = {name: (g, v, rf) for name, g, v, rf in scenarios()}
    groups = {}
    for point in payload["points"]:
        groups.setdefault((point["scenario"], point["loss"]), []).append(point)
    for (name, loss), points in groups.items():
        g, v, rf = by_name[name]
        th = finite.solve(np.array([p["alpha"] for p in points]), MU, lam, generator=g,
                          verifier=v, loss=loss, real_fraction=rf)
        for k, point in enumerate(points):
            point.update(theory=float(th.accuracy[k]),
                         z=(float(th.accuracy[k]) - point["mean"]) / point["se"]
                         if point["se"] > 0 else float("nan"),
                         quadrature_error=float(th.quadrature_error[k]),
                         rules=[_general.DEFAULT_OUTER, _general.DEFAULT_NODES])
        print(f"retheory {name} {loss}", flush=True)
    payload["summary"] = _summary(payload["points"])
    verifiers = {"linear": sc.linear_verifier(W_V, 0.0), "label_only": sc.label_only(0.9, 0.4)}
    for record in payload["generations"]:
        init = sc.linear_generator(1.5 * W_G, record["labels"])
        th = finite.generations(record["alpha"], MU, lam, initial=init,
                                verifier=verifiers[record["verifier"]],
                                generations=len(record["mean"]), labels=record["labels"])
        record["theory"] = th.accuracy.tolist()
        record["z"] = ((th.accuracy - np.array(record["mean"])) / np.array(record["se"])).tolist()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/validate_scenarios.json", help="result file")
    ap.add_argument("--d", type=int, default=400, help="dimension of the direct fits")
    ap.add_argument("--draws", type=int, default=12, help="independent fits per point")
    ap.add_argument("--quick", action="store_true", help="alpha in {0.5, 2} only")
    ap.add_argument("--retheory", action="store_true",
                    help="recompute the theory of the stored points with the current code "
                         "(the direct fits do not depend on it), then continue")
    args = ap.parse_args(argv)
    alphas = [0.5, 2.0] if args.quick else [0.5, 2.0, 8.0, 64.0]
    lam = 0.05
    payload = {"d": args.d, "draws": args.draws, "lam": lam, "points": [], "generations": []}
    if os.path.exists(args.out):
        with open(args.out) as fh:
            payload = json.load(fh)
    if args.retheory:
        _retheory(payload, lam)
        _write(args.out, payload)
    done = {(p["scenario"], p["loss"], p["alpha"]) for p in payload["points"]}
    index = 0
    for name, g, v, rf in scenarios():
        for loss in ("logistic", "square"):
            todo = [a for a in alphas if (name, loss, a) not in done]
            index += 1
            if not todo:
                continue
            t0 = time.time()
            th = finite.solve(np.array(todo), MU, lam, generator=g, verifier=v, loss=loss,
                              real_fraction=rf)
            t_theory = time.time() - t0
            for k, alpha in enumerate(todo):
                sim = reference.simulate(alpha, MU, lam, generator=g, verifier=v, loss=loss,
                                         real_fraction=rf, d=args.d, seeds=range(args.draws),
                                         index=index * 100 + k)
                mean = float(sim.accuracy.mean())
                se = float(sim.accuracy.std(ddof=1) / np.sqrt(sim.accuracy.size))
                point = {"scenario": name, "loss": loss, "alpha": alpha, "real_fraction": rf,
                         "theory": float(th.accuracy[k]), "mean": mean, "se": se,
                         "z": (float(th.accuracy[k]) - mean) / se if se > 0 else float("nan"),
                         "quadrature_error": float(th.quadrature_error[k]),
                         "converged_fits": int(sim.converged.sum()),
                         "rules": [_general.DEFAULT_OUTER, _general.DEFAULT_NODES],
                         "theory_seconds": t_theory}
                payload["points"].append(point)
                payload["summary"] = _summary(payload["points"])
                _write(args.out, payload)
                print(f"{name:18s} {loss:8s} alpha={alpha:<5} theory {point['theory']:.4f} "
                      f"sim {mean:.4f} ± {se:.4f} z={point['z']:+.2f}", flush=True)
    gens_done = {(r["verifier"], r["labels"]) for r in payload["generations"]}
    for vname, v in (("linear", sc.linear_verifier(W_V, 0.0)), ("label_only",
                                                                sc.label_only(0.9, 0.4))):
        for labels in ("sample", "sign"):
            if (vname, labels) in gens_done:
                continue
            init = sc.linear_generator(1.5 * W_G, labels)
            th = finite.generations(2.0, MU, lam, initial=init, verifier=v, generations=10,
                                    labels=labels)
            sim = reference.generations(2.0, MU, lam, initial=init, verifier=v, generations=10,
                                        labels=labels, d=args.d, seeds=range(args.draws))
            mean = sim.accuracy.mean(axis=0)
            se = sim.accuracy.std(axis=0, ddof=1) / np.sqrt(sim.accuracy.shape[0])
            payload["generations"].append({
                "verifier": vname, "labels": labels, "alpha": 2.0, "mode": "replace",
                "theory": th.accuracy.tolist(), "mean": mean.tolist(), "se": se.tolist(),
                "z": ((th.accuracy - mean) / se).tolist()})
            _write(args.out, payload)
            print(f"generations {vname} {labels}: max |z| "
                  f"{np.max(np.abs((th.accuracy - mean) / se)):.2f}", flush=True)
    print(json.dumps(payload.get("summary"), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
