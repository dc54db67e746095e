"""Declarative sweeps: a TOML file names a grid; ``run`` computes it into a resumable store.

A sweep file::

    name = "collapse-vs-n"          # required; letters, digits, '.', '_', '-'
    description = "..."             # optional
    root_seed = 0                   # the one seed all randomness derives from
    seeds = 8                       # a count (ids 0..7) or a list of seed ids
    theory = true                   # add the n -> inf predictions of theory/ to every row

    [data]                          # x | y ~ N(y mu, I)
    d = 50                          # with mu_norm: mu = mu_norm e_1; each may be a list (a grid)
    mu_norm = 1.5                   # (or mu = [1.0, 0.5, ...], or a list of such vectors)

    [grid]                          # every key is an axis; a scalar is a one-point axis
    n = [100, 300, 1000]            # training-set sizes (required)
    lam = [1e-2]                    # ridge strengths (default 1e-2)
    loss = ["logistic"]             # "logistic" and/or "square" (default logistic)
    real_fraction = [0.0]           # fraction of real samples in the training set (default 0)
    p = [0.1, 0.3]                  # extra axes are substituted into spec strings: "{p}"
    generator = ["flip:p={p}", "trained:n_real=50"]            # required
    pruner = ["none", "oracle", "linear:angle=0.5"]             # default "none"

    [fit]
    tol = 1e-8                      # the fitter's relative gradient tolerance
    max_iter = 1000

Spec strings are those of ``simulate.specs`` (and ``beyond-collapse simulate``). A spec template
is expanded over the extra axes it names, each list on its own (a template naming two axes gives
their product); an extra axis no template uses is an error, as is any unknown key. Errors name
the file and the key: ``sweep x.toml: [grid].lam: must be >= 0; got -1.0``.

Limits, checked before any work: seeds and root_seed below 2**32 (JAX keys are 32-bit: larger
seeds would repeat smaller ones), at most a million units and 100,000 variants per unit, d up to
100,000; and ``run`` refuses a unit that would need more than half of this machine's memory,
saying which n fits.

Units of work: one per (data point, n, seed), holding every generator x real fraction x pruner
x lam x loss of the grid. Its variants share one draw of x and are fitted together
(``simulate.run``), so a unit's composition, and hence every bit of its rows, depends only on the
sweep file: not on the executor, the number of workers, or how often the run was interrupted.
Each unit is stored atomically under a SHA-256 of its parameters (``simulate.store``); a rerun
computes only the missing units. Each unit file carries a checksum, and ``sweep.json`` the
checksum of ``results.csv``: ``run`` recomputes a damaged unit and rebuilds ``results.csv``
whenever it disagrees with the units; ``load_results`` verifies both and names a damaged file.
One process writes into a directory at a time (``store.DirectoryLock``). Rows carry the expanded ``generator_spec`` and ``pruner_spec``,
the spec parameters (``gen_*``, ``prune_*``) and ``mu_norm``, beside the columns of
``simulate.run``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools
import math
import numbers
import os
import re
import signal
import string
import sys
import tomllib
from pathlib import Path

import numpy as np

from . import specs, store
from .executors import EXECUTORS, run_units
from .fit import DEFAULT_MAX_ITER, DEFAULT_TOL, LOSSES
from .table import Table

__all__ = ["Sweep", "load", "from_dict", "run", "load_results", "load_dataframe", "status",
           "compute_unit"]

FORMAT = 1  # bump when a unit's meaning changes, so old unit files are never reused
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_TOP_KEYS = {"name", "description", "root_seed", "seeds", "theory", "data", "grid", "fit"}
_DATA_KEYS = {"d", "mu_norm", "mu"}
_GRID_KEYS = {"n", "lam", "loss", "real_fraction", "generator", "pruner"}
_FIT_KEYS = {"tol", "max_iter"}
_MAX_SEED = 2**32 - 1  # JAX seeds and fold_in data are 32-bit
_MAX_UNITS = 1_000_000
_MAX_VARIANTS = 100_000
_MAX_D = 100_000
_MAX_COORDINATES = 10_000_000  # units x d: every unit's parameters hold its mean vector
_MAX_ITER = 2**31 - 1


class _Where:
    """Builds error messages that name the file and the key."""

    def __init__(self, source):
        self.source = source

    def error(self, key: str, message: str) -> ValueError:
        return ValueError(f"sweep {self.source}: {key}: {message}")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A validated sweep. ``config`` is its normalised form (lists everywhere), which
    ``from_dict`` reads back unchanged and ``sweep.json`` records."""

    name: str
    root_seed: int
    seeds: tuple
    mus: tuple  # data points: tuples of floats
    mu_norms: tuple
    n: tuple
    lam: tuple
    loss: tuple
    real_fraction: tuple
    generators: tuple  # expanded spec strings
    pruners: tuple
    tol: float
    max_iter: int
    theory: bool
    config: dict
    source: str = "<dict>"

    def units(self) -> list[dict]:
        """The units of work, in table order: one per (data point, n, seed)."""
        out = []
        for (mu, mu_norm), n, seed in itertools.product(zip(self.mus, self.mu_norms), self.n,
                                                        self.seeds):
            out.append({
                "format": FORMAT, "root_seed": self.root_seed, "seed": seed, "mu": list(mu),
                "mu_norm": mu_norm, "n": n, "generators": list(self.generators),
                "pruners": list(self.pruners), "lam": list(self.lam), "loss": list(self.loss),
                "real_fraction": list(self.real_fraction), "tol": self.tol,
                "max_iter": self.max_iter, "theory": self.theory,
            })
        return out


