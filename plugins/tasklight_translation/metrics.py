"""sacreBLEU's BLEU and chrF on detokenized text, with their signature strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tasklight


def _references(references: Sequence[Any]) -> list[list[str]]:
    """sacreBLEU wants one stream per reference: [[ref1 of each], [ref2 of each], ...]."""
    multi = [r if isinstance(r, (list, tuple)) else [r] for r in references]
    width = max((len(r) for r in multi), default=1)
    # Pad short reference lists with None, which sacreBLEU skips.
    return [[r[i] if i < len(r) else None for r in multi] for i in range(width)]  # type: ignore[misc]


def bleu(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.MetricValue:
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    result = metric.corpus_score(list(predictions), _references(references))
    return tasklight.MetricValue(
        result.score, str(metric.get_signature()),
        {"bp": round(result.bp, 4), "precisions": [round(p, 2) for p in result.precisions]},
    )


def chrf(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.MetricValue:
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    result = metric.corpus_score(list(predictions), _references(references))
    return tasklight.MetricValue(result.score, str(metric.get_signature()))


METRICS = (
    tasklight.Metric("bleu", True, bleu, "corpus BLEU (sacreBLEU, 13a tokenization)", "sacrebleu"),
    tasklight.Metric("chrf", True, chrf, "corpus chrF (sacreBLEU)", "sacrebleu"),
)
