"""The JAX transformer (``experiments.seq2seq``) against the same model in PyTorch, in one process.

Workloads (the eigenvalue task's shapes):

    cpu-preset: 2 x 2 matrices in P10 (source 22 tokens, target 12), width 64, 4 heads,
                2 encoder layers + 1 decoder layer, batch 64, beam 4 on 256 matrices
    5x5-P1000:  5 x 5 matrices in P1000 (source 77, target 17), width 256, 8 heads,
                4 encoder layers + 1 decoder layer, batch 64, beam 8 on 64 matrices

Measured: training steps per second (AdamW + clipping, one synchronisation per step in both, as
in a training loop that logs its loss) and beam-search candidates per second (sources x beam,
key-value cached decoding in both), steady state; JAX compile time is reported apart. Baseline:
PyTorch (CPU build, its default threads), ``benchmarks/_torch_seq2seq.py``. A script, not a
test: nothing is asserted.

    .venv/bin/python benchmarks/bench_transformer.py [--json] [--workloads cpu-preset,5x5-P1000]

Needs ``pip install torch==2.13.0`` (the optional benchmark dependency).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402

from experiments import seq2seq  # noqa: E402
from experiments.eigen import data  # noqa: E402
from experiments.eigen.encoding import Tokenizer  # noqa: E402

WORKLOADS = {  # name: (matrix side, encoding, d_model, heads, enc, dec, batch, beam, sources)
    "cpu-preset": (2, "P10", 64, 4, 2, 1, 64, 4, 256),
    "5x5-P1000": (5, "P1000", 256, 8, 4, 1, 64, 8, 64),
}


def make_data(side, encoding, n):
    tok = Tokenizer(encoding, max_dim=side)
    a = data.matrices(jax.random.key(0), n, side)
    e = data.eigenvalues(a)
    src = tok.pad([tok.encode_matrix(m) for m in a], tok.matrix_length(side))
    tgt = tok.pad([tok.encode_vector(v) for v in e], tok.vector_length(side))
    return tok, src, tgt


def bench_jax(cfg, src, tgt, batch, beam, sources, steps):
    tc = lambda s: seq2seq.TrainConfig(steps=s, batch_size=batch, lr=1e-3, warmup=10)  # noqa
    key = jax.random.key(1)

    def timed(n):
        t0 = time.perf_counter()
        res = seq2seq.train(cfg, tc(n), src, tgt, key=key, progress=False)
        return time.perf_counter() - t0, res

    # Three runs: the first may pay a cold compile that later ones do not, so the rate comes
    # from the difference of the second and third, which compile alike.
    t_first, _ = timed(5)
    t_short, _ = timed(5 + steps)
    t_long, res = timed(5 + 2 * steps)
    rate = steps / (t_long - t_short)
    compile_train = max(t_first - 5 / rate, 0.0)
    model = res.model
    t0 = time.perf_counter()
    seq2seq.beam_search(model, src[:sources], beam_size=beam, max_len=cfg.max_tgt_len,
                        batch_size=sources)
    first = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        seq2seq.beam_search(model, src[:sources], beam_size=beam, max_len=cfg.max_tgt_len,
                            batch_size=sources)
        times.append(time.perf_counter() - t0)
    beam_s = float(np.median(times))
    return {"train_steps_per_s": rate, "train_compile_s": compile_train,
            "beam_candidates_per_s": sources * beam / beam_s,
            "beam_compile_s": max(first - beam_s, 0.0)}


def bench_torch(cfg, src, tgt, batch, beam, sources, steps):
    import torch

    from benchmarks import _torch_seq2seq as tm

    torch.manual_seed(0)
    model = tm.Seq2Seq(cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.max_src_len, cfg.max_tgt_len,
                       cfg.d_model, cfg.n_heads, cfg.enc_layers, cfg.dec_layers)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    src_t, tgt_t = torch.as_tensor(src, dtype=torch.long), torch.as_tensor(tgt, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)

    def run(n):
        for _ in range(n):
            idx = torch.randint(0, src_t.shape[0], (batch,), generator=gen)
            tm.train_step(model, opt, src_t[idx], tgt_t[idx]).item()

    run(5)
    t0 = time.perf_counter()
    run(steps)
    rate = steps / (time.perf_counter() - t0)
    model.eval()
    tm.beam_search(model, src_t[:sources], beam, cfg.max_tgt_len)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        tm.beam_search(model, src_t[:sources], beam, cfg.max_tgt_len)
        times.append(time.perf_counter() - t0)
    return {"train_steps_per_s": rate,
            "beam_candidates_per_s": sources * beam / float(np.median(times)),
            "threads": torch.get_num_threads(), "version": torch.__version__}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--steps", type=int, default=100, help="timed training steps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for name in args.workloads.split(","):
        side, enc, dm, heads, n_enc, n_dec, batch, beam, sources = WORKLOADS[name]
        tok, src, tgt = make_data(side, enc, 2048)
        cfg = seq2seq.ModelConfig(tok.vocab_size, tok.vocab_size, src.shape[1], tgt.shape[1],
                                  d_model=dm, n_heads=heads, enc_layers=n_enc,
                                  dec_layers=n_dec)
        j = bench_jax(cfg, src, tgt, batch, beam, sources, args.steps)
        t = bench_torch(cfg, src, tgt, batch, beam, sources, args.steps)
        r = {"name": name, "jax": j, "torch": t,
             "ratio_train": j["train_steps_per_s"] / t["train_steps_per_s"],
             "ratio_beam": j["beam_candidates_per_s"] / t["beam_candidates_per_s"]}
        results.append(r)
        if not args.json:
            print(f"{name}: train {j['train_steps_per_s']:.1f} vs {t['train_steps_per_s']:.1f} "
                  f"steps/s (JAX/PyTorch {r['ratio_train']:.2f}x; JAX compile "
                  f"{j['train_compile_s']:.1f} s) | beam {j['beam_candidates_per_s']:.0f} vs "
                  f"{t['beam_candidates_per_s']:.0f} candidates/s ({r['ratio_beam']:.2f}x; "
                  f"compile {j['beam_compile_s']:.1f} s) | torch {t['version']}, "
                  f"{t['threads']} threads", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
