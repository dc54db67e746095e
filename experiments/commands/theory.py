"""``beyond-collapse theory ...``: the closed forms of ``theory/`` from the command line.

Human-readable by default; ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import math
from pathlib import Path

import numpy as np

import theory
from experiments.commands import _args
from experiments.commands._args import floats as _floats
from experiments.commands._args import number as _number
from theory import label_only, linear_generator, linear_verifier

_FINITE_MODULE = "experiments.commands.finite"

EXAMPLES = """
beyond-collapse theory                       # the default report
beyond-collapse theory --json pstar --phi 0.9 --psi 0.3
beyond-collapse theory pstar --phi 0.9 --psi 0.3 --p 0.5,0.8
beyond-collapse theory label-only --p 0.1,0.5,0.9 --phi 0.9 --psi 0.3 --mu 1.2,0 --lam 0.1
beyond-collapse theory linear-verifier --mu-norm 1.2 --angle 0.9 --lam 1 --loss square
beyond-collapse theory linear-generator --mu-norm 1.5 --angle-g 0.6 --angle-v 0.2
beyond-collapse theory linear-generator --mu 1,0 --w-g -1,0.2 --w-v 1,0 --json
beyond-collapse theory estimate audit.csv    # columns correct,kept (CSV or JSON lines)
beyond-collapse theory finite --alpha 1,10,100 --p 0.1,0.4 --phi 0.9 --psi 0.3
beyond-collapse theory finite --p 0.3 --alpha-range 0.5,50,20 --loss square --json
"""


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        # Standard JSON has no NaN or Infinity: both print as null.
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _emit(args, result: dict, lines: list[str]) -> int:
    if args.json:
        print(json.dumps(_jsonable(result), allow_nan=False))
    else:
        print("\n".join(lines))
    return 0


def _fmt(x, digits=4):
    if isinstance(x, (list, np.ndarray)):
        return "[" + ", ".join(_fmt(v, digits) for v in np.ravel(x)) + "]"
    x = float(x)
    return "nan" if math.isnan(x) else f"{x:.{digits}f}"


def _mu(args):
    if args.mu is not None:
        return np.array(args.mu)
    return np.array([args.mu_norm, 0.0])


def _plane_vectors(args):
    """(mu, w_v) from --mu/--w-v or from --mu-norm/--angle (w_v at that angle from mu)."""
    if args.w_v is not None:
        return _mu(args), np.array(args.w_v)
    return np.array([args.mu_norm, 0.0]), np.array([math.cos(args.angle), math.sin(args.angle)])


# ---------------------------------------------------------------------------------------------


def _cmd_pstar(args):
    ps = theory.pstar(args.phi, args.psi)
    result = {"phi": args.phi, "psi": args.psi, "pstar": ps}
    lines = [f"p* = phi / (phi + psi) = {_fmt(ps)}"]
    if args.p is not None:
        p = np.array(args.p)
        r = theory.selected_error_rate(p, args.phi, args.psi)
        result.update(p=p, selected_error_rate=r, majority_correct=(p < ps))
        for pi, ri in zip(p, np.ravel(r)):
            verdict = "majority correct after selection" if pi < ps else "majority WRONG"
            lines.append(f"p = {_fmt(pi)}: error after selection {_fmt(ri)} ({verdict})")
    return _emit(args, result, lines)


def _cmd_label_only(args):
    mu = _mu(args)
    p = np.array(args.p)
    acc = label_only.limit_accuracy(p, args.phi, args.psi, mu, args.lam, loss=args.loss)
    w = label_only.limit_weights(p, args.phi, args.psi, mu, args.lam, loss=args.loss)
    ps = theory.pstar(args.phi, args.psi)
    bayes = theory.bayes_accuracy(mu)
    result = {
        "p": p, "phi": args.phi, "psi": args.psi, "mu": mu, "lam": args.lam, "loss": args.loss,
        "pstar": ps, "bayes_accuracy": bayes, "limit_accuracy": acc, "limit_weights": w,
    }
    lines = [
        f"label-only verifier phi={args.phi}, psi={args.psi}: p* = {_fmt(ps)} (breakdown, any lam)",
        f"Bayes accuracy {_fmt(bayes)}; n -> inf accuracy ({args.loss}, lam={args.lam}):",
    ]
    lines += [f"  p = {_fmt(pi)}: {_fmt(ai)}" for pi, ai in zip(p, np.ravel(acc))]
    return _emit(args, result, lines)


def _cmd_linear_verifier(args):
    mu, w_v = _plane_vectors(args)
    phi, psi = linear_verifier.keep_rates(mu, w_v, args.tau)
    sphi, spsi = linear_verifier.signal_weighted_rates(mu, w_v, args.tau)
    p_break = linear_verifier.breakdown(mu, w_v, args.lam, args.tau, loss=args.loss)
    p = np.array(args.p)
    acc = linear_verifier.limit_accuracy(mu, w_v, p, args.lam, args.tau, loss=args.loss)
    ps = theory.pstar(phi, psi)
    ratio = sphi / (sphi + spsi)
    result = {
        "mu": mu, "w_v": w_v, "tau": args.tau, "lam": args.lam, "loss": args.loss,
        "phi": phi, "psi": psi, "pstar": ps, "signal_weighted_phi": sphi,
        "signal_weighted_psi": spsi, "signal_weighted_ratio": ratio, "breakdown": p_break,
        "p": p, "limit_accuracy": acc, "bayes_accuracy": theory.bayes_accuracy(mu),
    }
    lines = [
        f"linear verifier: phi = {_fmt(phi)}, psi = {_fmt(psi)}, p* = {_fmt(ps)}",
        f"exact breakdown p_break ({args.loss}, lam={args.lam}) = {_fmt(p_break)}"
        + ("  (no breakdown in [0, 1])" if math.isnan(float(p_break)) else ""),
        f"lam -> inf breakdown phi'/(phi'+psi') = {_fmt(ratio)}",
        f"Bayes accuracy {_fmt(result['bayes_accuracy'])}; n -> inf accuracy:",
    ]
    lines += [f"  p = {_fmt(pi)}: {_fmt(ai)}" for pi, ai in zip(p, np.ravel(acc))]
    return _emit(args, result, lines)


def _cmd_linear_generator(args):
    if args.w_g is not None:
        mu, w_g, w_v = _mu(args), np.array(args.w_g), np.array(args.w_v)
    else:
        mu = np.array([args.mu_norm, 0.0])
        w_g = np.array([math.cos(args.angle_g), math.sin(args.angle_g)])
        w_v = np.array([math.cos(args.angle_v), math.sin(args.angle_v)])
    p, phi, psi = linear_generator.keep_rates(mu, w_g, w_v, args.tau)
    ps = theory.pstar(phi, psi)
    result = {"mu": mu, "w_g": w_g, "w_v": w_v, "tau": args.tau,
              "p": p, "phi": phi, "psi": psi, "pstar": ps}
    lines = [
        f"linear generator: error rate p = {_fmt(p)}",
        f"linear verifier: phi = {_fmt(phi)}, psi = {_fmt(psi)}, p* = {_fmt(ps)}",
        "verification helps (p < p*)" if p < ps else "verification cannot rescue it (p >= p*)",
    ]
    return _emit(args, result, lines)


def _audit_text(path: Path) -> str:
    """The file's text (a UTF-8 byte-order mark dropped); errors name the file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"audit file {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"audit file {path} is a directory, expected a CSV or JSON-lines "
                         "file") from None
    except OSError as err:
        raise ValueError(f"audit file {path}: cannot read ({err.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text ({err.reason})") from None


