"""Sentiment classification: an encoder with ``tasklight.ClassificationHead`` over the
mean-pooled encoding; two labels, scored with accuracy (primary) and macro-F1.

Reads the generated demo, or JSONL / CSV / TSV records with a text and a label
(``negative``/``positive``, or 0/1 as SST-2 and IMDB on the Hugging Face hub give them;
``--set data.text_field=sentence`` for SST-2's field name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import tasklight
from tasklight_sentiment import demo

LABELS = demo.LABELS  # the head's output order (0 = negative, 1 = positive)


@dataclass(frozen=True)
class Review:
    text: str
    label: str | None = None


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


class SentimentTask(tasklight.Task):
    name = "sentiment"
    description = "Classify the sentiment of a text as negative or positive (accuracy, macro-F1)."
    version = "1"
    shape = "encoder-only"
    metrics = ("sentiment_accuracy", "sentiment_macro_f1")
    settings = {
        "data.text_field": "text",  # JSONL / CSV / TSV field names
        "data.label_field": "label",
        "trainer.label_smoothing": 0.0,
    }
    demo_settings = {
        # Only on the generated demo (about a minute on a 2-core CPU). On real data (SST-2,
        # IMDB) the core's defaults apply: give a budget, e.g. --max-time 00:00:20:00.
        "model.preset": "mini",
        "model.dropout": 0.0,
        "tokenizer.vocab_size": 500,
        "trainer.max_steps": 300,
        "trainer.warmup_steps": 30,
        "trainer.lr": 0.002,
        "trainer.val_check_interval": 100,
        "trainer.checkpoint_every_n_steps": 100,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Review]:
        return [Review(text, label) for text, label in demo.examples(split, ctx.seed)]

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Review:
        text = self.field(record, ctx.config["data.text_field"], where)
        name = ctx.config["data.label_field"]
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(LABELS):
                raise tasklight.UserError(f"{where}: label {value} is not 0 (negative) or 1 (positive)")
            return Review(text.strip(), LABELS[value])
        label = str(self.field(record, name, where)).strip().lower()
        if label in ("0", "1"):
            label = LABELS[int(label)]  # CSV gives numbers as text
        if label not in LABELS:
            raise tasklight.UserError(f"{where}: label {label!r} is not one of negative, positive, 0, 1")
        return Review(text.strip(), label)

    def texts(self, example: Review) -> Iterable[str]:
        yield example.text

    # ---- model --------------------------------------------------------------------
    def head_hparams(self, train: Sequence[Review], ctx: tasklight.TaskContext) -> dict[str, Any]:
        return {"labels": list(LABELS)}

    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        return tasklight.ClassificationHead(
            model.d_model, len(hparams["labels"]), dropout=float(model.dropout),
            label_smoothing=float(ctx.config["trainer.label_smoothing"]),
        )

    def encode(self, example: Review, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool) -> list[tasklight.Features]:
        ids = tokenizer.encode(example.text)[: int(ctx.config["data.max_length"])] or [tokenizer.unk_id]
        # -100 is cross-entropy's ignore index: an unlabelled row adds no loss.
        return [{"input": ids, "label": LABELS.index(example.label) if example.label is not None else -100}]

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Review, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> Prediction:
        probabilities = outputs[0]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        return Prediction(LABELS[best], float(probabilities[best]))

    def reference(self, example: Review) -> str | None:
        return example.label

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Review:
        if isinstance(item, str):
            if not item.strip():
                raise tasklight.UserError(f"{where}: empty input")
            return Review(item.strip())
        for name in dict.fromkeys((ctx.config["data.text_field"], "text")):
            if name in item:
                return Review(self.field(item, name, where).strip())
        raise tasklight.UserError(f"{where}: expected a field {ctx.config['data.text_field']!r}")

    def to_json(self, example: Review, prediction: Prediction) -> tasklight.Record:
        return {"text": example.text, "label": prediction.label, "probability": round(prediction.probability, 4)}
