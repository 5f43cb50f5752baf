"""Heads: the task-specific module over the backbone, with its loss and raw predictions.

A task picks one of these generic heads (or writes its own ``Head``) in
``Task.build_head``. ``loss`` returns the mean loss and the number of target tokens
(throughput is counted in those); ``predict`` returns one raw output per batch row,
which ``Task.decode`` turns into what the user wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    no_repeat_ngram_size: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Decoding:
        return cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})


@dataclass
class PredictContext:
    """What a head needs at prediction time besides the batch. Token ids are the
    tokenizer's (``Tokenizer.bos_id`` ...); any may be None where it has no such token."""

    bos_id: int | None
    eos_id: int | None
    pad_id: int | None
    decoding: Decoding
    generator: torch.Generator | None = None
    decoder_start_id: int | None = None  # the first token a decoder reads (Tokenizer.decoder_start_id)


def real_tokens(batch: dict[str, Any], key: str, model: Transformer) -> Tensor:
    """(B, T) bool, True = a real token of ``batch[key]``: the collator's ``key_mask``, or
    (a batch made by hand) ``ids != pad_id``. Heads mask with it rather than with ``pad_id``,
    which a pretrained vocabulary may not have (GPT-2, Llama)."""
    mask = batch.get(f"{key}_mask")
    if mask is not None:
        return mask
    ids = batch[key]
    if model.config.pad_id is None:
        return torch.ones_like(ids, dtype=torch.bool)
    return ids != model.config.pad_id


def encode_input(model: Transformer, batch: dict[str, Any], key: str = "input") -> Tensor:
    """(B, T, C) encoder states of ``batch[key]`` with its mask and, where the row has them,
    its token types (``key_types``: the segments of ``[CLS] a [SEP] b [SEP]``)."""
    return model.encode(batch[key], real_tokens(batch, key, model), batch.get(f"{key}_types"))


HF_KINDS = ("sequence-classification", "question-answering", "token-classification", "seq2seq-lm", "causal-lm")


@dataclass
class HFHead:
    """A head as a Hugging Face task class holds it (``platform export --format hf``).

    ``kind``: one of ``HF_KINDS`` (the Auto class: AutoModelForSequenceClassification ...);
    ``weights``: the head's tensors under their names in the task class of the family
    (``classifier.weight``, ``qa_outputs.bias``); ``config``: keys it adds to config.json
    (``id2label``, ``num_labels``)."""

    kind: str
    weights: dict[str, Tensor] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


class Head(nn.Module):
    """Base of every head: a module with a loss and a predict step.

    A head over a pretrained backbone (``platform run --init``) is built like any other, by
    ``Task.build_head``, and initialised as a new head; ``from_pretrained`` then offers it
    the checkpoint's own head weights (BERT's pooler, a trained classifier) to reuse.
    ``to_hf`` says how ``platform export`` writes it into a Hugging Face task class."""

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[Any]:
        raise NotImplementedError

    def from_pretrained(self, weights: dict[str, Tensor], family: str) -> None:
        """Take what this head reuses from a checkpoint's head weights (HF names, e.g.
        ``pooler.dense.weight``) of model_type ``family``. Called whenever a head is built for
        a run started from a checkpoint: with its head weights before training, with none
        when the run is resumed or loaded (the run's checkpoint then holds the weights), so a
        head that computes as its family does always knows the family. Default: nothing
        (heads inside this one are offered them too)."""

    def to_hf(self, family: str) -> HFHead:
        """This head in a Hugging Face task class of model_type ``family``; a UserError
        naming what stands in the way when there is none. Default: that of the one generic
        head this head wraps, if it wraps one."""
        inner = [m for m in self.children() if isinstance(m, Head)]
        if len(inner) == 1:
            return inner[0].to_hf(family)
        raise UserError(f"the {type(self).__name__} head has no Hugging Face task class")


def offer_pretrained(head: nn.Module, weights: dict[str, Tensor], family: str) -> None:
    """``from_pretrained`` of ``head`` and of every head inside it: the checkpoint's head
    weights when a run starts from it, none when a run that started from it is resumed or
    loaded (its weights then come from the run's own checkpoint, and heads learn the family)."""
    for module in head.modules():
        if isinstance(module, Head):
            module.from_pretrained(weights, family)


