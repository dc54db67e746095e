"""Batched ridge fits of the downstream classifier (docs/theory.md, section 'Model and notation').

Each problem ``v`` minimises

    F_v(w) = (1/n) sum_i q_vi l(s_vi x_i^T w) + (lam_v / 2) ||w||^2,                      (*)

with labels ``s`` in {-1, +1}, keep weights ``q >= 0``, ``n`` the number of candidate rows (kept
or not) and ``l(m) = log(1 + e^-m)`` (logistic) or ``l(m) = (1 - m)^2 / 2`` (square). This is
scikit-learn's ``LogisticRegression(C=1/(lam n), fit_intercept=False)`` with ``sample_weight=q``.

Problems come in groups that share their features ``x`` (common random numbers: one draw of
``x`` per seed serves every label and keep vector), so one pass over ``x`` serves the whole group
as a matrix product: ``(V, d) @ (d, n)``. Groups are solved in one batched loop; on a CPU,
groups whose features would not fit in cache together are solved a few at a time.

Solver: L-BFGS (memory ``memory``) in one ``lax.while_loop``. The line search is exact along
the search direction and costs no extra pass over ``x``: with the margins ``m = s x^T w`` and
their directional change ``dm = s x^T p`` in hand, ``phi(t) = F(w + t p)`` and its first two
derivatives are O(n) sums, minimised by safeguarded Newton. One outer iteration thus costs two
passes over ``x`` (``x p`` and the gradient ``x^T r``) for all problems of a group.

Stopping rule (the stated tolerance): ``max_j |grad F_v(w)_j| <= tol * max_j |grad F_v(0)_j|``.
A problem that has not met it after ``max_iter`` iterations, or whose iterate stopped being
finite, reports ``converged = False`` (its ``w`` is the last finite iterate). With ``lam > 0``
the objective is strongly convex, so separable data and tiny ``lam`` only cost iterations; the
loss and its derivatives are evaluated in overflow-free forms, so no NaN arises.

Compiled programs are reused across sizes: ``fit`` pads the rows ``n`` and the problems ``V``
up to the next step of a ladder (``bucket``: at least 256 rows and 1 problem, then four
steps per doubling, so at most 25 % more work past those floors) with zero features and zero keep weights, and divides
by the true ``n``. Padded rows and problems add exact zeros to every sum, so the objective is
the same; only the order of floating-point additions in the matrix products may differ, by a
few units in the last place. A sweep over ``n`` thus compiles once per ladder step.

Precision: the arithmetic runs in the dtype of ``x``. ``fit`` called with NumPy arrays runs in
float64 (JAX's x64 mode, enabled for the call) and returns NumPy arrays; called with JAX arrays it
is traced as is (jit/vmap-able, e.g. float32 on an accelerator).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    as_array,
    check_choice,
    check_finite,
    check_nonnegative,
    check_positive_int,
    numpy_or_jax,
)

__all__ = ["FitResult", "fit", "fit_shared", "LOSSES", "DEFAULT_TOL", "DEFAULT_MAX_ITER"]

LOSSES = ("logistic", "square")
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 1000
DEFAULT_MEMORY = 10
_LINE_SEARCH_STEPS = 30
_LINE_SEARCH_RTOL = 0.1  # |phi'(t)| <= this * |phi'(0)|: a near-exact line search


class FitResult(NamedTuple):
    """Solutions of a batch of problems (*); leading shape ``B`` = the problems' batch shape."""

    w: jax.Array  # (*B, d) minimisers (last finite iterate where not converged)
    converged: jax.Array  # (*B,) bool: the gradient tolerance was met
    iterations: jax.Array  # (*B,) int: L-BFGS iterations used
    grad_ratio: jax.Array  # (*B,) max|grad F(w)| / max|grad F(0)| at the returned w


def _loss_derivatives(loss, m):
    """(l'(m), l''(m)) elementwise, without overflow for any finite m (exp(m) = inf gives 0)."""
    if loss == "logistic":
        # l' = -sigmoid(-m) written as one expression, so that l' itself (not sigmoid, then a
        # negation) is what a pass materialises.
        l1 = -1.0 / (1.0 + jnp.exp(m))
        return l1, _curvature_from_slope(loss, l1)
    return m - 1.0, jnp.ones_like(m)