def load(path) -> Sweep:
    """Read and validate a sweep file (TOML)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"sweep file {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"sweep file {path} is a directory, expected a TOML file") from None
    except OSError as err:
        raise ValueError(f"sweep file {path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"sweep {path}: not UTF-8 text ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"sweep {path}: not valid TOML: {err}") from None
    return from_dict(raw, source=str(path))


def _list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _int(where, key, value, minimum, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise where.error(key, f"must be an integer >= {minimum}; got {value!r}")
    if maximum is not None and value > maximum:
        raise where.error(key, f"must be an integer in [{minimum}, {maximum}]; got {value!r}")
    return int(value)


def _float(where, key, value, low=-math.inf, high=math.inf, what=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise where.error(key, f"must be a number; got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise where.error(key, what or f"must be a finite number in [{low}, {high}]; got {value}")
    return value


def _axis(where, key, value, parse):
    values = _list(value)
    if not values:
        raise where.error(key, "must not be empty")
    out = [parse(where, key, v) for v in values]
    if len(set(out)) != len(out):
        raise where.error(key, f"repeats a value: {values}")
    return out


def _section(where, raw, name, allowed):
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise where.error(f"[{name}]", f"must be a table; got {section!r}")
    if allowed is not None:
        unknown = sorted(set(section) - allowed)
        if unknown:
            raise where.error(f"[{name}].{unknown[0]}",
                              f"unknown key; allowed: {', '.join(sorted(allowed))}")
    return section


def _spec_value(value) -> str:
    """How an axis value is written into a spec string (exact for floats)."""
    return repr(value) if isinstance(value, float) else str(value)


def _expand(where, key, templates, axes, used):
    """Expand each template over the extra axes it names (their product)."""
    out = []
    for template in templates:
        if not isinstance(template, str):
            raise where.error(key, f"must be spec strings; got {template!r}")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as err:
            raise where.error(key, f"bad template {template!r}: {err}") from None
        for f in fields:
            if f not in axes:
                raise where.error(key, f"{template!r} names {{{f}}}, which is not an axis of "
                                       f"[grid]")
        names = list(dict.fromkeys(fields))
        used.update(names)
        count = math.prod(len(axes[f]) for f in names)
        if len(out) + count > _MAX_VARIANTS:
            raise where.error(key, f"expands to more than {_MAX_VARIANTS} specs")
        for combo in itertools.product(*(axes[f] for f in names)):
            spec = template.format(**{f: _spec_value(v) for f, v in zip(names, combo)})
            if spec not in out:
                out.append(spec)
    return out


def from_dict(raw: dict, *, source: str = "<dict>") -> Sweep:
    """Validate a sweep given as a dict (the parsed TOML); see the module docstring."""
    where = _Where(source)
    if not isinstance(raw, dict):
        raise where.error("(top level)", "must be a table")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise where.error(unknown[0], f"unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.error("name", f"required: letters, digits, '.', '_', '-'; got {name!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise where.error("description", f"must be a string; got {description!r}")
    root_seed = _int(where, "root_seed", raw.get("root_seed", 0), 0, _MAX_SEED)
    seeds_raw = raw.get("seeds", 8)
    if isinstance(seeds_raw, (list, tuple)):
        seeds = _axis(where, "seeds", seeds_raw, lambda w, k, v: _int(w, k, v, 0, _MAX_SEED))
    else:
        seeds = list(range(_int(where, "seeds", seeds_raw, 1, _MAX_UNITS)))
    with_theory = raw.get("theory", True)
    if not isinstance(with_theory, bool):
        raise where.error("theory", f"must be true or false; got {with_theory!r}")

    data = _section(where, raw, "data", _DATA_KEYS)
    if "mu" in data:
        if "d" in data or "mu_norm" in data:
            raise where.error("[data].mu", "give either mu, or d and mu_norm, not both")
        mu_raw = data["mu"]
        if not isinstance(mu_raw, (list, tuple)):
            raise where.error("[data].mu", f"must be a list of numbers; got {mu_raw!r}")
        vectors = mu_raw if mu_raw and isinstance(mu_raw[0], (list, tuple)) else [mu_raw]
        mus = []
        for vec in vectors:
            if not isinstance(vec, (list, tuple)) or not vec:
                raise where.error("[data].mu", f"must be a non-empty list of numbers; got {vec!r}")
            mus.append(tuple(_float(where, "[data].mu", v) for v in vec))
        with np.errstate(over="ignore"):
            mu_norms = [float(np.linalg.norm(m)) for m in mus]
        if not all(math.isfinite(m) for m in mu_norms):
            raise where.error("[data].mu", "the norm of mu overflows")
        data_config = {"mu": [list(m) for m in mus]}
    else:
        ds = _axis(where, "[data].d", data.get("d", 10), lambda w, k, v: _int(w, k, v, 1, _MAX_D))
        norms = _axis(where, "[data].mu_norm", data.get("mu_norm", 1.0),
                      lambda w, k, v: _float(w, k, v, 0.0))
        if len(ds) * len(norms) * max(ds) > _MAX_COORDINATES:
            raise where.error("[data]", f"{len(ds) * len(norms)} data points of dimension up to "
                                        f"{max(ds)}: more than {_MAX_COORDINATES} coordinates")
        mus, mu_norms = [], []
        for d, norm in itertools.product(ds, norms):
            mu = [0.0] * d
            mu[0] = norm
            mus.append(tuple(mu))
            mu_norms.append(norm)
        data_config = {"d": ds, "mu_norm": norms}

    grid = _section(where, raw, "grid", None)
    if "n" not in grid:
        raise where.error("[grid].n", "required: the training-set sizes")
    if "generator" not in grid:
        raise where.error("[grid].generator", "required: generator spec strings")
    ns = _axis(where, "[grid].n", grid["n"], lambda w, k, v: _int(w, k, v, 1))
    n_units = len(mus) * len(ns) * len(seeds)
    if n_units > _MAX_UNITS:
        raise where.error("[grid].n", f"{len(mus)} data points x {len(ns)} sizes x {len(seeds)} "
                                      f"seeds = {n_units} units; at most {_MAX_UNITS} fit")
    if n_units * max(len(m) for m in mus) > _MAX_COORDINATES:
        raise where.error("[data]", f"{n_units} units of dimension up to "
                                    f"{max(len(m) for m in mus)}: more than {_MAX_COORDINATES} "
                                    "coordinates in their parameters")
    lams = _axis(where, "[grid].lam", grid.get("lam", 1e-2),
                 lambda w, k, v: _float(w, k, v, 0.0, what=f"must be >= 0; got {v!r}"))
    losses = _axis(where, "[grid].loss", grid.get("loss", "logistic"), _loss)
    fractions = _axis(where, "[grid].real_fraction", grid.get("real_fraction", 0.0),
                      lambda w, k, v: _float(w, k, v, 0.0, 1.0))
    axes = {}
    for key in sorted(set(grid) - _GRID_KEYS):
        if not key.isidentifier():
            raise where.error(f"[grid].{key}", "an extra axis name must be an identifier")
        axes[key] = _axis(where, f"[grid].{key}", grid[key], _axis_value)
    used: set = set()
    generators = _expand(where, "[grid].generator", _list(grid["generator"]), axes, used)
    pruners = _expand(where, "[grid].pruner", _list(grid.get("pruner", "none")), axes, used)
    variants = len(generators) * len(pruners) * len(fractions) * len(lams) * len(losses)
    if variants > _MAX_VARIANTS:
        raise where.error("[grid]", f"{variants} variants (generators x pruners x real_fraction x "
                                    f"lam x loss) per unit; at most {_MAX_VARIANTS} fit")
    unused = sorted(set(axes) - used)
    if unused:
        raise where.error(f"[grid].{unused[0]}", "an extra axis that no generator or pruner "
                                                 "spec uses ({" + unused[0] + "})")
    # Build every spec once per data point: bad parameters fail here, naming the spec.
    for mu in mus:
        for kind, specs_, build in (("generator", generators, specs.generator),
                                    ("pruner", pruners, specs.pruner)):
            for text in specs_:
                try:
                    build(text, np.asarray(mu))
                except ValueError as err:
                    raise where.error(f"[grid].{kind}", f"{text!r}: {err}") from None

    fit_section = _section(where, raw, "fit", _FIT_KEYS)
    tol = _float(where, "[fit].tol", fit_section.get("tol", DEFAULT_TOL), 0.0)
    max_iter = _int(where, "[fit].max_iter", fit_section.get("max_iter", DEFAULT_MAX_ITER), 1,
                    _MAX_ITER)

    config = {
        "name": name, "description": description, "root_seed": root_seed, "seeds": seeds,
        "theory": with_theory, "data": data_config,
        "grid": {"n": ns, "lam": lams, "loss": losses, "real_fraction": fractions,
                 "generator": _list(grid["generator"]), "pruner": _list(grid.get("pruner", "none")),
                 **axes},
        "fit": {"tol": tol, "max_iter": max_iter},
    }
    return Sweep(name=name, root_seed=root_seed, seeds=tuple(seeds), mus=tuple(mus),
                 mu_norms=tuple(mu_norms), n=tuple(ns), lam=tuple(lams), loss=tuple(losses),
                 real_fraction=tuple(fractions), generators=tuple(generators),
                 pruners=tuple(pruners), tol=tol, max_iter=max_iter, theory=with_theory,
                 config=config, source=source)


def _loss(where, key, value):
    if value not in LOSSES:
        raise where.error(key, f"must be one of {LOSSES}; got {value!r}")
    return value


def _axis_value(where, key, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise where.error(key, f"values must be numbers or strings; got {value!r}")
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        raise where.error(key, f"values must be finite; got {value!r}")
    return value


def _plain(x):
    """Python scalars for storage; NaN stays NaN (JSON and CSV both write it)."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (numbers.Integral, np.integer)):
        return int(x)
    if isinstance(x, (numbers.Real, np.floating)):
        return float(x)
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    return x