def token_loss(logits: Tensor, targets: Tensor, label_smoothing: float) -> Tensor:
    """Mean cross-entropy over (N, V) logits of real target tokens."""
    return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)


def lm_loss(model: Transformer, hidden: Tensor, targets: Tensor, label_smoothing: float) -> Tensor:
    """Mean cross-entropy of (N, C) decoder states against their (N,) next tokens, scored with
    the model's LM head."""
    return token_loss(model.lm_logits(hidden), targets, label_smoothing)


class Seq2SeqHead(Head):
    """Sequence to sequence with the backbone's LM head. Batch: ``src`` (B,S), ``tgt`` (B,T)
    where ``tgt`` is the decoder start + target + EOS (``tokenizer.decoder_start_id`` +
    ``tokenizer.encode_target(target).ids``). Predicts generated token ids per row, starting
    from ``PredictContext.decoder_start_id``."""

    def __init__(self, label_smoothing: float = 0.1) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        src, tgt = batch["src"], batch["tgt"]
        src_real = real_tokens(batch, "src", model)  # (B, S)
        memory = model.encode(src, src_real)  # (B, S, C)
        hidden = model.decode(tgt[:, :-1], memory, src_real)  # (B, T-1, C)
        targets = tgt[:, 1:]
        real = real_tokens(batch, "tgt", model)[:, 1:]  # (B, T-1)
        # Project only real positions onto the vocabulary: padding costs no matmul.
        return lm_loss(model, hidden[real], targets[real], self.label_smoothing), real.sum()  # (N, C) states

    def to_hf(self, family: str) -> HFHead:
        return HFHead("seq2seq-lm")  # the backbone's own output layer

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[list[int]]:
        src = batch["src"]
        d = ctx.decoding
        start = ctx.decoder_start_id if ctx.decoder_start_id is not None else ctx.bos_id
        if start is None or ctx.eos_id is None:
            raise ValueError("sequence-to-sequence decoding needs the tokenizer's decoder start and end tokens")
        prefix = torch.full((src.size(0), 1), start, dtype=torch.long, device=src.device)
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
            no_repeat_ngram_size=d.no_repeat_ngram_size,
        )


POOLINGS = ("mean", "first", "pooler")


@dataclass(frozen=True)
class Pooler:
    """How a family's sequence-classification class pools: ``activation(dense(h[:, 0]))``,
    then ``classifier``, with the names the class gives both, and the name of the dense
    layer among a checkpoint's own head weights where it has one to reuse."""

    dense: str
    classifier: str
    activation: str  # "tanh" or "relu"
    pretrained: str | None = None


# BERT pools in its base model (a checkpoint carries the pooler), RoBERTa in its
# classification head; DistilBERT's classification head has a pre-classifier and a ReLU.
POOLERS: dict[str, Pooler] = {
    "bert": Pooler("bert.pooler.dense", "classifier", "tanh", pretrained="pooler.dense"),
    "roberta": Pooler("classifier.dense", "classifier.out_proj", "tanh"),
    "distilbert": Pooler("pre_classifier", "classifier", "relu", pretrained="pre_classifier"),
}
ACTIVATIONS = {"tanh": torch.tanh, "relu": F.relu}


