"""A JAX encoder-decoder transformer (equinox + optax) shared by the eigenvalue and the
summarization experiments: model, training with resumable checkpoints, log-likelihood scoring,
and batched beam search / greedy / sampling with a key-value cache.

Token ids ``PAD = 0``, ``BOS = 1``, ``EOS = 2`` are reserved in every vocabulary; targets are
given as tokens + EOS, PAD-padded (``train`` prepends BOS itself).
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .decode import BeamResult, beam_search, greedy_decode, sample_decode
from .model import BOS, EOS, PAD, ModelConfig, Seq2Seq
from .train import TrainConfig, TrainResult, log_likelihood, train

__all__ = [
    "PAD", "BOS", "EOS", "ModelConfig", "Seq2Seq", "TrainConfig", "TrainResult", "train",
    "log_likelihood", "beam_search", "BeamResult", "greedy_decode", "sample_decode",
    "save_checkpoint", "load_checkpoint",
]
