"""Records -> leaderboard groups: comparable results together, seeds aggregated, ranked.

A group holds records that may be ranked against each other: the same task and task
version, the same data set split (by content hash; the generated demo, which each
seed draws anew, by name), the same primary metric, and the same signature for every
metric (sacreBLEU's tokenizer, ROUGE's settings, normalisation...). Records that
differ in any of these never share a group; groups that share task and data but not
the rest are marked as not comparable, with the difference spelled out.

Within a group a row is one configuration: a bench entry (name and settings
fingerprint), or for records made outside ``platform bench`` the model, budget,
decoding and precision. Its seeds aggregate to mean, sample standard deviation and n.
Under a time budget the hardware is part of the configuration too.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasklight.bench.collect import Found


@dataclass
class Stat:
    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def std(self) -> float | None:
        """Sample standard deviation (n - 1), None for a single value."""
        return statistics.stdev(self.values) if len(self.values) > 1 else None


@dataclass
class Row:
    label: str
    key: tuple[Any, ...]
    found: list[Found] = field(default_factory=list)
    rank: int = 0

    @property
    def records(self) -> list[dict[str, Any]]:
        return [f.record for f in self.found]

    def stat(self, metric: str) -> Stat:
        return Stat([float(r["metrics"][metric]["value"]) for r in self.records if metric in r["metrics"]])

    def intervals(self, metric: str) -> list[dict[str, Any] | None]:
        """Each record's 95% bootstrap interval of ``metric`` over its test examples (None where
        a record has none: records written before intervals existed)."""
        found: list[dict[str, Any] | None] = []
        for record in self.records:
            entry = record["metrics"].get(metric, {}).get("interval")
            ok = isinstance(entry, dict) and all(isinstance(entry.get(k), (int, float)) for k in ("low", "high"))
            found.append(entry if ok else None)
        return found

    def seeds(self) -> list[Any]:
        return [r["training"].get("seed") for r in self.records]

    def parameters(self) -> list[int]:
        return sorted({int(r["model"]["parameters"]) for r in self.records if isinstance(r["model"].get("parameters"), int)})

    def mean_of(self, key: str) -> float | None:
        values = [r["training"][key] for r in self.records if isinstance(r["training"].get(key), (int, float))]
        return statistics.fmean(values) if values else None

    def budget(self) -> str:
        return budget_text(self.records[0]["training"].get("budget"))

    def init(self) -> str:
        """The checkpoint the row's runs started from (one per row: it is part of the key)."""
        return init_text(self.records[0])

    def hardware(self) -> str:
        return "; ".join(dict.fromkeys(hardware_text(r.get("hardware", {})) for r in self.records))

    def versions(self) -> str:
        return "; ".join(dict.fromkeys(versions_text(r) for r in self.records))

    def dates(self) -> list[str]:
        return sorted(str(r.get("date", "")) for r in self.records)

    def files(self) -> list[str]:
        return [str(f.path) for f in self.found]


@dataclass
class Group:
    ident: str  # "translation #1"
    key: tuple[Any, ...]
    task: str
    task_version: str
    split: str
    primary: str
    higher_is_better: bool
    metrics: list[str]  # primary first
    signatures: dict[str, str]
    datasets: list[str]  # names as the records give them
    sizes: list[int]
    hashes: list[str]
    demo: bool
    rows: list[Row] = field(default_factory=list)
    not_comparable: list[str] = field(default_factory=list)  # why other groups on the same data are apart

    @property
    def dataset(self) -> str:
        return " | ".join(self.datasets)

    def metric_higher(self, metric: str) -> bool:
        return bool(self.rows[0].records[0]["metrics"][metric]["higher_is_better"])


