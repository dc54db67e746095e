"""The eigenvalue pipeline end to end (the quick preset, and the paper preset on small counts):
every verifier's selection, rates and training data, and every model's accuracies and
standard errors, recomputed from the stored candidates and models by their definitions; a
rerun that recomputes nothing."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import cli, seq2seq
from experiments.eigen import pipeline, presets, verifiers
from experiments.eigen.verifiers import Candidates
from simulate.pruners import measure


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eigen")
    config = presets.preset("quick")
    rows = pipeline.run(config, out, progress=False)
    return config, out, rows


def test_rows_cover_every_verifier_size_and_reference(quick_run):
    config, out, rows = quick_run
    synth = [r for r in rows if r["model"] == "synthetic"]
    assert {(r["verifier"], r["size"]) for r in synth} == {
        (v, s) for v in config["verifiers"] for s in config["sizes"]}
    assert [r["size"] for r in rows if r["model"] == "real"] == config["sizes"]
    assert sum(r["model"] == "generator" for r in rows) == 1
    stored, summary = pipeline.load_results(out)
    assert len(stored) == len(rows)
    # The summary's count of verifiers with a p* and a model, recounted from the final rows.
    final = {r["verifier"]: r for r in rows if r["model"] == "synthetic"
             and r["size"] == max(config["sizes"])}
    usable = [v for v, r in final.items()
              if np.isfinite(r["pstar"]) and np.isfinite(r["accuracy"])]
    assert summary["verifiers"] == len(usable)
    assert summary["largest_size"] == max(config["sizes"])
    for r in rows:
        if np.isfinite(r.get("accuracy", np.nan)):
            assert 0 <= r["acc@0.5%"] <= r["acc@1%"] <= r["acc@2%"] <= r["acc@5%"] <= 1
            # A proportion's standard error, and the paired one against the generator.
            n = config["n_test"]
            assert r["accuracy_se"] == pytest.approx(
                np.sqrt(r["accuracy"] * (1 - r["accuracy"]) / (n - 1)))
    # Differences from the generator and their paired standard errors: the final rows' (the
    # standard errors themselves are recomputed from the models' answers further down).
    gen = next(r for r in rows if r["model"] == "generator")
    assert set(summary["minus_generator_at_largest"]) == set(final)
    for v, c in summary["minus_generator_at_largest"].items():
        assert c["difference"] == pytest.approx(final[v]["accuracy"] - gen["accuracy"],
                                                nan_ok=True)
        assert c["se"] == pytest.approx(final[v]["accuracy_minus_generator_se"], nan_ok=True)


def test_training_seed_replicates(quick_run):
    """Replicates retrain the same selection with other seeds; the summary's spread and
    differences are recomputed here from the rows."""
    config, out, rows = quick_run
    largest, seeds = max(config["sizes"]), config["replicates"]["seeds"]
    reps = [r for r in rows if r["model"] == "replicate"]
    assert sorted((r["verifier"], r["seed"]) for r in reps) == sorted(
        (v, s) for s in range(1, seeds) for v in ["", *config["replicates"]["verifiers"]])
    gen = next(r for r in rows if r["model"] == "generator")
    _, summary = pipeline.load_results(out)
    for spec in config["replicates"]["verifiers"]:
        main = next(r for r in rows if r["model"] == "synthetic" and r["verifier"] == spec
                    and r["size"] == largest)
        same = [r for r in reps if r["verifier"] == spec]
        assert all(r["train_pairs"] == main["train_pairs"] for r in same)
        a = [main["accuracy"]] + [r["accuracy"] for r in same]
        entry = summary["training_seeds"][spec]
        np.testing.assert_allclose(entry["values"], a)
        # against the one generator that made the data, not the generator's other seeds
        assert entry["mean_minus_reference"] == pytest.approx(np.mean(a) - gen["accuracy"])
        assert entry["se"] == pytest.approx(np.sqrt(np.var(a, ddof=1) / len(a) +
                                                    main["accuracy_minus_generator_se"] ** 2))
    g = [gen["accuracy"]] + [r["accuracy"] for r in reps if r["verifier"] == ""]
    np.testing.assert_allclose(summary["generator_seeds"]["values"], g)
    # each seed is a model of its own, stored under its own name
    assert len(list((out / "stages").glob("generator-seed1-*.eqx.json"))) == 1


@pytest.mark.parametrize("rep, name", [({"seeds": 1, "verifiers": ["oracle"]}, "seeds"),
                                       ({"seeds": 2, "verifiers": ["magic"]}, "magic"),
                                       ({"seeds": 2}, "replicates")])
def test_bad_replicates_are_named(rep, name):
    with pytest.raises(ValueError, match=name):
        presets.preset("quick", replicates=rep)


def test_null_replicates_mean_none():
    """``--set replicates=null`` switches a preset's replicates off."""
    assert presets.preset("quick", replicates=None)["replicates"] is None
    rows = [{"model": "generator", "verifier": "", "size": 1, "accuracy": 0.5},
            {"model": "synthetic", "verifier": "oracle", "size": 2, "accuracy": 0.6,
             "pstar": 1.0, "audit_pstar": 1.0}]
    assert "training_seeds" not in pipeline.summarize(rows)


