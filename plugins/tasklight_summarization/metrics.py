"""ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum with Google's ``rouge-score``, stemmer on.

Every value is the mean over examples of the per-example F-measure, times 100.

* Tokenization is rouge-score's default: lowercase, every run of characters other
  than ``a-z0-9`` is a separator; the Porter stemmer is on (``use_stemmer=True``).
* Several references per example (DialogSum's test set has three): each reference is
  scored and the one with the highest F-measure counts, per ROUGE type, exactly as
  ``RougeScorer.score_multi`` does (and Hugging Face ``evaluate``'s rouge). The mean
  over references is recorded too, in ``details["mean_over_references"]``, for
  papers that average instead.
* ROUGE-Lsum is the summary-level LCS over sentences, and rouge-score takes sentences
  to be the lines of the text. Both prediction and references are therefore split
  into sentences first (``split_sentences``): existing line breaks are kept, and a
  line is also cut after ``.``, ``!`` or ``?`` (plus any closing quotes or brackets)
  followed by whitespace, except after a title (Mr., Mrs., Ms., Dr., Prof., St.,
  Jr., Sr.), a single-letter initial, or a word with an inner dot (a.m., e.g.).
  rouge-score's own ``split_summaries`` would need NLTK's punkt data, which is not
  available offline. The split changes ROUGE-Lsum only; the other types ignore line
  breaks.

Each value's signature records all of this, so scores computed differently never
look alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import tasklight

ROUGE_TYPES = ("rougeLsum", "rouge1", "rouge2", "rougeL")  # the primary first

_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+")
_LAST_WORD = re.compile(r"(\S+)$")
_TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr"})
SPLIT_SIGNATURE = "split:lines+regex[.!?]"


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see the module docstring for the rule)."""
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        for match in _BOUNDARY.finditer(line):
            word = _LAST_WORD.search(line[start : match.start()])
            token = word.group(1).lstrip("\"'([") if word else ""
            if token.lower() in _TITLES or (len(token) == 1 and token.isalpha()) or "." in token:
                continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def _reference_lists(references: Sequence[Any], n: int) -> list[list[str]]:
    if len(references) != n:
        raise ValueError(f"{n} predictions but {len(references)} references")
    lists = []
    for index, reference in enumerate(references):
        refs = list(reference) if isinstance(reference, (list, tuple)) else [reference]
        if not refs or not all(isinstance(r, str) for r in refs):
            raise tasklight.UserError(f"example {index + 1}: ROUGE needs one or more reference summaries, got {reference!r}")
        lists.append(refs)
    return lists


def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rouge-score")
    except PackageNotFoundError:
        return "unknown"


def _scored(predictions: Sequence[str], refs: list[list[str]], types: Sequence[str]) -> Iterator[list[Any]]:
    """Per example, rouge-score's scores of the prediction against each of its references."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=True)
    for prediction, targets in zip(predictions, refs):
        pred = "\n".join(split_sentences(prediction or ""))
        yield [scorer.score("\n".join(split_sentences(t)), pred) for t in targets]


def _best(scores: list[Any], kind: str) -> Any:
    return max((s[kind] for s in scores), key=lambda s: s.fmeasure)  # the first best, as score_multi


def rouge(predictions: Sequence[str], references: Sequence[Any], types: Sequence[str] = ROUGE_TYPES) -> dict[str, tasklight.MetricValue]:
    """Each of ``types`` over the corpus; ``references[i]`` is a string or a list of strings."""
    refs = _reference_lists(references, len(predictions))
    best = {t: [0.0, 0.0, 0.0] for t in types}  # summed F, P, R of the best reference
    mean_f = dict.fromkeys(types, 0.0)  # summed mean-over-references F
    for scores in _scored(predictions, refs, types):
        for t in types:
            top = _best(scores, t)
            best[t][0] += top.fmeasure
            best[t][1] += top.precision
            best[t][2] += top.recall
            mean_f[t] += sum(s[t].fmeasure for s in scores) / len(scores)
    n = max(len(predictions), 1)
    counts = sorted({len(r) for r in refs})
    nrefs = "0" if not counts else str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    version = _library_version()
    results = {}
    for t in types:
        parts = [f"rouge-score:{version}", t, "stem:porter", "tok:default", "score:f1x100", "agg:mean", f"nrefs:{nrefs}"]
        if counts and counts[-1] > 1:
            parts.append("multiref:max-f")
        if t == "rougeLsum":
            parts.append(SPLIT_SIGNATURE)
        details: dict[str, Any] = {
            "precision": round(100 * best[t][1] / n, 4),
            "recall": round(100 * best[t][2] / n, 4),
            "examples": len(predictions),
        }
        if counts and counts[-1] > 1:
            details["multi_reference"] = "each reference scored; the highest F-measure counts (RougeScorer.score_multi)"
            details["mean_over_references"] = round(100 * mean_f[t] / n, 4)
        if t == "rougeLsum":
            details["sentence_split"] = (
                "line breaks, then after . ! ? followed by whitespace (not after Mr. Mrs. Ms. Dr. Prof. St. Jr. Sr., "
                "single-letter initials or dotted abbreviations such as a.m.)"
            )
        results[t] = tasklight.MetricValue(100 * best[t][0] / n, "|".join(parts), details)
    return results


def _statistics(kind: str) -> Any:
    def statistics(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.Statistics:
        """Per example: [best F-measure, 1]; the mean x 100 is ``rouge``'s value."""
        refs = _reference_lists(references, len(predictions))
        return tasklight.mean_statistics([_best(scores, kind).fmeasure for scores in _scored(predictions, refs, (kind,))])

    return statistics


def _one(kind: str) -> Any:
    def compute(predictions: Sequence[str], references: Sequence[Any]) -> tasklight.MetricValue:
        return rouge(predictions, references, (kind,))[kind]

    compute.__name__ = kind
    return compute


_DESCRIPTIONS = {
    "rougeLsum": "ROUGE-Lsum F1 x100 (summary-level LCS over sentences split as documented; rouge-score, Porter stemmer)",
    "rouge1": "ROUGE-1 F1 x100 (unigram overlap; rouge-score, Porter stemmer)",
    "rouge2": "ROUGE-2 F1 x100 (bigram overlap; rouge-score, Porter stemmer)",
    "rougeL": "ROUGE-L F1 x100 (longest common subsequence over the whole text; rouge-score, Porter stemmer)",
}

METRICS = tuple(
    tasklight.Metric(t, True, _one(t), _DESCRIPTIONS[t], "rouge-score", tasklight.ExampleBootstrap(_statistics(t)))
    for t in ROUGE_TYPES
)
