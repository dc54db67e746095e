"""theory.finite.solve / generations on general scenarios: reductions to the older closed forms,
limits, invariances, a second solution method for the square loss, and direct simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

import theory
from simulate import reference
from theory import finite
from theory import scenario as sc

MU = np.array([1.0, 0.0, 0.0])
W_G = np.array([np.cos(0.5), np.sin(0.5), 0.0])
W_V = 2.0 * np.array([np.cos(0.8), 0.0, np.sin(0.8)])
SMALL = dict(outer=8, nodes=24, quadrature_check=False)  # one quadrature against itself


@pytest.mark.parametrize("loss", ["logistic", "square"])
@pytest.mark.parametrize("rf", [0.0, 0.3])
def test_flip_label_only_is_finite_accuracy(loss, rf):
    alpha = np.geomspace(0.5, 64, 9)
    new = finite.solve(alpha, MU, 1e-2, generator=sc.flip(0.3), verifier=sc.label_only(0.9, 0.3),
                       loss=loss, real_fraction=rf, nodes=96)
    old = finite.accuracy(alpha, 0.3, 0.9, 0.3, 1.0, 1e-2, loss=loss, real_fraction=rf)
    assert np.all(new.converged)
    np.testing.assert_allclose(new.accuracy, old.accuracy, atol=1e-8, rtol=0)
    np.testing.assert_allclose(new.q, old.q, rtol=1e-7)


def test_alpha_inf_meets_the_limit_theories():
    lam = np.array([0.1, 1.0])
    flip = finite.solve(np.inf, MU, lam, generator=sc.flip(0.3), verifier=sc.label_only(0.6, 0.5))
    np.testing.assert_allclose(flip.accuracy, theory.label_only.limit_accuracy(
        0.3, 0.6, 0.5, MU, lam), atol=1e-9)
    for loss in ("logistic", "square"):
        for tau in (0.0, 0.4):
            lv = finite.solve(np.inf, MU, lam, generator=sc.flip(0.35),
                              verifier=sc.linear_verifier(W_V, tau), loss=loss, outer=48,
                              nodes=96)
            ref = theory.linear_verifier.limit_accuracy(MU, W_V, 0.35, lam, tau=tau, loss=loss)
            # the quadrature's own error estimate bounds the difference
            qerr = np.max(lv.quadrature_error)
            assert qerr < 1e-6
            np.testing.assert_allclose(lv.accuracy, ref, atol=1e-8 + 3 * qerr)


def test_large_alpha_approaches_alpha_inf():
    out = finite.solve(np.array([256.0, 1024.0, 4096.0, np.inf]), MU, 0.05,
                       generator=sc.linear_generator(W_G), verifier=sc.linear_verifier(W_V, 0.2),
                       **SMALL)
    gaps = np.abs(out.accuracy[:3] - out.accuracy[3])
    # the gap closes like 1/alpha: each 4x step in alpha shrinks it about 4x
    assert np.all(np.diff(gaps) < 0)
    np.testing.assert_allclose(gaps[1:] / gaps[:-1], 0.25, rtol=0.15)


def test_only_the_gram_matrix_matters():
    rng = np.random.default_rng(0)
    rot, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    embed = lambda v: rot @ np.r_[v, 0.0, 0.0]  # noqa: E731
    kw = dict(loss="logistic", real_fraction=0.2, **SMALL)
    a = finite.solve(2.0, MU, 0.1, generator=sc.linear_generator(W_G, "sample"),
                     verifier=sc.top_r(0.4, W_V), **kw)
    b = finite.solve(2.0, embed(MU), 0.1,
                     generator=sc.linear_generator(embed(W_G), "sample"),
                     verifier=sc.top_r(0.4, 7.0 * embed(W_V)), **kw)
    np.testing.assert_allclose(a.accuracy, b.accuracy, atol=1e-9)
    np.testing.assert_allclose(a.q, b.q, rtol=1e-8)
    # a margin verifier: tau scales with w (y' x^T w > tau is the same rule)
    c = finite.solve(2.0, MU, 0.1, generator=sc.flip(0.2), verifier=sc.linear_verifier(W_V, 0.5),
                     **SMALL)
    d = finite.solve(2.0, MU, 0.1, generator=sc.flip(0.2),
                     verifier=sc.linear_verifier(1e3 * W_V, 500.0), **SMALL)
    np.testing.assert_allclose(c.accuracy, d.accuracy, atol=1e-10)


def test_verifier_parallel_to_mu_reduces_the_dimension():
    kw = SMALL
    full = finite.solve(2.0, MU, 0.1, generator=sc.linear_generator(W_G),
                        verifier=sc.linear_verifier(3.0 * MU, 0.3), **kw)
    two = finite.solve(2.0, MU[:2], 0.1, generator=sc.linear_generator(W_G[:2]),
                       verifier=sc.linear_verifier(3.0 * MU[:2], 0.3), **kw)
    np.testing.assert_allclose(full.accuracy, two.accuracy, atol=1e-10)
    # and with the flip generator the direction orthogonal to mu carries no signal: the overlap
    # of w_hat with mu is all there is along R
    flip = finite.solve(2.0, MU, 0.1, generator=sc.flip(0.2),
                        verifier=sc.linear_verifier(MU, 0.0), **kw)
    np.testing.assert_allclose(flip.overlap_v, flip.m, rtol=1e-10)


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_symmetry_reversed_rules_reverse_the_classifier(loss):
    kw = dict(loss=loss, **SMALL)
    alpha = np.array([0.7, 3.0])
    a = finite.solve(alpha, MU, 0.1, generator=sc.linear_generator(W_G),
                     verifier=sc.linear_verifier(W_V, 0.2), **kw)
    b = finite.solve(alpha, MU, 0.1, generator=sc.linear_generator(-W_G),
                     verifier=sc.linear_verifier(-W_V, 0.2), **kw)
    np.testing.assert_allclose(a.accuracy, 1.0 - b.accuracy, atol=1e-9)
    np.testing.assert_allclose(a.q, b.q, rtol=1e-7)
    # p -> 1 - p with phi = psi: at p = 1/2 the labels carry nothing, accuracy exactly 1/2
    half = finite.solve(alpha, MU, 0.1, generator=sc.flip(0.5), verifier=sc.label_only(0.7, 0.7),
                        loss=loss)
    np.testing.assert_allclose(half.accuracy, 0.5, atol=1e-12)


def _hebbian_accuracy_mc(generator, verifier, alpha, n=4_000_000, seed=0):
    """Phi(mu^T w / ||w||) of w = mean_i q_i y'_i x_i in the proportional limit, by Monte Carlo:
    its mean is E[q y' x], its noise K/alpha in the directions orthogonal to everything."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1.0, 1.0], n)
    x = y[:, None] * MU + rng.standard_normal((n, 3))
    yp = np.where(x @ generator.w >= 0, 1.0, -1.0)
    keep = yp * (x @ verifier.w) > verifier.tau
    mean = (keep[:, None] * yp[:, None] * x).mean(axis=0)
    k = keep.mean()
    return ndtr(MU @ mean / np.sqrt(mean @ mean + k / alpha))


@pytest.mark.parametrize("loss", ["logistic", "square"])
def test_large_lam_is_the_hebbian_rule(loss):
    gen, ver = sc.linear_generator(W_G), sc.linear_verifier(W_V, 0.3)
    alpha = np.array([0.5, 4.0])
    quad = dict(outer=12, nodes=32, quadrature_check=False)
    out = finite.solve(alpha, MU, 1e6, generator=gen, verifier=ver, loss=loss, **quad)
    expected = _hebbian_accuracy_mc(gen, ver, alpha)
    # Monte Carlo error of the mean vector at n = 4e6: ~5e-4 per coordinate, ~3e-4 in accuracy
    np.testing.assert_allclose(out.accuracy, expected, atol=1.5e-3)
    # the two losses agree there to O(1/lam)
    other = finite.solve(alpha, MU, 1e6, generator=gen, verifier=ver,
                         loss="square" if loss == "logistic" else "logistic", **quad)
    np.testing.assert_allclose(out.accuracy, other.accuracy, atol=1e-5)


def test_square_closed_form_is_the_fixed_point_of_the_map():
    """The square-loss linear solve against Newton on the general map with the square prox."""
    import jax
    import jax.numpy as jnp

    from theory import _general as gen_mod
    from theory import _scenario_solver as ss

    geo = sc.geometry(MU, sc.linear_generator(W_G, "sample"), sc.linear_verifier(W_V, 0.1))
    atoms = sc.atoms(geo, sc.linear_generator(W_G, "sample"), sc.linear_verifier(W_V, 0.1),
                     real_fraction=0.25, outer=8)
    alpha = np.array([0.6, 2.0, 9.0, np.inf])
    fields = gen_mod._fields_for(alpha, np.full(4, 0.05), [atoms] * 4, np.zeros(4, int))
    closed = gen_mod._square(fields)
    start = closed + np.array([0.3, 0.1, -0.1, 0.05, 0.2])
    with jax.enable_x64(True):
        out = ss.newton_solve(jnp.asarray(start), gen_mod._params(fields), loss="square",
                              nodes=16, tol=1e-12, max_iter=60, damping=0.5)
    assert np.all(np.asarray(out.converged))
    np.testing.assert_allclose(np.asarray(out.y)[:, 1:4], closed[:, 1:4], atol=1e-9)
    np.testing.assert_allclose(np.asarray(out.y)[:3, [0, 4]], closed[:3, [0, 4]], atol=1e-9)


def test_keep_rates_against_monte_carlo():
    gen, ver = sc.linear_generator(2 * W_G, "sample"), sc.linear_verifier(W_V, 0.3)
    p, phi, psi = sc.keep_rates(MU, gen, ver)
    rng = np.random.default_rng(1)
    n = 1_000_000
    y = rng.choice([-1.0, 1.0], n)
    x = y[:, None] * MU + rng.standard_normal((n, 3))
    yp = np.where(rng.random(n) < 1 / (1 + np.exp(-(x @ gen.w))), 1.0, -1.0)
    keep = yp * (x @ ver.w) > 0.3
    ok = yp == y
    se = 1 / np.sqrt(n * 0.1)  # the smallest class has >= 10 % of the draws
    assert abs(p - (1 - ok.mean())) < 5 / np.sqrt(n)
    assert abs(phi - keep[ok].mean()) < 4 * se
    assert abs(psi - keep[~ok].mean()) < 4 * se
    top = sc.top_r(0.35, W_V)
    tau = sc.threshold(sc.geometry(MU, gen, top), gen, top)
    assert abs((yp * (x @ W_V) > tau).mean() - 0.35) < 5 / np.sqrt(n)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["sign+top_r", "sample+label_only"])