def read_audit_file(path: Path, correct_column: str, kept_column: str):
    """Read (correct, kept) booleans from a CSV (header row) or JSON-lines file."""
    path = Path(path)
    text = _audit_text(path)
    truthy = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}

    def parse(value, column, where):
        if isinstance(value, bool):
            return value
        key = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if key not in truthy:
            raise ValueError(f"{where}: column {column!r} must be a boolean (0/1/true/false); "
                             f"got {str(value)[:40]!r}")
        return truthy[key]

    rows = []
    if path.suffix in (".jsonl", ".json"):
        # Lines end at "\n" only (str.splitlines would also split inside strings at U+2028).
        for i, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            where = f"{path}:{i}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            except (ValueError, RecursionError) as err:  # a 5000-digit integer, deep nesting
                raise ValueError(f"{where}: not valid JSON ({type(err).__name__})") from None
            if not isinstance(rec, dict) or correct_column not in rec or kept_column not in rec:
                raise ValueError(f"{where}: needs keys {correct_column!r} and {kept_column!r}")
            rows.append((parse(rec[correct_column], correct_column, where),
                         parse(rec[kept_column], kept_column, where)))
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
            missing = {correct_column, kept_column} - set(header)
            if missing:
                raise ValueError(f"{path}: header lacks column(s) {sorted(missing)}")
            ic, ik = header.index(correct_column), header.index(kept_column)
            for cells in reader:
                where = f"{path}:{reader.line_num}"
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise ValueError(f"{where}: {len(cells)} fields, the header has "
                                     f"{len(header)}")
                rows.append((parse(cells[ic], correct_column, where),
                             parse(cells[ik], kept_column, where)))
        except StopIteration:
            raise ValueError(f"{path}: empty file, expected a header line") from None
        except csv.Error as err:
            raise ValueError(f"{path}:{reader.line_num}: not valid CSV ({err})") from None
    if not rows:
        raise ValueError(f"{path}: no audit records")
    arr = np.array(rows, dtype=bool)
    return arr[:, 0], arr[:, 1]


