"""Scenarios: one description of a generator and a verifier, shared by theory and simulation.

A scenario is the class mean ``mu`` (identity covariance), a generator that labels synthesized
inputs, and a verifier that decides which labelled samples to keep:

- generators: ``flip(p)`` (y' = -y with probability p, independently of x);
  ``linear_generator(w, labels="sign")`` (y' = sign(x^T w), sign(0) = +1) or
  ``labels="sample"`` (y' = +1 with probability sigmoid(x^T w): the length of w matters).
- verifiers: ``no_pruning()``; ``label_only(phi, psi)`` (keep a correct label with probability phi,
  a wrong one with psi, independently of x); ``linear_verifier(w, tau=0)`` (keep iff
  y' x^T w > tau, w not normalised); ``top_r(rate, w)`` (the same rule with tau set so that a
  fraction ``rate`` of the synthesized samples is kept).

Vectors may have any dimension, as long as all of a scenario's vectors share it: the theory uses
only their Gram matrix with ``mu`` (``geometry``). ``simulate`` takes the same objects (its
``generators.from_scenario`` / ``pruners.from_scenario``), so one scenario drives both sides.

The finite-n theory reduces a scenario to *atoms* (``atoms``): the joint law of the label's
correctness, the keep decision and the input's coordinates in the span of the rule directions,
as a weighted point set (docs/theory.md, section "General scenarios").
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import numpy as np
from scipy.special import expit, ndtr, roots_legendre

from . import _validate

__all__ = [
    "Flip", "LinearGenerator", "NoPruning", "LabelOnly", "LinearVerifier", "TopR",
    "flip", "linear_generator", "no_pruning", "label_only", "linear_verifier", "top_r",
    "Geometry", "geometry", "keep_rates", "threshold",
]

LABELS = ("sign", "sample")


def _scalar(name, x, check=None):
    """One real number through the project's input policy (``theory._validate``)."""
    check = check or _validate.finite
    with jax.enable_x64(True):  # the checks convert through JAX: keep float64
        arr = np.asarray(check(name, x))
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number; got shape {arr.shape}")
    return float(arr)


def _probability(name, x):
    return _scalar(name, x, _validate.probability)


def _real(name, x):
    return _scalar(name, x)


def _vector(name, w, *, nonzero=True):
    with jax.enable_x64(True):
        arr = np.asarray(_validate.vector(name, w, nonzero=nonzero), dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one vector of length d >= 1; got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True)
class Flip:
    """y' = -y with probability ``p``, independently of x."""

    p: float
    kind = "flip"

    def __post_init__(self):
        object.__setattr__(self, "p", _probability("p", self.p))


@dataclasses.dataclass(frozen=True, eq=False)
class LinearGenerator:
    """y' = sign(x^T w) (``labels="sign"``) or y' = +1 with probability sigmoid(x^T w)."""

    w: np.ndarray
    labels: str = "sign"
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "w", _vector("w", self.w))
        if self.labels not in LABELS:
            raise ValueError(f"labels must be one of {LABELS}; got {self.labels!r}")


@dataclasses.dataclass(frozen=True)
class NoPruning:
    kind = "none"


@dataclasses.dataclass(frozen=True)
class LabelOnly:
    """Keep a correct label with probability ``phi``, a wrong one with ``psi``."""

    phi: float
    psi: float
    kind = "label_only"

    def __post_init__(self):
        object.__setattr__(self, "phi", _probability("phi", self.phi))
        object.__setattr__(self, "psi", _probability("psi", self.psi))
        if self.phi == 0 and self.psi == 0:
            raise ValueError("phi and psi are both 0: the verifier keeps nothing")


@dataclasses.dataclass(frozen=True, eq=False)
class LinearVerifier:
    """Keep iff y' x^T w > tau (w not normalised: tau is in the units of x^T w)."""

    w: np.ndarray
    tau: float = 0.0
    kind = "linear"

    def __post_init__(self):
        object.__setattr__(self, "w", _vector("w", self.w))
        object.__setattr__(self, "tau", _real("tau", self.tau))