class ClassificationHead(Head):
    """A label per input over the pooled encoding: the mean of the real tokens' states
    (``pooling="mean"``), the first token's (``"first"``: BERT's [CLS], RoBERTa's <s>), or
    the first token's through a dense layer and an activation (``"pooler"``): what the
    sequence-classification class of the backbone's family computes (BERT's pooler and
    RoBERTa's head: tanh; DistilBERT's: ReLU), so such a head exports exactly. It pools with
    tanh until ``from_pretrained`` names another family; a checkpoint's trained pooler
    (BERT's, a DistilBERT classifier's) is reused.
    Batch: ``input`` (B,T) (with ``input_types`` where the input is a pair), ``label`` (B,).
    Predicts each row's class probabilities (a list of floats)."""

    def __init__(
        self, d_model: int, n_labels: int, dropout: float = 0.1, label_smoothing: float = 0.0, pooling: str = "mean"
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        self.pooling = pooling
        self.pooler = nn.Linear(d_model, d_model) if pooling == "pooler" else None
        self.activation = "tanh"
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, n_labels)
        self.label_smoothing = label_smoothing

    def from_pretrained(self, weights: dict[str, Tensor], family: str) -> None:
        if self.pooler is None or family not in POOLERS:
            return
        pooler = POOLERS[family]
        self.activation = pooler.activation
        if pooler.pretrained is not None and f"{pooler.pretrained}.weight" in weights:
            with torch.no_grad():
                self.pooler.weight.copy_(weights[f"{pooler.pretrained}.weight"])
                self.pooler.bias.copy_(weights[f"{pooler.pretrained}.bias"])

    def to_hf(self, family: str) -> HFHead:
        if self.pooler is None or family not in POOLERS:
            why = f"pooling={self.pooling!r}" if self.pooler is None else f"a {family} model"
            raise UserError(
                f"a classification head with {why} has no Hugging Face sequence-classification class "
                f"(export needs pooling \"pooler\" on {', '.join(list(POOLERS)[:-1])} or {list(POOLERS)[-1]})"
            )
        pooler = POOLERS[family]
        if self.activation != pooler.activation:  # a head never told its family (from_pretrained)
            raise UserError(
                f"this classification head pools with {self.activation}, and {family}'s sequence-classification "
                f"class with {pooler.activation}"
            )
        weights = {f"{pooler.dense}.weight": self.pooler.weight, f"{pooler.dense}.bias": self.pooler.bias,
                   f"{pooler.classifier}.weight": self.classifier.weight, f"{pooler.classifier}.bias": self.classifier.bias}
        return HFHead("sequence-classification", weights, {"num_labels": self.classifier.out_features})

    def logits(self, model: Transformer, batch: dict[str, Any] | Tensor) -> Tensor:
        """(B, L) logits of ``batch["input"]`` (a bare (B, T) id tensor is read as that)."""
        if isinstance(batch, Tensor):
            batch = {"input": batch}
        hidden = encode_input(model, batch)  # (B, T, C)
        if self.pooler is not None:
            pooled = ACTIVATIONS[self.activation](self.pooler(hidden[:, 0]))  # (B, C)
        elif self.pooling == "first":
            pooled = hidden[:, 0]  # (B, C)
        else:
            real = real_tokens(batch, "input", model).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * real).sum(1) / real.sum(1).clamp(min=1.0)  # (B, C)
        return self.classifier(self.dropout(pooled))  # (B, L)

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        logits = self.logits(model, batch)
        loss = F.cross_entropy(logits.float(), batch["label"], label_smoothing=self.label_smoothing)
        return loss, real_tokens(batch, "input", model).sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[list[float]]:
        return self.logits(model, batch).float().softmax(-1).tolist()


