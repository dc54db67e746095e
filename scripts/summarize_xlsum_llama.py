"""Run the summarization pipeline's verify step on real XLSUM files with a local Llama-class
model, on a machine that has both (nothing is downloaded: ``local_files_only``).

What it does, for the first ``--articles`` test articles of an XLSUM split:
1. the generator model (``--generator``, a local Hugging Face directory, causal or seq2seq)
   writes ``--k`` sampled candidate summaries per article, with its length-normalised
   log-likelihoods (written to ``OUT/candidates.jsonl``);
2. verifiers score them: oracle (ROUGE-1 against the reference), random, self (the generator's
   own likelihood) and, with ``--verifier``, another local model's likelihood;
3. each verifier's best-of-k choice is scored by ROUGE, and its p* is estimated under the three
   rules (threshold, best-of-article, pairwise) with intervals (``OUT/verifiers.csv``).

Fine-tuning a fresh model on the selected pairs is the user's training stack (for example
PEFT/LoRA); ``OUT/selected-<verifier>.jsonl`` holds the selections in XLSUM format for it.

Example (a GPU machine with the files and weights on disk)::

    python scripts/summarize_xlsum_llama.py --xlsum english_test.jsonl \\
        --generator /models/Llama-2-7b-hf --verifier /models/Meta-Llama-3-8B \\
        --articles 500 --k 4 --device cuda --out results/xlsum-llama

Needs ``pip install 'beyond-collapse[hf]'``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

from experiments.summarize import pstar, records, rouge, verifiers
from experiments.summarize.backends import HFBackend
from simulate import selection, store


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xlsum", required=True, help="an XLSUM JSON-lines file")
    parser.add_argument("--generator", required=True, help="local model directory")
    parser.add_argument("--verifier", help="another local model directory (likelihood verifier)")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--threshold", type=float, default=0.4, help="ROUGE-1 rule threshold")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    out = Path(args.out)
    articles = records.read_xlsum(args.xlsum)[:args.articles]
    prompt = "Article: {text}\nWrite a one-sentence summary.\nSummary:"
    gen = HFBackend.from_pretrained(args.generator, prompt=prompt, device=args.device,
                                    max_new_tokens=args.max_new_tokens)
    key = jax.random.key(args.seed)
    cand_path = out / "candidates.jsonl"
    if cand_path.exists():
        stored = records.read_candidates(cand_path)
        cands = [[c.text for c in stored[i * args.k:(i + 1) * args.k]]
                 for i in range(len(articles))]
        gen_scores = np.array([[c.score for c in stored[i * args.k:(i + 1) * args.k]]
                               for i in range(len(articles))])
    else:
        cands, gen_scores = gen.generate([a.text for a in articles], args.k,
                                         key=jax.random.fold_in(key, 0),
                                         temperature=args.temperature)
        records.write_candidates(cand_path, [records.Candidate(a.id, t, float(s))
                                             for a, ts, ss in zip(articles, cands, gen_scores)
                                             for t, s in zip(ts, ss)])
    named = [("oracle", verifiers.Oracle()), ("random",
             verifiers.Random(jax.random.fold_in(key, 1))), ("self", verifiers.Self())]
    if args.verifier:
        other = HFBackend.from_pretrained(args.verifier, prompt=prompt, device=args.device)
        named.append(("other_model", verifiers.Likelihood(other, "other_model")))
    rouge1 = verifiers.Oracle().scores(articles, cands)
    rows = []
    for name, ver in named:
        scores = rouge1 if name == "oracle" else ver.scores(articles, cands,
                                                           generator_scores=gen_scores)
        kept = verifiers.select(selection.BestOfK(), scores)
        chosen = np.argmax(kept, axis=1)
        picked = [cands[i][chosen[i]] for i in range(len(articles))]
        r = rouge.scores(picked, [a.summary for a in articles])
        row = {"verifier": name, **{k: float(v.mean()) for k, v in r.items()}}
        for rule in pstar.RULES:
            est = pstar.estimate(rule, rouge1, scores, kept, threshold=args.threshold)
            row.update({f"pstar_{rule}": est.pstar, f"pstar_{rule}_low": est.pstar_interval[0],
                        f"pstar_{rule}_high": est.pstar_interval[1]})
        rows.append(row)
        records.write_xlsum(out / f"selected-{name}.jsonl",
                            [a._replace(summary=s) for a, s in zip(articles, picked)])
        print(row, flush=True)
    store.write_csv(out / "verifiers.csv", list(rows[0]), rows)
    print(f"wrote {out / 'verifiers.csv'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
