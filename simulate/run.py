"""Sweeps: draw, label, prune, fit and score, over a grid of parameters and seeds.

For every training-set size ``n`` and seed, one draw of n candidates (x, y) serves every grid
point (common random numbers): generators, real-data fractions, pruners and ridge strengths only
change the labels and keep weights, so all variants of a seed are fitted against one shared x
(``simulate.fit``). In a training set of n candidates, the first n_real = round(rf n) are real
(true label, always kept) and the rest are synthesized (generator label, pruned). The fit
minimises (1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2) ||w||^2, and the test accuracy is exact:
Phi(mu^T w / ||w||_Sigma).

Randomness: root key ``key(root_seed)``; seed ``s`` uses ``fold_in(root, s)`` and, within it,
one ``fold_in`` per stream (stable integer ids below); per-sample numbers come in fixed blocks
(``simulate.data``). So the draws of a row depend only on (root_seed, seed, its parameters), and
its results are bit-identical whatever ``batch_size`` (which chunks the seeds) or the subset of
seeds run. The variants of one seed are fitted together (one matrix product per pass), so
changing the rest of the grid may change a row's fitted w in the last bits (not its draws).
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

import theory

from . import data
from ._checks import (
    MAX_ROOT_SEED,
    MAX_SEED_ID,
    check_choice,
    check_nonnegative,
    check_nonnegative_int,
    check_positive_int,
    check_probability,
    nonempty_list,
)
from .fit import DEFAULT_MAX_ITER, DEFAULT_TOL, LOSSES, fit
from .generators import fit_on_real
from .predict import finite_columns, predict, request_of
from .pruners import keep as pruner_keep
from .selection import Selector, describe, measure
from .table import Table

__all__ = ["run", "seed_key", "STREAMS"]

# Stable stream ids: never renumber, or recorded results stop being reproducible.
STREAMS = {"sample": 0, "generator": 1, "pruner": 2, "generator_fit": 3, "verifier_fit": 4}


def seed_key(root_seed: int, seed: int, stream: str):
    """The key of one stream of one seed: fold_in(fold_in(key(root_seed), seed), stream id)."""
    root = jax.random.key(root_seed)
    return jax.random.fold_in(jax.random.fold_in(root, seed), STREAMS[stream])


def _seed_ids(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        return list(range(check_positive_int("seeds", int(seeds), MAX_SEED_ID + 1)))
    if not isinstance(seeds, (list, tuple, range, np.ndarray)):
        raise ValueError(f"seeds must be a number of seeds or a list of seed ids; got {seeds!r}")
    ids = [check_nonnegative_int("seeds", s, MAX_SEED_ID) for s in seeds]
    if not ids:
        raise ValueError("seeds must name at least one seed")
    if len(set(ids)) != len(ids):
        raise ValueError("seeds must not repeat")
    return ids


@functools.partial(jax.jit, static_argnames="root_seed")
def _stream_keys(ids, *, root_seed):
    """Every stream's key for each seed id: {stream: keys (len(ids),)}, in one program."""
    root = jax.random.key(root_seed)
    return {name: jax.vmap(lambda s, i=index: jax.random.fold_in(jax.random.fold_in(root, s), i))(
        ids) for name, index in STREAMS.items()}


def run(mu, n, *, generators, pruners=None, lam=1e-2, loss="logistic", real_fraction=0.0,
        sigma=None, seeds=8, root_seed=0, batch_size=None, tol=DEFAULT_TOL,
        max_iter=DEFAULT_MAX_ITER, with_theory=True, with_finite_theory=False) -> Table:
    """Simulate the pipeline over the grid n x generators x real_fraction x pruners x lam x loss.

    Args:
      mu: (d,) class mean; sigma: (d, d) covariance or None (identity).
      n: training-set size (candidates, real included), an int or a list of ints.
      generators: a generator (``simulate.generators``) or a list of them.
      pruners: a pruner (``simulate.pruners``) or a list; default: no pruning.
      lam, loss, real_fraction: a value or a list of values each (lam >= 0; loss "logistic" or
        "square"; real_fraction in [0, 1]).
      seeds: a number of seeds (ids 0..seeds-1) or a list of seed ids (non-negative ints).
      root_seed: the one seed all randomness derives from (recorded in every row).
      batch_size: seeds per compiled call (default: all); results do not depend on it.
      tol, max_iter: the fitter's relative gradient tolerance and iteration cap.
      with_theory: add the n -> inf predictions of ``theory/`` (``simulate.predict``).
      with_finite_theory: also add ``theory_finite_accuracy``, the finite-n theory at alpha = n/d
        (``theory.finite.solve``, identity covariance), and fill the n -> inf columns the closed
        forms leave empty (linear generators); one solve per distinct scenario, seconds each.
    Generators and pruners may be ``theory.scenario`` objects (converted by ``from_scenario``).
    Returns a ``Table`` with one row per grid point and seed.
    """
    with jax.enable_x64(True):
        return _run(mu, n, generators, pruners, lam, loss, real_fraction, sigma, seeds,
                    root_seed, batch_size, tol, max_iter, with_theory, with_finite_theory)


