"""How much can best-of-k find among the generator's samples, by temperature and k?

The summarization cpu preset's oracle can only teach what its candidates contain. This pilot
trains (or loads) the preset's generator, samples ``k`` summaries for the first ``--articles``
pool articles at each temperature, and prints the mean ROUGE-1 of the best candidate, the
share of articles with a perfect one, and a random candidate's ROUGE-1, beside greedy
decoding. It chose the preset's temperature 1.5 and k = 16.

    python scripts/summarize_temperature_pilot.py --out /tmp/runs/sum-pilot 1.0 1.5 2.0
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from experiments.summarize import corpus, pipeline, presets, rouge
from experiments.summarize.tokenizer import WordTokenizer


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("temperatures", type=float, nargs="+")
    ap.add_argument("--out", required=True, help="stage folder (the generator is kept there)")
    ap.add_argument("--articles", type=int, default=600)
    ap.add_argument("--k", type=int, nargs="+", default=[8, 16])
    args = ap.parse_args(argv)
    cfg = presets.preset("cpu")
    run = pipeline._Run(cfg, args.out, progress=True)
    with jax.enable_x64(False):
        shape = {"distractors": cfg["distractors"], "towns": cfg["towns"]}
        arts = pipeline.with_title(corpus.make_corpus(run.key("corpus"), cfg["n_articles"],
                                                      **shape))
        n_real = max(1, round(cfg["real_fraction"] * len(arts)))
        real, pool = arts[:n_real], arts[n_real:]
        tok = WordTokenizer.fit([a.text for a in arts] + [a.summary for a in arts])
        gen = run.trained("generator", tok, [a.text for a in real], [a.summary for a in real],
                          run.key("generator"))
        sub = pool[:args.articles]
        refs = [a.summary for a in sub]
        greedy = rouge.scores(gen.greedy([a.text for a in sub]), refs)["rouge1"]
        print(f"greedy: rouge1 {greedy.mean():.4f}, perfect {(greedy > 0.999).mean():.3f}")
        for t in args.temperatures:
            for k in args.k:
                t0 = time.perf_counter()
                texts, _ = gen.generate([a.text for a in sub], k, key=run.key("candidates"),
                                        temperature=t)
                s = np.array([rouge.scores(list(ts), [ref] * k)["rouge1"]
                              for ts, ref in zip(texts, refs)])
                print(f"T={t} k={k}: best {s.max(1).mean():.4f}, best perfect "
                      f"{(s.max(1) > 0.999).mean():.3f}, random {s[:, 0].mean():.4f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
