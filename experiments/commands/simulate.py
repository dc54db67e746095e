"""``beyond-collapse simulate ...``: Gaussian-mixture simulations of generate -> verify -> train.

Example::

    beyond-collapse simulate --d 20 --mu-norm 1 --n 2000 --p 0.1,0.3,0.6 \\
        --pruner none --pruner label_only:phi=0.9,psi=0.3 --pruner linear:angle=0.5 --seeds 8

Specs are ``kind`` or ``kind:key=value,key=value``:

- generators (``--generator``, repeatable; ``--p`` adds flip generators): ``flip:p=0.1``,
  ``linear:angle=0.3`` (unit w_g at that angle from mu, in radians), ``trained:n_real=20,lam=0.01``.
- pruners (``--pruner``, repeatable; default none): ``none``, ``random:rate=0.5``, ``oracle``,
  ``label_only:phi=0.9,psi=0.3``, ``linear:angle=0.5,tau=0``, ``top_r:rate=0.25,angle=0.5``,
  ``supervised:n_real=50,lam=0.01,tau=0`` (or ``rate=0.25`` for top-r selection).

Human-readable output: one line per grid point, means over seeds (± standard error). ``--json``
prints one JSON array: the tidy table, one object per grid point and seed.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from experiments.commands import _args
from experiments.commands._args import floats as _floats
from experiments.commands._args import number as _number
from simulate import specs

EXAMPLES = """
beyond-collapse simulate --mu-norm 1.2 --d 10 --n 2000 --p 0.1,0.4 \\
    --pruner none --pruner oracle --pruner label_only:phi=0.9,psi=0.3 --pruner linear:angle=0.9 --seeds 3
beyond-collapse simulate --d 20 --n 500,2000 --generator trained:n_real=20,lam=0.01 \\
    --pruner top_r:rate=0.25,angle=0.5 --seeds 2 --root-seed 7 --json
beyond-collapse simulate --p 0.3 --seeds 2 --out results/simulate   # also writes results.csv
"""


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err
    if not values:  # "," would otherwise run the defaults silently
        raise argparse.ArgumentTypeError(f"expected at least one integer, got {text!r}")
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _strings(text: str) -> list[str]:
    values = [v for v in text.replace(" ", "").split(",") if v]
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one name, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data: x | y ~ N(y mu, I)")
    data.add_argument("--mu", type=_floats, help="class mean, comma-separated (sets d)")
    data.add_argument("--mu-norm", type=_args.nonnegative, default=1.0, help="||mu|| when --mu is not given")
    data.add_argument("--d", type=_args.positive_int, default=10, help="dimension when --mu is not given")
    data.add_argument("--n", type=_ints, default=[1000], help="training-set sizes, comma-separated")
    grid = parser.add_argument_group("grid")
    grid.add_argument("--p", type=_floats, help="flip-generator error rates, comma-separated")
    grid.add_argument("--generator", action="append", default=[], help="generator spec (repeatable)")
    grid.add_argument("--pruner", action="append", default=[], help="pruner spec (repeatable)")
    grid.add_argument("--lam", type=_floats, default=[1e-2], help="ridge strengths")
    grid.add_argument("--loss", type=_strings, default=["logistic"], help="logistic and/or square")
    grid.add_argument("--real-fraction", type=_floats, default=[0.0],
                      help="fractions of real samples in the training set")
    runs = parser.add_argument_group("seeds and output")
    runs.add_argument("--seeds", type=_args.positive_int, default=8,
                      help="number of seeds (default 8)")
    _args.add_root_seed(runs, "the root seed of all randomness (default 0)", default=0)
    runs.add_argument("--batch-size", type=_args.positive_int, help="seeds per compiled call (no effect on results)")
    runs.add_argument("--no-theory", action="store_true", help="skip the n -> inf predictions")
    _args.add_json(runs, "print the table as one JSON array")
    runs.add_argument("--out", help="also write the table to OUT/results.csv")


def _mu(args) -> np.ndarray:
    if args.mu is not None:
        return np.asarray(args.mu, float)
    if args.d < 1:
        raise ValueError(f"d must be >= 1; got {args.d}")
    mu = np.zeros(args.d)
    mu[0] = args.mu_norm
    return mu


# The spec grammar lives in simulate.specs (sweep files use it too).
_direction = specs.direction
_parse_spec = specs.parse
_generator = specs.generator
_pruner = specs.pruner


_KEY_COLUMNS = ("n", "loss", "lam", "real_fraction", "generator_index", "pruner_index")


def _summary_lines(table, generator_specs, pruner_specs) -> list[str]:
    groups: dict[tuple, list[dict]] = {}
    for row in table.rows:
        groups.setdefault(tuple(row[k] for k in _KEY_COLUMNS), []).append(row)
    lines = [
        f"{'generator':<22} {'pruner':<28} {'n':>6} {'loss':<8} {'lam':>7} {'rf':>4} "
        f"{'p':>6} {'phi':>6} {'psi':>6} {'p*':>6} {'accuracy':>16} {'theory':>7} {'conv':>5}"
    ]

    def mean(rows, key):
        vals = np.array([r[key] for r in rows], float)
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if vals.size else math.nan

    def fmt(x, digits=3):
        return "   nan" if not math.isfinite(x) else f"{x:.{digits}f}"

    for key, rows in groups.items():
        acc = np.array([r["accuracy"] for r in rows], float)
        se = acc.std(ddof=1) / math.sqrt(acc.size) if acc.size > 1 else math.nan
        lines.append(
            f"{generator_specs[key[4]]:<22} {pruner_specs[key[5]]:<28} {key[0]:>6} {key[1]:<8} "
            f"{key[2]:>7.1e} {key[3]:>4.2f} {fmt(mean(rows, 'p')):>6} {fmt(mean(rows, 'phi')):>6} "
            f"{fmt(mean(rows, 'psi')):>6} {fmt(mean(rows, 'pstar')):>6} "
            f"{fmt(acc.mean(), 4):>8} ± {fmt(se, 4):<6}"
            f"{fmt(mean(rows, 'theory_accuracy'), 4) if 'theory_accuracy' in rows[0] else '':>7} "
            f"{sum(r['converged'] for r in rows):>2}/{len(rows):<2}"
        )
    return lines


def _built(flag, build, spec, mu):
    """The generator or pruner of a spec; an error names the flag and the spec."""
    try:
        return build(spec, mu)
    except ValueError as err:
        message = str(err)
        raise ValueError(message if spec in message else f"{flag} {spec}: {message}") from None


def main(args) -> int:
    from simulate import run

    if args.out is not None:
        _args.out_dir(args.out)  # refused before any work
    mu = _mu(args)
    generator_specs = [f"flip:p={p:g}" for p in (args.p or [])] + list(args.generator)
    if not generator_specs:
        raise ValueError("give at least one generator: --p or --generator")
    pruner_specs = list(args.pruner) or ["none"]
    generators = [_built("--generator", _generator, s, mu) for s in generator_specs]
    pruners = [_built("--pruner", _pruner, s, mu) for s in pruner_specs]
    table = run(mu, args.n, generators=generators, pruners=pruners, lam=args.lam, loss=args.loss,
                real_fraction=args.real_fraction, seeds=args.seeds, root_seed=args.root_seed,
                batch_size=args.batch_size, with_theory=not args.no_theory)
    if args.out is not None:
        out = _args.out_dir(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "results.csv")
    if args.json:
        print(_args.dumps(table.to_records()))
    else:
        print("\n".join(_summary_lines(table, generator_specs, pruner_specs)))
    return 0