def compute_unit(params: dict) -> list[dict]:
    """The rows of one unit (a top-level function, so Dask workers can run it)."""
    from .run import run as simulate_run

    mu = np.asarray(params["mu"], float)
    gens = [specs.generator(s, mu) for s in params["generators"]]
    prns = [specs.pruner(s, mu) for s in params["pruners"]]
    table = simulate_run(mu, params["n"], generators=gens, pruners=prns, lam=params["lam"],
                         loss=params["loss"], real_fraction=params["real_fraction"],
                         seeds=[params["seed"]], root_seed=params["root_seed"],
                         tol=params["tol"], max_iter=params["max_iter"],
                         with_theory=params["theory"])
    spec_params = {
        "generator": [specs.parse(s)[1] for s in params["generators"]],
        "pruner": [specs.parse(s)[1] for s in params["pruners"]],
    }
    rows = []
    for row in table.rows:
        gi, pi = int(row["generator_index"]), int(row["pruner_index"])
        extra = {"mu_norm": params["mu_norm"],
                 "generator_spec": params["generators"][gi],
                 "pruner_spec": params["pruners"][pi]}
        for prefix, kind, index in (("gen", "generator", gi), ("prune", "pruner", pi)):
            for key, value in spec_params[kind][index].items():
                extra.setdefault(f"{prefix}_{key}", value)
        out = {k: _plain(v) for k, v in row.items()}
        for key, value in extra.items():
            out.setdefault(key, value)
        rows.append(out)
    return rows


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("beyond-collapse")
    except Exception:  # not installed as a distribution (a source checkout)
        return "unknown"