def test_rates_recomputed_from_the_stored_candidates(quick_run):
    """p, phi, psi, p* in the table equal an independent recount on the stored beams."""
    config, out, rows = quick_run
    run = pipeline._Run(config, out, progress=False)
    with jax.enable_x64(False):
        real_m, real_e = run.dataset("real", config["n_real"])
        src, tgt = run.encode(real_m, real_e)
        gen = run.trained("generator", src, tgt, config["generator_train"],
                          run.key("generator"))
        scorer = run.trained("scorer", src, tgt, config["generator_train"], run.key("scorer"))
        cand, _ = run.candidates(gen, scorer)
    tokens = run._beam_cache
    synth_m, synth_e = run.dataset("synth", config["n_synth"])
    # Correctness recounted from the tokens by hand: decode, relative L1 error < tol.
    for i in range(len(synth_e)):
        for j in range(tokens.shape[1]):
            pred = run.tok.decode_vector(tokens[i, j])
            ok = pred is not None and pred.shape == synth_e[i].shape and \
                np.abs(pred - synth_e[i]).sum() / np.abs(synth_e[i]).sum() < config["tol"]
            assert ok == bool(cand.correct[i, j])
    for vi, spec in enumerate(config["verifiers"]):
        row = next(r for r in rows if r["verifier"] == spec)
        sel = verifiers.select(spec, cand, run.key("verify", vi))
        c, k = np.asarray(sel.rate_correct, float), np.asarray(sel.rate_kept, float)
        p = 1 - c.mean()
        phi = (k * c).sum() / c.sum() if c.sum() else np.nan
        psi = (k * (1 - c)).sum() / (1 - c).sum() if (1 - c).sum() else np.nan
        np.testing.assert_allclose([row["p"], row["phi"], row["psi"]], [p, phi, psi],
                                   rtol=1e-6)
        rates = measure(jnp.asarray(sel.rate_correct), jnp.asarray(sel.rate_kept))
        np.testing.assert_allclose(row["pstar"], float(rates.pstar), rtol=1e-6)
        for size in config["sizes"]:
            r = next(x for x in rows if x["verifier"] == spec and x["size"] == size)
            parsed = np.isfinite(cand.errors[np.arange(size), sel.chosen[:size]])
            assert r["train_pairs"] == int((sel.kept[:size] & parsed).sum())


# --- recomputation by definition from what a run stored ----------------------------------


def _errors_by_hand(tok, tokens, truth):
    """Relative L1 errors of decoded output tokens against ``truth``; inf where no vector of
    the right length parses."""
    errors = np.full(len(truth), np.inf)
    for i, (ids, true) in enumerate(zip(tokens, truth)):
        pred = tok.decode_vector(ids)
        if pred is not None and pred.shape == true.shape and np.all(np.isfinite(pred)):
            errors[i] = np.abs(pred - true).sum() / np.abs(true).sum()
    return errors


