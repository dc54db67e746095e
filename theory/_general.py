"""``theory.finite.solve`` and ``theory.finite.generations``: any scenario of ``theory.scenario``.

docs/theory.md ("General scenarios") derives the fixed point; ``_scenario_solver`` solves it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from scipy.special import ndtr

from . import _scenario_solver as _ss
from . import _validate
from . import scenario as _sc

# Against rules of 40 and 128 points these leave an accuracy error below 1e-4 (lam >= 1e-3).
DEFAULT_NODES = 32  # Gauss-Hermite points in xi (48 changed no test point by 1e-6)
# Where the atoms span two rule directions, the outer quadrature already smooths the inner
# integrand: 16 points in xi changed the accuracy of four such scenarios (both losses, sampled
# and sign generators, margin and top-r verifiers, alpha 0.5..inf) by < 1e-11 against 32, at
# less than half the time. ``nodes=None`` picks this per scenario.
DEFAULT_NODES_2D = 16
DEFAULT_OUTER = 16  # Gauss-Legendre points per segment of each rule coordinate
_ANCHOR_STRIDE = 8
_RESCUE_STEPS = 12
_DAMPING = 0.5
_MIN_BATCH = 32
# Points x atoms x nodes per compiled call: 2^22 peaked at 1.8 GB above the process (the Newton
# step's forward-mode Jacobian holds dozens of such arrays); 2^20 keeps it near 500 MB.
_CHUNK_ELEMENTS = 1 << 20
_BLOCK_ELEMENTS = 1 << 21  # points x atoms held at once by solve (about 100 MB of fields)
_GENERATION_ATOMS = 2048  # atoms per point assumed by generations' blocks (two directions)


class SolveResult(NamedTuple):
    """The finite-n solution; fields have the broadcast shape of (alpha, lam).

    accuracy: Phi(m / sqrt(q)) of w_hat (NaN where not converged).
    m: mu^T w_hat.  q: ||w_hat||^2.
    overlap_g, overlap_v: w_g^T w_hat and w_v^T w_hat, with the vectors as given (NaN where the
      scenario has no such vector).
    orthogonal: the norm of w_hat orthogonal to span(mu, w_g, w_v).
    V: the susceptibility of the fixed point (0 at alpha = inf).
    converged, iterations, quadrature_error (accuracy change when every rule is doubled; for
      the logistic loss evaluated at the curve's anchors, every 8th alpha of one lam, and
      between anchors the larger of the two bracketing anchors').
    p, phi, psi: the scenario's error and keep rates (synthesized samples).
    """

    accuracy: np.ndarray
    m: np.ndarray
    q: np.ndarray
    overlap_g: np.ndarray
    overlap_v: np.ndarray
    orthogonal: np.ndarray
    V: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    quadrature_error: np.ndarray
    p: float
    phi: float
    psi: float


def _alpha(x):
    """alpha > 0, +inf allowed (the n -> inf limit)."""
    raw = np.asarray(x, dtype=object if isinstance(x, str) else None)
    if raw.dtype.kind not in "biuf" or raw.dtype.kind == "b":
        raise ValueError(f"alpha must be a real number or array; got {x!r}")
    raw = raw.astype(float)
    if np.any(np.isnan(raw)):
        raise ValueError("alpha must not be NaN")
    if np.any(raw <= 0):
        raise ValueError(f"alpha must be > 0; got {raw[raw <= 0].ravel()[0]}")
    return raw


def _grid(alpha, lam):
    """Validated (alpha, lam) broadcast: (shape, flat alpha, flat lam, curve id per point).

    Points of one lam form one alpha curve (anchors and warm starts run along it)."""
    alpha = _alpha(alpha)
    with jax.enable_x64(True):  # the checks convert through JAX: keep float64
        lam = np.asarray(_validate.nonnegative("lam", lam), float)
    shape = np.broadcast_shapes(alpha.shape, lam.shape)
    a_flat = np.broadcast_to(alpha, shape).ravel().astype(float)
    l_flat = np.broadcast_to(lam, shape).ravel().astype(float)
    return shape, a_flat, l_flat, np.unique(l_flat, return_inverse=True)[1].ravel()


def _bucket(n):
    """Batch size n rounded up to a ladder of ratio sqrt(2) (multiples of 8): few compiled
    shapes, at most ~41 % padding (a power of two wasted up to half of every call). A lone point
    is not padded: a generations trajectory solves one point per step, and eight copies of it
    took eight times as long."""
    if n <= 1:
        return 1
    size = 8.0
    while -(-int(size) // 8) * 8 < n:
        size *= 2 ** 0.5
    return -(-int(size) // 8) * 8


def _atom_bucket(j):
    """J rounded up to a ladder of ratio 2^(1/2) (multiples of 8): scenarios of nearby atom
    counts share one compiled solver, at most ~41 % padding (a ratio of 2^(1/4) compiled 17
    solvers for the quick figures, this one 11)."""
    size = 8.0
    while -(-int(size) // 8) * 8 < j:
        size *= 2 ** 0.5
    return -(-int(size) // 8) * 8


def _stack_atoms(atom_list):
    """Pad per-point atoms to one count J (zero weights) and stack: (N, J) arrays."""
    j = _atom_bucket(max(len(a.weight) for a in atom_list))

    def pad(x, width):
        out = np.zeros((width,) + x.shape[1:])
        out[: len(x)] = x
        return out

    return dict(
        weight=np.stack([pad(a.weight, j) for a in atom_list]),
        u=np.stack([pad(a.u, j) for a in atom_list]),
        e=np.stack([pad(a.e, j) for a in atom_list]),
        mu_r=np.stack([a.mu_r for a in atom_list]),
        mu_m=np.array([a.mu_m for a in atom_list]),
        active=np.stack([a.active for a in atom_list]),
    )


def _take(fields, idx, size):
    """Fields (dict of per-point arrays) at ``idx``, padded to ``size`` by repeating the first."""
    out = {}
    for k, v in fields.items():
        sub = v[idx]
        if size > len(idx):
            sub = np.concatenate([sub, np.repeat(sub[:1], size - len(idx), axis=0)])
        out[k] = sub
    return out


def _params(fields):
    # NumPy leaves: jit takes them as they are (jnp.asarray would run one program per shape)
    return _ss.Params(**{k: np.asarray(fields[k]) for k in _ss.Params._fields})


def _newton(y0, fields, idx, loss, nodes, tol, max_iter, floor=8):
    """Batched Newton on points ``idx`` (chunked so memory stays bounded), each call padded to
    at least ``floor`` points."""
    n = len(idx)
    y_out = np.full((n, _ss.DIM), np.nan)
    ok_out = np.zeros(n, bool)
    it_out = np.zeros(n, int)
    if n == 0:
        return y_out, ok_out, it_out
    j = fields["weight"].shape[1]
    most = max(8, 1 << int(np.floor(np.log2(max(1, _CHUNK_ELEMENTS // (j * nodes))))))
    # equal calls, so that one compiled shape serves them all (no odd last call)
    chunk = -(-n // -(-n // most))
    for start in range(0, n, chunk):
        part = idx[start:start + chunk]
        size = min(most, max(floor, _bucket(len(part))))
        sub = _take(fields, part, size)
        y0p = y0[start:start + chunk]
        if size > len(part):
            y0p = np.concatenate([y0p, np.repeat(y0p[:1], size - len(part), axis=0)])
        out = _ss.newton_solve(np.asarray(y0p), _params(sub), loss=loss, nodes=nodes, tol=tol,
                               max_iter=max_iter, damping=_DAMPING)
        k = len(part)
        y = np.asarray(out.y)[:k]
        y_out[start:start + k] = y
        ok_out[start:start + k] = np.asarray(out.converged)[:k] & np.all(np.isfinite(y), axis=1)
        it_out[start:start + k] = np.asarray(out.iterations)[:k]
    return y_out, ok_out, it_out


def _square(fields, idx=None):
    f = fields if idx is None else {k: v[idx] for k, v in fields.items()}
    return _ss.square_closed_form(*(f[k] for k in _ss.Params._fields))


def _cold_start(fields, idx):
    """The square-loss solution at the same point (lam = 0: at lam = 0.01 K, which exists)."""
    f = {k: v[idx] for k, v in fields.items()}
    k = f["weight"].sum(axis=1)
    f["lam"] = np.where(f["lam"] > 0, f["lam"], 0.01 * k)
    y = _square(f)
    y[:, 4] = np.where(f["infinite"], 0.0, y[:, 4])
    return y


def _solve_logistic(fields, nodes, tol, max_iter):
    """Anchors along each alpha curve (same lam and scenario) solved cold, the rest warm from
    interpolated anchors, failures by continuation in alpha (as ``theory.finite.accuracy``)."""
    alpha = fields["alpha"]
    n = alpha.size
    la = np.log(np.where(np.isinf(alpha), 1e300, alpha))
    group = fields["curve"]
    order = np.lexsort((la, group))
    g_sorted = group[order]
    first = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - start
    last = np.r_[g_sorted[1:] != g_sorted[:-1], True]
    anchor_sorted = (rank % _ANCHOR_STRIDE == 0) | last

    y = np.full((n, _ss.DIM), np.nan)
    ok = np.zeros(n, bool)
    iters = np.zeros(n, int)
    idx = order[anchor_sorted]
    # a short curve's anchors and the rest share one compiled solver (compiling costs seconds,
    # a few padded points milliseconds); a lone point is not padded to the floor
    floor = min(_MIN_BATCH, _bucket(max(idx.size, n - idx.size)))
    y[idx], ok[idx], iters[idx] = _newton(_cold_start(fields, idx), fields, idx, "logistic",
                                          nodes, tol, max_iter, floor)
    pos = np.arange(n)
    prev_anchor = np.maximum.accumulate(np.where(anchor_sorted, pos, 0))
    next_anchor = np.minimum.accumulate(np.where(anchor_sorted, pos, n - 1)[::-1])[::-1]
    rest = ~anchor_sorted
    # each point's bracketing anchors on its curve (itself for an anchor)
    neighbours = np.empty((n, 2), int)
    neighbours[order] = np.stack([order[prev_anchor], order[next_anchor]], axis=1)
    if np.any(rest):
        i_self = order[rest]
        i_prev, i_next = neighbours[i_self].T
        span = la[i_next] - la[i_prev]
        t = np.where(span > 0, (la[i_self] - la[i_prev]) / np.where(span > 0, span, 1.0), 0.0)
        y0 = (1 - t[:, None]) * y[i_prev] + t[:, None] * y[i_next]
        _spline_warm_starts(y0, y, ok, la, group, idx, i_self)
        both = ok[i_prev] & ok[i_next]
        y0 = np.where(both[:, None], y0, np.where(ok[i_prev][:, None], y[i_prev], y[i_next]))
        cold = ~np.all(np.isfinite(y0), axis=1) | ~(ok[i_prev] | ok[i_next])
        if np.any(cold):
            y0[cold] = _cold_start(fields, i_self[cold])
        y[i_self], ok[i_self], iters[i_self] = _newton(y0, fields, i_self, "logistic", nodes,
                                                       tol, max_iter, floor)
    bad = np.flatnonzero(~ok & np.isfinite(alpha))
    if bad.size:
        # Continuation: from 64 alpha (a benign problem) down to alpha, warm-started.
        a_target = alpha[bad]
        step_fields = {k: v[bad] for k, v in fields.items()}
        step_fields["alpha"] = 64.0 * a_target
        cur = _cold_start(step_fields, np.arange(bad.size))
        alive = np.ones(bad.size, bool)
        it_last = np.zeros(bad.size, int)
        for step in range(0, _RESCUE_STEPS + 1):
            live = np.flatnonzero(alive)
            if live.size == 0:
                break
            frac = step / _RESCUE_STEPS
            step_fields["alpha"] = (64.0 * a_target) ** (1 - frac) * a_target ** frac
            y_new, ok_new, it_new = _newton(cur[live], step_fields, live, "logistic", nodes, tol,
                                            2 * max_iter)
            cur[live[ok_new]] = y_new[ok_new]
            it_last[live] = it_new
            alive[live[~ok_new]] = False
        y[bad] = np.where(alive[:, None], cur, np.nan)
        ok[bad] = alive
        iters[bad] = it_last
    return y, ok, iters, neighbours


def _spline_warm_starts(y0, y, ok, la, group, anchors, targets):
    """Overwrite ``y0`` (warm starts of ``targets``) by a cubic spline in log alpha through each
    curve's converged finite anchors: the solution is smooth in log alpha, and a start within
    ~1e-6 lets one Newton step reach the tolerance where linear interpolation needed two."""
    good = anchors[ok[anchors] & np.isfinite(la[anchors]) & (la[anchors] < 600)]
    for g in np.unique(group[targets]):
        knots = good[group[good] == g]
        if knots.size < 4:
            continue
        knots = knots[np.argsort(la[knots])]
        if np.any(np.diff(la[knots]) <= 0):
            continue
        mine = np.flatnonzero((group[targets] == g) & (la[targets] > la[knots[0]])
                              & (la[targets] < la[knots[-1]]))
        if mine.size:
            from scipy.interpolate import CubicSpline  # here: 0.2 s to import, rarely needed

            start = CubicSpline(la[knots], y[knots], axis=0)(la[targets[mine]])
            fine = np.all(np.isfinite(start), axis=1)
            y0[mine[fine]] = start[fine]


def _outputs(y, fields):
    v = np.where(fields["infinite"], 0.0, np.exp(y[:, 0]))
    a, am = y[:, 1:3], y[:, 3]
    rho = np.where(fields["infinite"], 0.0, np.exp(y[:, 4]))
    m = np.sum(fields["mu_r"] * a, axis=1) + fields["mu_m"] * am
    q = np.sum(a * a, axis=1) + am * am + rho * rho
    ratio = np.where(q > 0, m / np.sqrt(np.where(q > 0, q, 1.0)), 0.0)
    return ndtr(ratio), m, q, v, rho


def _solve_fields(fields, fine_fields, loss, nodes, tol, max_iter, quadrature_check):
    """Solve every point of ``fields``; returns per-point arrays (accuracy, y, ok, iters, qerr)."""
    n = fields["alpha"].size
    y = np.full((n, _ss.DIM), np.nan)
    ok = np.zeros(n, bool)
    iters = np.zeros(n, int)
    qerr = np.zeros(n)
    empty = fields["weight"].sum(axis=1) <= 0
    # Nothing kept: w_hat = 0.
    y[empty] = [0.0, 0.0, 0.0, 0.0, -np.inf]
    ok[empty] = True
    live = np.flatnonzero(~empty)
    sub = {k: v[live] for k, v in fields.items()}
    if loss == "square":
        ys = _square(sub)
        y[live] = ys
        ok[live] = np.all(np.isfinite(ys), axis=1)
        if quadrature_check and fine_fields is not None and live.size:
            # the closed form still integrates over the atoms: compare with the finer rule
            fine_sub = {k: v[live] for k, v in fine_fields.items()}
            acc_f = _outputs(_square(fine_sub), fine_sub)[0]
            qerr[live] = np.abs(acc_f - _outputs(ys, sub)[0])
    elif live.size:
        ys, good, it, nb = _solve_logistic(sub, nodes, tol, max_iter)
        y[live], ok[live], iters[live] = ys, good, it
        if quadrature_check and np.any(good):
            # The quadrature error is smooth along a curve: estimated at the anchors, and
            # between them the larger of the two bracketing anchors' (points without two
            # converged anchors get their own estimate).
            own = good & ((nb[:, 0] == np.arange(len(nb))) | ~good[nb[:, 0]] | ~good[nb[:, 1]])
            sel = live[own]
            fine_sub = {k: v[sel] for k, v in fine_fields.items()}
            coarse_sub = {k: v[sel] for k, v in fields.items()}
            dy = _correction(y[sel], coarse_sub, fine_sub, nodes)
            acc_c = _outputs(y[sel], coarse_sub)[0]
            acc_f = _outputs(y[sel] + dy, fine_sub)[0]
            est = np.full(len(nb), np.nan)
            est[own] = np.abs(acc_f - acc_c)
            between = good & ~own
            est[between] = np.maximum(est[nb[between, 0]], est[nb[between, 1]])
            qerr[live] = np.where(good, est, 0.0)
    return y, ok, iters, qerr


def _correction(y, coarse, fine, nodes):
    n = len(y)
    j = max(coarse["weight"].shape[1], fine["weight"].shape[1])
    chunk = max(8, 1 << int(np.floor(np.log2(max(1, _CHUNK_ELEMENTS // (4 * j * nodes))))))
    out = np.zeros_like(y)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        size = min(chunk, _bucket(len(idx)))
        c = _take(coarse, idx, size)
        f = _take(fine, idx, size)
        yp = np.concatenate([y[idx], np.repeat(y[idx][:1], size - len(idx), axis=0)])
        dy = _ss.quadrature_correction(np.asarray(yp), _params(c), _params(f), loss="logistic",
                                       nodes=nodes, fine_nodes=2 * nodes)
        out[idx] = np.asarray(dy)[: len(idx)]
    return out


def _check_common(loss, real_fraction, nodes, outer, tol, max_iter):
    _validate.loss(loss)
    with jax.enable_x64(True):  # float64 values, as in theory.finite.kept_masses
        rf = float(np.asarray(_validate.probability("real_fraction", real_fraction)))
        tol = float(np.asarray(_validate.finite("tol", tol)))
    for name, value, low in (("nodes", nodes, 8), ("outer", outer, 4), ("max_iter", max_iter, 1)):
        if name == "nodes" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    if not 0 < tol <= 1e-4:
        raise ValueError(f"tol must be in (0, 1e-4]; got {tol}")
    return rf, None if nodes is None else int(nodes), int(outer), tol, int(max_iter)


def _nodes_for(nodes, atom_list):
    """``nodes``, or where None the default for the scenario's dimension."""
    if nodes is not None:
        return nodes
    return DEFAULT_NODES_2D if any(a.active[1] for a in atom_list) else DEFAULT_NODES


def _fields_for(alpha, lam, atom_list, curve):
    fields = {"alpha": np.where(np.isinf(alpha), np.inf, alpha), "lam": lam,
              "infinite": np.isinf(alpha), "curve": curve}
    fields.update(_stack_atoms(atom_list))
    return fields


def solve(alpha, mu, lam, *, generator, verifier, loss="logistic", real_fraction=0.0,
          nodes=None, outer=DEFAULT_OUTER, tol=1e-10, max_iter=60,
          quadrature_check=True) -> SolveResult:
    """Finite-n (proportional-regime) learning curve of any ``theory.scenario`` scenario.

    The classifier w_hat = argmin (1/n) sum_i q_i l(y'_i x_i^T w) + (lam/2) ||w||^2 on n samples
    in dimension d, n / d = alpha, x | y ~ N(y mu, I_d); a fraction ``real_fraction`` of the n
    samples is real (true label, always kept), the rest labelled by ``generator`` and kept by
    ``verifier``. ``alpha`` and ``lam`` broadcast; ``alpha = inf`` gives the n -> inf limit.

    ``nodes``: Gauss-Hermite points of the inner integral (None: 32, or 16 where the scenario
    spans two rule directions); ``outer``: quadrature points per segment of each rule coordinate;
    ``tol``: fixed-point tolerance (scale-free residual). Returns a ``SolveResult``. Raises ValueError naming the parameter on bad input.
    """
    rf, nodes, outer, tol, max_iter = _check_common(loss, real_fraction, nodes, outer, tol,
                                                    max_iter)
    geo = _sc.geometry(mu, generator, verifier)
    shape, a_flat, l_flat, curve = _grid(alpha, lam)
    tau = _sc._tau(verifier, geo, generator)
    coarse = _sc.atoms(geo, generator, verifier, real_fraction=rf, tau=tau, outer=outer)
    nodes = _nodes_for(nodes, [coarse])
    n = a_flat.size
    fine = None
    if quadrature_check:
        fine = _sc.atoms(geo, generator, verifier, real_fraction=rf, tau=tau, outer=2 * outer,
                         real_nodes=48)
    # Every point carries the scenario's atoms: blocks of points whose copies fit
    # _BLOCK_ELEMENTS keep memory flat in the grid's size (each block anchors its own curves).
    atoms_count = len(coarse.weight) + (0 if fine is None else len(fine.weight))
    block = max(64, _BLOCK_ELEMENTS // max(1, atoms_count))
    parts = []
    with jax.enable_x64(True):
        for start in range(0, n, block):
            sl = slice(start, start + block)
            k = len(a_flat[sl])
            fields = _fields_for(a_flat[sl], l_flat[sl], [coarse] * k, curve[sl])
            fine_fields = None if fine is None else _fields_for(a_flat[sl], l_flat[sl],
                                                                [fine] * k, curve[sl])
            y_b, ok_b, it_b, qerr_b = _solve_fields(fields, fine_fields, loss, nodes, tol,
                                                    max_iter, quadrature_check)
            parts.append((y_b, ok_b, it_b, qerr_b, fields["mu_r"], fields["mu_m"]))
    y, ok, iters, qerr, mu_r, mu_m = (np.concatenate(x) for x in zip(*parts))
    acc, m, q, v, rho = _outputs(y, {"infinite": np.isinf(a_flat), "mu_r": mu_r, "mu_m": mu_m})
    a = y[:, 1:3]
    og = geo.g_norm * (a @ coarse.g_dir) if np.isfinite(geo.g_norm) else np.full(n, np.nan)
    ov = geo.v_norm * (a @ coarse.v_dir) if np.isfinite(geo.v_norm) else np.full(n, np.nan)
    outs = [acc, m, q, og, ov, rho, v]
    outs = [np.where(ok, o, np.nan) for o in outs]
    qerr = np.where(ok, qerr, np.nan)
    arrays = [o.reshape(shape) for o in outs + [ok, iters, qerr]]
    if shape == ():
        arrays = [o[()] for o in arrays]
    p, phi, psi = _sc._rates(geo, generator, verifier, tau)
    return SolveResult(*arrays, p, phi, psi)


class GenerationsResult(NamedTuple):
    """Replace-mode retraining, one entry per generation on the last axis.

    accuracy, m, q, overlap_v: of generation t's model (t = 1..generations), shape
    broadcast(alpha, lam) + (generations,); converged likewise. generator_accuracy: the accuracy
    of the rule that labelled generation t's data (the initial generator's at t = 1).
    p, phi, psi: the measured rates of generation t's synthesized data.
    """

    accuracy: np.ndarray
    m: np.ndarray
    q: np.ndarray
    overlap_v: np.ndarray
    converged: np.ndarray
    generator_accuracy: np.ndarray
    p: np.ndarray
    phi: np.ndarray
    psi: np.ndarray


def _model_geometry(mu_norm, m, q, cos_v, verifier_geo):
    """The Geometry of a fitted model used as the next generator (only Gram numbers matter)."""
    g_norm = np.sqrt(q)
    return _sc.Geometry(mu_norm, m / g_norm, g_norm, verifier_geo.a_v, verifier_geo.v_norm,
                        float(np.clip(cos_v, -1.0, 1.0)) if np.isfinite(cos_v) else np.nan)


def generations(alpha, mu, lam, *, initial, verifier, generations, labels="sample",
                loss="logistic", real_fraction=0.0, nodes=None, outer=DEFAULT_OUTER,
                tol=1e-10, max_iter=60) -> GenerationsResult:
    """Exact finite-n trajectory of replace-mode retraining (docs/theory.md, "Generations").

    Generation 1 trains on n = alpha d fresh samples labelled by ``initial`` (a
    ``theory.scenario`` generator) and kept by ``verifier``; generation t + 1 trains on fresh
    samples labelled by generation t's model w_t, y' = sign(x^T w_t) (``labels="sign"``) or
    y' = +1 with probability sigmoid(x^T w_t) (``"sample"``: the model's scale matters). In the
    proportional limit w_t enters the next generation only through mu^T w_t, w_v^T w_t and
    ||w_t||, so the trajectory is a deterministic map of those numbers. ``alpha`` and ``lam``
    broadcast (``alpha = inf``: the n -> inf trajectory).
    """
    rf, nodes, outer, tol, max_iter = _check_common(loss, real_fraction, nodes, outer, tol,
                                                    max_iter)
    if isinstance(generations, bool) or not isinstance(generations, (int, np.integer)) \
            or generations < 1:
        raise ValueError(f"generations must be an integer >= 1; got {generations!r}")
    if labels not in _sc.LABELS:
        raise ValueError(f"labels must be one of {_sc.LABELS}; got {labels!r}")
    geo0 = _sc.geometry(mu, initial, verifier)
    shape, a_flat, l_flat, curve = _grid(alpha, lam)
    n = a_flat.size
    # Each point carries its own atoms (its trajectory's scenario): blocks of points keep
    # memory flat in the grid's size, as in solve (a generation's atoms number ~10^3).
    block = max(64, _BLOCK_ELEMENTS // _GENERATION_ATOMS)
    if n > block:
        kw = dict(initial=initial, verifier=verifier, generations=generations, labels=labels,
                  loss=loss, real_fraction=real_fraction, nodes=nodes, outer=outer, tol=tol,
                  max_iter=max_iter)
        parts = [_generations_block(a_flat[s:s + block], mu, l_flat[s:s + block], **kw)
                 for s in range(0, n, block)]
        return GenerationsResult(*(np.concatenate(f).reshape(shape + (generations,))
                                   for f in zip(*parts)))
    rule = _sc.LinearGenerator(np.ones(1), labels)  # the model as a generator: Gram numbers only
    has_v = isinstance(verifier, (_sc.LinearVerifier, _sc.TopR))
    out = {k: np.full((n, generations), np.nan) for k in
           ("accuracy", "m", "q", "overlap_v", "generator_accuracy", "p", "phi", "psi")}
    conv = np.zeros((n, generations), bool)
    geos = [geo0] * n
    gens = [initial] * n
    alive = np.ones(n, bool)
    for t in range(generations):
        live = np.flatnonzero(alive)
        if live.size == 0:
            break
        taus = [_sc._tau(verifier, geos[i], gens[i]) if alive[i] else 0.0 for i in range(n)]
        built = {i: _sc.atoms(geos[i], gens[i], verifier, real_fraction=rf, tau=taus[i],
                              outer=outer) for i in live}
        # stopped points (not converged, or w = 0) ride along on a live point's atoms, masked
        atom_list = [built.get(i, built[live[0]]) for i in range(n)]
        fields = _fields_for(a_flat, l_flat, atom_list, curve)
        with jax.enable_x64(True):
            y, ok, _, _ = _solve_fields(fields, None, loss, _nodes_for(nodes, atom_list), tol,
                                        max_iter, False)
        acc, m, q, _, _ = _outputs(y, fields)
        ok &= alive
        for i in live:
            g = geos[i]
            out["generator_accuracy"][i, t] = (ndtr(g.a_g) if isinstance(gens[i],
                                               _sc.LinearGenerator) else 1.0 - gens[i].p)
            out["p"][i, t], out["phi"][i, t], out["psi"][i, t] = _sc._rates(
                g, gens[i], verifier, taus[i])
        a = y[:, 1:3]
        v_dir = np.stack([at.v_dir for at in atom_list])
        ov = np.sum(a * v_dir, axis=1)  # w_v-hat^T w_t
        out["accuracy"][:, t] = np.where(ok, acc, np.nan)
        out["m"][:, t] = np.where(ok, m, np.nan)
        out["q"][:, t] = np.where(ok, q, np.nan)
        out["overlap_v"][:, t] = np.where(ok & has_v, geo0.v_norm * ov, np.nan)
        conv[:, t] = ok
        alive = ok & (q > 0)
        geos = [_model_geometry(geo0.mu_norm, m[i], q[i], ov[i] / np.sqrt(q[i]) if has_v
                                else np.nan, geo0) if alive[i] else geo0 for i in range(n)]
        gens = [rule] * n
    arrays = {k: v.reshape(shape + (generations,)) for k, v in out.items()}
    return GenerationsResult(arrays["accuracy"], arrays["m"], arrays["q"], arrays["overlap_v"],
                             conv.reshape(shape + (generations,)), arrays["generator_accuracy"],
                             arrays["p"], arrays["phi"], arrays["psi"])


def _generations_block(alpha, mu, lam, **kw):
    """One block of ``generations``' points (1-D alpha and lam of equal length)."""
    return generations(alpha, mu, lam, **kw)
