"""Intent-specific file layouts: line-aligned ``seq.in`` / ``label`` files (SNIPS and
ATIS as preprocessed by Goo et al. 2018) and CLINC150's ``data_full.json``.

Generic JSONL / CSV / TSV / JSON files go through the core's adapters and
``IntentTask.from_record`` instead.

CLINC150 keeps every split in one JSON object ``{split: [[text, intent], ...]}``.
The core resolves a *folder* into splits through ``split_names`` / ``split_files``,
so a folder holding ``data_full.json`` exposes the object's keys as split names
(``train``, ``val``, ``test``, ``oos_train``, ...), and ``split_files`` names one
split of the file as ``data_full.json#val``: a path the core only hands back to
``read_files``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tasklight

TEXT_FILE, LABEL_FILE, SLOT_FILE = "seq.in", "label", "seq.out"
SELECTOR = "#"  # data_full.json#val: one split of a file that holds several
OOS_PREFIX = "oos_"
OOS_CHOICES = ("exclude", "include")


# ---- seq.in / label folders ----------------------------------------------------------
def aligned_split_names(folder: Path) -> list[str]:
    """Sub-folders holding ``seq.in`` + ``label`` (snips/train, snips/valid, ...); or, for a
    folder that holds them itself, one split named after the folder (``tasklight.aligned_splits``)."""
    return sorted(tasklight.aligned_splits(folder, (TEXT_FILE, LABEL_FILE)))


def aligned_split_files(folder: Path, split: str) -> list[Path] | None:
    return tasklight.aligned_splits(folder, (TEXT_FILE, LABEL_FILE)).get(split)


def is_aligned_pair(paths: list[Path]) -> bool:
    """``seq.in`` and ``label`` (``seq.out`` may come along and is ignored), or any two
    plain-text files: utterances first, labels second."""
    names = [p.name for p in paths]
    if TEXT_FILE in names and LABEL_FILE in names and set(names) <= {TEXT_FILE, LABEL_FILE, SLOT_FILE}:
        return len(names) == len(set(names))
    generic = (".jsonl", ".ndjson", ".json", ".csv", ".tsv")
    return len(paths) == 2 and not any(p.name.lower().endswith(generic) for p in paths)


def read_aligned(paths: list[Path]) -> list[tuple[str, str]]:
    """``(text, label)`` pairs from line-aligned utterance and label files (``tasklight.read_parallel``);
    a line empty on one side only is an error."""
    names = [p.name for p in paths]
    if TEXT_FILE in names and LABEL_FILE in names:
        text_path, label_path = paths[names.index(TEXT_FILE)], paths[names.index(LABEL_FILE)]
    else:
        text_path, label_path = paths
    pairs = []
    for number, (text, label) in tasklight.read_parallel([text_path, label_path]):
        for path, value in ((text_path, text), (label_path, label)):
            if not value:
                raise tasklight.UserError(f"{path}:{number}: empty line (line {number} of its pair is not empty)")
        pairs.append((text, label))
    if not pairs:
        raise tasklight.UserError(f"{text_path}: no examples (the files are empty)")
    return pairs


# ---- CLINC150: one JSON object, several splits -----------------------------------------
def is_multi_split(data: Any) -> bool:
    """CLINC150's layout: an object whose values are lists of ``[text, label]`` pairs."""
    if not isinstance(data, dict) or not data or "data" in data or "examples" in data:
        return False
    for value in data.values():
        if not isinstance(value, list):
            return False
        first = value[0] if value else None
        if first is not None and not (isinstance(first, list) and len(first) == 2):
            return False
    return True


def multi_split_names(path: Path) -> list[str]:
    data = tasklight.load_json(path)
    return sorted(data) if is_multi_split(data) else []


def split_of(path: Path) -> tuple[Path, str] | None:
    """``(file, split)`` for a ``file#split`` selector path, else None."""
    base, sep, split = path.name.rpartition(SELECTOR)
    if not sep or not base or not split:
        return None
    return path.with_name(base), split


def read_multi_split(path: Path, split: str, oos: str) -> list[tuple[str, str]]:
    """``(text, label)`` pairs of ``split``; with ``oos="include"`` a split ``X`` also gets
    the out-of-scope examples of ``oos_X`` (CLINC150 labels them ``oos``)."""
    data = tasklight.load_json(path)
    if not is_multi_split(data):
        raise tasklight.UserError(f"{path}: expected a JSON object {{split: [[text, intent], ...]}} (CLINC150's layout)")
    return split_pairs(data, path, split, oos)


def split_pairs(data: dict[str, Any], path: Path, split: str, oos: str) -> list[tuple[str, str]]:
    """``read_multi_split`` on the file's loaded object."""
    if oos not in OOS_CHOICES:
        raise tasklight.UserError(f"data.clinc_oos={oos!r}: choose one of {', '.join(OOS_CHOICES)}")
    if split not in data:
        raise tasklight.UserError(f"{path}: no split {split!r} (splits: {', '.join(sorted(data))})")
    names = [split]
    if oos == "include" and not split.startswith(OOS_PREFIX) and OOS_PREFIX + split in data:
        names.append(OOS_PREFIX + split)
    pairs = []
    for name in names:
        for number, item in enumerate(data[name], 1):
            where = f"{path}: split {name!r} item {number}"
            if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)):
                raise tasklight.UserError(f"{where}: expected [text, intent], got {json.dumps(item)[:80]}")
            text, label = item[0].strip(), item[1].strip()
            if not text or not label:
                raise tasklight.UserError(f"{where}: empty {'text' if not text else 'intent'}")
            pairs.append((text, label))
    return pairs