def signature_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def budget_text(budget: Any) -> str:
    if not isinstance(budget, dict):
        return "—"
    parts = []
    max_time = budget.get("max_time")
    if max_time:
        try:
            d, h, m, s = (int(x) for x in str(max_time).split(":"))
            seconds = ((d * 24 + h) * 60 + m) * 60 + s
            parts.append(f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s")
        except ValueError:
            parts.append(str(max_time))
    for key, unit in (("max_steps", "steps"), ("max_epochs", "epochs")):
        value = budget.get(key)
        if isinstance(value, int) and value > 0:
            parts.append(f"{value} {unit}")
    return ", ".join(parts) or "none"


def hardware_text(hw: Any) -> str:
    if not isinstance(hw, dict):
        return "?"
    device = hw.get("gpu") or hw.get("cpu") or "?"
    devices = hw.get("devices", 1)
    count = f"{devices}x " if isinstance(devices, int) and devices > 1 else ""
    n = hw.get("threads")
    threads = f", {n} thread{'s' if n != 1 else ''}" if hw.get("accelerator") == "cpu" and n else ""
    return f"{hw.get('accelerator', '?')}: {count}{device}{threads}"


def versions_text(record: dict[str, Any]) -> str:
    v = record.get("versions", {})
    if not isinstance(v, dict):
        return "?"
    task = record["task"]["name"]
    parts = [f"tasklight {v.get('tasklight', '?')}"]
    plugin = v.get("plugins", {}).get(task) if isinstance(v.get("plugins"), dict) else None
    if plugin:
        parts.append(f"{task} {plugin}")
    parts.append(f"torch {v.get('torch', '?')}")
    parts.append(f"lightning {v.get('pytorch_lightning', '?')}")
    libs = v.get("metric_libraries", {})
    if isinstance(libs, dict):
        parts += [f"{name} {version}" for name, version in sorted(libs.items())]
    return ", ".join(dict.fromkeys(parts))  # a metric library may be tasklight itself


def init_id(record: dict[str, Any]) -> str:
    """The starting checkpoint's weights (their SHA-256), "" for a model trained from scratch:
    runs from two starting points are never one row."""
    init = record.get("model", {}).get("init")
    return str(init.get("weights_sha256", "")) if isinstance(init, dict) else ""


def init_text(record: dict[str, Any]) -> str:
    """The starting checkpoint's name (and Hub revision), or "scratch"."""
    init = record.get("model", {}).get("init")
    if not isinstance(init, dict):
        return "scratch"
    revision = init.get("revision")
    return f"{init.get('name', '?')}@{str(revision)[:8]}" if revision else str(init.get("name", "?"))


def _data_id(record: dict[str, Any]) -> tuple[str, str]:
    dataset = record["dataset"]
    if dataset["name"] == "demo" and dataset.get("origin", "demo") == "demo":
        return ("demo", "")  # generated per seed: every seed has its own sample of the same generator
    return ("sha256", str(dataset["sha256"]))


def _group_key(record: dict[str, Any]) -> tuple[Any, ...]:
    metrics = record["metrics"]
    signatures = tuple(sorted((name, signature_text(m.get("signature")), bool(m["higher_is_better"])) for name, m in metrics.items()))
    task = record["task"]
    return (task["name"], str(task["version"]), record["dataset"]["split"], _data_id(record), record["primary_metric"], signatures)


def _row_key(record: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    bench = record.get("bench")
    training = record["training"]
    budget = training.get("budget")
    if isinstance(bench, dict) and bench.get("entry"):
        key: tuple[Any, ...] = ("bench", bench["entry"], bench.get("fingerprint", ""), init_id(record))
        label = str(bench["entry"])
    else:
        config = {k: record.get(k) for k in ("model", "decoding")} | {"budget": budget, "precision": training.get("precision")}
        key = ("config", json.dumps(config, sort_keys=True, default=str))
        label = f"{init_text(record) if init_id(record) else record['model'].get('preset', '?')} model, {budget_text(budget)}"
    if isinstance(budget, dict) and budget.get("max_time"):
        key += (hardware_text(record.get("hardware")),)  # a time budget buys what the hardware allows
    return key, label


def build_groups(found: Sequence[Found]) -> list[Group]:
    by_key: dict[tuple[Any, ...], list[Found]] = {}
    for item in found:
        by_key.setdefault(_group_key(item.record), []).append(item)
    groups = [_make_group(key, items) for key, items in by_key.items()]
    groups.sort(key=lambda g: (g.task, g.dataset, g.split, g.task_version, json.dumps(g.signatures, sort_keys=True)))
    counters: dict[str, int] = {}
    for group in groups:
        counters[group.task] = counters.get(group.task, 0) + 1
        group.ident = f"{group.task} #{counters[group.task]}"
    _mark_incomparable(groups)
    return groups


def _make_group(key: tuple[Any, ...], items: list[Found]) -> Group:
    first = items[0].record
    primary = first["primary_metric"]
    names = [primary] + [m for m in first["metrics"] if m != primary]
    rows: dict[tuple[Any, ...], Row] = {}
    for item in sorted(items, key=lambda f: (str(f.record.get("date", "")), str(f.path))):
        row_key, label = _row_key(item.record)
        rows.setdefault(row_key, Row(label, row_key)).found.append(item)
    group = Group(
        ident="", key=key, task=first["task"]["name"], task_version=str(first["task"]["version"]),
        split=first["dataset"]["split"], primary=primary, higher_is_better=bool(first["metrics"][primary]["higher_is_better"]),
        metrics=names, signatures={m: signature_text(first["metrics"][m].get("signature")) for m in names},
        datasets=sorted({str(f.record["dataset"]["name"]) for f in items}),
        sizes=sorted({int(f.record["dataset"].get("size", 0)) for f in items}),
        hashes=sorted({str(f.record["dataset"]["sha256"]) for f in items}),
        demo=key[3][0] == "demo", rows=list(rows.values()),
    )
    _rank(group)
    _unique_labels(group)
    return group


def _rank(group: Group) -> None:
    def order(row: Row) -> tuple[bool, float, str]:
        mean = row.stat(group.primary).mean
        if math.isnan(mean):
            return (True, 0.0, row.label)
        return (False, -mean if group.higher_is_better else mean, row.label)

    group.rows.sort(key=order)
    for i, row in enumerate(group.rows, 1):
        row.rank = i


def _unique_labels(group: Group) -> None:
    """Rows that would read alike get their suite, else their hardware, else their run's name."""

    def qualify(describe: Callable[[Row], str], template: str) -> None:
        by_label: dict[str, list[Row]] = {}
        for row in group.rows:
            by_label.setdefault(row.label, []).append(row)
        for label, rows in by_label.items():
            names = [describe(r) for r in rows]
            if len(rows) > 1 and all(names) and len(set(names)) == len(names):
                for row, name in zip(rows, names):
                    row.label = template.format(label=label, extra=name)

    qualify(_suite_of, "{extra}/{label}")
    qualify(Row.hardware, "{label} [{extra}]")
    qualify(lambda r: run_name(r.found[0].path), "{label} ({extra})")
    labels = [r.label for r in group.rows]
    seen: dict[str, int] = {}
    for row in group.rows:
        if labels.count(row.label) > 1:
            seen[row.label] = seen.get(row.label, 0) + 1
            row.label = f"{row.label} ({seen[row.label]})"


def _suite_of(row: Row) -> str:
    bench = row.records[0].get("bench")
    return str(bench.get("suite") or "") if isinstance(bench, dict) else ""


def run_name(path: Path) -> str:
    """A record's name: its run directory for a metrics.json, else the file's stem."""
    return path.parent.name if path.name == "metrics.json" else path.stem


def _mark_incomparable(groups: list[Group]) -> None:
    """Groups on the same task and data that differ in version, metric or signature."""
    for a in groups:
        for b in groups:
            if a is b or (a.task, a.split, a.key[3]) != (b.task, b.split, b.key[3]):
                continue
            a.not_comparable.append(f"not ranked with {b.ident} (same data): {'; '.join(differences(a, b))}")


def differences(a: Group, b: Group) -> list[str]:
    found = []
    if a.task_version != b.task_version:
        found.append(f"task version {a.task_version} vs {b.task_version}")
    if a.primary != b.primary:
        found.append(f"primary metric {a.primary} vs {b.primary}")
    for metric in dict.fromkeys([*a.metrics, *b.metrics]):
        if metric not in a.signatures or metric not in b.signatures:
            found.append(f"metric {metric} only in {a.ident if metric in a.signatures else b.ident}")
            continue
        sa, sb = a.signatures[metric], b.signatures[metric]
        if sa != sb:
            fa, fb = sa.split("|"), sb.split("|")
            only_a = [f for f in fa if f not in fb]
            only_b = [f for f in fb if f not in fa]
            found.append(f"{metric} signature {'|'.join(only_a) or '(none)'} vs {'|'.join(only_b) or '(none)'}")
        elif a.metric_higher(metric) != b.metric_higher(metric):
            found.append(f"{metric} higher_is_better differs")
    return found or ["records differ"]


def relative(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
