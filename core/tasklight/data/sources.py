"""``--data SOURCE`` -> train / validation / test examples, through the task's adapters.

SOURCE is ``demo``, a file, several line-aligned files joined by commas, a folder
of split files, or ``hf:NAME[:CONFIG]``. ``data.train|validation|test`` pick a
split by name inside the folder or give a path of their own, and may take a slice of
its examples, as Python slices a list: ``val[:1500]``, ``val[1500:]``, ``train.jsonl[-100:]``
(the one slice syntax; it counts examples: records, line pairs, questions).

A file is read by the task's ``read_files`` (its own layouts), else by the first adapter
whose suffix it has: the task's own ``Task.adapters`` first, then those every task reads.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasklight.errors import UserError
from tasklight.registry import Registry
from tasklight.task import SPLITS, Adapter, Task, TaskContext

VALIDATION_PREFIXES = ("val", "valid", "validation", "dev")
SLICE = re.compile(r"^(?P<spec>.+)\[(?P<start>-?\d+)?:(?P<stop>-?\d+)?\]$")  # val[:1500], val[1500:]


@dataclass
class Split:
    """The examples of one split and where they came from."""

    role: str  # train | validation | test
    examples: list[Any]
    origin: str  # a human-readable description: a path, "demo", "held out of train"
    files: list[Path] = field(default_factory=list)

    def content_hash(self, task: Task) -> str:
        """A hash of the examples' text, so results on different data never look alike."""
        digest = hashlib.sha256()
        for example in self.examples:
            digest.update(json.dumps(list(task.texts(example)), ensure_ascii=False).encode())
            digest.update(json.dumps(task.reference(example), ensure_ascii=False, default=str).encode())
        return digest.hexdigest()[:16]


def is_demo(source: str, config: Mapping[str, Any] | None = None) -> bool:
    """True when the examples come from the task's generated demo: the source is ``demo``
    and no split is named by a file of its own (``--set data.train=FILE`` means real data)."""
    if source not in ("", "demo"):
        return False
    return config is None or not any(config.get(f"data.{role}") for role in SPLITS)


def load_splits(
    task: Task, source: str, ctx: TaskContext, adapters: Registry[Adapter], roles: Sequence[str] = SPLITS
) -> dict[str, Split]:
    """Examples for each role in ``roles``. Where there is no validation split, a seeded
    ``data.val_fraction`` of train is held out; where there is no test split, the
    validation split is used and the origin says so."""
    if is_demo(source, ctx.config):
        splits = {role: Split(role, task.demo(role, ctx), "demo") for role in roles}
    elif source.startswith("hf:"):
        splits = _load_hf(task, source, ctx, roles)
    else:
        splits = _load_paths(task, source, ctx, adapters, roles)
    for role, split in splits.items():
        if not split.examples:
            where = split.origin
            raise UserError(f"{where}: the {role} split has no examples")
    return splits


