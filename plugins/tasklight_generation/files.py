"""Plain text and JSONL for language modelling, contiguous splits, folder layouts.

A language model is evaluated on text that follows its training text, never on
random pieces of it: where a corpus has no validation split, the validation text
is the *end* of the training text (nanoGPT's tinyshakespeare: the first 90% of
``input.txt`` trains, the last 10% validates and tests). A contiguous slice is
written ``PATH@START:END%`` (``input.txt@0:90%``): characters of a plain-text
file, records of a JSONL file.
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
_SLICE = re.compile(r"^(?P<path>.+)@(?P<start>\d+(?:\.\d+)?)%?:(?P<end>\d+(?:\.\d+)?)%$")


def percent(value: float) -> str:
    """90.00000000000001 -> '90' (how slices are written)."""
    return f"{round(value, 6):g}"


def cut(n: int, pct: float) -> int:
    """The index ``pct`` percent of the way into ``n`` items (nanoGPT's ``int(n * 0.9)``)."""
    return int(n * pct / 100)


def parse_spec(path: Path) -> tuple[Path, tuple[float, float] | None]:
    """``input.txt@0:90%`` -> (input.txt, (0.0, 90.0)); a path that exists as written is itself."""
    if path.exists():
        return path, None
    match = _SLICE.match(str(path))
    if match is None:
        return path, None
    start, end = float(match["start"]), float(match["end"])
    if not 0 <= start < end <= 100:
        raise tasklight.UserError(f"{path}: a slice is @START:END% with 0 <= START < END <= 100")
    return Path(match["path"]), (start, end)


def kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PLAIN):
        return "plain"
    if name.endswith(JSONL):
        return "jsonl"
    return None


def read_plain(path: Path, piece: tuple[float, float] | None) -> str:
    text = tasklight.read_text(path)
    if not text.strip():
        raise tasklight.UserError(f"{path}: the file is empty")
    if piece is not None:
        text = text[cut(len(text), piece[0]) : cut(len(text), piece[1])]
        if not text.strip():
            raise tasklight.UserError(f"{path}@{percent(piece[0])}:{percent(piece[1])}%: the slice holds no text")
    return text


def read_jsonl_texts(path: Path, field: str, piece: tuple[float, float] | None) -> list[str]:
    texts = []
    for line, record in tasklight.read_jsonl(path):
        value = record.get(field)
        if isinstance(value, str) and not value.strip():
            continue  # an empty document scores nothing
        texts.append(tasklight.Task.field(record, field, f"{path}:{line}"))
    if not texts:
        raise tasklight.UserError(f"{path}: no texts (the file is empty)")
    if piece is not None:
        texts = texts[cut(len(texts), piece[0]) : cut(len(texts), piece[1])]
        if not texts:
            raise tasklight.UserError(f"{path}@{percent(piece[0])}:{percent(piece[1])}%: the slice holds no records")
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


def layout(folder: Path, val_fraction: float) -> dict[str, list[Path]] | None:
    """Each split's files in ``folder``, cutting a missing validation split from the end of
    the text it follows; None where the folder does not read as one corpus.

    - ``train.*``, ``valid.*``, ``test.*`` (also ``wiki.train.tokens`` ...): as named;
    - train but no validation: validation is the last ``val_fraction`` of train;
    - validation but no train (wikitext-2's shared copy): train is the first part of it;
    - one unnamed file (tinyshakespeare's ``input.txt``): train and validation cut from it.
    A missing test split is left out: the core then tests on the validation split.
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
        source, keep = base[0], 100 * (1 - val_fraction)
    elif "train" not in roles:
        if len(roles["validation"]) != 1 or kind(roles["validation"][0]) is None:
            return None
        source, keep = roles["validation"][0], 100 * (1 - val_fraction)
    else:
        return roles
    if not 0 < keep < 100:
        raise tasklight.UserError(f"{folder}: data.val_fraction must be between 0 and 1 to cut a validation split from {source.name}")
    roles["train"] = [Path(f"{source}@0:{percent(keep)}%")]
    roles["validation"] = [Path(f"{source}@{percent(keep)}:100%")]
    return roles
