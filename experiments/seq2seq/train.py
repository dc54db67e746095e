"""Training with optax: AdamW, linear warm-up then cosine / inverse-sqrt / constant, global-norm
clipping, one jitted step, and checkpoints from which a run resumes bit for bit.

Batches: step ``t`` draws its example indices from ``fold_in(data_key, t)`` (with probabilities
proportional to the sample weights), and its dropout key from ``fold_in(dropout_key, t)``. A run
resumed from the checkpoint of step ``t`` therefore continues exactly as if uninterrupted.
Loss: mean cross-entropy over the non-PAD target tokens of the batch (EOS included), with
optional label smoothing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .checkpoint import load_tree, save_tree
from .model import BOS, PAD, ModelConfig, Seq2Seq

__all__ = ["TrainConfig", "TrainResult", "train", "log_likelihood", "teacher_inputs",
           "check_tokens"]

SCHEDULES = ("cosine", "inverse_sqrt", "constant")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int
    batch_size: int = 64
    lr: float = 1e-4
    warmup: int = 1000
    schedule: str = "cosine"
    clip_norm: float = 1.0
    weight_decay: float = 0.0
    checkpoint_every: int = 1000
    label_smoothing: float = 0.0

    def __post_init__(self):
        for name in ("steps", "batch_size", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be a non-negative integer; got {self.warmup!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {self.schedule!r}")
        for name in ("lr", "clip_norm"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)!r}")
        if not float(self.weight_decay) >= 0:
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay!r}")
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class TrainResult(NamedTuple):
    model: Seq2Seq
    losses: np.ndarray  # (steps,) training loss of every step
    steps_done: int


def learning_rate(cfg: TrainConfig):
    """The schedule: linear warm-up to ``lr``, then cosine to lr/10, 1/sqrt decay, or flat."""
    warm = optax.linear_schedule(0.0, cfg.lr, max(cfg.warmup, 1))
    rest = max(cfg.steps - cfg.warmup, 1)
    if cfg.schedule == "cosine":
        after = optax.cosine_decay_schedule(cfg.lr, rest, alpha=0.1)
    elif cfg.schedule == "inverse_sqrt":
        scale = max(cfg.warmup, 1)
        after = lambda t: cfg.lr * jnp.sqrt(scale / (scale + t))  # noqa: E731
    else:
        after = optax.constant_schedule(cfg.lr)
    return optax.join_schedules([warm, after], [cfg.warmup])


@functools.lru_cache(maxsize=64)
def optimizer(cfg: TrainConfig):
    """AdamW behind global-norm clipping. Cached per configuration, so that the jitted step,
    which takes the optimizer as a static argument, compiles once for all runs alike."""
    return optax.chain(optax.clip_by_global_norm(cfg.clip_norm),
                       optax.adamw(learning_rate(cfg), weight_decay=cfg.weight_decay))


@functools.partial(eqx.filter_jit, donate="none")
def _train_step(model, opt_state, src, tgt, probs, data_key, step, dropout_key, opt, smoothing,
                batch_size):
    """One update: draws step ``step``'s batch from the whole data set (src (N, Ls), tgt
    (N, Lt)) and updates on it. Drawing and gathering inside the compiled step matters: done
    eagerly, the two gathers cost a third of a small model's step on a CPU."""
    idx = batch_indices(data_key, step, probs, batch_size)
    key = None if dropout_key is None else jax.random.fold_in(dropout_key, step)
    loss, grads = eqx.filter_value_and_grad(_loss)(model, src[idx], tgt[idx], key, smoothing)
    updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), opt_state, loss