def _weighted_curvature(loss, r, wq, signs):
    """wq l''(m) from r = wq s l'(m) (s = +-1, the label): wq l' = s r and, for the logistic
    loss, l'' = -l'(1 + l'). Rows with wq = 0 give 0."""
    if loss != "logistic":
        return wq
    wq_l1 = signs * r
    return jnp.where(wq > 0, -wq_l1 * (1.0 + wq_l1 / jnp.where(wq > 0, wq, 1.0)), 0.0)


def _curvature_from_slope(loss, l1):
    """l''(m) from l'(m): for the logistic loss l' = -s and l'' = s (1 - s) with s = sigmoid(-m).
    (It loses relative precision only where l'' < 1e-16: negligible in any sum.)"""
    return -l1 * (1.0 + l1) if loss == "logistic" else jnp.ones_like(l1)


def _colsum(a, axis=-2):
    """Per-problem sums: problem arrays are (G, n or d, V); keeps the reduced axis."""
    return jnp.sum(a, axis=axis, keepdims=True)


def _two_loop(grad, s_hist, y_hist, rho, newest, filled):
    """L-BFGS direction -H grad for every problem (column v = problem v). grad (d, V);
    histories (memory, d, V), a circular buffer whose newest slot is ``newest`` and whose
    ``filled`` newest slots have been written; skipped slots have rho = 0 and contribute
    nothing. The loops visit only the written slots (before the buffer first fills, the rest
    would contribute exact zeros: a third of the loops' steps in a 16-iteration fit).

    Both loops are rolled (``fori_loop``): unrolled, their 2 x memory steps made up most of the
    program and compiling it took 1.7x as long (2.3 s against 1.3 s), for the same run time."""
    m = s_hist.shape[0]
    take = lambda a, j: jax.lax.dynamic_index_in_dim(a, j, axis=0, keepdims=False)

    def newest_first(i, state):
        q, alphas = state
        j = (newest - i) % m
        a = take(rho, j) * _colsum(take(s_hist, j) * q, axis=-2)
        return q - a * take(y_hist, j), jax.lax.dynamic_update_index_in_dim(alphas, a, j, 0)

    q, alphas = jax.lax.fori_loop(0, filled, newest_first, (grad, jnp.zeros_like(rho)))
    s0, y0, r0 = take(s_hist, newest), take(y_hist, newest), take(rho, newest)
    sy = _colsum(s0 * y0, axis=-2)
    yy = _colsum(y0 * y0, axis=-2)
    gamma = jnp.where(r0 > 0, sy / jnp.where(yy > 0, yy, 1.0), 1.0)

    def oldest_first(i, r):
        j = (newest + 1 + i) % m
        b = take(rho, j) * _colsum(take(y_hist, j) * r, axis=-2)
        return r + (take(alphas, j) - b) * take(s_hist, j)

    return -jax.lax.fori_loop(m - filled, m, oldest_first, gamma * q)