@dataclasses.dataclass(frozen=True, eq=False)
class TopR:
    """Keep the fraction ``rate`` of synthesized samples with the largest y' x^T w."""

    rate: float
    w: np.ndarray
    kind = "top_r"

    def __post_init__(self):
        r = _real("rate", self.rate)
        if not 0.0 < r <= 1.0:
            raise ValueError(f"rate must be in (0, 1]; got {r}")
        object.__setattr__(self, "rate", r)
        object.__setattr__(self, "w", _vector("w", self.w))


def flip(p) -> Flip:
    return Flip(p)


def linear_generator(w, labels="sign") -> LinearGenerator:
    return LinearGenerator(w, labels)


def no_pruning() -> NoPruning:
    return NoPruning()


def label_only(phi, psi) -> LabelOnly:
    return LabelOnly(phi, psi)


def linear_verifier(w, tau=0.0) -> LinearVerifier:
    return LinearVerifier(w, tau)


def top_r(rate, w) -> TopR:
    return TopR(rate, w)


GENERATORS = (Flip, LinearGenerator)
VERIFIERS = (NoPruning, LabelOnly, LinearVerifier, TopR)


def check(generator, verifier):
    """Raise ValueError unless ``generator`` and ``verifier`` are scenario objects."""
    if not isinstance(generator, GENERATORS):
        raise ValueError(f"generator must be theory.scenario.flip(...) or linear_generator(...); "
                         f"got {generator!r}")
    if not isinstance(verifier, VERIFIERS):
        raise ValueError("verifier must be theory.scenario.no_pruning(), label_only(...), "
                         f"linear_verifier(...) or top_r(...); got {verifier!r}")


# ---------------------------------------------------------------------------------------------
# Geometry: what of the vectors the theory uses.


class Geometry(NamedTuple):
    """The Gram matrix of (mu, w_g, w_v), in the numbers the theory uses.

    mu_norm: ||mu||.  a_g, a_v: mu^T w / ||w|| of the generator's and verifier's directions (NaN
    where absent).  g_norm, v_norm: ||w_g||, ||w_v||.  rho: the cosine between w_g and w_v.
    """

    mu_norm: float
    a_g: float
    g_norm: float
    a_v: float
    v_norm: float
    rho: float


def _unit(w):
    # Scale before squaring: the direction of a vector of entries 1e-200 or 1e200 is still exact.
    s = np.max(np.abs(w))
    u = w / s
    return u / np.linalg.norm(u), s * np.linalg.norm(u)


def geometry(mu, generator, verifier) -> Geometry:
    """The scenario's Gram numbers; raises ValueError on mismatched dimensions."""
    check(generator, verifier)
    mu = _vector("mu", mu, nonzero=False)
    mu_norm = float(np.linalg.norm(mu))
    nan = float("nan")
    a_g = g_norm = a_v = v_norm = rho = nan
    u_g = u_v = None
    if isinstance(generator, LinearGenerator):
        if generator.w.shape != mu.shape:
            raise ValueError(f"dimension mismatch: the generator's w has d={generator.w.size}, "
                             f"mu has d={mu.size}")
        u_g, g_norm = _unit(generator.w)
        a_g = float(mu @ u_g)
    if isinstance(verifier, (LinearVerifier, TopR)):
        if verifier.w.shape != mu.shape:
            raise ValueError(f"dimension mismatch: the verifier's w has d={verifier.w.size}, "
                             f"mu has d={mu.size}")
        u_v, v_norm = _unit(verifier.w)
        a_v = float(mu @ u_v)
    if u_g is not None and u_v is not None:
        rho = float(np.clip(u_g @ u_v, -1.0, 1.0))
    return Geometry(mu_norm, a_g, float(g_norm), a_v, float(v_norm), rho)


# ---------------------------------------------------------------------------------------------
# Quadrature rules for the Gaussian coordinates (weights include the normal density).

@functools.cache
def _legendre(m):
    return np.polynomial.legendre.leggauss(m)


