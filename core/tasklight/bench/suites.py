"""Benchmark suites: ``[suites.NAME]`` tables in platform.toml, or a ``--suite FILE``.

A suite is a list of entries; an entry is one task on one data source with one
configuration, trained under a fixed budget, once per seed::

    [suites.mine]
    description = "What it measures"
    seeds = [1, 2, 3]                  # default for its entries (else [42])
    set = ["trainer.threads=1"]        # --set overrides for every entry

    [[suites.mine.entries]]
    name = "my-entry"                  # unique in the suite (default: the task's name)
    task = "TASK"                      # a task name, as `platform tasks` lists them
    data = "path/to/data"              # --data (default "demo"), relative to the current directory
    set = ["data.test=test"]
    preset = "small"                   # model.preset
    init = "../shared/models/NAME"     # --init: start from a checkpoint (a directory or hf:ORG/NAME[@REVISION])
    max_time = "00:00:08:00"           # the budget: max_time, max_steps and/or max_epochs (one is required)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasklight.config import default_file, read_toml, resolve_config
from tasklight.errors import UserError

SUITE_KEYS = ("description", "seeds", "set", "entries")
ENTRY_KEYS = ("task", "name", "data", "set", "preset", "init", "seeds", "max_time", "max_steps", "max_epochs")
DEFAULT_SEEDS = (42,)
SPLIT_KEYS = ("data.train", "data.validation", "data.test", "tokenizer.path", "model.init")


@dataclass(frozen=True)
class Entry:
    """One configuration of one task on one data source, run once per seed."""

    suite: str
    name: str
    task: str
    data: str
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    max_time: str | None = None
    max_steps: int | None = None
    max_epochs: int | None = None

    def budget(self) -> dict[str, Any]:
        given = {"max_time": self.max_time, "max_steps": self.max_steps, "max_epochs": self.max_epochs}
        return {k: v for k, v in given.items() if v is not None}

    def fingerprint(self, extra: Sequence[str] = ()) -> str:
        """What makes two runs of this entry the same experiment (the seed aside)."""
        what = {"task": self.task, "data": self.data, "set": [*self.overrides, *extra], **self.budget()}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def command(self, seed: int, out: str | Path, extra: Sequence[str] = ()) -> str:
        """The ``platform run`` command line that this entry runs for ``seed``."""
        parts = ["platform", "run", self.task]
        if self.data != "demo":
            parts += ["--data", self.data]
        for item in (*self.overrides, *extra):
            parts += ["--set", item]
        for key, value in self.budget().items():
            parts += [f"--{key.replace('_', '-')}", str(value)]
        parts += ["--seed", str(seed), "--out", str(out)]
        return shlex.join(parts)

    def data_paths(self) -> list[str]:
        """The files and folders this entry reads (to report missing data before running)."""
        specs = [] if self.data in ("", "demo") or self.data.startswith("hf:") else [self.data]
        for item in self.overrides:
            key, _, value = item.partition("=")
            if key.strip() in SPLIT_KEYS and value.strip() and not value.strip().startswith("hf:"):
                specs.append(value.strip())
        paths = []
        for spec in specs:
            for part in spec.split(","):
                part = part.strip()
                if "[" in part and part.endswith("]"):
                    part = part[: part.index("[")]  # a slice of a split, e.g. val[:1500]
                if part and ("/" in part or "\\" in part or part.startswith(".")):
                    paths.append(part)
        return paths


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    entries: tuple[Entry, ...]
    origin: str  # where it was defined, for messages

    def select(self, only: Sequence[str]) -> tuple[Entry, ...]:
        """Entries whose task or name is in ``only`` (all when empty)."""
        wanted = {w.strip() for item in only for w in item.split(",") if w.strip()}
        if not wanted:
            return self.entries
        known = {e.task for e in self.entries} | {e.name for e in self.entries}
        unknown = sorted(wanted - known)
        if unknown:
            raise UserError(
                f"--only {', '.join(unknown)}: not a task or entry of suite {self.name!r} "
                f"(tasks: {', '.join(sorted({e.task for e in self.entries}))})"
            )
        return tuple(e for e in self.entries if e.task in wanted or e.name in wanted)


# ---- where suites are defined ---------------------------------------------------------------
def shipped_tables() -> dict[str, tuple[Any, str]]:
    """Suites of the shipped platform.toml, then of ./platform.toml (which wins by name)."""
    found: dict[str, tuple[Any, str]] = {}
    files = [default_file()]
    local = Path.cwd() / "platform.toml"
    if local.is_file() and local.resolve() != default_file().resolve():
        files.append(local)
    for path in files:
        suites = read_toml(path).get("suites", {})
        if not isinstance(suites, Mapping):
            raise UserError(f"{path}: [suites] must be a table of [suites.NAME] tables")
        for name, table in suites.items():
            found[name] = (table, f"{path} [suites.{name}]")
    return found


def file_tables(path: Path) -> dict[str, tuple[Any, str]]:
    """Suites of a ``--suite FILE``: its ``[suites.NAME]`` tables, or the whole file as one
    suite named after the file (top-level ``description``, ``seeds``, ``set``, ``[[entries]]``)."""
    raw = read_toml(path)
    if "suites" in raw:
        if not isinstance(raw["suites"], Mapping):
            raise UserError(f"{path}: [suites] must be a table of [suites.NAME] tables")
        extra = sorted(set(raw) - {"suites"})
        if extra:
            raise UserError(f"{path}: unexpected top-level key(s) {', '.join(extra)} beside [suites.NAME] tables")
        return {name: (table, f"{path} [suites.{name}]") for name, table in raw["suites"].items()}
    return {path.stem: (raw, str(path))}


def available(suite_file: str | None = None) -> dict[str, tuple[Any, str]]:
    if suite_file is None:
        return shipped_tables()
    path = Path(suite_file)
    if not path.is_file():
        raise UserError(f"{path}: no such suite file")
    return file_tables(path)


def load_suite(name: str | None, suite_file: str | None = None) -> Suite:
    """The suite ``name`` (from platform.toml, or from ``suite_file``), parsed and checked."""
    tables = available(suite_file)
    if name is None:
        if suite_file is not None and len(tables) == 1:
            name = next(iter(tables))
        else:
            raise UserError(f"name a suite: {', '.join(sorted(tables)) or 'none defined'}")
    if name not in tables:
        close = difflib.get_close_matches(name, list(tables), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        where = suite_file or "platform.toml"
        raise UserError(f"unknown suite {name!r} in {where}; {hint}(known: {', '.join(sorted(tables)) or 'none'})")
    table, origin = tables[name]
    return parse_suite(name, table, origin)


# ---- parsing and checking ----------------------------------------------------------------------
def parse_suite(name: str, table: Any, origin: str) -> Suite:
    if not isinstance(table, Mapping):
        raise UserError(f"{origin}: a suite must be a table")
    _known_keys(table, SUITE_KEYS, origin)
    description = table.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{origin}: description must be a string")
    seeds = _seeds(table.get("seeds", list(DEFAULT_SEEDS)), origin)
    common = _strings(table.get("set", []), f"{origin}: set")
    rows = table.get("entries")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, Mapping) for r in rows):
        raise UserError(f"{origin}: a suite needs [[entries]] tables (at least one)")
    entries: list[Entry] = []
    for i, row in enumerate(rows, 1):
        where = f"{origin} entry {i}" + (f" ({row['name']})" if isinstance(row.get("name"), str) else "")
        entries.append(_entry(name, row, where, seeds, common))
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"{origin}: entry name(s) {', '.join(twice)} used twice; give each entry a unique name")
    return Suite(name, description, tuple(entries), origin)


def _entry(suite: str, row: Mapping[str, Any], where: str, seeds: tuple[int, ...], common: list[str]) -> Entry:
    _known_keys(row, ENTRY_KEYS, where)
    task = row.get("task")
    if not isinstance(task, str) or not task:
        raise UserError(f"{where}: needs task = \"NAME\"")
    name = row.get("name", task)
    data = row.get("data", "demo")
    for key, value in (("name", name), ("data", data)):
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}: {key} must be a non-empty string")
    if any(c in name for c in "/\\") or name in (".", ".."):
        raise UserError(f"{where}: name {name!r} must not contain a path separator (it names a folder)")
    overrides = list(common)
    if "preset" in row:
        if not isinstance(row["preset"], str):
            raise UserError(f"{where}: preset must be a string")
        overrides.append(f"model.preset={row['preset']}")
    if "init" in row:
        if not isinstance(row["init"], str) or not row["init"]:
            raise UserError(f"{where}: init must be a checkpoint directory or \"hf:ORG/NAME\"")
        overrides.append(f"model.init={row['init']}")
    overrides += _strings(row.get("set", []), f"{where}: set")
    for item in overrides:
        if "=" not in item:
            raise UserError(f"{where}: set expects \"key=value\" strings, got {item!r}")
    budget: dict[str, Any] = {}
    if "max_time" in row:
        if not isinstance(row["max_time"], str):
            raise UserError(f"{where}: max_time must be a string \"DD:HH:MM:SS\"")
        budget["max_time"] = row["max_time"]
    for key in ("max_steps", "max_epochs"):
        if key in row:
            if not isinstance(row[key], int) or isinstance(row[key], bool) or row[key] <= 0:
                raise UserError(f"{where}: {key} must be a positive integer")
            budget[key] = row[key]
    if not budget:
        raise UserError(f"{where}: needs a budget: max_time = \"DD:HH:MM:SS\", max_steps or max_epochs")
    return Entry(suite, name, task, data, tuple(overrides), _seeds(row.get("seeds", list(seeds)), where), **budget)


def check_suite(suite: Suite, platform: Any) -> None:
    """Every entry names a known task and resolves to a valid config (no data is read)."""
    for entry in suite.entries:
        where = f"{suite.origin}, entry {entry.name!r}"
        try:
            task = platform.tasks.get(entry.task)
            cli = {f"trainer.{k}": v for k, v in entry.budget().items()} | {"run.seed": entry.seeds[0], "run.data": entry.data}
            resolve_config(task, entry.data, overrides=entry.overrides, cli=cli)
        except UserError as err:
            raise UserError(f"{where}: {err.message}") from None


def _known_keys(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            raise UserError(f"{where}: unknown key {key!r}{hint}")


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    ok = isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    if not ok:
        raise UserError(f"{where}: seeds must be a non-empty list of non-negative integers, got {value!r}")
    if len(set(value)) != len(value):
        raise UserError(f"{where}: seeds {value!r} repeat a seed")
    return tuple(value)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where} must be a list of \"key=value\" strings, got {value!r}")
    return list(value)
