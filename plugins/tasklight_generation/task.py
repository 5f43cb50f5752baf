"""Generation: a decoder-only language model, scored in bits per character and perplexity.

An example is a piece of text: a plain-text file (or the part of one a hold-out leaves), a
JSONL record, a demo story. ``encode`` tokenizes the whole text as
``<s> text </s>`` and cuts it into blocks of ``data.block_size + 1`` ids that
overlap by one id, so every token after ``<s>`` is predicted exactly once, with
up to ``block_size`` tokens of context. Each block carries the characters its
targets cover; they add up to the text's length, so bits per character is exact.

``platform predict generation --run DIR "prompt"`` continues the prompt by greedy
decoding or by sampling (``decoding.strategy=sample`` with temperature, top-k,
top-p), reproducibly with ``--seed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tasklight
from tasklight_generation import readers
from tasklight_generation.demo import DEFAULT_SIZES, demo_texts


@dataclass(frozen=True)
class Text:
    """A text to score, or (``prompt=True``) the start of one to continue."""

    text: str
    prompt: bool = False


def make_blocks(
    ids: Sequence[int], ends: Sequence[int], n_chars: int, *, bos: int, eos: int, block_size: int
) -> list[tasklight.Features]:
    """Rows of ``<s> ids </s>`` cut into blocks of ``block_size + 1`` ids overlapping by one.

    ``ends[i]`` is the character offset where token ``i`` ends. Each block's ``_chars``
    counts the characters of its targets: a token owns the text from the end of the token
    before it to its own end, and ``</s>`` owns whatever trails the last token, so the
    blocks of a text add up to exactly ``n_chars``.
    """
    stream = [bos, *ids, eos]
    covered = [0]  # covered[j]: characters owned by stream[1..j]
    for end in ends:
        covered.append(min(max(covered[-1], end), n_chars))
    covered.append(n_chars)
    rows = []
    for start in range(0, len(stream) - 1, block_size):
        stop = min(start + block_size, len(stream) - 1)
        rows.append({"input": stream[start : stop + 1], "_chars": covered[stop] - covered[start]})
    return rows


# What the time-budget recipes share: characters as tokens and a cosine decay over the wall
# time. Each budget sets its own dropout.
CHARACTER_LEVEL = {
    "tokenizer.vocab_size": 64,  # characters, and merges only where the alphabet is smaller
    "trainer.schedule": "cosine",
}


class GenerationTask(tasklight.Task):
    name = "generation"
    description = "Language modelling and text continuation (bits per character, perplexity)."
    version = "1"
    shape = "decoder-only"
    metrics = ("bits_per_char", "perplexity")
    settings = {
        "data.text_field": "text",  # JSONL / CSV / TSV field holding the text
        "data.block_size": 256,  # tokens of context per training block (needs data.max_length >= block_size + 1)
        "data.max_length": 257,  # data.block_size + 1 (the shifted target)
        "data.val_fraction": 0.1,  # a text with no validation split: its last 10% validates
        "trainer.label_smoothing": 0.0,  # smoothing would distort NLL, bits per char and perplexity
        "decoding.strategy": "greedy",  # or sample, with temperature / top_k / top_p
    }
    budget_settings = {
        # Runs of up to 5 minutes from scratch: a character-level `mini` model (context 128)
        # whose many small updates beat a larger model's few; small batches; a high peak rate
        # cosine-decayed over the wall time to a tenth of it. Chosen on tinyshakespeare's
        # validation bits/char in 130 s, each change measured (benchmarks/RESULTS.md).
        "00:00:05:00": {
            **CHARACTER_LEVEL,
            "model.dropout": 0.0,  # a few passes over the text at most in 5 minutes
            "model.preset": "mini",
            "data.block_size": 128,
            "data.max_length": 129,
            "data.max_tokens": 2048,  # 16 blocks a batch: twice the updates of 4,096 tokens
            "trainer.lr": 0.004,
            "trainer.min_lr": 0.0004,
            "trainer.warmup_steps": 100,
            "trainer.val_check_interval": 400,
        },
        # Up to 20 minutes: the same recipe on the `small` model (context 256) at a lower
        # peak, which beat inverse-sqrt decay at 20 minutes, with dropout 0.2: a machine that
        # makes 3,000 updates in 20 minutes runs a megabyte of text through the model 12 times,
        # and without dropout validation turns up after the 8th (benchmarks/RESULTS.md).
        "00:00:20:00": {
            **CHARACTER_LEVEL,
            "model.dropout": 0.2,
            "model.preset": "small",
            "data.block_size": 256,
            "data.max_length": 257,
            "trainer.lr": 0.002,
            "trainer.min_lr": 0.0002,
            "trainer.warmup_steps": 200,
            "trainer.val_check_interval": 500,
        },
    }
    demo_settings = {
        # Generated stories (agreement, pronouns, counting, copying, sums): a 0.5M-parameter
        # model gets well below the unigram bits per character of the test text in a few
        # minutes on CPU.
        "model.preset": "mini",
        "tokenizer.vocab_size": 500,
        "trainer.max_steps": 500,
        "trainer.warmup_steps": 100,
        "trainer.lr": 0.002,
        "trainer.val_check_interval": 250,
        "trainer.checkpoint_every_n_steps": 250,
        "data.val_metric_examples": 200,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Text]:
        block_size(ctx)  # a bad setting fails before a run directory is made
        return [Text(t) for t in demo_texts(split, ctx.seed, DEFAULT_SIZES[split])]

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Text:
        block_size(ctx)
        return Text(self.field(record, ctx.config["data.text_field"], where))

    def read_files(self, paths: list[Path], ctx: tasklight.TaskContext) -> list[Text] | None:
        block_size(ctx)
        if len(paths) == 1 and readers.kind(paths[0]) is None:
            return None  # JSON / CSV / TSV through the generic adapters and from_record
        examples: list[Text] = []
        for path in paths:
            found = readers.kind(path)
            if found is None:
                raise tasklight.UserError(f"{path}: generation reads plain text ({', '.join(readers.PLAIN)}) or JSONL here")
            if found == "plain":
                examples.append(Text(readers.read_plain(path)))
            else:
                examples.extend(Text(t) for t in readers.read_jsonl_texts(path, ctx.config["data.text_field"]))
        return examples

    def hold_out(self, train: list[Text], fraction: float, ctx: tasklight.TaskContext) -> tuple[list[Text], list[Text]]:
        """(train, validation) where the data has no validation split: the last ``fraction``
        of the text (of one text's characters, or of several texts in order)."""
        keep = float(readers.percent(100 * (1 - fraction)))
        if len(train) == 1:
            text = train[0].text
            at = readers.cut(len(text), keep)
            return [Text(text[:at])], [Text(text[at:])]
        at = min(readers.cut(len(train), keep), len(train) - 1)
        return train[:at], train[at:]

    def split_names(self, folder: Path, ctx: tasklight.TaskContext) -> list[str]:
        found = readers.layout(folder)
        return sorted(found) if found else super().split_names(folder, ctx)

    def split_files(self, folder: Path, split: str, ctx: tasklight.TaskContext) -> list[Path] | None:
        found = readers.layout(folder)
        return found.get(split) if found else None

    def texts(self, example: Text) -> Iterable[str]:
        yield example.text

    # ---- model --------------------------------------------------------------------
    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        return tasklight.CausalLMHead(label_smoothing=float(ctx.config["trainer.label_smoothing"]))

    def encode(self, example: Text, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool) -> list[tasklight.Features]:
        size = block_size(ctx)
        if example.prompt:
            return [{"prompt": self._prompt_ids(example, tokenizer, ctx)}]
        ids, offsets = tokenizer.encode_with_offsets(example.text)
        return make_blocks(
            ids, [end for _, end in offsets], len(example.text),
            bos=tokenizer.bos_id, eos=tokenizer.eos_id, block_size=size,
        )

    def _prompt_ids(self, example: Text, tokenizer: Any, ctx: tasklight.TaskContext) -> list[int]:
        # Keep the prompt's end and leave room to continue within the trained context.
        ids = [tokenizer.bos_id, *tokenizer.encode(example.text)]
        room = max(block_size(ctx) + 1 - int(ctx.config["decoding.max_new_tokens"]), (block_size(ctx) + 1) // 2)
        return ids[-room:]

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Text, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> Any:
        if example.prompt:
            new = outputs[0] if outputs else []
            prompt = self._prompt_ids(example, tokenizer, ctx)
            before, whole = tokenizer.decode(prompt), tokenizer.decode([*prompt, *new])
            # Decoding the prompt with its continuation keeps the space between them.
            return whole[len(before) :] if whole.startswith(before) else tokenizer.decode(new)
        return {
            "nll": sum(float(o["nll"]) for o in outputs),
            "tokens": sum(int(o["tokens"]) for o in outputs),
            "chars": len(example.text),
            "vocab_size": tokenizer.vocab_size,
            "block_size": block_size(ctx),
            # [nll, tokens, characters] per block: the units a bootstrap interval resamples
            **({"blocks": [[o["nll"], o["tokens"], o["chars"]] for o in outputs]} if all("chars" in o for o in outputs) else {}),
        }

    def reference(self, example: Text) -> str | None:
        return None if example.prompt else example.text

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Text:
        check_decoding(ctx)
        if isinstance(item, str):
            return Text(item, prompt=True)
        names = list(dict.fromkeys((ctx.config["data.text_field"], "text", "prompt")))
        for name in names:
            if name in item:
                value = item[name]
                if not isinstance(value, str):
                    raise tasklight.UserError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
                return Text(value, prompt=True)
        raise tasklight.UserError(f"{where}: expected a field {' or '.join(map(repr, names))} holding the prompt")

    def prediction_from_json(self, row: tasklight.Record, where: str) -> Any:
        if not all(isinstance(row.get(k), (int, float)) for k in ("nll", "tokens", "chars")):
            raise tasklight.UserError(f"{where}: a scored text needs numeric nll, tokens and chars")
        return {k: row[k] for k in ("nll", "tokens", "chars", "blocks") if k in row}

    def to_json(self, example: Text, prediction: Any) -> tasklight.Record:
        if example.prompt:
            return {"prompt": example.text, "continuation": prediction}
        bits = prediction["nll"] / (math.log(2) * prediction["chars"]) if prediction["chars"] else None
        return {
            "chars": prediction["chars"], "tokens": prediction["tokens"], "nll": round(prediction["nll"], 4),
            "bits_per_char": round(bits, 4) if bits is not None else None,
            **({"blocks": [[round(n, 4), t, c] for n, t, c in prediction["blocks"]]} if "blocks" in prediction else {}),
        }


def block_size(ctx: tasklight.TaskContext) -> int:
    size, longest = int(ctx.config["data.block_size"]), int(ctx.config["data.max_length"])
    if size < 1:
        raise tasklight.UserError(f"config key 'data.block_size' must be positive, got {size}")
    if size + 1 > longest:
        raise tasklight.UserError(
            f"data.block_size={size} needs blocks of {size + 1} ids, longer than data.max_length={longest}; "
            f"add --set data.max_length={size + 1}"
        )
    return size


def check_decoding(ctx: tasklight.TaskContext) -> None:
    c = ctx.config
    if c["decoding.strategy"] == "sample":
        if not c["decoding.temperature"] > 0:
            raise tasklight.UserError(f"decoding.temperature must be > 0 to sample, got {c['decoding.temperature']}")
        if not 0 < c["decoding.top_p"] <= 1:
            raise tasklight.UserError(f"decoding.top_p must be in (0, 1], got {c['decoding.top_p']}")
