"""Numerical building blocks shared by the closed forms.

* ``numpy_or_jax``: public functions run in float64 and return NumPy values when called with NumPy
  or Python numbers, and stay in JAX (jit/vmap-able, the caller's precision) when given JAX arrays.
* ``gauss_expectation``: E[h(g)], g ~ N(0, 1) (optionally truncated to g > lower), by composite
  Gauss-Legendre on panels whose breakpoints follow the integrand's features (a logistic kink of
  width 1/|B|, a probit step, an exponential tilt). Fixed size, so it vectorises and differentiates.
* ``increasing_root``: bracketed, safeguarded Newton for an increasing scalar function.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, ndtr

__all__ = [
    "numpy_or_jax",
    "is_concrete",
    "norm_pdf",
    "norm_cdf",
    "norm_sf",
    "gauss_expectation",
    "increasing_root",
    "safe_div",
    "damped_newton",
    "gradient_tolerance",
    "max_abs",
    "unit_scaled",
    "divide",
    "chunked",
    "lane_ladder",
    "ladder_size",
    "padded_points",
    "MEMORY_BUDGET",
    "stable_norm",
]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
# Gaussian bulk: the mass beyond +-10 is 1.5e-23, below anything a float64 sum can see.
_BULK = np.array([-10.0, -6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0, 10.0])
# Around a feature of width s: the logistic function decays like e^-|z|, so e^-64 ends it.
_FEATURE_OFFSETS = np.array([-64.0, -16.0, -4.0, -1.0, 0.0, 1.0, 4.0, 16.0, 64.0])
_TILT_OFFSETS = np.array([-6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0])
_MAX_TILT = 40.0
_INV_SQRT_2PI = 0.3989422804014327


def is_concrete(x) -> bool:
    """True unless ``x`` is a tracer (inside jit/vmap), where values cannot be inspected."""
    return not isinstance(x, jax.core.Tracer)


def _uses_jax(tree) -> bool:
    return any(isinstance(leaf, jax.Array) for leaf in jax.tree_util.tree_leaves(tree))


def _to_numpy(x):
    if isinstance(x, jax.Array):
        x = np.asarray(x)
        return x[()] if x.ndim == 0 else x
    return x


def numpy_or_jax(fn):
    """Run ``fn`` in float64 and return NumPy values, unless a JAX array is among the arguments.

    With JAX arrays the function is traced as it is (so it composes with jit and vmap) and uses
    whatever precision the caller configured.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _uses_jax((args, kwargs)):
            return fn(*args, **kwargs)
        with jax.enable_x64(True):
            out = fn(*args, **kwargs)
            return jax.tree_util.tree_map(_to_numpy, out)

    return wrapper


# Bytes of intermediates one batched call may hold: grids are processed in chunks that fit it.
MEMORY_BUDGET = 512 * 2**20
_LANES = 16
CHUNK_POINTS = None  # a fixed number of points per chunk instead (tests vary it)


