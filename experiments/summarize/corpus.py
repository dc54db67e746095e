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

With ``towns=n`` the places come from a gazetteer of ``n`` towns drawn with Zipf frequencies
(town ``i`` with probability proportional to ``1/(i+1)``), and the summary names each town's
region instead of the town (``opened a hospital in the northern hills``). The region is
knowledge the article does not state: a model learns it town by town from its training pairs,
the rare towns last, so its quality grows smoothly with data, and a generator trained on few pairs guesses the
regions of the towns it has not seen. That is the gap a verifier can close (the paper's
summarization setting: a generator whose candidates are sometimes right where its top answer
is not).
"""

from __future__ import annotations

import jax
import numpy as np

from .records import Article

__all__ = ["make_corpus", "gazetteer", "check_towns", "WORDS", "REGIONS"]

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
# Two words each, none shared: a wrong region costs two of a summary's ~17 words.
REGIONS = ["northern hills", "southern coast", "eastern plains", "western isles",
           "central valley", "upper lakes"]
_TOWN_STEMS = ["ash", "bar", "brook", "cal", "cold", "dun", "elm", "fal", "fern", "glen", "gor",
               "hart", "hol", "ivy", "kel", "kirk", "lark", "lin", "mar", "mill", "nor", "oak",
               "pen", "quen", "rav", "rose", "sal", "stan", "tam", "thorn", "ul", "vel", "wick",
               "win", "yar", "zel", "bel", "cor", "dor", "fen"]
_TOWN_ENDS = ["ford", "ley", "ton", "bury", "well", "mouth", "field", "dale", "by", "ham",
              "stead", "wick", "moor", "gate", "holm", "thwaite", "combe", "worth", "mere",
              "haven", "cliff", "stow", "wood", "bridge", "ness"]
MAX_TOWNS = len(_TOWN_STEMS) * len(_TOWN_ENDS)


def gazetteer(towns: int) -> list[tuple[str, str]]:
    """The first ``towns`` (town, region) pairs, most frequent first. A fixed table: the same
    for every corpus key, so that a model can learn it from any training split."""
    if isinstance(towns, bool) or not isinstance(towns, int) or not 1 <= towns <= MAX_TOWNS:
        raise ValueError(f"towns must be an integer in [1, {MAX_TOWNS}]; got {towns!r}")
    # A fixed seed (not the corpus key): the table is part of the task's definition.
    rng = np.random.default_rng(240607515)
    names = [s + e for s in _TOWN_STEMS for e in _TOWN_ENDS]
    order = rng.permutation(len(names))
    regions = rng.integers(0, len(REGIONS), size=len(names))
    return [(names[i], REGIONS[regions[i]]) for i in order[:towns]]


WORDS = sorted({w for phrase in ROLES + NAMES + PLACES + FILLER + REGIONS
                + [a for a, _ in ACTIONS] + [o for _, o in ACTIONS] for w in phrase.split()}
               | {t for t, _ in gazetteer(MAX_TOWNS)} | {"title:", "in", "the", "and", "."})


def check_towns(towns) -> int:
    """``towns`` as make_corpus and the presets accept it: 0 (the ten places) to MAX_TOWNS."""
    if isinstance(towns, bool) or not isinstance(towns, int) or not 0 <= towns <= MAX_TOWNS:
        raise ValueError(f"towns must be an integer in [0, {MAX_TOWNS}]; got {towns!r}")
    return towns


class _Towns:
    """A gazetteer prepared once per corpus: names, Zipf probabilities, what summaries say."""

    def __init__(self, towns: int):
        table = gazetteer(towns)
        weights = 1.0 / np.arange(1, towns + 1)
        self.names = [t for t, _ in table]
        self.probabilities = weights / weights.sum()
        self.said = {t: f"the {r}" for t, r in table}


_PLACES_SAID = {p: p for p in PLACES}


def _article(key, index, facts, distractors, fillers, towns):
    rng = np.random.default_rng(np.asarray(jax.random.key_data(jax.random.fold_in(key, index))))
    role, name = rng.choice(ROLES), rng.choice(NAMES)
    subject = f"{role} {name}"
    others = []
    while len(others) < distractors:
        o = f"{rng.choice(ROLES)} {rng.choice(NAMES)}"
        if o != subject:
            others.append(o)
    acts = rng.choice(len(ACTIONS), size=facts + distractors, replace=True)
    if towns is None:
        places = rng.choice(PLACES, size=facts + distractors)
        said = _PLACES_SAID
    else:
        picks = rng.choice(len(towns.names), size=facts + distractors, p=towns.probabilities)
        places = [towns.names[i] for i in picks]
        said = towns.said
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
               f"{said[fact_sents[j][2]]}" for j in fact_pos]
    summary = f"{subject} " + " and ".join(clauses) + " ."
    return Article(id=f"synthetic-{index}", url=f"https://example.invalid/news/{index}",
                   title=subject, summary=summary, text=text)


def make_corpus(key, count: int, *, start: int = 0, facts: int = 2, distractors: int = 2,
                fillers: int = 2, towns: int = 0) -> list[Article]:
    """Articles ``start .. start + count - 1`` of the stream ``key``; ``towns=0``: ten places,
    named as they are in the summary; ``towns > 0``: that gazetteer, regions in the summary."""
    for name, v in (("count", count), ("facts", facts)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    for name, v in (("start", start), ("distractors", distractors)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
    if not 0 <= fillers <= len(FILLER):
        raise ValueError(f"fillers must be in [0, {len(FILLER)}]; got {fillers!r}")
    table = _Towns(towns) if check_towns(towns) else None
    return [_article(key, i, facts, distractors, fillers, table)
            for i in range(start, start + count)]