def _line_search(loss, margin, dmargin, r, wq, signs, wp, pp, lam, slope0, active):
    """Step t > 0 minimising phi(t) = F(w + t p) for every problem, by safeguarded Newton.

    phi'(t) = sum_i wq_i dm_i l'(m_i + t dm_i) + lam (w.p + t p.p), phi'' likewise with l''.
    margin, dmargin, wq, signs (the labels s) and r = wq s l'(margin): (G, n, V); wp, pp, lam,
    slope0 = phi'(0) < 0 for active problems: (G, 1, V). The first trial is the Newton step from
    t = 0 (its curvature comes from r: no transcendental), so one evaluation usually settles it.
    Keeps a bracket [lo, hi] around the root of phi' (phi is convex in t) and bisects when Newton
    leaves it. Returns (t, wq s l'(margin + t dmargin)), the next r; t = 0 where inactive.

    The first trial costs one pass that computes l' and phi'; phi'' there, l' at later trials
    and l' at the accepted step are computed only when some problem needs a second trial. r is
    both what the gradient's product takes and what the next curvature needs, so it is the one
    array written per iteration. (Each pass over the (G, n, V) margins costs about a tenth of a
    pass over x on the M workload of benchmarks/bench_fit.py, and an exponential per margin as
    much again.)
    """
    target = _LINE_SEARCH_RTOL * jnp.abs(slope0)
    wq_dm, coef = wq * dmargin, wq * signs
    curv0 = _colsum(dmargin * dmargin * _weighted_curvature(loss, r, wq, signs)) + lam * pp
    first_try = -slope0 / jnp.where(curv0 > 0, curv0, 1.0)
    t0 = jnp.where((curv0 > 0) & jnp.isfinite(first_try) & (first_try > 0), first_try, 1.0)
    t0 = jnp.where(active, t0, 0.0)  # inactive problems stay where they are

    def slope_at(t, d1):
        return _colsum(wq_dm * d1) + lam * (wp + t * pp)

    def curvature_at(d2):
        return _colsum(wq_dm * dmargin * d2) + lam * pp

    def update(t, lo, hi, done, first, second):
        settled = ~done & (jnp.abs(first) <= target)
        lo = jnp.where(~done & ~settled & (first < 0), t, lo)
        hi = jnp.where(~done & ~settled & (first > 0), t, hi)
        done = done | settled
        newton = t - first / jnp.where(second > 0, second, 1.0)
        inside = (second > 0) & (newton > lo) & (newton < hi) & jnp.isfinite(newton)
        fallback = jnp.where(jnp.isfinite(hi), 0.5 * (lo + hi), 2.0 * t)
        t = jnp.where(done, t, jnp.where(inside, newton, fallback))
        return t, lo, hi, done

    def cond(state):
        return (state[4] < _LINE_SEARCH_STEPS) & jnp.any(~state[3])

    def body(state):
        t = state[0]
        d1, d2 = _loss_derivatives(loss, margin + t * dmargin)
        return (*update(*state[:4], slope_at(t, d1), curvature_at(d2)), state[4] + 1)

    l1_first = _loss_derivatives(loss, margin + t0 * dmargin)[0]
    first0 = slope_at(t0, l1_first)

    def search_on(_):
        second0 = curvature_at(_curvature_from_slope(loss, l1_first))
        zeros = jnp.zeros_like(slope0)
        state = (*update(t0, zeros, zeros + jnp.inf, ~active, first0, second0), 1)
        t, lo, _, done, _ = jax.lax.while_loop(cond, body, state)
        # Not settled within the step budget: fall back to lo, where phi' < 0 (phi(lo) < phi(0)).
        t = jnp.where(active & done, t, jnp.where(active, lo, 0.0))
        return t, coef * _loss_derivatives(loss, margin + t * dmargin)[0]

    settled = ~active | (jnp.abs(first0) <= target)
    return jax.lax.cond(jnp.all(settled), lambda _: (t0, coef * l1_first), search_on, None)


def _x_transpose_r(x, r, blocks=1):
    """x^T r per group in (V, d) order: x (G, n, d), r (G, n, V) -> (G, V, d), the sum over
    rows taken as ``blocks`` partial sums over row blocks (``_row_blocks``)."""
    if blocks == 1:  # (a reshape of x here would cost XLA a copy of x per call)
        return jnp.einsum("gnd,gnv->gvd", x, r)
    g, n, d = x.shape
    rows = n // blocks
    return jnp.einsum("gknd,gknv->gkvd", x.reshape(g, blocks, rows, d),
                      r.reshape(g, blocks, rows, r.shape[-1])).sum(axis=1)


