"""The results record: one per run, the leaderboard's unit (metrics.json).

Modelled on lm-evaluation-harness's results, plus what it lacks: each metric's
signature, so that results computed differently are never compared silently.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as metadata
import json
import os
import platform as pyplatform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from tasklight.confidence import Interval
from tasklight.task import Metric, MetricValue

SCHEMA_VERSION = 1
REQUIRED = ("schema_version", "task", "dataset", "metrics", "primary_metric", "model", "training", "hardware", "versions", "date")


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def hardware(accelerator: str, devices: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "accelerator": accelerator,
        "devices": devices,
        "threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    if accelerator == "gpu" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return pyplatform.processor() or pyplatform.machine()


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def metric_entries(
    scores: Mapping[str, MetricValue], metrics: Mapping[str, Metric], intervals: Mapping[str, Interval] | None = None
) -> dict[str, Any]:
    """Each metric's record entry; ``interval``: its 95% bootstrap interval over the test examples."""
    intervals = intervals or {}
    return {
        name: {
            "value": value.value,
            "higher_is_better": metrics[name].higher_is_better,
            "signature": value.signature,
            **({"details": value.details} if value.details else {}),
            **({"interval": intervals[name].to_json()} if name in intervals else {}),
        }
        for name, value in scores.items()
    }


def library_versions(metrics: Mapping[str, Metric], plugins: Mapping[str, str]) -> dict[str, Any]:
    libs = sorted({m.library for m in metrics.values() if m.library})
    return {
        "tasklight": version_of("tasklight"),
        "plugins": dict(plugins),
        "torch": torch.__version__,
        "pytorch_lightning": version_of("pytorch-lightning"),
        "tokenizers": version_of("tokenizers"),
        "metric_libraries": {lib: version_of(lib) for lib in libs},
        "python": pyplatform.python_version(),
    }


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def validate_record(record: Any) -> list[str]:
    """Problems with a results record (empty when it is well formed)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing field {f!r}" for f in REQUIRED if f not in record]
    if problems:
        return problems
    if record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {record['schema_version']!r} is not {SCHEMA_VERSION}")
    task = record["task"]
    if not isinstance(task, dict) or not {"name", "version"} <= set(task):
        problems.append("task must have name and version")
    metrics = record["metrics"]
    if not isinstance(metrics, dict) or not metrics:
        problems.append("metrics must be a non-empty object")
    else:
        for name, entry in metrics.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), (int, float)) or not isinstance(entry.get("higher_is_better"), bool):
                problems.append(f"metric {name!r} needs a numeric value and a boolean higher_is_better")
        if record["primary_metric"] not in metrics:
            problems.append(f"primary_metric {record['primary_metric']!r} is not among the metrics")
    return problems


def write_json_atomic(path: Path, data: Any) -> None:
    """Write then rename, so a kill never leaves a truncated file behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