def _prepare(spec: Sweep, out_dir: Path) -> dict:
    meta_path = out_dir / "sweep.json"
    if meta_path.exists():
        stored = store.read_json(meta_path)
        if not isinstance(stored, dict) or stored.get("config") != spec.config:
            name = stored.get("config", {}).get("name") if isinstance(stored, dict) else None
            raise ValueError(f"{out_dir} holds the results of another sweep ({name!r}, or another "
                             f"grid): choose another output directory")
        return stored
    meta = {
        "config": spec.config, "root_seed": spec.root_seed, "source": spec.source,
        "package_version": _package_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    store.write_json(meta_path, meta)
    return meta


def _stored(spec: Sweep, out_dir: Path):
    """(units, keys, {index: rows} of the stored ones, {index: message} of the damaged ones)."""
    units = spec.units()
    keys = [store.unit_hash(u) for u in units]
    done, damaged = {}, {}
    for i, (key, unit) in enumerate(zip(keys, units)):
        try:
            rows = store.read_unit(out_dir, key, unit)
        except store.Damaged as err:
            damaged[i] = str(err)
            continue
        if rows is not None:
            done[i] = rows
    return units, keys, done, damaged


def status(spec: Sweep, out_dir) -> tuple[int, int]:
    """(units stored intact, units in the sweep) for ``out_dir``."""
    units, _, done, _ = _stored(spec, Path(out_dir))
    return len(done), len(units)


# Tests set this to k: the process SIGKILLs itself once it has stored k units, an abrupt
# death at a known point however fast the machine.
KILL_AFTER_ENV = "BEYOND_COLLAPSE_SWEEP_KILL_AFTER"


def _kill_if_asked(stored_here: int) -> None:
    k = os.environ.get(KILL_AFTER_ENV)
    if k and stored_here >= int(k):
        os.kill(os.getpid(), signal.SIGKILL)


def _table(spec: Sweep, rows_by_unit: dict, n_units: int) -> Table:
    rows = [row for i in range(n_units) for row in rows_by_unit[i]]
    return Table(rows, {"sweep": spec.name, "root_seed": spec.root_seed, "config": spec.config})


def _variants(spec: Sweep) -> int:
    return (len(spec.generators) * len(spec.pruners) * len(spec.real_fraction) * len(spec.lam)
            * len(spec.loss))


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 * 2**30


def unit_bytes(n: int, d: int, variants: int) -> int:
    """About the peak memory of one unit: the (n, d) draw and its working copies, and labels,
    weights and margins per variant (float64)."""
    return 8 * n * (4 * d + 6 * variants)


def check_memory(spec: Sweep) -> None:
    """ValueError if the largest unit needs more than half of this machine's memory."""
    budget = _memory_bytes() // 2
    d = max(len(m) for m in spec.mus)
    n, variants = max(spec.n), _variants(spec)
    need = unit_bytes(n, d, variants)
    if need > budget:
        fits = budget // unit_bytes(1, d, variants)
        raise ValueError(f"sweep {spec.source}: [grid].n: a unit with n = {n}, d = {d} and "
                         f"{variants} variants needs about {need / 2**30:.3g} GiB, more than half "
                         f"of this machine's {2 * budget / 2**30:.3g} GiB; n up to {fits} fits")


def run(spec: Sweep, out_dir, *, executor: str = "local", scheduler: str | None = None,
        workers: int | None = None, progress: bool = True) -> Table:
    """Compute the sweep into ``out_dir`` (resuming from what is stored) and return its table.

    Writes ``sweep.json``, one ``units/<hash>.json`` per unit as it completes, and
    ``results.csv`` once all are done (rebuilt whenever it disagrees with the units). Damaged
    unit files are named on stderr and recomputed. Ctrl-C stops after the last stored unit; run
    again to resume. ``executor``: "local" (in this process) or "dask" (``scheduler`` address,
    or an embedded LocalCluster of ``workers`` processes). A second process running into the
    same ``out_dir`` gets a ValueError; so does a unit too large for this machine's memory
    (unless the units run on an external ``scheduler``).
    """
    if not isinstance(spec, Sweep):
        raise ValueError(f"spec must be a Sweep (sweep.load or sweep.from_dict); got {spec!r}")
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}; got {executor!r}")
    if scheduler is None:
        check_memory(spec)
    out_dir = Path(out_dir)
    for part in (out_dir, *out_dir.parents):
        if part.exists():
            if not part.is_dir():
                raise ValueError(f"{out_dir}: {part} is a file, not a directory")
            break
    with store.DirectoryLock(out_dir):
        return _run_locked(spec, out_dir, executor, scheduler, workers, progress)


