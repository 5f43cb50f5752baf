"""Bootstrap intervals and paired tests (tasklight.confidence) and the built-in metrics' statistics.

Each metric's per-example statistics must give back the very score it reports: an
interval around another number would be an interval of the wrong thing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tasklight
from tasklight.confidence import SEED, ExampleBootstrap, mean_statistics, resample_sums
from tasklight_generation import metrics as lm
from tasklight_intent import metrics as intent
from tasklight_qa import metrics as qa
from tasklight_summarization import metrics as summ
from tasklight_translation import metrics as mt


def labels(n: int, correct: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """n reference labels over five classes and predictions right on a ``correct`` share of them."""
    rng = np.random.default_rng(seed)
    refs = [f"c{i}" for i in rng.integers(0, 5, n)]
    right = rng.permutation(n) < round(correct * n)
    preds = [r if ok else f"c{(int(r[1]) + 1) % 5}" for r, ok in zip(refs, right)]
    return preds, refs


# ---- the generic bootstrap ----------------------------------------------------------------------
def test_resample_sums_draw_with_replacement_and_keep_the_total_count():
    rows = np.arange(12, dtype=float).reshape(6, 2)
    rows[:, 1] = 1
    sums = resample_sums(rows, 250)
    assert sums.shape == (250, 2)
    assert np.all(sums[:, 1] == 6)  # each resample draws exactly as many examples as there are
    assert len(np.unique(sums[:, 0])) > 10  # and they differ from one another
    assert np.array_equal(sums, resample_sums(rows, 250, SEED))  # a fixed seed: the same draws every time


def test_interval_contains_the_metric_and_narrows_with_more_examples():
    widths = []
    for n in (100, 2000):
        preds, refs = labels(n, 0.7)
        value = intent.accuracy(preds, refs).value
        interval = intent.METRICS[0].bootstrap.interval(preds, refs, 1000)
        assert value == 70.0
        assert interval.low < value < interval.high
        assert interval.resamples == 1000 and interval.level == 0.95 and interval.seed == SEED
        widths.append(interval.high - interval.low)
    # A binomial's 95% interval is about 2 x 1.96 x sqrt(0.21 / n) x 100 points wide.
    assert widths[0] == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 100) * 100, rel=0.2)
    assert widths[1] == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 2000) * 100, rel=0.2)


def test_the_same_input_gives_the_same_interval():
    preds, refs = labels(300, 0.6)
    bootstrap = intent.METRICS[0].bootstrap
    assert bootstrap.interval(preds, refs, 500) == bootstrap.interval(preds, refs, 500)


def test_nothing_scored_gives_no_interval():
    assert intent.METRICS[0].bootstrap.interval(["a"], [None], 100) is None


def test_paired_test_of_identical_predictions_is_p_1_and_no_difference():
    preds, refs = labels(200, 0.7)
    test = intent.METRICS[0].bootstrap.paired(preds, list(preds), refs, 1000)
    assert test.identical and test.p_value == 1.0 and test.difference == 0.0


def test_paired_test_finds_a_clearly_better_system_and_not_a_one_example_gap():
    weak, refs = labels(300, 0.6)
    strong = list(refs)  # every label right
    bootstrap = intent.METRICS[0].bootstrap
    test = bootstrap.paired(weak, strong, refs, 1000)
    assert (test.a, test.b) == (60.0, 100.0)
    assert test.p_value == 1 / 1001  # no resample comes near a zero difference
    one_more = list(weak)
    wrong = next(i for i, (p, r) in enumerate(zip(weak, refs)) if p != r)
    one_more[wrong] = refs[wrong]
    close = bootstrap.paired(weak, one_more, refs, 1000)
    assert close.difference == pytest.approx(100 / 300)
    assert close.p_value > 0.5 and not close.identical


def test_a_mean_metric_is_exactly_its_statistics():
    values = [0.25, 1.0, 0.0, 0.5]
    assert mean_statistics(values).value() == 43.75
    assert ExampleBootstrap(lambda p, r: mean_statistics(p)).interval(values, values, 200).low >= 0.0


# ---- each built-in metric: its statistics give back its score -----------------------------------
def test_accuracy_and_macro_f1_statistics_give_back_the_scores():
    preds, refs = labels(500, 0.55, seed=3)
    preds[:7] = ["only-predicted"] * 7  # a label never in the references counts in macro-F1
    refs[-1] = None  # and an example without a reference counts nowhere
    assert intent.accuracy_statistics(preds, refs).value() == intent.accuracy(preds, refs).value
    # torchmetrics computes in float32
    assert intent.macro_f1_statistics(preds, refs).value() == pytest.approx(intent.macro_f1(preds, refs).value, abs=1e-4)


def test_squad_statistics_give_back_exact_match_and_f1():
    preds = ["the Eiffel Tower", "Paris", "", "in 1889", "a tower", "nothing"]
    refs = [["Eiffel Tower"], ["Lyon", "Paris"], [""], ["1889"], ["the tower of iron"], None]
    for name, per_pair in (("f1", qa.token_f1), ("exact_match", qa.exact_match)):
        metric = next(m for m in qa.METRICS if m.name == name)
        assert qa._statistics(per_pair)(preds, refs).value() == pytest.approx(metric.compute(preds, refs).value, abs=1e-12)


def test_rouge_statistics_give_back_each_rouge_type():
    preds = ["Amanda baked cookies. She will bring them.", "The meeting moved to Friday.", "Tom is late."]
    refs = [["Amanda baked cookies and will bring Jerry some.", "Amanda will bring cookies."], "The meeting is on Friday now.", "Tom will be late again."]
    scores = summ.rouge(preds, refs)
    for kind in summ.ROUGE_TYPES:
        assert summ._statistics(kind)(preds, refs).value() == pytest.approx(scores[kind].value, abs=1e-12)


def test_bits_per_char_and_perplexity_statistics_resample_blocks_and_give_back_the_scores():
    texts = ["abcdefghij", "klmnopqrstuvwxyz"]
    preds = [
        {"nll": 9.0, "tokens": 6, "chars": 10, "blocks": [[4.0, 3, 5], [5.0, 3, 5]]},
        {"nll": 12.5, "tokens": 8, "chars": 16},  # no blocks listed: the text is one unit
    ]
    bpc = lm.bits_per_char_statistics(preds, texts)
    assert bpc.rows.tolist() == [[4.0, 5.0], [5.0, 5.0], [12.5, 16.0]]
    assert bpc.value() == pytest.approx(lm.bits_per_char(preds, texts).value, abs=1e-12)
    ppl = lm.perplexity_statistics(preds, texts)
    assert ppl.rows.tolist() == [[4.0, 3.0], [5.0, 3.0], [12.5, 8.0]]
    assert ppl.value() == pytest.approx(lm.perplexity(preds, texts).value, abs=1e-12)


# ---- sacreBLEU's own bootstrap for BLEU and chrF ------------------------------------------------
SOURCES = [f"the {c} cat sat on mat number {i} today" for i, c in enumerate(["red", "black", "white", "grey"] * 30)]


def test_sacrebleu_interval_is_sacrebleus_own_and_contains_the_score():
    from sacrebleu.metrics import BLEU

    refs = SOURCES
    hyps = [s.replace("sat", "sits") if i % 3 else s.replace("today", "") for i, s in enumerate(SOURCES)]
    for metric in mt.METRICS:
        value = metric.compute(hyps, refs).value
        interval = metric.bootstrap.interval(hyps, refs, 1000)
        assert interval.low < value < interval.high
        assert interval.method.startswith("sacreBLEU bootstrap") and interval.seed == "12345"
    expected = BLEU().corpus_score(hyps, [refs], n_bootstrap=1000)
    bleu = mt.METRICS[0].bootstrap.interval(hyps, refs, 1000)
    assert (bleu.low, bleu.high) == (expected._mean - expected._ci, expected._mean + expected._ci)
    assert "bs:" not in mt.bleu(hyps, refs).signature  # the reported signature is unchanged


def test_sacrebleu_paired_test_identical_and_clearly_better():
    refs = SOURCES
    bad = [" ".join(reversed(s.split())) for s in SOURCES]
    good = [s.replace("today", "now") for s in SOURCES]
    bootstrap = mt.METRICS[0].bootstrap
    same = bootstrap.paired(good, list(good), refs, 1000)
    assert same.identical and same.p_value == 1.0 and same.difference == 0.0
    better = bootstrap.paired(bad, good, refs, 1000)
    assert better.b > better.a and better.p_value < 0.01
    assert better.method.startswith("sacreBLEU paired bootstrap")


def test_the_public_api_names_the_confidence_types():
    for name in ("ExampleBootstrap", "Statistics", "Interval", "Paired", "mean_statistics"):
        assert getattr(tasklight, name) is not None