def _fit_groups(x, labels, weights, lam, n_rows, *, loss, tol, max_iter, memory, split_rows):
    """Solve G x V problems (*); the V problems of group g share x[g]. x (G, n, d); labels,
    weights (G, V, n); lam (G, V).

    Internally problems are columns: w (G, d, V), margins (G, n, V), so that both passes are
    plain batched matrix products, x @ P: (n, d) @ (d, V) and x^T @ R: (d, n) @ (n, V) per group
    (x is never transposed in memory). Per-problem scalars are (G, 1, V); reductions run over
    axis -2. ``n_rows`` is the n of (*): rows past it are padding, with zero weight.
    """
    g, n, d = x.shape
    v = labels.shape[1]
    dtype = x.dtype
    signs = jnp.swapaxes(labels, 1, 2)  # (G, n, V)
    wq = jnp.swapaxes(weights, 1, 2) / n_rows
    coef = wq * signs  # gradient = x^T (coef * l'(margin)) + lam w
    lam = lam[:, None, :]

    blocks = _row_blocks(n, v) if split_rows else 1

    def gradient(r, w):
        # Contract over n on x as stored: a transposed copy of x would cost one more pass
        # (and its memory) per call.
        # (V, d) output order: XLA's CPU dot runs this contraction 1.7x faster than into (d, V).
        # The barrier keeps XLA from folding the swap into the product, which it would then
        # write in the slow (d, V) order after all (M of benchmarks/bench_fit.py: 1.2 ms
        # against 0.5 ms a pass).
        grad_vd = _x_transpose_r(x, r, blocks)
        return jnp.swapaxes(jax.lax.optimization_barrier(grad_vd), 1, 2) + lam * w

    w0 = jnp.zeros((g, d, v), dtype)
    m0 = jnp.zeros((g, n, v), dtype)
    l1_0, _ = _loss_derivatives(loss, m0)
    r0 = coef * l1_0
    g0 = gradient(r0, w0)
    g0_max = jnp.max(jnp.abs(g0), axis=-2, keepdims=True)
    threshold = tol * g0_max

    class State(NamedTuple):
        w: jax.Array  # (G, d, V)
        margin: jax.Array  # s x^T w, (G, n, V)
        r: jax.Array  # coef l'(margin), (G, n, V): what the gradient's product takes
        grad: jax.Array  # (G, d, V)
        g_max: jax.Array  # (G, 1, V)
        s_hist: jax.Array  # (memory, G, d, V), newest first
        y_hist: jax.Array
        rho: jax.Array  # (memory, G, 1, V)
        done: jax.Array
        failed: jax.Array
        iterations: jax.Array
        k: jax.Array

    def cond(st):
        return (st.k < max_iter) & jnp.any(~st.done)

    def body(st):
        active = ~st.done
        p = _two_loop(st.grad, st.s_hist, st.y_hist, st.rho, (st.k - 1) % memory,
                      jnp.minimum(st.k, memory))
        slope = _colsum(st.grad * p, axis=-2)
        # Rounding can spoil the quasi-Newton direction: fall back to steepest descent.
        bad = ~(slope < 0)
        p = jnp.where(bad, -st.grad, p)
        slope = jnp.where(bad, -_colsum(st.grad * st.grad, axis=-2), slope)
        active = active & (slope < 0)
        dmargin = signs * (x @ p)  # pass 1 over x
        t, r_new = _line_search(
            loss, st.margin, dmargin, st.r, wq, signs, _colsum(st.w * p, axis=-2),
            _colsum(p * p, axis=-2), lam, slope, active,
        )
        step = t * p
        w_new = st.w + step
        margin_new = st.margin + t * dmargin
        grad_new = gradient(r_new, w_new)  # pass 2 over x
        finite = jnp.all(jnp.isfinite(w_new), axis=-2, keepdims=True) & jnp.all(
            jnp.isfinite(grad_new), axis=-2, keepdims=True)
        move = active & finite
        y = grad_new - st.grad
        sy = _colsum(step * y, axis=-2)
        # Curvature pairs only when s.y > 0 (always with lam > 0 and an exact line search).
        take_pair = move & (sy > 1e-300)

        slot = st.k % memory

        def push(hist, new):
            # Circular buffer: overwrite the oldest slot in place. A problem that takes no
            # pair this iteration writes rho = 0 there, so the slot contributes nothing.
            return jax.lax.dynamic_update_index_in_dim(hist, new, slot, axis=0)

        rho_new = jnp.where(take_pair, 1.0 / jnp.where(take_pair, sy, 1.0), 0.0)
        g_max = jnp.where(move, jnp.max(jnp.abs(grad_new), axis=-2, keepdims=True), st.g_max)
        failed = st.failed | (active & ~finite)
        done = st.done | failed | (g_max <= threshold) | (active & (t <= 0))
        return State(
            # Inactive problems have t = 0, so their margins and l' are unchanged exactly; a
            # non-finite step marks the problem failed and keeps its last finite w.
            w=jnp.where(move, w_new, st.w),
            margin=margin_new,
            r=r_new,
            grad=jnp.where(move, grad_new, st.grad),
            g_max=g_max,
            s_hist=push(st.s_hist, jnp.where(take_pair, step, 0.0)),
            y_hist=push(st.y_hist, jnp.where(take_pair, y, 0.0)),
            rho=push(st.rho, rho_new),
            done=done,
            failed=failed,
            iterations=st.iterations + active.astype(jnp.int32),
            k=st.k + 1,
        )

    hist = jnp.zeros((memory, g, d, v), dtype)
    start = State(
        w=w0,
        margin=m0,
        r=r0,
        grad=g0,
        g_max=g0_max,
        s_hist=hist,
        y_hist=hist,
        rho=jnp.zeros((memory, g, 1, v), dtype),
        done=g0_max <= threshold,
        failed=jnp.zeros((g, 1, v), bool),
        iterations=jnp.zeros((g, 1, v), jnp.int32),
        k=jnp.asarray(0, jnp.int32),
    )
    st = jax.lax.while_loop(cond, body, start)
    converged = (st.g_max <= threshold) & ~st.failed
    ratio = st.g_max / jnp.where(g0_max > 0, g0_max, 1.0)
    return FitResult(
        jnp.swapaxes(st.w, 1, 2), converged[:, 0], st.iterations[:, 0], ratio[:, 0]
    )


