"""The batched fitter against scikit-learn, closed forms and its own stated stopping rule.

Shapes are kept fixed across examples (n = 120, d = 6, V = 3) so one compilation serves a test.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulate.fit import DEFAULT_TOL, fit

from .helpers import objective_gradient, ridge_square, sk_logistic

N, D, V = 120, 6, 3


def _problem(seed, mu_norm, flip, keep_kind):
    """Shared x (N, D); labels and weights (V, N): flips, 0/1 or fractional keep weights."""
    rng = np.random.default_rng(seed)
    mu = np.zeros(D)
    mu[0] = mu_norm
    y = rng.choice([-1.0, 1.0], size=N)
    x = y[:, None] * mu + rng.standard_normal((N, D))
    labels = np.where(rng.random((V, N)) < flip, -y, y)
    if keep_kind == "binary":
        weights = (rng.random((V, N)) < 0.7).astype(float)
    elif keep_kind == "fractional":
        weights = rng.random((V, N)) * 2.0
    else:
        weights = np.ones((V, N))
    return x, labels, weights


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@settings(max_examples=8)
@given(
    seed=st.integers(0, 2**31 - 1),
    mu_norm=st.sampled_from([0.5, 1.5, 4.0]),  # 4.0: (nearly) separable training sets
    flip=st.sampled_from([0.0, 0.2]),
    keep_kind=st.sampled_from(["binary", "fractional", "ones"]),
    log_lam=st.floats(-3, 0),
)
def test_logistic_matches_sklearn(seed, mu_norm, flip, keep_kind, log_lam):
    x, labels, weights = _problem(seed, mu_norm, flip, keep_kind)
    lam = 10.0**log_lam
    res = fit(x, labels, weights, lam)
    assert res.w.shape == (V, D) and res.converged.shape == (V,)
    assert np.all(res.converged)
    for v in range(V):
        ref = sk_logistic(x, labels[v], weights[v], lam)
        assert _rel(res.w[v], ref) <= 1e-4


@settings(max_examples=5)
@given(seed=st.integers(0, 2**31 - 1), log_lam=st.floats(-4, 0))
def test_square_matches_closed_form(seed, log_lam):
    x, labels, weights = _problem(seed, 1.0, 0.2, "binary")
    lam = 10.0**log_lam
    res = fit(x, labels, weights, lam, loss="square")
    assert np.all(res.converged)
    for v in range(V):
        assert _rel(res.w[v], ridge_square(x, labels[v], weights[v], lam)) <= 1e-6


def test_converged_flag_matches_an_independent_gradient():
    """Where the fitter says converged, the NumPy gradient meets the stated rule
    max|grad F(w)| <= tol max|grad F(0)| (up to the rounding of a recomputation)."""
    x, labels, weights = _problem(1, 1.0, 0.2, "binary")
    lam = np.array([1e-3, 1e-2, 1e-1])
    res = fit(x, labels, weights, lam)
    for v in range(V):
        g = objective_gradient(x, labels[v], weights[v], lam[v], res.w[v], "logistic")
        g0 = objective_gradient(x, labels[v], weights[v], lam[v], np.zeros(D), "logistic")
        assert res.converged[v]
        assert np.max(np.abs(g)) <= DEFAULT_TOL * np.max(np.abs(g0)) * (1 + 1e-3) + 1e-15
        assert res.grad_ratio[v] <= DEFAULT_TOL


def test_reports_nonconvergence_without_garbage():
    x, labels, weights = _problem(2, 1.0, 0.2, "binary")
    res = fit(x, labels, weights, 1e-2, max_iter=2)
    assert not np.any(res.converged)
    assert np.all(np.isfinite(res.w)) and np.all(res.iterations == 2)
    # The iterate is still a descent from 0: its gradient ratio is below 1 but above tol.
    assert np.all((res.grad_ratio > DEFAULT_TOL) & (res.grad_ratio < 1))


def test_separable_data_and_tiny_lam_stay_finite():
    """Perfectly separable labels with lam = 1e-10: |w| grows like log(1/lam), no NaN; the fit
    either converges (then the independent gradient agrees) or says it did not."""
    rng = np.random.default_rng(3)
    y = rng.choice([-1.0, 1.0], size=N)
    x = y[:, None] * np.r_[3.0, np.zeros(D - 1)] + 0.3 * rng.standard_normal((N, D))
    x[:, 0] = y * (np.abs(x[:, 0]) + 0.5)  # every sample on its side: separable along e_1
    labels = np.stack([y] * V)
    lam = np.array([1e-10, 1e-8, 1e-6])
    for loss in ("logistic", "square"):
        res = fit(x, labels, None, lam, loss=loss, max_iter=300)
        assert np.all(np.isfinite(res.w))
        for v in np.flatnonzero(res.converged):
            g = objective_gradient(x, labels[v], np.ones(N), lam[v], res.w[v], loss)
            g0 = objective_gradient(x, labels[v], np.ones(N), lam[v], np.zeros(D), loss)
            assert np.max(np.abs(g)) <= 2 * DEFAULT_TOL * np.max(np.abs(g0))
    # The logistic fit points along the separating direction.
    res = fit(x, labels, None, lam, max_iter=300)
    assert np.all(res.w[:, 0] > 0)


def test_all_weights_zero_gives_zero():
    x, labels, _ = _problem(4, 1.0, 0.0, "ones")
    res = fit(x, labels, np.zeros((V, N)), 1e-2)
    assert np.all(res.converged) and np.all(res.w == 0)


def test_rows_reserved_past_n_rows_do_not_change_the_fit():
    """A data set growing inside a fixed array (n_rows of its rows so far, the rest weight 0,
    whatever their features) is fitted as the data set alone: same minimiser as scikit-learn's
    on the first n_rows rows, with the loss divided by n_rows, not by the array's rows."""
    x, labels, weights = _problem(21, 1.0, 0.2, "fractional")
    rng = np.random.default_rng(22)
    extra = 57
    x_big = np.concatenate([x, rng.standard_normal((extra, D)) * 3.0])
    labels_big = np.concatenate([labels, rng.choice([-1.0, 1.0], (V, extra))], axis=1)
    weights_big = np.concatenate([weights, np.zeros((V, extra))], axis=1)
    for loss in ("logistic", "square"):
        alone = fit(x, labels, weights, 1e-2, loss=loss)
        reserved = fit(x_big, labels_big, weights_big, 1e-2, loss=loss, n_rows=N)
        assert np.all(reserved.converged)
        # the same sums but for exact zeros: equal up to rounding
        np.testing.assert_allclose(reserved.w, alone.w, rtol=1e-7, atol=1e-10)
    for v in range(V):
        ref = sk_logistic(x, labels[v], weights[v], 1e-2)
        assert _rel(fit(x_big, labels_big, weights_big, 1e-2, n_rows=N).w[v], ref) <= 1e-4


