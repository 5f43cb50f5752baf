"""Confidence in a score: bootstrap intervals over test examples, paired tests between runs.

A metric opts in through ``Metric.bootstrap``, an object with two methods:

* ``interval(predictions, references, resamples)``: a 95% interval of the metric, from
  resampling the test examples with replacement (``metrics.json`` carries it);
* ``paired(predictions_a, predictions_b, references, resamples)``: whether two systems
  scored on the same examples differ by more than chance (``platform compare``).

Most metrics give ``ExampleBootstrap``: per-example statistics whose column sums
determine the corpus-level score (correct and total for accuracy, n-gram counts for
BLEU, NLL and characters for bits per character). A resample is then a vector of
example counts, and all resamples are one matrix product: nothing is re-tokenised or
re-scored per resample. A metric whose library has its own bootstrap (sacreBLEU) wraps
that instead, so its interval is the one the library's users know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tasklight.errors import UserError

if TYPE_CHECKING:  # numpy loads on first use: plugins build their metrics at import time
    import numpy as np

# sacreBLEU's default seed (its SACREBLEU_SEED): every metric resamples from the same one.
SEED = 12345
LEVEL = 0.95
RESAMPLES = 1000
_CHUNK = 100  # resamples per matrix product: keeps a (chunk, examples) count matrix small


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a metric over the test examples."""

    low: float
    high: float
    resamples: int
    method: str  # how it was computed, e.g. "percentile bootstrap over examples"
    level: float = LEVEL
    seed: int | str = SEED

    def to_json(self) -> dict[str, Any]:
        return {
            "low": self.low, "high": self.high, "level": self.level, "resamples": self.resamples,
            "seed": self.seed, "method": self.method,
        }


@dataclass(frozen=True)
class Paired:
    """A paired significance test of system B against system A on the same examples."""

    a: float
    b: float
    p_value: float
    resamples: int
    method: str
    identical: bool = False  # the two systems' predictions are the same, example for example

    @property
    def difference(self) -> float:
        return self.b - self.a


class Bootstrap(Protocol):
    """What ``Metric.bootstrap`` gives: an interval for one system, a paired test for two."""

    def interval(self, predictions: Sequence[Any], references: Sequence[Any], resamples: int) -> Interval | None: ...

    def paired(
        self, predictions_a: Sequence[Any], predictions_b: Sequence[Any], references: Sequence[Any], resamples: int
    ) -> Paired: ...


@dataclass(frozen=True)
class Statistics:
    """Per-example sufficient statistics of a corpus-level metric.

    ``rows`` is (examples, K); the metric of any multiset of examples is ``reduce`` of
    the sum of their rows. ``reduce`` maps (..., K) sums to (...) values, vectorised.
    """

    rows: np.ndarray
    reduce: Callable[[np.ndarray], np.ndarray]

    def value(self) -> float:
        """The metric of all the examples, each once: equals the reported score."""
        return float(self.reduce(self.rows.sum(axis=0)))


def resample_sums(rows: np.ndarray, resamples: int, seed: int = SEED) -> np.ndarray:
    """(resamples, K): the column sums of ``resamples`` draws of len(rows) rows with replacement."""
    import numpy as np

    n = rows.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty((resamples, rows.shape[1]), dtype=np.float64)
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        draws = rng.integers(0, n, size=(size, n))
        # Row b of ``counts`` says how often each example was drawn in resample b.
        counts = np.bincount((draws + n * np.arange(size)[:, None]).ravel(), minlength=size * n).reshape(size, n)
        sums[start : start + size] = counts @ rows
    return sums


@dataclass(frozen=True)
class ExampleBootstrap:
    """Percentile bootstrap over examples, from a metric's per-example statistics.

    ``statistics(predictions, references)`` gives the ``Statistics`` of a system. The
    paired test draws the same resamples for both systems and asks how often the
    resampled difference, shifted to a null of no difference, is at least as far from
    zero as the observed one (two-sided; Koehn 2004, Berg-Kirkpatrick et al. 2012).
    """

    statistics: Callable[[Sequence[Any], Sequence[Any]], Statistics]
    unit: str = "examples"  # what a row of the statistics is, for the method's description

    def interval(self, predictions: Sequence[Any], references: Sequence[Any], resamples: int) -> Interval | None:
        import numpy as np

        stats = self.statistics(predictions, references)
        if not len(stats.rows):
            return None  # nothing scored, nothing to resample
        values = stats.reduce(resample_sums(stats.rows, resamples))
        tail = 100 * (1 - LEVEL) / 2
        low, high = np.nanpercentile(values, [tail, 100 - tail])
        return Interval(float(low), float(high), resamples, f"percentile bootstrap over {self.unit}")

    def paired(
        self, predictions_a: Sequence[Any], predictions_b: Sequence[Any], references: Sequence[Any], resamples: int
    ) -> Paired:
        import numpy as np

        a, b = self.statistics(predictions_a, references), self.statistics(predictions_b, references)
        value_a, value_b = a.value(), b.value()
        method = f"paired bootstrap over {self.unit} (two-sided)"
        if len(a.rows) != len(b.rows):  # e.g. texts cut into blocks by two different tokenizers
            raise UserError(
                f"the two systems are scored over different {self.unit} ({len(a.rows)} and {len(b.rows)}): "
                "a paired test needs the same units on both sides"
            )
        if np.array_equal(a.rows, b.rows):  # no resample can tell them apart
            return Paired(value_a, value_b, 1.0, resamples, method, identical=True)
        # One set of draws for both systems: the same seed draws the same resamples.
        deltas = b.reduce(resample_sums(b.rows, resamples)) - a.reduce(resample_sums(a.rows, resamples))
        observed = value_b - value_a
        # A tie counts as extreme (the conservative side); the tolerance keeps float rounding from breaking ties.
        extreme = int(np.sum(np.abs(deltas - observed) >= abs(observed) - 1e-9 * max(1.0, abs(observed))))
        return Paired(value_a, value_b, (extreme + 1) / (resamples + 1), resamples, method)


def mean_statistics(values: Sequence[float], scale: float = 100.0) -> Statistics:
    """Statistics of a metric that is the mean of per-example values (times ``scale``)."""
    import numpy as np

    rows = np.column_stack([np.asarray(values, dtype=np.float64), np.ones(len(values))]) if len(values) else np.zeros((0, 2))
    return Statistics(rows, lambda s: scale * s[..., 0] / s[..., 1])