def _eigenvalues(mats):
    """Decreasing eigenvalues by a second route (eigvalsh, sorted here)."""
    return np.sort(np.linalg.eigvalsh(mats), axis=-1)[:, ::-1]


def _by_definition(spec, errors, gen_scores, model_scores, tol):
    """(chosen beam index, kept) of a deterministic verifier, written from its description in
    ``experiments.eigen.verifiers``; None for the random ones."""
    kind, _, arg = spec.partition(":")
    value = float(arg.split("=")[1]) if arg else None
    m, k = errors.shape
    top = np.zeros(m, int)
    if kind == "none":
        return top, np.ones(m, bool)
    if kind == "oracle":
        return top, errors[:, 0] < (value or tol)
    if kind == "best_of_beam":  # the first candidate of the beam within the threshold
        chosen, kept = top.copy(), np.zeros(m, bool)
        for i in range(m):
            first = next((j for j in range(k) if errors[i, j] < (value or tol)), None)
            if first is not None:
                chosen[i], kept[i] = first, True
        return chosen, kept
    if kind in ("model", "self"):  # the ceil(rate m) best-scored top answers, unparsed last
        scores = (model_scores if kind == "model" else gen_scores)[:, 0]
        ranked = sorted(range(m), key=lambda i: (not np.isfinite(errors[i, 0]), -scores[i], i))
        kept = np.zeros(m, bool)
        kept[ranked[:math.ceil(value * m)]] = True
        return top, kept
    return None


def _rates(correct, kept):
    """p, phi, psi, p*, kept fraction by their definitions (NaN where undefined)."""
    n_c, n_w = correct.sum(), (~correct).sum()
    phi = (kept & correct).sum() / n_c if n_c else np.nan
    psi = (kept & ~correct).sum() / n_w if n_w else np.nan
    pstar = phi / (phi + psi) if phi + psi > 0 else np.nan
    return [n_w / correct.size, phi, psi, pstar, kept.mean()]