@functools.cache
def _hermite(n):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _phi(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


@functools.cache
def _half_hermite(n):
    """Gauss rule for the integral of f(t) phi(t) over t > 0 (phi: the standard normal density):
    nodes, weights. Recurrence by the discretised Stieltjes procedure on an 800-point
    Gauss-Legendre grid of [0, 40] (400 or 4000 points change nodes and weights by < 1e-11),
    nodes by Golub-Welsch. scipy's grid: numpy's dense eigensolver took ~10 s per process."""
    x, w = roots_legendre(800)
    t = 20.0 * (x + 1.0)
    wt = 20.0 * w * _phi(t)
    a, b = np.zeros(n), np.zeros(n)
    p_prev, p, norm_prev = np.zeros_like(t), np.ones_like(t), 1.0
    for k in range(n):
        norm = np.sum(wt * p * p)
        a[k] = np.sum(wt * t * p * p) / norm
        b[k] = norm / norm_prev if k else norm
        p_prev, p, norm_prev = p, (t - a[k]) * p - (b[k] if k else 0.0) * p_prev, norm
        scale = np.sqrt(np.sum(wt * p * p))  # keep the monic polynomials in range
        p_prev, p, norm_prev = p_prev / scale, p / scale, norm_prev / scale**2
    jacobi = np.diag(a) + np.diag(np.sqrt(b[1:]), 1) + np.diag(np.sqrt(b[1:]), -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    return nodes, b[0] * vectors[0] ** 2


# a side reaching past |z| = 7 is integrated to infinity: the mass beyond is < 1.3e-12
_FAR = 7.0
# a keep boundary this thin (relative to the normal's scale) gets panels of its own width
_WEDGE = 3.0


def segment_rule(lo, hi, nodes):
    """Nodes z (..., 2 (nodes // 2)) and weights with sum w g(z) ~ E[g(Z) 1{lo < Z < hi}].

    ``lo``, ``hi`` broadcast (each may be +-inf). The segment is split at c, its point nearest
    0; each side gets nodes // 2 points: a Gauss rule for the normal weight on a half-line
    (``_half_hermite``, shifted to start at c: phi(c + t) = phi(c) e^(-ct) phi(t) / phi(0), a
    decaying factor since c and t have one sign) where the side is unbounded, Gauss-Legendre
    where it is bounded. Smooth g converge geometrically, polynomial tails included.
    """
    lo = np.asarray(lo, float)
    hi = np.maximum(np.asarray(hi, float), lo)
    c = np.clip(0.0, lo, hi)
    half = max(1, nodes // 2)
    xg, wg = _legendre(half)
    th, wh = _half_hermite(half)

    def side(end, sign):
        far = (np.abs(end) >= _FAR) & (sign * (end - c) > 0)  # empty sides stay finite (0)
        b = np.where(far, c + sign, end)
        z_fin = (c + b)[..., None] / 2 + (b - c)[..., None] / 2 * xg
        w_fin = np.abs(b - c)[..., None] / 2 * wg * _phi(z_fin)
        start = np.where(far, c, 0.0)[..., None]  # on a far side sign * c >= 0: no overflow
        z_inf = start + sign * th
        w_inf = wh * np.exp(-sign * start * th) * _phi(start) / _phi(0.0)
        return (np.where(far[..., None], z_inf, z_fin), np.where(far[..., None], w_inf, w_fin))

    z_lo, w_lo = side(lo, -1.0)
    z_hi, w_hi = side(hi, 1.0)
    return np.concatenate([z_lo, z_hi], axis=-1), np.concatenate([w_lo, w_hi], axis=-1)


def line_rule(nodes):
    """Gauss-Hermite rule for E[g(Z)], Z ~ N(0, 1): nodes, weights (sum 1)."""
    return _hermite(nodes)


# ---------------------------------------------------------------------------------------------
# Keep rates and the top-r threshold.


def _label_prob(generator, geo, y, t_g):
    """P(y' = +1 | y, t_g) for a linear generator; t_g = x^T w_g / ||w_g||."""
    if generator.labels == "sign":
        return (t_g >= 0).astype(float)
    return expit(geo.g_norm * t_g)


def _conditional_v(geo, y, t_g):
    """Mean and sd of t_v = x^T w_v / ||w_v|| given y and t_g (both rules linear)."""
    rho = geo.rho
    mean = y * geo.a_v + rho * (t_g - y * geo.a_g)
    return mean, np.sqrt(max(0.0, 1.0 - rho * rho))


def _tail(x, sd):
    """P(mean + sd Z > 0) with x = mean; the step function when sd = 0."""
    if sd > 0:
        return ndtr(x / sd)
    return (x > 0).astype(float)


def _label_keep(verifier, correct):
    """P(keep | the label's correctness) of a verifier that does not look at x."""
    if isinstance(verifier, NoPruning):
        return 1.0
    return np.where(correct, verifier.phi, verifier.psi)


def keep_rates(mu, generator, verifier, *, tau=None, nodes=400):
    """(p, phi, psi) of the scenario: error rate, keep rate of correct and of wrong labels.

    For a ``top_r`` verifier ``tau`` defaults to its threshold (``threshold``).
    """
    geo = geometry(mu, generator, verifier)
    if tau is None:
        tau = _tau(verifier, geo, generator)
    return _rates(geo, generator, verifier, tau, nodes)


def _tau(verifier, geo, generator):
    if isinstance(verifier, LinearVerifier):
        return verifier.tau
    if isinstance(verifier, TopR):
        return threshold(geo, generator, verifier)
    return 0.0


def _rates(geo, generator, verifier, tau, nodes=400):
    """(p, phi, psi) by one-dimensional quadrature over t_g (exact in t_v given t_g)."""
    tau_u = tau / geo.v_norm if np.isfinite(geo.v_norm) else 0.0
    mass = {(True,): 0.0, (False,): 0.0}
    kept = {(True,): 0.0, (False,): 0.0}
    for y in (1.0, -1.0):
        if isinstance(generator, Flip):
            for yprime, prob in ((y, 1 - generator.p), (-y, generator.p)):
                correct = yprime == y
                if isinstance(verifier, (LinearVerifier, TopR)):
                    keep = _tail(np.asarray(yprime * y * geo.a_v - tau_u), 1.0)
                else:
                    keep = _label_keep(verifier, correct)
                mass[(correct,)] += 0.5 * prob
                kept[(correct,)] += 0.5 * prob * float(keep)
            continue
        # t_g = y a_g + z: the generator's break at t_g = 0 splits the line
        b = -y * geo.a_g
        for lo, hi in ((-np.inf, b), (b, np.inf)):
            z, w = segment_rule(lo, hi, nodes)
            t_g = y * geo.a_g + z
            p_plus = _label_prob(generator, geo, y, t_g)
            for yprime, prob in ((1.0, p_plus), (-1.0, 1.0 - p_plus)):
                correct = yprime == y
                if isinstance(verifier, (LinearVerifier, TopR)):
                    mean, sd = _conditional_v(geo, y, t_g)
                    keep = _tail(yprime * mean - tau_u, sd)
                else:
                    keep = _label_keep(verifier, correct)
                mass[(correct,)] += 0.5 * float(np.sum(w * prob))
                kept[(correct,)] += 0.5 * float(np.sum(w * prob * keep))
    m_c, m_w = mass[(True,)], mass[(False,)]
    phi = kept[(True,)] / m_c if m_c > 0 else float("nan")
    psi = kept[(False,)] / m_w if m_w > 0 else float("nan")
    return m_w / (m_c + m_w), phi, psi


def threshold(geo, generator, verifier):
    """The tau (in the units of y' x^T w) at which the rule keeps a fraction ``verifier.rate``."""
    rate = verifier.rate
    if rate >= 1.0:
        return -np.inf

    def excess(t_unit):
        p, phi, psi = _rates(geo, generator, verifier, t_unit * geo.v_norm)
        kept = (1 - p) * (0.0 if np.isnan(phi) else phi) + p * (0.0 if np.isnan(psi) else psi)
        return kept - rate

    lo, hi = -12.0, 12.0
    from scipy.optimize import brentq  # here: scipy.optimize takes 0.13 s to import

    return brentq(excess, lo, hi, xtol=1e-13, rtol=1e-14) * geo.v_norm


# ---------------------------------------------------------------------------------------------
# Atoms: the scenario as a weighted point set for the finite-n fixed point.


class Atoms(NamedTuple):
    """One scenario reduced to what the fixed point needs (docs/theory.md, "General scenarios").

    R is the span of the rule directions (w_g and/or w_v), given an orthonormal basis of up to
    two vectors; mu = mu_r (in that basis) + mu_m e_m with e_m orthogonal to R.

    weight (J,): probability of each atom times its keep probability (kept mass per sample).
    u (J, 2): y' times the input's coordinates in R (zero in unused coordinates).
    e (J,): y' y, +1 for a correct label and -1 for a wrong one.
    mu_r (2,), mu_m: mu's coordinates.  active (2,): which coordinates of R exist.
    g_dir, v_dir (2,): unit w_g and w_v in R's basis (zero where absent).
    """

    weight: np.ndarray
    u: np.ndarray
    e: np.ndarray
    mu_r: np.ndarray
    mu_m: float
    active: np.ndarray
    g_dir: np.ndarray
    v_dir: np.ndarray


_PARALLEL = 1e-10  # 1 - rho^2 below this: the rules share one direction


def atoms(geo: Geometry, generator, verifier, *, real_fraction=0.0, tau=None, outer=32,
          real_nodes=24):
    """The scenario's atoms; ``outer`` nodes per segment of each Gaussian coordinate.

    Segments split each coordinate where a rule is discontinuous (the sign generator at
    x^T w_g = 0, the verifier at y' x^T w_v = tau), so every piece is smooth.
    """
    has_g = isinstance(generator, LinearGenerator)
    has_v = isinstance(verifier, (LinearVerifier, TopR))
    if tau is None:
        tau = _tau(verifier, geo, generator)
    tau_u = tau / geo.v_norm if has_v else 0.0
    g_dir = np.zeros(2)
    v_dir = np.zeros(2)
    mu_r = np.zeros(2)
    two_d = False
    if has_g and has_v and 1.0 - geo.rho**2 > _PARALLEL:
        c = np.sqrt(1.0 - geo.rho**2)
        g_dir[:] = (1.0, 0.0)
        v_dir[:] = (geo.rho, c)
        mu_r[:] = (geo.a_g, (geo.a_v - geo.rho * geo.a_g) / c)
        two_d = True
    elif has_g:
        g_dir[0] = 1.0
        mu_r[0] = geo.a_g
        if has_v:
            v_dir[0] = np.sign(geo.rho)
    elif has_v:
        v_dir[0] = 1.0
        mu_r[0] = geo.a_v
    active = np.array([has_g or has_v, two_d], float)
    mu_m = float(np.sqrt(max(0.0, geo.mu_norm**2 - mu_r @ mu_r)))

    ws, us, es = [], [], []

    def add(weight, u1, u2, e):
        weight, u1, u2, e = np.broadcast_arrays(*(np.asarray(a, float) for a in (weight, u1, u2, e)))
        ws.append(weight.ravel())
        us.append(np.stack([u1.ravel(), u2.ravel()], axis=1))
        es.append(e.ravel())

    synth = 1.0 - real_fraction
    for y in (1.0, -1.0):
        if not (has_g or has_v):  # flip generator, label-level verifier: no coordinates
            for yprime, prob in ((y, 1 - generator.p), (-y, generator.p)):
                keep = _label_keep(verifier, yprime == y)
                add(0.5 * synth * prob * keep, 0.0, 0.0, yprime * y)
            continue
        # the first coordinate: s1 = y mu_r[0] + z1, segments at every rule's break
        breaks = []
        if has_g and generator.labels == "sign":
            breaks.append(-y * geo.a_g)
        if has_v and not two_d and np.isfinite(tau_u):
            sv = v_dir[0]  # t_v = sv * s1
            breaks += [sv * tau_u - y * mu_r[0], -sv * tau_u - y * mu_r[0]]
        for yprime in (1.0, -1.0):
            extra = []
            if two_d and np.isfinite(tau_u):
                # keep iff y' (rho s1 + c s2) > tau_u: its mass given s1 is a normal cdf of
                # slope rho / c in s1, steep when w_g and w_v are near parallel; panels of that
                # width around its centre resolve it
                c, width = v_dir[1], v_dir[1] / max(abs(geo.rho), 1e-300)
                if width < _WEDGE:
                    centre = (yprime * tau_u - c * y * mu_r[1]) / geo.rho - y * mu_r[0]
                    extra = [centre + k * width for k in (-3.0, -1.0, 1.0, 3.0)]
            edges = np.concatenate([[-np.inf], np.sort(breaks + extra), [np.inf]])
            lo_e, hi_e = edges[:-1], edges[1:]
            if extra:  # the panels inside the transition are narrow: half the points do
                narrow = (hi_e - lo_e) <= 2.0 * width * (1 + 1e-9)
                parts = [segment_rule(lo_e[~narrow], hi_e[~narrow], outer),
                         segment_rule(lo_e[narrow], hi_e[narrow], max(4, outer // 2))]
                z1 = np.concatenate([z.ravel() for z, _ in parts])
                w1 = np.concatenate([w.ravel() for _, w in parts])
            else:
                z1, w1 = segment_rule(lo_e, hi_e, outer)
                z1, w1 = z1.ravel(), w1.ravel()
            s1 = y * mu_r[0] + z1
            if has_g:
                p_plus = _label_prob(generator, geo, y, s1)
                prob = p_plus if yprime > 0 else 1.0 - p_plus
            else:
                prob = np.full_like(s1, 1 - generator.p if yprime == y else generator.p)
            base = 0.5 * synth * w1 * prob
            if not has_v:
                keep = _label_keep(verifier, yprime == y)
                add(base * keep, yprime * s1, 0.0, yprime * y)
            elif not two_d:
                keep = _tail(yprime * v_dir[0] * s1 - tau_u, 0.0)
                add(base * keep, yprime * s1, 0.0, yprime * y)
            else:
                # keep iff y' (rho s1 + c s2) > tau_u, s2 = y mu_r[1] + z2: a half-line in z2
                c = v_dir[1]
                if not np.isfinite(tau_u):  # keep everything (top_r with rate 1)
                    lo, hi = np.full_like(s1, -np.inf), np.full_like(s1, np.inf)
                elif yprime > 0:
                    lo, hi = (tau_u - geo.rho * s1) / c - y * mu_r[1], np.full_like(s1, np.inf)
                else:
                    lo, hi = np.full_like(s1, -np.inf), (-tau_u - geo.rho * s1) / c - y * mu_r[1]
                z2, w2 = segment_rule(lo, hi, outer)
                s2 = y * mu_r[1] + z2
                add(base[:, None] * w2, yprime * s1[:, None], yprime * s2, yprime * y)
    if real_fraction > 0:  # real samples: y' = y, always kept; y s = mu_r + z
        z, w = line_rule(real_nodes)
        if two_d:
            add(real_fraction * w[:, None] * w[None, :], mu_r[0] + z[:, None],
                mu_r[1] + z[None, :], 1.0)
        elif has_g or has_v:
            add(real_fraction * w, mu_r[0] + z, 0.0, 1.0)
        else:
            add(real_fraction, 0.0, 0.0, 1.0)
    weight = np.concatenate(ws)
    u = np.concatenate(us)
    e = np.concatenate(es)
    # atoms below 1e-14 of the largest move every average by < 1e-13: a quarter of a 2-D set
    keep = weight > 1e-14 * weight.max() if weight.size else weight > 0
    return Atoms(weight[keep], u[keep], e[keep], mu_r, mu_m, active, g_dir, v_dir)
