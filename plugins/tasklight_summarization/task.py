"""Summarization: encoder-decoder with the tied LM head, scored with ROUGE (rouge-score)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tasklight
from tasklight_summarization import readers
from tasklight_summarization.demo import demo_pairs
from tasklight_summarization.metrics import ROUGE_TYPES, rouge

DEFAULT_DOCUMENT_FIELD = "document"
DEFAULT_SUMMARY_FIELD = "summary"
# Read when the default field is absent: DialogSum calls its documents "dialogue".
DOCUMENT_FALLBACKS = ("dialogue",)
PREDICT_FIELDS = ("document", "dialogue", "text")


@dataclass(frozen=True)
class Document:
    """A document and its reference summaries (none at prediction time, several in DialogSum's test set)."""

    text: str
    summaries: tuple[str, ...] = ()


class SummarizationTask(tasklight.Task):
    name = "summarization"
    description = "Summarize a document or dialogue (ROUGE-1/2/L/Lsum with rouge-score, stemmer on)."
    version = "1"
    shape = "encoder-decoder"
    metrics = ROUGE_TYPES  # rougeLsum first: the primary
    settings = {
        "data.document_field": DEFAULT_DOCUMENT_FIELD,  # JSONL / CSV / TSV field names
        "data.summary_field": DEFAULT_SUMMARY_FIELD,  # also read as summary1, summary2, ... (several references)
        # Dialogues and articles are long, summaries short: inputs up to 512 tokens (longer
        # ones are truncated and counted), and a summary length cap that does not grow with
        # the input.
        "data.max_length": 512,
        "decoding.max_len_a": 0.0,
        "decoding.max_len_b": 128,
        # A summarizer trained briefly loops ("to the way to the way"); no 4-gram may repeat
        # (4 scored best on DialogSum's validation set among 2 to 6: see benchmarks/RESULTS.md).
        "decoding.no_repeat_ngram_size": 4,
    }
    demo_settings = {
        # The generated demo (meeting-planning dialogues -> who, when, where, what): test
        # ROUGE-Lsum about 70 (a constant summary scores 47) in about 3.5 minutes measured on
        # a busy 2-core CPU with one thread.
        "model.preset": "mini",
        "model.dropout": 0.0,
        "tokenizer.vocab_size": 1000,
        "data.max_length": 160,
        "data.max_tokens": 2048,
        "decoding.max_len_b": 64,
        "trainer.max_steps": 1500,
        "trainer.warmup_steps": 150,
        "trainer.lr": 0.003,
        "trainer.val_check_interval": 500,
        "trainer.checkpoint_every_n_steps": 500,
        "data.val_metric_examples": 100,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Document]:
        return [Document(doc, (summary,)) for doc, summary in demo_pairs(split, ctx.seed)]

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Document:
        document_field = ctx.config["data.document_field"]
        if document_field not in record and document_field == DEFAULT_DOCUMENT_FIELD:
            document_field = next((f for f in DOCUMENT_FALLBACKS if f in record), document_field)
        if document_field not in record:
            looked = [document_field, *DOCUMENT_FALLBACKS] if document_field == DEFAULT_DOCUMENT_FIELD else [document_field]
            have = ", ".join(sorted(map(str, record))) or "none"
            raise tasklight.UserError(
                f"{where}: missing the document field {' or '.join(map(repr, looked))} (fields present: {have}); "
                "name it with --set data.document_field=NAME"
            )
        text = self.field(record, document_field, where).strip()
        return Document(text, self._summaries(record, ctx.config["data.summary_field"], where))

    def _summaries(self, record: tasklight.Record, name: str, where: str) -> tuple[str, ...]:
        """``record[name]`` (a string or a list of strings), or ``name1``, ``name2``, ... in order."""
        if name in record:
            value = record[name]
            if isinstance(value, (list, tuple)):
                if not value:
                    raise tasklight.UserError(f"{where}: field {name!r} is an empty list")
                for i, item in enumerate(value):
                    if not isinstance(item, str) or not item.strip():
                        raise tasklight.UserError(f"{where}: field {name!r} item {i + 1} must be a non-empty string")
                return tuple(item.strip() for item in value)
            return (self.field(record, name, where).strip(),)
        numbered = []
        while f"{name}{len(numbered) + 1}" in record:
            numbered.append(self.field(record, f"{name}{len(numbered) + 1}", where).strip())
        if not numbered:
            have = ", ".join(sorted(map(str, record))) or "none"
            raise tasklight.UserError(
                f"{where}: missing the summary field {name!r} (or {name}1, {name}2, ...) (fields present: {have}); "
                "name it with --set data.summary_field=NAME"
            )
        return tuple(numbered)

    def read_files(self, paths: list[Path], ctx: tasklight.TaskContext) -> list[Document] | None:
        if len(paths) != 1 or not paths[0].name.lower().endswith(readers.JSONL_SUFFIXES):
            return None  # CSV / TSV / JSON through the generic adapters
        path = paths[0]
        return [self.from_record(record, f"{path}:{line}", ctx) for line, record in readers.read_records(path)]

    def split_names(self, folder: Path, ctx: tasklight.TaskContext) -> list[str]:
        return readers.split_names(folder) or super().split_names(folder, ctx)

    def split_files(self, folder: Path, split: str, ctx: tasklight.TaskContext) -> list[Path] | None:
        return readers.split_file(folder, split)

    def texts(self, example: Document) -> Iterable[str]:
        yield example.text
        yield from example.summaries

    # ---- model --------------------------------------------------------------------
    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        return tasklight.Seq2SeqHead(label_smoothing=float(ctx.config["trainer.label_smoothing"]))

    def encode(self, example: Document, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool) -> list[tasklight.Features]:
        # Over-long documents are cut by the core to data.max_length (keeping the EOS),
        # which counts them into metrics.json (training.truncated_examples).
        # The tokenizer's own layout (a tokenizer trained here: "a </s>"; BART's: "<s> a </s>").
        src = tokenizer.encode_input(example.text).ids
        if not train:
            return [{"src": src}]
        # Training on every reference: one row per summary, from the decoder's start token.
        summaries = example.summaries or ("",)
        return [{"src": src, "tgt": [tokenizer.decoder_start_id, *tokenizer.encode_target(s).ids]} for s in summaries]

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Document, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> str:
        return tokenizer.decode(outputs[0]).strip() if outputs else ""

    def reference(self, example: Document) -> str | list[str] | None:
        if not example.summaries:
            return None
        return example.summaries[0] if len(example.summaries) == 1 else list(example.summaries)

    def score(self, predictions: Sequence[str], references: Sequence[Any], ctx: tasklight.TaskContext) -> dict[str, tasklight.MetricValue]:
        # One pass of rouge-score for all four types (the registered metrics give the same values one by one).
        return rouge(predictions, references, self.metrics)

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Document:
        if isinstance(item, str):
            if not item.strip():
                raise tasklight.UserError(f"{where}: empty input")
            return Document(item.strip())
        fields = dict.fromkeys((ctx.config["data.document_field"], *PREDICT_FIELDS))
        for name in fields:
            if name in item:
                return Document(self.field(item, name, where).strip())
        raise tasklight.UserError(f"{where}: expected a field {' or '.join(map(repr, fields))}")

    def prediction_from_json(self, row: tasklight.Record, where: str) -> str:
        value = row.get("summary")
        if not isinstance(value, str):  # an empty string is a prediction too
            raise tasklight.UserError(f"{where}: missing field 'summary' (a string)")
        return value

    def to_json(self, example: Document, prediction: str) -> tasklight.Record:
        return {"document": example.text, "summary": prediction}