def test_solve_matches_direct_simulation(case):
    if case == "sign+top_r":
        gen, ver, loss, rf = sc.linear_generator(W_G), sc.top_r(0.5, W_V), "logistic", 0.0
    else:
        gen, ver, loss, rf = sc.linear_generator(2 * W_G, "sample"), sc.label_only(0.9, 0.4), \
            "square", 0.2
    # quadrature error at these rules: below 1e-3 (0.3 se), measured against 40/128 points
    th = finite.solve(2.0, MU, 0.05, generator=gen, verifier=ver, loss=loss, real_fraction=rf,
                      outer=12, nodes=32, quadrature_check=False)
    sim = reference.simulate(2.0, MU, 0.05, generator=gen, verifier=ver, loss=loss,
                             real_fraction=rf, d=200, seeds=range(24))
    se = sim.accuracy.std(ddof=1) / np.sqrt(sim.accuracy.size)
    # 4 standard errors plus the O(1/d) finite-size term (measured below 0.002 at d = 200)
    assert abs(th.accuracy - sim.accuracy.mean()) < 4 * se + 0.002


def test_generations_follow_the_model_as_generator():
    """Generation 1 is solve with the initial generator; generation 2 is solve with a linear
    generator whose vectors have the Gram numbers of generation 1's model."""
    w0 = 1.5 * W_G
    kw = SMALL
    traj = finite.generations(2.0, MU, 0.1, initial=sc.linear_generator(w0, "sample"),
                              verifier=sc.linear_verifier(W_V, 0.0), generations=2,
                              labels="sample", outer=8, nodes=24)
    first = finite.solve(2.0, MU, 0.1, generator=sc.linear_generator(w0, "sample"),
                         verifier=sc.linear_verifier(W_V, 0.0), **kw)
    np.testing.assert_allclose(traj.accuracy[0], first.accuracy, atol=1e-10)
    # build w_1 in 4 dimensions: its overlaps with mu and w_v, the rest orthogonal to both
    m, q, ov = first.m, first.q, first.overlap_v
    e1 = MU / np.linalg.norm(MU)
    v = W_V - (W_V @ e1) * e1
    e2 = v / np.linalg.norm(v)
    c1 = m / np.linalg.norm(MU)
    c2 = (ov - c1 * (W_V @ e1)) / (W_V @ e2)
    rest = np.sqrt(q - c1**2 - c2**2)
    w1 = np.r_[c1 * e1 + c2 * e2, 0.0] + np.r_[0.0, 0.0, 0.0, rest]
    second = finite.solve(2.0, np.r_[MU, 0.0], 0.1, generator=sc.linear_generator(w1, "sample"),
                          verifier=sc.linear_verifier(np.r_[W_V, 0.0], 0.0), **kw)
    np.testing.assert_allclose(traj.accuracy[1], second.accuracy, atol=1e-9)


