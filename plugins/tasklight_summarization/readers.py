"""Summarization files: JSON Lines that tolerate Python dict literals, and split layouts.

DialogSum's ``dialogsum.train.jsonl`` has one Python dict literal per line (single
quotes), not JSON. Lines are read as JSON first and, failing that, with
``ast.literal_eval``, which accepts only literals (strings, numbers, lists, dicts...)
and never runs code. A line that is neither is reported with its file and line.

DialogSum names its files ``dialogsum.<split>.jsonl``; ``split_names`` and
``split_file`` find the split in the middle part, so ``--data FOLDER`` works.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tasklight

JSONL_SUFFIXES = (".jsonl", ".ndjson")
SPLIT_PREFIXES = ("train", "val", "valid", "validation", "dev", "test")


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each non-blank line: a JSON object or a Python dict literal."""
    for number, line in enumerate(tasklight.read_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as json_error:
            record = _python_literal(line, f"{path}:{number}", json_error)
        if not isinstance(record, dict):
            raise tasklight.UserError(f"{path}:{number}: expected an object (a JSON object or a Python dict), got {type(record).__name__}")
        yield number, record


def _python_literal(line: str, where: str, json_error: json.JSONDecodeError) -> Any:
    try:
        return ast.literal_eval(line.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
        reason = getattr(error, "msg", None) or str(error) or type(error).__name__
        raise tasklight.UserError(
            f"{where}: neither JSON ({json_error.msg} at column {json_error.colno}) "
            f"nor a Python dict literal ({type(error).__name__}: {reason})"
        ) from None


def _middle_split(path: Path) -> str | None:
    """``train`` from ``dialogsum.train.jsonl``: a split word between the first and last dot."""
    parts = path.name.split(".")
    if len(parts) < 3 or path.name.startswith("."):
        return None
    middle = parts[-2]
    return middle if middle.lower().startswith(SPLIT_PREFIXES) else None


def split_names(folder: Path) -> list[str] | None:
    """Split names of ``PREFIX.<split>.EXT`` files, or None when the folder has none."""
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    found = {name for p in files if (name := _middle_split(p))}
    if not found:
        return None
    # Beside them, split-like files of the core's layout (train.jsonl); not "dialogsum" or "SOURCE_LICENSE".
    plain = {p.name.split(".")[0] for p in files if p.name.lower().startswith(SPLIT_PREFIXES) and not _middle_split(p)}
    return sorted(found | plain)


def split_file(folder: Path, split: str) -> list[Path] | None:
    """The one file of ``split`` named ``PREFIX.<split>.EXT``, or None (then the core's ``<split>.EXT`` rule applies)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and _middle_split(p) == split)
    if not files:
        return None
    if len(files) > 1:
        raise tasklight.UserError(f"{folder}: several files for split {split!r}: {', '.join(p.name for p in files)}")
    return files