def _cmd_estimate(args):
    correct, kept = read_audit_file(args.file, args.correct_column, args.kept_column)
    est = theory.estimate_pstar(correct, kept, level=args.level, method=args.method)
    lo, hi = est.pstar_interval
    lines = [
        f"audit set: {est.n} samples, {est.n_correct} correct ({est.n_kept_correct} kept), "
        f"{est.n_wrong} wrong ({est.n_kept_wrong} kept)",
        f"p = {_fmt(est.p)}, phi = {_fmt(est.phi)}, psi = {_fmt(est.psi)}",
        f"p* = {_fmt(est.pstar)}, {100 * est.level:g}% interval [{_fmt(lo)}, {_fmt(hi)}] "
        f"({est.method})",
        f"P(p < p*) = {_fmt(est.prob_p_below_pstar)}",
    ]
    return _emit(args, est.as_dict(), lines)


def _cmd_report(args):
    """A small default report: the paper's claims, computed, for one Gaussian mixture."""
    m, lam = args.mu_norm, args.lam
    mu = np.array([m, 0.0])
    bayes = float(theory.bayes_accuracy(mu))
    p_grid = np.array([0.1, 0.3, 0.5, 0.7])
    label_verifiers = {
        "none": (1.0, 1.0), "random 50%": (0.5, 0.5), "oracle": (1.0, 0.0),
        "label-only (0.9, 0.3)": (0.9, 0.3), "label-only (0.6, 0.5)": (0.6, 0.5),
    }
    rows = []
    for name, (phi, psi) in label_verifiers.items():
        acc = label_only.limit_accuracy(p_grid, phi, psi, mu, lam, loss=args.loss)
        rows.append({"verifier": name, "phi": phi, "psi": psi, "pstar": theory.pstar(phi, psi),
                     "breakdown": theory.pstar(phi, psi), "accuracy": acc})
    for angle in args.angles:
        w_v = np.array([math.cos(angle), math.sin(angle)])
        phi, psi = linear_verifier.keep_rates(mu, w_v)
        acc = linear_verifier.limit_accuracy(mu, w_v, p_grid, lam, loss=args.loss)
        rows.append({
            "verifier": f"linear, angle {angle:g} rad", "phi": phi, "psi": psi,
            "pstar": theory.pstar(phi, psi),
            "breakdown": linear_verifier.breakdown(mu, w_v, lam, loss=args.loss),
            "accuracy": acc,
        })
    result = {"mu_norm": m, "lam": lam, "loss": args.loss, "bayes_accuracy": bayes,
              "p": p_grid, "verifiers": rows}
    head = f"{'verifier':<26}{'phi':>7}{'psi':>7}{'p*':>8}{'p_break':>9}  " + "".join(
        f"{'acc@p=' + format(p, 'g'):>11}" for p in p_grid)
    lines = [
        f"Theory report: ||mu|| = {m}, {args.loss} loss, lam = {lam}, n -> inf.",
        f"Bayes accuracy {bayes:.4f}. A verifier rescues a generator with error rate p iff "
        "p < p* (label-only) or p < p_break (linear verifier).",
        "",
        head,
        "-" * len(head),
    ]
    for r in rows:
        lines.append(
            f"{r['verifier']:<26}{_fmt(r['phi'], 3):>7}{_fmt(r['psi'], 3):>7}"
            f"{_fmt(r['pstar'], 3):>8}{_fmt(r['breakdown'], 3):>9}  "
            + "".join(f"{_fmt(a):>11}" for a in np.ravel(r["accuracy"]))
        )
    lines += ["", "p_break = nan: the limit classifier never turns against the truth for p in [0, 1]."]
    return _emit(args, result, lines)


# ---------------------------------------------------------------------------------------------


def _add_json(p):
    # The subcommand's --json must not reset the group's: "theory --json pstar ..." is JSON too.
    _args.add_json(p, inherit=True)


def _add_mu(p, required_norm=True):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--mu", type=_floats, help="class mean, comma-separated (e.g. 1.2,0)")
    g.add_argument("--mu-norm", type=_args.nonnegative, default=1.2, help="||mu|| with mu along e1 (default 1.2)")


