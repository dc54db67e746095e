"""``beyond-collapse theory finite ...``: proportional-regime learning curves (theory.finite).

Examples:
    beyond-collapse theory finite --p 0.1,0.3,0.6 --phi 0.9 --psi 0.3 --alpha 0.5,2,10,50
    beyond-collapse theory finite --p 0.3 --alpha-range 0.5,50,20 --loss square --json

Human-readable table by default; ``--json`` prints one JSON object with every field of
``theory.finite.FiniteResult`` as nested lists indexed [p][alpha]; NaN and infinite values
(V with lam = 0 and nothing kept) print as null.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from experiments.commands import _args
from experiments.commands._args import floats as _floats
from experiments.commands._args import number as _number
from theory import finite, label_only, pstar


def _alpha_range(text: str) -> list[float]:
    values = _floats(text)
    if len(values) != 3 or values[2] < 1 or values[2] != int(values[2]):
        raise argparse.ArgumentTypeError("expected LO,HI,COUNT (log-spaced), e.g. 0.5,50,20")
    lo, hi, count = values
    if not (lo > 0 and hi > 0):
        raise argparse.ArgumentTypeError("alpha must be > 0")
    return np.geomspace(lo, hi, int(count)).tolist()


def _nodes(text: str) -> int:
    # Past a few hundred nodes double precision gains nothing; millions would exhaust memory.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 8 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected an integer in [8, 1000], got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _args.add_json(parser, inherit=True)
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--alpha", type=_floats, help="n/d values, comma-separated")
    grid.add_argument("--alpha-range", type=_alpha_range, metavar="LO,HI,COUNT",
                      help="log-spaced n/d values (default 0.5,50,8)")
    parser.add_argument("--p", type=_floats, default=[0.1, 0.3, 0.45, 0.6],
                        help="generator error rate(s) (default 0.1,0.3,0.45,0.6)")
    parser.add_argument("--phi", type=_number, default=1.0, help="keep rate of correct samples")
    parser.add_argument("--psi", type=_number, default=1.0, help="keep rate of wrong samples")
    parser.add_argument("--mu-norm", type=_args.nonnegative, default=1.2, help="||mu|| (default 1.2)")
    parser.add_argument("--lam", type=_number, default=0.1, help="ridge strength (default 0.1)")
    parser.add_argument("--loss", choices=["logistic", "square"], default="logistic",
                        help="loss of the downstream classifier (default logistic)")
    parser.add_argument("--real-fraction", type=_number, default=0.0,
                        help="fraction of the n samples that is real, correct, unpruned")
    parser.add_argument("--nodes", type=_nodes, default=finite.DEFAULT_NODES,
                        help=f"Gauss-Hermite points (default {finite.DEFAULT_NODES})")


def _fmt(x, digits=4):
    x = float(x)
    return "nan" if math.isnan(x) else f"{x:.{digits}f}"


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (float, np.floating)):
        # Standard JSON has no NaN or Infinity: both print as null.
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    return x


def main(args) -> int:
    alpha = np.asarray(args.alpha if args.alpha is not None
                       else (args.alpha_range or np.geomspace(0.5, 50, 8).tolist()), float)
    p = np.asarray(args.p, float)
    res = finite.accuracy(alpha[None, :], p[:, None], args.phi, args.psi, args.mu_norm,
                          args.lam, loss=args.loss, real_fraction=args.real_fraction,
                          nodes=args.nodes)
    # The n -> inf limit of the same training mix (label_only knows no real data: pass the
    # same kept masses as p_eff = c- / K with phi = psi = K).
    c_plus, c_minus = finite.kept_masses(p, args.phi, args.psi, args.real_fraction)
    kept = c_plus + c_minus
    mu = np.array([args.mu_norm, 0.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        p_eff = np.where(kept > 0, c_minus / np.where(kept > 0, kept, 1.0), 0.0)
    limit = np.where(kept > 0, label_only.limit_accuracy(p_eff, np.maximum(kept, 1e-300),
                                                         np.maximum(kept, 1e-300), mu, args.lam,
                                                         loss=args.loss), 0.5)
    ps = float(pstar(args.phi, args.psi))
    if args.json:
        out = {
            "alpha": alpha, "p": p, "phi": args.phi, "psi": args.psi, "mu_norm": args.mu_norm,
            "lam": args.lam, "loss": args.loss, "real_fraction": args.real_fraction,
            "nodes": args.nodes, "pstar": ps, "limit_accuracy": np.atleast_1d(limit),
            **{k: np.asarray(v) for k, v in res._asdict().items()},
        }
        print(json.dumps(_jsonable(out), allow_nan=False))
        return 0
    print(f"finite-sample accuracy ({args.loss}, lam={args.lam}, ||mu||={args.mu_norm}, "
          f"phi={args.phi}, psi={args.psi}, real fraction {args.real_fraction}); p* = {_fmt(ps)}")
    if args.real_fraction > 0:
        # With real data mixed in, the n -> inf breakdown is where c+ = c-.
        rf = args.real_fraction
        den = (1 - rf) * (args.phi + args.psi)
        brk = (rf + (1 - rf) * args.phi) / den if den > 0 else math.inf
        print(f"with real data the n -> inf breakdown moves to p = {_fmt(brk)}"
              + (" (beyond 1: none)" if brk > 1 else ""))
    print("rows: p; columns: alpha = n/d; last column: the n -> inf limit")
    head = "p      " + " ".join(f"{a:>8.3g}" for a in alpha) + "   n->inf"
    print(head)
    for i, pi in enumerate(p):
        cells = " ".join(f"{_fmt(a):>8}" for a in res.accuracy[i])
        print(f"{pi:<6.3g} {cells}   {_fmt(np.atleast_1d(limit)[i])}")
    bad = ~np.asarray(res.converged)
    if np.any(bad):
        print(f"warning: {int(bad.sum())} point(s) did not converge (shown as nan)")
    qerr = np.nanmax(np.asarray(res.quadrature_error, float))
    if qerr > 1e-4:
        print(f"warning: quadrature error up to {qerr:.1e}; raise --nodes")
    return 0
