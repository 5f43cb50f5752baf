"""Plain text and JSONL for language modelling, and folder layouts.

A language model is evaluated on text that follows its training text, never on
random pieces of it: where a corpus has no validation split, the validation text
is the *end* of the training text (nanoGPT's tinyshakespeare: the first 90% of
``input.txt`` trains, the last 10% validates and tests). ``GenerationTask.hold_out``
makes that cut; the layouts here only say which file holds which split.
"""

from __future__ import annotations

import re
from pathlib import Path

import tasklight

PLAIN = (".txt", ".raw", ".tokens", ".text")  # one text per file
JSONL = (".jsonl", ".ndjson")  # one text per record
GENERIC = (".json", ".csv", ".tsv")  # the core's adapters, through Task.from_record
NOT_DATA = ("license", "licence", "readme", "sources", "copying", "notice", "citation")
ROLE_WORDS = {
    "train": ("train", "training"),
    "validation": ("valid", "validation", "val", "dev"),
    "test": ("test", "testing"),
}


def percent(value: float) -> str:
    """90.00000000000001 -> '90': a percentage rounded as it is written."""
    return f"{round(value, 6):g}"


def cut(n: int, pct: float) -> int:
    """The index ``pct`` percent of the way into ``n`` items (nanoGPT's ``int(n * 0.9)``)."""
    return int(n * pct / 100)


def kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PLAIN):
        return "plain"
    if name.endswith(JSONL):
        return "jsonl"
    return None


def read_plain(path: Path) -> str:
    text = tasklight.read_text(path)
    if not text.strip():
        raise tasklight.UserError(f"{path}: the file is empty")
    return text


def read_jsonl_texts(path: Path, field: str) -> list[str]:
    texts = []
    for line, record in tasklight.read_jsonl(path):
        value = record.get(field)
        if isinstance(value, str) and not value.strip():
            continue  # an empty document scores nothing
        texts.append(tasklight.Task.field(record, field, f"{path}:{line}"))
    if not texts:
        raise tasklight.UserError(f"{path}: no texts (the file is empty)")
    return texts


# ---- folder layouts -----------------------------------------------------------------
def role_of(name: str) -> str | None:
    parts = set(re.split(r"[._\-\s]+", name.lower()))
    for role, words in ROLE_WORDS.items():
        if parts & set(words):
            return role
    return None


def data_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if not path.is_file() or name.startswith(".") or any(word in name for word in NOT_DATA):
            continue
        if kind(path) is not None or name.endswith(GENERIC):
            found.append(path)
    return found


def layout(folder: Path) -> dict[str, list[Path]] | None:
    """Each split's files in ``folder``; None where the folder does not read as one corpus.

    - ``train.*``, ``valid.*``, ``test.*`` (also ``wiki.train.tokens`` ...): as named;
    - validation but no train (wikitext-2's shared copy): the validation file trains;
    - one unnamed file (tinyshakespeare's ``input.txt``): it trains.
    A missing validation split is left out, so the core asks ``GenerationTask.hold_out``
    for the end of the training text; a missing test split too, so the core tests on
    the validation split.
    """
    files = data_files(folder)
    roles: dict[str, list[Path]] = {}
    unnamed = []
    for path in files:
        role = role_of(path.name)
        if role is None:
            unnamed.append(path)
        else:
            roles.setdefault(role, []).append(path)
    if "validation" not in roles:
        base = roles.get("train") or (unnamed if len(unnamed) == 1 and "train" not in roles else [])
        if len(base) != 1 or kind(base[0]) is None:
            return roles or None
        roles["train"] = base
    elif "train" not in roles:
        if len(roles["validation"]) != 1 or kind(roles["validation"][0]) is None:
            return None
        roles["train"] = roles.pop("validation")
    return roles
