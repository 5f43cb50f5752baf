"""File formats: the generic adapters every task reads (JSONL, JSON arrays, CSV, TSV), and
public readers of the layouts that several tasks share, for a task's ``read_files``,
``split_names`` and ``split_files`` to call: line-aligned files (``read_parallel``), folders of
``seq.in`` / ``label`` / ``seq.out`` files (``aligned_splits``) and SQuAD JSON (``read_squad``).

The adapters are registered through ``register_adapters`` like any plugin's formats. Every
error names the file (and the line, the item or the question id).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tasklight.errors import UserError, where
from tasklight.hookspecs import hookimpl
from tasklight.task import Adapter, Record


def read_text(path: Path) -> str:
    """The whole file as UTF-8, with errors that name the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a file") from None
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise UserError(f"{where(path, line)}: not valid UTF-8 (byte {err.start})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None


def read_lines(path: Path) -> list[str]:
    """Lines without their line endings; a final newline adds no empty line."""
    return read_text(path).splitlines()


def read_jsonl(path: Path) -> Iterator[tuple[int, Record]]:
    lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{where(path, number)}: malformed JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(record, dict):
            raise UserError(f"{where(path, number)}: expected a JSON object, got {type(record).__name__}")
        yield number, record


def read_json(path: Path) -> Iterator[tuple[int, Record]]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise UserError(f"{where(path, err.lineno)}: malformed JSON ({err.msg})") from None
    if isinstance(data, dict):  # {"data": [...]} is common
        data = data.get("data", data.get("examples"))
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of objects (or {{\"data\": [...]}})")
    for number, record in enumerate(data, 1):
        if not isinstance(record, dict):
            raise UserError(f"{path}: item {number} is not an object")
        yield number, record


def _delimited(delimiter: str) -> Callable[[Path], Iterator[tuple[int, Record]]]:
    def read(path: Path) -> Iterator[tuple[int, Record]]:
        text = read_text(path)
        reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise UserError(f"{where(path, 1)}: malformed header ({err})") from None
        if len(set(header)) != len(header):
            raise UserError(f"{where(path, 1)}: duplicate column names in header {header}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise UserError(f"{where(path, reader.line_num)}: malformed row ({err})") from None
            if not row:
                continue
            if len(row) != len(header):
                raise UserError(
                    f"{where(path, reader.line_num)}: expected {len(header)} columns "
                    f"({', '.join(header)}), found {len(row)}"
                )
            yield reader.line_num, dict(zip(header, row))

    return read


def load_json(path: Path) -> Any:
    """A whole JSON file, parsed; malformed JSON is a UserError naming the file and line."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise UserError(f"{where(path, err.lineno)}: malformed JSON ({err.msg})") from None


# ---- layouts several tasks share ------------------------------------------------------------
def read_parallel(paths: Sequence[Path]) -> list[tuple[int, tuple[str, ...]]]:
    """Line-aligned files (a source and its translation; ``seq.in`` and ``label``; words and
    their tags): ``(line number, (line of each file, stripped))`` for every line number,
    skipping lines blank in every file. Lines end at "\n" only, as ``wc -l`` counts them
    (a "\r" before it goes too). Files of different line counts are a UserError; a line
    blank in some files only is kept, for the task to refuse or skip."""
    columns = []
    for path in paths:
        parts = read_text(path).split("\n")
        if parts and parts[-1] == "":
            parts.pop()  # a final newline ends the last line, it adds none
        columns.append([p.rstrip("\r").strip() for p in parts])
    for path, column in zip(paths[1:], columns[1:]):
        if len(column) != len(columns[0]):
            raise UserError(
                f"{paths[0]} has {len(columns[0])} lines but {path} has {len(column)}; they must be line-aligned"
            )
    return [(number, row) for number, row in enumerate(zip(*columns), 1) if any(row)]


SPLIT_WORDS = ("train", "val", "dev", "test")  # folder names that say which split they hold


def aligned_splits(folder: Path, names: Sequence[str]) -> dict[str, list[Path]]:
    """The splits of a folder of line-aligned files named ``names`` (``("seq.in", "label")``
    for intents, ``("seq.in", "seq.out")`` for slots: SNIPS and ATIS as Goo et al. 2018 laid
    them out): split name -> its files, in the order of ``names``. Sub-folders holding every
    file are splits (``atis/train``, ``atis/valid``, ``atis/test``); a folder holding them
    itself is one split named after it (``train`` unless its name starts with val, dev or
    test). Empty when the folder has neither."""

    def holds(place: Path) -> bool:
        return all((place / name).is_file() for name in names)

    found = {p.name: [p / n for n in names] for p in sorted(folder.iterdir()) if p.is_dir() and holds(p)}
    if not found and holds(folder):
        split = folder.name if folder.name.startswith(SPLIT_WORDS) else "train"
        found = {split: [folder / n for n in names]}
    return found


def is_squad(data: Any) -> bool:
    """SQuAD's nested shape: ``{"data": [{"paragraphs": [...]}, ...]}``."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list) or not data["data"]:
        return False
    first = data["data"][0]
    return isinstance(first, dict) and "paragraphs" in first


def read_squad(path: Path, data: Any = None) -> list[Record] | None:
    """Every question of a SQuAD v1.1 / v2.0 JSON file, in file order, as records
    ``{"id", "question", "context", "answers", "is_impossible"}``: ``answers`` as the file
    gives them (``[{"text", "answer_start"}, ...]``; ``[]`` for an unanswerable question).
    None when the file is JSON of another shape (a list of records, say). ``data``: the
    file's content when already loaded. Errors name the file and the article and paragraph
    or the question id; checking each answer against its context is left to the task."""
    data = load_json(path) if data is None else data
    if not is_squad(data):
        return None
    records: list[Record] = []
    for a, article in enumerate(data["data"], 1):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{path}: article {a} has no list 'paragraphs'")
        for p, paragraph in enumerate(paragraphs, 1):
            at = f"{path}: article {a}, paragraph {p}"
            if not isinstance(paragraph, dict):
                raise UserError(f"{at}: not an object")
            context = paragraph.get("context")
            if not isinstance(context, str) or not context.strip():
                raise UserError(f"{at}: missing or empty 'context'")
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise UserError(f"{at}: missing list 'qas'")
            for q, qa in enumerate(qas, 1):
                if not isinstance(qa, dict):
                    raise UserError(f"{at}: question {q} is not an object")
                qid = str(qa.get("id", "") or f"{a}.{p}.{q}")
                question = qa.get("question")
                if not isinstance(question, str) or not question.strip():
                    raise UserError(f"{path}: question id {qid!r}: missing or empty 'question'")
                impossible = qa.get("is_impossible") is True
                if not impossible and "answers" not in qa:
                    raise UserError(f"{path}: question id {qid!r}: missing 'answers'")
                answers = [] if impossible else qa["answers"]
                records.append({"id": qid, "question": question, "context": context, "answers": answers, "is_impossible": impossible})
    return records


ADAPTERS = (
    Adapter("jsonl", (".jsonl", ".ndjson"), read_jsonl, "JSON Lines: one object per line"),
    Adapter("json", (".json",), read_json, "a JSON list of objects, or {\"data\": [...]}"),
    Adapter("csv", (".csv",), _delimited(","), "comma-separated with a header row (quoted newlines allowed)"),
    Adapter("tsv", (".tsv",), _delimited("\t"), "tab-separated with a header row"),
)


@hookimpl
def register_adapters(register: Callable[[Adapter], None]) -> None:
    for adapter in ADAPTERS:
        register(adapter)
