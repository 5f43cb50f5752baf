"""QA examples and their readers: SQuAD v1.1/v2.0 JSON (through ``tasklight.read_squad``),
and records from JSONL/CSV/TSV.

Every answer is checked against its context (``context[start:start+len(text)] ==
text``); a mismatch is a UserError naming the file and the question id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tasklight


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset into the context


@dataclass(frozen=True)
class Question:
    """One question over one context.

    ``answers`` is None when the answer is unknown (a ``platform predict`` input),
    ``()`` when the question is unanswerable (SQuAD 2.0), else the reference spans.
    """

    question: str
    context: str
    answers: tuple[Answer, ...] | None = None
    id: str = ""

    @property
    def unanswerable(self) -> bool:
        return self.answers == ()


def check_answers(answers: list[Answer], context: str, where: str, qid: str) -> tuple[Answer, ...]:
    """The answers, each verified to be the exact characters at its offset."""
    named = f"{where}: question id {qid!r}" if qid else where
    for answer in answers:
        end = answer.start + len(answer.text)
        if answer.start < 0 or end > len(context):
            raise tasklight.UserError(
                f"{named}: answer {answer.text!r} at offset {answer.start} lies outside the context "
                f"({len(context)} characters)"
            )
        found = context[answer.start : end]
        if found != answer.text:
            raise tasklight.UserError(
                f"{named}: answer {answer.text!r} does not match the context at offset {answer.start} "
                f"(the context has {found!r} there)"
            )
        if not answer.text.strip():
            raise tasklight.UserError(f"{named}: answer at offset {answer.start} is empty")
    return tuple(answers)


def _offset(value: Any, named: str) -> int:
    if isinstance(value, bool):
        raise tasklight.UserError(f"{named}: answer_start must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise tasklight.UserError(f"{named}: answer_start must be an integer, got {value!r}")


def parse_answers(value: Any, where: str, qid: str) -> list[Answer]:
    """Answers as a list of {text, answer_start} or the HF form {"text": [...], "answer_start": [...]}."""
    named = f"{where}: question id {qid!r}" if qid else where
    if isinstance(value, Mapping):
        texts, starts = value.get("text"), value.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list):
            raise tasklight.UserError(f"{named}: answers must hold lists 'text' and 'answer_start'")
        if len(texts) != len(starts):
            raise tasklight.UserError(
                f"{named}: answers has {len(texts)} texts but {len(starts)} answer_start values"
            )
        items: list[Any] = [{"text": t, "answer_start": s} for t, s in zip(texts, starts)]
    elif isinstance(value, list):
        items = value
    else:
        raise tasklight.UserError(
            f"{named}: answers must be a list of {{text, answer_start}} or {{\"text\": [...], \"answer_start\": [...]}}"
        )
    answers = []
    for item in items:
        if not isinstance(item, Mapping) or "text" not in item or "answer_start" not in item:
            raise tasklight.UserError(f"{named}: each answer needs 'text' and 'answer_start', got {item!r}")
        if not isinstance(item["text"], str):
            raise tasklight.UserError(f"{named}: answer text must be a string, got {item['text']!r}")
        answers.append(Answer(item["text"], _offset(item["answer_start"], named)))
    return answers


def from_record(record: Mapping[str, Any], where: str, fields: Mapping[str, str]) -> Question:
    """A Question from a generic record: JSONL / JSON list (``answers``) or CSV/TSV
    (``answer_text`` and ``answer_start`` columns; an empty answer_text is unanswerable)."""
    question = tasklight.Task.field(dict(record), fields["question"], where)
    context = tasklight.Task.field(dict(record), fields["context"], where)
    qid = str(record.get("id", "") or "")
    if fields["answers"] in record:
        answers = parse_answers(record[fields["answers"]], where, qid)
    elif "answer_text" in record:
        text, start = record["answer_text"], record.get("answer_start", "")
        if not isinstance(text, str):
            raise tasklight.UserError(f"{where}: field 'answer_text' must be a string")
        if text.strip():
            if start in ("", None):
                raise tasklight.UserError(f"{where}: answer_text {text!r} needs an answer_start")
            answers = [Answer(text, _offset(start, where))]
        else:
            answers = []
    else:
        have = ", ".join(sorted(map(str, record))) or "none"
        raise tasklight.UserError(
            f"{where}: missing field {fields['answers']!r} (or CSV columns answer_text, answer_start); fields present: {have}"
        )
    if record.get("is_impossible") is True and answers:
        answers = []  # SQuAD 2.0 keeps 'plausible' answers elsewhere; an impossible question has none
    return Question(question.strip(), context, check_answers(answers, context, where, qid), qid)


def read_squad(path: Path, data: Any = None) -> list[Question] | None:
    """Every question of a SQuAD v1.1 / v2.0 file (``tasklight.read_squad``), its answers
    checked against the context; None when the file is JSON of another shape."""
    records = tasklight.read_squad(path, data)
    if records is None:
        return None
    questions = []
    for record in records:
        qid = record["id"]
        answers = parse_answers(record["answers"], str(path), qid)
        questions.append(Question(record["question"].strip(), record["context"], check_answers(answers, record["context"], str(path), qid), qid))
    return questions
