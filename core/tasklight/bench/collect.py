"""Finding and reading results records for the leaderboard.

Files named on the command line are read as records. Folders are searched
recursively: every ``metrics.json``, and every other ``*.json`` that is not inside a
run directory (a folder with a ``config.toml``, whose tokenizer.json and eval-*.json
are not the run's result). A record that does not parse or fails the schema check is
named on stderr and skipped; the same record found twice counts once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasklight.errors import UserError

LEADERBOARD_KEY = "tasklight_leaderboard"  # marks a leaderboard written with --format json


@dataclass
class Found:
    path: Path
    record: dict[str, Any]


def record_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(_search(path))
        else:
            raise UserError(f"{path}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for path in files:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(path)
    return unique


def _search(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # hidden files and folders: half-written temporaries
        if path.name != "metrics.json" and (path.parent / "config.toml").is_file():
            continue
        found.append(path)
    return found


def check(record: Any) -> list[str]:
    """The schema check (results.validate_record) plus what a leaderboard needs."""
    from tasklight.results import validate_record

    problems = validate_record(record)
    if problems:
        return problems
    dataset = record.get("dataset")
    if not isinstance(dataset, dict) or not {"name", "split", "sha256"} <= set(dataset):
        problems.append("dataset must have name, split and sha256")
    if not isinstance(record.get("model"), dict) or not isinstance(record.get("training"), dict):
        problems.append("model and training must be objects")
    return problems


def load_records(paths: Iterable[str | Path], warn: Callable[[str], None]) -> list[Found]:
    """Valid records under ``paths``; each malformed file is reported through ``warn``."""
    found: list[Found] = []
    digests: dict[str, Path] = {}
    for path in record_files(paths):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            warn(f"{path}: skipped: cannot read it ({err})")
            continue
        except json.JSONDecodeError as err:
            warn(f"{path}: skipped: not valid JSON ({err})")
            continue
        if isinstance(record, dict) and LEADERBOARD_KEY in record:
            continue  # a leaderboard this command wrote, not a record
        problems = check(record)
        if problems:
            warn(f"{path}: skipped: not a valid results record ({'; '.join(problems)})")
            continue
        digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        if digest in digests:
            warn(f"{path}: the same record as {digests[digest]}; counted once")
            continue
        digests[digest] = path
        found.append(Found(path, record))
    return found