def _check_run_by_definition(config, out, rows, monkeypatch):
    """Every row of a finished run against its definition, from the stored candidate beams and
    models. Selections: exactly what each deterministic verifier specifies, and, for the
    random ones, keep rates within 4.5 binomial standard errors of their nominal phi and psi.
    Training data: each stored model loads under the name and hash of exactly that selection
    (nothing is retrained here). Accuracies, their standard errors and the paired ones against
    the generator: from greedy decoding of the test matrices, recounted by hand."""
    from scipy import stats

    def fail(*a, **k):
        raise AssertionError("no stored model for this training data")

    monkeypatch.setattr(seq2seq, "train", fail)
    run = pipeline._Run(config, out, progress=False)
    tol, sizes = config["tol"], config["sizes"]
    (path,) = (out / "stages").glob("candidates-*.npz")
    stored = np.load(path)
    tokens = stored["tokens"]
    m, k, _ = tokens.shape
    synth_m, _ = run.dataset("synth", config["n_synth"])
    truth = _eigenvalues(synth_m)
    errors = np.stack([_errors_by_hand(run.tok, tokens[:, j], truth) for j in range(k)], 1)
    preds = np.full((m, k, config["d"]), np.nan)
    for i in range(m):
        for j in range(k):
            if np.isfinite(errors[i, j]):
                preds[i, j] = run.tok.decode_vector(tokens[i, j])
    cand = Candidates(preds, errors, truth, stored["gen_scores"], stored["model_scores"], tol)
    synth_src, _ = run.encode(synth_m, truth)
    synthetic = {(r["verifier"], r["size"]): r for r in rows if r["model"] == "synthetic"}
    seeds = (config.get("replicates") or {}).get("seeds", 1)
    replicated = (config.get("replicates") or {}).get("verifiers", [])
    models = {}  # row identity -> stored model
    with jax.enable_x64(False):
        for vi, spec in enumerate(config["verifiers"]):
            defined = _by_definition(spec, errors, cand.gen_scores, cand.model_scores, tol)
            if defined is None:  # random: the run's own draw, judged by its rates
                sel = verifiers.select(spec, cand, run.key("verify", vi))
                chosen, kept = np.asarray(sel.chosen), np.asarray(sel.kept)
                assert (chosen == 0).all()
            else:
                chosen, kept = defined
            if spec.startswith("best_of_beam"):  # rates per candidate: only the chosen kept
                per_candidate = np.zeros((m, k), bool)
                per_candidate[np.arange(m), chosen] = kept
                rates = _rates(errors.ravel() < tol, per_candidate.ravel())
            else:
                rates = _rates(errors[:, 0] < tol, kept)
            kind, _, arg = spec.partition(":")
            for size in sizes:
                row = synthetic[spec, size]
                got = [row[f] for f in ("p", "phi", "psi", "pstar", "kept")]
                if kind in ("random", "flip"):  # nominal (phi, psi): (rate, rate), (1 - r, r)
                    value = float(arg.split("=")[1])
                    nominal = (value, value) if kind == "random" else (1 - value, value)
                    c = errors[:, 0] < tol
                    for rate, q, n in zip(got[1:3], nominal, (c.sum(), (~c).sum())):
                        if n:
                            assert abs(rate - q) <= 4.5 * np.sqrt(q * (1 - q) / n), spec
                        else:
                            assert np.isnan(rate)
                np.testing.assert_allclose(got, rates, rtol=1e-6, equal_nan=True,
                                           err_msg=spec)
                idx = np.array([i for i in range(size)
                                if kept[i] and np.isfinite(errors[i, chosen[i]])], int)
                assert row["train_pairs"] == idx.size, spec
                if idx.size:
                    models["synthetic", spec, size] = run.trained(
                        f"retrain-v{vi}-s{size}", synth_src[idx], tokens[idx, chosen[idx]],
                        config["retrain"], run.key("retrain", vi, size))
                    if size == max(sizes) and spec in replicated:
                        for seed in range(1, seeds):
                            models["replicate", spec, seed] = run.trained(
                                f"retrain-v{vi}-s{size}-seed{seed}", synth_src[idx],
                                tokens[idx, chosen[idx]], config["retrain"],
                                run.key("retrain", vi, size, seed))
                else:
                    assert np.isnan(row["accuracy"]), spec
        real_m, _ = run.dataset("real", config["n_real"])
        real_src, real_tgt = run.encode(real_m, _eigenvalues(real_m))
        models["generator", "", 0] = run.trained("generator", real_src, real_tgt,
                                                 config["generator_train"], run.key("generator"))
        for seed in range(1, seeds):
            models["replicate", "", seed] = run.trained(
                f"generator-seed{seed}", real_src, real_tgt, config["generator_train"],
                run.key("generator", seed))
        for size in sizes:
            ref_m, _ = run.dataset("real_ref", size)
            src, tgt = run.encode(ref_m, _eigenvalues(ref_m))
            models["real", "", size] = run.trained(f"real-s{size}", src, tgt,
                                                   config["retrain"], run.key("real_ref", size))

        test_m, _ = run.dataset("test", config["n_test"])
        test_truth = _eigenvalues(test_m)
        test_src, _ = run.encode(test_m, test_truth)
        test_errors = {}
        for ident, model in models.items():
            out_tokens = seq2seq.greedy_decode(model, test_src,
                                               max_len=run.model_config.max_tgt_len)
            test_errors[ident] = _errors_by_hand(run.tok, out_tokens, test_truth)
    gen_ok = (test_errors["generator", "", 0] < tol).astype(float)
    checked = 0
    for r in rows:
        ident = (r["model"], r["verifier"], r.get("seed") if r["model"] == "replicate" else
                 0 if r["model"] == "generator" else r["size"])
        if ident not in test_errors:
            assert np.isnan(r["accuracy"])
            continue
        err = test_errors[ident]
        ok = (err < tol).astype(float)
        assert r["accuracy"] == pytest.approx(ok.mean())
        assert r["accuracy_se"] == pytest.approx(stats.sem(ok))
        for t in (0.05, 0.02, 0.01, 0.005):
            assert r[f"acc@{100 * t:g}%"] == pytest.approx(np.mean(err < t))
        if r["model"] != "generator":  # paired: the same test matrices, matrix by matrix
            assert r["accuracy_minus_generator_se"] == pytest.approx(
                stats.sem(ok - gen_ok))
        checked += 1
    assert checked == len(test_errors)