def _load_paths(
    task: Task, source: str, ctx: TaskContext, adapters: Registry[Adapter], roles: Sequence[str]
) -> dict[str, Split]:
    config = ctx.config
    named_only = is_demo(source)  # no --data: every split comes from its data.<split> setting
    base = Path(source)
    folder = base if not named_only and base.is_dir() else None
    if folder is None and not named_only:
        _check_paths(source)
    # A single file may hold every split itself (CLINC150's data_full.json).
    held = task.read_splits(base, ctx) if folder is None and not named_only and "," not in source else None
    names = task.split_names(folder, ctx) if folder else sorted(held or ())
    chosen: dict[str, str] = {role: str(config.get(f"data.{role}", "") or "") for role in SPLITS}
    splits: dict[str, Split] = {}

    def from_held(role: str, name: str) -> Split:
        return Split(role, _nonempty(list(held[name]), base, ctx), f"{source} [{name}]", [base])

    def from_spec(role: str, spec: str) -> Split:
        # A split given by name inside the folder or the multi-split file, or a path of its own;
        # NAME[start:stop] takes a slice of its examples, as Python slices a list.
        cut = SLICE.match(spec)
        if cut is not None:
            whole = from_spec(role, cut["spec"])
            start, stop = (int(cut[k]) if cut[k] else None for k in ("start", "stop"))
            part = whole.examples[start:stop]
            if not part:
                raise UserError(f"{spec}: the slice holds no examples ({cut['spec']} has {len(whole.examples)})")
            return Split(role, part, f"{whole.origin} [{cut['start'] or ''}:{cut['stop'] or ''}]", whole.files)
        if folder is not None and spec in names:
            return _read_split(task, folder, spec, role, ctx, adapters)
        if held is not None and spec in held:
            return from_held(role, spec)
        _check_paths(spec)
        paths = [Path(p) for p in spec.split(",")]
        if len(paths) == 1 and paths[0].is_dir():
            return _read_split(task, paths[0], role, role, ctx, adapters, guess=True)
        return Split(role, _read_files(task, paths, ctx, adapters), spec, paths)

    for role in SPLITS:
        if chosen[role]:
            splits[role] = from_spec(role, chosen[role])
        elif folder is not None:
            name = _guess(names, role)
            if name is not None:
                splits[role] = _read_split(task, folder, name, role, ctx, adapters)
        elif held is not None:
            name = _guess(names, role)
            if name is not None:
                splits[role] = from_held(role, name)
        elif role == "train" and not named_only:
            paths = [Path(p) for p in source.split(",")]
            splits[role] = Split(role, _read_files(task, paths, ctx, adapters), source, paths)
    if "train" not in splits and "train" in roles:
        if named_only:
            raise UserError(
                "data.validation or data.test names a file but nothing names the training data: "
                "add --set data.train=FILE or --data FILE_OR_FOLDER"
            )
        if folder is not None or held is not None:
            raise UserError(
                f"{folder or base}: no train split found ({'files' if folder else 'splits'}: {', '.join(names) or 'none'}); "
                "name one with --set data.train=NAME"
            )
    return _fill_missing(task, splits, ctx, roles)


def _fill_missing(task: Task, splits: dict[str, Split], ctx: TaskContext, roles: Sequence[str]) -> dict[str, Split]:
    """``roles`` of ``splits``, a missing validation split held out of train and a missing
    test split replaced by the validation examples (the origin says so)."""
    if "validation" not in splits and "train" in splits:
        splits["train"], splits["validation"] = _hold_out(task, splits["train"], ctx.config["data.val_fraction"], ctx)
    if "test" not in splits and "validation" in splits:
        held = splits["validation"]
        splits["test"] = Split("test", held.examples, f"{held.origin} (no test split: the validation examples)", held.files)
    return {role: splits[role] for role in roles if role in splits}


def _guess(names: list[str], role: str) -> str | None:
    if role == "train":
        return "train" if "train" in names else next((n for n in names if n.startswith("train")), None)
    if role == "validation":
        for prefix in VALIDATION_PREFIXES:
            found = [n for n in names if n.startswith(prefix)]
            if found:
                return min(found, key=len)
        return None
    found = [n for n in names if n.startswith("test")]
    return min(found, key=lambda n: (n != "test", n)) if found else None


def _check_paths(spec: str) -> None:
    for part in spec.split(","):
        if not Path(part).exists():
            raise UserError(f"{part}: no such file or folder")


def _read_split(
    task: Task, folder: Path, name: str, role: str, ctx: TaskContext, adapters: Registry[Adapter], guess: bool = False
) -> Split:
    if guess:
        names = task.split_names(folder, ctx)
        found = _guess(names, role)
        if found is None:
            raise UserError(f"{folder}: no {role} split found (files: {', '.join(names) or 'none'})")
        name = found
    paths = task.split_files(folder, name, ctx)
    if paths is None:
        paths = sorted(p for p in folder.iterdir() if p.is_file() and p.name.split(".")[0] == name)
        if len(paths) != 1:
            listed = ", ".join(p.name for p in paths) or "none"
            raise UserError(f"{folder}: expected one file for split {name!r}, found {listed}")
    return Split(role, _read_files(task, paths, ctx, adapters), ", ".join(map(str, paths)), paths)