@pytest.mark.parametrize("n_rows, message", [
    (0, "n_rows must be a positive integer"), (2.5, "n_rows must be a positive integer"),
    (N + 1, "more than the"), (N - 1, "past n_rows = 119 must have zero weight")])
def test_bad_n_rows_is_named(n_rows, message):
    x, labels, weights = _problem(23, 1.0, 0.2, "ones")
    with pytest.raises(ValueError, match=message):
        fit(x, labels, weights, 1e-2, n_rows=n_rows)


def test_group_batch_equals_shared_and_single_calls():
    """x (G, n, d) with labels (G, V, n) solves the same problems as one call per group and as
    one call per problem (up to rounding: different batch shapes)."""
    xs, ls, ws = zip(*[_problem(10 + g, 1.0, 0.2, "binary") for g in range(2)])
    x, labels, weights = np.stack(xs), np.stack(ls), np.stack(ws)
    batched = fit(x, labels, weights, 1e-2)
    assert batched.w.shape == (2, V, D)
    for g in range(2):
        shared = fit(x[g], labels[g], weights[g], 1e-2)
        np.testing.assert_allclose(batched.w[g], shared.w, rtol=1e-7, atol=1e-10)
        single = fit(x[g], labels[g, 1], weights[g, 1], 1e-2)
        assert single.w.shape == (D,)
        np.testing.assert_allclose(single.w, shared.w[1], rtol=1e-7, atol=1e-10)


def test_groups_solved_in_chunks_equal_groups_solved_together():
    """fit_shared's group_chunk (groups solved a few at a time, as fit does on a CPU when
    features are large) solves the same problems: each problem's iterates do not depend on the
    others', so only rounding of differently shaped products may differ."""
    from simulate.fit import fit_shared

    xs, ls, ws = zip(*[_problem(20 + g, 1.0, 0.2, "fractional") for g in range(4)])
    with jax.enable_x64(True):
        args = (jnp.asarray(np.stack(xs)), jnp.asarray(np.stack(ls)), jnp.asarray(np.stack(ws)),
                jnp.full((4, V), 1e-2))
        together = fit_shared(*args)
        for chunk in (1, 2):
            chunked = fit_shared(*args, group_chunk=chunk)
            np.testing.assert_allclose(chunked.w, together.w, rtol=1e-9, atol=1e-12)
            np.testing.assert_array_equal(chunked.iterations, together.iterations)
            assert bool(jnp.all(chunked.converged))
        with pytest.raises(ValueError, match="group_chunk"):
            fit_shared(*args, group_chunk=3)