def _fit_shared(x, labels, weights, lam, *, loss="logistic", tol=DEFAULT_TOL,
                max_iter=DEFAULT_MAX_ITER, memory=DEFAULT_MEMORY, group_chunk=None, n_rows=None,
                split_rows=False):
    """Jitted core of ``fit`` without input checks: G groups of V problems sharing features.

    x (G, n, d); labels, weights (G, V, n); lam (G, V). Returns a ``FitResult`` with w (G, V, d)
    and the rest (G, V). ``group_chunk`` groups (a divisor of G; None: all) run in one L-BFGS
    loop, each pass over the features one batched matrix product per group; chunks run one
    after another (``lax.map``). ``n_rows``: the n that divides the loss (default the rows of
    ``x``; fewer when the last rows are zero-weight padding). It is traced, not static, so one
    program serves every n of a padded size. ``split_rows``: the gradient's sum over rows in
    blocks (``_row_blocks``), which a CPU runs faster for one or a few problems.
    """
    g = x.shape[0]
    n_rows = jnp.asarray(x.shape[1] if n_rows is None else n_rows, x.dtype)
    chunk = g if group_chunk is None else group_chunk
    if g % chunk:
        raise ValueError(f"group_chunk {chunk} does not divide the {g} groups")
    solve = functools.partial(_fit_groups, loss=loss, tol=tol, max_iter=max_iter,
                              memory=memory, split_rows=split_rows)
    if chunk == g:
        return solve(x, labels, weights, lam, n_rows)
    split = lambda a: a.reshape(g // chunk, chunk, *a.shape[1:])  # noqa: E731
    res = jax.lax.map(lambda args: solve(*args, n_rows),
                      tuple(map(split, (x, labels, weights, lam))))
    return FitResult(*(a.reshape(g, *a.shape[2:]) for a in res))


_STATIC = ("loss", "memory", "group_chunk", "split_rows")
fit_shared = jax.jit(_fit_shared, static_argnames=_STATIC)

# XLA's CPU backend hands the fit's O(n) sums (line search, curvature) to YNNPACK, which spends
# about 35 us on a 5000-element sum that its own loops do in 3 (thread dispatch), a sixth of
# the L workload's time in benchmarks/bench_fit.py. Its matrix products stay with YNNPACK.
_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}
_fit_shared_cpu = jax.jit(_fit_shared, static_argnames=_STATIC, compiler_options=_CPU_OPTIONS)


