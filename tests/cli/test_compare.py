"""``platform compare RUN_A RUN_B``: the paired test of two run directories written by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tasklight.cli import cli

LABELS = [f"intent_{i % 7}" for i in range(300)]


def make_run(path: Path, rows: list[dict[str, Any]], task: str = "intent", sha: str | None = "a1b2c3d4e5f6a7b8") -> Path:
    path.mkdir(parents=True)
    record = {"task": {"name": task, "version": "1"}, "dataset": {"name": "data", "split": "test", "size": len(rows)}}
    if sha:
        record["dataset"]["sha256"] = sha
    (path / "metrics.json").write_text(json.dumps(record))
    (path / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def intent_rows(correct: int) -> list[dict[str, Any]]:
    """300 examples, the first ``correct`` of them predicted right."""
    return [
        {"text": f"utterance {i}", "label": ref if i < correct else "intent_wrong", "reference": ref}
        for i, ref in enumerate(LABELS)
    ]


def compare(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["compare", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_identical_runs_are_no_difference(tmp_path):
    a = make_run(tmp_path / "a", intent_rows(200))
    b = make_run(tmp_path / "b", intent_rows(200))
    code, out = compare(str(a), str(b), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["a"]["value"] == result["b"]["value"] == pytest.approx(200 / 3)
    assert (result["difference"], result["p_value"], result["significant"], result["identical"]) == (0.0, 1.0, False, True)
    code, out = compare(str(a), str(b))
    assert out.splitlines()[-1] == "No difference: the two runs score the same on every example."


def test_a_clearly_better_run_is_significant_either_way_round(tmp_path):
    weak = make_run(tmp_path / "weak", intent_rows(150))
    strong = make_run(tmp_path / "strong", intent_rows(280))
    code, out = compare(str(weak), str(strong))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "intent · accuracy (higher is better) · 300 test examples"
    assert lines[1] == f"A     50.00  {weak}"
    assert lines[2] == f"B     93.33  {strong}"
    assert lines[3].startswith("B - A +43.33, p = 0.0010 (paired bootstrap over examples (two-sided), 1000 resamples)")
    assert lines[4] == "B is significantly better than A (p = 0.0010 < 0.05)."
    code, out = compare(str(strong), str(weak), "--json")
    result = json.loads(out)
    assert result["p_value"] == 1 / 1001 and result["significant"] is True
    assert result["verdict"] == "A is significantly better than B (p = 0.0010 < 0.05)."


def test_a_one_example_gap_is_not_significant(tmp_path):
    a = make_run(tmp_path / "a", intent_rows(200))
    b = make_run(tmp_path / "b", intent_rows(201))
    result = json.loads(compare(str(a), str(b), "--json")[1])
    assert result["difference"] == pytest.approx(100 / 300)
    assert result["p_value"] > 0.5 and result["significant"] is False
    assert result["verdict"].startswith("Not significant (p = ")


def test_another_metric_and_a_lower_is_better_one(tmp_path):
    a = make_run(tmp_path / "a", intent_rows(150))
    b = make_run(tmp_path / "b", intent_rows(280))
    result = json.loads(compare(str(a), str(b), "--metric", "macro_f1", "--json")[1])
    assert result["metric"] == "macro_f1" and result["significant"] is True
    texts = [f"text number {i} " * 3 for i in range(60)]

    def lm_rows(bits: float) -> list[dict[str, Any]]:
        return [{"chars": len(t), "tokens": 10, "nll": bits * len(t) * 0.6931471805599453, "reference": t} for t in texts]

    worse = make_run(tmp_path / "lm-worse", lm_rows(2.5), task="generation")
    better = make_run(tmp_path / "lm-better", lm_rows(1.5), task="generation")
    result = json.loads(compare(str(worse), str(better), "--json")[1])
    assert result["metric"] == "bits_per_char" and result["higher_is_better"] is False
    assert result["a"]["value"] == pytest.approx(2.5) and result["b"]["value"] == pytest.approx(1.5)
    assert result["verdict"].startswith("B is significantly better than A")


def test_translation_uses_sacrebleus_paired_bootstrap(tmp_path):
    refs = [f"the {c} cat sat on mat number {i} today" for i, c in enumerate(["red", "black", "white"] * 40)]
    good = [{"source": "x", "translation": r.replace("today", "now"), "reference": r} for r in refs]
    bad = [{"source": "x", "translation": " ".join(reversed(r.split())), "reference": r} for r in refs]
    a = make_run(tmp_path / "bad", bad, task="translation")
    b = make_run(tmp_path / "good", good, task="translation")
    result = json.loads(compare(str(a), str(b), "--json")[1])
    assert result["method"] == "sacreBLEU paired bootstrap (PairedTest, test_type=bs)"
    assert result["b"]["value"] > result["a"]["value"] and result["p_value"] < 0.01 and result["significant"]
    same = json.loads(compare(str(b), str(b), "--json")[1])
    assert same["p_value"] == 1.0 and same["identical"] is True


def one_error_line(code: int, out: str) -> str:
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    return lines[0]


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    a = make_run(tmp_path / "a", intent_rows(200))
    assert one_error_line(*compare(str(a), str(tmp_path / "nope"))) == f"Error: {tmp_path / 'nope'}: no such run directory"
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    assert "no metrics.json" in one_error_line(*compare(str(a), str(unfinished)))
    translation = make_run(tmp_path / "mt", [{"source": "x", "translation": "y", "reference": "z"}], task="translation")
    assert one_error_line(*compare(str(a), str(translation))) == (
        f"Error: runs of different tasks: {a} is intent, {translation} is translation"
    )
    other_data = make_run(tmp_path / "other", intent_rows(200), sha="ffffffffffffffff")
    assert one_error_line(*compare(str(a), str(other_data))).startswith("Error: different test sets: ")
    shorter = make_run(tmp_path / "short", intent_rows(200)[:250], sha=None)
    assert one_error_line(*compare(str(a), str(shorter))) == f"Error: different test sets: {a} has 300 predictions, {shorter} has 250"
    rows = intent_rows(200)
    rows[2]["reference"] = "intent_other"
    relabelled = make_run(tmp_path / "relabelled", rows, sha=None)
    assert one_error_line(*compare(str(a), str(relabelled))) == (
        "Error: different test sets: the references of example 3 differ (predictions.jsonl line 3)"
    )
    broken = make_run(tmp_path / "broken", intent_rows(200))
    with open(broken / "predictions.jsonl", "a") as handle:
        handle.write("{not json\n")
    assert one_error_line(*compare(str(broken), str(a))).startswith(f"Error: {broken / 'predictions.jsonl'}:301: malformed JSON")
    assert "has no metric 'bleu'" in one_error_line(*compare(str(a), str(a), "--metric", "bleu"))


def test_a_trained_run_compared_with_itself_is_no_difference(translation_run):
    result = json.loads(compare(str(translation_run), str(translation_run), "--json")[1])
    record = json.loads((translation_run / "metrics.json").read_text())
    assert result["a"]["value"] == pytest.approx(record["metrics"]["bleu"]["value"], abs=1e-9)
    assert (result["examples"], result["p_value"], result["identical"]) == (24, 1.0, True)
