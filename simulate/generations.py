"""Model collapse over generations: each downstream model becomes the next generator.

Generation 0 is the initial generator (a ``linear`` or ``trained`` generator: a linear rule
w_0). At generation t = 1, 2, ..., a fresh draw of n candidates x is labelled by the previous
model: ``labels="sample"`` draws y' = +1 with probability sigmoid(x^T w_{t-1}) (the logistic
model used as a generative model: its own sampling noise is what accumulates into collapse), and
``labels="sign"`` takes y' = sign(x^T w_{t-1}) (a deterministic linear generator); a pruner keeps
some; the downstream classifier w_t is fitted on what
is kept ((1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2) ||w||^2, as in ``simulate.run``) and becomes the
generator of generation t + 1. Each pruner runs its own chain; the chains of a seed share their
draws of x (common random numbers), so a generation's fits share features.

``mode="replace"`` (above) fits generation t on its own n candidates; ``mode="accumulate"`` fits
it on all candidates of generations 1..t, each labelled by the model of its own generation and
kept by the pruner then ((1/(t n)) sum over all t n candidates, every synthesized sample
counted), the accumulate-versus-replace question of Gerstgrasser et al. (2024) asked with
verification. A generation's draws are the same in both modes.

Randomness: seed ``s`` uses the stream keys of ``simulate.run`` (``seed_key``), each folded with
the generation index, so a row depends only on (root_seed, seed, its parameters) and not on
which other seeds are run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import data
from ._checks import MAX_ROOT_SEED, check_choice, check_nonnegative, check_nonnegative_int, check_positive_int
from .fit import DEFAULT_MAX_ITER, DEFAULT_TOL, LOSSES, fit
from .generators import fit_on_real
from .pruners import keep as pruner_keep
from .selection import Selector, describe, measure
from .run import _seed_ids, seed_key
from .table import Table

__all__ = ["generations", "theory_trajectory"]


def generations(mu, n, *, generations=10, initial, pruners, labels="sample", lam=1e-2,
                loss="logistic", sigma=None, seeds=8, root_seed=0, tol=DEFAULT_TOL,
                max_iter=DEFAULT_MAX_ITER, mode="replace", with_theory=False) -> Table:
    """Run one chain of ``generations`` retrainings per pruner and seed.

    Args:
      mu: (d,) class mean; sigma: (d, d) or None (identity); n: candidates per generation.
      initial: the generation-0 generator, ``simulate.generators.linear(w)`` or ``trained(...)``.
      pruners: a pruner or a list (each its own chain); ``lam``, ``loss``: the fits' settings.
      labels: "sample" (y' ~ Bernoulli(sigmoid(x^T w))) or "sign" (y' = sign(x^T w)).
      seeds: a count or a list of seed ids; root_seed: the root of all randomness.
      mode: "replace" (each generation trains on its own data) or "accumulate" (on all data
        kept so far).
      with_theory: add ``theory_accuracy``, the exact finite-n trajectory of
        ``theory_trajectory`` (replace mode, identity covariance; NaN where it has none).
    Returns a ``Table``, one row per (pruner, generation 0..generations, seed): ``accuracy`` (the
    generation's model; at generation 0 the initial generator), ``generator_accuracy``, the
    measured ``p``, ``phi``, ``psi``, ``pstar`` and ``kept`` (NaN at generation 0) of the
    generation's own candidates, and ``mode``.
    """
    with jax.enable_x64(True):
        table = _generations(mu, n, generations, initial, pruners, labels, lam, loss, sigma,
                             seeds, root_seed, tol, max_iter, mode)
    if with_theory:
        from . import generators as generator_module
        from . import pruners as pruner_module

        prns = [pruner_module.from_scenario(p) for p in _as_list(pruners)]
        initial = generator_module.from_scenario(initial)
        curves = [theory_trajectory(mu, n, generations, initial, p, labels=labels, lam=lam,
                                    loss=loss) if sigma is None and mode == "replace" else None
                  for p in prns]
        for row in table.rows:
            curve = curves[row["pruner_index"]]
            row["theory_accuracy"] = np.nan if curve is None else float(curve[row["generation"]])
        table = Table(table.rows, table.meta)
    return table


def theory_trajectory(mu, n, generations, initial, pruner, *, labels="sample", lam=1e-2,
                      loss="logistic"):
    """The exact finite-n accuracy of generations 0..``generations`` of one replace-mode chain
    (``theory.finite.generations`` at alpha = n / d, identity covariance), or None where the
    theory has none (a supervised verifier: its direction is random).

    A ``trained`` initial generator enters through the proportional limit of its own fit: the
    ridge-logistic fit on n_real true labels has the overlaps m = mu^T w and q = ||w||^2 of
    ``theory.finite.solve`` at alpha = n_real / d, and a direction orthogonal to mu and w_v
    beyond that, so it is described by a vector with those Gram numbers in one dimension more.
    """
    from theory import finite, linear_accuracy, scenario

    from .predict import _scenario_of, request_of

    mu = np.asarray(mu, float)
    d = mu.size
    if getattr(pruner, "kind", None) == "supervised":
        return None
    extend = lambda v: np.r_[np.asarray(v, float), 0.0]  # noqa: E731
    from .generators import flip

    # the verifier's description; the generator slot is filled below
    _, verifier = _scenario_of(request_of(flip(0.0), pruner, lam=lam, loss=loss,
                                          real_fraction=0.0), mu)
    if isinstance(verifier, (scenario.LinearVerifier, scenario.TopR)):
        verifier = dataclasses.replace(verifier, w=extend(verifier.w))
    mu_ext = extend(mu)
    if initial.kind == "trained":
        fit0 = finite.solve(initial.n_real / d, mu, initial.lam, generator=scenario.flip(0.0),
                            verifier=scenario.no_pruning(), quadrature_check=False)
        if not bool(fit0.converged):
            return None
        along = float(fit0.m) / float(mu @ mu)
        rest = np.sqrt(max(float(fit0.q) - along ** 2 * float(mu @ mu), 0.0))
        w0 = np.r_[along * mu, rest]
        acc0 = float(fit0.accuracy)
    else:
        w0 = extend(initial.w_g)
        acc0 = float(linear_accuracy(w0, mu_ext))
    traj = finite.generations(n / d, mu_ext, lam, initial=scenario.linear_generator(w0, labels),
                              verifier=verifier, generations=generations, labels=labels,
                              loss=loss)
    return np.r_[acc0, np.asarray(traj.accuracy, float)]


def _as_list(x):
    return list(x) if isinstance(x, Sequence) and not isinstance(x, str) else [x]


LABELS = ("sample", "sign")
MODES = ("replace", "accumulate")


def _generations(mu, n, count, initial, pruners, labels, lam, loss, sigma, seeds, root_seed, tol,
                 max_iter, mode="replace"):
    mix = data.mixture(mu, sigma)
    n = check_positive_int("n", n)
    count = check_positive_int("generations", count)
    lam = float(check_nonnegative("lam", lam))
    loss = check_choice("loss", loss, LOSSES)
    labels = check_choice("labels", labels, LABELS)
    mode = check_choice("mode", mode, MODES)
    root_seed = check_nonnegative_int("root_seed", root_seed, MAX_ROOT_SEED)
    ids = _seed_ids(seeds)
    from . import generators as generator_module
    from . import pruners as pruner_module

    initial = generator_module.from_scenario(initial)
    if getattr(initial, "kind", None) not in ("linear", "trained"):
        raise ValueError("initial must be a linear or trained generator (a linear rule to "
                         f"iterate); got {initial!r}")
    prns = [pruner_module.from_scenario(p) for p in _as_list(pruners)]
    if not prns:
        raise ValueError("pruners must name at least one pruner")
    for spec in prns:
        if not isinstance(spec, Selector):
            raise ValueError(f"not a pruner (a selector, with a select method): {spec!r}")
        w_v = getattr(spec, "w_v", None)
        if w_v is not None and np.shape(w_v)[-1] != mix.d:
            raise ValueError(f"w_v of {describe(spec)[0]} has length {np.shape(w_v)[-1]}, mu has "
                             f"d = {mix.d}")
    if initial.kind == "linear" and np.shape(initial.w_g)[-1] != mix.d:
        raise ValueError(f"w_g has length {np.shape(initial.w_g)[-1]}, mu has d = {mix.d}")

    rows = []
    for seed in ids:
        rows.extend(_one_seed(mix, n, count, initial, prns, labels, lam, loss, seed, root_seed,
                              tol, max_iter, mode))
    rows.sort(key=lambda r: (r["pruner_index"], r["generation"], ids.index(r["seed"])))
    meta = {"root_seed": root_seed, "seeds": ids, "generations": count, "n": n, "lam": lam,
            "labels": labels, "mode": mode,
            "loss": loss, "mu": np.asarray(mix.mu).tolist()}
    return Table(rows, meta)


def _one_seed(mix, n, count, initial, prns, labels, lam, loss, seed, root_seed, tol, max_iter,
              mode="replace"):
    keys = {s: seed_key(root_seed, seed, s)
            for s in ("sample", "generator", "pruner", "generator_fit", "verifier_fit")}
    if initial.kind == "trained":
        w0, ok0 = fit_on_real(keys["generator_fit"], mix, initial.n_real, initial.lam)
        if not bool(ok0):
            raise RuntimeError(f"seed {seed}: the initial generator's fit did not converge")
    else:
        w0 = jnp.asarray(initial.w_g, mix.mu.dtype)
    verifiers = []
    for spec in prns:
        if hasattr(spec, "fitted"):  # supervised: one verifier per seed, trained once
            w_v, _ = fit_on_real(keys["verifier_fit"], mix, spec.n_real, spec.lam)
            verifiers.append(spec.with_direction(w_v))
        else:
            verifiers.append(spec)

    base = {"root_seed": root_seed, "seed": seed, "n": n, "d": mix.d, "lam": lam, "loss": loss,
            "labels": labels, "mode": mode, "initial": initial.kind, **initial.params()}
    w_gen = [w0] * len(prns)
    acc0 = float(data.accuracy(w0, mix))
    rows = []
    if mode == "accumulate":
        # Every generation's rows so far, in arrays of the final size: the rows still to come
        # weigh zero and the fit divides by the rows so far (n_rows), so every generation runs
        # one compiled fit instead of one per pool size.
        pool_x = jnp.zeros((count * n, mix.d), mix.mu.dtype)
        pool_labels = jnp.ones((len(prns), count * n), mix.mu.dtype)
        pool_weights = jnp.zeros((len(prns), count * n), mix.mu.dtype)
    for pi, spec in enumerate(prns):
        rows.append({**base, "generation": 0, "pruner": describe(spec)[0], "pruner_index": pi,
                     **describe(spec)[1], "generator_accuracy": acc0, "accuracy": acc0,
                     "p": np.nan, "phi": np.nan, "psi": np.nan, "pstar": np.nan, "kept": np.nan,
                     "converged": True, "iterations": 0})
    for t in range(1, count + 1):
        x, y = data.sample(jax.random.fold_in(keys["sample"], t), mix, n)
        prune_key = jax.random.fold_in(keys["pruner"], t)
        # One uniform per candidate, shared by the chains (common random numbers).
        u = data.uniforms(jax.random.fold_in(keys["generator"], t), n, x.dtype)
        chain_labels, weights, rates = [], [], []
        for pi, verifier in enumerate(verifiers):
            margin = x @ w_gen[pi]
            if labels == "sample":
                lab = jnp.where(u < jax.nn.sigmoid(margin), 1.0, -1.0).astype(x.dtype)
            else:
                lab = jnp.where(margin >= 0, 1.0, -1.0).astype(x.dtype)
            correct = lab == y
            keep = pruner_keep(verifier, prune_key, x, lab, correct)
            chain_labels.append(lab)
            weights.append(keep.astype(x.dtype))
            rates.append(measure(correct, keep))
        if mode == "accumulate":
            at, zero = jnp.asarray((t - 1) * n, jnp.int32), jnp.asarray(0, jnp.int32)
            # (the offset an operand, not a constant: one program for every t)
            pool_x = jax.lax.dynamic_update_slice(pool_x, x, (at, zero))
            pool_labels = jax.lax.dynamic_update_slice(pool_labels, jnp.stack(chain_labels),
                                                       (zero, at))
            pool_weights = jax.lax.dynamic_update_slice(pool_weights, jnp.stack(weights),
                                                        (zero, at))
            fit_x, fit_labels, fit_weights, so_far = pool_x, pool_labels, pool_weights, t * n
        else:
            fit_x, fit_labels, fit_weights = x, jnp.stack(chain_labels), jnp.stack(weights)
            so_far = n
        res = fit(fit_x, fit_labels, fit_weights, jnp.full(len(prns), lam, x.dtype), loss=loss,
                  tol=tol, max_iter=max_iter, n_rows=so_far)
        for pi, spec in enumerate(prns):
            r = rates[pi]
            rows.append({**base, "generation": t, "pruner": describe(spec)[0], "pruner_index": pi,
                         **describe(spec)[1],
                         "generator_accuracy": float(data.accuracy(w_gen[pi], mix)),
                         "accuracy": float(data.accuracy(res.w[pi], mix)),
                         "p": float(r[0]), "phi": float(r[1]), "psi": float(r[2]),
                         "pstar": float(r[3]), "kept": float(r[4]),
                         "converged": bool(res.converged[pi]),
                         "iterations": int(res.iterations[pi])})
        w_gen = [res.w[pi] for pi in range(len(prns))]
    return rows

