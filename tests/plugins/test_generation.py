"""The generation plugin: blocks, bits per character, reading text, prompts and sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import tasklight
from tasklight.cli import cli
from tasklight.testing import check_task
from tasklight_generation.demo import demo_texts
from tests.conftest import TINY as SHARED_TINY
from tasklight_generation.metrics import bits_per_char, perplexity, unigram_bits_per_char
from tasklight_generation.task import GenerationTask, Text, block_size, make_blocks
from tests.conftest import invoke, shared

TASK = GenerationTask()
CONFIG = {
    "data.text_field": "text", "data.block_size": 4, "data.max_length": 5, "data.val_fraction": 0.1,
    "data.validation": "", "run.data": "demo", "decoding.max_new_tokens": 3,
    "decoding.strategy": "greedy", "decoding.temperature": 1.0, "decoding.top_p": 1.0,
}


def ctx(**changes: object) -> tasklight.TaskContext:
    return tasklight.TaskContext({**CONFIG, **{k.replace("__", "."): v for k, v in changes.items()}}, lambda n: None)


def test_conformance(tmp_path):
    scores = check_task("generation", tmp_path)
    assert set(scores) == {"bits_per_char", "perplexity"}


# ---- blocks -------------------------------------------------------------------------
def test_blocks_overlap_by_one_and_own_every_character():
    # ids 10..14 end at characters 1, 3, 5, 6, 9 of a 10-character text; <s>=2, </s>=3.
    rows = make_blocks([10, 11, 12, 13, 14], [1, 3, 5, 6, 9], 10, bos=2, eos=3, block_size=2)
    assert rows == [
        {"input": [2, 10, 11], "_chars": 3},
        {"input": [11, 12, 13], "_chars": 3},
        {"input": [13, 14, 3], "_chars": 4},  # </s> owns the trailing character
    ]


def test_blocks_of_a_real_text_cover_each_token_once():
    from tasklight import Tokenizer

    text = "the cat sat on the mat. the dog sat on the log.\n"
    tokenizer = Tokenizer.train([text], 10, 1)  # below the alphabet: one token per character
    ids = tokenizer.encode(text)
    assert len(ids) == len(text) + 1  # the prepended word marker, then one id per character
    rows = TASK.encode(Text(text), tokenizer, ctx(), train=True)
    targets = len(ids) + 1  # every id and </s>, each predicted once
    assert len(rows) == math.ceil(targets / 4) == 13
    assert all(len(r["input"]) == 5 for r in rows[:-1]) and len(rows[-1]["input"]) == targets % 4 + 1
    assert [t for r in rows for t in r["input"][1:]] == [*ids, tokenizer.eos_id]
    assert sum(r["_chars"] for r in rows) == len(text)


def test_block_size_longer_than_max_length_is_a_user_error():
    with pytest.raises(tasklight.UserError, match=r"data.block_size=8 .* --set data.max_length=9"):
        TASK.read_files([Path("any.txt")], ctx(data__block_size=8))


# ---- metrics ------------------------------------------------------------------------
def test_bits_per_char_and_perplexity_exact():
    predictions = [{"nll": 2.0, "tokens": 3, "vocab_size": 300, "block_size": 4}, {"nll": 4.0, "tokens": 5}]
    references = ["abcd", "ef"]  # 6 characters, all different
    bpc = bits_per_char(predictions, references)
    assert bpc.value == pytest.approx(6.0 / (math.log(2) * 6))
    assert bpc.details["chars"] == 6 and bpc.details["tokens"] == 8
    assert bpc.details["unigram_bits_per_char"] == pytest.approx(math.log2(6), abs=1e-4)
    ppl = perplexity(predictions, references)
    assert ppl.value == pytest.approx(math.exp(6.0 / 8))
    assert "vocab-300" in ppl.signature and "context:4" in ppl.signature
    assert "vocab" not in bpc.signature  # bits per character do not depend on the tokenizer


def test_unigram_baseline():
    assert unigram_bits_per_char(["aabb"]) == pytest.approx(1.0)
    assert unigram_bits_per_char(["aaaa"]) == 0.0


# ---- reading --------------------------------------------------------------------------
def _folder_splits(folder: Path) -> dict:
    from tasklight.config import load_config
    from tasklight.data.sources import load_splits
    from tasklight.plugins import get_platform

    platform = get_platform()
    config = load_config("generation", TASK.settings, demo=False)
    return load_splits(TASK, str(folder), tasklight.TaskContext(config, platform.metrics.get), platform.adapters)


def test_tinyshakespeare_folder_is_split_90_10_contiguously():
    folder = shared("generation", "tinyshakespeare")
    text = (folder / "input.txt").read_text(encoding="utf-8")
    assert TASK.split_names(folder, ctx()) == ["train"]  # the core holds the end out to validate, and tests on it
    splits = _folder_splits(folder)
    (train,), (validation,) = splits["train"].examples, splits["validation"].examples
    assert (len(train.text), len(validation.text)) == (1003854, 111540)  # int(1115394 * 0.9), as nanoGPT cuts it
    assert train.text + validation.text == text
    assert splits["test"].examples == [validation]


def test_wikitext2_folder_trains_on_valid_and_tests_on_test():
    folder = shared("generation", "wikitext-2")
    layout = {s: TASK.split_files(folder, s, ctx()) for s in TASK.split_names(folder, ctx())}
    assert layout == {"train": [folder / "valid.txt"], "test": [folder / "test.txt"]}
    splits = _folder_splits(folder)
    valid = (folder / "valid.txt").read_text(encoding="utf-8")
    (train,), (validation,), (test,) = (splits[s].examples for s in ("train", "validation", "test"))
    assert train.text + validation.text == valid and len(train.text) == int(len(valid) * 0.9)
    assert test.text == (folder / "test.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("max_time, preset, block, dropout", [("00:00:02:10", "mini", 128, 0.0), ("00:00:20:00", "small", 256, 0.2)])
def test_a_time_budget_on_real_text_gets_the_character_level_recipe_of_that_budget(max_time, preset, block, dropout):
    from tasklight.config import resolve_config

    config = resolve_config(TASK, "input.txt", cli={"trainer.max_time": max_time})
    assert (config["model.preset"], config["tokenizer.vocab_size"], config["trainer.schedule"]) == (preset, 64, "cosine")
    assert config.model_fields()["dropout"] == dropout  # the entry's, over the preset's 0.1
    assert block_size(tasklight.TaskContext(config, lambda n: None)) == block  # the entry's lengths agree
    # Over every limit, and on the demo, the task's other defaults stand.
    assert resolve_config(TASK, "input.txt", cli={"trainer.max_time": "00:02:00:00"})["tokenizer.vocab_size"] != 64
    assert resolve_config(TASK, "demo", cli={"trainer.max_time": max_time})["tokenizer.vocab_size"] != 64


def test_a_slice_of_jsonl_records_counts_records(tmp_path):
    """The one slice syntax, NAME[START:STOP], counts examples: records of a JSONL file."""
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(10)))
    from tasklight.config import load_config
    from tasklight.data.sources import load_splits
    from tasklight.plugins import get_platform

    platform = get_platform()
    path = tmp_path / "b.jsonl"
    config = load_config("generation", TASK.settings, demo=False, overrides=[f"data.train={path}[:8]", f"data.validation={path}[8:]"])
    splits = load_splits(TASK, "demo", tasklight.TaskContext(config, platform.metrics.get), platform.adapters)
    assert splits["validation"].examples == [Text("doc 8"), Text("doc 9")] and len(splits["train"].examples) == 8


def test_jsonl_text_field_and_missing_field_names_file_and_line(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"body": "first doc"}\n\n{"body": "second"}\n{"title": "no body"}\n')
    with pytest.raises(tasklight.UserError, match=rf"^{path}:4: missing field 'body'"):
        TASK.read_files([path], ctx(data__text_field="body"))
    path.write_text('{"body": "first doc"}\n{"body": "second"}\n')
    assert TASK.read_files([path], ctx(data__text_field="body")) == [Text("first doc"), Text("second")]


@pytest.mark.parametrize("name", ["empty.txt", "empty.jsonl"])
def test_an_empty_file_is_a_user_error(tmp_path, name):
    path = tmp_path / name
    path.write_text("\n  \n")
    with pytest.raises(tasklight.UserError, match=rf"^{path}: .*empty"):
        TASK.read_files([path], ctx())


def test_a_single_text_file_splits_at_the_end_not_at_random(tmp_path):
    """`--data input.txt`: the first 90% trains, the last 10% validates and tests."""
    from tasklight.config import load_config
    from tasklight.data.sources import load_splits
    from tasklight.plugins import get_platform

    path = tmp_path / "input.txt"
    path.write_text("".join(f"line {i:03d}\n" for i in range(100)))
    platform = get_platform()
    config = load_config("generation", TASK.settings, demo=False)
    splits = load_splits(TASK, str(path), tasklight.TaskContext(config, platform.metrics.get), platform.adapters)
    text = path.read_text()
    (train,), (validation,) = splits["train"].examples, splits["validation"].examples
    assert train.text + validation.text == text
    assert len(train.text) == 810 and validation.text.startswith("line 090")  # 9 characters a line
    assert splits["test"].examples == splits["validation"].examples


def test_hold_out_keeps_the_end_of_the_text():
    train, validation = TASK.hold_out([Text("0123456789")], 0.1, ctx())
    assert (train, validation) == ([Text("012345678")], [Text("9")])
    docs = [Text(str(i)) for i in range(20)]
    assert TASK.hold_out(docs, 0.1, ctx()) == (docs[:18], docs[18:])


def test_demo_is_deterministic_and_seeded():
    assert demo_texts("test", 3, 5) == demo_texts("test", 3, 5)
    assert demo_texts("test", 3, 5) != demo_texts("test", 4, 5)
    assert demo_texts("train", 3, 5) != demo_texts("test", 3, 5)


# ---- a tiny trained run: scoring, prompts, sampling ----------------------------------------
TINY = [*SHARED_TINY, "--set", "trainer.threads=1"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "generation"
    result = CliRunner().invoke(cli, ["run", "generation", "--max-steps", "20", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out


def test_run_scores_every_character_of_the_test_texts(tiny_run):
    record = json.loads((tiny_run / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tiny_run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 24
    assert all(row["chars"] == len(row["reference"]) for row in rows)
    assert record["primary_metric"] == "bits_per_char"
    bpc, ppl = record["metrics"]["bits_per_char"], record["metrics"]["perplexity"]
    assert bpc["higher_is_better"] is False and ppl["higher_is_better"] is False
    chars, tokens = sum(row["chars"] for row in rows), sum(row["tokens"] for row in rows)
    nll = sum(row["nll"] for row in rows)  # rounded to 4 decimals per row
    assert bpc["details"]["chars"] == chars and ppl["details"]["tokens"] == tokens
    assert bpc["value"] == pytest.approx(nll / (math.log(2) * chars), rel=1e-5)
    assert ppl["value"] == pytest.approx(math.exp(nll / tokens), rel=1e-5)
    assert f"vocab-{record['model']['vocab_size']}" in ppl["signature"]
    assert 0 < bpc["details"]["unigram_bits_per_char"] < 8
    # Each text lists its blocks (nll, tokens, characters), the units its interval resamples.
    assert all(sum(b[2] for b in row["blocks"]) == row["chars"] for row in rows)
    assert all(sum(b[1] for b in row["blocks"]) == row["tokens"] for row in rows)
    for entry in (bpc, ppl):
        assert entry["interval"]["method"] == "percentile bootstrap over texts or their blocks"
        assert entry["interval"]["low"] < entry["value"] < entry["interval"]["high"]


def _predict(runner: CliRunner, run: Path, *args: str) -> list[dict]:
    code, output = invoke(runner, "predict", "generation", "--run", str(run), *args)
    assert code == 0, output
    return [json.loads(line) for line in output.splitlines()]


def test_seeded_sampling_is_reproducible(runner, tiny_run):
    sample = ["--set", "decoding.strategy=sample", "--set", "decoding.max_new_tokens=24",
              "--set", "decoding.top_k=50", "--set", "decoding.top_p=0.95", "--set", "decoding.temperature=1.2"]
    first = _predict(runner, tiny_run, "--seed", "7", *sample, "Anna is in")
    again = _predict(runner, tiny_run, "--seed", "7", *sample, "Anna is in")
    other = _predict(runner, tiny_run, "--seed", "8", *sample, "Anna is in")
    assert first == again
    assert first[0]["prompt"] == "Anna is in" and set(first[0]) == {"prompt", "continuation"}
    assert first != other


def test_prompts_of_different_lengths_in_one_batch_continue_as_alone(runner, tiny_run):
    greedy = ["--set", "decoding.max_new_tokens=12"]
    prompts = ["Tom", "Anna counts from two to five: two,", '{"text": "After Monday"}']
    together = _predict(runner, tiny_run, *greedy, *prompts)
    alone = [_predict(runner, tiny_run, *greedy, p)[0] for p in prompts]
    assert together == alone
    assert [row["prompt"] for row in together] == ["Tom", "Anna counts from two to five: two,", "After Monday"]


def test_bad_sampling_settings_are_one_line(runner, tiny_run):
    code, output = invoke(runner, "predict", "generation", "--run", str(tiny_run),
                          "--set", "decoding.strategy=sample", "--set", "decoding.top_p=1.5", "Tom")
    assert code == 2 and "decoding.top_p must be in (0, 1]" in output


def test_predict_input_without_a_text_field_names_the_argument(runner, tiny_run):
    code, output = invoke(runner, "predict", "generation", "--run", str(tiny_run), "Tom", '{"foo": 1}')
    assert code == 2 and "argument:2: expected a field 'text' or 'prompt'" in output
