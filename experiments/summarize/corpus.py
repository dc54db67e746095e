"""A synthetic news corpus that a small model can learn to summarize, imperfectly.

Each article is about one subject (its title names it). Its text mixes ``facts`` sentences about
that subject with ``distractors`` about other subjects and filler sentences, in random order;
the reference summary states the subject's facts, in the order they appear, in a shorter form::

    title: minister vale
    text:  the council of brandt approved a new budget on monday . minister vale opened a
           hospital in orton . officials said the review would continue . minister vale
           signed a treaty in kessel .
    summary: minister vale opened a hospital in orton and signed a treaty in kessel .

Summarizing means finding the sentences about the title's subject and compressing them, so a
model's ROUGE against the reference measures how well it does. Article ``i`` is drawn from
``fold_in(key, i)``: the corpus does not depend on how many articles are drawn at once.
"""

from __future__ import annotations

import jax
import numpy as np

from .records import Article

__all__ = ["make_corpus", "WORDS"]

ROLES = ["minister", "mayor", "senator", "director", "chief", "governor", "judge", "captain"]
NAMES = ["vale", "brandt", "orlov", "tamsin", "quill", "harrow", "ibsen", "marlow", "castell",
         "duvall", "ferris", "galen", "hollis", "kestrel", "lindqvist", "moreau"]
ACTIONS = [("opened", "a hospital"), ("signed", "a treaty"), ("approved", "a budget"),
           ("visited", "a school"), ("announced", "a plan"), ("closed", "a factory"),
           ("launched", "an inquiry"), ("rejected", "a proposal"), ("praised", "the volunteers"),
           ("criticised", "the report"), ("funded", "a bridge"), ("inspected", "the harbour")]
PLACES = ["orton", "kessel", "brightwater", "amberly", "northgate", "redfield", "stonebury",
          "westmere", "calder", "fairholm"]
FILLER = ["officials said the review would continue .", "the weather remained mild .",
          "no further details were given .", "local papers covered the story .",
          "a spokesperson declined to comment .", "markets were calm on the day ."]
WORDS = sorted({w for phrase in ROLES + NAMES + PLACES + FILLER + [a for a, _ in ACTIONS]
                + [o for _, o in ACTIONS] for w in phrase.split()}
               | {"title:", "in", "and", "."})


def _article(key, index, facts, distractors, fillers):
    rng = np.random.default_rng(np.asarray(jax.random.key_data(jax.random.fold_in(key, index))))
    role, name = rng.choice(ROLES), rng.choice(NAMES)
    subject = f"{role} {name}"
    others = []
    while len(others) < distractors:
        o = f"{rng.choice(ROLES)} {rng.choice(NAMES)}"
        if o != subject:
            others.append(o)
    acts = rng.choice(len(ACTIONS), size=facts + distractors, replace=True)
    places = rng.choice(PLACES, size=facts + distractors)
    fact_sents = [(f"{subject} {ACTIONS[a][0]} {ACTIONS[a][1]} in {p} .", a, p)
                  for a, p in zip(acts[:facts], places[:facts])]
    dist_sents = [f"{o} {ACTIONS[a][0]} {ACTIONS[a][1]} in {p} ." for o, a, p in
                  zip(others, acts[facts:], places[facts:])]
    fill = list(rng.choice(FILLER, size=fillers, replace=False))
    sentences = [s for s, _, _ in fact_sents] + dist_sents + fill
    order = rng.permutation(len(sentences))
    text = " ".join(sentences[i] for i in order)
    # The summary keeps the facts in the order the article gives them.
    fact_pos = sorted(range(facts), key=lambda j: int(np.where(order == j)[0][0]))
    clauses = [f"{ACTIONS[fact_sents[j][1]][0]} {ACTIONS[fact_sents[j][1]][1]} in "
               f"{fact_sents[j][2]}" for j in fact_pos]
    summary = f"{subject} " + " and ".join(clauses) + " ."
    return Article(id=f"synthetic-{index}", url=f"https://example.invalid/news/{index}",
                   title=subject, summary=summary, text=text)


def make_corpus(key, count: int, *, start: int = 0, facts: int = 2, distractors: int = 2,
                fillers: int = 2) -> list[Article]:
    """Articles ``start .. start + count - 1`` of the stream ``key``."""
    for name, v in (("count", count), ("facts", facts)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    for name, v in (("start", start), ("distractors", distractors)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
    if not 0 <= fillers <= len(FILLER):
        raise ValueError(f"fillers must be in [0, {len(FILLER)}]; got {fillers!r}")
    return [_article(key, i, facts, distractors, fillers) for i in range(start, start + count)]