@pytest.mark.parametrize("groups", [3, 4])
def test_fit_solving_chunks_one_program_each_matches_one_program(monkeypatch, groups):
    """On a CPU, fit solves large feature groups a few at a time, each chunk its own call on a
    padded slice; the results are those of all groups in one program (chunks of 1 and 2 here,
    3 groups leaving chunks of 1)."""
    fit_module = sys.modules["simulate.fit"]
    xs, ls, ws = zip(*[_problem(40 + g, 1.0, 0.2, "binary") for g in range(groups)])
    x, labels, weights = np.stack(xs), np.stack(ls), np.stack(ws)
    lam = np.linspace(1e-3, 1e-1, groups * V).reshape(groups, V)
    monkeypatch.setattr(fit_module, "CPU_CHUNK_BYTES", 10**12)
    together = fit(x, labels, weights, lam)
    monkeypatch.setattr(fit_module, "CPU_CHUNK_BYTES", 2 * x[0].nbytes)
    with jax.enable_x64(True):  # fit takes NumPy input in float64
        assert fit_module._group_chunk(jnp.asarray(x)) == (1 if groups == 3 else 2)
    chunked = fit(x, labels, weights, lam)
    np.testing.assert_allclose(chunked.w, together.w, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(chunked.iterations, together.iterations)
    assert chunked.converged.all()


def test_gradient_summed_over_row_blocks_matches_one_sum(monkeypatch):
    """One or a few problems on a CPU sum their gradient over row blocks (partial sums in
    parallel); the fits equal those of one sum over all rows, to rounding."""
    fit_module = sys.modules["simulate.fit"]
    rng = np.random.default_rng(5)
    n, d = 1100, 7  # padded to 1280 rows: 4 blocks of 320
    assert fit_module._row_blocks(fit_module.bucket(n, 256), 2) == 4
    y = rng.choice([-1.0, 1.0], n)
    x = y[:, None] * np.r_[1.0, np.zeros(d - 1)] + rng.standard_normal((n, d))
    labels = np.where(rng.random((2, n)) < 0.2, -y, y)
    weights = (rng.random((2, n)) < 0.8).astype(float)
    blocked = fit(x, labels, weights, [1e-2, 1e-3])
    monkeypatch.setattr(fit_module, "SPLIT_ROWS", False)
    single = fit(x, labels, weights, [1e-2, 1e-3])
    np.testing.assert_allclose(blocked.w, single.w, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(blocked.iterations, single.iterations)
    assert blocked.converged.all()


def test_cpu_compiler_options_change_speed_not_results():
    """fit's CPU program (compiled with _CPU_OPTIONS where XLA knows them) and the portable
    fit_shared agree to rounding."""
    fit_module = sys.modules["simulate.fit"]
    x, labels, weights = _problem(7, 1.0, 0.2, "fractional")
    with jax.enable_x64(True):
        args = (jnp.asarray(x)[None], jnp.asarray(labels)[None], jnp.asarray(weights)[None],
                jnp.full((1, V), 1e-2))
        portable = fit_module.fit_shared(*args)
        used = fit_module._solver(traced=False)(*args)
    np.testing.assert_allclose(used.w, portable.w, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(used.iterations, portable.iterations)


def test_large_finite_features_pass_the_check_and_nan_is_caught_in_jax_arrays():
    """The finiteness check sums first: an overflowing sum of finite entries must not be
    mistaken for a NaN, and a NaN in a JAX array must still be named."""
    from simulate._checks import check_finite

    big = np.full(4, 1e308)  # NumPy input is checked in float64, where this sum overflows
    np.testing.assert_array_equal(check_finite("x", big), big)
    assert check_finite("x", jnp.full(4, 3e38, jnp.float32)).shape == (4,)
    with pytest.raises(ValueError, match="x must be finite"):
        check_finite("x", jnp.asarray([1.0, jnp.nan, 2.0]))
    with pytest.raises(ValueError, match="x must be finite"):
        check_finite("x", jnp.asarray([jnp.inf, -jnp.inf]))


@pytest.mark.parametrize("as_jax", [False, True])
@pytest.mark.parametrize(
    "field, bad, message",
    [
        ("x", (3, 1, np.nan), "x must be finite"),
        ("x", (0, 0, -np.inf), "x must be finite"),
        ("labels", (1, 4, 0.5), "labels must be -1 or \\+1; got 0.5"),
        ("labels", (0, 2, np.nan), "labels must be finite"),
        ("weights", (2, 7, -0.25), "weights must be >= 0; got -0.25"),
        ("weights", (0, 1, np.inf), "weights must be finite"),
        ("lam", (1,), "lam must be >= 0"),
        ("lam", (2,), "lam must be finite"),
    ],
)
def test_each_bad_input_array_is_named(field, bad, message, as_jax):
    """JAX inputs are checked in one compiled pass; a failure there is then traced to the input
    that caused it, with the same message as for NumPy inputs."""
    x, labels, weights = _problem(31, 1.0, 0.2, "fractional")
    args = {"x": x.copy(), "labels": labels.copy(), "weights": weights.copy(),
            "lam": np.full(V, 1e-2)}
    if field == "lam":
        args["lam"][bad[0]] = -1.0 if bad[0] == 1 else np.nan
    else:
        args[field][bad[0], bad[1]] = bad[2]
    with jax.enable_x64(True):
        if as_jax:
            args = {k: jnp.asarray(v) for k, v in args.items()}
        with pytest.raises(ValueError, match=message):
            fit(args["x"], args["labels"], args["weights"], args["lam"])


def test_lam_that_does_not_broadcast_is_named():
    x, labels, weights = _problem(32, 1.0, 0.2, "ones")
    with pytest.raises(ValueError, match=r"lam of shape \(4,\) does not broadcast to \(3,\)"):
        fit(x, labels, weights, np.full(V + 1, 1e-2))


def test_jax_path_is_jittable_and_matches_numpy_path():
    x, labels, weights = _problem(5, 1.0, 0.2, "binary")
    ref = fit(x, labels, weights, 1e-2)
    with jax.enable_x64(True):
        jitted = jax.jit(lambda a, b, c: fit(a, b, c, 1e-2).w)
        w = jitted(jnp.asarray(x), jnp.asarray(labels), jnp.asarray(weights))
        assert w.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(w), ref.w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"lam": -1.0}, "lam"),
        ({"lam": np.nan}, "lam"),
        ({"loss": "hinge"}, "loss"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1e-3}, "tol"),
    ],
)
def test_bad_settings_name_the_parameter(kwargs, name):
    x, labels, weights = _problem(6, 1.0, 0.2, "binary")
    with pytest.raises(ValueError, match=name):
        fit(x, labels, weights, **{"lam": 1e-2, **kwargs})


