"""Encoding examples into rows, predicting with a head, and scoring through the task.

``evaluate_split`` is the one encode -> predict -> score sequence: the test stage of a
run, ``platform eval`` and the validation metric (``ValidationScorer``) all use it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch

from tasklight.confidence import Interval
from tasklight.data.batching import Collator, RowDataset, TokenBudgetSampler, truncate
from tasklight.data.tokenizer import Tokenizer
from tasklight.heads import Decoding, PredictContext
from tasklight.task import Features, MetricValue, Task, TaskContext


@dataclass
class Encoded:
    """Rows of a list of examples; ``owner[i]`` is the example index of row i."""

    rows: list[Features] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    truncated: int = 0  # examples that lost tokens to data.max_length


def encode_examples(task: Task, examples: Sequence[Any], tokenizer: Tokenizer, ctx: TaskContext, *, train: bool) -> Encoded:
    encoded = Encoded()
    limit = int(ctx.config["data.max_length"])
    for index, example in enumerate(examples):
        rows = task.encode(example, tokenizer, ctx, train=train)
        cut = False
        for row in rows:
            cut = truncate(row, limit) or cut
            encoded.rows.append(row)
            encoded.owner.append(index)
        encoded.truncated += cut
    return encoded


def predict_examples(
    system: pl.LightningModule,
    task: Task,
    examples: Sequence[Any],
    encoded: Encoded,
    tokenizer: Tokenizer,
    ctx: TaskContext,
    *,
    decoding: Decoding,
    max_tokens: int,
    seed: int = 0,
) -> list[Any]:
    """One prediction per example, in the examples' order."""
    outputs: list[list[Any]] = [[] for _ in examples]
    if not encoded.rows:
        return [task.decode(e, [], tokenizer, ctx) for e in examples]
    sampler = TokenBudgetSampler(encoded.rows, max_tokens, shuffle=False)
    loader = torch.utils.data.DataLoader(
        RowDataset(encoded.rows), batch_sampler=sampler, collate_fn=Collator(tokenizer.pad_id)
    )
    device = system.device
    generator = torch.Generator(device=device).manual_seed(seed)
    pctx = PredictContext(tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id, decoding, generator, tokenizer.decoder_start_id)
    was_training = system.training
    system.eval()
    with torch.inference_mode():
        for batch in loader:
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            for row, output in zip(batch["row"].tolist(), system.head.predict(system.model, batch, pctx)):
                outputs[encoded.owner[row]].append(output)
    system.train(was_training)
    return [task.decode(e, out, tokenizer, ctx) for e, out in zip(examples, outputs)]


def score(task: Task, predictions: Sequence[Any], examples: Sequence[Any], ctx: TaskContext) -> dict[str, MetricValue]:
    references = [task.reference(e) for e in examples]
    return task.score(predictions, references, ctx)


def intervals(
    task: Task, predictions: Sequence[Any], examples: Sequence[Any], ctx: TaskContext, resamples: int
) -> dict[str, Interval]:
    """Bootstrap intervals of the metrics over the examples; none when ``resamples`` is 0."""
    if resamples <= 0 or not examples:
        return {}
    return task.intervals(predictions, [task.reference(e) for e in examples], ctx, resamples)


@dataclass
class Evaluation:
    predictions: list[Any]
    scores: dict[str, MetricValue]
    truncated: int  # examples that lost tokens to data.max_length
    intervals: dict[str, Interval] = field(default_factory=dict)  # 95% bootstrap intervals, by metric


def evaluate_split(
    system: pl.LightningModule,
    task: Task,
    examples: Sequence[Any],
    tokenizer: Tokenizer,
    ctx: TaskContext,
    *,
    decoding: Decoding,
    max_tokens: int,
    seed: int = 0,
    encoded: Encoded | None = None,
    bootstrap: int = 0,
) -> Evaluation:
    """Predict every example on the system's device and score the predictions.
    ``encoded``: the examples' rows when the caller keeps them between evaluations;
    ``bootstrap``: resamples for the metrics' 95% intervals (0: none, as for validation)."""
    if encoded is None:
        encoded = encode_examples(task, examples, tokenizer, ctx, train=False)
    predictions = predict_examples(
        system, task, examples, encoded, tokenizer, ctx, decoding=decoding, max_tokens=max_tokens, seed=seed
    )
    return Evaluation(
        predictions, score(task, predictions, examples, ctx), encoded.truncated,
        intervals(task, predictions, examples, ctx, bootstrap),
    )


class ValidationScorer(pl.Callback):
    """Decodes (a slice of) the validation set at each validation and logs ``val/<metric>``."""

    def __init__(self, task: Task, examples: Sequence[Any], tokenizer: Tokenizer, ctx: TaskContext, decoding: Decoding, max_tokens: int) -> None:
        self.task = task
        self.examples = list(examples)
        self.tokenizer = tokenizer
        self.ctx = ctx
        self.decoding = decoding
        self.max_tokens = max_tokens
        self.encoded = encode_examples(task, self.examples, tokenizer, ctx, train=False)
        self.seconds = 0.0
        self.step = -1  # the global step of the last validation

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        start = time.perf_counter()
        evaluation = evaluate_split(
            pl_module, self.task, self.examples, self.tokenizer, self.ctx,
            decoding=self.decoding, max_tokens=self.max_tokens, encoded=self.encoded,
        )
        for name, value in evaluation.scores.items():
            pl_module.log(f"val/{name}", float(value.value), prog_bar=name == self.task.metrics[0])
        self.seconds += time.perf_counter() - start
        self.step = trainer.global_step
