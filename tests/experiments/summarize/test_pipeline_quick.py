"""The summarization quick preset end to end: stored, consistent, resumable (issue 7)."""

from __future__ import annotations

import numpy as np
import pytest

from experiments import cli
from experiments.summarize import corpus, pipeline, presets, pstar, records, rouge, verifiers
from experiments.summarize.backends import JaxBackend


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


def test_pstar_recomputed_from_the_candidate_file(quick_run):
    """The oracle's p* under each rule, recounted from the stored candidates by hand."""
    config, out, rows = quick_run
    (path,) = (out / "stages").glob("candidates-*.jsonl")
    cands = records.read_candidates(path)
    import jax

    arts = corpus.make_corpus(jax.random.fold_in(jax.random.key(config["root_seed"]), 0),
                              config["n_articles"], distractors=config["distractors"])
    n_real = round(config["real_fraction"] * config["n_articles"])
    pool = {a.id: a for a in pipeline.with_title(arts[n_real:])}
    assert all(c.article_id in pool for c in cands)
    k = config["k"]
    r1 = rouge.scores([c.text for c in cands], [pool[c.article_id].summary for c in cands])
    r1 = r1["rouge1"].reshape(-1, k)
    kept = verifiers.best_of_k(r1)
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
    assert cli.main(["summarize", "--preset", "huge"]) == 2
    assert "preset" in capsys.readouterr().err
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
