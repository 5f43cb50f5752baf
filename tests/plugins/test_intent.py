"""The intent plugin: conformance, its readers on the real benchmark files, its metrics,
predictions and the CLI round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasklight.config import load_config, task_defaults
from tasklight.data.tokenizer import Tokenizer
from tasklight.data.sources import load_splits
from tasklight.errors import UserError
from tasklight.plugins import get_platform
from tasklight.task import TaskContext
from tasklight.testing import check_task
from tests.conftest import TINY, invoke, shared
from tasklight_intent.demo import INTENTS, demo_pairs
from tasklight_intent.task import Prediction, Utterance


def _setup(*overrides: str, demo: bool = False):
    platform = get_platform()
    task = platform.tasks.get("intent")
    config = load_config("intent", task.settings, demo=demo, defaults=task_defaults(task, demo), overrides=list(overrides))
    return platform, task, TaskContext(config=config, metric=platform.metrics.get, seed=42)


def _splits(source: str | Path, *overrides: str) -> dict:
    platform, task, ctx = _setup(*overrides)
    return load_splits(task, str(source), ctx, platform.adapters)


def _sizes(splits: dict) -> tuple[int, int, int]:
    return tuple(len(splits[role].examples) for role in ("train", "validation", "test"))


# ---- the contract -----------------------------------------------------------------------
def test_conformance(tmp_path):
    scores = check_task("intent", tmp_path)
    assert set(scores) == {"accuracy", "macro_f1"}


def test_identity():
    _, task, _ = _setup()
    assert (task.shape, task.metrics) == ("encoder-only", ("accuracy", "macro_f1"))
    assert get_platform().metrics.get("accuracy").higher_is_better is True
    assert get_platform().metrics.get("macro_f1").library == "torchmetrics"


# ---- demo data -----------------------------------------------------------------------
def test_demo_is_deterministic_balanced_and_never_tests_on_train():
    train = demo_pairs("train", 7)
    assert train == demo_pairs("train", 7) and train != demo_pairs("train", 8)
    test = demo_pairs("test", 7)
    validation = demo_pairs("validation", 7)
    assert (len(train), len(validation), len(test)) == (3000, 300, 500)
    seen = {text for text, _ in train}
    assert not any(text in seen for text, _ in validation + test)
    assert not {t for t, _ in test} & {t for t, _ in validation}
    counts = {intent: sum(label == intent for _, label in test) for intent in INTENTS}
    assert len(INTENTS) == 8 and min(counts.values()) >= 62  # 500 test utterances, cycled over 8 intents


# ---- SNIPS / ATIS: line-aligned seq.in + label folders -----------------------------------
def test_snips_folder_splits():
    splits = _splits(shared("intent", "snips"))
    assert _sizes(splits) == (13084, 700, 700)
    first = splits["train"].examples[0]
    assert first == Utterance("listen to westbam alumb allergic on google music", "PlayMusic")
    labels = {e.label for e in splits["train"].examples}
    assert labels == {"AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook",
                      "SearchCreativeWork", "SearchScreeningEvent"}


def test_atis_folder_splits_and_unseen_test_labels_are_counted():
    splits = _splits(shared("intent", "atis"))
    assert _sizes(splits) == (4478, 500, 893)
    assert splits["train"].examples[0] == Utterance("i want to fly from baltimore to dallas round trip", "atis_flight")
    platform, task, ctx = _setup()
    known = tuple(task.head_hparams(splits["train"].examples, ctx)["labels"])
    assert len(known) == 21
    test = splits["test"].examples
    # A model that always says atis_flight: the unseen labels are reported, nothing crashes.
    predictions = [Prediction("atis_flight", 0.9, (), known) for _ in test]
    scores = task.score(predictions, [task.reference(e) for e in test], ctx)
    assert scores["accuracy"].details["unseen_labels"] == {
        "count": 5,
        "labels": ["atis_airfare#atis_flight", "atis_day_name", "atis_flight#atis_airline", "atis_flight_no#atis_airline"],
    }
    flights = sum(e.label == "atis_flight" for e in test)
    assert scores["accuracy"].value == pytest.approx(100 * flights / 893)


def test_a_split_folder_alone_and_file_pairs():
    train = shared("intent", "atis", "train")
    alone = _splits(train)  # train only: validation held out of it, test falls back to validation
    assert _sizes(alone) == (4254, 224, 224)
    pair = _splits(f"{train / 'seq.in'},{train / 'label'}")
    assert [e.label for e in pair["train"].examples] == [e.label for e in alone["train"].examples]
    mixed = _splits(shared("intent", "snips"), f"data.test={shared('intent', 'atis', 'test')}")
    assert _sizes(mixed) == (13084, 700, 893)


def test_line_count_mismatch_names_both_files(tmp_path):
    (tmp_path / "seq.in").write_text("wake me up\nplay jazz\nwhat's the weather\n")
    (tmp_path / "label").write_text("alarm\nmusic\n")
    with pytest.raises(UserError) as err:
        _splits(f"{tmp_path / 'seq.in'},{tmp_path / 'label'}")
    assert str(err.value) == f"{tmp_path / 'seq.in'} has 3 lines but {tmp_path / 'label'} has 2; they must be line-aligned"


def test_an_empty_line_on_one_side_names_file_and_line(tmp_path):
    (tmp_path / "seq.in").write_text("wake me up\n\nplay jazz\n")
    (tmp_path / "label").write_text("alarm\nmusic\nmusic\n")
    with pytest.raises(UserError, match=rf"^{tmp_path / 'seq.in'}:2: empty line"):
        _splits(tmp_path)


# ---- CLINC150: one JSON file, every split --------------------------------------------------
def test_clinc150_folder_splits():
    folder = shared("intent", "clinc150", "data_full.json").parent
    splits = _splits(folder)
    assert _sizes(splits) == (15000, 3000, 4500)
    assert splits["validation"].origin == f"{folder / 'data_full.json'}#val"
    assert not any(e.label == "oos" for role in splits for e in splits[role].examples)
    assert len({e.label for e in splits["train"].examples}) == 150
    included = _splits(folder, "data.clinc_oos=include")
    assert _sizes(included) == (15100, 3100, 5500)
    assert sum(e.label == "oos" for e in included["test"].examples) == 1000
    oos_only = _splits(folder, "data.test=oos_test")
    assert len(oos_only["test"].examples) == 1000 and {e.label for e in oos_only["test"].examples} == {"oos"}


def test_clinc150_file_with_validation_and_test_from_its_folder():
    path = shared("intent", "clinc150", "data_full.json")
    splits = _splits(path, f"data.validation={path.parent}", f"data.test={path.parent}")
    assert _sizes(splits) == (15000, 3000, 4500)
    assert splits["train"].examples[0] == Utterance(
        "what expression would i use to say i love you if i were an italian", "translate"
    )


def test_clinc150_file_alone_gives_its_own_splits():
    path = shared("intent", "clinc150", "data_full.json")
    splits = _splits(path)
    assert _sizes(splits) == (15000, 3000, 4500)
    assert splits["validation"].origin == f"{path} [val]"
    assert _sizes(_splits(path, "data.clinc_oos=include")) == (15100, 3100, 5500)
    oos = _splits(path, "data.test=oos_test")
    assert len(oos["test"].examples) == 1000
    with pytest.raises(UserError, match="data.clinc_oos='some'"):
        _splits(path.parent, "data.clinc_oos=some")


def test_clinc_layout_in_a_small_file(tmp_path):
    data = {"train": [["hi there", "greet"], ["bye now", "bye"]], "val": [["hello", "greet"]],
            "test": [["see you", "bye"]], "oos_test": [["how tall is a giraffe", "oos"]]}
    (tmp_path / "data_full.json").write_text(json.dumps(data))
    assert _sizes(_splits(tmp_path)) == (2, 1, 1)
    assert _sizes(_splits(tmp_path, "data.clinc_oos=include")) == (2, 1, 2)
    data["val"].append(["broken"])
    (tmp_path / "data_full.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"data_full.json: split 'val' item 2: expected \[text, intent\]"):
        _splits(tmp_path)


# ---- generic formats ------------------------------------------------------------------------
def test_csv_with_a_quoted_newline_and_custom_fields(tmp_path):
    (tmp_path / "train.csv").write_text(
        'utterance,intent\n"wake me\nup at 7",set_alarm\nplay some jazz,play_music\n"say ""hi"" to mom",send_message\n'
    )
    (tmp_path / "test.tsv").write_text("utterance\tintent\nis it raining\tget_weather\n")
    splits = _splits(tmp_path, "data.text_field=utterance", "data.label_field=intent", "data.val_fraction=0.34")
    examples = {e.text: e.label for role in ("train", "validation") for e in splits[role].examples}
    assert examples == {"wake me\nup at 7": "set_alarm", "play some jazz": "play_music", 'say "hi" to mom': "send_message"}
    assert splits["test"].examples == [Utterance("is it raining", "get_weather")]


def test_jsonl_integer_labels_are_labels(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"text": "a", "label": 3}\n{"text": "b", "label": "x"}\n')
    splits = _splits(tmp_path / "data.jsonl", "data.val_fraction=0.5")
    assert sorted(e.label for role in ("train", "validation") for e in splits[role].examples) == ["3", "x"]


def test_a_missing_field_names_file_and_line(tmp_path, runner):
    path = tmp_path / "intents.csv"
    path.write_text("text,label\nwake me up,set_alarm\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "wake me up", "label": "set_alarm"}\n\n{"text": "play jazz"}\n')
    with pytest.raises(UserError, match=rf"^{bad}:3: missing field 'label' \(fields present: text\)$"):
        _splits(bad)
    code, output = invoke(runner, "run", "intent", "--data", str(path), "--set", "data.text_field=utterance",
                          "--out", str(tmp_path / "run"))
    assert code == 2
    assert f"{path}:2: missing field 'utterance' (fields present: label, text)" in output
    assert "Traceback" not in output


# ---- metrics ---------------------------------------------------------------------------------
def test_accuracy_and_macro_f1_exact_numbers():
    platform = get_platform()
    references = ["a", "a", "b", "b", "c", "d"]
    predictions = ["a", "b", "b", "b", "a", "e"]
    accuracy = platform.metrics.get("accuracy").compute(predictions, references)
    assert accuracy.value == 50.0 and accuracy.details == {"correct": 3, "count": 6}
    # Per label F1: a 1/2 (P 1/2, R 1/2), b 4/5 (P 2/3, R 1), c 0, d 0, e 0 (only predicted).
    f1 = platform.metrics.get("macro_f1").compute(predictions, references)
    assert f1.value == pytest.approx(100 * (0.5 + 0.8) / 5)
    assert f1.details == {"labels": 5}
    assert "labels:references+predictions" in f1.signature and "torchmetrics" in f1.signature
    perfect = platform.metrics.get("macro_f1").compute(["x", "y"], ["x", "y"])
    assert perfect.value == pytest.approx(100.0)
    objects = [Prediction(label, 0.5) for label in predictions]
    assert platform.metrics.get("accuracy").compute(objects, references).value == 50.0


def test_in_scope_and_out_of_scope_are_scored_apart():
    _, task, ctx = _setup()
    references = ["a", "b", "oos", "oos", "b"]
    predictions = [Prediction(p, 0.5, (), ("a", "b", "oos")) for p in ["a", "a", "oos", "b", "b"]]
    details = task.score(predictions, references, ctx)["accuracy"].details
    assert details["in_scope"] == {"accuracy": pytest.approx(200 / 3), "count": 3}
    assert details["out_of_scope"] == {"recall": 50.0, "count": 2}
    assert details["unseen_labels"] == {"count": 0, "labels": []}
    only_oos = task.score(predictions[2:4], references[2:4], ctx)["accuracy"].details
    assert only_oos["in_scope"] == {"accuracy": None, "count": 0}


# ---- prediction ------------------------------------------------------------------------------
def test_decode_ranks_labels_and_to_json_shows_the_top_three():
    _, task, ctx = _setup()
    example = task.parse_input("wake me up at 7", "argument 1", ctx)
    output = {"probabilities": [0.05, 0.7, 0.2, 0.05], "labels": ["a", "b", "c", "d"]}
    prediction = task.decode(example, [output], None, ctx)
    assert (prediction.label, prediction.probability) == ("b", 0.7)
    assert task.to_json(example, prediction) == {
        "text": "wake me up at 7", "label": "b", "probability": 0.7,
        "alternatives": [{"label": "c", "probability": 0.2}, {"label": "a", "probability": 0.05}],
    }
    assert task.parse_input({"text": "play jazz"}, "x", ctx) == Utterance("play jazz")
    with pytest.raises(UserError, match="^line 4: expected a field 'text'$"):
        task.parse_input({"utterance": "play jazz"}, "line 4", ctx)


def test_encode_sends_label_indices_of_the_head_label_list():
    _, task, ctx = _setup()
    ctx.hparams = {"labels": ["get_weather", "set_alarm"]}
    tokenizer = Tokenizer.train(["wake me up at 7", "will it rain"], 100, 1)
    assert task.encode(Utterance("wake me up at 7", "set_alarm"), tokenizer, ctx, train=True)[0]["label"] == 1
    assert task.encode(Utterance("will it rain", "get_weather"), tokenizer, ctx, train=True)[0]["label"] == 0
    assert task.encode(Utterance("play jazz", "play_music"), tokenizer, ctx, train=True)[0]["label"] == -100
    assert task.encode(Utterance("play jazz"), tokenizer, ctx, train=False)[0]["label"] == -100


def test_labels_unknown_to_the_head_add_no_loss():
    import torch

    from tasklight import Transformer, TransformerConfig

    _, task, ctx = _setup()
    config = TransformerConfig(vocab_size=20, shape="encoder-only", d_model=16, n_heads=2, encoder_layers=1, d_ff=32)
    model = Transformer(config)
    head = task.build_head(config, {"labels": ["a", "b"]}, ctx)
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    loss, tokens = head.loss(model, {"input": ids, "label": torch.tensor([-100, -100])})
    assert float(loss.detach()) == 0.0 and int(tokens) == 5
    loss.backward()  # still a graph
    head.eval(), model.eval()
    known, _ = head.loss(model, {"input": ids, "label": torch.tensor([0, -100])})
    alone, _ = head.loss(model, {"input": ids[:1], "label": torch.tensor([0])})
    assert float(known.detach()) == pytest.approx(float(alone.detach()), abs=1e-5)


def test_cli_run_then_predict(tmp_path, runner):
    out = tmp_path / "run"
    code, output = invoke(runner, "run", "intent", "--max-steps", "30", "--out", str(out), *TINY)
    assert code == 0, output
    record = json.loads((out / "metrics.json").read_text())
    assert record["primary_metric"] == "accuracy"
    assert record["metrics"]["accuracy"]["details"]["unseen_labels"] == {"count": 0, "labels": []}
    assert record["dataset"]["size"] == 24
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and set(rows[0]) == {"text", "label", "probability", "alternatives", "reference"}
    code, output = invoke(runner, "predict", "intent", "--run", str(out), "wake me up at 7", '{"text": "play some jazz"}')
    assert code == 0, output
    lines = [json.loads(line) for line in output.strip().splitlines()]
    assert [line["text"] for line in lines] == ["wake me up at 7", "play some jazz"]
    for line in lines:
        assert line["label"] in INTENTS and 0.0 < line["probability"] <= 1.0
        assert len(line["alternatives"]) == 2
        assert line["probability"] >= line["alternatives"][0]["probability"] >= line["alternatives"][1]["probability"]


@pytest.mark.slow
def test_demo_settings_reach_90_percent(tmp_path, runner):
    """IntentTask.demo_settings: test accuracy >= 90 (about a minute on one thread)."""
    out = tmp_path / "demo"
    code, output = invoke(runner, "run", "intent", "--out", str(out), "--set", "trainer.threads=1", "--quiet")
    assert code == 0, output
    record = json.loads((out / "metrics.json").read_text())
    assert record["training"]["steps"] == 150
    assert record["metrics"]["accuracy"]["value"] >= 90.0