@functools.cache
def _cpu_options_known() -> bool:
    """Whether this jaxlib's XLA knows ``_CPU_OPTIONS`` (jax 0.8.0's does not)."""
    try:
        jax.jit(lambda a: a + 1, compiler_options=_CPU_OPTIONS).lower(1.0).compile()
    except Exception:  # noqa: BLE001  (XLA raises its own error type for an unknown option)
        return False
    return True


def _solver(traced: bool):
    """``fit_shared``, compiled with ``_CPU_OPTIONS`` on a CPU-only JAX whose XLA knows them
    (not inside a caller's jit: XLA takes options only from the outermost program)."""
    if not traced and jax.default_backend() == "cpu" and _cpu_options_known():
        return _fit_shared_cpu
    return fit_shared


# On a CPU a pass over features that stay in cache is several times faster than one that
# streams from memory, so large independent groups are solved a few at a time (the L workload
# of benchmarks/bench_fit.py: 0.32 -> 0.25 s). Accelerators take every group at once.
CPU_CHUNK_BYTES = 8 * 2**20


# Padding (module docstring); tests switch it off to compare.
PAD = True
# The gradient's sum over rows in blocks on a CPU (_row_blocks); off, to compare.
SPLIT_ROWS = True
# Floors: one program serves every size below them. Padding problems turns a pass with few
# columns into a wider matrix product (1 -> 32 problems: 7.3x slower on benchmarks/bench_fit.py's
# L; 16 -> 32: 1.5x on M), and padding rows 500 -> 1024 cost 1.7x on S, so both floors are low.
_MIN_ROWS = 256
_MIN_PROBLEMS = 1


