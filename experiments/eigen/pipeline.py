"""Generate -> verify -> retrain on the eigenvalue task
(docs/experiments.md, section 'Eigenvalue protocol').

1. ``generator``: a transformer trained on ``n_real`` real matrices (stopped while imperfect).
2. ``synthesize``: beam search (beam ``beam``) on ``n_synth`` fresh matrices: the candidates.
3. ``scorer``: a second model, trained on the same real data from another initialisation,
   scores every candidate (the model-based verifier).
4. ``verify``: every verifier of ``verifiers.py`` selects from the candidates; p, phi, psi, p*
   measured on all candidates (``simulate.selection.measure``) and estimated from an audit set
   of ``audit`` candidates (``simulate.selection.audit``).
5. ``retrain``: for each verifier and each pool size s in ``sizes`` (multiples of n_real), a
   fresh model is trained on what the verifier keeps among the first s candidates (answers that
   do not parse are never trained on); a model trained on s real matrices is the reference.
6. Every model is scored on ``n_test`` held-out matrices (greedy decoding): accuracy at 5, 2, 1
   and 0.5 % relative L1 error.
7. ``replicates`` (optional, ``{"seeds": n, "verifiers": [...]}``): the generator and the
   named verifiers' largest-pool models are trained again with ``n - 1`` other seeds (rows
   ``model = "replicate"``), so that a difference from the generator can be judged against
   training noise, which the test-set standard errors do not contain.

Every stage is stored under ``out/stages/`` as files named by a hash of everything it depends
on, written atomically, the JSON record last; a rerun skips finished stages, and a training
killed midway resumes from its checkpoint. Randomness: one root seed, ``fold_in`` per stage.
The results table (``results.csv``, one row per verifier and size, plus the generator and the
real-data references) and ``run.json`` (configuration, version, seed) are written at the end.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments import seq2seq
from experiments._stages import StagedRun, stage_hash
from experiments._stats import seed_spread, spearman, spread, standard_error
from simulate import store
from simulate.selection import audit, measure

from . import data, metrics, verifiers
from .encoding import Tokenizer

__all__ = ["run", "load_results"]

STREAMS = {"real": 0, "synth": 1, "test": 2, "generator": 3, "scorer": 4, "verify": 5,
           "retrain": 6, "audit": 7, "real_ref": 8}


class _Run(StagedRun):
    name = "eigen"
    streams = STREAMS

    def __init__(self, config: dict, out: Path, progress: bool):
        super().__init__(config, out, progress)
        self.tok = Tokenizer(config["encoding"], max_dim=config["d"])
        d = config["d"]
        self.model_config = seq2seq.ModelConfig(
            src_vocab_size=self.tok.vocab_size, tgt_vocab_size=self.tok.vocab_size,
            max_src_len=self.tok.matrix_length(d), max_tgt_len=self.tok.vector_length(d),
            **config["model"])

    # --- data -----------------------------------------------------------------------------

    def dataset(self, stream, count, start=0):
        a = data.matrices(self.key(stream), count, self.cfg["d"], start=start)
        return a, data.eigenvalues(a)

    def encode(self, mats, eigs):
        d = self.cfg["d"]
        src = self.tok.pad([self.tok.encode_matrix(a) for a in mats], self.tok.matrix_length(d))
        tgt = self.tok.pad([self.tok.encode_vector(v) for v in eigs], self.tok.vector_length(d))
        return src, tgt

    # --- models ---------------------------------------------------------------------------

    def trained(self, name, src, tgt, train_cfg, key, weights=None):
        """A model trained (or loaded) under ``stages/<name>-<hash>.eqx``."""
        tc = seq2seq.TrainConfig(**train_cfg)
        ident = {"model": self.model_config.to_dict(), "train": tc.to_dict(),
                 "data": hashlib.sha256(src.tobytes() + tgt.tobytes()).hexdigest()[:16],
                 "key": np.asarray(jax.random.key_data(key)).tolist()}
        path = self.stages / f"{name}-{stage_hash(ident)}.eqx"
        if Path(f"{path}.json").exists():
            model, _, _ = seq2seq.load_checkpoint(path)
            return model
        self.log(f"training {name} on {len(src)} pairs ({tc.steps} steps)")
        t0 = time.perf_counter()
        res = seq2seq.train(self.model_config, tc, src, tgt, key=key, weights=weights,
                            checkpoint_dir=self.stages / f"{name}-{stage_hash(ident)}.ckpt",
                            progress=self.progress)
        seq2seq.save_checkpoint(path, res.model, self.model_config,
                                {"final_loss": float(np.nanmean(res.losses[-50:])),
                                 "seconds": time.perf_counter() - t0})
        return res.model

    def evaluate(self, model, test_src, test_eigs, baseline=None):
        """Accuracies on the test matrices, with the standard error of "accuracy"; with
        ``baseline`` (the generator's per-matrix correctness) also the paired standard error
        of the difference from it. Returns the row fields and the per-matrix correctness."""
        out = seq2seq.greedy_decode(model, test_src, max_len=self.model_config.max_tgt_len)
        preds = [self.tok.decode_vector(row) for row in out]
        errors = metrics.relative_errors(preds, test_eigs)
        # "accuracy": at the run's own correctness threshold tol (the verifiers' notion).
        correct = (errors < self.cfg["tol"]).astype(float)
        row = {"accuracy": float(np.mean(correct)), "accuracy_se": standard_error(correct),
               **metrics.accuracies(errors)}
        if baseline is not None:
            row["accuracy_minus_generator_se"] = standard_error(correct - baseline)
        return row, correct

    # --- the pipeline ---------------------------------------------------------------------

    def run(self):
        cfg = self.cfg
        real_m, real_e = self.dataset("real", cfg["n_real"])
        real_src, real_tgt = self.encode(real_m, real_e)
        test_m, test_e = self.dataset("test", cfg["n_test"])
        test_src, _ = self.encode(test_m, test_e)

        generator = self.trained("generator", real_src, real_tgt, cfg["generator_train"],
                                 self.key("generator"))
        gen_eval, gen_correct = self.evaluate(generator, test_src, test_e)
        self.log(f"generator: {gen_eval}")
        scorer = self.trained("scorer", real_src, real_tgt, cfg["generator_train"],
                              self.key("scorer"))

        cand, synth_src = self.candidates(generator, scorer)
        rows = [{"model": "generator", "verifier": "", "size": cfg["n_real"],
                 "train_pairs": cfg["n_real"], **gen_eval}]
        audit_idx = np.asarray(jax.random.choice(self.key("audit"), cand.errors.shape[0],
                                                 (min(cfg["audit"], cand.errors.shape[0]),),
                                                 replace=False))
        order = np.arange(cand.errors.shape[0])  # pools are prefixes of the candidate set
        largest_selection = {}  # spec -> (verifier index, training indices at the largest pool)
        for vi, spec in enumerate(cfg["verifiers"]):
            sel = verifiers.select(spec, cand, self.key("verify", vi))
            rates = measure(jnp.asarray(sel.rate_correct), jnp.asarray(sel.rate_kept))
            audit = self.audit(spec, sel, audit_idx, cand)
            chosen_ok = np.isfinite(cand.errors[order, sel.chosen])
            for size in cfg["sizes"]:
                pool = order[:size]
                train_idx = pool[sel.kept[pool] & chosen_ok[pool]]
                if size == max(cfg["sizes"]):
                    largest_selection[spec] = (vi, train_idx, sel.chosen)
                row = {"model": "synthetic", "verifier": spec, "size": int(size),
                       "train_pairs": int(train_idx.size),
                       "p": float(rates.p), "phi": float(rates.phi), "psi": float(rates.psi),
                       "pstar": float(rates.pstar), "kept": float(rates.kept), **audit}
                if train_idx.size == 0:
                    rows.append({**row, **{k: float("nan") for k in
                                           [*gen_eval, "accuracy_minus_generator_se"]}})
                    continue
                beams = self.beam_tokens(synth_src)
                tgt = beams[train_idx, sel.chosen[train_idx]]
                model = self.trained(f"retrain-v{vi}-s{size}", synth_src[train_idx], tgt,
                                     cfg["retrain"], self.key("retrain", vi, int(size)))
                rows.append({**row, **self.evaluate(model, test_src, test_e, gen_correct)[0]})
                self.log(f"{spec} size {size}: {rows[-1]['accuracy']:.3f}")
        for size in cfg["sizes"]:
            ref_m, ref_e = self.dataset("real_ref", size)
            src, tgt = self.encode(ref_m, ref_e)
            model = self.trained(f"real-s{size}", src, tgt, cfg["retrain"],
                                 self.key("real_ref", int(size)))
            rows.append({"model": "real", "verifier": "", "size": int(size),
                         "train_pairs": int(size),
                         **self.evaluate(model, test_src, test_e, gen_correct)[0]})
        rows += self.replicates(real_src, real_tgt, synth_src, largest_selection, test_src,
                                test_e, gen_correct)
        return rows

    def replicates(self, real_src, real_tgt, synth_src, largest_selection, test_src, test_e,
                   gen_correct):
        """The generator and the named verifiers' largest-pool models with other seeds
        (seed s >= 1 folds s into the seed-0 model's key: the seed-0 model is the main row)."""
        rep = self.cfg.get("replicates")
        if not rep:
            return []
        rows, size = [], max(self.cfg["sizes"])
        for seed in range(1, rep["seeds"]):
            model = self.trained(f"generator-seed{seed}", real_src, real_tgt,
                                 self.cfg["generator_train"], self.key("generator", seed))
            rows.append({"model": "replicate", "verifier": "", "size": self.cfg["n_real"],
                         "train_pairs": self.cfg["n_real"], "seed": seed,
                         **self.evaluate(model, test_src, test_e, gen_correct)[0]})
            self.log(f"generator seed {seed}: {rows[-1]['accuracy']:.3f}")
            for spec in rep["verifiers"]:
                vi, train_idx, chosen = largest_selection[spec]
                if train_idx.size == 0:
                    continue
                tgt = self.beam_tokens(synth_src)[train_idx, chosen[train_idx]]
                model = self.trained(f"retrain-v{vi}-s{size}-seed{seed}", synth_src[train_idx],
                                     tgt, self.cfg["retrain"],
                                     self.key("retrain", vi, int(size), seed))
                rows.append({"model": "replicate", "verifier": spec, "size": int(size),
                             "train_pairs": int(train_idx.size), "seed": seed,
                             **self.evaluate(model, test_src, test_e, gen_correct)[0]})
                self.log(f"{spec} size {size} seed {seed}: {rows[-1]['accuracy']:.3f}")
        return rows

    def audit(self, spec, sel, audit_idx, cand):
        """p* estimated from the audit candidates alone (an interval, as a user would have)."""
        if spec.startswith("best_of_beam"):
            k = cand.errors.shape[1]
            idx = (audit_idx[:, None] * k + np.arange(k)).ravel()
        else:
            idx = audit_idx
        est = audit(np.asarray(sel.rate_correct)[idx], np.asarray(sel.rate_kept)[idx])
        return {"audit_pstar": est.pstar, "audit_low": est.pstar_interval[0],
                "audit_high": est.pstar_interval[1], "audit_n": int(est.n)}

    def beam_tokens(self, synth_src):
        return self._beam_cache

    def candidates(self, generator, scorer):
        cfg = self.cfg
        synth_m, synth_e = self.dataset("synth", cfg["n_synth"])
        synth_src, _ = self.encode(synth_m, synth_e)
        ident = {"generator": stage_hash(jax.tree_util.tree_map(
            lambda x: float(jnp.sum(x)), jax.tree_util.tree_leaves(generator))),
            "n_synth": cfg["n_synth"], "beam": cfg["beam"], "seed": cfg["root_seed"],
            "d": cfg["d"], "encoding": cfg["encoding"]}
        path = self.stages / f"candidates-{stage_hash(ident)}.npz"
        if not path.exists():
            self.log(f"beam search ({cfg['beam']}) on {cfg['n_synth']} matrices")
            beams = seq2seq.beam_search(generator, synth_src, beam_size=cfg["beam"],
                                        max_len=self.model_config.max_tgt_len,
                                        batch_size=cfg.get("decode_batch", 256))
            lengths = np.maximum((beams.tokens != seq2seq.PAD).sum(-1), 1)
            gen_scores = beams.scores / lengths
            m, k, length = beams.tokens.shape
            ll, n = seq2seq.log_likelihood(scorer, np.repeat(synth_src, k, 0),
                                           beams.tokens.reshape(m * k, length))
            model_scores = (ll / np.maximum(n, 1)).reshape(m, k)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, tokens=beams.tokens, gen_scores=gen_scores, model_scores=model_scores)
            tmp.replace(path)
        stored = np.load(path)
        tokens = stored["tokens"]
        self._beam_cache = tokens
        m, k, _ = tokens.shape
        preds = np.full((m, k, cfg["d"]), np.nan)
        decoded = [[self.tok.decode_vector(tokens[i, j]) for j in range(k)] for i in range(m)]
        errors = np.stack([metrics.relative_errors([decoded[i][j] for i in range(m)], synth_e)
                           for j in range(k)], axis=1)
        for i in range(m):
            for j in range(k):
                if decoded[i][j] is not None and decoded[i][j].shape == (cfg["d"],):
                    preds[i, j] = decoded[i][j]
        cand = verifiers.Candidates(preds, errors, synth_e, stored["gen_scores"],
                                    stored["model_scores"], cfg["tol"])
        return cand, synth_src


def run(config: dict, out, *, progress=True) -> list[dict]:
    """Run (or resume) the pipeline of ``config`` (see ``presets``) into ``out``; returns rows."""
    from .presets import validate

    config = validate(config)
    out = Path(out)
    meta_path = out / "run.json"
    if meta_path.exists():
        stored = store.read_json(meta_path)
        if stored.get("config") != config:
            raise ValueError(f"{out} holds another eigenvalue run; choose another --out")
    else:
        store.write_json(meta_path, {"config": config, "root_seed": config["root_seed"],
                                     "package_version": _version()})
    t0 = time.perf_counter()
    with jax.enable_x64(False):
        rows = _Run(config, out, progress).run()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    store.write_csv(out / "results.csv", columns, rows)
    summary = summarize(rows)
    store.write_json(out / "summary.json", {**summary, "tol": config["tol"],
                                            "seconds": round(time.perf_counter() - t0, 1)})
    return rows


def summarize(rows) -> dict:
    """The claims the cpu preset must show, computed from the rows."""
    gen = next(r for r in rows if r["model"] == "generator")
    synth = [r for r in rows if r["model"] == "synthetic"]
    largest = max(r["size"] for r in synth)
    final = {r["verifier"]: r for r in synth if r["size"] == largest}
    usable = [v for v, r in final.items() if np.isfinite(r["pstar"]) and
              np.isfinite(r["accuracy"])]
    acc = [final[v]["accuracy"] for v in usable]
    rho = spearman([final[v]["pstar"] for v in usable], acc)
    audit_rho = spearman([final[v]["audit_pstar"] for v in usable], acc)
    none = [r for r in synth if r["verifier"] == "none"]
    oracle = [r for r in synth if r["verifier"] == "oracle"]
    return {
        **_replicate_summary(rows, gen, final),
        "generator_accuracy": gen["accuracy"],
        "largest_size": largest,
        "none_below_generator_at_every_size": bool(none) and all(
            r["accuracy"] < gen["accuracy"] for r in none),
        "oracle_above_generator_at_largest": bool(oracle) and
        final["oracle"]["accuracy"] > gen["accuracy"],
        # Differences from the generator on the same test matrices, with their paired
        # standard errors (runs stored before these were recorded give NaN).
        "minus_generator_at_largest": {
            v: {"difference": r["accuracy"] - gen["accuracy"],
                "se": r.get("accuracy_minus_generator_se", float("nan"))}
            for v, r in sorted(final.items())},
        "verifiers": len(usable),
        "spearman_pstar_accuracy": rho,
        "spearman_audit_pstar_accuracy": audit_rho,
        "best_by_audit": max(usable, key=lambda v: final[v]["audit_pstar"]) if usable else None,
        "best_by_accuracy": max(usable, key=lambda v: final[v]["accuracy"]) if usable else None,
    }


def _replicate_summary(rows, gen, final) -> dict:
    """Accuracy over training seeds (seed 0 is the main row) of each replicated verifier's
    model, against the generator that made its data (``_stats.seed_spread``); the generator's
    own other seeds are other generators, reported for the size of training noise only."""
    reps = [r for r in rows if r["model"] == "replicate"]
    if not reps:
        return {}
    by_name = {spec: [final[spec]["accuracy"]] + [r["accuracy"] for r in reps
                                                  if r["verifier"] == spec]
               for spec in dict.fromkeys(r["verifier"] for r in reps if r["verifier"])}
    test_se = {spec: final[spec].get("accuracy_minus_generator_se", 0.0) for spec in by_name}
    gens = [gen["accuracy"]] + [r["accuracy"] for r in reps if r["verifier"] == ""]
    return {"training_seeds": seed_spread(by_name, gen["accuracy"], test_se),
            "generator_seeds": spread(gens)}


def load_results(out) -> tuple[list[dict], dict]:
    """(rows, summary) of a finished run (the summary recomputed when summary.json is absent)."""
    rows, summary = store.read_run(out, "eigenvalue run")
    return rows, summary or summarize(rows)


def _version():
    try:
        from importlib.metadata import version

        return version("beyond-collapse")
    except Exception:
        return "unknown"