def _run(mu, n, generators, pruners, lam, loss, real_fraction, sigma, seeds, root_seed,
         batch_size, tol, max_iter, with_theory, with_finite_theory=False):
    from . import generators as generator_module
    from . import pruners as pruner_module

    mix = data.mixture(mu, sigma)
    sizes = [check_positive_int("n", v) for v in nonempty_list("n", n, "training-set size")]
    gens = [generator_module.from_scenario(g)
            for g in nonempty_list("generators", generators, "generator")]
    prns = [pruner_module.from_scenario(p) for p in nonempty_list(
        "pruners", pruners if pruners is not None else pruner_module.none(), "pruner")]
    lams = [float(check_nonnegative("lam", v)) for v in nonempty_list("lam", lam, "value")]
    losses = [check_choice("loss", v, LOSSES) for v in nonempty_list("loss", loss, "loss")]
    fractions = [float(check_probability("real_fraction", v))
                 for v in nonempty_list("real_fraction", real_fraction, "value")]
    ids = _seed_ids(seeds)
    root_seed = check_nonnegative_int("root_seed", root_seed, MAX_ROOT_SEED)
    batch = len(ids) if batch_size is None else check_positive_int("batch_size", batch_size)
    tol = float(check_nonnegative("tol", tol))
    max_iter = check_positive_int("max_iter", max_iter)
    for spec in gens:
        if not hasattr(spec, "labels") and not hasattr(spec, "fitted"):
            raise ValueError(f"not a generator: {spec!r}")
        _check_dimension(spec, "w_g", mix.d)
    for spec in prns:
        if not isinstance(spec, Selector):
            raise ValueError(f"not a pruner (a selector, with a select method): {spec!r}")
        _check_dimension(spec, "w_v", mix.d)

    rows = []
    for size in sizes:
        per_chunk = [
            _simulate_chunk(mix, size, gens, prns, lams, losses, fractions, ids[i:i + batch],
                            root_seed, tol, max_iter)
            for i in range(0, len(ids), batch)
        ]
        results = {k: np.concatenate([c[k] for c in per_chunk], axis=0) for k in per_chunk[0]}
        rows.extend(_rows(results, mix, size, gens, prns, lams, losses, fractions, ids,
                          root_seed, with_theory, with_finite_theory and sigma is None))
    meta = {"root_seed": root_seed, "seeds": ids, "tol": tol, "max_iter": max_iter,
            "mu": np.asarray(mix.mu).tolist(),
            "sigma": None if sigma is None else np.asarray(sigma).tolist()}
    return Table(rows, meta)


def _check_dimension(spec, field, d):
    w = getattr(spec, field, None)
    if w is not None and np.shape(w)[-1] != d:
        raise ValueError(f"{field} of {describe(spec)[0]} has length {np.shape(w)[-1]}, "
                         f"mu has d = {d}")


