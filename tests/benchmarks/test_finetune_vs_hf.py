"""benchmarks/finetune_vs_hf.py: run_qa's pre- and post-processing as the Trainer's side uses
them, bad input, and a --quick run of both sides on a tiny BERT and tiny data written here
(its figures are tiny-model noise; the real comparison is the full run in RESULTS.md)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import finetune_vs_hf as bench
from tests.conftest import REPO
from tests.tiny_checkpoints import write_bert

pytest.importorskip("transformers", reason="the benchmark needs the bench extra: pip install -e '.[bench]'")

INTENTS = {
    "alarm": ["wake me up at {}", "set an alarm for {}", "alarm at {} please"],
    "weather": ["what is the weather at {}", "will it rain at {}", "is it sunny at {}"],
    "music": ["play some jazz at {}", "put on music at {}", "play a song at {}"],
}
TIMES = ["six", "seven", "eight", "nine", "ten", "noon"]
PEOPLE = [("Ada", "Lyon"), ("Bo", "Paris"), ("Cy", "Berlin"), ("Di", "Rome"), ("Ed", "Oslo"), ("Fay", "Madrid")]


def clinc(times: list[str]) -> list[list[str]]:
    return [[t.format(x), label] for label, templates in INTENTS.items() for t in templates for x in times]


def squad(people: list[tuple[str, str]]) -> dict[str, Any]:
    paragraphs = []
    for i, (name, city) in enumerate(people):
        context = f"{name} lives in {city}. {name} works as a baker in the old town of {city} every day."
        paragraphs.append({"context": context, "qas": [
            {"id": f"q{i}a", "question": f"Where does {name} live?",
             "answers": [{"text": city, "answer_start": context.index(city)}]},
            {"id": f"q{i}b", "question": f"What does {name} work as?",
             "answers": [{"text": "a baker", "answer_start": context.index("a baker")}]},
        ]})
    return {"version": "1.1", "data": [{"title": "people", "paragraphs": paragraphs}]}


def tiny_inputs(root: Path) -> dict[str, Path]:
    """CLINC150-layout intents (36 train, 9 val, 9 test), SQuAD files (10 train questions, 2
    test), and a 2-layer BERT whose WordPiece vocabulary covers them."""
    data = {"train": clinc(TIMES[:4]), "val": clinc(TIMES[4:5]), "test": clinc(TIMES[5:]),
            "oos_test": [["hello there", "oos"]]}
    paths = {"clinc": root / "clinc.json", "qa_train": root / "qa_train.json", "qa_test": root / "qa_test.json"}
    paths["clinc"].write_text(json.dumps(data))
    paths["qa_train"].write_text(json.dumps(squad(PEOPLE[:5])))
    paths["qa_test"].write_text(json.dumps(squad(PEOPLE[5:])))
    texts = [t for rows in data.values() for t, _ in rows]
    for p in squad(PEOPLE)["data"][0]["paragraphs"]:
        texts += [p["context"], *(q["question"] for q in p["qas"])]
    paths["init"] = write_bert(root / "bert", texts)
    return paths


# ---- run_qa's processing ------------------------------------------------------------------------
def test_best_span_takes_the_best_valid_span_over_every_window() -> None:
    context = "Ada lives in Lyon near the river."
    offsets = [None, None, (0, 3), (4, 9), (10, 12), (13, 17), (18, 22), None]  # [CLS] q [SEP]... [SEP]
    # The highest start (position 1) lies in the question and the best end (2) before the
    # second-best start: the best valid span is "Lyon" (5..5), 5.0 + 4.0 against "Ada" 0.0 + 8.0.
    starts = [0.0, 9.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0]
    ends = [0.0, 0.0, 8.0, 0.0, 0.0, 4.0, 1.0, 0.0]
    assert bench.best_span(context, [(starts, ends, offsets)]) == "Lyon"
    # A second window with a better span ("near the", 6.0 + 5.0 > 5.0 + 4.0) wins.
    other = [None, None, None, None, None, None, (18, 22), (23, 26)]
    assert bench.best_span(context, [(starts, ends, offsets), ([0.0] * 6 + [6.0, 0.0], [0.0] * 7 + [5.0], other)]) == "near the"
    # Spans longer than max_answer_length tokens are skipped: "lives in Lyon" (3..5) is 3 tokens.
    wide = [0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.0, 9.0, 1.0, 0.0]
    assert bench.best_span(context, [(*wide, offsets)], max_answer_length=3) == "lives in Lyon"
    assert bench.best_span(context, [(*wide, offsets)], max_answer_length=2) == "lives"  # 9.0 + 0.5
    # Only candidates outside the context: no answer.
    assert bench.best_span(context, [([1.0, 2.0], [2.0, 1.0], [None, None])]) == ""


def test_train_windows_point_at_the_answer_tokens_or_at_cls(tmp_path: Path) -> None:
    from transformers import AutoTokenizer
    from tasklight_qa.readers import Answer, Question

    filler = " ".join(["the old town of berlin every day"] * 6)
    context = f"{filler} Ada lives in Lyon. {filler}"
    question = Question("Where does Ada live?", context, (Answer("Lyon", context.index("Lyon")),), "q1")
    tokenizer = AutoTokenizer.from_pretrained(write_bert(tmp_path / "bert", [context, question.question]))
    features = bench.qa_train_features(tokenizer, [question], max_length=32, stride=8)
    assert len(features) > 3  # a long context: several overlapping windows
    holding = [f for f in features if f["start_positions"] != 0]
    assert holding and len(holding) < len(features)
    for f in features:
        assert len(f["input_ids"]) <= 32 and f["input_ids"][0] == tokenizer.cls_token_id
        if f["start_positions"] == 0:
            assert f["end_positions"] == 0
        else:
            span = f["input_ids"][f["start_positions"] : f["end_positions"] + 1]
            assert tokenizer.decode(span) == "lyon"  # an uncased WordPiece vocabulary
    # The evaluation windows are the same windows, with offsets only on context tokens.
    windows = bench.qa_eval_windows(tokenizer, [question], max_length=32, stride=8)
    assert [w["input_ids"] for w in windows.features] == [f["input_ids"] for f in features]
    assert windows.example == [0] * len(features)
    first = windows.offsets[0]
    assert first[0] is None and first[-1] is None  # [CLS] and the last [SEP]
    begin, end = next(o for o in first if o is not None)
    assert context[begin:end] == "the"  # the first context token


# ---- the script -----------------------------------------------------------------------------------
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--task", "intent", "--init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path}: not a checkpoint directory (no config.json); pass --init\n"
    (tmp_path / "config.json").write_text("{}")
    assert bench.main(["--task", "qa", "--init", str(tmp_path), "--qa-train", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.json'}: no such file; pass --qa-train\n"
    assert bench.main(["--task", "intent", "--init", str(tmp_path), "--minutes", "0"]) == 2
    assert capsys.readouterr().err == "error: --minutes must be a positive number, got 0.0\n"


def test_a_missing_bench_extra_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    (tmp_path / "config.json").write_text("{}")
    clinc = tmp_path / "data_full.json"
    clinc.write_text("{}")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real(name, *a))
    assert bench.main(["--task", "intent", "--init", str(tmp_path), "--clinc", str(clinc)]) == 2
    assert capsys.readouterr().err == (
        "error: no module 'accelerate': the Trainer's side needs the bench extra, pip install -e '.[bench]'\n"
    )


def test_max_time_is_whole_seconds_in_lightnings_format() -> None:
    assert bench.max_time(20 * 60) == "00:00:20:00"
    assert bench.max_time(3.4) == "00:00:00:03"
    assert bench.max_time(0.2) == "00:00:00:01"  # never a zero budget
    assert bench.max_time(90061) == "01:01:01:01"


def test_the_tasklight_side_runs_this_checkouts_code_and_defaults(tmp_path: Path) -> None:
    """Run from a second checkout, the installed tasklight was another tree's, and this tree's
    platform.toml was read as a user's file that undid the fine-tuning defaults."""
    from benchmarks.side_by_side import checkout_env

    probe = "import tasklight.config as c; print(c.default_file().resolve())"
    done = subprocess.run([sys.executable, "-c", probe], env=checkout_env(), cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert Path(done.stdout.strip()) == (REPO / "core" / "tasklight" / "platform.toml").resolve()


@pytest.mark.slow  # about 40 seconds: the Trainer and two tasklight runs on a tiny BERT
def test_quick_run_reports_both_sides_of_both_tasks(tmp_path: Path) -> None:
    pytest.importorskip("accelerate", reason="HF's Trainer needs the bench extra: pip install -e '.[bench]'")
    inputs = tiny_inputs(tmp_path)
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "finetune_vs_hf.py"), "--quick", "--minutes", "0.05",
         "--init", str(inputs["init"]), "--clinc", str(inputs["clinc"]), "--qa-train", str(inputs["qa_train"]),
         "--qa-test", str(inputs["qa_test"]), "--out", str(tmp_path / "runs"), "--json", str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["minutes"] == 0.05 and result["threads"] == 1
    assert result["machine"] and result["date"][:2] == "20"
    assert list(result["tasks"]) == ["intent", "qa"]
    # The held-out validation examples come out of train (qa: 1 of the 10 questions).
    sizes = {"intent": ({"train": 36, "validation": 9, "test": 9}, ("accuracy", "macro_f1")),
             "qa": ({"train": 9, "validation": 1, "test": 2}, ("f1", "exact_match"))}
    for name, (examples, metrics) in sizes.items():
        r = result["tasks"][name]
        assert r["examples"] == examples
        assert r["max_length"] == 128  # both tasks capped at the tiny BERT's 128 positions
        for side in ("hf", "tasklight"):
            figures = r[side]
            assert list(figures["metrics"]) == list(metrics)
            assert all(0.0 <= v <= 100.0 for v in figures["metrics"].values())
            assert figures["steps"] > 0 and figures["tokens"] > 0
            assert math.isfinite(figures["tokens_per_s"]) and figures["tokens_per_s"] > 0
            assert figures["test_examples"] == examples["test"]  # both scored on the same test set
        assert r["tokens_per_s_ratio"] == pytest.approx(r["tasklight"]["tokens_per_s"] / r["hf"]["tokens_per_s"])
        assert set(r["aims"]) == {f"{metrics[0]} tasklight >= HF", "tokens/s ratio >= 1.3"}
        assert r["tasklight"]["command"].startswith(f"platform run {name} ")
        assert (Path(r["tasklight"]["run_dir"]) / "metrics.json").is_file()
        assert len((tmp_path / "runs" / name / "hf" / "predictions.jsonl").read_text().splitlines()) == examples["test"]
    assert result["tasks"]["intent"]["hf"]["stopped_by"] == "budget"
    assert result["tasks"]["qa"]["hf"]["doc_stride"] == 64  # run_qa's 128 does not fit 128-token windows
    table = done.stdout[done.stdout.index("task    side"):]
    rows = [line.split()[:2] for line in table.splitlines()[1:5]]
    assert rows == [["intent", "HF"], ["intent", "tasklight"], ["qa", "HF"], ["qa", "tasklight"]]
    assert f"wrote {out}" in done.stdout
