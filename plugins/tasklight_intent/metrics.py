"""Accuracy and macro-F1 over predicted labels (both x100).

Predictions may be plain label strings or objects with a ``label`` (the intent
task's ``Prediction``), so other classification tasks can use these metrics too.
Pairs whose reference is None (nothing to score against) are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tasklight


def label_of(prediction: Any) -> str:
    if isinstance(prediction, str):
        return prediction
    if isinstance(prediction, dict):
        return str(prediction["label"])
    return str(prediction.label)


def _pairs(predictions: Sequence[Any], references: Sequence[Any]) -> list[tuple[str, str]]:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    return [(label_of(p), str(r)) for p, r in zip(predictions, references) if r is not None]


def accuracy_statistics(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.Statistics:
    """Per example: [correct, 1]; accuracy = 100 x correct / count."""
    return tasklight.mean_statistics([float(p == r) for p, r in _pairs(predictions, references)])


def macro_f1_statistics(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.Statistics:
    """Per example: one-hot true-positive, false-positive and false-negative counts per label.
    A resample scores only the labels that occur in it, as ``macro_f1`` does."""
    import numpy as np

    pairs = _pairs(predictions, references)
    labels = sorted({label for pair in pairs for label in pair})
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    rows = np.zeros((len(pairs), 3 * k))  # columns: tp per label, fp per label, fn per label
    for i, (p, r) in enumerate(pairs):
        if p == r:
            rows[i, index[r]] = 1
        else:
            rows[i, k + index[p]] = 1
            rows[i, 2 * k + index[r]] = 1

    def reduce(sums: np.ndarray) -> np.ndarray:
        tp, fp, fn = sums[..., :k], sums[..., k : 2 * k], sums[..., 2 * k :]
        seen = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, seen, out=np.zeros_like(tp), where=seen > 0)
        present = (seen > 0).sum(axis=-1)
        return 100.0 * f1.sum(axis=-1) / np.maximum(present, 1)

    return tasklight.Statistics(rows, reduce)


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    pairs = _pairs(predictions, references)
    correct = sum(p == r for p, r in pairs)
    value = 100.0 * correct / len(pairs) if pairs else 0.0
    return tasklight.MetricValue(value, "accuracy|exact label match|x100", {"correct": correct, "count": len(pairs)})


def macro_f1(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    """The unweighted mean of per-label F1 over every label that occurs in the references
    or the predictions (scikit-learn's ``f1_score(average="macro")`` convention): a label
    that is only ever predicted scores 0, and so does a reference label never predicted."""
    import torch
    import torchmetrics
    from torchmetrics.functional.classification import multiclass_f1_score

    pairs = _pairs(predictions, references)
    labels = sorted({label for pair in pairs for label in pair})
    signature = f"macro_f1|labels:references+predictions|zero_division:0|torchmetrics {torchmetrics.__version__}|x100"
    if not pairs:
        return tasklight.MetricValue(0.0, signature, {"labels": 0})
    index = {label: i for i, label in enumerate(labels)}
    preds = torch.tensor([index[p] for p, _ in pairs])
    target = torch.tensor([index[r] for _, r in pairs])
    if len(labels) == 1:  # torchmetrics needs two classes; one label everywhere is a perfect score
        return tasklight.MetricValue(100.0, signature, {"labels": 1})
    value = multiclass_f1_score(preds, target, num_classes=len(labels), average="macro")
    return tasklight.MetricValue(100.0 * float(value), signature, {"labels": len(labels)})


METRICS = (
    tasklight.Metric(
        "accuracy", True, accuracy, "share of examples whose predicted label is the reference (x100)", "tasklight",
        tasklight.ExampleBootstrap(accuracy_statistics),
    ),
    tasklight.Metric(
        "macro_f1", True, macro_f1,
        "unweighted mean of per-label F1 over reference and predicted labels (x100, torchmetrics)", "torchmetrics",
        tasklight.ExampleBootstrap(macro_f1_statistics),
    ),
)
