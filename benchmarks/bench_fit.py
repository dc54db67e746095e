"""Batched ridge-logistic fits: ``simulate.fit`` against scikit-learn and glum, in one process.

Workloads, all with lam = 1e-2, objective (1/n) sum q l(y' x^T w) + lam/2 |w|^2:

    S: 256 fits, d = 50,   n = 500   (16 seeds x 16 label/keep variants sharing each seed's x)
    M:  64 fits, d = 200,  n = 2000  (4 seeds x 16 variants)
    L:   8 fits, d = 1000, n = 5000  (independent data)

Data: x | y ~ N(y mu, I) with mu = 1.5 e_1; the 16 variants of a seed are 4 generator error
rates p in {0, 0.1, 0.2, 0.3} (flip generator, common random numbers) x 4 pruners (none,
random 50 %, label-only phi = 0.9 psi = 0.2, oracle). Workload L uses p = 0.2 and label-only
pruning.

Accuracy, the same rule for both sides: a high-precision reference solution is computed first
(the engine in float64 at gradient tolerance 1e-11, cross-checked against scikit-learn's
newton-cholesky at tol 1e-10). A candidate counts only if every one of its solutions is within
``AGREEMENT / 2`` = 5e-5 relative (|w - w_ref| / |w_ref|) of the reference, so any engine
candidate and any baseline candidate agree with each other to 1e-4; the mutual difference of the
two timed candidates is printed too.

Baselines, one fit at a time, each at the loosest tolerance in ``TOLS`` that meets the rule and
at its faster thread count on the first seed's fits (threadpoolctl: 1 thread, or the
default, which covers BLAS and OpenMP): scikit-learn's ``LogisticRegression(C=1/(lam n), fit_intercept=False)`` with
``sample_weight=q`` and solver "lbfgs" or "newton-cholesky", and glum's
``GeneralizedLinearRegressor(family="binomial", alpha=lam n / sum(q), l1_ratio=0)`` (glum divides
the loss by the weights' sum; same minimiser). The fastest of them is the baseline.
Engine: ``simulate.fit`` in float64 and in float32 (JAX arrays of that dtype), each at the
loosest gradient tolerance in ``TOLS`` that meets the rule; the faster configuration is the
engine's configuration (both are printed). Compile time (first call minus a steady-state call) is
reported apart from the steady-state time.

Timing of the ratio: once both configurations are chosen, the engine and the whole baseline
loop are timed alternately for ``--rounds`` rounds; the ratio is the median of the per-round
ratios (what a user sees; the ratio of the two sides' minima is printed beside it). In a round the engine
is timed in its steady state, as a sweep runs it: two untimed calls, then the median of three
(after a pause its first calls are slow; the baseline's loop of many fits is steady anyway).
Timing the two sides at different moments made the ratio follow this shared machine's load (up
to 2x within a day); interleaving exposes both to the same conditions.

Roofline, measured in the same rounds: the time of one product ``x @ P`` (G, n, d) @ (G, d, V) and
one ``x^T R`` at the workload's shapes and the engine's dtype (their GFLOP/s printed), and of a
sum over ``x`` (its streaming bandwidth). Each is timed as the engine runs it, one chunk of groups
at a time (on a CPU large groups are solved a few at a time, so that a chunk stays in cache),
``x^T R`` the faster of one contraction and the engine's partial sums over row blocks, and each
inside a compiled loop (no dispatch counted). The engine's passes over ``x`` cannot take less than
``bound = t(x^T R) + iterations * (t(x @ P) + t(x^T R))`` (the first gradient, then two passes per
L-BFGS iteration, ``iterations`` the most any problem used); the engine's time is printed as a
multiple of that bound.

    .venv/bin/python benchmarks/bench_fit.py [--workloads S,M,L] [--rounds 5] [--json]
        [--solvers lbfgs,newton-cholesky,glum]

``--json`` prints one JSON array, one object per workload with its name and ratio (and the
timings). A script, not a test: nothing is asserted about the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (installed with scikit-learn)

from simulate.fit import _group_chunk, _row_blocks, _x_transpose_r, fit  # noqa: E402

LAM = 1e-2
AGREEMENT = 1e-4
SK_SOLVERS = ("lbfgs", "newton-cholesky", "glum")  # "glum": glum's default solver
TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)  # tried loosest first, by every side
ENGINE_DTYPES = ("float64", "float32")
# BLAS threads for scikit-learn: on this 2-core machine OpenBLAS with 2 threads is many times
# slower on these sizes than with 1, so the baseline takes the faster setting per solver.
SK_THREADS = (1, None)
WORKLOADS = {  # name: (seeds, variants per seed, d, n)
    "S": (16, 16, 50, 500),
    "M": (4, 16, 200, 2000),
    "L": (8, 1, 1000, 5000),
}
ERROR_RATES = (0.0, 0.1, 0.2, 0.3)


def make_workload(seeds, variants, d, n, rng):
    """x (G, n, d); labels, weights (G, V, n), from the Gaussian mixture with flips and pruning."""
    mu = np.zeros(d)
    mu[0] = 1.5
    y = rng.choice([-1.0, 1.0], size=(seeds, n))
    x = y[..., None] * mu + rng.standard_normal((seeds, n, d))
    u_flip, u_keep = rng.random((seeds, n)), rng.random((seeds, n))
    labels, weights = [], []
    if variants == 1:
        wrong = u_flip < 0.2
        labels.append(np.where(wrong, -y, y))
        weights.append(u_keep < np.where(wrong, 0.2, 0.9))
    else:
        for p in ERROR_RATES:
            wrong = u_flip < p
            for keep in (
                np.ones_like(wrong),  # none
                u_keep < 0.5,  # random 50 %
                u_keep < np.where(wrong, 0.2, 0.9),  # label-only
                ~wrong,  # oracle
            ):
                labels.append(np.where(wrong, -y, y))
                weights.append(keep)
    labels = np.stack(labels, axis=1)
    weights = np.stack(weights, axis=1).astype(float)
    return x, labels, weights


def time_engine(x, labels, weights, repeats, dtype="float64", tol=1e-8, warmup=1):
    """Median of ``repeats`` back-to-back calls after ``warmup`` untimed ones (the first of
    which compiles). After any pause (another program's work, a sleep) the first one or two
    calls here run up to 1.7x slower than the steady state (18 ms -> 30 ms on M)."""
    with jax.enable_x64(True):
        xj, lj, wj = (jax.device_put(np.asarray(a, dtype)) for a in (x, labels, weights))
        lam = np.asarray(LAM, dtype)

        def call():
            res = fit(xj, lj, wj, lam, tol=tol)
            jax.block_until_ready(res)
            return res

        t0 = time.perf_counter()
        call()
        first = time.perf_counter() - t0
        for _ in range(warmup - 1):
            call()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = call()
            times.append(time.perf_counter() - t0)
        steady = float(np.median(times))
        return res, steady, max(first - steady, 0.0)


def reference_solution(x, labels, weights):
    """High-precision minimisers: the engine in float64 at tol 1e-11, checked against
    scikit-learn's newton-cholesky at tol 1e-10 (a second method)."""
    with jax.enable_x64(True):
        res = fit(x, labels, weights, LAM, tol=1e-11, max_iter=5000)
    if not np.all(res.converged):
        raise RuntimeError("the reference fit did not converge")
    w_ref = np.asarray(res.w)
    with threadpool_limits(1):
        w_newton, _ = time_sklearn(x, labels, weights, "newton-cholesky", 1e-10)
    check = relative_error(w_newton, w_ref)
    if check > 1e-6:
        raise RuntimeError(f"reference solutions disagree: {check:.1e}")
    return w_ref, check


def time_sklearn(x, labels, weights, solver, tol):
    g, v, n = labels.shape
    coefs = np.empty((g, v, x.shape[-1]))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(g):
            for j in range(v):
                clf = LogisticRegression(
                    C=1.0 / (LAM * n), fit_intercept=False, solver=solver, tol=tol, max_iter=10_000
                )
                clf.fit(x[i], labels[i, j], sample_weight=weights[i, j])
                coefs[i, j] = clf.coef_[0]
    return coefs, time.perf_counter() - t0


def time_glum(x, labels, weights, tol):
    from glum import GeneralizedLinearRegressor  # the bench extra

    g, v, n = labels.shape
    coefs = np.empty((g, v, x.shape[-1]))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(g):
            for j in range(v):
                q = weights[i, j]
                # glum minimises (1/sum q) sum q l + alpha/2 |w|^2: alpha = lam n / sum q.
                est = GeneralizedLinearRegressor(
                    family="binomial", alpha=LAM * n / q.sum(), l1_ratio=0.0,
                    fit_intercept=False, gradient_tol=tol, max_iter=10_000)
                est.fit(x[i], (labels[i, j] > 0).astype(float), sample_weight=q)
                coefs[i, j] = est.coef_
    return coefs, time.perf_counter() - t0


def time_baseline(x, labels, weights, solver, tol):
    if solver == "glum":
        return time_glum(x, labels, weights, tol)
    return time_sklearn(x, labels, weights, solver, tol)


def roofline(x, labels, dtype, repeats=5):
    """Seconds of one x @ P, one x^T R (the engine's two passes, at its shapes) and one sum
    over x (streaming), each the median of ``repeats`` jitted calls.

    Measured as the engine runs them: on one chunk of groups (``simulate.fit`` solves large
    groups a few at a time on a CPU, so that a chunk's x stays in cache), times the number of
    chunks; x^T R the faster of one contraction and the engine's row blocks' partial sums."""

    with jax.enable_x64(True):
        g, n, d = x.shape
        v = labels.shape[1]
        xj = jax.device_put(np.asarray(x, dtype))
        chunk = _group_chunk(xj)
        xc = xj[:chunk]
        p = jax.device_put(np.ones((chunk, d, v), dtype))
        r = jax.device_put(np.ones((chunk, n, v), dtype))
        blocks = _row_blocks(n, v)
        calls = {
            "xp": [(_looped(lambda a, b: a @ b), (xc, p))],
            "xtr": [(_looped(_x_transpose_r), (xc, r)),
                    (_looped(lambda a, b: _x_transpose_r(a, b, blocks)), (xc, r))],
            "stream": [(_looped(lambda a, b: jnp.sum(a + b, axis=1)), (xc, jnp.zeros((), dtype)))],
        }
        out = {}
        for key, forms in calls.items():
            best = np.inf
            for f, args in forms:
                jax.block_until_ready(f(*args))
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    jax.block_until_ready(f(*args))
                    times.append((time.perf_counter() - t0) / _INNER)
                best = min(best, float(np.median(times)))
            out[key] = best * (g // chunk)
        return out


_INNER = 20  # products per timed call: the engine runs its passes inside one compiled loop


def _looped(product):
    """A jitted call that runs ``product(a, b)`` ``_INNER`` times in a loop, each depending on
    the last (so none is hoisted), as the engine's passes run: without a dispatch each."""
    def run(a, b):
        def body(_, carry):
            out = product(a, b + carry)
            return carry + 1e-30 * out.ravel()[0]
        return jax.lax.fori_loop(0, _INNER, body, jnp.zeros((), b.dtype))
    return jax.jit(run)


def relative_error(w_ref, w):
    return float(np.max(np.linalg.norm(w - w_ref, axis=-1) / np.linalg.norm(w_ref, axis=-1)))


def run_workload(name, repeats, rounds, solvers, rng):
    seeds, variants, d, n = WORKLOADS[name]
    x, labels, weights = make_workload(seeds, variants, d, n, rng)
    w_ref, ref_check = reference_solution(x, labels, weights)
    bound = AGREEMENT / 2
    engines = {}
    for dtype in ENGINE_DTYPES:
        for tol in TOLS:
            res, seconds, compile_s = time_engine(x, labels, weights, repeats, dtype, tol)
            err = relative_error(w_ref, np.asarray(res.w, np.float64))
            if err <= bound and bool(np.all(res.converged)):
                engines[dtype] = {"tol": tol, "seconds": seconds, "compile_seconds": compile_s,
                                  "rel_error": err, "max_iterations": int(np.max(res.iterations)),
                                  "w": np.asarray(res.w, np.float64)}
                break
        else:
            engines[dtype] = {"tol": None, "seconds": None, "rel_error": err}
    baselines = {}
    for solver in solvers:
        for tol in TOLS:
            with threadpool_limits(1):
                coefs, one_thread = time_baseline(x, labels, weights, solver, tol)
            err = relative_error(w_ref, coefs)
            if err <= bound:
                # Thread counts compared on the first seed's fits (more threads can be 30x
                # slower on this shared 2-core machine: a full loop would take minutes).
                probe = {}
                for threads in SK_THREADS:
                    with threadpool_limits(threads):
                        probe[threads] = time_baseline(x[:1], labels[:1], weights[:1], solver,
                                                       tol)[1]
                best_threads = min(probe, key=probe.get)
                timings = {1: one_thread}
                if best_threads != 1:
                    with threadpool_limits(best_threads):
                        timings[best_threads] = time_baseline(x, labels, weights, solver, tol)[1]
                baselines[solver] = {"tol": tol, "seconds": timings[best_threads],
                                     "blas_threads": best_threads or "default",
                                     "probe_seconds_by_threads": {str(k or "default"): v
                                                                  for k, v in probe.items()},
                                     "rel_error": err, "w": coefs}
                break
        else:
            baselines[solver] = {"tol": None, "seconds": None, "rel_error": err}

    def fastest(found):
        timed = {k: v for k, v in found.items() if v["seconds"] is not None}
        return min(timed, key=lambda k: timed[k]["seconds"]) if timed else None

    engine, best = fastest(engines), fastest(baselines)
    agree = engine is not None and best is not None
    rounds_engine, rounds_sklearn, rounds_roof = [], [], []
    if agree:
        base = baselines[best]
        threads = None if base["blas_threads"] == "default" else base["blas_threads"]
        for _ in range(rounds):
            _, seconds, _ = time_engine(x, labels, weights, 3, engine, engines[engine]["tol"],
                                        warmup=2)
            rounds_engine.append(seconds)
            with threadpool_limits(threads):
                _, seconds = time_baseline(x, labels, weights, best, base["tol"])
            rounds_sklearn.append(seconds)
            rounds_roof.append(roofline(x, labels, engine))
    mutual = relative_error(baselines[best]["w"], engines[engine]["w"]) if agree else float("nan")
    mutual_all = {k: relative_error(v["w"], engines[engine]["w"]) for k, v in baselines.items()
                  if v["seconds"] is not None} if engine else {}
    for found in (engines, baselines):
        for v in found.values():
            v.pop("w", None)
    roof = {}
    if agree:
        med = {k: float(np.median([r[k] for r in rounds_roof])) for k in rounds_roof[0]}
        g, v, _ = labels.shape
        flops = 2.0 * g * n * d * v
        iters = engines[engine]["max_iterations"]
        bound = med["xtr"] + iters * (med["xp"] + med["xtr"])
        roof = {"seconds": med, "gflops_xp": flops / med["xp"] / 1e9,
                "gflops_xtr": flops / med["xtr"] / 1e9,
                "stream_gbytes_per_s": g * n * d * np.dtype(engine).itemsize / med["stream"] / 1e9,
                "passes": 1 + 2 * iters, "bound_seconds": bound,
                "engine_multiple": float(np.median(rounds_engine)) / bound}
    return {
        "name": name,
        "ratio": (float(np.median(np.divide(rounds_sklearn, rounds_engine)))
                  if agree else float("nan")),
        "min_ratio": min(rounds_sklearn) / min(rounds_engine) if agree else float("nan"),
        "roofline": roof,
        "mutual_rel_error_each": mutual_all,
        "rounds": {"engine_seconds": rounds_engine, "sklearn_seconds": rounds_sklearn},
        "fits": seeds * variants,
        "d": d,
        "n": n,
        "engine_dtype": engine,
        "engine_seconds": min(rounds_engine) if agree else float("nan"),
        "engine_compile_seconds": engines[engine]["compile_seconds"] if engine else float("nan"),
        "engine": engines,
        "sklearn_solver": best,
        "sklearn_seconds": min(rounds_sklearn) if agree else float("nan"),
        "sklearn": baselines,
        "mutual_rel_error": mutual,
        "reference_check": ref_check,
        "agree": agree and max(mutual_all.values()) <= AGREEMENT,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="S,M,L", help="comma-separated subset of S,M,L")
    parser.add_argument("--repeats", type=int, default=5, help="steady-state engine calls")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved engine / baseline timings behind the ratio")
    parser.add_argument("--solvers", default=",".join(SK_SOLVERS),
                        help="baselines: scikit-learn solvers and glum")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON array")
    args = parser.parse_args(argv)
    names = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    for flag in ("repeats", "rounds"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1")
    solvers = [s for s in args.solvers.split(",") if s]
    rng = np.random.default_rng(args.seed)
    results = []
    for name in names:
        r = run_workload(name, args.repeats, args.rounds, solvers, rng)
        results.append(r)
        if not args.json:
            def describe(found, extra=lambda v: ""):
                return ", ".join(
                    f"{k} {v['seconds']:.4f} s (tol {v['tol']:g}{extra(v)})"
                    if v["seconds"] is not None
                    else f"{k}: no tolerance met the rule (rel. error {v['rel_error']:.1e})"
                    for k, v in found.items()
                )
            eng = describe(r["engine"], lambda v: f", <= {v['max_iterations']} it.,"
                           f" + compile {v['compile_seconds']:.2f} s")
            sk = describe(r["sklearn"], lambda v: f", threads {v['blas_threads']}")
            roof = r["roofline"]
            print(
                f"{name}: {r['fits']} fits, d={r['d']}, n={r['n']} | engine {eng}"
                f" | baselines {sk} | engine vs each baseline: max rel. difference "
                + ", ".join(f"{k} {e:.1e}" for k, e in r["mutual_rel_error_each"].items())
                + f" | interleaved over {args.rounds} rounds: baseline {r['sklearn_solver']}"
                f" median {np.median(r['rounds']['sklearn_seconds']):.4f} s, engine"
                f" {r['engine_dtype']} median {np.median(r['rounds']['engine_seconds']):.4f} s"
                f" | ratio (median of round ratios) {r['ratio']:.1f}x (of minima"
                f" {r['min_ratio']:.1f}x)", flush=True
            )
            if roof:
                print(
                    f"{name} roofline: x@P {roof['gflops_xp']:.1f} GFLOP/s, x^T R"
                    f" {roof['gflops_xtr']:.1f} GFLOP/s, streaming x {roof['stream_gbytes_per_s']:.1f}"
                    f" GB/s; {roof['passes']} passes >= {roof['bound_seconds']:.4f} s; engine"
                    f" {roof['engine_multiple']:.2f}x the bound", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0 if all(r["agree"] for r in results) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
