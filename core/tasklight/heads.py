"""Heads: the task-specific module over the backbone, with its loss and raw predictions.

A task picks one of these generic heads (or writes its own ``Head``) in
``Task.build_head``. ``loss`` returns the mean loss and the number of target tokens
(throughput is counted in those); ``predict`` returns one raw output per batch row,
which ``Task.decode`` turns into what the user wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tasklight.model import Transformer, generate


@dataclass(frozen=True)
class Decoding:
    """How sequences are generated (``[decoding]`` in platform.toml)."""

    strategy: str = "beam"
    beam_size: int = 4
    length_penalty: float = 1.0
    max_len_a: float = 1.2
    max_len_b: int = 10
    max_new_tokens: int = 128
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Decoding:
        return cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})


@dataclass
class PredictContext:
    """What a head needs at prediction time besides the batch."""

    bos_id: int
    eos_id: int
    pad_id: int
    decoding: Decoding
    generator: torch.Generator | None = None


class Head(nn.Module):
    """Base of every head: a module with a loss and a predict step."""

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[Any]:
        raise NotImplementedError


def token_loss(logits: Tensor, targets: Tensor, label_smoothing: float) -> Tensor:
    """Mean cross-entropy over (N, V) logits of real target tokens."""
    return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)


class Seq2SeqHead(Head):
    """Sequence to sequence with the tied LM head. Batch: ``src`` (B,S), ``tgt`` (B,T)
    where ``tgt`` is BOS + target + EOS. Predicts generated token ids per row."""

    def __init__(self, label_smoothing: float = 0.1) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        src, tgt = batch["src"], batch["tgt"]
        memory = model.encode(src)  # (B, S, C)
        hidden = model.decode(tgt[:, :-1], memory, src != model.config.pad_id)  # (B, T-1, C)
        targets = tgt[:, 1:]
        real = targets != model.config.pad_id  # (B, T-1)
        # Project only real positions onto the vocabulary: padding costs no matmul.
        logits = model.lm_logits(hidden[real])  # (N, V)
        return token_loss(logits, targets[real], self.label_smoothing), real.sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[list[int]]:
        src = batch["src"]
        d = ctx.decoding
        prefix = torch.full((src.size(0), 1), ctx.bos_id, dtype=torch.long, device=src.device)
        return generate(
            model,
            prefix,
            src_ids=src,
            eos_id=ctx.eos_id,
            max_new_tokens=int(d.max_len_a * src.size(1) + d.max_len_b),
            strategy=d.strategy,
            beam_size=d.beam_size,
            length_penalty=d.length_penalty,
            temperature=d.temperature,
            top_k=d.top_k,
            top_p=d.top_p,
            generator=ctx.generator,
        )