def test_bad_arrays_name_the_parameter():
    x, labels, weights = _problem(7, 1.0, 0.2, "binary")
    bad_x = x.copy()
    bad_x[0, 0] = np.nan
    with pytest.raises(ValueError, match="x"):
        fit(bad_x, labels, weights, 1e-2)
    with pytest.raises(ValueError, match="labels"):
        fit(x, labels * 0.5, weights, 1e-2)
    with pytest.raises(ValueError, match="labels"):
        fit(x, labels[:, :-1], weights[:, :-1], 1e-2)
    with pytest.raises(ValueError, match="weights"):
        fit(x, labels, -weights, 1e-2)
    with pytest.raises(ValueError, match="weights"):
        fit(x, labels, weights[:1], 1e-2)
    with pytest.raises(ValueError, match="x"):
        fit(x[:, :0], labels, weights, 1e-2)


def test_one_problem_per_group_matches_sklearn():
    """Groups of one problem each (x (G, n, d), labels (G, n)) run unpadded along the problem
    axis; each must still be scikit-learn's fit to the package's stated 1e-4."""
    groups = [_problem(s, 1.5, 0.2, "binary") for s in (3, 4)]
    x = np.stack([g[0] for g in groups])
    labels = np.stack([g[1][0] for g in groups])
    weights = np.stack([g[2][0] for g in groups])
    res = fit(x, labels, weights, 1e-2)
    assert res.w.shape == (2, D) and np.all(res.converged)
    for i in range(2):
        assert _rel(res.w[i], sk_logistic(x[i], labels[i], weights[i], 1e-2)) <= 1e-4


# The solver's two building blocks against plain NumPy float64 versions of their definitions.


def _numpy_two_loop(grad, pairs):
    """Nocedal and Wright, Algorithm 7.4: -H grad from (s, y) pairs, oldest first."""
    q = grad.copy()
    alphas = []
    for s, y in reversed(pairs):
        a = (s @ q) / (s @ y)
        alphas.append(a)
        q -= a * y
    s, y = pairs[-1]
    r = (s @ y) / (y @ y) * q
    for (s, y), a in zip(pairs, reversed(alphas)):
        r += (a - (y @ r) / (s @ y)) * s
    return -r


