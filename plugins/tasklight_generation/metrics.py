"""Bits per character and perplexity from summed negative log-likelihoods.

Each prediction is one scored text's ``{"nll": nats, "tokens": n, ...}``; its
reference is the text itself. Totals are taken over the whole set before
dividing (a corpus-level figure, not a mean of per-text ratios):

    bits_per_char = total NLL / (ln 2 x total characters of the scored text)
    perplexity    = exp(total NLL / total tokens)

Bits per character compare across tokenizers; perplexity does not (it is per
token), so its signature names the tokenizer's vocabulary size.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import tasklight

VERSION = "1"


def _totals(predictions: Sequence[Any], references: Sequence[Any]) -> tuple[float, int, int]:
    nll = tokens = chars = 0
    for prediction, reference in zip(predictions, references, strict=True):
        if not isinstance(prediction, dict) or "nll" not in prediction:
            raise TypeError(f"a language-model score needs {{'nll', 'tokens'}} predictions, got {prediction!r:.80}")
        nll += float(prediction["nll"])
        tokens += int(prediction["tokens"])
        chars += len(reference or "")
    return nll, tokens, chars


def _per_text(predictions: Sequence[Any], references: Sequence[Any], count: str) -> Any:
    """Per scored text, or per block where the prediction lists its blocks: [NLL in nats,
    characters or tokens]; the column totals give the metric."""
    import numpy as np

    rows = []
    for prediction, reference in zip(predictions, references, strict=True):
        _totals([prediction], [reference])  # the same checks as the score
        if prediction.get("blocks"):  # a long text resamples by its blocks, not as one unit
            rows += [[float(nll), chars if count == "chars" else tokens] for nll, tokens, chars in prediction["blocks"]]
        else:
            rows.append([float(prediction["nll"]), len(reference or "") if count == "chars" else int(prediction["tokens"])])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def bits_per_char_statistics(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.Statistics:
    import numpy as np

    return tasklight.Statistics(_per_text(predictions, references, "chars"), lambda s: s[..., 0] / (np.log(2) * s[..., 1]))


def perplexity_statistics(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.Statistics:
    import numpy as np

    return tasklight.Statistics(_per_text(predictions, references, "tokens"), lambda s: np.exp(s[..., 0] / s[..., 1]))


def _setting(predictions: Sequence[Any], key: str) -> str:
    found = {p.get(key) for p in predictions if isinstance(p, dict) and p.get(key) is not None}
    return "/".join(str(v) for v in sorted(found)) if found else "?"


def unigram_bits_per_char(texts: Sequence[str]) -> float:
    """The entropy of the texts' own character frequencies: a unigram model fitted to them."""
    counts = Counter(c for text in texts for c in text)
    total = sum(counts.values())
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def bits_per_char(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    nll, tokens, chars = _totals(predictions, references)
    value = nll / (math.log(2) * chars) if chars else math.nan
    signature = (
        f"bpc|chars:unicode|context:{_setting(predictions, 'block_size')}|eos:scored|version:{VERSION}"
    )
    details = {
        "nll_nats": round(nll, 4),
        "tokens": tokens,
        "chars": chars,
        "chars_per_token": round(chars / tokens, 4) if tokens else None,
        # What a model that knows only the character frequencies of this very text would score.
        "unigram_bits_per_char": round(unigram_bits_per_char([r or "" for r in references]), 4),
    }
    return tasklight.MetricValue(value, signature, details)


def perplexity(predictions: Sequence[Any], references: Sequence[Any]) -> tasklight.MetricValue:
    nll, tokens, chars = _totals(predictions, references)
    value = math.exp(nll / tokens) if tokens else math.nan
    signature = (
        f"ppl|tokenizer:vocab-{_setting(predictions, 'vocab_size')}|context:{_setting(predictions, 'block_size')}"
        f"|eos:counted|version:{VERSION}"
    )
    return tasklight.MetricValue(value, signature, {"nll_nats": round(nll, 4), "tokens": tokens})


METRICS = (
    tasklight.Metric(
        "bits_per_char", False, bits_per_char,
        "total NLL / (ln 2 x characters of the scored text): compares across tokenizers", "tasklight",
        tasklight.ExampleBootstrap(bits_per_char_statistics, "texts or their blocks"),
    ),
    tasklight.Metric(
        "perplexity", False, perplexity,
        "exp(total NLL / tokens): per token, so it depends on the tokenizer", "tasklight",
        tasklight.ExampleBootstrap(perplexity_statistics, "texts or their blocks"),
    ),
)
