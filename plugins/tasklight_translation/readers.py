"""Translation's file layouts: line-aligned source and target files, alone
(``--data SRC,TGT``) or in a folder as ``{split}.{src}``/``{split}.{tgt}`` (Multi30k) or
``src-{split}.txt``/``tgt-{split}.txt`` (OpenNMT). JSONL / CSV / TSV records go through
the core's adapters and ``TranslationTask.from_record`` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tasklight


def split_names(folder: Path, src: str, tgt: str) -> list[str]:
    """Splits that have both a source and a target file, in either layout."""
    names = set()
    for path in folder.iterdir():
        if path.name.endswith(f".{src}") and (folder / f"{path.name[: -len(src)]}{tgt}").is_file():
            names.add(path.name[: -len(src) - 1])
        if path.name.startswith("src-") and (folder / f"tgt-{path.name[4:]}").is_file():
            names.add(path.name[4:].rsplit(".", 1)[0])
    return sorted(names)


def split_files(folder: Path, split: str, src: str, tgt: str) -> list[Path] | None:
    for pair in ((f"{split}.{src}", f"{split}.{tgt}"), (f"src-{split}.txt", f"tgt-{split}.txt")):
        paths = [folder / name for name in pair]
        if all(p.is_file() for p in paths):
            return paths
    return None


def read_pairs(source: Path, target: Path) -> list[tuple[str, str]]:
    """``(source, target)`` sentence pairs of two line-aligned files (``tasklight.read_parallel``).

    Real corpora hold a few lines with one side empty (OpenNMT's WMT sample has some): they
    teach nothing, so they are skipped and counted in a note on stderr."""
    pairs, one_sided = [], 0
    for _, (src, tgt) in tasklight.read_parallel([source, target]):
        if not src or not tgt:
            one_sided += 1
            continue
        pairs.append((src, tgt))
    if one_sided:
        print(f"Note: {source}: skipped {one_sided} line pair(s) with one side empty", file=sys.stderr)
    if not pairs:
        raise tasklight.UserError(f"{source}: no sentence pairs (the files are empty)")
    return pairs
