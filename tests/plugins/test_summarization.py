"""The summarization plugin: conformance, DialogSum readers, ROUGE, truncation, the CLI."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

import tasklight
from tasklight.config import load_config, resolve_config, task_defaults
from tasklight.data.sources import load_splits
from tasklight.plugins import get_platform
from tasklight.testing import check_task
from tests.conftest import TINY, invoke, shared
from tasklight_summarization.demo import demo_pairs
from tasklight_summarization.metrics import rouge, split_sentences


def _task_and_ctx(*overrides: str, demo: bool = False) -> tuple[tasklight.Task, tasklight.TaskContext]:
    platform = get_platform()
    task = platform.tasks.get("summarization")
    config = load_config("summarization", task.settings, demo=demo, defaults=task_defaults(task, demo), overrides=list(overrides))
    return task, tasklight.TaskContext(config=config, metric=platform.metrics.get, seed=0)


def _splits(source: Path | str, *overrides: str) -> dict:
    task, ctx = _task_and_ctx(*overrides)
    return load_splits(task, str(source), ctx, get_platform().adapters)


# ---- identity and the conformance kit ------------------------------------------------
def test_conformance(tmp_path: Path) -> None:
    scores = check_task("summarization", tmp_path)
    assert set(scores) == {"rougeLsum", "rouge1", "rouge2", "rougeL"}


def test_identity_primary_metric_is_rougelsum() -> None:
    task, _ = _task_and_ctx()
    assert task.shape == "encoder-decoder"
    assert task.metrics == ("rougeLsum", "rouge1", "rouge2", "rougeL")
    for name in task.metrics:
        metric = get_platform().metrics.get(name)
        assert metric.higher_is_better is True and metric.library == "rouge-score"


# ---- DialogSum on the real files -----------------------------------------------------
def test_dialogsum_folder_splits_and_counts() -> None:
    folder = shared("summarization", "dialogsum")
    splits = _splits(folder)
    assert {role: len(s.examples) for role, s in splits.items()} == {"train": 12460, "validation": 500, "test": 500}
    assert splits["train"].files == [folder / "dialogsum.train.jsonl"]
    assert splits["validation"].files == [folder / "dialogsum.dev.jsonl"]
    assert splits["test"].files == [folder / "dialogsum.test.jsonl"]


def test_dialogsum_train_lines_are_python_literals_read_with_literal_eval() -> None:
    path = shared("summarization", "dialogsum", "dialogsum.train.jsonl")
    first = path.read_text(encoding="utf-8").splitlines()[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)  # the trap: not JSON
    task, ctx = _task_and_ctx()
    examples = task.read_files([path], ctx)
    assert len(examples) == 12460
    assert examples[0].text.startswith("#Person1#: Hi, Mr. Smith. I'm Doctor Hawkins. Why are you here today?\n#Person2#: ")
    assert examples[0].summaries == (
        "Mr. Smith's getting a check-up, and Doctor Hawkins advises him to have one every year. "
        "Hawkins'll give some information about their classes and medications to help Mr. Smith quit smoking.",
    )
    assert all(len(e.summaries) == 1 for e in examples)


def test_dialogsum_test_has_three_references() -> None:
    path = shared("summarization", "dialogsum", "dialogsum.test.jsonl")
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    task, ctx = _task_and_ctx()
    examples = task.read_files([path], ctx)
    assert len(examples) == 500 and all(len(e.summaries) == 3 for e in examples)
    assert task.reference(examples[0]) == [record["summary1"], record["summary2"], record["summary3"]]
    assert examples[0].text == record["dialogue"]


# ---- malformed files ------------------------------------------------------------------
def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_malformed_python_literal_line_names_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "train.jsonl",
        "{'document': 'a dict literal', 'summary': 'fine'}",
        '{"document": "strict JSON", "summary": "fine too"}',
        "{'document': 'cut off', 'summary': ",
    )
    task, ctx = _task_and_ctx()
    with pytest.raises(tasklight.UserError, match=rf"^{path}:3: neither JSON .* nor a Python dict literal"):
        task.read_files([path], ctx)


def test_python_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = _write(tmp_path / "train.jsonl", f"__import__('pathlib').Path({str(marker)!r}).touch()")
    task, ctx = _task_and_ctx()
    with pytest.raises(tasklight.UserError, match=rf"^{path}:1: "):
        task.read_files([path], ctx)
    assert not marker.exists()


def test_missing_field_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", "{'document': 'one', 'summary': 'two'}", "", "{'document': 'no summary here'}")
    task, ctx = _task_and_ctx()
    with pytest.raises(tasklight.UserError, match=rf"^{path}:3: missing the summary field 'summary'"):
        task.read_files([path], ctx)
    path = _write(tmp_path / "other.jsonl", '{"body": "x", "summary": "y"}')
    with pytest.raises(tasklight.UserError, match=rf"^{path}:1: missing the document field 'document' or 'dialogue'"):
        task.read_files([path], ctx)


def test_non_dict_line_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", "['a', 'list']")
    task, ctx = _task_and_ctx()
    with pytest.raises(tasklight.UserError, match=rf"^{path}:1: expected an object .* got list"):
        task.read_files([path], ctx)


def test_configurable_fields_csv_and_multi_references(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text('body,abstract1,abstract2\n"line one\nline two",first,second\n', encoding="utf-8")
    task, ctx = _task_and_ctx("data.document_field=body", "data.summary_field=abstract")
    [(line, record)] = list(get_platform().adapters.get("csv").read(path))
    example = task.from_record(record, f"{path}:{line}", ctx)
    assert example.text == "line one\nline two" and example.summaries == ("first", "second")
    assert task.reference(example) == ["first", "second"]
    task, ctx = _task_and_ctx()
    [example] = task.read_files([_write(tmp_path / "d.jsonl", '{"document": "d", "summary": ["r1", "r2"]}')], ctx)
    assert example.summaries == ("r1", "r2")
    with pytest.raises(tasklight.UserError, match=r"^x:4: field 'summary' item 2 must be a non-empty string"):
        task.from_record({"document": "d", "summary": ["r1", ""]}, "x:4", ctx)


# ---- ROUGE -----------------------------------------------------------------------------
def test_rouge_values_on_a_hand_made_example() -> None:
    scores = rouge(["the cat sat on the mat"], ["the cat is on the mat"])
    # 5 of 6 unigrams, 3 of 5 bigrams, an LCS of 5 tokens (checked against rouge-score directly).
    assert scores["rouge1"].value == pytest.approx(100 * 5 / 6)
    assert scores["rouge2"].value == pytest.approx(60.0)
    assert scores["rougeL"].value == pytest.approx(100 * 5 / 6)
    assert scores["rougeLsum"].value == pytest.approx(100 * 5 / 6)
    version = importlib.metadata.version("rouge-score")
    assert scores["rougeLsum"].signature == (
        f"rouge-score:{version}|rougeLsum|stem:porter|tok:default|score:f1x100|agg:mean|nrefs:1|split:lines+regex[.!?]"
    )
    assert scores["rouge1"].signature == f"rouge-score:{version}|rouge1|stem:porter|tok:default|score:f1x100|agg:mean|nrefs:1"


def test_rougelsum_splits_sentences_and_rougel_does_not() -> None:
    scores = rouge(["The cat sat. The dog ran."], ["The dog ran. The cat sat."])
    assert scores["rougeLsum"].value == pytest.approx(100.0)  # each reference sentence found whole
    assert scores["rougeL"].value == pytest.approx(50.0)  # one LCS over the whole text: 3 of 6 tokens
    assert scores["rouge2"].value == pytest.approx(80.0)
    direct = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True).score("The dog ran. The cat sat.", "The cat sat. The dog ran.")
    assert direct["rougeLsum"].fmeasure == pytest.approx(0.5)  # without the split rouge-score sees one sentence


def test_stemmer_is_on() -> None:
    assert rouge(["The cats running."], ["The cat runs."])["rouge1"].value == pytest.approx(100.0)


def test_split_sentences_rule() -> None:
    text = 'Mr. Smith meets Dr. J. Hawkins. He leaves at 5 p.m. today! "Is it late?" she asks.\nA new line'
    assert split_sentences(text) == [
        "Mr. Smith meets Dr. J. Hawkins.", "He leaves at 5 p.m. today!", '"Is it late?"', "she asks.", "A new line",
    ]
    assert split_sentences("") == []


def test_multi_reference_takes_the_best_reference_per_example_then_the_mean() -> None:
    predictions = ["the cat sat on the mat", "a dog barked"]
    references = [["a dog barked loudly", "the cat sat on the mat"], ["the cat sat on the mat", "nothing alike here"]]
    scores = rouge(predictions, references)
    # Example 1: the second reference matches exactly (100); example 2: no word in common (0).
    assert scores["rouge1"].value == pytest.approx(50.0)
    details = scores["rouge1"].details
    assert details["mean_over_references"] == pytest.approx(25.0)  # ((0 + 100) / 2 + 0) / 2
    assert "nrefs:2|multiref:max-f" in scores["rouge1"].signature
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for kind in ("rouge1", "rouge2", "rougeL"):
        expected = sum(scorer.score_multi(r, p)[kind].fmeasure for p, r in zip(predictions, references)) / 2
        assert scores[kind].value == pytest.approx(100 * expected)


def test_references_as_string_or_list_agree_and_registered_metrics_match() -> None:
    one = rouge(["a b c d"], ["a b x d"])
    assert one["rougeL"].value == pytest.approx(rouge(["a b c d"], [["a b x d"]])["rougeL"].value)
    registered = get_platform().metrics.get("rougeL").compute(["a b c d"], ["a b x d"])
    assert registered.value == pytest.approx(one["rougeL"].value) and registered.signature == one["rougeL"].signature


# ---- encoding and truncation ----------------------------------------------------------
def test_truncation_is_counted() -> None:
    from tasklight.evaluation import encode_examples

    task, ctx = _task_and_ctx("data.max_length=16")
    short = "one two three"
    long = " ".join(["one two three four five six seven eight"] * 4)  # 32 words
    examples = [task.parse_input(t, "x", ctx) for t in (short, long, short, long, long)]
    tokenizer = tasklight.Tokenizer.train([short, long], 100, 1)
    encoded = encode_examples(task, examples, tokenizer, ctx, train=False)
    assert encoded.truncated == 3
    assert [len(r["src"]) for r in encoded.rows] == [len(tokenizer.encode(short)) + 1, 16, len(tokenizer.encode(short)) + 1, 16, 16]
    assert all(r["src"][-1] == tokenizer.eos_id for r in encoded.rows)


def test_training_rows_one_per_reference() -> None:
    task, ctx = _task_and_ctx()
    tokenizer = tasklight.Tokenizer.train(["doc text", "first", "second"], 60, 1)
    example = task.from_record({"document": "doc text", "summary1": "first", "summary2": "second"}, "x:1", ctx)
    rows = task.encode(example, tokenizer, ctx, train=True)
    assert [tokenizer.decode(r["tgt"]) for r in rows] == ["first", "second"]
    assert all(r["tgt"][0] == tokenizer.bos_id and r["tgt"][-1] == tokenizer.eos_id for r in rows)
    assert task.encode(example, tokenizer, ctx, train=False) == [{"src": tokenizer.encode("doc text") + [tokenizer.eos_id]}]


# ---- demo data -------------------------------------------------------------------------
def test_demo_is_deterministic_and_the_summary_is_not_a_copy() -> None:
    pairs = demo_pairs("test", 3)
    assert pairs == demo_pairs("test", 3) and pairs != demo_pairs("test", 4)
    assert len(pairs) == 500
    train = {d for d, _ in demo_pairs("train", 3)}
    assert not train & {d for d, _ in pairs}
    pattern = re.compile(r"^(?:(\w+) cannot meet on (\w+) so )?(\w+) and (\w+) will meet on (\w+) at (\d[\d:]* [ap]m|noon)\b")
    for document, summary in pairs:
        first = split_sentences(summary)[0]
        assert first not in document and first.endswith(".")
        busy, rejected, a, b, day, time = pattern.match(first).groups()
        greeting = document.splitlines()[0]
        assert greeting.startswith("#Person1#: ") and greeting.index(f" {a} ") < greeting.index(f" {b} ")
        assert f" {day} " in document and f"{time} " in document
        assert busy in (None, b) and (rejected is None or f"busy on {rejected} all day" in document)


# ---- the CLI end to end: a folder in DialogSum's layout, predict ----------------------
def test_cli_run_and_predict_on_a_dialogsum_style_folder(tmp_path: Path, runner) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pairs = demo_pairs("train", 0, 60)
    (data / "mini.train.jsonl").write_text("\n".join(repr({"dialogue": d, "summary": s}) for d, s in pairs[:40]), encoding="utf-8")
    (data / "mini.dev.jsonl").write_text("\n".join(json.dumps({"dialogue": d, "summary": s}) for d, s in pairs[40:50]), encoding="utf-8")
    (data / "mini.test.jsonl").write_text(
        "\n".join(json.dumps({"dialogue": d, "summary1": s, "summary2": s.upper()}) for d, s in pairs[50:]), encoding="utf-8"
    )
    (data / "README.txt").write_text("not a split\n", encoding="utf-8")
    out = tmp_path / "run"
    code, output = invoke(
        runner, "run", "summarization", "--data", str(data), "--max-steps", "2", "--out", str(out), *TINY,
        "--set", "data.max_length=40", "--set", "decoding.max_len_b=5", "--set", "trainer.threads=1",
    )
    assert code == 0, output
    record = json.loads((out / "metrics.json").read_text())
    assert record["primary_metric"] == "rougeLsum" and list(record["metrics"])[0] == "rougeLsum"
    assert record["dataset"]["size"] == 10
    assert "nrefs:2|multiref:max-f" in record["metrics"]["rougeLsum"]["signature"]
    assert record["training"]["truncated_examples"] == {"train": 40, "validation": 10, "test": 10}  # all dialogues exceed 40 tokens
    first = json.loads((out / "predictions.jsonl").read_text().splitlines()[0])
    assert set(first) == {"document", "summary", "reference"} and first["reference"] == [pairs[50][1], pairs[50][1].upper()]

    code, output = invoke(runner, "predict", "summarization", "--run", str(out), "#Person1#: Hi Ben, this is Anna.")
    assert code == 0, output
    row = json.loads(output.strip().splitlines()[-1])
    assert row["document"] == "#Person1#: Hi Ben, this is Anna." and isinstance(row["summary"], str)
    code, output = invoke(runner, "predict", "summarization", "--run", str(out), "-", input='{"dialogue": "#Person1#: Hello."}\n')
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1])["document"] == "#Person1#: Hello."


def test_cli_reports_a_bad_line_in_one_line(tmp_path: Path, runner) -> None:
    path = _write(tmp_path / "train.jsonl", "{'document': 'a', 'summary': 'b'}", "{'document': 'a' 'summary': }")
    code, output = invoke(runner, "run", "summarization", "--data", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert code == 2
    assert f"{path}:2: neither JSON" in output and "Traceback" not in output


def test_summaries_decode_without_repeated_4grams_unless_set_otherwise() -> None:
    task = get_platform().tasks.get("summarization")
    for data in ("demo", "../shared/data/summarization/dialogsum"):
        decoding = tasklight.Decoding.from_config(resolve_config(task, data).section("decoding"))
        assert decoding.no_repeat_ngram_size == 4
    allowed = resolve_config(task, "demo", overrides=["decoding.no_repeat_ngram_size=0"])
    assert tasklight.Decoding.from_config(allowed.section("decoding")).no_repeat_ngram_size == 0
    with pytest.raises(tasklight.UserError, match="no_repeat_ngram_size"):
        resolve_config(task, "demo", overrides=["decoding.no_repeat_ngram_size=-1"])
    # The core default allows repeats: other tasks (translation here) keep it.
    assert resolve_config(get_platform().tasks.get("translation"), "demo")["decoding.no_repeat_ngram_size"] == 0
