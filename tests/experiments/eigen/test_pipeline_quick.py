"""The quick preset end to end: stored, internally consistent, resumable (issue 6)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import cli, seq2seq
from experiments.eigen import pipeline, presets, verifiers
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
    assert len(stored) == len(rows) and summary["verifiers"] >= 1
    for r in rows:
        if np.isfinite(r.get("accuracy", np.nan)):
            assert 0 <= r["acc@0.5%"] <= r["acc@1%"] <= r["acc@2%"] <= r["acc@5%"] <= 1
            # A proportion's standard error, and the paired one against the generator.
            n = config["n_test"]
            assert r["accuracy_se"] == pytest.approx(
                np.sqrt(r["accuracy"] * (1 - r["accuracy"]) / (n - 1)))
            if r["model"] != "generator":
                assert 0 <= r["accuracy_minus_generator_se"] <= 1 / np.sqrt(n - 1)
    for v, c in summary["minus_generator_at_largest"].items():
        final = next(r for r in rows if r["verifier"] == v and r["size"] == max(config["sizes"]))
        gen = next(r for r in rows if r["model"] == "generator")
        assert c["difference"] == pytest.approx(final["accuracy"] - gen["accuracy"], nan_ok=True)


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


def test_rerun_skips_every_stage(quick_run, monkeypatch):
    config, out, rows = quick_run

    def fail(*a, **k):
        raise AssertionError("a finished stage was recomputed")

    monkeypatch.setattr(seq2seq, "train", fail)
    monkeypatch.setattr(seq2seq, "beam_search", fail)
    again = pipeline.run(config, out, progress=False)
    assert [r.get("accuracy") for r in again] == [r.get("accuracy") for r in rows]


def test_cli_rejects_bad_presets_and_other_runs(quick_run, capsys, tmp_path):
    assert cli.main(["eigen", "--preset", "huge"]) == 2
    assert "preset" in capsys.readouterr().err
    _, out, _ = quick_run
    assert cli.main(["eigen", "--preset", "quick", "--seed", "5", "--out", str(out),
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


def test_paper_preset_runs_at_its_shapes_on_small_counts(tmp_path):
    """The GPU preset's own code path (5 x 5 in P1000, its 512-wide 6-layer model, beam 8,
    inverse-sqrt schedule, every verifier) end to end, with only the counts and steps cut
    down: what it would hand a GPU runs here, unchanged."""
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
    assert all(0 <= r["kept"] <= 1 for r in final)
    assert all(0 <= r["accuracy"] <= 1 for r in rows if np.isfinite(r.get("accuracy", np.nan)))
