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

from tasklight.errors import UserError
from tasklight.model import Transformer, generate
from tasklight.task import IGNORE_INDEX


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


def lm_loss(model: Transformer, hidden: Tensor, targets: Tensor, label_smoothing: float) -> Tensor:
    """Mean cross-entropy of (N, C) decoder states against their (N,) next tokens, scored with
    the model's LM head."""
    return token_loss(model.lm_logits(hidden), targets, label_smoothing)


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
        return lm_loss(model, hidden[real], targets[real], self.label_smoothing), real.sum()  # (N, C) states

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


class ClassificationHead(Head):
    """A label per input over the mean-pooled encoding. Batch: ``input`` (B,T), ``label`` (B,).
    Predicts each row's class probabilities (a list of floats)."""

    def __init__(self, d_model: int, n_labels: int, dropout: float = 0.1, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, n_labels)
        self.label_smoothing = label_smoothing

    def logits(self, model: Transformer, ids: Tensor) -> Tensor:
        hidden = model.encode(ids)  # (B, T, C)
        real = (ids != model.config.pad_id).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * real).sum(1) / real.sum(1).clamp(min=1.0)  # (B, C)
        return self.classifier(self.dropout(pooled))  # (B, L)

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        logits = self.logits(model, batch["input"])
        return F.cross_entropy(logits.float(), batch["label"], label_smoothing=self.label_smoothing), (batch["input"] != model.config.pad_id).sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[list[float]]:
        return self.logits(model, batch["input"]).float().softmax(-1).tolist()


class SpanHead(Head):
    """Extractive spans: start and end logits per token. Batch: ``input`` (B,T), ``start``
    and ``end`` (B,) token positions (0 where the row holds no answer, SQuAD 2.0 style).
    Predicts per row ``{"start": [...], "end": [...]}`` logits over real tokens, plus the
    row's metadata fields (keys starting with ``_``)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.span = nn.Linear(d_model, 2)

    def logits(self, model: Transformer, ids: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.span(model.encode(ids)).float()  # (B, T, 2)
        scores = scores.masked_fill((ids == model.config.pad_id).unsqueeze(-1), float("-inf"))
        return scores[..., 0], scores[..., 1]  # (B, T) each

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        start, end = self.logits(model, batch["input"])
        loss = (F.cross_entropy(start, batch["start"]) + F.cross_entropy(end, batch["end"])) / 2
        return loss, (batch["input"] != model.config.pad_id).sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[dict[str, Any]]:
        start, end = self.logits(model, batch["input"])
        lengths = (batch["input"] != model.config.pad_id).sum(1).tolist()
        meta = {k: v for k, v in batch.items() if k.startswith("_")}
        return [
            {"start": start[i, :n].tolist(), "end": end[i, :n].tolist(), **{k: v[i] for k, v in meta.items()}}
            for i, n in enumerate(lengths)
        ]


class CausalLMHead(Head):
    """Language modelling with the tied LM head (decoder-only).

    Training/scoring batch: ``input`` (B,T) token blocks. ``predict`` on such a batch
    returns each row's ``{"nll": summed negative log-likelihood in nats, "tokens": n}``;
    on a batch with ``prompt`` (B,P) instead, the generated continuation's token ids.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        ids = batch["input"]
        hidden = model.decode(ids[:, :-1])  # (B, T-1, C)
        targets = ids[:, 1:]
        real = targets != model.config.pad_id
        return lm_loss(model, hidden[real], targets[real], self.label_smoothing), real.sum()  # (N, C) states

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[Any]:
        if "prompt" in batch:
            d = ctx.decoding
            prompts = batch["prompt"]  # (B, P), right-padded
            lengths = (prompts != model.config.pad_id).sum(1)
            out: list[Any] = [None] * prompts.size(0)
            # generate() takes unpadded prompts: one call per prompt length, each on the cache.
            for length in sorted(set(lengths.tolist())):
                rows = (lengths == length).nonzero().squeeze(1)
                generated = generate(
                    model, prompts[rows, :length], eos_id=ctx.eos_id, max_new_tokens=d.max_new_tokens,
                    strategy=d.strategy, beam_size=d.beam_size, length_penalty=d.length_penalty,
                    temperature=d.temperature, top_k=d.top_k, top_p=d.top_p, generator=ctx.generator,
                )
                for row, ids in zip(rows.tolist(), generated):
                    out[row] = ids
            return out
        ids = batch["input"]
        hidden = model.decode(ids[:, :-1])
        targets = ids[:, 1:]
        logp = model.lm_logits(hidden).float().log_softmax(-1)  # (B, T-1, V)
        nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T-1)
        real = targets != model.config.pad_id
        nll = (nll * real).sum(1)
        return [{"nll": float(n), "tokens": int(t)} for n, t in zip(nll.tolist(), real.sum(1).tolist())]


