"""Summarization adapter: records, ROUGE, p* rules, verifiers and the corpus, on cases whose
answers are worked out by hand."""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest

from experiments.summarize import corpus, pstar, records, rouge, verifiers
from experiments.summarize.records import Article
from simulate import selection


def test_xlsum_and_candidate_files_round_trip(tmp_path):
    arts = [Article("a1", "u", "t", "s one .", "text one ."),
            Article("a2", "u2", "t2", "s two", "text ü two")]
    records.write_xlsum(tmp_path / "x.jsonl", arts)
    assert records.read_xlsum(tmp_path / "x.jsonl") == arts
    cands = [records.Candidate("a1", "c", -0.5), records.Candidate("a1", "d", math.nan)]
    records.write_candidates(tmp_path / "c.jsonl", cands)
    back = records.read_candidates(tmp_path / "c.jsonl")
    assert back[0] == cands[0] and back[1].text == "d" and math.isnan(back[1].score)


@pytest.mark.parametrize("line, message", [
    ('{"id": "a"', "not valid JSON"),
    ('["a"]', "JSON object"),
    ('{"id": "a", "url": "", "title": "", "summary": ""}', "missing field 'text'"),
    ('{"id": 3, "url": "", "title": "", "summary": "", "text": ""}', "'id' must be a string"),
])
def test_malformed_xlsum_names_file_and_line(tmp_path, line, message):
    good = json.dumps({"id": "x", "url": "", "title": "", "summary": "", "text": ""})
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"bad\.jsonl:3: .*{message}"):
        records.read_xlsum(path)


def test_duplicates_and_bad_candidate_scores_are_named(tmp_path):
    rec = json.dumps({"id": "x", "url": "", "title": "", "summary": "", "text": ""})
    (tmp_path / "d.jsonl").write_text(rec + "\n" + rec + "\n")
    with pytest.raises(ValueError, match=r"d\.jsonl:2: duplicate id 'x' \(first at line 1\)"):
        records.read_xlsum(tmp_path / "d.jsonl")
    (tmp_path / "c.jsonl").write_text('{"article_id": "x", "text": "t", "score": "high"}\n')
    with pytest.raises(ValueError, match=r"c\.jsonl:1: field 'score'"):
        records.read_candidates(tmp_path / "c.jsonl")
    with pytest.raises(ValueError, match="no such file"):
        records.read_xlsum(tmp_path / "missing.jsonl")


def test_rouge_against_hand_counts():
    s = rouge.scores(["the cats sat on the mat", "police were running fast"],
                     ["a cat sat on a mat", "the police runs"])
    # 1: unigrams overlap {cat, sat, on, mat} = 4 of 6 and 6 -> F = 2/3; bigrams {cat sat,
    #    sat on} = 2 of 5 and 5 -> 0.4; LCS cat sat on mat = 4 -> 2/3.
    # 2 (stemmed: polic were run fast / the polic run): overlap {polic, run} = 2 of 4 and 3
    #    -> F = 2 * (1/2 * 2/3) / (1/2 + 2/3) = 4/7; bigrams: none shared -> 0.
    np.testing.assert_allclose(s["rouge1"], [2 / 3, 4 / 7])
    np.testing.assert_allclose(s["rouge2"], [0.4, 0.0])
    np.testing.assert_allclose(s["rougeL"], [2 / 3, 4 / 7])
    many = rouge.scores(["the cats sat on the mat"] * 5000, ["a cat sat on a mat"] * 5000,
                        workers=2)
    np.testing.assert_allclose(many["rouge2"], 0.4)
    with pytest.raises(ValueError, match="one reference per candidate"):
        rouge.scores(["a"], [])


ROUGE = np.array([[0.9, 0.3, 0.6], [0.2, 0.2, 0.7]])
SCORES = np.array([[0.1, 0.5, 0.9], [3.0, 1.0, 2.0]])


def test_pstar_rules_by_hand():
    kept = verifiers.select(selection.BestOfK(), SCORES)  # article 1: candidate 3, 2: candidate 1
    np.testing.assert_array_equal(kept, [[0, 0, 1], [1, 0, 0]])
    # threshold 0.5: correct = [1,0,1, 0,0,1]; kept = [0,0,1, 1,0,0]
    c, s = pstar.samples("threshold", ROUGE, SCORES, kept, threshold=0.5)
    np.testing.assert_array_equal(c, [1, 0, 1, 0, 0, 1])
    est = pstar.estimate("threshold", ROUGE, SCORES, kept, threshold=0.5)
    assert (est.phi, est.psi) == pytest.approx((1 / 3, 1 / 3)) and est.pstar == pytest.approx(0.5)
    # best: correct = [1,0,0, 0,0,1]: phi = 0 / 2, psi = 2 / 4 -> p* = 0
    est = pstar.estimate("best", ROUGE, SCORES, kept)
    assert (est.phi, est.psi, est.pstar) == pytest.approx((0.0, 0.5, 0.0))
    # pairwise: article 1's unordered pairs (1,2), (1,3) disagree with ROUGE, (2,3) agrees;
    # article 2: (1,2) has equal ROUGE (left out), (1,3) disagrees, (2,3) agrees: 2 of 5,
    # each unordered pair counted in both orders.
    c, s = pstar.samples("pairwise", ROUGE, SCORES, kept)
    assert c.size == 10 and c.sum() == 5
    agree = (s == c).mean()
    est = pstar.estimate("pairwise", ROUGE, SCORES, kept)
    assert est.pstar == pytest.approx(agree) and agree == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="rule"):
        pstar.samples("vibes", ROUGE, SCORES, kept)


