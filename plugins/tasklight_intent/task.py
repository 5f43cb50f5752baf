"""Intent classification: an encoder with a classification head over the pooled encoding,
scored with accuracy (primary) and macro-F1."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tasklight
from tasklight_intent import readers
from tasklight_intent.demo import demo_pairs
from tasklight_intent.metrics import label_of

TOP_K = 3  # the label and up to two alternatives in predictions


@dataclass(frozen=True)
class Utterance:
    text: str
    label: str | None = None


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    alternatives: tuple[tuple[str, float], ...] = ()  # the next most likely labels, best first
    # The labels the model was trained on: lets scoring name test labels it could never predict.
    known: tuple[str, ...] = field(default=(), compare=False, repr=False)


class IntentTask(tasklight.Task):
    name = "intent"
    description = "Classify an utterance into an intent (accuracy and macro-F1)."
    version = "2"  # 2: inputs carry the tokenizer's special tokens
    shape = "encoder-only"
    metrics = ("accuracy", "macro_f1")
    settings = {
        "data.text_field": "text",  # JSONL / CSV / TSV field names
        "data.label_field": "label",
        "data.clinc_file": "data_full.json",  # the file of a CLINC150 folder given as --data
        "data.clinc_oos": "exclude",  # exclude | include: add CLINC150's oos_* examples to train/val/test
        "data.oos_label": "oos",  # references with this label are also scored apart (in-scope accuracy, oos recall)
        # One forward pass per utterance: scoring the whole validation set is cheap (CLINC150's
        # 3,000 take seconds), and the best checkpoint is chosen on all of it.
        "data.val_metric_examples": 0,
        # How an utterance's states become one vector: "mean" of its tokens, the "first"
        # token's ([CLS], <s>), or "pooler" (a dense layer and the family's activation over the
        # first token: BERT's pooler, taken from the checkpoint, or DistilBERT's pre-classifier;
        # what `platform export` writes as ForSequenceClassification).
        "head.pooling": "mean",
        # Utterances are short: 1,024-token batches (about 90 of them) give four times the
        # updates of the core's 4,096, and a 100-step warmup suits the few thousand updates of
        # a 20-minute run. Every intent figure of benchmarks/RESULTS.md was measured with them.
        "data.max_tokens": 1024,
        "trainer.warmup_steps": 100,
        # A BPE of 2,000 tokens (the core's is 8,000) when one is trained, i.e. from scratch:
        # with 100 utterances an intent (CLINC150), rarer words are better split into pieces
        # that other utterances share: validation accuracy +0.9 after 2,500 steps. ATIS's
        # BPE runs out of merges at 1,365 tokens (867 distinct words), so its runs do not
        # change (benchmarks/RESULTS.md). From a checkpoint, its own tokenizer is used.
        "tokenizer.vocab_size": 2000,
    }
    demo_settings = {
        # The generated demo (8 assistant intents, templated with shared slots and
        # label-preserving noise): test accuracy >= 99% after ~150 steps, under a minute on
        # 2 CPU cores.
        "model.preset": "mini",
        "tokenizer.vocab_size": 1000,
        "trainer.max_steps": 150,
        "trainer.warmup_steps": 30,
        "trainer.lr": 0.002,
        "trainer.val_check_interval": 50,
        "trainer.checkpoint_every_n_steps": 50,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Utterance]:
        return [Utterance(text, label) for text, label in demo_pairs(split, ctx.seed)]

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Utterance:
        text = self.field(record, ctx.config["data.text_field"], where)
        label = self._label(record, ctx.config["data.label_field"], where)
        return Utterance(text.strip(), label)

    def _label(self, record: tasklight.Record, name: str, where: str) -> str:
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # integer class ids (common on the Hugging Face hub) are labels too
        return self.field(record, name, where).strip()

    def split_names(self, folder: Path, ctx: tasklight.TaskContext) -> list[str]:
        aligned = readers.aligned_split_names(folder)
        if aligned:
            return aligned
        clinc = folder / ctx.config["data.clinc_file"]
        if clinc.is_file():
            names = readers.multi_split_names(clinc)
            if names:
                return names
        return super().split_names(folder, ctx)

    def split_files(self, folder: Path, split: str, ctx: tasklight.TaskContext) -> list[Path] | None:
        aligned = readers.aligned_split_files(folder, split)
        if aligned is not None:
            return aligned
        clinc = folder / ctx.config["data.clinc_file"]
        if clinc.is_file() and split in readers.multi_split_names(clinc):
            return [clinc.with_name(f"{clinc.name}{readers.SELECTOR}{split}")]
        return None

    def read_files(self, paths: list[Path], ctx: tasklight.TaskContext) -> list[Utterance] | None:
        oos = str(ctx.config["data.clinc_oos"])
        if len(paths) == 1 and (selected := readers.split_of(paths[0])) is not None and selected[0].is_file():
            return self._utterances(readers.read_multi_split(*selected, oos))
        if len(paths) > 1:
            if not readers.is_aligned_pair(paths):
                raise tasklight.UserError(
                    f"{','.join(map(str, paths))}: intent reads line-aligned utterance and label files "
                    f"(seq.in,label or TEXTS,LABELS), or one JSONL/CSV/TSV/JSON file"
                )
            return self._utterances(readers.read_aligned(paths))
        path = paths[0]
        if path.name.lower().endswith(".json") and path.is_file():
            data = tasklight.load_json(path)
            if readers.is_multi_split(data):
                return self._utterances(readers.read_multi_split(path, self._bare_split(path, data, ctx), oos))
        return None  # a generic format (JSONL, CSV, TSV, JSON list) with text/label fields

    def read_splits(self, path: Path, ctx: tasklight.TaskContext) -> dict[str, list[Utterance]] | None:
        """Every split of a multi-split file (CLINC150's ``data_full.json``), by its own names:
        ``--data data_full.json`` alone gives train, validation (``val``) and test."""
        if not (path.name.lower().endswith(".json") and path.is_file()):
            return None
        data = tasklight.load_json(path)
        if not readers.is_multi_split(data):
            return None
        oos = str(ctx.config["data.clinc_oos"])
        return {name: self._utterances(readers.split_pairs(data, path, name, oos)) for name in data}

    def _bare_split(self, path: Path, data: dict[str, Any], ctx: tasklight.TaskContext) -> str:
        """A multi-split file named as one split's path (``--set data.train=data_full.json``)
        is read as its train split; validation and test must then come from elsewhere: the
        file's folder (``--set data.validation=FOLDER`` picks the folder's ``val``), or other
        files. Anything that would silently test on held-out train examples is refused.
        """
        splits = ", ".join(sorted(data))
        folder = path.parent
        # A folder is read through its data.clinc_file.
        extra = f" --set data.clinc_file={path.name}" if path.name != ctx.config["data.clinc_file"] else ""
        hint = f"give the folder instead: --data {folder}{extra}"
        for role in ("validation", "test"):
            spec = str(ctx.config.get(f"data.{role}", "") or "")
            if spec and "," not in spec and Path(spec).resolve() == path.resolve():
                raise tasklight.UserError(
                    f"{path}: holds several splits ({splits}), so the file alone cannot name the {role} split; "
                    f"{hint}, or --set data.{role}={folder}{extra} (which picks its "
                    f"{'val' if role == 'validation' else 'test'} split)"
                )
        if not ctx.config.get("data.validation") and not ctx.config.get("data.test"):
            raise tasklight.UserError(
                f"{path}: holds its own splits ({splits}); {hint} to use them, "
                f"or keep the file for train and --set data.validation={folder} --set data.test={folder}{extra}"
            )
        if "train" not in data:
            raise tasklight.UserError(f"{path}: no train split (splits: {splits})")
        return "train"

    @staticmethod
    def _utterances(pairs: Iterable[tuple[str, str]]) -> list[Utterance]:
        return [Utterance(text, label) for text, label in pairs]

    def texts(self, example: Utterance) -> Iterable[str]:
        yield example.text

    # ---- model --------------------------------------------------------------------
    def head_hparams(self, train: Sequence[Utterance], ctx: tasklight.TaskContext) -> dict[str, Any]:
        labels = sorted({e.label for e in train if e.label is not None})
        if not labels:
            raise tasklight.UserError("intent: the training examples carry no labels")
        return {"labels": labels}

    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        from tasklight_intent.head import IntentHead

        pooling = str(ctx.config["head.pooling"])
        if pooling not in ("mean", "first", "pooler"):
            raise tasklight.UserError(f"head.pooling must be mean, first or pooler, got {pooling!r}")
        return IntentHead(
            model.d_model, list(hparams["labels"]), dropout=float(model.dropout),
            label_smoothing=float(ctx.config["trainer.label_smoothing"]), pooling=pooling,
        )

    def encode(
        self, example: Utterance, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool
    ) -> list[tasklight.Features]:
        # The tokenizer's own layout (<s> text </s>, [CLS] text [SEP]); the core cuts rows
        # longer than data.max_length and keeps their end token.
        ids = tokenizer.encode_input(example.text).ids
        # The label's index in the head's label list; a label unseen in training adds no loss.
        labels = ctx.hparams["labels"]
        label = labels.index(example.label) if example.label in labels else tasklight.IGNORE_INDEX
        return [{"input": ids, "label": label}]

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Utterance, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> Prediction:
        output = outputs[0]
        ranked = sorted(zip(output["labels"], output["probabilities"]), key=lambda lp: -lp[1])[:TOP_K]
        (label, probability), rest = ranked[0], ranked[1:]
        return Prediction(label, float(probability), tuple((l, float(p)) for l, p in rest), tuple(output["labels"]))

    def reference(self, example: Utterance) -> str | None:
        return example.label

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Utterance:
        if isinstance(item, str):
            if not item.strip():
                raise tasklight.UserError(f"{where}: empty input")
            return Utterance(item.strip())
        names = list(dict.fromkeys((ctx.config["data.text_field"], "text")))
        for name in names:
            if name in item:
                return Utterance(self.field(item, name, where).strip())
        raise tasklight.UserError(f"{where}: expected a field {' or '.join(map(repr, names))}")

    def prediction_from_json(self, row: tasklight.Record, where: str) -> str:
        return self.field(row, "label", where)

    def to_json(self, example: Utterance, prediction: Prediction) -> tasklight.Record:
        return {
            "text": example.text,
            "label": prediction.label,
            "probability": round(prediction.probability, 4),
            "alternatives": [{"label": l, "probability": round(p, 4)} for l, p in prediction.alternatives],
        }

    def score(
        self, predictions: Sequence[Any], references: Sequence[Any], ctx: tasklight.TaskContext
    ) -> dict[str, tasklight.MetricValue]:
        """Every metric, with the primary one's details saying which references the model
        could never predict (labels unseen in training) and, where references carry
        ``data.oos_label``, in-scope accuracy and out-of-scope recall apart."""
        scores = super().score(predictions, references, ctx)
        details = dict(scores["accuracy"].details)
        known = next((set(p.known) for p in predictions if isinstance(p, Prediction) and p.known), None)
        if known is not None:
            unseen = [r for r in references if r is not None and r not in known]
            details["unseen_labels"] = {"count": len(unseen), "labels": sorted(set(unseen))}
        oos = str(ctx.config["data.oos_label"])
        if oos and oos in references:
            inside = [(p, r) for p, r in zip(predictions, references) if r is not None and r != oos]
            outside = [p for p, r in zip(predictions, references) if r == oos]
            details["in_scope"] = {
                "accuracy": 100.0 * sum(label_of(p) == r for p, r in inside) / len(inside) if inside else None,
                "count": len(inside),
            }
            details["out_of_scope"] = {
                "recall": 100.0 * sum(label_of(p) == oos for p in outside) / len(outside), "count": len(outside),
            }
        scores["accuracy"] = dataclasses.replace(scores["accuracy"], details=details)
        return scores