def check_loss(head: nn.Module, result: Any) -> tuple[Tensor, Tensor | int]:
    """``result`` of ``head.loss(model, batch)`` checked against the head protocol:
    ``(loss, n_tokens)``, a scalar floating-point tensor and the number of tokens it covers
    (an int or a one-element tensor). Anything else is one ``UserError`` naming the head, not
    a ``TypeError`` from deep inside the training step."""
    name = f"{type(head).__module__}.{type(head).__qualname__}"
    expected = "it must return (loss, n_tokens): a scalar loss tensor and the number of tokens it covers"
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        got = f"a {type(result).__name__}" + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else "")
        raise UserError(f"head {name}.loss returned {got}; {expected}")
    loss, tokens = result
    if not (isinstance(loss, Tensor) and loss.numel() == 1 and loss.is_floating_point()):
        shape = f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else f"a {type(loss).__name__}"
        raise UserError(f"head {name}.loss returned {shape} as its loss; {expected}")
    if not (isinstance(tokens, int) and not isinstance(tokens, bool) or isinstance(tokens, Tensor) and tokens.numel() == 1):
        raise UserError(f"head {name}.loss returned a {type(tokens).__name__} as n_tokens; {expected}")
    return loss, tokens


class TokenClassificationHead(Head):
    """A label per token over the encoding (sequence labelling: named entities, slots, parts
    of speech). Batch: ``input`` (B,T) token ids and ``labels`` (B,T) label indices, one per
    position, ``tasklight.IGNORE_INDEX`` (-100) where a position has no label (special
    tokens, a word's later pieces; the collator pads ``labels`` with it). Predicts per row
    ``{"labels": [...], "probabilities": [...]}``: each real position's most likely label
    index and its probability, plus the row's metadata fields (keys starting with ``_``)."""

    def __init__(self, d_model: int, n_labels: int, dropout: float = 0.1, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, n_labels)
        self.label_smoothing = label_smoothing

    def logits(self, model: Transformer, ids: Tensor) -> Tensor:
        return self.classifier(self.dropout(model.encode(ids)))  # (B, T, L)

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        ids, labels = batch["input"], batch["labels"]
        logits = self.logits(model, ids).float()
        labelled = labels != IGNORE_INDEX  # (B, T)
        if not bool(labelled.any()):
            return logits.sum() * 0.0, labelled.sum()  # nothing to learn from: zero loss, graph intact
        loss = F.cross_entropy(logits[labelled], labels[labelled], label_smoothing=self.label_smoothing)
        return loss, labelled.sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[dict[str, Any]]:
        ids = batch["input"]
        best, labels = self.logits(model, ids).float().softmax(-1).max(-1)  # (B, T) each
        lengths = (ids != model.config.pad_id).sum(1).tolist()
        meta = {k: v for k, v in batch.items() if k.startswith("_")}
        return [
            {"labels": labels[i, :n].tolist(), "probabilities": best[i, :n].tolist(), **{k: v[i] for k, v in meta.items()}}
            for i, n in enumerate(lengths)
        ]