@pytest.mark.parametrize("written", [1, 3, 5, 8, 13])
def test_lbfgs_direction_is_the_two_loop_recursion_over_the_written_pairs(written):
    from simulate.fit import _two_loop

    rng = np.random.default_rng(written)
    memory, d, v = 5, 7, 3
    hessians = [(a @ a.T + np.eye(d)) for a in rng.standard_normal((v, d, d))]
    s_hist, y_hist, rho = np.zeros((memory, 1, d, v)), np.zeros((memory, 1, d, v)), \
        np.zeros((memory, 1, 1, v))
    pairs = [[] for _ in range(v)]
    for k in range(written):  # the solver's circular buffer: pair k goes to slot k % memory
        for j in range(v):
            s = rng.standard_normal(d)
            y = hessians[j] @ s
            s_hist[k % memory, 0, :, j], y_hist[k % memory, 0, :, j] = s, y
            rho[k % memory, 0, 0, j] = 1.0 / (s @ y)
            pairs[j] = (pairs[j] + [(s, y)])[-memory:]
    grad = rng.standard_normal((1, d, v))
    with jax.enable_x64(True):
        got = np.asarray(_two_loop(*map(jnp.asarray, (grad, s_hist, y_hist, rho)),
                                   (written - 1) % memory, min(written, memory)))
    for j in range(v):
        np.testing.assert_allclose(got[0, :, j], _numpy_two_loop(grad[0, :, j], pairs[j]),
                                   rtol=1e-12, atol=1e-12)


def _logistic_slope(wq, margin, dmargin, lam, wp, pp, t):
    """phi'(t) of the line search: sum_i wq_i dm_i l'(m_i + t dm_i) + lam (w.p + t p.p)."""
    l1 = -1.0 / (1.0 + np.exp(margin + t * dmargin))
    return np.sum(wq * dmargin * l1, axis=-2, keepdims=True) + lam * (wp + t * pp), l1


def test_line_search_settles_each_problem_and_returns_l1_at_its_step():
    from simulate.fit import _LINE_SEARCH_RTOL, _line_search

    rng = np.random.default_rng(0)
    n, v = 60, 8
    margin = rng.normal(0.0, 3.0, (1, n, v))
    # Directions from gentle to steep: along a steep one the Newton step from t = 0 (a
    # quadratic model) is far off, so the search needs more trials.
    dmargin = rng.standard_normal((1, n, v)) * np.geomspace(0.05, 2000.0, v)
    wq = rng.random((1, n, v)) / n
    wq[0, :5] = 0.0  # rows not kept
    signs = rng.choice([-1.0, 1.0], (1, n, v))
    lam, wp, pp = np.full((1, 1, v), 1e-2), np.zeros((1, 1, v)), np.ones((1, 1, v))
    slope0, l1 = _logistic_slope(wq, margin, dmargin, lam, wp, pp, 0.0)
    dmargin *= -np.sign(slope0)  # descent directions
    slope0, l1 = _logistic_slope(wq, margin, dmargin, lam, wp, pp, 0.0)
    active = np.ones((1, 1, v), bool)
    active[..., 2] = False
    with jax.enable_x64(True):
        t, r = (np.asarray(a) for a in _line_search("logistic", *map(jnp.asarray, (
            margin, dmargin, wq * signs * l1, wq, signs, wp, pp, lam, slope0, active))))
    slope, l1_at_t = _logistic_slope(wq, margin, dmargin, lam, wp, pp, t)
    np.testing.assert_allclose(r, wq * signs * l1_at_t, rtol=1e-12, atol=1e-300)
    assert t[..., 2] == 0  # inactive: no step (and r there, checked above)
    on = active[0, 0]
    assert np.all(t[0, 0, on] > 0)
    assert np.all(np.abs(slope[0, 0, on]) <= _LINE_SEARCH_RTOL * np.abs(slope0[0, 0, on])
                  * (1 + 1e-9))
    # The test covers the loop: the Newton step from 0 does not settle every problem.
    curv0 = np.sum(wq * dmargin**2 * -l1 * (1 + l1), axis=-2, keepdims=True) + lam * pp
    first, _ = _logistic_slope(wq, margin, dmargin, lam, wp, pp, -slope0 / curv0)
    assert np.any(np.abs(first) > _LINE_SEARCH_RTOL * np.abs(slope0))
