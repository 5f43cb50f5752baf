"""``platform compare``: do two runs on the same test set differ by more than chance?

Each run directory holds its results record (metrics.json: the task, the test set's
hash) and its test predictions with references (predictions.jsonl). Both runs are
scored again from those files with the metric's paired test (``Metric.bootstrap``):
sacreBLEU's paired bootstrap for BLEU and chrF, a paired bootstrap over examples for
the others. Runs of different tasks or on different test sets are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasklight.errors import UserError
from tasklight.formats import read_jsonl
from tasklight.plugins import Platform
from tasklight.task import Task

ALPHA = 0.05


@dataclass
class RunOutput:
    """What a run directory says about its test set: the record and one row per example."""

    path: Path
    record: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def task(self) -> str:
        return str(self.record["task"]["name"])


def read_run(path: Path) -> RunOutput:
    if not path.is_dir():
        raise UserError(f"{path}: no such run directory")
    metrics = path / "metrics.json"
    if not metrics.is_file():
        raise UserError(f"{path}: no metrics.json (a run writes it once its test split is scored)")
    try:
        record = json.loads(metrics.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{metrics}: not a readable results record ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("task"), dict) or "name" not in record["task"]:
        raise UserError(f"{metrics}: not a results record (no task name)")
    predictions = path / "predictions.jsonl"
    if not predictions.is_file():
        raise UserError(f"{path}: no predictions.jsonl (the run's test predictions are needed)")
    rows = [row for _, row in read_jsonl(predictions)]  # errors name the file and line
    return RunOutput(path, record, rows)


def check_same_test_set(a: RunOutput, b: RunOutput) -> None:
    """Refuse two runs whose predictions are not over the same examples, in the same order."""
    data_a, data_b = a.record.get("dataset") or {}, b.record.get("dataset") or {}
    hash_a, hash_b = data_a.get("sha256"), data_b.get("sha256")
    if hash_a and hash_b and hash_a != hash_b:
        raise UserError(
            f"different test sets: {a.path} was tested on {data_a.get('name')} ({data_a.get('size')} examples, "
            f"sha256 {str(hash_a)[:12]}), {b.path} on {data_b.get('name')} ({data_b.get('size')} examples, "
            f"sha256 {str(hash_b)[:12]})"
        )
    if len(a.rows) != len(b.rows):
        raise UserError(f"different test sets: {a.path} has {len(a.rows)} predictions, {b.path} has {len(b.rows)}")
    for number, (row_a, row_b) in enumerate(zip(a.rows, b.rows), 1):
        if row_a.get("id") != row_b.get("id"):
            raise UserError(
                f"different test sets: example {number} is id {row_a.get('id')!r} in {a.path}, {row_b.get('id')!r} in {b.path}"
            )
        if row_a.get("reference") != row_b.get("reference"):
            raise UserError(f"different test sets: the references of example {number} differ (predictions.jsonl line {number})")


def compare_runs(
    path_a: Path, path_b: Path, platform: Platform, *, metric: str | None = None, resamples: int = 1000, alpha: float = ALPHA
) -> dict[str, Any]:
    """The paired test of run B against run A on ``metric`` (default: the task's primary one)."""
    a, b = read_run(path_a), read_run(path_b)
    if a.task != b.task:
        raise UserError(f"runs of different tasks: {a.path} is {a.task}, {b.path} is {b.task}")
    task: Task = platform.tasks.get(a.task)
    name = metric or task.metrics[0]
    if name not in task.metrics:
        raise UserError(f"task {task.name!r} has no metric {name!r} (its metrics: {', '.join(task.metrics)})")
    check_same_test_set(a, b)
    if not a.rows:
        raise UserError(f"{a.path}/predictions.jsonl: no predictions to compare")
    scored = platform.metrics.get(name)
    bootstrap = scored.bootstrap
    if bootstrap is None:
        raise UserError(f"metric {name!r} declares no bootstrap (Metric.bootstrap), so it cannot be tested")
    references = [row.get("reference") for row in a.rows]
    predictions = [
        [task.prediction_from_json(row, f"{run.path / 'predictions.jsonl'}:{i}") for i, row in enumerate(run.rows, 1)]
        for run in (a, b)
    ]
    test = bootstrap.paired(predictions[0], predictions[1], references, resamples)
    higher = scored.higher_is_better
    return {
        "task": task.name,
        "metric": name,
        "higher_is_better": higher,
        "examples": len(references),
        "a": {"run": str(a.path), "value": test.a},
        "b": {"run": str(b.path), "value": test.b},
        "difference": test.difference,
        "p_value": test.p_value,
        "alpha": alpha,
        "significant": (not test.identical) and test.p_value < alpha,
        "identical": test.identical,
        "method": test.method,
        "resamples": test.resamples,
        "verdict": verdict(test.difference, test.p_value, test.identical, higher, alpha),
    }


def verdict(difference: float, p_value: float, identical: bool, higher_is_better: bool, alpha: float) -> str:
    if identical:
        return "No difference: the two runs score the same on every example."
    if p_value >= alpha:
        return f"Not significant (p = {p_value:.4f} >= {alpha}): the difference may be chance on this test set."
    b_better = (difference > 0) == higher_is_better
    better, worse = ("B", "A") if b_better else ("A", "B")
    return f"{better} is significantly better than {worse} (p = {p_value:.4f} < {alpha})."