@pytest.mark.parametrize("kwargs, name", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=np.nan), "alpha"), (dict(lam=-1.0), "lam"),
    (dict(real_fraction=1.5), "real_fraction"), (dict(loss="hinge"), "loss"),
    (dict(nodes=3), "nodes"), (dict(tol=-1.0), "tol"), (dict(max_iter=0), "max_iter"),
    (dict(generator="flip"), "generator"), (dict(verifier=None), "verifier"),
    (dict(mu=np.ones(2)), "dimension"), (dict(alpha="2"), "alpha"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(alpha=2.0, mu=MU, lam=0.1, generator=sc.linear_generator(W_G),
                verifier=sc.linear_verifier(W_V))
    args.update(kwargs)
    alpha, mu, lam = args.pop("alpha"), args.pop("mu"), args.pop("lam")
    with pytest.raises(ValueError, match=name):
        finite.solve(alpha, mu, lam, **args)


@pytest.mark.parametrize("make, name", [
    (lambda: sc.flip(1.2), "p"), (lambda: sc.label_only(0, 0), "phi"),
    (lambda: sc.linear_generator([0.0, 0.0]), "w"), (lambda: sc.linear_generator(W_G, "x"),
                                                     "labels"),
    (lambda: sc.top_r(0.0, W_V), "rate"), (lambda: sc.linear_verifier(W_V, np.nan), "tau"),
    (lambda: sc.flip(True), "p"), (lambda: sc.linear_verifier([1j, 1.0]), "w"),
])
def test_scenario_objects_refuse_bad_values(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_parameters_keep_float64():
    """lam, real_fraction and the scenario's rates enter in float64 (validation converts
    through JAX, whose default is float32): the closed forms of both solvers agree to rounding."""
    alpha = np.array([0.7, 3.0, 20.0])
    new = finite.solve(alpha, MU, 0.05, generator=sc.flip(0.3), verifier=sc.label_only(0.9, 0.3),
                       loss="square", real_fraction=0.3, quadrature_check=False)
    old = finite.accuracy(alpha, 0.3, 0.9, 0.3, 1.0, 0.05, loss="square", real_fraction=0.3)
    np.testing.assert_allclose(new.q, old.q, rtol=1e-12)
    np.testing.assert_allclose(new.m, old.m, rtol=1e-12)


def test_quadrature_error_between_anchors_tracks_a_finer_rule():
    # logistic curves estimate the quadrature error at anchors (every 8th alpha) and carry the
    # larger bracketing estimate in between: at every point it must still account for the
    # change a doubled rule makes (first-order estimate: within a factor 2 plus rounding)
    alpha = np.geomspace(0.5, 64.0, 40)
    kw = dict(generator=sc.linear_generator(W_G), verifier=sc.linear_verifier(W_V, 0.3),
              outer=6)
    coarse = finite.solve(alpha, MU, 0.05, **kw)
    fine = finite.solve(alpha, MU, 0.05, **{**kw, "outer": 12}, quadrature_check=False)
    change = np.abs(fine.accuracy - coarse.accuracy)
    assert np.all(coarse.converged) and np.all(np.isfinite(coarse.quadrature_error))
    assert change.max() > 1e-7  # the coarse rule is coarse enough for the check to mean much
    assert np.all(change <= 2.0 * coarse.quadrature_error + 1e-9)