def test_verifiers_choose_what_they_should():
    arts = [Article("a", "", "t", "mayor vale opened a school", "mayor vale opened a school .")]
    cands = [["judge harrow closed a factory", "mayor vale opened a school", "zzz qqq"]]
    oracle = verifiers.Oracle().scores(arts, cands)
    assert np.argmax(oracle) == 1 and oracle[0, 1] == pytest.approx(1.0)
    judge = verifiers.Judge(lambda text, c: -len(c)).scores(arts, cands)
    assert np.argmax(judge) == 2
    selfv = verifiers.Self().scores(arts, cands, generator_scores=np.array([[0.0, -1.0, -2.0]]))
    assert np.argmax(selfv) == 0
    r1 = verifiers.Random(jax.random.key(0)).scores(arts * 200, cands * 200)
    assert 0 <= r1.min() and r1.max() < 1 and abs(r1.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 600)
    kept = verifiers.select(selection.TopR(0.5), np.array([[0.1, 0.9], [0.5, 0.3]]))
    np.testing.assert_array_equal(kept, [[False, True], [True, False]])
    with pytest.raises(ValueError, match="same number"):
        verifiers.Oracle().scores(arts * 2, [["a"], ["b", "c"]])


def test_corpus_summaries_state_the_title_subjects_facts():
    arts = corpus.make_corpus(jax.random.key(3), 50)
    for a in arts:
        assert a.summary.startswith(a.title + " ")
        facts = [s.strip() for s in a.text.split(" .") if s.strip().startswith(a.title)]
        assert len(facts) == 2
        clauses = a.summary[len(a.title) + 1:-2].split(" and ")
        assert [a.title + " " + c for c in clauses] == facts
    again = corpus.make_corpus(jax.random.key(3), 10, start=40)
    assert again == arts[40:]
    with pytest.raises(ValueError, match="count"):
        corpus.make_corpus(jax.random.key(0), 0)


def test_gazetteer_corpus_summaries_name_each_towns_region():
    table = dict(corpus.gazetteer(corpus.MAX_TOWNS))
    assert len(table) == corpus.MAX_TOWNS and set(table.values()) <= set(corpus.REGIONS)
    # A fixed table, whatever the size asked for or the corpus key.
    assert corpus.gazetteer(30) == corpus.gazetteer(corpus.MAX_TOWNS)[:30]
    arts = corpus.make_corpus(jax.random.key(5), 200, distractors=1, towns=300)
    towns = dict(corpus.gazetteer(300))
    for a in arts:
        facts = [s.strip().split() for s in a.text.split(" .")
                 if s.strip().startswith(a.title + " ")]
        assert len(facts) == 2 and all(f[-1] in towns for f in facts)
        # subject, then "<verb> <object> in the <region>" per fact, in the article's order
        expected = a.title + " " + " and ".join(
            " ".join(f[2:-1]) + f" the {towns[f[-1]]}" for f in facts) + " ."
        assert a.summary == expected
        assert not set(a.summary.split()) & set(towns)  # towns are never named
    assert {w for a in arts for w in (a.text + " " + a.summary).split()} <= set(corpus.WORDS)


def test_gazetteer_towns_follow_zipf_frequencies():
    towns, n = 50, 4000
    arts = corpus.make_corpus(jax.random.key(11), n // 2, distractors=0, fillers=0, towns=towns)
    rank = {t: i for i, (t, _) in enumerate(corpus.gazetteer(towns))}
    counts = np.zeros(towns)
    for a in arts:
        for s in a.text.split(" ."):
            if s.strip():
                counts[rank[s.split()[-1]]] += 1
    assert counts.sum() == n
    expected = 1.0 / np.arange(1, towns + 1)
    expected = n * expected / expected.sum()
    # Pearson's chi-square over 50 cells (49 degrees of freedom): its 0.999 quantile is 85.4.
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 85.4, chi2


@pytest.mark.parametrize("towns", [-1, corpus.MAX_TOWNS + 1, 2.5, True])
def test_bad_gazetteer_size_is_named(towns):
    with pytest.raises(ValueError, match="towns"):
        corpus.make_corpus(jax.random.key(0), 3, towns=towns)
