"""Translation: encoder-decoder with the tied LM head, scored with sacreBLEU."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tasklight
from tasklight_translation import readers
from tasklight_translation.demo import DEFAULT_SIZES, demo_pairs


def detokenize(text: str) -> str:
    return re.sub(r" ([.,?!])", r"\1", text)


@dataclass(frozen=True)
class Pair:
    source: str
    target: str | None = None


class TranslationTask(tasklight.Task):
    name = "translation"
    description = "Translate text from one language to another (sacreBLEU BLEU and chrF)."
    version = "1"
    shape = "encoder-decoder"
    metrics = ("bleu", "chrf")
    settings = {
        "data.src": "en",  # language suffix of source files: train.en
        "data.tgt": "de",
        "data.source_field": "source",  # JSONL / CSV / TSV field names
        "data.target_field": "target",
        # The from-scratch recipe, chosen on Multi30k's validation BLEU in 20 CPU minutes
        # (benchmarks/RESULTS.md): punctuation split off and every byte spelled, a higher peak
        # rate, and smaller batches, which buy twice the updates in the same time; then BART's
        # post-norm layout (a norm over the embeddings, none after the last block), worth
        # about 7 validation BLEU more than pre-norm at this size and budget.
        "tokenizer.kind": "bytelevel",
        "trainer.lr": 0.001,
        "data.max_tokens": 2048,
        "model.norm_position": "post",
        "model.embed_norm": True,
        "model.final_norm": False,
    }
    budget_settings = {
        # Time budgets up to 20 minutes: a cosine decay over the wall time to a tenth of the
        # peak instead of inverse-sqrt, which anneals the last updates; it won on Multi30k's
        # validation BLEU in 20 CPU minutes (benchmarks/RESULTS.md).
        "00:00:20:00": {"trainer.schedule": "cosine", "trainer.min_lr": 0.0001},
    }
    demo_settings = {
        # The generated demo (numbers and dates, English -> German): a small model that
        # learns it in about a minute on 2 CPU cores, with the tokenizer and batches its bar
        # (BLEU >= 60) was measured with, pre-norm.
        "model.preset": "mini",
        "model.norm_position": "pre",
        "model.embed_norm": False,
        "model.final_norm": True,
        "tokenizer.kind": "metaspace",
        "data.max_tokens": 4096,
        "tokenizer.vocab_size": 1000,
        "trainer.max_steps": 700,
        "trainer.warmup_steps": 200,
        "trainer.lr": 0.002,
        "trainer.val_check_interval": 350,
        "trainer.checkpoint_every_n_steps": 350,
        "data.val_metric_examples": 200,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Pair]:
        # Detokenized like real text ("dogs." not "dogs ."), as sacreBLEU expects.
        return [Pair(detokenize(en), detokenize(de)) for en, de in demo_pairs(split, ctx.seed, DEFAULT_SIZES[split])]

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Pair:
        source = self.field(record, ctx.config["data.source_field"], where)
        target = self.field(record, ctx.config["data.target_field"], where)
        return Pair(source.strip(), target.strip())

    def split_names(self, folder: Path, ctx: tasklight.TaskContext) -> list[str]:
        return readers.split_names(folder, ctx.config["data.src"], ctx.config["data.tgt"]) or super().split_names(folder, ctx)

    def split_files(self, folder: Path, split: str, ctx: tasklight.TaskContext) -> list[Path] | None:
        return readers.split_files(folder, split, ctx.config["data.src"], ctx.config["data.tgt"])

    def read_files(self, paths: list[Path], ctx: tasklight.TaskContext) -> list[Pair] | None:
        if len(paths) == 1:
            plain = (".txt", f".{ctx.config['data.src']}", f".{ctx.config['data.tgt']}")
            if not paths[0].name.lower().endswith(plain):
                return None  # a generic format (JSONL, CSV, ...) with source/target fields
            raise tasklight.UserError(
                f"{paths[0]}: plain text needs its line-aligned target file too: --data SOURCE_FILE,TARGET_FILE"
            )
        if len(paths) != 2:
            raise tasklight.UserError(f"{','.join(map(str, paths))}: translation reads a source and a target file, got {len(paths)}")
        return [Pair(source, target) for source, target in readers.read_pairs(*paths)]

    def texts(self, example: Pair) -> Iterable[str]:
        yield example.source
        if example.target:
            yield example.target

    # ---- model --------------------------------------------------------------------
    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        return tasklight.Seq2SeqHead(label_smoothing=float(ctx.config["trainer.label_smoothing"]))

    def encode(self, example: Pair, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool) -> list[tasklight.Features]:
        # The tokenizer's own layout (a tokenizer trained here: "a </s>"; BART's: "<s> a </s>");
        # the target starts with the token the decoder starts from (<s>; BART: </s>; Marian:
        # <pad>) and is cut as target text (Marian has a SentencePiece model per language).
        src = tokenizer.encode_input(example.source).ids
        tgt = [tokenizer.decoder_start_id, *tokenizer.encode_target(example.target or "").ids]
        return [{"src": src, "tgt": tgt}]

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Pair, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> str:
        return tokenizer.decode(outputs[0]) if outputs else ""

    def reference(self, example: Pair) -> str | None:
        return example.target

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Pair:
        if isinstance(item, str):
            if not item.strip():
                raise tasklight.UserError(f"{where}: empty input")
            return Pair(item.strip())
        for name in (ctx.config["data.source_field"], "source", "text"):
            if name in item:
                return Pair(self.field(item, name, where))
        raise tasklight.UserError(f"{where}: expected a field {ctx.config['data.source_field']!r} (or 'text')")

    def prediction_from_json(self, row: tasklight.Record, where: str) -> str:
        value = row.get("translation")
        if not isinstance(value, str):  # an empty string is a prediction too
            raise tasklight.UserError(f"{where}: missing field 'translation' (a string)")
        return value

    def to_json(self, example: Pair, prediction: str) -> tasklight.Record:
        return {"source": example.source, "translation": prediction}

