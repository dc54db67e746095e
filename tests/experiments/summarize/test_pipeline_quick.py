"""The summarization quick preset end to end: rows for every verifier and size, p* and the
standard errors recomputed from the stored candidates and models, and a rerun that recomputes
nothing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from experiments import cli
from experiments.summarize import corpus, pipeline, presets, pstar, records, rouge, verifiers
from experiments.summarize.backends import JaxBackend
from simulate import selection


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("summarize")
    config = presets.preset("quick")
    return config, out, pipeline.run(config, out, progress=False)


def test_rows_and_summary(quick_run):
    config, out, rows = quick_run
    synth = [r for r in rows if r["model"] == "synthetic"]
    assert {(r["verifier"], r["size"]) for r in synth} == {
        (v, s) for v in ("oracle", "random", "self", "other_model", "judge")
        for s in config["sizes"]}
    for r in rows:
        assert 0 <= r["rouge2"] <= r["rouge1"] <= 1 and 0 <= r["rougeL"] <= r["rouge1"] + 1e-12
    _, summary = pipeline.load_results(out)
    assert set(summary["spearman_pstar_rouge1"]) == set(pstar.RULES)


def _stage_name(row):
    """The stored model behind a row (``pipeline._Run.run`` and ``replicates``)."""
    if row["model"] == "generator":
        return "generator"
    if row["model"] == "other_model":
        return "other"
    seed = f"-seed{row['seed']}" if row["model"] == "replicate" else ""
    if row["verifier"] == "":
        return f"generator{seed}"
    return f"retrain-{row['verifier']}-s{row['size']}{seed}"


def test_standard_errors_recomputed_from_the_models_answers(quick_run):
    """Each row's ROUGE-1, its standard error, and the paired standard error of its difference
    from the generator (article by article), from the stored model's greedy summaries of the
    test articles, scored here by rouge-score itself and summarised by scipy."""
    import jax
    from rouge_score import rouge_scorer
    from scipy import stats

    config, out, rows = quick_run
    key = jax.random.fold_in(jax.random.key(config["root_seed"]), pipeline.STREAMS["test"])
    test = pipeline.with_title(corpus.make_corpus(key, config["n_test"],
                                                  distractors=config["distractors"],
                                                  towns=config["towns"]))
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    files = [p.name for p in (out / "stages").glob("*.eqx.json")]
    per_article = {}
    for r in rows:
        name = _stage_name(r)
        (file,) = [f for f in files if re.fullmatch(rf"{name}-[0-9a-f]{{16}}\.eqx\.json", f)]
        backend = JaxBackend.load(out / "stages" / file.removesuffix(".json"))
        with jax.enable_x64(False):
            preds = backend.greedy([a.text for a in test])
        per_article[name] = np.array([scorer.score(a.summary, p)["rouge1"].fmeasure
                                      for a, p in zip(test, preds)])
    gen = per_article["generator"]
    assert np.ptp(gen) > 0  # else the standard errors below would all be 0
    for r in rows:
        a = per_article[_stage_name(r)]
        assert r["rouge1"] == pytest.approx(a.mean())
        assert r["rouge1_se"] == pytest.approx(stats.sem(a))
        if r["model"] != "generator":
            assert r["rouge1_minus_generator_se"] == pytest.approx(stats.sem(a - gen))


def test_training_seed_replicates(quick_run):
    """The replicated selections are retrained on the same pairs with other seeds; the
    summary's spread is recomputed here from the rows."""
    config, out, rows = quick_run
    largest, seeds = max(config["sizes"]), config["replicates"]["seeds"]
    reps = [r for r in rows if r["model"] == "replicate"]
    assert sorted((r["verifier"], r["seed"]) for r in reps) == sorted(
        (v, s) for s in range(1, seeds) for v in ["", *config["replicates"]["verifiers"]])
    _, summary = pipeline.load_results(out)
    gen = next(r for r in rows if r["model"] == "generator")
    for name in config["replicates"]["verifiers"]:
        main = next(r for r in rows if r["model"] == "synthetic" and r["verifier"] == name
                    and r["size"] == largest)
        a = [main["rouge1"]] + [r["rouge1"] for r in reps if r["verifier"] == name]
        entry = summary["training_seeds"][name]
        np.testing.assert_allclose(entry["values"], a)
        assert entry["mean_minus_reference"] == pytest.approx(np.mean(a) - gen["rouge1"])
        assert entry["se"] == pytest.approx(np.sqrt(np.var(a, ddof=1) / len(a) +
                                                    main["rouge1_minus_generator_se"] ** 2))
    g = [gen["rouge1"]] + [r["rouge1"] for r in reps if r["verifier"] == ""]
    np.testing.assert_allclose(summary["generator_seeds"]["values"], g)
    assert len(list((out / "stages").glob("retrain-oracle-s*-seed1-*.eqx.json"))) == 1
    for bad, name in [({"seeds": 1, "verifiers": ["oracle"]}, "seeds"),
                      ({"seeds": 2, "verifiers": ["llama"]}, "llama"),
                      ({"verifiers": ["oracle"]}, "replicates")]:
        with pytest.raises(ValueError, match=name):
            presets.preset("quick", replicates=bad)


def test_standard_error_is_scipys_sem():
    from scipy import stats

    from experiments._stats import standard_error

    values = np.random.default_rng(0).random(37)
    assert standard_error(values) == pytest.approx(stats.sem(values))
    assert np.isnan(standard_error([0.5]))


