"""sacreBLEU's BLEU and chrF on detokenized text, with their signature strings; their
confidence intervals and paired tests are sacreBLEU's own bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tasklight


def _references(references: Sequence[Any]) -> list[list[str]]:
    """sacreBLEU wants one stream per reference: [[ref1 of each], [ref2 of each], ...]."""
    multi = [r if isinstance(r, (list, tuple)) else [r] for r in references]
    width = max((len(r) for r in multi), default=1)
    # Pad short reference lists with None, which sacreBLEU skips.
    return [[r[i] if i < len(r) else None for r in multi] for i in range(width)]  # type: ignore[misc]


def _bleu() -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU()


def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


def bleu(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.MetricValue:
    metric = _bleu()
    result = metric.corpus_score(list(predictions), _references(references))
    return tasklight.MetricValue(
        result.score, str(metric.get_signature()),
        {"bp": round(result.bp, 4), "precisions": [round(p, 2) for p in result.precisions]},
    )


def chrf(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.MetricValue:
    metric = _chrf()
    result = metric.corpus_score(list(predictions), _references(references))
    return tasklight.MetricValue(result.score, str(metric.get_signature()))


@dataclass(frozen=True)
class SacreBootstrap:
    """sacreBLEU's bootstrap: ``corpus_score(n_bootstrap=...)`` for the interval (its mean of
    the resampled scores ± half the width of their central 95%), ``PairedTest`` with
    ``test_type="bs"`` for two systems. The seed is sacreBLEU's (``SACREBLEU_SEED``, 12345)."""

    make: Callable[[], Any]

    def interval(self, predictions: Sequence[str], references: Sequence[Any], resamples: int) -> tasklight.Interval | None:
        if len(predictions) < 2 or resamples < 2:
            return None
        metric = self.make()  # a fresh object: the reported metric's signature stays without "bs"
        score = metric.corpus_score(list(predictions), _references(references), n_bootstrap=resamples)
        mean, half = float(score._mean), float(score._ci)  # set by sacreBLEU's Score.estimate_ci
        return tasklight.Interval(
            mean - half, mean + half, resamples, f"sacreBLEU bootstrap: mean {mean:.4f} ± {half:.4f}", seed=str(metric.seed),
        )

    def paired(
        self, predictions_a: Sequence[str], predictions_b: Sequence[str], references: Sequence[Any], resamples: int
    ) -> tasklight.Paired:
        from sacrebleu.significance import PairedTest

        method = "sacreBLEU paired bootstrap (PairedTest, test_type=bs)"
        refs = _references(references)
        if list(predictions_a) == list(predictions_b):
            # sacreBLEU would give p = 1/(n+1) here: it counts only resampled differences
            # strictly above the observed one, and identical systems differ by exactly zero.
            value = float(self.make().corpus_score(list(predictions_a), refs).score)
            return tasklight.Paired(value, value, 1.0, resamples, method, identical=True)
        test = PairedTest(
            [("a", list(predictions_a)), ("b", list(predictions_b))], {"metric": self.make()}, refs,
            test_type="bs", n_samples=resamples,
        )
        _, scores = test()
        result_a, result_b = next(v for k, v in scores.items() if k != "System")
        return tasklight.Paired(float(result_a.score), float(result_b.score), float(result_b.p_value), resamples, method)


METRICS = (
    tasklight.Metric("bleu", True, bleu, "corpus BLEU (sacreBLEU, 13a tokenization)", "sacrebleu", SacreBootstrap(_bleu)),
    tasklight.Metric("chrf", True, chrf, "corpus chrF (sacreBLEU)", "sacrebleu", SacreBootstrap(_chrf)),
)