_LAM_HELP = "ridge strength lam (default 0.1)"
_LOSS_HELP = "loss of the downstream classifier (default logistic)"
_TAU_HELP = "verifier threshold: keep when y' x^T w_v > tau (default 0)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _args.add_json(parser)
    sub = parser.add_subparsers(dest="theory_command", metavar="CALCULATOR",
                                help="one of the calculators below (default: report)")
    parser.set_defaults(theory_command="report", mu_norm=1.2, lam=0.1, loss="logistic",
                        angles=[0.3, 0.9, 1.3])

    rep = sub.add_parser("report", help="default report: p*, breakdowns, limit accuracies")
    _add_json(rep)
    rep.add_argument("--mu-norm", type=_args.nonnegative, default=1.2, help="||mu|| (default 1.2)")
    rep.add_argument("--lam", type=_number, default=0.1, help=_LAM_HELP)
    rep.add_argument("--loss", choices=["logistic", "square"], default="logistic", help=_LOSS_HELP)
    rep.add_argument("--angles", type=_floats, default=[0.3, 0.9, 1.3],
                     help="angles (rad) between mu and the linear verifiers")

    ps = sub.add_parser("pstar", help="p* of a verifier, and the error after selection")
    _add_json(ps)
    ps.add_argument("--phi", type=_number, required=True, help="keep rate of correct samples")
    ps.add_argument("--psi", type=_number, required=True, help="keep rate of wrong samples")
    ps.add_argument("--p", type=_floats, help="generator error rate(s)")

    lo = sub.add_parser("label-only", help="n -> inf accuracy under label-only pruning")
    _add_json(lo)
    lo.add_argument("--p", type=_floats, required=True, help="generator error rate(s), comma-separated")
    lo.add_argument("--phi", type=_number, required=True, help="keep rate of correct samples")
    lo.add_argument("--psi", type=_number, required=True, help="keep rate of wrong samples")
    _add_mu(lo)
    lo.add_argument("--lam", type=_number, default=0.1, help=_LAM_HELP)
    lo.add_argument("--loss", choices=["logistic", "square"], default="logistic", help=_LOSS_HELP)

    lv = sub.add_parser("linear-verifier", help="keep rates, p*, exact breakdown, accuracy")
    _add_json(lv)
    _add_mu(lv)
    lv.add_argument("--w-v", type=_floats, help="verifier direction (with --mu)")
    lv.add_argument("--angle", type=_number, default=0.9,
                    help="angle (rad) of w_v from mu when --w-v is not given (default 0.9)")
    lv.add_argument("--tau", type=_number, default=0.0, help=_TAU_HELP)
    lv.add_argument("--lam", type=_number, default=0.1, help=_LAM_HELP)
    lv.add_argument("--loss", choices=["logistic", "square"], default="logistic", help=_LOSS_HELP)
    lv.add_argument("--p", type=_floats, default=[0.1, 0.3, 0.5, 0.7],
                    help="generator error rate(s) (default 0.1,0.3,0.5,0.7)")

    lg = sub.add_parser("linear-generator", help="p, phi, psi for a linear generator")
    _add_json(lg)
    _add_mu(lg)
    lg.add_argument("--w-g", type=_floats, help="generator direction (with --mu and --w-v)")
    lg.add_argument("--w-v", type=_floats, help="verifier direction")
    lg.add_argument("--angle-g", type=_number, default=0.5, help="generator angle (rad) from mu")
    lg.add_argument("--angle-v", type=_number, default=0.3, help="verifier angle (rad) from mu")
    lg.add_argument("--tau", type=_number, default=0.0, help=_TAU_HELP)

    es = sub.add_parser("estimate", help="estimate p* from an audit file (CSV or JSON lines)")
    _add_json(es)
    es.add_argument("file", type=Path, help="audit file: CSV with a header, or JSON lines")
    es.add_argument("--correct-column", default="correct",
                    help="column saying whether the label is correct (default correct)")
    es.add_argument("--kept-column", default="kept",
                    help="column saying whether the verifier kept it (default kept)")
    es.add_argument("--level", type=_number, default=0.95,
                    help="credibility level of the intervals (default 0.95)")
    es.add_argument("--method", choices=["beta", "wilson"], default="beta",
                    help="beta: Jeffreys posteriors; wilson: conservative Wilson intervals")

    try:
        finite = importlib.import_module(_FINITE_MODULE)
    except ModuleNotFoundError as err:
        if err.name != _FINITE_MODULE:
            raise
    else:
        fi = sub.add_parser("finite", help="finite-sample (n/d fixed) learning curves")
        finite.add_arguments(fi)
        fi.set_defaults(_finite=finite.main)


_COMMANDS = {
    "report": _cmd_report,
    "pstar": _cmd_pstar,
    "label-only": _cmd_label_only,
    "linear-verifier": _cmd_linear_verifier,
    "linear-generator": _cmd_linear_generator,
    "estimate": _cmd_estimate,
}


def main(args) -> int:
    if args.theory_command == "finite":
        return args._finite(args)
    if args.theory_command == "linear-generator" and (args.w_g is None) != (args.w_v is None):
        raise ValueError("give both --w-g and --w-v, or neither (then --angle-g/--angle-v)")
    return _COMMANDS[args.theory_command](args)