def _run_locked(spec, out_dir, executor, scheduler, workers, progress):
    meta = _prepare(spec, out_dir)
    for stray in store.stray_temporary_files(out_dir):  # ours alone: we hold the lock
        stray.unlink(missing_ok=True)
    units, keys, done, damaged = _stored(spec, out_dir)
    for message in damaged.values():
        print(f"{message}; recomputing it", file=sys.stderr)
    pending = [(i, u) for i, u in enumerate(units) if i not in done]
    results_path = out_dir / "results.csv"

    from tqdm.auto import tqdm

    bar = tqdm(total=len(units), initial=len(done), unit="unit", desc=spec.name,
               disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def on_done(index, rows):
        store.write_unit(out_dir, keys[index], units[index], rows)
        done[index] = rows
        bar.update(1)
        _kill_if_asked(len(done) - (len(units) - len(pending)))

    try:
        run_units(pending, compute_unit, on_done, executor=executor, scheduler=scheduler,
                  workers=workers)
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: {len(done)}/{len(units)} units stored in {out_dir}; run again to "
              f"resume", file=sys.stderr)
        raise
    bar.close()
    table = _table(spec, done, len(units))
    _write_results(out_dir, meta, table)
    return table


def _write_results(out_dir: Path, meta: dict, table: Table) -> None:
    """Write results.csv from the units unless it holds exactly that text, then record its
    checksum in sweep.json (a crash in between leaves a mismatch, which the next run mends)."""
    path = out_dir / "results.csv"
    data = store.csv_text(table.columns, table.rows).encode("utf-8")
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current != data:
        if current is not None:
            print(f"{path}: disagreed with the stored units; rebuilt from them", file=sys.stderr)
        store.write_atomic(path, data.decode("utf-8"))
    record = {"sha256": hashlib.sha256(data).hexdigest(), "rows": len(table)}
    if meta.get("results") != record:
        store.write_json(out_dir / "sweep.json", {**meta, "results": record})