def _read_files(task: Task, paths: list[Path], ctx: TaskContext, adapters: Registry[Adapter]) -> list[Any]:
    own = task.read_files(paths, ctx)
    if own is not None:
        return _nonempty(own, paths[0], ctx)
    if len(paths) != 1:
        raise UserError(f"{','.join(map(str, paths))}: task {task.name!r} reads one file here, got {len(paths)}")
    path = paths[0]
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give it as --data, or name a file")
    readable = [*task.adapters, *(a for _, a in adapters.items())]
    adapter = next((a for a in readable if path.name.lower().endswith(a.suffixes)), None)
    if adapter is None:
        known = ", ".join(dict.fromkeys(s for a in readable for s in a.suffixes))
        raise UserError(f"{path}: unknown file format for task {task.name!r} (readable: {known})")
    examples = [task.from_record(record, f"{path}:{line}", ctx) for line, record in adapter.read(path)]
    if not examples:
        raise UserError(f"{path}: no examples (the file is empty)")
    return _nonempty(examples, path, ctx)


def _nonempty(examples: list[Any], path: Path, ctx: TaskContext) -> list[Any]:
    if not examples:
        raise UserError(f"{path}: no examples (the file is empty)")
    return examples


def _hold_out(task: Task, train: Split, fraction: float, ctx: TaskContext) -> tuple[Split, Split]:
    own = task.hold_out(list(train.examples), fraction, ctx) if fraction > 0 else None
    if own is not None:
        kept, held = own
        if not kept or not held:
            raise UserError(f"{train.origin}: holding out data.val_fraction={fraction} leaves an empty split")
        return (
            Split("train", kept, train.origin, train.files),
            Split("validation", held, f"{train.origin} (held out by the task: {fraction:.0%})", train.files),
        )
    if fraction <= 0 or len(train.examples) < 2:
        raise UserError(
            f"{train.origin}: there is no validation split and data.val_fraction={fraction} holds none out; "
            "name one with --set data.validation=NAME_OR_PATH"
        )
    order = list(range(len(train.examples)))
    random.Random(ctx.seed).shuffle(order)
    n = max(1, round(len(order) * fraction))
    held, kept = sorted(order[:n]), sorted(order[n:])
    return (
        Split("train", [train.examples[i] for i in kept], train.origin, train.files),
        Split("validation", [train.examples[i] for i in held], f"{train.origin} (held-out {fraction:.0%} of train)", train.files),
    )


def _load_hf(task: Task, source: str, ctx: TaskContext, roles: Sequence[str]) -> dict[str, Split]:
    try:
        import datasets  # optional extra: pip install 'tasklight[hf]'
    except ImportError:
        raise UserError(f"{source}: Hugging Face datasets need the optional extra: pip install 'tasklight[hf]'") from None
    name, _, config_name = source[3:].partition(":")
    try:
        loaded = datasets.load_dataset(name, config_name or None)
    except Exception as err:  # network errors, unknown names: one line for the user
        raise UserError(f"{source}: cannot load ({type(err).__name__}: {err})") from None
    names = list(loaded.keys())
    splits: dict[str, Split] = {}
    for role in SPLITS:
        wanted = str(ctx.config.get(f"data.{role}", "") or "") or _guess(names, role)
        if wanted and wanted in loaded:
            rows = loaded[wanted]
            examples = [task.from_record(dict(row), f"{source}[{wanted}]:{i + 1}", ctx) for i, row in enumerate(rows)]
            splits[role] = Split(role, examples, f"{source}[{wanted}]")
    if "train" not in splits:
        raise UserError(f"{source}: no train split (splits: {', '.join(names)})")
    return _fill_missing(task, splits, ctx, roles)