def bucket(size: int, least: int = 1) -> int:
    """The smallest step of the ladder ``least``, then 1..8 and ``{5, 6, 7, 8} * 2**k`` that
    holds ``size``."""
    if size <= max(least, 8):
        return max(least, size)
    k = size.bit_length() - 3  # 4 * 2**k <= size < 8 * 2**k
    return max(least, -(-size // 2**k) * 2**k)


def _pad(xg, labels, weights, lam):
    """Rows and problems padded to their ladder steps (zero features, labels +1, weights 0)."""
    _, n, _ = xg.shape
    v = labels.shape[1]
    rows = bucket(n, _MIN_ROWS) - n
    problems = bucket(v, _MIN_PROBLEMS) - v
    if not PAD or (rows == 0 and problems == 0):
        return xg, labels, weights, lam
    return _padded(xg, labels, weights, lam, rows, problems)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _padded(xg, labels, weights, lam, rows, problems):
    # One compiled call: four padding operations dispatched one by one cost 3 ms of a 40 ms fit.
    xg = jnp.pad(xg, ((0, 0), (0, rows), (0, 0)))
    labels = jnp.pad(labels, ((0, 0), (0, problems), (0, rows)), constant_values=1)
    weights = jnp.pad(weights, ((0, 0), (0, problems), (0, rows)))
    lam = jnp.pad(lam, ((0, 0), (0, problems)), constant_values=1)
    return xg, labels, weights, lam


@functools.partial(jax.jit, static_argnames=("size", "pad"))
def _sliced_padded(args, start, size, pad):
    """Groups ``start .. start + size`` of (x, labels, weights, lam), padded as ``_pad`` does
    (``pad``: the module's PAD); XLA makes the slice and the padding one copy."""
    sliced = tuple(jax.lax.dynamic_slice_in_dim(a, start, size) for a in args)
    return _pad(*sliced) if pad else sliced


def _row_blocks(n: int, problems: int) -> int:
    """Blocks of at least 256 rows (at most 16) that the gradient's sum over rows is split into,
    for a few problems (a matrix-vector product): XLA's CPU dot runs the blocks' partial sums in
    parallel, 1.5x faster than one long sum (L of benchmarks/bench_fit.py: 200 -> 173 ms). With
    more problems the product is a matrix product that XLA parallelises itself."""
    if problems > 4:
        return 1
    return max(k for k in (1, 2, 4, 8, 16) if n % k == 0 and (k == 1 or n // k >= 256))


def _group_chunk(x) -> int:
    g, n, d = x.shape
    if g == 1 or jax.default_backend() != "cpu":
        return g
    most = max(1, CPU_CHUNK_BYTES // (n * d * x.dtype.itemsize))
    return max(c for c in range(1, min(g, most) + 1) if g % c == 0)


@numpy_or_jax
def fit(x, labels, weights=None, lam=1e-2, *, loss="logistic", tol=DEFAULT_TOL,
        max_iter=DEFAULT_MAX_ITER, memory=DEFAULT_MEMORY, n_rows=None) -> FitResult:
    """Minimise (*) for a batch of problems, sharing features where the shapes say so.

    Args:
      x: features, (n, d) shared by all problems, or (G, n, d): one feature matrix per group.
      labels: synthesized labels in {-1, +1}: (n,) or (V, n) with x (n, d); (G, n) or (G, V, n)
        with x (G, n, d). The problems' batch shape ``B`` is ``labels.shape[:-1]``.
      weights: keep weights q >= 0, shape of ``labels``; None keeps every row.
      lam: ridge strength >= 0, broadcastable to ``B``.
      loss: "logistic" or "square". tol: relative gradient tolerance (module docstring).
      max_iter: most L-BFGS iterations. memory: number of L-BFGS curvature pairs.
      n_rows: the n of (*) when only the first ``n_rows`` rows are candidates and the rest are
        room reserved for later ones (zero weight; refused otherwise): a data set that grows
        inside a fixed array is then fitted by one compiled program. Default: every row.
    Returns ``FitResult`` with w (*B, d), converged, iterations and grad_ratio (*B,).
    """
    check_choice("loss", loss, LOSSES)
    check_positive_int("max_iter", max_iter)
    check_positive_int("memory", memory)
    tol = float(check_nonnegative("tol", tol))
    x = as_array("x", x)
    if x.ndim not in (2, 3) or x.shape[-1] < 1 or x.shape[-2] < 1:
        raise ValueError(f"x must have shape (n, d) or (G, n, d) with n, d >= 1; got {x.shape}")
    dtype = x.dtype
    labels = as_array("labels", labels, dtype)
    if labels.ndim not in (x.ndim - 1, x.ndim) or labels.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"labels must have shape {x.shape[:-2]}(V,) + (n,) = ...{x.shape[-2]} for x of shape "
            f"{x.shape}; got {labels.shape}"
        )
    if x.ndim == 3 and labels.shape[0] != x.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]} groups, x has {x.shape[0]}")
    if weights is not None:
        weights = as_array("weights", weights, dtype)
        if weights.shape != labels.shape:
            raise ValueError(f"weights must have the shape of labels {labels.shape}; got "
                             f"{weights.shape}")
    lam = as_array("lam", lam, dtype)
    rows = x.shape[-2]
    if n_rows is None:
        n_rows = rows
    else:
        n_rows = check_positive_int("n_rows", n_rows)
        if n_rows > rows:
            raise ValueError(f"n_rows = {n_rows} is more than the {rows} rows of x")
    batch = labels.shape[:-1]
    try:
        fits = np.broadcast_shapes(lam.shape, batch) == batch
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"lam of shape {lam.shape} does not broadcast to {batch}")
    traced = any(isinstance(a, jax.core.Tracer) for a in (x, labels, weights, lam))
    # Normalised to (G, V, ...): one group when x is shared, one problem per group when V is
    # absent.
    shape = dict(single=labels.ndim == x.ndim - 1, shared=x.ndim == 2)
    g = 1 if shape["shared"] else x.shape[0]
    v = 1 if shape["single"] else labels.shape[-2]
    solve = functools.partial(_solver(traced), loss=loss, tol=np.asarray(tol, dtype),
                              max_iter=np.int32(max_iter), memory=memory, n_rows=n_rows,
                              split_rows=SPLIT_ROWS and jax.default_backend() == "cpu")
    chunk = g if shape["shared"] else _group_chunk(x)
    whole = chunk == g or traced
    hold, prepared = _prepared(x, labels, weights, lam, np.int32(n_rows), pad=PAD and whole,
                               shape_only=not whole, **shape)
    _check_values(x, labels, weights, lam, n_rows, None if traced else hold)
    if whole:
        # Traced (inside the caller's jit): the chunks run in one program, by lax.map.
        parts = [solve(*prepared, group_chunk=chunk)]
    else:
        # One program per chunk, fed a padded slice made in one copy: in one program, the
        # loop over chunks copied the whole x once more and each chunk twice (L workload of
        # benchmarks/bench_fit.py: about a third of the time).
        args = (x, *prepared[1:])
        parts = [solve(*_sliced_padded(args, start, chunk, PAD)) for start in range(0, g, chunk)]
    return _results(parts, v=v, **shape)


def _check_values(x, labels, weights, lam, n_rows, hold=None):
    """The value checks of ``fit``. ``hold``, from the compiled pass of ``_prepared`` over
    concrete inputs, says whether all hold (a check per input ran a dozen small programs per
    call); only where one fails, or an input is traced (then only the concrete ones), are they
    looked at one by one, for a message that names the input."""
    if hold is not None and bool(np.all(np.asarray(hold))):
        return
    check_finite("x", x)
    check_finite("labels", labels)
    _check_signs(labels)
    if weights is not None:
        check_nonnegative("weights", weights)
        if n_rows < x.shape[-2] and not isinstance(weights, jax.core.Tracer):
            if np.any(np.asarray(weights)[..., n_rows:] != 0):
                raise ValueError(f"rows past n_rows = {n_rows} must have zero weight")
    check_nonnegative("lam", lam)


def _values_hold(x, labels, weights, lam, n_rows):
    # each a fused reduction: no temporary the size of x
    hold = [jnp.all(jnp.isfinite(x)), jnp.all(jnp.abs(labels) == 1), jnp.all(jnp.isfinite(lam)),
            jnp.all(lam >= 0)]
    if weights is not None:
        past = jnp.arange(weights.shape[-1]) >= n_rows  # traced: one program for every n_rows
        hold += [jnp.all(jnp.isfinite(weights)), jnp.all(weights >= 0),
                 jnp.all(jnp.where(past, weights, 0) == 0)]
    return jnp.stack(hold)


@functools.partial(jax.jit, static_argnames=("pad", "single", "shared", "shape_only"))
def _prepared(x, labels, weights, lam, n_rows, *, pad, single, shared, shape_only=False):
    """(whether the value checks hold, (x, labels, weights, lam) as (G, n, d), (G, V, n),
    (G, V, n), (G, V), padded by ``_pad`` if ``pad``). ``shape_only``: x is already (G, n, d)
    and is not returned (a copy of a large x for nothing)."""
    return _values_hold(x, labels, weights, lam, n_rows), _normalised(
        x, labels, weights, lam, pad, single, shared, shape_only)


def _normalised(x, labels, weights, lam, pad, single, shared, shape_only):
    if weights is None:
        weights = jnp.ones_like(labels)
    lam = jnp.broadcast_to(lam, labels.shape[:-1])

    def to_gv(a, core):
        a = jnp.expand_dims(a, -1 - core) if single else a
        return a[None] if shared else a

    xg = x[None] if shared else x
    labels, weights, lam = to_gv(labels, 1), to_gv(weights, 1), to_gv(lam, 0)
    if shape_only:
        return None, labels, weights, lam
    return _pad(xg, labels, weights, lam) if pad else (xg, labels, weights, lam)


@functools.partial(jax.jit, static_argnames=("v", "single", "shared"))
def _results(parts, *, v, single, shared):
    """The chunks' results joined, padding problems dropped, in the caller's shape."""
    res = parts[0] if len(parts) == 1 else FitResult(*(jnp.concatenate(a) for a in zip(*parts)))

    def back(a, has_d):
        a = a[:, :v]
        a = a[0] if shared else a
        return a[..., 0, :] if (single and has_d) else (a[..., 0] if single else a)

    return FitResult(back(res.w, True), back(res.converged, False),
                     back(res.iterations, False), back(res.grad_ratio, False))


def _check_signs(labels):
    values = np.asarray(labels) if not isinstance(labels, jax.core.Tracer) else None
    if values is not None and not np.all(np.abs(values) == 1):
        bad = values[np.abs(values) != 1].ravel()[0]
        raise ValueError(f"labels must be -1 or +1; got {bad}")