def load_results(out_dir) -> Table:
    """The stored table of a finished sweep, verified: ValueError if it is missing or
    incomplete, and ``store.Damaged`` naming the file if results.csv disagrees with its checksum
    or row count, or a unit file with its own checksum."""
    out_dir = Path(out_dir)
    meta_path = out_dir / "sweep.json"
    if not meta_path.is_file():
        raise ValueError(f"{out_dir} holds no sweep (no sweep.json)")
    meta = store.read_json(meta_path)
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise store.Damaged(f"{meta_path}: malformed (no 'config' table)")
    spec = from_dict(meta["config"], source=str(meta_path))
    results_path = out_dir / "results.csv"
    units, _, done, damaged = _stored(spec, out_dir)
    if damaged:
        first = next(iter(damaged.values()))
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        raise store.Damaged(f"{first}{more}; run the sweep again to recompute it")
    if not results_path.exists():
        raise ValueError(f"{out_dir}: the sweep is incomplete ({len(done)}/{len(units)} units "
                         "stored); run it to finish")
    rebuild = "; run the sweep again to rebuild it from its units"
    _, rows = store.read_csv(results_path)  # first: it names the line of a malformed row
    record = meta.get("results")
    if isinstance(record, dict):  # folders written before checksums have none
        digest = hashlib.sha256(results_path.read_bytes()).hexdigest()
        if digest != record.get("sha256"):
            raise store.Damaged(f"{results_path}: damaged (its checksum disagrees with "
                                f"sweep.json){rebuild}")
    expected = len(units) * _variants(spec)
    if len(rows) != expected:
        raise store.Damaged(f"{results_path}: damaged ({len(rows)} rows; the sweep has "
                            f"{expected}){rebuild}")
    return Table(rows, {"sweep": spec.name, "root_seed": spec.root_seed, "config": spec.config})


def load_dataframe(out_dir):
    """``load_results(out_dir)`` as one ``pandas.DataFrame`` (verified the same way; the sweep's
    name, root seed and configuration in ``DataFrame.attrs``). Needs pandas."""
    return load_results(out_dir).to_pandas()
