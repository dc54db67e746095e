"""The n -> inf predictions of ``theory/`` beside each simulated row.

Which closed form applies (NaN where the theory has none):

- p: the flip generator's p; a linear generator's Phi(-mu^T w_g / ||w_g||_Sigma).
- phi, psi: label-level pruners (none, random, oracle, label_only) by definition; a linear
  verifier (or top-r selection, whose threshold is ``theory.linear_verifier.tau_for_rate``) by
  ``theory.linear_verifier.keep_rates`` with the flip generator and by
  ``theory.linear_generator.keep_rates`` with a linear one (top-r there: NaN).
- accuracy: flip generator + label-level pruner, any Sigma, any real fraction rf:
  ``theory.label_only.limit_accuracy``. Real samples (correct, always kept) enter through the kept
  masses c+ = rf + (1 - rf)(1 - p) phi and c- = (1 - rf) p psi: the label-only problem with
  p_e = 1 - c+, phi_e = 1, psi_e = c- / p_e. Flip generator + linear verifier or top-r, Sigma = I,
  rf = 0: ``theory.linear_verifier.limit_accuracy``.

All requests of a sweep are evaluated together, one call per closed form, padded to a power of
two so that the theory's compiled solvers are reused across sweeps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import theory
from theory import label_only, linear_generator, linear_verifier

__all__ = ["Request", "request_of", "predict", "finite_columns", "LABEL_LEVEL",
           "label_level_rates"]

LABEL_LEVEL = ("none", "random", "oracle", "label_only")
_MIN_BUCKET = 8


class Request(NamedTuple):
    """One prediction: the generator and pruner of a row, its lam, loss and real fraction."""

    generator: str  # "flip" or "linear" (trained generators are linear once fitted)
    p: float  # flip error rate (NaN for a linear generator)
    w_g: np.ndarray | None  # (d,)
    pruner: str  # a LABEL_LEVEL kind, "linear" or "top_r"
    label_rates: tuple  # (phi, psi) of a label-level pruner
    w_v: np.ndarray | None  # (d,)
    tau: float  # linear verifier threshold
    rate: float  # top-r selection rate
    lam: float
    loss: str
    real_fraction: float
    rule: str = "sign"  # a linear generator's labels: "sign" or "sample"


def label_level_rates(pruner) -> tuple[float, float]:
    """(phi, psi) of a pruner whose keep decision depends only on whether the label is right."""
    kind = getattr(pruner, "kind", None)  # a selector of one's own may have none
    if kind == "none":
        return 1.0, 1.0
    if kind == "random":
        return pruner.rate, pruner.rate
    if kind == "oracle":
        return 1.0, 0.0
    if kind == "label_only":
        return pruner.phi, pruner.psi
    return np.nan, np.nan


def request_of(gen, prn, *, lam, loss, real_fraction, w_g=None, w_v=None) -> Request:
    """The ``Request`` of a generator and pruner of ``simulate.generators`` / ``pruners``.
    ``w_g``, ``w_v``: their fitted directions where they have none of their own (a trained
    generator, a supervised verifier)."""
    w_g = getattr(gen, "w_g", None) if w_g is None else w_g
    w_v = getattr(prn, "w_v", None) if w_v is None else w_v
    # A supervised verifier is, once fitted, a linear verifier (or top-r with ``rate``).
    kind = getattr(prn, "kind", None)  # a selector of one's own may have none
    if kind == "supervised":
        kind = "top_r" if prn.rate is not None else "linear"
    return Request(
        generator="flip" if gen.kind == "flip" else "linear", p=getattr(gen, "p", np.nan),
        w_g=None if w_g is None else np.asarray(w_g),
        pruner=kind, label_rates=label_level_rates(prn),
        w_v=None if w_v is None else np.asarray(w_v),
        tau=float(np.asarray(getattr(prn, "tau", np.nan))),
        rate=float(getattr(prn, "rate", None) or np.nan),
        lam=lam, loss=loss, real_fraction=real_fraction, rule=getattr(gen, "rule", "sign"))


def _bucket(k):
    size = _MIN_BUCKET
    while size < k:
        size *= 2
    return size


def _batched(fn, arrays, **kwargs):
    """fn(*arrays, **kwargs) on arrays stacked along axis 0 and padded (by repeating the last
    entry) to a power-of-two length; returns the unpadded outputs."""
    k = len(arrays[0])
    pad = _bucket(k) - k
    padded = [np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) if pad else a for a in arrays]
    out = fn(*padded, **kwargs)
    if isinstance(out, tuple):
        return tuple(np.asarray(o)[:k] for o in out)
    return np.asarray(out)[:k]


def predict(requests, mu, sigma=None) -> dict:
    """Theory columns for a list of ``Request``s: a dict of (K,) arrays theory_p, theory_phi,
    theory_psi, theory_pstar, theory_accuracy."""
    mu = np.asarray(mu, float)
    k = len(requests)
    out = {c: np.full(k, np.nan) for c in
           ("theory_p", "theory_phi", "theory_psi", "theory_pstar", "theory_accuracy")}
    if k == 0:
        return out
    flip = np.array([r.generator == "flip" for r in requests])
    level = np.array([r.pruner in LABEL_LEVEL for r in requests])
    linear_v = np.array([r.pruner in ("linear", "top_r") for r in requests])
    top = np.array([r.pruner == "top_r" for r in requests])
    p = np.array([r.p for r in requests], float)
    tau = np.array([r.tau for r in requests], float)

    def rows(mask):
        return np.flatnonzero(mask)

    def stack(field, idx):
        return np.stack([np.asarray(getattr(requests[i], field), float) for i in idx])

    # Generator error rates (a sampled linear rule: by ``finite_columns``).
    out["theory_p"][flip] = p[flip]
    sampled = np.array([r.rule == "sample" for r in requests])
    linear_v &= ~sampled
    idx = rows(~flip & ~sampled)
    if idx.size:
        acc = _batched(lambda w: theory.linear_accuracy(w, mu, sigma), [stack("w_g", idx)])
        out["theory_p"][idx] = 1.0 - acc
        p[idx] = 1.0 - acc

    # Keep rates.
    for i in rows(level & ~sampled):
        out["theory_phi"][i], out["theory_psi"][i] = requests[i].label_rates
    idx = rows(flip & top)
    if idx.size:
        rate = np.array([requests[i].rate for i in idx], float)
        tau[idx] = _batched(
            lambda w, pp, r: linear_verifier.tau_for_rate(mu, w, pp, r, sigma=sigma),
            [stack("w_v", idx), p[idx], rate],
        )
    idx = rows(flip & linear_v)
    if idx.size:
        phi, psi = _batched(
            lambda w, t: linear_verifier.keep_rates(mu, w, t, sigma=sigma),
            [stack("w_v", idx), tau[idx]],
        )
        out["theory_phi"][idx], out["theory_psi"][idx] = phi, psi
    idx = rows(~flip & linear_v & ~top)
    if idx.size:
        _, phi, psi = _batched(
            lambda wg, wv, t: linear_generator.keep_rates(mu, wg, wv, t, sigma=sigma),
            [stack("w_g", idx), stack("w_v", idx), tau[idx]],
        )
        out["theory_phi"][idx], out["theory_psi"][idx] = phi, psi

    phi, psi = out["theory_phi"], out["theory_psi"]
    ok = np.isfinite(phi + psi) & (phi + psi > 0)
    out["theory_pstar"][ok] = theory.pstar(phi[ok], psi[ok])

    # Limit accuracies, one batched call per closed form and loss.
    rf = np.array([r.real_fraction for r in requests], float)
    lam = np.array([r.lam for r in requests], float)
    for loss in sorted({r.loss for r in requests}):
        of_loss = np.array([r.loss == loss for r in requests])
        idx = rows(flip & level & of_loss)
        if idx.size:
            c_plus = rf[idx] + (1 - rf[idx]) * (1 - p[idx]) * phi[idx]
            c_minus = (1 - rf[idx]) * p[idx] * psi[idx]
            p_e = 1.0 - c_plus
            psi_e = np.where(p_e > 0, c_minus / np.where(p_e > 0, p_e, 1.0), 0.0)
            out["theory_accuracy"][idx] = _batched(
                lambda pe, se, lm: label_only.limit_accuracy(pe, 1.0, np.minimum(se, 1.0), mu, lm,
                                                             loss=loss, sigma=sigma),
                [np.clip(p_e, 0.0, 1.0), psi_e, lam[idx]],
            )
        if sigma is None:
            idx = rows(flip & linear_v & (rf == 0) & of_loss)
            if idx.size:
                out["theory_accuracy"][idx] = _batched(
                    lambda w, pp, lm, t: linear_verifier.limit_accuracy(mu, w, pp, lm, t, loss=loss),
                    [stack("w_v", idx), p[idx], lam[idx], tau[idx]],
                )
    return out


def _scenario_of(request, mu):
    """(generator, verifier) of ``theory.scenario`` for a request, or None where it has none."""
    from theory import scenario

    if request.generator == "flip":
        gen = scenario.flip(request.p)
    else:
        gen = scenario.linear_generator(request.w_g, request.rule)
    if request.pruner in LABEL_LEVEL:
        phi, psi = request.label_rates
        ver = scenario.no_pruning() if request.pruner == "none" else scenario.label_only(phi, psi)
    elif request.pruner == "linear":
        ver = scenario.linear_verifier(request.w_v, request.tau)
    elif request.pruner == "top_r":
        ver = scenario.top_r(request.rate, request.w_v)
    else:
        return None
    return gen, ver


def finite_columns(requests, mu, n_of, d) -> dict:
    """Finite-n theory beside each request (identity covariance): ``theory_finite_accuracy`` at
    alpha = n / d from ``theory.finite.solve``, and its n -> inf value and rates for the rows the
    closed forms of ``predict`` leave NaN. ``n_of``: each request's n. One solve per distinct
    scenario, over all its (alpha, lam) pairs."""
    from theory import finite

    k = len(requests)
    out = {c: np.full(k, np.nan) for c in ("theory_finite_accuracy", "theory_limit_accuracy",
                                           "theory_p", "theory_phi", "theory_psi")}
    groups = {}
    for i, r in enumerate(requests):
        key = (r.generator, r.p, None if r.w_g is None else tuple(np.asarray(r.w_g).tolist()),
               r.rule, r.pruner, r.label_rates, None if r.w_v is None else
               tuple(np.asarray(r.w_v).tolist()), r.tau, r.rate, r.loss, r.real_fraction)
        groups.setdefault(key, []).append(i)
    for idx in groups.values():
        r = requests[idx[0]]
        pair = _scenario_of(r, mu)
        if pair is None:
            continue
        gen, ver = pair
        alpha = np.array([n_of[i] / d for i in idx] + [np.inf] * len(idx), float)
        lam = np.array([requests[i].lam for i in idx] * 2, float)
        res = finite.solve(alpha, mu, lam, generator=gen, verifier=ver, loss=r.loss,
                           real_fraction=r.real_fraction, quadrature_check=False)
        out["theory_finite_accuracy"][idx] = res.accuracy[: len(idx)]
        out["theory_limit_accuracy"][idx] = res.accuracy[len(idx):]
        out["theory_p"][idx], out["theory_phi"][idx], out["theory_psi"][idx] = res.p, res.phi, \
            res.psi
    return out
