"""Records the selections of the pre-issue-19 code (main at c35f981) for the bit-for-bit tests
of the unified selection interface (tests/test_selection_reference.py). Run once, at that
commit: ``PYTHONPATH=. python tests/data/record_selection_reference.py``. It calls the API of that
commit (``pruner.keep``, ``best_of_k``, ``prune``), which the selection interface replaced: check
out c35f981 to run it again."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.eigen import verifiers as ev
from experiments.summarize import verifiers as sv
from simulate import generators, pruners, run

OUT = Path(__file__).with_name("selection_reference.npz")
rec = {}

# simulate: every pruner on one set of mixture candidates, with and without x64.
rng = np.random.default_rng(19)
n, d = 257, 3
x_np = rng.standard_normal((n, d))
lab_np = rng.choice([-1.0, 1.0], n)
cor_np = rng.random(n) < 0.7
sc_np = np.round(rng.standard_normal(n), 1)  # ties
w_np = np.array([1.0, -0.5, 0.25])
rec.update(sim_x=x_np, sim_labels=lab_np, sim_correct=cor_np, sim_scores=sc_np, sim_w=w_np)
for x64 in (False, True):
    with jax.enable_x64(x64):
        x, lab, cor = jnp.asarray(x_np), jnp.asarray(lab_np), jnp.asarray(cor_np)
        for seed in (0, 7):
            key = jax.random.key(seed)
            cases = {"none": pruners.none(), "random": pruners.random(0.37),
                     "oracle": pruners.oracle(), "label_only": pruners.label_only(0.8, 0.25),
                     "linear": pruners.linear(w_np, 0.1), "top_r_w": pruners.top_r(0.3, w_np)}
            for name, p in cases.items():
                rec[f"sim_{int(x64)}_{seed}_{name}"] = np.asarray(p.keep(key, x, lab, correct=cor))
            rec[f"sim_{int(x64)}_{seed}_top_r_scores"] = np.asarray(
                pruners.top_r(0.3).keep(key, x, lab, scores=jnp.asarray(sc_np)))

# simulate.run: rates and accuracies of a small sweep (all pruner kinds).
mu = np.array([1.0, 0.5, 0.0])
table = run(mu, 300, generators=[generators.flip(0.2), generators.linear(np.array([1.0, 0.2, 0.3]))],
            pruners=[pruners.none(), pruners.random(0.5), pruners.oracle(),
                     pruners.label_only(0.9, 0.3), pruners.linear(np.array([1.0, 1.0, 0.0]), 0.2),
                     pruners.top_r(0.4, np.array([1.0, 0.0, 1.0])),
                     pruners.supervised(30, rate=0.5), pruners.supervised(30)],
            lam=0.05, seeds=2, root_seed=5)
for col in ("p", "phi", "psi", "pstar", "kept", "accuracy"):
    rec[f"run_{col}"] = np.asarray(table.column(col), float)

# eigen: every verifier spec on random candidates, as the pipeline calls it (x64 off).
m, k = 300, 3
truth = rng.standard_normal((m, 2))
preds = truth[:, None, :] * (1 + rng.choice([0.0, 0.01, 0.03, 0.2], (m, k, 1)))
preds[rng.random((m, k)) < 0.1] = np.nan
err = np.sum(np.abs(preds - truth[:, None]), -1) / np.sum(np.abs(truth), -1)[:, None]
err = np.where(np.isnan(err), np.inf, err)
gen_s = np.round(rng.standard_normal((m, k)), 1)
mod_s = rng.standard_normal((m, k))
rec.update(eig_truth=truth, eig_preds=preds, eig_errors=err, eig_gen=gen_s, eig_model=mod_s)
cand = ev.Candidates(preds, err, truth, gen_s, mod_s, 0.05)
SPECS = ["none", "random:rate=0.4", "oracle", "oracle:tol=0.02", "best_of_beam",
         "best_of_beam:tol=0.02", "flip:r=0.2", "perturbed:s=0.05", "model:rate=0.3",
         "self:rate=0.3"]
with jax.enable_x64(False):
    for i, spec in enumerate(SPECS):
        sel = ev.select(spec, cand, jax.random.fold_in(jax.random.key(11), i))
        for field in sel._fields:
            rec[f"eig_{i}_{field}"] = np.asarray(getattr(sel, field))
rec["eig_specs"] = np.array(SPECS)

# summarize: best-of-k (ties) and top-rate pruning.
scores = np.round(rng.random((50, 4)), 1)
rec["sum_scores"] = scores
rec["sum_best"] = sv.best_of_k(scores)
rec["sum_prune"] = sv.prune(scores, 0.3)
rec["sum_random_scores"] = sv.Random(jax.random.key(4)).scores([None] * 50, [["a"] * 4] * 50)

np.savez_compressed(OUT, **rec)
print(f"wrote {OUT} ({len(rec)} arrays)")