def lane_ladder(n: int, down: bool = False) -> int:
    """The step of 16, 32, 48, 64, 96, 128, 192, ... (16 lanes times 1, 2, 3, 4, 6, 8, 12, ...)
    at or above ``n`` (``down``: at or below it, at least 16). Padding a batch to it lets grids
    of many sizes share a few compiled programs, at most doubling the work below 32 points and
    adding at most half above."""
    steps, size = [], 16
    while size < max(n, 16):
        steps.append(size)
        if size >= 32:
            steps.append(size * 3 // 2)
        size *= 2
    steps.append(size)
    if down:
        return max([s for s in steps if s <= n] or [16])
    return min(s for s in steps if s >= n)


def ladder_size(n: int, *args):
    """The number of points to pad a batch of ``n`` to: ``lane_ladder(n)``, or None (no padding)
    for an empty batch or where an argument is traced by the caller's jit (XLA then sees one
    program whose shapes are already fixed)."""
    if n == 0 or any(isinstance(a, jax.core.Tracer) for a in args):
        return None
    return lane_ladder(n)


def padded_points(arrays, size):
    """Each array (points on axis 0) padded to ``size`` points by repeating its first point;
    as they are when ``size`` is None or not larger."""
    n = arrays[0].shape[0]
    if size is None or size <= n:
        return list(arrays)
    return [jnp.concatenate([x, jnp.repeat(x[:1], size - n, axis=0)]) for x in arrays]


def chunked(kernel, args, core_ndims, *, point_bytes, budget=None, chunk=None, what="d"):
    """``kernel`` over the broadcast batch of ``args``, a chunk of points at a time.

    ``args[i]`` has ``core_ndims[i]`` trailing core axes (0 for a scalar per point, 1 for a
    vector, 2 for a matrix) and batch axes before them. ``kernel(*flat)`` receives every argument
    as (C, *core) (C points of one chunk) and returns a pytree of arrays with leading axis C; the
    result is that pytree with the batch shape in front. Chunks hold ``budget // point_bytes``
    points (``chunk`` overrides), the last one padded by repeating its first point, so one
    compiled kernel serves every chunk and peak memory does not grow with the grid. Each point is
    computed on its own, so results do not depend on the chunk size. Traced arguments (inside the
    caller's jit or vmap) go to the kernel in one piece: XLA then plans the memory. A point that
    alone exceeds the budget is refused before any work, ``what`` saying what made it large.
    """
    shapes = [jnp.shape(a)[: jnp.ndim(a) - k] for a, k in zip(args, core_ndims)]
    batch = jnp.broadcast_shapes(*shapes)
    if batch == () or any(isinstance(a, jax.core.Tracer) for a in args):
        return kernel(*args)
    n = math.prod(batch)
    budget = budget or MEMORY_BUDGET
    if point_bytes > budget:
        raise ValueError(
            f"one point needs about {point_bytes / 2**20:.0f} MiB ({what}), more than the memory "
            f"budget of {budget / 2**20:.0f} MiB (theory._numerics.MEMORY_BUDGET): reduce it")
    # From the budget: a step of ``lane_ladder``, so that kernels which pad to it (to share
    # compiled programs across grid sizes) stay within the budget.
    size = chunk or CHUNK_POINTS or lane_ladder(budget // max(1, int(point_bytes)), down=True)
    # Arguments without batch axes (a shared Sigma, mu) stay whole: the kernel broadcasts them.
    flat = [a if shape == () else jnp.broadcast_to(a, batch + jnp.shape(a)[len(shape):]).reshape(
        (n,) + jnp.shape(a)[len(shape):]) for a, shape in zip(args, shapes)]
    batched = [shape != () for shape in shapes]
    # Every chunk is padded to a multiple of the SIMD width (by repeating its first point): XLA
    # evaluates a vector's tail with other (scalar) code, which may round differently.
    size = -(-min(size, n) // _LANES) * _LANES
    pieces = []
    for start in range(0, max(n, 1), size):
        stop = min(start + size, n)
        part = []
        for x, b in zip(flat, batched):
            if b:
                x = x[start:stop]
                pad = size - (stop - start)
                if pad and stop > start:
                    x = jnp.concatenate([x, jnp.repeat(x[:1], pad, axis=0)])
            part.append(x)
        pieces.append(jax.tree_util.tree_map(lambda y, m=stop - start: y[:m], kernel(*part)))
    out = pieces[0] if len(pieces) == 1 else jax.tree_util.tree_map(
        lambda *ys: jnp.concatenate(ys), *pieces)
    return jax.tree_util.tree_map(lambda y: y.reshape(batch + y.shape[1:]), out)


def norm_pdf(x):
    return _INV_SQRT_2PI * jnp.exp(-0.5 * x * x)


def norm_cdf(x):
    return ndtr(x)


def norm_sf(x):
    """Q(x) = 1 - Phi(x), accurate in the upper tail."""
    return ndtr(-x)


def safe_div(num, den, fill=0.0):
    """num / den where den != 0, ``fill`` elsewhere, with gradients that stay finite."""
    ok = den != 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), fill)


def max_abs(x, axes=(-1,)):
    """max |x| over ``axes`` (kept as size-1 axes), 1 where it is 0: a scale to divide by."""
    s = jnp.max(jnp.abs(x), axis=axes, keepdims=True)
    return jnp.where(s > 0, s, 1.0)


def unit_scaled(x, axes=(-1,)):
    """(x / s, s) with s = max |x| over ``axes`` (kept as size-1 axes): entries of x / s in
    [-1, 1], so that squares and sums of squares neither overflow nor underflow whatever the
    scale of x (scale-free quantities are computed from x / s). See ``divide``."""
    s = max_abs(x, axes)
    return divide(x, s), s


def divide(y, s):
    """y / s for s > 0 of any magnitude. XLA's CPU division multiplies by the reciprocal, and
    1/s underflows (is flushed) to 0 for s > 2^1022: divide by s's power of two first."""
    e = jnp.frexp(s)[1]
    return jnp.ldexp(y, -e) / jnp.ldexp(s, -e)


def stable_norm(x):
    """||x|| over the last axis without overflow or underflow of x^2."""
    u, s = unit_scaled(x)
    return s[..., 0] * jnp.sqrt(jnp.sum(u * u, axis=-1))


def gauss_expectation(h, features=(), tilt=0.0, lower=None):
    """E[h(g)] for g ~ N(0, 1), or E[h(g) | g > lower].

    Args:
      h: vectorised function of g (any shape) -> same shape.
      features: pairs (centre, width) where h changes on a short scale (a kink at centre with
        width 1/|slope|, a probit step with its width). Non-finite entries are clipped away.
      tilt: |B| when h grows or decays like exp(+-B g): adds panels around g = +-B.
      lower: truncation point (scalar) or None.

    Scalars in, scalar out; vmap for batches. Accuracy ~1e-13 relative on the integrands used here.
    Derivatives are the same rule applied to h's derivatives (the panels are held fixed).
    """
    dtype = jnp.result_type(float)
    tilt = jnp.minimum(jnp.abs(jnp.asarray(tilt, dtype)), _MAX_TILT)
    hi = 10.0 + tilt
    if lower is None:
        lo = -hi
    else:
        lower = jnp.asarray(lower, dtype)
        lo = lower
        hi = jnp.maximum(lower, 0.0) + 10.0 + tilt
    # Constants are cast explicitly: mixing NumPy float64 with traced arrays is not reliable
    # when calls alternate between float64 (enable_x64) and float32.
    bulk, tilt_offsets, feature_offsets, nodes, gl_weights = (
        jnp.asarray(c, dtype) for c in (_BULK, _TILT_OFFSETS, _FEATURE_OFFSETS, _GL_NODES, _GL_WEIGHTS)
    )
    pts = [bulk, tilt + tilt_offsets, -tilt + tilt_offsets]
    if lower is not None:
        # The truncated density decays like exp(-lower * r) past the cut.
        scale = 1.0 / jnp.maximum(lower, 1.0)
        pts.append(lower + scale * jnp.asarray([1.0, 4.0, 16.0], dtype))
    for centre, width in features:
        centre = jnp.nan_to_num(jnp.asarray(centre, dtype), nan=0.0, posinf=1e30, neginf=-1e30)
        width = jnp.nan_to_num(jnp.abs(jnp.asarray(width, dtype)), nan=1e30, posinf=1e30)
        pts.append(centre + width * feature_offsets)
    pts = jnp.concatenate([jnp.ravel(p) for p in pts] + [jnp.stack([lo, hi])])
    # The panels only place the nodes: the exact integral does not depend on them, so they are
    # not differentiated (derivatives are quadratures of h's; differentiating the sort made the
    # logistic limit's Newton step a third of its compile).
    pts = jax.lax.stop_gradient(jnp.sort(jnp.clip(pts, lo, hi)))
    a, b = pts[:-1], pts[1:]
    half = 0.5 * (b - a)
    g = (0.5 * (a + b))[:, None] + half[:, None] * nodes[None, :]
    if lower is None:
        density = norm_pdf(g)
    else:
        log_tail = log_ndtr(-lower)
        density = jnp.exp(-0.5 * g * g - 0.5 * float(np.log(2 * np.pi)) - log_tail)
    weights = half[:, None] * gl_weights[None, :] * density
    return jnp.sum(weights * h(g))


def increasing_root(fn, lo, hi, *, xtol=None, max_iter=300):
    """Root of an increasing scalar function on a bracket with fn(lo) <= 0 <= fn(hi).

    ``fn(x)`` returns ``(value, derivative)``. Newton steps that leave the bracket are replaced
    by bisection, so convergence is guaranteed. Returns ``(root, converged)``.
    """
    dtype = jnp.result_type(float)
    if xtol is None:
        xtol = 4 * float(jnp.finfo(dtype).eps)
    lo = jnp.asarray(lo, dtype)
    hi = jnp.asarray(hi, dtype)
    x0 = 0.5 * (lo + hi)
    g0, d0 = fn(x0)

    def cond(state):
        lo, hi, x, g, d, it, done = state
        return jnp.logical_and(~done, it < max_iter)

    def body(state):
        lo, hi, x, g, d, it, done = state
        lo = jnp.where(g < 0, x, lo)
        hi = jnp.where(g > 0, x, hi)
        newton = x - safe_div(g, d, fill=jnp.inf)
        inside = (newton > lo) & (newton < hi) & (d > 0)
        x_new = jnp.where(inside, newton, 0.5 * (lo + hi))
        g_new, d_new = fn(x_new)
        lo = jnp.where(g_new < 0, x_new, lo)
        hi = jnp.where(g_new > 0, x_new, hi)
        small = xtol * (1.0 + jnp.abs(x_new))
        done = (g_new == 0) | (hi - lo <= small) | (jnp.abs(x_new - x) <= small)
        return lo, hi, x_new, g_new, d_new, it + 1, done

    state = (lo, hi, x0, g0, d0, jnp.asarray(0), g0 == 0)
    lo, hi, x, g, d, it, done = jax.lax.while_loop(cond, body, state)
    return x, done


def gradient_tolerance(dtype):
    """Relative gradient size accepted as converged: 1e-8 in float64, ~1e-4 in float32 (where
    rounding of the quadrature sums alone is ~1e-7)."""
    return max(1e-8, 1e3 * float(jnp.finfo(dtype).eps))


def damped_newton(objective, newton_step, w0, *, max_iter, min_step=2.0**-40):
    """Minimise N smooth convex functions by Newton's method with backtracking (Armijo).

    ``w0`` (N, k); ``objective`` maps (N, k) -> (N,); ``newton_step`` maps (N, k) to the
    gradients and the steps H^-1 gradient, both (N, k). Returns the final iterates and the
    gradients there, from which the caller decides convergence. Each problem takes its own
    steps and stops on its own, as under ``jax.vmap``; but the loops are written batched, so
    that only the objective and step need vmap (JAX batches a loop body twice to find which
    carries vary, a nested loop four times: for the logistic limit of a linear verifier that
    was a second of tracing, and a minute of compiling for its breakdown).

    Each of ``objective`` and ``newton_step`` appears once in the compiled program, as compile
    time grows with each copy: the full step is the line search's first trial, and the final
    gradient comes from one more pass of the loop in which a stopped problem only evaluates
    ``newton_step`` (its step unused)."""

    def backtrack(w, f, step, decrement, moving):
        def short(t, f_t):  # Armijo not yet met: halve t
            return moving & (f_t > f - 1e-4 * t * decrement) & (t > min_step)

        def body(c):
            t, f_t = c
            go = short(t, f_t)
            t = jnp.where(go, 0.5 * t, t)
            return t, jnp.where(go, objective(w - t[:, None] * step), f_t)

        # t = 2 with an infinite objective: the first pass halves it and tries the full step.
        start = jnp.full_like(f, 2.0), jnp.full_like(f, jnp.inf)
        return jax.lax.while_loop(lambda c: jnp.any(short(*c)), body, start)

    def body(state):
        w, f, last_grad, it, done, final = state
        live = ~final
        grad, step = newton_step(w)
        # A problem that has stopped (or run out of iterations) has just had its final gradient
        # evaluated: it is finished. The others take a step.
        finishing = live & (done | (it >= max_iter))
        moving = live & ~finishing
        decrement = jnp.einsum("nk,nk->n", grad, step)
        t, f_t = backtrack(w, f, step, decrement, moving)
        eps = jnp.finfo(w.dtype).eps
        # Near the optimum F cannot resolve the decrease (decrement/2 below rounding): there the
        # full Newton step is safe and line search would stall, so take it.
        tiny = decrement <= 1e3 * eps * (1.0 + jnp.abs(f))
        accept = (f_t <= f - 1e-4 * t * decrement) | tiny
        t = jnp.where(tiny, 1.0, jnp.where(accept, t, 0.0))
        w_new = w - t[:, None] * step
        # In the tiny case F is flat to rounding: keep f.
        f_new = jnp.where(tiny, f, jnp.where(accept, f_t, f))
        # Done once the step is at rounding level (quadratic convergence lands there one step
        # after the decrement is), or no step decreases F any more.
        scale = 1.0 + jnp.max(jnp.abs(w_new), axis=-1)
        stop = (jnp.max(jnp.abs(t[:, None] * step), axis=-1) <= 64 * eps * scale) | (
            decrement <= 0) | ~accept
        return (jnp.where(moving[:, None], w_new, w), jnp.where(moving, f_new, f),
                jnp.where(live[:, None], grad, last_grad), jnp.where(moving, it + 1, it),
                jnp.where(moving, stop, done), final | finishing)

    f0 = objective(w0)
    false = jnp.zeros_like(f0, bool)
    state = (w0, f0, jnp.zeros_like(w0), jnp.zeros_like(f0, jnp.int32), false, false)

    def unfinished(state):
        return jnp.any(~state[-1])  # the last carry: finished

    w, _, grad, _, _, _ = jax.lax.while_loop(unfinished, body, state)
    return w, grad