def _simulate_chunk(mix, n, gens, prns, lams, losses, fractions, ids, root_seed, tol, max_iter):
    """All variants for a chunk of seeds; arrays with leading axis G = len(ids)."""
    keys = _stream_keys(np.asarray(ids, np.uint32), root_seed=root_seed)
    x, y = jax.vmap(lambda k: data.sample(k, mix, n))(keys["sample"])  # (G, n, d), (G, n)

    gen_labels, gen_dirs, setup_ok = [], [], []
    for spec in gens:
        if hasattr(spec, "fitted"):
            w_g, ok = _fit_on_real_per_seed(keys["generator_fit"], mix, spec.n_real, spec.lam)
            labels = jnp.where(jnp.einsum("gnd,gd->gn", x, w_g) >= 0, 1.0, -1.0)
        else:
            w_g = getattr(spec, "w_g", None)
            ok = np.ones(len(ids), bool)
            labels = jax.vmap(spec.labels)(keys["generator"], x, y)
        gen_labels.append(labels)
        gen_dirs.append(w_g)
        setup_ok.append(ok)

    prune_dirs, prune_ok, prune_specs = [], [], []
    for spec in prns:
        if hasattr(spec, "fitted"):
            w_v, ok = _fit_on_real_per_seed(keys["verifier_fit"], mix, spec.n_real, spec.lam)
            prune_specs.append(spec)
        else:
            w_v, ok = getattr(spec, "w_v", None), np.ones(len(ids), bool)
            prune_specs.append(spec)
        prune_dirs.append(w_v)
        prune_ok.append(ok)

    variant_labels, variant_weights, rates, ready = [], [], [], []
    for gi, fi, pi in itertools.product(range(len(gens)), range(len(fractions)), range(len(prns))):
        n_real = int(round(fractions[fi] * n))
        labels, correct = _synthesized(y, gen_labels[gi], n_real=n_real)
        x_synth = x if n_real == 0 else x[:, n_real:]
        keep = _keep(prune_specs[pi], prune_dirs[pi], keys["pruner"], x_synth, labels, correct)
        full_labels, weights = _training_set(y, labels, keep, n_real=n_real)
        r = measure(correct, keep) if n_real < n else np.full((len(ids), 5), np.nan)
        for _ in lams:
            variant_labels.append(full_labels)
            variant_weights.append(weights)
            rates.append(r)
            ready.append((setup_ok[gi], prune_ok[pi]))

    lam = np.tile(np.asarray(lams, x.dtype), len(variant_labels) // len(lams))
    stacked, rates, ready = _stacked(variant_labels, variant_weights, lam, rates, ready)
    out = {"rates": np.asarray(rates), "setup_converged": np.asarray(ready)}  # (G, V, 5), (G, V)
    for loss in losses:
        # One call per seed: XLA may round a batched product differently for another number of
        # seeds, so fitting seeds together would tie a row's last bits to the chunking. Each
        # seed's slice is made when it is fitted (all at once would copy x whole).
        fits = [fit(*_seed_slice((x, *stacked), np.int32(g)), loss=loss, tol=tol,
                    max_iter=max_iter) for g in range(len(ids))]
        w = jnp.stack([f.w for f in fits])
        out[f"accuracy_{loss}"] = np.asarray(data.accuracy(w, mix))
        out[f"converged_{loss}"] = np.stack([np.asarray(f.converged) for f in fits])
        out[f"iterations_{loss}"] = np.stack([np.asarray(f.iterations) for f in fits])
    for i, w in enumerate(gen_dirs):
        if w is not None and jnp.ndim(w) == 2:
            out[f"w_g_{i}"] = np.asarray(w)
    for i, w in enumerate(prune_dirs):
        if w is not None and jnp.ndim(w) == 2:
            out[f"w_v_{i}"] = np.asarray(w)
    return out


@functools.partial(jax.jit, static_argnames="n_real")
def _synthesized(y, labels, *, n_real):
    """The synthesized candidates' labels (past the first ``n_real`` real rows) and whether
    each is correct. (Each helper here is one program: operation by operation, every shape of
    every operation was a program of its own.)"""
    labels = labels[:, n_real:]
    return labels, labels == y[:, n_real:]


@functools.partial(jax.jit, static_argnames="n_real")
def _training_set(y, labels, keep, *, n_real):
    """Labels and keep weights of the training rows: the real rows (true labels, weight 1),
    then the synthesized ones."""
    full = jnp.concatenate([y[:, :n_real], labels], axis=1)
    ones = jnp.ones((y.shape[0], n_real), y.dtype)
    return full, jnp.concatenate([ones, keep.astype(y.dtype)], axis=1)


@jax.jit
def _stacked(labels, weights, lam, rates, ready):
    """Variants stacked on axis 1: (labels (G, V, n), weights (G, V, n), lam (G, V)), the rates
    (G, V, 5) and readiness (G, V)."""
    labels, weights = jnp.stack(labels, axis=1), jnp.stack(weights, axis=1)
    lam = jnp.broadcast_to(lam, labels.shape[:2])
    rates = [r if isinstance(r, jax.Array) else jnp.stack(r, axis=-1) for r in rates]
    return (labels, weights, lam), jnp.stack(rates, axis=1), jnp.stack(
        [a & b for a, b in ready], axis=1)


@jax.jit
def _seed_slice(arrays, g):
    """Seed ``g``'s slice of each array (g traced: one program for every seed)."""
    return tuple(jax.lax.dynamic_index_in_dim(a, g, keepdims=False) for a in arrays)


def _fit_on_real_per_seed(keys, mix, n_real, lam):
    """``fit_on_real`` one seed at a time (bit-identical whatever the chunking, as above)."""
    fits = [fit_on_real(keys[g], mix, n_real, lam) for g in range(keys.shape[0])]
    return jnp.stack([f[0] for f in fits]), jnp.stack([f[1] for f in fits])


def _keep(spec, w_v, keys, x, labels, correct):
    """Keep decisions (G, n_synth) of one pruner for every seed of the chunk."""
    if hasattr(spec, "fitted"):  # a supervised verifier, fitted per seed: direction (G, d)
        return jax.vmap(lambda w, k, xx, ll, cc: pruner_keep(spec.with_direction(w), k, xx, ll,
                                                             cc))(w_v, keys, x, labels, correct)
    return jax.vmap(lambda k, xx, ll, cc: pruner_keep(spec, k, xx, ll, cc))(keys, x, labels,
                                                                            correct)


def _rows(results, mix, n, gens, prns, lams, losses, fractions, ids, root_seed, with_theory,
          with_finite_theory=False):
    mu = np.asarray(mix.mu)
    sigma = None if mix.chol is None else np.asarray(mix.sigma)
    bayes = float(theory.bayes_accuracy(mu, sigma))
    rows, requests = [], []
    v = 0
    for gi, fi, pi in itertools.product(range(len(gens)), range(len(fractions)), range(len(prns))):
        gen, prn, rf = gens[gi], prns[pi], fractions[fi]
        w_g = results.get(f"w_g_{gi}", getattr(gen, "w_g", None))  # (G, d) when fitted per seed
        w_v = results.get(f"w_v_{pi}", getattr(prn, "w_v", None))
        kind, params = describe(prn)
        # The generator's own test accuracy, where it is a linear rule (linear, trained).
        gen_acc = (np.full(len(ids), np.nan) if w_g is None else np.broadcast_to(
            np.asarray(theory.linear_accuracy(np.asarray(w_g), mu, sigma)), (len(ids),)))
        for lam in lams:
            for loss in losses:
                for si, seed in enumerate(ids):
                    rates = results["rates"][si, v]
                    rows.append({
                        "root_seed": root_seed, "seed": seed, "n": n, "d": mix.d, "loss": loss,
                        "lam": lam, "real_fraction": rf, "n_real": int(round(rf * n)),
                        "generator": gen.kind, "generator_index": gi, **gen.params(),
                        "pruner": kind, "pruner_index": pi, **params,
                        "p": float(rates[0]), "phi": float(rates[1]), "psi": float(rates[2]),
                        "pstar": float(rates[3]), "kept": float(rates[4]),
                        "accuracy": float(results[f"accuracy_{loss}"][si, v]),
                        "converged": bool(results[f"converged_{loss}"][si, v]),
                        "setup_converged": bool(results["setup_converged"][si, v]),
                        "iterations": int(results[f"iterations_{loss}"][si, v]),
                        "bayes_accuracy": bayes,
                        "generator_accuracy": float(gen_acc[si]),
                    })
                    if with_theory:
                        requests.append(request_of(
                            gen, prn, lam=lam, loss=loss, real_fraction=rf,
                            w_g=None if w_g is None else np.asarray(w_g)[si] if np.ndim(w_g) == 2
                            else np.asarray(w_g),
                            w_v=None if w_v is None else np.asarray(w_v)[si] if np.ndim(w_v) == 2
                            else np.asarray(w_v)))
            v += 1
    if with_theory:
        predicted = predict(requests, mu, sigma)
        if with_finite_theory:
            finite = finite_columns(requests, mu, [n] * len(requests), mix.d)
            predicted["theory_finite_accuracy"] = finite.pop("theory_finite_accuracy")
            finite["theory_accuracy"] = finite.pop("theory_limit_accuracy")
            for col, values in finite.items():
                empty = np.isnan(predicted[col])
                predicted[col][empty] = values[empty]
            ok = np.isfinite(predicted["theory_phi"] + predicted["theory_psi"])
            predicted["theory_pstar"][ok] = theory.pstar(predicted["theory_phi"][ok],
                                                         predicted["theory_psi"][ok])
        for i, row in enumerate(rows):
            row.update({k: float(a[i]) for k, a in predicted.items()})
    return rows
