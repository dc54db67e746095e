"""The JAX transformer (``experiments.seq2seq``) against the same model in PyTorch, in one process.

Workloads (the eigenvalue task's shapes):

    cpu-preset: 2 x 2 matrices in P10 (source 22 tokens, target 12), width 64, 4 heads,
                2 encoder layers + 1 decoder layer, batch 64, beam 4 on 256 matrices
    5x5-P1000:  5 x 5 matrices in P1000 (source 77, target 17), width 256, 8 heads,
                4 encoder layers + 1 decoder layer, batch 64, beam 8 on 64 matrices

Measured: training steps per second (AdamW + clipping, one synchronisation per step in both, as
in a training loop that logs its loss) and beam-search candidates per second (sources x beam,
key-value cached decoding in both), steady state; JAX compile time is reported apart. The two
sides are timed alternately for ``--rounds`` rounds and each side's best rate counts, so that
both see the same load on a shared machine. Baseline:
PyTorch (CPU build, its default threads), ``benchmarks/_torch_seq2seq.py``. A script, not a
test: nothing is asserted.

    .venv/bin/python benchmarks/bench_transformer.py [--json] [--rounds 3] [--steps 100]
        [--workloads cpu-preset,5x5-P1000]

Needs ``pip install torch==2.13.0`` (the optional benchmark dependency).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

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


class JaxSide:
    """The JAX model: compiled once, then timed a round at a time. Training runs the loop of
    ``seq2seq.train`` (its compiled step, the loss read back every step), without the set-up
    that each ``train`` call pays (checks, initialisation, compiling the step for its schedule)."""

    def __init__(self, cfg, src, tgt, batch, beam, sources):
        import equinox as eqx

        train_module = importlib.import_module("experiments.seq2seq.train")
        self.cfg, self.beam, self.sources = cfg, beam, sources
        self.src, self.tgt = jnp.asarray(src), jnp.asarray(tgt)
        self.probs = jnp.full(src.shape[0], 1.0 / src.shape[0])
        self.data_key = jax.random.key(2)
        tc = seq2seq.TrainConfig(steps=10**6, batch_size=batch, lr=1e-3, warmup=10)
        self.opt = train_module.optimizer(tc)
        self.model = seq2seq.Seq2Seq(cfg, key=jax.random.key(1))
        self.opt_state = self.opt.init(eqx.filter(self.model, eqx.is_array))
        self.step_fn, self.batch, self.step = train_module._train_step, batch, 0
        t_first = self._timed_steps(1)
        self.train_compile_s = max(t_first - self._timed_steps(5) / 5, 0.0)
        t_first = self._timed_beam()
        self.beam_compile_s = max(t_first - self._timed_beam(), 0.0)

    def _timed_steps(self, n):
        t0 = time.perf_counter()
        for _ in range(n):
            self.model, self.opt_state, loss = self.step_fn(
                self.model, self.opt_state, self.src, self.tgt, self.probs, self.data_key,
                jnp.asarray(self.step, jnp.int32), None, self.opt, 0.0, self.batch)
            float(loss)
            self.step += 1
        return time.perf_counter() - t0

    def train_rate(self, steps):
        return steps / self._timed_steps(steps)

    def _timed_beam(self):
        t0 = time.perf_counter()
        seq2seq.beam_search(self.model, self.src[:self.sources], beam_size=self.beam,
                            max_len=self.cfg.max_tgt_len, batch_size=self.sources)
        return time.perf_counter() - t0

    def beam_rate(self):
        return self.sources * self.beam / self._timed_beam()


class TorchSide:
    """The PyTorch twin: same sizes and batch, its own uniform batch draws (the JAX side draws
    uniformly too, inside its compiled step)."""

    def __init__(self, cfg, src, tgt, batch, beam, sources):
        import torch

        from benchmarks import _torch_seq2seq as tm

        self.torch, self.tm, self.cfg = torch, tm, cfg
        self.batch, self.beam, self.sources = batch, beam, sources
        torch.manual_seed(0)
        self.model = tm.Seq2Seq(cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.max_src_len,
                                cfg.max_tgt_len, cfg.d_model, cfg.n_heads, cfg.enc_layers,
                                cfg.dec_layers)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.0)
        self.src = torch.as_tensor(src, dtype=torch.long)
        self.tgt = torch.as_tensor(tgt, dtype=torch.long)
        self.gen = torch.Generator().manual_seed(0)
        self._run(5)
        self.beam_rate()

    def _run(self, n):
        self.model.train()
        for _ in range(n):
            idx = self.torch.randint(0, self.src.shape[0], (self.batch,), generator=self.gen)
            self.tm.train_step(self.model, self.opt, self.src[idx], self.tgt[idx]).item()

    def train_rate(self, steps):
        t0 = time.perf_counter()
        self._run(steps)
        return steps / (time.perf_counter() - t0)

    def beam_rate(self):
        self.model.eval()
        t0 = time.perf_counter()
        self.tm.beam_search(self.model, self.src[:self.sources], self.beam, self.cfg.max_tgt_len)
        return self.sources * self.beam / (time.perf_counter() - t0)


def bench(cfg, src, tgt, batch, beam, sources, steps, rounds):
    """Both sides timed alternately, ``rounds`` times; each side's best rate counts (the round
    least disturbed by other load), so both are measured under the same machine conditions."""
    sides = {"jax": JaxSide(cfg, src, tgt, batch, beam, sources),
             "torch": TorchSide(cfg, src, tgt, batch, beam, sources)}
    rates = {name: {"train": [], "beam": []} for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            rates[name]["train"].append(side.train_rate(steps))
            rates[name]["beam"].append(side.beam_rate())
    out = {name: {"train_steps_per_s": max(r["train"]), "beam_candidates_per_s": max(r["beam"]),
                  "rounds": r} for name, r in rates.items()}
    out["jax"].update(train_compile_s=sides["jax"].train_compile_s,
                      beam_compile_s=sides["jax"].beam_compile_s)
    torch = sides["torch"].torch
    out["torch"].update(threads=torch.get_num_threads(), version=torch.__version__)
    return out["jax"], out["torch"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--steps", type=int, default=100, help="timed training steps")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating JAX / PyTorch timings; the best of each counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1")
    results = []
    for name in args.workloads.split(","):
        side, enc, dm, heads, n_enc, n_dec, batch, beam, sources = WORKLOADS[name]
        tok, src, tgt = make_data(side, enc, 2048)
        cfg = seq2seq.ModelConfig(tok.vocab_size, tok.vocab_size, src.shape[1], tgt.shape[1],
                                  d_model=dm, n_heads=heads, enc_layers=n_enc,
                                  dec_layers=n_dec)
        j, t = bench(cfg, src, tgt, batch, beam, sources, args.steps, args.rounds)
        r = {"name": name, "jax": j, "torch": t,
             "ratio_train": j["train_steps_per_s"] / t["train_steps_per_s"],
             "ratio_beam": j["beam_candidates_per_s"] / t["beam_candidates_per_s"],
             # Per round, both sides timed back to back: a check on the best-of-rounds ratio.
             **{f"median_round_ratio_{k}": float(np.median(np.divide(j["rounds"][k],
                                                                     t["rounds"][k])))
                for k in ("train", "beam")}}
        results.append(r)
        if not args.json:
            print(f"{name}: train {j['train_steps_per_s']:.1f} vs {t['train_steps_per_s']:.1f} "
                  f"steps/s (JAX/PyTorch {r['ratio_train']:.2f}x; JAX compile "
                  f"{j['train_compile_s']:.1f} s) | beam {j['beam_candidates_per_s']:.0f} vs "
                  f"{t['beam_candidates_per_s']:.0f} candidates/s ({r['ratio_beam']:.2f}x; "
                  f"compile {j['beam_compile_s']:.1f} s) | best of {args.rounds} alternating "
                  f"rounds; median of round ratios {r['median_round_ratio_train']:.2f}x train, "
                  f"{r['median_round_ratio_beam']:.2f}x beam | torch {t['version']}, "
                  f"{t['threads']} threads", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