def check_tokens(name, x, max_len, vocab):
    """A (N, L) integer array with L <= max_len and ids in [0, vocab)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty (N, L) array of token ids; got shape "
                         f"{x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{name} must hold integer token ids; got dtype {x.dtype}")
    if x.shape[1] > max_len:
        raise ValueError(f"{name} has length {x.shape[1]} > the model's maximum {max_len}")
    if x.min() < 0 or x.max() >= vocab:
        raise ValueError(f"{name} has ids outside [0, {vocab})")
    return x.astype(np.int32)


def teacher_inputs(tgt):
    """Decoder inputs BOS + tgt[:, :-1] for targets ``tgt`` (B, Lt)."""
    return jnp.concatenate([jnp.full((tgt.shape[0], 1), BOS, tgt.dtype), tgt[:, :-1]], axis=1)


def _token_logp(model, src, tgt):
    logits = model(src, teacher_inputs(tgt))
    logp = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(logp, tgt[..., None], axis=-1)[..., 0], logp


def _loss(model, src, tgt, key, smoothing):
    logits = model(src, teacher_inputs(tgt), key=key, inference=key is None)
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, tgt[..., None], axis=-1)[..., 0]
    if smoothing:
        nll = (1 - smoothing) * nll - smoothing * jnp.mean(logp, axis=-1)
    mask = (tgt != PAD).astype(logp.dtype)
    return jnp.sum(nll * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def batch_indices(data_key, step, probs, batch_size):
    """The example indices of training step ``step``: drawn with replacement with the given
    probabilities (weights / sum of weights) from fold_in(data_key, step)."""
    return jax.random.choice(jax.random.fold_in(data_key, step), probs.shape[0], (batch_size,),
                             p=probs)


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(a.shape).encode())
    return h.hexdigest()[:16]


def train(model_config: ModelConfig, train_config: TrainConfig, src, tgt, *, key, weights=None,
          checkpoint_dir=None, init_model=None, progress=True, eval_fn=None) -> TrainResult:
    """Train (or continue training) a ``Seq2Seq`` on pairs (src, tgt).

    src (N, Ls), tgt (N, Lt): int token ids, PAD-padded; tgt = target tokens + EOS (no BOS).
    weights (N,) >= 0: examples are drawn with probability proportional to them (zero excludes).
    checkpoint_dir: where the run checkpoints every ``checkpoint_every`` steps, at the end and on
    Ctrl-C; a run finds its checkpoint there and resumes (the configs and data must match).
    init_model: start from these parameters instead of a fresh initialisation (fine-tuning).
    eval_fn(model, step) -> dict: called at every checkpoint step; printed with the progress.
    """
    cfg = train_config
    src = check_tokens("src", src, model_config.max_src_len, model_config.src_vocab_size)
    tgt = check_tokens("tgt", tgt, model_config.max_tgt_len, model_config.tgt_vocab_size)
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(f"src and tgt must have the same number of rows; got {src.shape[0]} "
                         f"and {tgt.shape[0]}")
    n = src.shape[0]
    if weights is None:
        probs = np.full(n, 1.0 / n)
    else:
        weights = np.asarray(weights, float)
        if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be N finite non-negative numbers")
        if weights.sum() <= 0:
            raise ValueError("weights must not all be zero")
        probs = weights / weights.sum()
    init_key, data_key, dropout_key = jax.random.split(key, 3)
    model = init_model if init_model is not None else Seq2Seq(model_config, key=init_key)
    if init_model is not None and init_model.config != model_config:
        raise ValueError("init_model has another configuration than model_config")
    opt = optimizer(cfg)
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    losses = np.full(cfg.steps, np.nan)
    meta = {"model_config": model_config.to_dict(), "train_config": cfg.to_dict(),
            "data": _digest(src, tgt, probs), "key": np.asarray(jax.random.key_data(key)).tolist()}
    step0 = 0
    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / "train.eqx"
    if ckpt is not None and Path(f"{ckpt}.json").exists():
        (model, opt_state), stored = load_tree(ckpt, (model, opt_state))
        if {k: stored.get(k) for k in meta} != meta:
            raise ValueError(f"{ckpt}: the checkpoint belongs to another run (model, training "
                             f"configuration, data or key differ); use another checkpoint_dir")
        step0 = int(stored["step"])
        losses[:step0] = np.asarray(stored["losses"], float)[:step0]

    src_d, tgt_d, probs_d = jnp.asarray(src), jnp.asarray(tgt), jnp.asarray(probs)
    use_dropout = model_config.dropout > 0

    def step_fn(model, opt_state, step):
        return _train_step(model, opt_state, src_d, tgt_d, probs_d, data_key, step,
                           dropout_key if use_dropout else None, opt,
                           float(cfg.label_smoothing), cfg.batch_size)

    def save(step):
        if ckpt is not None:
            save_tree(ckpt, (model, opt_state),
                      {**meta, "step": step, "losses": losses[:step].tolist()})

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=step0, disable=not progress, desc="train",
               unit="step", dynamic_ncols=True, leave=False)
    step = step0
    try:
        while step < cfg.steps:
            model, opt_state, loss = step_fn(model, opt_state, jnp.asarray(step, jnp.int32))
            losses[step] = float(loss)
            step += 1
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{np.nanmean(losses[step - 50:step]):.4f}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save(step)
                if eval_fn is not None:
                    bar.write(f"step {step}: {eval_fn(model, step)}")
    except KeyboardInterrupt:
        save(step)
        bar.close()
        raise
    bar.close()
    return TrainResult(model, losses, step)


@eqx.filter_jit
def _batch_loglik(model, src, tgt):
    token_logp, _ = _token_logp(model, src, tgt)
    mask = tgt != PAD
    return jnp.sum(jnp.where(mask, token_logp, 0.0), axis=-1), jnp.sum(mask, axis=-1)


def log_likelihood(model, src, tgt, *, batch_size=256):
    """Sum of log p(token) over each target's non-PAD tokens (EOS included), and their count.

    src (N, Ls), tgt (N, Lt) as in ``train``. Returns (sum_logp (N,), lengths (N,)) NumPy.
    """
    cfg = model.config
    src = check_tokens("src", src, cfg.max_src_len, cfg.src_vocab_size)
    tgt = check_tokens("tgt", tgt, cfg.max_tgt_len, cfg.tgt_vocab_size)
    if src.shape[0] != tgt.shape[0]:
        raise ValueError("src and tgt must have the same number of rows")
    return _batched(lambda s, t: _batch_loglik(model, s, t), (src, tgt), batch_size)


def _batched(fn, arrays, batch_size):
    """Apply ``fn`` to fixed-size batches (the last padded with copies of row 0), so one
    compiled program serves any N; outputs concatenated and trimmed to N."""
    n = arrays[0].shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    size = min(batch_size, n)
    outs = []
    for start in range(0, n, size):
        chunk = [a[start:start + size] for a in arrays]
        short = size - chunk[0].shape[0]
        if short:
            chunk = [np.concatenate([c, np.repeat(a[:1], short, axis=0)]) for c, a in
                     zip(chunk, arrays)]
        res = fn(*[jnp.asarray(c) for c in chunk])
        res = res if isinstance(res, tuple) else (res,)
        outs.append([np.asarray(r)[:size - short] for r in res])
    merged = tuple(np.concatenate([o[i] for o in outs]) for i in range(len(outs[0])))
    return merged if len(merged) > 1 else merged[0]