def test_selections_rates_and_accuracies_by_definition(quick_run, monkeypatch):
    """The quick run's rows against their definitions (``_check_run_by_definition``)."""
    config, out, rows = quick_run
    _check_run_by_definition(config, out, rows, monkeypatch)


def test_rerun_skips_every_stage(quick_run, monkeypatch):
    config, out, rows = quick_run

    def fail(*a, **k):
        raise AssertionError("a finished stage was recomputed")

    monkeypatch.setattr(seq2seq, "train", fail)
    monkeypatch.setattr(seq2seq, "beam_search", fail)
    again = pipeline.run(config, out, progress=False)
    assert [r.get("accuracy") for r in again] == [r.get("accuracy") for r in rows]


def test_cli_rejects_bad_presets_and_other_runs(quick_run, capsys, tmp_path):
    with pytest.raises(SystemExit) as refused:  # argparse: --preset has choices
        cli.main(["eigen", "--preset", "huge"])
    assert refused.value.code == 2 and "--preset" in capsys.readouterr().err
    _, out, _ = quick_run
    assert cli.main(["eigen", "--preset", "quick", "--root-seed", "5", "--out", str(out),
                     "--quiet"]) == 2
    assert "another eigenvalue run" in capsys.readouterr().err
    with pytest.raises(ValueError, match="sizes"):
        presets.preset("quick", sizes=[10_000])


def test_figure_renders_a_run_with_replicates(quick_run, tmp_path):
    from figures import fig_eigen

    _, out, _ = quick_run
    paths = fig_eigen.render(out_dir=tmp_path, data_dir=out)
    assert {p.suffix for p in map(Path, paths)} == {".png", ".pdf"}
    assert all(Path(p).stat().st_size > 0 for p in paths)


@pytest.mark.slow
def test_paper_preset_runs_at_its_shapes_on_small_counts(tmp_path, monkeypatch, fresh_memory):
    """The GPU preset's own code path (5 x 5 in P1000, its 512-wide 6-layer model, beam 8,
    inverse-sqrt schedule, every verifier) end to end, with only the counts and steps cut
    down: what it would hand a GPU runs here, unchanged. Its rows are checked against their
    definitions like the quick run's (here nearly every answer is wrong or unparsed)."""
    # fresh_memory: the quick run's programs and freed memory go first; this test's own
    # arrays and programs are the worker's peak.
    small = {"steps": 2, "batch_size": 8, "warmup": 1, "checkpoint_every": 1}
    base = presets.preset("paper")
    config = presets.preset(
        "paper", n_real=40, n_synth=24, sizes=[12, 24], n_test=10, audit=12, decode_batch=16,
        generator_train={**base["generator_train"], **small},
        retrain={**base["retrain"], **small})
    assert config["model"] == base["model"] and config["verifiers"] == base["verifiers"]
    rows = pipeline.run(config, tmp_path, progress=False)
    assert {(r["verifier"], r["size"]) for r in rows if r["model"] == "synthetic"} == {
        (v, s) for v in config["verifiers"] for s in config["sizes"]}
    _, summary = pipeline.load_results(tmp_path)
    # Two training steps answer almost nothing right, so p* may be undefined; the summary
    # counts exactly the verifiers where it is.
    final = [r for r in rows if r["model"] == "synthetic" and r["size"] == max(config["sizes"])]
    assert summary["verifiers"] == sum(np.isfinite(r["pstar"]) and np.isfinite(r["accuracy"])
                                       for r in final)
    _check_run_by_definition(config, tmp_path, rows, monkeypatch)
