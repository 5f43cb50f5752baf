"""Accuracy and macro-F1 over sentiment labels (x100), registered by ``register_metrics``.

Metric names are global across plugins, so they carry the task's prefix.
Pairs whose reference is None (nothing to score against) are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tasklight


def label_of(prediction: Any) -> str:
    return prediction if isinstance(prediction, str) else str(prediction.label)


def _pairs(predictions: Sequence[Any], references: Sequence[Any]) -> list[tuple[str, str]]:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    return [(label_of(p), str(r)) for p, r in zip(predictions, references) if r is not None]


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    pairs = _pairs(predictions, references)
    correct = sum(p == r for p, r in pairs)
    value = 100.0 * correct / len(pairs) if pairs else 0.0
    return tasklight.MetricValue(value, "accuracy|exact label match|x100", {"correct": correct, "count": len(pairs)})


def macro_f1(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    """The unweighted mean of per-label F1 over the labels in references or predictions
    (scikit-learn's ``f1_score(average="macro", zero_division=0)``)."""
    pairs = _pairs(predictions, references)
    labels = sorted({label for pair in pairs for label in pair})
    per_label = {}
    for label in labels:
        tp = sum(p == label and r == label for p, r in pairs)
        predicted = sum(p == label for p, _ in pairs)
        actual = sum(r == label for _, r in pairs)
        per_label[label] = 2 * tp / (predicted + actual) if predicted + actual else 0.0
    value = 100.0 * sum(per_label.values()) / len(per_label) if per_label else 0.0
    return tasklight.MetricValue(value, "macro_f1|labels:references+predictions|zero_division:0|x100", {"f1": per_label})


METRICS = (
    tasklight.Metric("sentiment_accuracy", True, accuracy, "share of correct sentiment labels (x100)", "tasklight-sentiment"),
    tasklight.Metric("sentiment_macro_f1", True, macro_f1, "macro-F1 over sentiment labels (x100)", "tasklight-sentiment"),
)
