"""The PyTorch twin of ``experiments.seq2seq`` for the benchmark only (same architecture,
same sizes, same algorithms): pre-LayerNorm encoder-decoder with learned positions and GELU
feed-forward, AdamW with global-norm clipping, and beam search with a key-value cache."""

from __future__ import annotations

import math

import torch
from torch import nn

PAD, BOS, EOS = 0, 1, 2
NEG = -1e9


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.h = heads

    def split(self, x):
        b, length, d = x.shape
        return x.view(b, length, self.h, d // self.h).transpose(1, 2)

    def kv(self, x):
        return self.split(self.k(x)), self.split(self.v(x))

    def attend(self, x, k, v, bias):
        q = self.split(self.q(x))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias, dim=-1)
        out = (w @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return self.o(out)


class FF(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.up, self.down = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        return self.down(nn.functional.gelu(self.up(x)))


class EncLayer(nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn, self.ff = Attention(d, h), FF(d, ff)

    def forward(self, x, bias):
        h = self.ln1(x)
        x = x + self.attn.attend(h, *self.attn.kv(h), bias)
        return x + self.ff(self.ln2(x))


class DecLayer(nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn, self.cross, self.ff = Attention(d, h), Attention(d, h), FF(d, ff)

    def forward(self, x, self_bias, cross_kv, cross_bias):
        h = self.ln1(x)
        x = x + self.self_attn.attend(h, *self.self_attn.kv(h), self_bias)
        x = x + self.cross.attend(self.ln2(x), *cross_kv, cross_bias)
        return x + self.ff(self.ln3(x))

    def step(self, x, pos, ck, cv, cross_kv, cross_bias):
        h = self.ln1(x)
        k, v = self.self_attn.kv(h)
        ck[:, :, pos:pos + 1] = k
        cv[:, :, pos:pos + 1] = v
        x = x + self.self_attn.attend(h, ck[:, :, :pos + 1], cv[:, :, :pos + 1], 0.0)
        x = x + self.cross.attend(self.ln2(x), *cross_kv, cross_bias)
        return x + self.ff(self.ln3(x))


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, max_src, max_tgt, d, heads, enc, dec, ff=None):
        super().__init__()
        ff = ff or 4 * d
        self.d, self.heads, self.max_tgt = d, heads, max_tgt
        self.src_embed, self.tgt_embed = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
        self.src_pos = nn.Parameter(torch.randn(max_src, d) * 0.02)
        self.tgt_pos = nn.Parameter(torch.randn(max_tgt, d) * 0.02)
        self.encoder = nn.ModuleList(EncLayer(d, heads, ff) for _ in range(enc))
        self.decoder = nn.ModuleList(DecLayer(d, heads, ff) for _ in range(dec))
        self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.out = nn.Linear(d, tgt_vocab)

    @staticmethod
    def key_bias(tokens):
        return torch.where(tokens == PAD, NEG, 0.0)[:, None, None, :]

    def encode(self, src):
        x = self.src_embed(src) * math.sqrt(self.d) + self.src_pos[:src.shape[1]]
        bias = self.key_bias(src)
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_norm(x)

    def forward(self, src, tgt_in):
        memory = self.encode(src)
        lt = tgt_in.shape[1]
        x = self.tgt_embed(tgt_in) * math.sqrt(self.d) + self.tgt_pos[:lt]
        causal = torch.where(torch.tril(torch.ones(lt, lt, dtype=torch.bool)), 0.0, NEG)
        cross_bias = self.key_bias(src)
        for layer in self.decoder:
            x = layer(x, causal, layer.cross.kv(memory), cross_bias)
        return self.out(self.dec_norm(x))


def train_step(model, opt, src, tgt, clip=1.0):
    tgt_in = torch.cat([torch.full((tgt.shape[0], 1), BOS), tgt[:, :-1]], dim=1)
    logits = model(src, tgt_in)
    mask = (tgt != PAD).float()
    nll = nn.functional.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
    loss = (nll * mask).sum() / mask.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss


@torch.no_grad()
def beam_search(model, src, beam, max_len):
    """The same algorithm as experiments.seq2seq.beam_search (scores summed log-probs)."""
    b, k = src.shape[0], beam
    memory = model.encode(src)
    src_rep = src.repeat_interleave(k, 0)
    memory = memory.repeat_interleave(k, 0)
    cross_bias = model.key_bias(src_rep)
    dh = model.d // model.heads
    cross = [layer.cross.kv(memory) for layer in model.decoder]
    ck = [torch.zeros(b * k, model.heads, model.max_tgt, dh) for _ in model.decoder]
    cv = [torch.zeros(b * k, model.heads, model.max_tgt, dh) for _ in model.decoder]
    scores = torch.full((b, k), -math.inf)
    scores[:, 0] = 0.0
    finished = torch.zeros(b, k, dtype=torch.bool)
    tokens = torch.full((b, k, max_len), PAD, dtype=torch.long)
    last = torch.full((b * k,), BOS, dtype=torch.long)
    vocab = model.out.out_features
    pad_only = torch.full((vocab,), -math.inf)
    pad_only[PAD] = 0.0
    for pos in range(max_len):
        x = (model.tgt_embed(last) * math.sqrt(model.d) + model.tgt_pos[pos])[:, None]
        for i, layer in enumerate(model.decoder):
            x = layer.step(x, pos, ck[i], cv[i], cross[i], cross_bias)
        logp = torch.log_softmax(model.out(model.dec_norm(x))[:, 0], -1)
        logp[:, BOS] = -math.inf
        logp[:, PAD] = -math.inf
        logp = logp.view(b, k, vocab)
        logp = torch.where(finished[..., None], pad_only, logp)
        top, flat = torch.topk((scores[..., None] + logp).view(b, -1), k)
        parent, token = flat // vocab, flat % vocab
        was = torch.gather(finished, 1, parent)
        tokens = torch.gather(tokens, 1, parent[..., None].expand(-1, -1, max_len))
        tokens[:, :, pos] = torch.where(was, PAD, token)
        finished = was | (token == EOS)
        rows = (torch.arange(b)[:, None] * k + parent).view(-1)
        ck = [c[rows] for c in ck]
        cv = [c[rows] for c in cv]
        scores, last = top, token.view(-1)
    return tokens, scores
