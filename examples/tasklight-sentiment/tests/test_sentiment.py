"""The sentiment plugin's tests: tasklight's conformance kit and the task's own behaviour.

Run with the package installed (``pip install -e examples/tasklight-sentiment``):
``python3 -m pytest examples/tasklight-sentiment``.
"""

from __future__ import annotations

import pytest

import tasklight
from tasklight.testing import check_task
from tasklight_sentiment import demo, metrics
from tasklight_sentiment.task import Prediction, Review, SentimentTask

CTX = tasklight.TaskContext(config=SentimentTask.settings, metric=lambda name: None)


def test_conformance(tmp_path):
    scores = check_task("sentiment", tmp_path)
    assert set(scores) == {"sentiment_accuracy", "sentiment_macro_f1"}


def test_demo_is_balanced_deterministic_and_held_out():
    test = demo.examples("test", 0)
    assert test == demo.examples("test", 0)
    assert [label for _, label in test].count("positive") == demo.SIZES["test"] // 2
    train = {text for text, _ in demo.examples("train", 0)}
    validation = {text for text, _ in demo.examples("validation", 0)}
    assert not train & {text for text, _ in test} and not validation & {text for text, _ in test}


def test_demo_negation_flips_the_opinion_word():
    import random

    rng = random.Random(0)
    for label in demo.LABELS * 200:
        text = demo.clause(label, rng)
        opinions = [w for w in text.split() if w in demo.OPINIONS["positive"] + demo.OPINIONS["negative"]]
        negated = " not " in text or " never " in text
        assert len(opinions) == 1, text
        assert opinions[0] in demo.OPINIONS[demo.OTHER[label] if negated else label], text


def test_demo_contrast_is_decided_after_but():
    import random

    rng = random.Random(1)
    texts = [(demo.review(label, rng), label) for label in demo.LABELS * 200]
    contrasts = [(t, label) for t, label in texts if " but " in t]
    assert 40 < len(contrasts) < 120  # about one review in five
    for text, label in contrasts:
        second = text.split(" but ", 1)[1]
        opinion = next(w for w in second.split() if w in demo.OPINIONS["positive"] + demo.OPINIONS["negative"])
        negated = " not " in second or " never " in second
        assert opinion in demo.OPINIONS[demo.OTHER[label] if negated else label], text


@pytest.mark.parametrize(
    ("record", "label"),
    [({"text": "great", "label": 1}, "positive"), ({"text": "meh", "label": "0"}, "negative"),
     ({"text": "ok", "label": " Positive "}, "positive")],
)
def test_records_accept_names_and_hub_style_ids(record, label):
    assert SentimentTask().from_record(record, "x.jsonl:1", CTX) == Review(record["text"], label)


@pytest.mark.parametrize(
    ("record", "message"),
    [({"text": "fine", "label": 2}, "x.jsonl:4: label 2 is not 0 (negative) or 1 (positive)"),
     ({"text": "fine", "label": "neutral"}, "x.jsonl:4: label 'neutral' is not one of negative, positive, 0, 1"),
     ({"label": 1}, "x.jsonl:4: missing field 'text' (fields present: label)")],
)
def test_bad_records_fail_with_one_line_naming_where(record, message):
    with pytest.raises(tasklight.UserError) as err:
        SentimentTask().from_record(record, "x.jsonl:4", CTX)
    assert str(err.value) == message


def test_metrics_on_known_values():
    predictions = [Prediction("positive", 0.9), Prediction("positive", 0.6), Prediction("negative", 0.8), "negative"]
    references = ["positive", "negative", "negative", None]
    assert metrics.accuracy(predictions, references).value == 200 / 3
    # positive: tp 1, predicted 2, actual 1 -> F1 2/3; negative: tp 1, predicted 1, actual 2 -> F1 2/3
    assert metrics.macro_f1(predictions, references).value == pytest.approx(100 * 2 / 3)


def test_prediction_output_shape():
    task = SentimentTask()
    example = task.parse_input("the food was awful", "stdin:1", CTX)
    shown = task.decode(example, [[0.75, 0.25]], None, CTX)
    assert task.to_json(example, shown) == {"text": "the food was awful", "label": "negative", "probability": 0.75}
