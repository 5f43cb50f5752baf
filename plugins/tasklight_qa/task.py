"""Extractive question answering: an encoder with a span head, scored with SQuAD EM/F1.

Input layout of a row: the tokenizer's own layout of the pair (question, context window),
``<s> question <sep> window </s>`` with a tokenizer trained here, ``[CLS] question [SEP]
window [SEP]`` with its token types for a BERT checkpoint (``--init``), ``<s> question </s></s>
window </s>`` for RoBERTa. Position 0 (the leading ``<s>`` or ``[CLS]``) is the "no answer" position: a window that does not hold the
answer is trained to point both ends there. A context longer than the window is
cut into overlapping windows that start ``data.doc_stride`` tokens apart; at
prediction the best span over all windows wins. Where the training data has
unanswerable questions (SQuAD 2.0), "no answer" is predicted when the null score
(start and end logits at position 0, the lowest over the windows) beats that span;
where every training question has an answer (SQuAD 1.1, XQuAD), some span is always
predicted, as SQuAD 1.1 readers do: position 0 then only means "not in this window".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tasklight
from tasklight_qa import readers
from tasklight_qa.demo import demo_questions
from tasklight_qa.readers import Question

N_BEST = 20  # start and end candidates looked at per window (as in the BERT SQuAD scripts)


@dataclass(frozen=True)
class Span:
    """A predicted answer: ``text == context[start:end]``; no answer is text "" with start/end None."""

    text: str
    start: int | None
    end: int | None
    score: float  # probability of this answer among the candidate spans and "no answer"


def char_spans(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token offsets without the whitespace a Metaspace token carries (" Paris" -> "Paris").
    A token of only whitespace gets an empty span at its end."""
    spans = []
    for start, end in offsets:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        spans.append((start, end))
    return spans


