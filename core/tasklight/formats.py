"""Generic file formats every task reads: JSONL, JSON arrays, CSV, TSV.

Registered through ``register_adapters`` like any plugin's formats. Every error
names the file and the line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

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