def test_pstar_recomputed_from_the_candidate_file(quick_run):
    """The oracle's p* under each rule, recounted from the stored candidates by hand."""
    config, out, rows = quick_run
    (path,) = (out / "stages").glob("candidates-*.jsonl")
    cands = records.read_candidates(path)
    import jax

    arts = corpus.make_corpus(jax.random.fold_in(jax.random.key(config["root_seed"]), 0),
                              config["n_articles"], distractors=config["distractors"],
                              towns=config["towns"])
    n_real = round(config["real_fraction"] * config["n_articles"])
    pool = {a.id: a for a in pipeline.with_title(arts[n_real:])}
    assert all(c.article_id in pool for c in cands)
    k = config["k"]
    r1 = rouge.scores([c.text for c in cands], [pool[c.article_id].summary for c in cands])
    r1 = r1["rouge1"].reshape(-1, k)
    kept = verifiers.select(selection.BestOfK(), r1)
    oracle = next(r for r in rows if r["verifier"] == "oracle")
    # threshold: correct iff ROUGE-1 >= threshold; the oracle keeps each article's best.
    correct = r1 >= config["threshold"]
    phi = (kept & correct).sum() / correct.sum()
    psi = (kept & ~correct).sum() / (~correct).sum()
    assert oracle["pstar_threshold"] == pytest.approx(phi / (phi + psi))
    # best: the oracle only keeps best candidates: psi = 0, p* = 1.
    assert oracle["pstar_best"] == pytest.approx(1.0)
    assert oracle["pstar_pairwise"] == pytest.approx(1.0)


def test_rerun_skips_every_stage(quick_run, monkeypatch):
    config, out, rows = quick_run

    def fail(*a, **k):
        raise AssertionError("a finished stage was recomputed")

    monkeypatch.setattr(JaxBackend, "train", fail)
    monkeypatch.setattr(JaxBackend, "generate", fail)
    again = pipeline.run(config, out, progress=False)
    assert [r["rouge1"] for r in again] == [r["rouge1"] for r in rows]


def test_cli_and_bad_config(quick_run, capsys):
    with pytest.raises(SystemExit) as refused:  # argparse: --preset has choices
        cli.main(["summarize", "--preset", "huge"])
    assert refused.value.code == 2 and "--preset" in capsys.readouterr().err
    with pytest.raises(ValueError, match="sizes"):
        presets.preset("quick", sizes=[10_000])
    with pytest.raises(ValueError, match="xlsum_test"):
        presets.preset("quick", xlsum_train="a.jsonl")
    with pytest.raises(ValueError, match="distractors"):
        presets.preset("quick", distractors=-1)
    with pytest.raises(ValueError, match="title_in_source"):
        presets.preset("quick", title_in_source="yes")
    assert np.isfinite(quick_run[2][0]["rouge1"])


def test_with_title_prefixes_the_source_only():
    import jax

    (a,) = corpus.make_corpus(jax.random.key(3), 1, distractors=0)
    (b,) = pipeline.with_title([a])
    assert b.text == f"title: {a.title} . {a.text}"
    assert (b.id, b.title, b.summary, b.url) == (a.id, a.title, a.summary, a.url)


def _row(model, verifier, size, rouge1):
    return {"model": model, "verifier": verifier, "size": size, "rouge1": rouge1,
            **{f"pstar_{rule}": {"oracle": 1.0, "self": 0.7, "random": 0.5}.get(verifier, np.nan)
               for rule in pstar.RULES}}


def test_summary_flags_compare_at_equal_size_and_at_the_largest():
    """The paper's comparisons on constructed rows: random below the generator at the
    generator's own data size (and, separately, at every size), oracle above it at the largest."""
    rows = [_row("generator", "", 100, 0.80),
            _row("synthetic", "random", 100, 0.78), _row("synthetic", "random", 700, 0.81),
            _row("synthetic", "self", 100, 0.785), _row("synthetic", "self", 700, 0.82),
            _row("synthetic", "oracle", 100, 0.79), _row("synthetic", "oracle", 700, 0.83)]
    s = pipeline.summarize(rows)
    assert s["random_below_generator_at_equal_size"] is True
    assert s["random_below_generator_at_every_size"] is False
    assert s["oracle_above_generator_at_largest"] is True
    assert s["final_rouge1"] == {"oracle": 0.83, "random": 0.81, "self": 0.82}
    assert s["spearman_pstar_rouge1"] == {rule: 1.0 for rule in pstar.RULES}
    # At size 100 the order is oracle 0.79 > self 0.785 > random 0.78: p*'s order too.
    assert s["spearman_pstar_rouge1_by_size"] == {100: {rule: 1.0 for rule in pstar.RULES},
                                                  700: {rule: 1.0 for rule in pstar.RULES}}
    assert s["minus_generator"]["oracle_size_700"]["difference"] == pytest.approx(0.03)
    assert s["minus_generator"]["random_size_100"]["difference"] == pytest.approx(-0.02)
    # Without a retraining at the generator's size there is no equal-size comparison.
    s = pipeline.summarize([r for r in rows if r["size"] != 100 or r["model"] == "generator"])
    assert s["random_below_generator_at_equal_size"] is None
    assert s["oracle_above_generator_at_largest"] is True


def test_figure_renders_a_run_with_replicates(quick_run, tmp_path):
    from figures import fig_summarize

    _, out, _ = quick_run
    paths = fig_summarize.render(out_dir=tmp_path, data_dir=out)
    assert {p.suffix for p in map(Path, paths)} == {".png", ".pdf"}
    assert all(Path(p).stat().st_size > 0 for p in paths)
