"""SQuAD exact match and F1, as the official evaluation script computes them.

The normalisation and the token F1 follow ``evaluate-v2.0.py`` (the SQuAD 2.0
script, which agrees with v1.1 on answerable questions): lowercase, drop
punctuation, drop the articles a/an/the, collapse whitespace; each prediction
takes the best score over its reference answers. An unanswerable question has the
single reference ``""`` and only an empty prediction scores on it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import tasklight

SIGNATURE = (
    "squad-official|norm:lowercase+no-punctuation+no-articles(a,an,the)+whitespace"
    "|max over references|unanswerable:empty prediction|x100"
)

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, punctuation, articles, whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    pred, gold = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not gold:  # an empty side only matches an empty side
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def _golds(reference: Any) -> list[str]:
    """The reference answers; answers that normalise to nothing count as 'no answer'."""
    answers = [reference] if isinstance(reference, str) else list(reference)
    kept = [a for a in answers if normalize_answer(a)]
    return kept or [""]


def _per_example(per_pair: Any, predictions: Sequence[Any], references: Sequence[Any]) -> tuple[list[float], list[float]]:
    """The best score of each scored prediction: (answerable questions, unanswerable ones)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    has: list[float] = []
    no: list[float] = []
    for prediction, reference in zip(predictions, references):
        if reference is None:
            continue
        text = _answer_text(prediction)
        golds = _golds(reference)
        best = max(per_pair(text, gold) for gold in golds)
        (no if golds == [""] else has).append(best)
    return has, no


def _mean_over(
    per_pair: Any, predictions: Sequence[Any], references: Sequence[Any]
) -> tasklight.MetricValue:
    has, no = _per_example(per_pair, predictions, references)
    every = has + no

    def pct(values: list[float]) -> float:
        return 100.0 * sum(values) / len(values) if values else 0.0

    details = {"total": len(every), "has_answer": len(has), "no_answer": len(no)}
    if has and no:
        details.update({"has_answer_score": round(pct(has), 4), "no_answer_score": round(pct(no), 4)})
    return tasklight.MetricValue(pct(every), SIGNATURE, details)


def _answer_text(prediction: Any) -> str:
    """A predicted answer string; the QA task's span objects carry it as ``.text``."""
    if prediction is None:
        return ""
    if isinstance(prediction, str):
        return prediction
    if isinstance(prediction, dict):
        return str(prediction.get("answer") or "")
    return str(getattr(prediction, "text", "") or "")


def f1(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    return _mean_over(token_f1, predictions, references)


def em(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    return _mean_over(exact_match, predictions, references)


def _statistics(per_pair: Any) -> Any:
    def statistics(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.Statistics:
        """Per question: [best score, 1], in the order ``_mean_over`` sums them."""
        has, no = _per_example(per_pair, predictions, references)
        return tasklight.mean_statistics(has + no)

    return statistics


METRICS = (
    tasklight.Metric(
        "f1", True, f1,
        "SQuAD token F1 x100 (official normalisation, max over reference answers, unanswerable = empty)",
        "tasklight",
        tasklight.ExampleBootstrap(_statistics(token_f1)),
    ),
    tasklight.Metric(
        "exact_match", True, em,
        "SQuAD exact match x100 (official normalisation, max over reference answers, unanswerable = empty)",
        "tasklight",
        tasklight.ExampleBootstrap(_statistics(exact_match)),
    ),
)