def answer_tokens(spans: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last token overlapping the characters [start, end), or None."""
    inside = [i for i, (s, e) in enumerate(spans) if s < e and e > start and s < end]
    return (inside[0], inside[-1]) if inside else None


def tidy(context: str, begin: int, stop: int) -> tuple[int, int]:
    """Drop the punctuation a whole-word token drags into a span ("Paris," -> "Paris").
    A final period stays where it ends an abbreviation ("U.S.", "Inc.")."""
    while stop - begin > 1 and context[stop - 1] in ",;:!?":
        stop -= 1
    if stop - begin > 1 and context[stop - 1] == ".":
        words = context[begin : stop - 1].split()
        if words and len(words[-1]) > 3 and "." not in words[-1]:
            stop -= 1
    return begin, stop


@dataclass(frozen=True)
class Window:
    """Where a window's context tokens start (in the context's tokens) and how many it holds."""

    offset: int
    length: int


def windows(n_tokens: int, budget: int, stride: int) -> list[Window]:
    """Windows of at most ``budget`` tokens starting ``stride`` apart, covering all tokens."""
    if n_tokens <= budget:
        return [Window(0, n_tokens)]
    step = max(1, min(stride, budget))
    found = []
    offset = 0
    while True:
        found.append(Window(offset, min(budget, n_tokens - offset)))
        if offset + budget >= n_tokens:
            return found
        offset += step


class QATask(tasklight.Task):
    name = "qa"
    description = "Extractive question answering: answer spans in a context (SQuAD v1.1/v2.0 F1 and exact match)."
    version = "1"
    shape = "encoder-only"
    metrics = ("f1", "exact_match")
    settings = {
        "data.doc_stride": 128,  # tokens between the starts of consecutive context windows
        "data.max_question_length": 64,  # longer questions keep their first tokens
        "data.max_answer_length": 30,  # the longest span (in tokens) a prediction may have
        "data.question_field": "question",  # JSONL / JSON list field names
        "data.context_field": "context",
        "data.answers_field": "answers",
    }
    demo_settings = {
        # The generated demo (facts about invented people): a 2-layer encoder; measured test
        # F1 76.4 / EM 75.2 in 3.0 minutes of wall time with one thread on a busy 2-core CPU.
        # Contexts above 128 tokens are split into windows that start 64 tokens apart.
        "model.preset": "mini",
        "model.dropout": 0.0,
        "tokenizer.vocab_size": 2000,
        "data.max_length": 128,
        "data.doc_stride": 64,
        "data.max_answer_length": 10,
        "trainer.max_steps": 1000,
        "trainer.warmup_steps": 200,
        "trainer.lr": 0.002,
        "trainer.val_check_interval": 250,
        "trainer.checkpoint_every_n_steps": 500,
        "data.val_metric_examples": 200,
    }

    # ---- data ---------------------------------------------------------------------
    def demo(self, split: str, ctx: tasklight.TaskContext) -> list[Question]:
        return demo_questions(split, ctx.seed)

    def _fields(self, ctx: tasklight.TaskContext) -> dict[str, str]:
        return {k: str(ctx.config[f"data.{k}_field"]) for k in ("question", "context", "answers")}

    def from_record(self, record: tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Question:
        return readers.from_record(record, where, self._fields(ctx))

    def read_files(self, paths: list[Path], ctx: tasklight.TaskContext) -> list[Question] | None:
        """SQuAD JSON files (``{"data": [{"paragraphs": ...}]}``); None for any other format."""
        if not all(p.name.lower().endswith(".json") and p.is_file() for p in paths):
            return None
        read = [(p, readers.read_squad(p)) for p in paths]
        if any(found is None for _, found in read):
            if len(paths) > 1 and any(found is not None for _, found in read):
                odd = next(p for p, found in read if found is None)
                raise tasklight.UserError(f"{odd}: not a SQuAD JSON file ({{\"data\": [{{\"paragraphs\": ...}}]}})")
            return None  # a JSON list of records: the generic adapter reads it
        questions = [q for _, found in read for q in found or ()]
        if not questions:
            raise tasklight.UserError(f"{paths[0]}: no questions in the SQuAD file")
        return questions

    def texts(self, example: Question) -> Iterable[str]:
        yield example.question
        yield example.context

    # ---- model --------------------------------------------------------------------
    def head_hparams(self, train: Sequence[Question], ctx: tasklight.TaskContext) -> dict[str, Any]:
        # Whether "no answer" is a prediction this model may make: only if it was trained on some.
        return {"no_answer": any(q.unanswerable for q in train)}

    def build_head(self, model: Any, hparams: dict[str, Any], ctx: tasklight.TaskContext) -> Any:
        return tasklight.SpanHead(model.d_model)

    def encode(self, example: Question, tokenizer: Any, ctx: tasklight.TaskContext, *, train: bool) -> list[tasklight.Features]:
        config = ctx.config
        max_length = int(config["data.max_length"])
        question = tokenizer.encode(example.question)[: max(1, int(config["data.max_question_length"]))]
        specials = tokenizer.special_tokens_added(pair=True)  # <s> q <sep> window </s>, [CLS] q [SEP] window [SEP]
        budget = max_length - len(question) - specials
        if budget < 1:
            question = question[: max(1, max_length // 2)]
            budget = max_length - len(question) - specials
        if budget < 1:
            raise tasklight.UserError(f"data.max_length={max_length} leaves no room for the context; raise it")
        stride = int(config["data.doc_stride"])
        if stride < 1:
            raise tasklight.UserError(f"data.doc_stride must be a positive number of tokens, got {stride}")
        ids, offsets = tokenizer.encode_with_offsets(example.context)
        spans = char_spans(example.context, offsets)
        target = None
        if example.answers:
            first_answer = example.answers[0]  # training uses the first answer, as SQuAD's scripts do
            target = answer_tokens(spans, first_answer.start, first_answer.start + len(first_answer.text))
        rows = []
        for window in windows(len(ids), budget, stride):
            piece = ids[window.offset : window.offset + window.length]
            # The tokenizer's own layout of a pair: the question first, then the window.
            laid_out = tokenizer.add_special_tokens(question, piece)
            first = laid_out.second  # row position of the first context token
            start = end = 0  # no answer in this window: both ends at position 0 (<s>, [CLS])
            if target is not None and window.offset <= target[0] and target[1] < window.offset + window.length:
                start, end = first + target[0] - window.offset, first + target[1] - window.offset
            rows.append({
                "input": laid_out.ids,
                "input_types": laid_out.token_types,
                "start": start,
                "end": end,
                "_first": first,
                "_chars": tuple(spans[window.offset : window.offset + window.length]),
            })
        return rows

    # ---- prediction and scoring -----------------------------------------------------
    def decode(self, example: Question, outputs: list[Any], tokenizer: Any, ctx: tasklight.TaskContext) -> Span:
        longest = max(1, int(ctx.config["data.max_answer_length"]))
        best: dict[tuple[int, int], float] = {}  # character span -> best score over windows
        null = math.inf
        for out in outputs:
            start, end, first, chars = out["start"], out["end"], out["_first"], out["_chars"]
            null = min(null, start[0] + end[0])
            positions = range(first, first + len(chars))
            starts = sorted(positions, key=lambda i: start[i], reverse=True)[:N_BEST]
            ends = sorted(positions, key=lambda i: end[i], reverse=True)[:N_BEST]
            for i in starts:
                for j in ends:
                    if not i <= j < i + longest:
                        continue
                    begin, stop = chars[i - first][0], chars[j - first][1]
                    if begin >= stop:
                        continue
                    score = start[i] + end[j]
                    if score > best.get((begin, stop), -math.inf):
                        best[(begin, stop)] = score
        if not ctx.hparams.get("no_answer", True):  # (checkpoints from before this hparam allowed it)
            null = math.inf  # trained without unanswerable questions: there is no null answer
        scores = list(best.values()) + ([null] if null < math.inf else [])
        if not scores:
            return Span("", None, None, 0.0)
        top = max(scores)
        total = sum(math.exp(s - top) for s in scores)
        span = max(best, key=best.__getitem__) if best else None
        if span is None or best[span] < null < math.inf:
            return Span("", None, None, math.exp(null - top) / total)
        begin, stop = tidy(example.context, *span)
        return Span(example.context[begin:stop], begin, stop, math.exp(best[span] - top) / total)

    def reference(self, example: Question) -> list[str] | None:
        if example.answers is None:
            return None
        return [a.text for a in example.answers] or [""]

    def parse_input(self, item: str | tasklight.Record, where: str, ctx: tasklight.TaskContext) -> Question:
        fields = self._fields(ctx)
        if isinstance(item, str):
            raise tasklight.UserError(
                f"{where}: qa needs a JSON object with a question and its context, e.g. "
                f"'{{\"{fields['question']}\": \"Who wrote it?\", \"{fields['context']}\": \"It was written by Ann.\"}}'"
            )
        question = self.field(item, fields["question"], where)
        context = self.field(item, fields["context"], where)
        return Question(question.strip(), context, None, str(item.get("id", "") or ""))

    def prediction_from_json(self, row: tasklight.Record, where: str) -> str:
        answer = row.get("answer")
        if not isinstance(answer, str):
            raise tasklight.UserError(f"{where}: missing field 'answer' (a string, empty for no answer)")
        return answer

    def to_json(self, example: Question, prediction: Span) -> tasklight.Record:
        shown: tasklight.Record = {"question": example.question, "context": example.context}
        if example.id:
            shown = {"id": example.id, **shown}
        shown.update(
            {"answer": prediction.text, "start": prediction.start, "end": prediction.end, "score": round(prediction.score, 4)}
        )
        return shown

    def score(
        self, predictions: Sequence[Span], references: Sequence[Any], ctx: tasklight.TaskContext
    ) -> dict[str, tasklight.MetricValue]:
        texts = [p if isinstance(p, str) else p.text for p in predictions]  # strings: read back from predictions.jsonl
        return {name: ctx.metric(name).compute(texts, references) for name in self.metrics}
