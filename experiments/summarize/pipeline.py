"""Generate -> verify -> fine-tune on summarization
(docs/experiments.md, section 'Summarization protocol').

1. A corpus of ``n_articles`` articles (``corpus.make_corpus``, or XLSUM files through
   ``records.read_xlsum``), split into train / held-out test; a fraction ``real_fraction`` of the
   train pairs (12.5 % in the literature) is the generator's real data. With
   ``title_in_source`` every model reads ``title: <title> . <text>`` (XLSUM records carry titles).
2. ``generator``: a summarizer trained on those real pairs; ``other``: a second model (the
   "other model" verifier), trained on ``other_fraction`` of the pairs, a stronger summarizer.
3. ``candidates``: ``k`` sampled summaries per remaining train article, with the generator's
   length-normalised log-likelihoods; stored as a candidate file.
4. Verifiers (oracle ROUGE-1, random, self, other model, an external judge) score every
   candidate; selection is best-of-k per article (``simulate.selection.BestOfK``); p* of each
   under the three rules of ``pstar.py`` (estimated with intervals by
   ``simulate.selection.audit``).
5. A fresh model is trained on the selected pairs of the first ``size`` articles, for each
   size in ``sizes``, and scored by ROUGE-1/2/L (greedy decoding) on the test articles, beside
   the generator. Which rule's p* ranks the verifiers' final ROUGE-1 best is reported
   (Spearman correlations).
6. ``replicates`` (optional, ``{"seeds": n, "verifiers": [...]}``): the generator and the
   named verifiers' largest-size models trained again with ``n - 1`` other seeds (rows
   ``model = "replicate"``), so that differences are judged against training noise too.

Stages are stored under ``out/stages/`` keyed by a hash of their inputs and skipped on rerun;
trainings resume from checkpoints. Results: ``results.csv``, ``summary.json``, ``run.json``.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import jax
import numpy as np

from experiments._stages import StagedRun, stage_hash
from experiments._stats import seed_spread, spearman, spread, standard_error
from simulate import selection, store

from . import corpus, pstar, records, rouge, verifiers
from .backends import JaxBackend
from .presets import VERIFIERS
from .tokenizer import WordTokenizer

__all__ = ["run", "load_results", "keyword_judge", "with_title"]

BEST_OF_K = selection.BestOfK()  # each article's highest-scoring candidate
STREAMS = {"corpus": 0, "generator": 1, "other": 2, "candidates": 3, "random": 4,
           "retrain": 5, "test": 6}


def keyword_judge(article_text: str, candidate: str) -> float:
    """An external judge for the demonstration: the fraction of the candidate's words that occur
    in the article (a faithfulness heuristic, blind to what matters in the article)."""
    words = candidate.split()
    if not words:
        return 0.0
    vocab = set(article_text.split())
    return sum(w in vocab for w in words) / len(words)


def with_title(articles):
    """Articles whose text starts with ``title: <title> .`` (the model reads it as a prompt)."""
    return [a._replace(text=f"title: {a.title} . {a.text}") for a in articles]


class _Run(StagedRun):
    name = "summarize"
    streams = STREAMS

    def backend(self, tok):
        c = self.cfg
        return JaxBackend(tok, c["max_src_len"], c["max_tgt_len"], c["model"])

    def trained(self, name, tok, texts, summaries, key, weights=None):
        ident = {"cfg": self.cfg["model"], "train": self.cfg["train"],
                 "data": hashlib.sha256("\x00".join(texts + summaries).encode()).hexdigest(),
                 "key": np.asarray(jax.random.key_data(key)).tolist(), "words": tok.words}
        path = self.stages / f"{name}-{stage_hash(ident)}.eqx"
        if Path(f"{path}.json").exists():
            return JaxBackend.load(path)
        self.log(f"training {name} on {len(texts)} pairs")
        b = self.backend(tok).train(texts, summaries, key=key, train_config=self.cfg["train"],
                                    weights=weights, checkpoint_dir=Path(f"{path}.ckpt"),
                                    progress=self.progress)
        b.save(path)
        return b

    def evaluate(self, backend, test, baseline=None):
        """Mean ROUGE on ``test`` with the standard error of ROUGE-1's mean; with ``baseline``
        (another model's per-article ROUGE-1) also the paired standard error of the difference
        from it, the noise that a comparison on the same articles carries. Returns the row
        fields and the per-article ROUGE-1."""
        preds = backend.greedy([a.text for a in test])
        s = rouge.scores(preds, [a.summary for a in test])
        per_article = s["rouge1"]
        row = {k: float(v.mean()) for k, v in s.items()}
        row["rouge1_se"] = standard_error(per_article)
        if baseline is not None:
            row["rouge1_minus_generator_se"] = standard_error(per_article - baseline)
        return row, per_article

    def run(self):
        c = self.cfg
        if c.get("xlsum_train"):
            arts = records.read_xlsum(c["xlsum_train"])
            test = records.read_xlsum(c["xlsum_test"])
        else:
            shape = {"distractors": c["distractors"], "towns": c["towns"]}
            arts = corpus.make_corpus(self.key("corpus"), c["n_articles"], **shape)
            test = corpus.make_corpus(self.key("test"), c["n_test"], **shape)
        if c["title_in_source"]:
            arts, test = with_title(arts), with_title(test)
        n_real = max(1, int(round(c["real_fraction"] * len(arts))))
        real, pool = arts[:n_real], arts[n_real:]
        tok = WordTokenizer.fit([a.text for a in arts] + [a.summary for a in arts])
        gen = self.trained("generator", tok, [a.text for a in real], [a.summary for a in real],
                           self.key("generator"))
        n_other = max(1, int(round(c["other_fraction"] * len(arts))))
        other = self.trained("other", tok, [a.text for a in arts[:n_other]],
                             [a.summary for a in arts[:n_other]], self.key("other"))
        gen_eval, gen_rouge1 = self.evaluate(gen, test)
        other_eval, _ = self.evaluate(other, test, gen_rouge1)
        self.log(f"generator {gen_eval}; other model {other_eval}")

        cands, gen_scores = self.candidates(gen, pool)
        rouge1 = verifiers.Oracle().scores(pool, cands)
        named = [(name, verifiers.SPECS.build(name, key=self.key("random"), other=other,
                                              judge=keyword_judge)) for name in VERIFIERS]
        rows = [{"model": "generator", "verifier": "", "size": n_real, **gen_eval},
                {"model": "other_model", "verifier": "", "size": n_other, **other_eval}]
        chosen_by = {}
        for vi, (name, ver) in enumerate(named):
            scores = rouge1 if name == "oracle" else ver.scores(pool, cands,
                                                               generator_scores=gen_scores)
            kept = verifiers.select(BEST_OF_K, scores)
            chosen = chosen_by[name] = np.argmax(kept, axis=1)
            rates = {}
            for rule in pstar.RULES:
                est = pstar.estimate(rule, rouge1, scores, kept, threshold=c["threshold"])
                rates.update({f"pstar_{rule}": est.pstar, f"pstar_{rule}_low":
                              est.pstar_interval[0], f"pstar_{rule}_high": est.pstar_interval[1]})
            selected_rouge = float(rouge1[np.arange(len(pool)), chosen].mean())
            for size in c["sizes"]:
                texts = [pool[i].text for i in range(size)]
                summaries = [cands[i][chosen[i]] for i in range(size)]
                model = self.trained(f"retrain-{name}-s{size}", tok, texts, summaries,
                                     self.key("retrain", vi, size))
                rows.append({"model": "synthetic", "verifier": name, "size": size, **rates,
                             "selected_rouge1": selected_rouge,
                             **self.evaluate(model, test, gen_rouge1)[0]})
                self.log(f"{name} size {size}: rouge1 {rows[-1]['rouge1']:.3f}")
        rows += self.replicates(tok, real, pool, cands, chosen_by, test, gen_rouge1)
        return rows

    def replicates(self, tok, real, pool, cands, chosen_by, test, gen_rouge1):
        """The generator and the named verifiers' largest-size models with other seeds (seed
        s >= 1 folds s into the seed-0 model's key: the seed-0 model is the main row)."""
        rep = self.cfg.get("replicates")
        if not rep:
            return []
        rows, size = [], max(self.cfg["sizes"])
        for seed in range(1, rep["seeds"]):
            model = self.trained(f"generator-seed{seed}", tok, [a.text for a in real],
                                 [a.summary for a in real], self.key("generator", seed))
            rows.append({"model": "replicate", "verifier": "", "size": len(real), "seed": seed,
                         **self.evaluate(model, test, gen_rouge1)[0]})
            self.log(f"generator seed {seed}: rouge1 {rows[-1]['rouge1']:.4f}")
            for name in rep["verifiers"]:
                vi, chosen = VERIFIERS.index(name), chosen_by[name]
                model = self.trained(f"retrain-{name}-s{size}-seed{seed}", tok,
                                     [pool[i].text for i in range(size)],
                                     [cands[i][chosen[i]] for i in range(size)],
                                     self.key("retrain", vi, size, seed))
                rows.append({"model": "replicate", "verifier": name, "size": size,
                             "seed": seed, **self.evaluate(model, test, gen_rouge1)[0]})
                self.log(f"{name} size {size} seed {seed}: rouge1 {rows[-1]['rouge1']:.4f}")
        return rows

    def candidates(self, gen, pool):
        c = self.cfg
        ident = {"pool": hashlib.sha256("\x00".join(a.text for a in pool).encode()).hexdigest(),
                 "k": c["k"], "temperature": c["temperature"], "seed": c["root_seed"],
                 "gen": stage_hash([float(np.sum(x))
                                    for x in jax.tree_util.tree_leaves(gen.model)])}
        path = self.stages / f"candidates-{stage_hash(ident)}.jsonl"
        if not path.exists():
            self.log(f"sampling {c['k']} candidates for {len(pool)} articles")
            texts, scores = gen.generate([a.text for a in pool], c["k"],
                                         key=self.key("candidates"),
                                         temperature=c["temperature"])
            records.write_candidates(path, [records.Candidate(a.id, t, float(s))
                                            for a, ts, ss in zip(pool, texts, scores)
                                            for t, s in zip(ts, ss)])
        stored = records.read_candidates(path)
        k = c["k"]
        if len(stored) != k * len(pool):
            raise ValueError(f"{path}: expected {k * len(pool)} candidates, found {len(stored)}")
        cands = [[stored[i * k + j].text for j in range(k)] for i in range(len(pool))]
        scores = np.array([[stored[i * k + j].score for j in range(k)]
                           for i in range(len(pool))])
        return cands, scores


def run(config: dict, out, *, progress=True) -> list[dict]:
    """Run (or resume) the pipeline of ``config`` (see ``presets``) into ``out``."""
    from .presets import validate

    config = validate(config)
    out = Path(out)
    meta = out / "run.json"
    if meta.exists():
        if store.read_json(meta).get("config") != config:
            raise ValueError(f"{out} holds another summarization run; choose another --out")
    else:
        store.write_json(meta, {"config": config, "root_seed": config["root_seed"]})
    t0 = time.perf_counter()
    with jax.enable_x64(False):
        rows = _Run(config, out, progress).run()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    store.write_csv(out / "results.csv", columns, rows)
    store.write_json(out / "summary.json", {**summarize(rows),
                                            "seconds": round(time.perf_counter() - t0, 1)})
    return rows


def summarize(rows) -> dict:
    gen = next(r for r in rows if r["model"] == "generator")
    synth = [r for r in rows if r["model"] == "synthetic"]
    largest = max(r["size"] for r in synth)
    final = {r["verifier"]: r for r in synth if r["size"] == largest}
    names = sorted(final)

    def correlations(at):
        return {rule: spearman([at[v][f"pstar_{rule}"] for v in sorted(at)],
                               [at[v]["rouge1"] for v in sorted(at)]) for rule in pstar.RULES}

    by_size_and_rule = {int(size): correlations({r["verifier"]: r for r in synth
                                                 if r["size"] == size})
                        for size in sorted({r["size"] for r in synth})}
    by_rule = by_size_and_rule[int(largest)]
    finite = {r: v for r, v in by_rule.items() if np.isfinite(v)}

    def by_size(verifier):
        return {int(r["size"]): r for r in synth if r["verifier"] == verifier}

    def against_generator(r):
        """ROUGE-1 minus the generator's, with the paired standard error where recorded."""
        return {"size": int(r["size"]), "difference": r["rouge1"] - gen["rouge1"],
                "se": r.get("rouge1_minus_generator_se", float("nan"))}

    random, oracle = by_size("random"), by_size("oracle")
    reps = [r for r in rows if r["model"] == "replicate"]
    seeds = {}
    if reps:  # ROUGE-1 over training seeds (seed 0 is the main row), against this generator
        by_name = {name: [final[name]["rouge1"]] + [r["rouge1"] for r in reps
                                                    if r["verifier"] == name]
                   for name in dict.fromkeys(r["verifier"] for r in reps if r["verifier"])}
        test_se = {n: final[n].get("rouge1_minus_generator_se", 0.0) for n in by_name}
        gens = [gen["rouge1"]] + [r["rouge1"] for r in reps if r["verifier"] == ""]
        seeds = {"training_seeds": seed_spread(by_name, gen["rouge1"], test_se),
                 # other generators (same real data, other seeds): the size of training noise
                 "generator_seeds": spread(gens)}
    equal = int(gen["size"])  # the generator's real pairs: the paper compares at equal size
    comparisons = {f"{name}_size_{size}": against_generator(r)
                   for name, rows_by_size in (("random", random), ("oracle", oracle))
                   for size, r in sorted(rows_by_size.items())}
    return {
        **seeds,
        "generator_rouge1": gen["rouge1"],
        "final_rouge1": {v: final[v]["rouge1"] for v in names},
        "random_below_generator_at_equal_size": (random[equal]["rouge1"] < gen["rouge1"]
                                                 if equal in random else None),
        "random_below_generator_at_every_size": (
            all(r["rouge1"] < gen["rouge1"] for r in random.values()) if random else None),
        "oracle_above_generator_at_largest": (oracle[largest]["rouge1"] > gen["rouge1"]
                                              if largest in oracle else None),
        "minus_generator": comparisons,
        "spearman_pstar_rouge1": by_rule,
        "spearman_pstar_rouge1_by_size": by_size_and_rule,
        "best_rule": max(finite, key=finite.get) if finite else None,
    }


def load_results(out):
    """(rows, summary) of a finished run."""
    rows, summary = store.read_run(out, "summarization run")
    if not summary:
        raise ValueError(f"{out} holds no summary.json of a finished summarization run")
    return rows, summary