class SpanHead(Head):
    """Extractive spans: start and end logits per token. Batch: ``input`` (B,T), ``start``
    and ``end`` (B,) token positions (0 where the row holds no answer, SQuAD 2.0 style).
    Predicts per row ``{"start": [...], "end": [...]}`` logits over real tokens, plus the
    row's metadata fields (keys starting with ``_``)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.span = nn.Linear(d_model, 2)

    def to_hf(self, family: str) -> HFHead:
        return HFHead("question-answering", {"qa_outputs.weight": self.span.weight, "qa_outputs.bias": self.span.bias})

    def logits(self, model: Transformer, batch: dict[str, Any] | Tensor) -> tuple[Tensor, Tensor]:
        """(B, T) start and end logits of ``batch["input"]`` (a bare id tensor is read as that)."""
        if isinstance(batch, Tensor):
            batch = {"input": batch}
        scores = self.span(encode_input(model, batch)).float()  # (B, T, 2)
        scores = scores.masked_fill(~real_tokens(batch, "input", model).unsqueeze(-1), float("-inf"))
        return scores[..., 0], scores[..., 1]  # (B, T) each

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        start, end = self.logits(model, batch)
        loss = (F.cross_entropy(start, batch["start"]) + F.cross_entropy(end, batch["end"])) / 2
        return loss, real_tokens(batch, "input", model).sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[dict[str, Any]]:
        start, end = self.logits(model, batch)
        lengths = real_tokens(batch, "input", model).sum(1).tolist()
        meta = {k: v for k, v in batch.items() if k.startswith("_")}
        return [
            {"start": start[i, :n].tolist(), "end": end[i, :n].tolist(), **{k: v[i] for k, v in meta.items()}}
            for i, n in enumerate(lengths)
        ]


class CausalLMHead(Head):
    """Language modelling with the tied LM head (decoder-only).

    Training/scoring batch: ``input`` (B,T) token blocks. ``predict`` on such a batch
    returns each row's ``{"nll": summed negative log-likelihood in nats, "tokens": n}`` (and
    ``"chars"`` when the row carries ``_chars``, the characters its targets cover);
    on a batch with ``prompt`` (B,P) instead, the generated continuation's token ids.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def to_hf(self, family: str) -> HFHead:
        return HFHead("causal-lm")  # the backbone's own output layer

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        ids = batch["input"]
        hidden = model.decode(ids[:, :-1])  # (B, T-1, C)
        targets = ids[:, 1:]
        real = real_tokens(batch, "input", model)[:, 1:]
        return lm_loss(model, hidden[real], targets[real], self.label_smoothing), real.sum()  # (N, C) states

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[Any]:
        if "prompt" in batch:
            d = ctx.decoding
            prompts = batch["prompt"]  # (B, P), right-padded
            lengths = real_tokens(batch, "prompt", model).sum(1)
            out: list[Any] = [None] * prompts.size(0)
            # generate() takes unpadded prompts: one call per prompt length, each on the cache.
            for length in sorted(set(lengths.tolist())):
                rows = (lengths == length).nonzero().squeeze(1)
                generated = generate(
                    model, prompts[rows, :length], eos_id=ctx.eos_id, max_new_tokens=d.max_new_tokens,
                    strategy=d.strategy, beam_size=d.beam_size, length_penalty=d.length_penalty,
                    temperature=d.temperature, top_k=d.top_k, top_p=d.top_p, generator=ctx.generator,
                    no_repeat_ngram_size=d.no_repeat_ngram_size,
                )
                for row, ids in zip(rows.tolist(), generated):
                    out[row] = ids
            return out
        ids = batch["input"]
        hidden = model.decode(ids[:, :-1])
        targets = ids[:, 1:]
        logp = model.lm_logits(hidden).float().log_softmax(-1)  # (B, T-1, V)
        nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T-1)
        real = real_tokens(batch, "input", model)[:, 1:]
        nll = (nll * real).sum(1)
        out = [{"nll": float(n), "tokens": int(t)} for n, t in zip(nll.tolist(), real.sum(1).tolist())]
        for row, chars in zip(out, batch.get("_chars") or []):  # the characters a block's targets cover
            row["chars"] = int(chars)
        return out


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

    def logits(self, model: Transformer, batch: dict[str, Any] | Tensor) -> Tensor:
        """(B, T, L) logits of ``batch["input"]`` (a bare id tensor is read as that)."""
        if isinstance(batch, Tensor):
            batch = {"input": batch}
        return self.classifier(self.dropout(encode_input(model, batch)))  # (B, T, L)

    def to_hf(self, family: str) -> HFHead:
        weights = {"classifier.weight": self.classifier.weight, "classifier.bias": self.classifier.bias}
        return HFHead("token-classification", weights, {"num_labels": self.classifier.out_features})

    def loss(self, model: Transformer, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        labels = batch["labels"]
        logits = self.logits(model, batch).float()
        labelled = labels != IGNORE_INDEX  # (B, T)
        if not bool(labelled.any()):
            return logits.sum() * 0.0, labelled.sum()  # nothing to learn from: zero loss, graph intact
        loss = F.cross_entropy(logits[labelled], labels[labelled], label_smoothing=self.label_smoothing)
        return loss, labelled.sum()

    @torch.no_grad()
    def predict(self, model: Transformer, batch: dict[str, Any], ctx: PredictContext) -> list[dict[str, Any]]:
        best, labels = self.logits(model, batch).float().softmax(-1).max(-1)  # (B, T) each
        lengths = real_tokens(batch, "input", model).sum(1).tolist()
        meta = {k: v for k, v in batch.items() if k.startswith("_")}
        return [
            {"labels": labels[i, :n].tolist(), "probabilities": best[i, :n].tolist(), **{k: v[i] for k, v in meta.items()}}
            for i, n in enumerate(lengths)
        ]
