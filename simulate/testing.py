"""Property testing of selectors against the theory (docs/theory.md,
sections 'The proxy p*', 'Label-only pruning in the large-sample limit'): a public kit.

Checks (NumPy and JAX only) run any selector (``simulate.selection``) on candidates drawn from
the Gaussian mixture x | y ~ N(y mu, I), labelled by a generator (``flip(p)`` by default), and
hold what it keeps to the theory. Tolerances come from the sample size: z binomial standard
errors (z = 4.5 by default: a false alarm per check below 1e-5) plus one count of lattice slack.

- ``check_rates``: the measured p, phi, psi and p* = phi / (phi + psi), and the error rate of
  what is kept, p psi / (p psi + (1 - p) phi).
- ``check_breakdown``: the label-level breakdown at p*: the kept error rate is below 1/2 for
  p < p* and above it for p > p*.
- ``check_limit_accuracy``: on either side of p*, a large-n fit on what the selector keeps
  (``simulate.run``, square loss) against the n -> inf accuracy of ``theory.label_only``, within
  a tolerance derived from the fit's sampling error.
- ``check_selector``: all three, for a selector that claims label-level rates (phi, psi).
- ``check_scenario``: the pruner of a ``theory.scenario`` description against its theory rates.

Strategies (need ``hypothesis``, imported only when called): ``mixtures``, ``verifier_rates``,
``scenarios``. A selector checked by ``check_limit_accuracy`` runs inside ``simulate.run``, so its
``select`` must be traceable by JAX (``jnp`` operations).

    from simulate import selection, testing
    testing.check_selector(selection.LabelOnly(0.9, 0.3), jax.random.key(0), phi=0.9, psi=0.3)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np
from scipy import stats

from . import data, generators, pruners, selection

__all__ = ["Report", "SelectorCheckError", "candidates", "check_rates", "check_breakdown",
           "check_limit_accuracy", "check_selector", "check_scenario", "mixtures",
           "verifier_rates", "scenarios", "Scenario"]

Z = 4.5
DEFAULT_MU = (1.5, 0.0)


class SelectorCheckError(AssertionError):
    """A selector does not do what it claims (an AssertionError, so test runners report it)."""


class Report(NamedTuple):
    """What a check measured: the rates, the kept error rate, and the sample counts."""

    rates: selection.Rates
    selected_error: float
    n: int
    n_correct: int
    n_kept: int


class Candidates(NamedTuple):
    inputs: jax.Array  # (n, d)
    labels: jax.Array  # (n,) the generator's labels, in {-1, +1}
    correct: jax.Array  # (n,) bool


def _scenario():
    from theory import scenario  # deferred, as in pruners.from_scenario

    return scenario


def _check_z(z):
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0 or not math.isfinite(z):
        raise ValueError(f"z must be a positive number of standard errors; got {z!r}")
    return float(z)


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 100:
        raise ValueError(f"n must be an integer >= 100 (tolerances are binomial); got {n!r}")
    return int(n)


def _check_rates(phi, psi):
    for name, v in (("phi", phi), ("psi", psi)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError(f"{name} must be a number in [0, 1]; got {v!r}")
    if phi == 0 and psi == 0:
        raise ValueError("phi and psi are both 0: nothing would be kept")
    return float(phi), float(psi)


def _generator(generator):
    """A ``theory.scenario`` generator; a number p stands for flip(p)."""
    sc = _scenario()
    if isinstance(generator, sc.GENERATORS):
        return generator
    if isinstance(generator, (int, float)) and not isinstance(generator, bool):
        return sc.flip(generator)
    raise ValueError(f"generator must be a theory.scenario generator or an error rate p; "
                     f"got {generator!r}")


def candidates(key, mu, generator, n) -> Candidates:
    """``n`` candidates of the mixture N(y mu, I), labelled by ``generator`` (a
    ``theory.scenario`` generator, or p for flip(p)); float64."""
    gen = generators.from_scenario(_generator(generator))
    with jax.enable_x64(True):
        k_x, k_g = jax.random.split(key)
        x, y = data.sample(k_x, data.mixture(np.asarray(mu, float)), _check_n(n))
        labels = gen.labels(k_g, x, y)
        return Candidates(x, labels, labels == y)


def _binomial_tol(rate, count, z):
    """z standard errors of a proportion over ``count`` samples, plus one count of slack (a
    selector keeping a fixed number, ceil(rate n), is off by up to one)."""
    return z * math.sqrt(max(rate * (1 - rate), 0.0) / count) + 1.0 / count


def _fail(what, got, want, tol, n):
    raise SelectorCheckError(f"{what} = {got:.5g}, but the theory says {want:.5g} "
                             f"(tolerance {tol:.3g} at n = {n})")


def check_rates(selector, key, *, phi, psi, generator=0.3, mu=DEFAULT_MU, n=20_000,
                z=Z) -> Report:
    """Run ``selector`` on ``n`` mixture candidates and hold it to the rates (phi, psi) it
    claims: measured p, phi, psi, p* and the kept error rate p psi / (p psi + (1 - p) phi), each
    within z binomial standard errors. Selectors that score mixture candidates
    (``pruners.MixtureScorer``) see their scores; the others the ground truth only. Returns the
    measurements; raises ``SelectorCheckError`` on a mismatch."""
    phi, psi = _check_rates(phi, psi)
    z, gen = _check_z(z), _generator(generator)
    p = float(_scenario().keep_rates(np.asarray(mu, float), gen, _scenario().no_pruning())[0])
    k_cand, k_sel = jax.random.split(key)
    cand = candidates(k_cand, mu, gen, n)
    with jax.enable_x64(True):
        kept = np.asarray(pruners.keep(selector, k_sel, cand.inputs, cand.labels, cand.correct))
        if kept.shape != (n,) or kept.dtype != bool:
            raise SelectorCheckError(f"select must return a bool mask of shape ({n},); got "
                                     f"{kept.dtype} {kept.shape}")
        r = selection.measure(cand.correct, kept)
    correct = np.asarray(cand.correct)
    n_c, n_w, n_kept = int(correct.sum()), int((~correct).sum()), int(kept.sum())
    got = {f: float(v) for f, v in r._asdict().items()}
    _within("p", got["p"], p, _binomial_tol(p, n, z), n)
    if n_c:
        _within("phi", got["phi"], phi, _binomial_tol(phi, n_c, z), n)
    if n_w:
        _within("psi", got["psi"], psi, _binomial_tol(psi, n_w, z), n)
    if n_c and n_w:
        # delta method: dp*/dphi = psi / (phi + psi)^2, dp*/dpsi = -phi / (phi + psi)^2
        s = phi + psi
        sd_phi, sd_psi = _binomial_tol(phi, n_c, z), _binomial_tol(psi, n_w, z)
        tol = math.hypot(psi * sd_phi, phi * sd_psi) / s**2
        _within("p*", got["pstar"], phi / s, tol, n)
    if n_kept == 0:
        raise SelectorCheckError(f"the selector kept nothing of {n} candidates")
    selected = float(np.sum(kept & ~correct) / n_kept)
    expected = p * psi / (p * psi + (1 - p) * phi)
    _within("the kept error rate", selected, expected, _binomial_tol(expected, n_kept, z), n)
    return Report(r, selected, n, n_c, n_kept)


def _within(what, got, want, tol, n):
    if not abs(got - want) <= tol:
        _fail(what, got, want, tol, n)


def check_breakdown(selector, key, *, phi, psi, mu=DEFAULT_MU, n=20_000, z=Z, margin=0.1):
    """The label-level breakdown at p* = phi / (phi + psi): under a flip(p) generator the kept
    error rate is below 1/2 for p = p* - margin and above it for p = p* + margin (each side
    where it lies in (0, 1)). Returns {p: kept error rate}."""
    phi, psi = _check_rates(phi, psi)
    if not 0 < margin < 0.5:
        raise ValueError(f"margin must be in (0, 1/2); got {margin!r}")
    pstar = phi / (phi + psi)
    out = {}
    for side, p in ((-1, pstar - margin), (1, pstar + margin)):
        if not 0 < p < 1:
            continue
        rep = check_rates(selector, jax.random.fold_in(key, side + 1), phi=phi, psi=psi,
                          generator=p, mu=mu, n=n, z=z)
        if (rep.selected_error < 0.5) != (side < 0):
            raise SelectorCheckError(
                f"at p = {p:.3g} {'<' if side < 0 else '>'} p* = {pstar:.3g} the kept error rate "
                f"is {rep.selected_error:.4g}: the breakdown is not at p*")
        out[p] = rep.selected_error
    return out


def _accuracy_tolerance(p, phi, psi, m, d, n, lam, z):
    """How far a square-loss fit on n candidates may fall from the n -> inf accuracy Phi(m)
    (Sigma = I). Its weights differ from w_inf = B mu / D (B = (1-p) phi - p psi,
    K = (1-p) phi + p psi, D = K (1 + m^2) + lam) by a fluctuation orthogonal to mu with variance
    V / (n (K + lam)^2) per coordinate, V = K - 2 c B m + c^2 K (1 + m^2), c = B m / D. The
    angle's tangent squared is then at most chi2_{d-1} quantile x V D^2 / (n (K+lam)^2 B^2 m^2),
    and the accuracy Phi(m cos theta)."""
    k, b = (1 - p) * phi + p * psi, (1 - p) * phi - p * psi
    dd = k * (1 + m**2) + lam
    c = b * m / dd
    v = k - 2 * c * b * m + c**2 * k * (1 + m**2)
    if d == 1:
        return 0.0
    chi2 = stats.chi2.isf(2 * stats.norm.sf(z), d - 1)
    tan2 = chi2 * v * dd**2 / (n * (k + lam) ** 2 * b**2 * m**2)
    return float(stats.norm.cdf(m) - stats.norm.cdf(m / math.sqrt(1 + tan2)))


def check_limit_accuracy(selector, *, phi, psi, mu=DEFAULT_MU, n=20_000, lam=0.1, margin=0.15,
                         z=Z, root_seed=0):
    """On either side of p*, fit (square loss, ridge ``lam``) on what ``selector`` keeps of n
    flip(p) candidates (``simulate.run``) and compare the accuracy with the n -> inf accuracy of
    ``theory.label_only.limit_accuracy``: within the fit's sampling tolerance, and above 1/2
    exactly below p*. Returns {p: (simulated, limit)}."""
    import theory

    from .run import run

    phi, psi = _check_rates(phi, psi)
    z, n = _check_z(z), _check_n(n)
    mu = np.asarray(mu, float)
    m = float(np.linalg.norm(mu))
    pstar = phi / (phi + psi)
    ps = [p for p in (pstar - margin, pstar + margin) if 0 < p < 1]
    if not ps:
        raise ValueError(f"margin {margin} leaves no p in (0, 1) on either side of p* = {pstar}")
    table = run(mu, n, generators=[generators.flip(p) for p in ps], pruners=selector, lam=lam,
                loss="square", seeds=1, root_seed=root_seed, with_theory=False)
    out = {}
    for p, acc in zip(ps, np.asarray(table.column("accuracy"), float)):
        limit = float(theory.label_only.limit_accuracy(p, phi, psi, mu, lam, loss="square"))
        tol = _accuracy_tolerance(p, phi, psi, m, len(mu), n, lam, z)
        _within(f"the accuracy at p = {p:.3g}", acc, limit, tol, n)
        if (acc > 0.5) != (p < pstar):
            raise SelectorCheckError(f"accuracy {acc:.4g} at p = {p:.3g} is on the wrong side of "
                                     f"1/2 for p* = {pstar:.3g}")
        out[p] = (float(acc), limit)
    return out


def check_selector(selector, key, *, phi, psi, mu=DEFAULT_MU, n=20_000, z=Z,
                   limit=True) -> Report:
    """All checks for a selector claiming label-level rates (phi, psi): ``check_rates`` under
    flip(0.3), ``check_breakdown`` and (``limit=True``) ``check_limit_accuracy``."""
    rep = check_rates(selector, key, phi=phi, psi=psi, mu=mu, n=n, z=z)
    check_breakdown(selector, jax.random.fold_in(key, 1), phi=phi, psi=psi, mu=mu, n=n, z=z)
    if limit:
        check_limit_accuracy(selector, phi=phi, psi=psi, mu=mu, n=n, z=z)
    return rep


class Scenario(NamedTuple):
    """One description for theory and simulation: mu, a generator and a verifier of
    ``theory.scenario``."""

    mu: np.ndarray
    generator: object
    verifier: object


def check_scenario(sc: Scenario, key, *, n=20_000, z=Z) -> Report:
    """The pruner of a scenario's verifier (``pruners.from_scenario``) against the scenario's
    theory rates (``theory.scenario.keep_rates``)."""
    _, phi, psi = _scenario().keep_rates(np.asarray(sc.mu, float), sc.generator, sc.verifier)
    return check_rates(pruners.from_scenario(sc.verifier), key, phi=float(phi), psi=float(psi),
                       generator=sc.generator, mu=sc.mu, n=n, z=z)


# --- hypothesis strategies (hypothesis is imported only here) ---------------------------------


def _strategies():
    try:
        from hypothesis import strategies as st
    except ImportError as err:  # an optional dependency: the checks above work without it
        raise ImportError("simulate.testing's strategies need hypothesis "
                          "(pip install 'beyond-collapse[test]')") from err
    return st


def mixtures(max_d=3, min_norm=0.5, max_norm=2.5):
    """Class means mu (d,), 1 <= d <= max_d, with min_norm <= |mu| <= max_norm (identity
    covariance): Gaussian-mixture instances whose classes overlap but are learnable."""
    st = _strategies()
    if not 0 < min_norm <= max_norm:
        raise ValueError(f"need 0 < min_norm <= max_norm; got {min_norm}, {max_norm}")

    def build(d, direction, norm):
        v = np.asarray(direction[:d], float)
        v = v / np.linalg.norm(v) if np.linalg.norm(v) > 1e-3 else np.eye(d)[0]
        return v * norm

    unit = st.floats(-1, 1, allow_subnormal=False)
    return st.builds(build, st.integers(1, max_d), st.lists(unit, min_size=max_d,
                                                            max_size=max_d),
                     st.floats(min_norm, max_norm))


def verifier_rates(low=0.05, high=1.0):
    """(phi, psi) keep rates in [low, high] each (both positive: every class has kept
    samples to measure)."""
    st = _strategies()
    if not 0 < low <= high <= 1:
        raise ValueError(f"need 0 < low <= high <= 1; got {low}, {high}")
    rate = st.floats(low, high)
    return st.tuples(rate, rate)


def scenarios(max_d=3):
    """``Scenario``s: a flip or sign-linear generator and a no-pruning, label-only, linear or
    top-r verifier, with error rates and keep rates away from 0 (so that each is measured)."""
    st = _strategies()
    sc = _scenario()

    @st.composite
    def build(draw):
        mu = draw(mixtures(max_d=max_d, min_norm=0.8))
        d = len(mu)

        def near_mu(angle):
            # a direction at ``angle`` from mu (in the plane of mu and the first axis)
            from .specs import direction
            return direction(mu, angle)

        gen = draw(st.one_of(
            st.builds(sc.flip, st.floats(0.05, 0.45)),
            st.builds(lambda a: sc.linear_generator(near_mu(a)),
                      st.floats(0.3, 1.2) if d > 1 else st.just(0.0))))
        ver = draw(st.one_of(
            st.just(sc.no_pruning()),
            st.builds(sc.label_only, *[st.floats(0.1, 1.0)] * 2),
            st.builds(lambda a, t: sc.linear_verifier(near_mu(a), t),
                      st.floats(0.0, 1.0) if d > 1 else st.just(0.0), st.floats(-1.0, 1.0)),
            st.builds(lambda r, a: sc.top_r(r, near_mu(a)), st.floats(0.2, 0.9),
                      st.floats(0.0, 1.0) if d > 1 else st.just(0.0))))
        return Scenario(mu, gen, ver)

    return build()
