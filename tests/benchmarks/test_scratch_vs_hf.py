"""benchmarks/scratch_vs_hf.py: bad input, the peer's tokenizer and data layout, the check that
tasklight's predictions rescore to its metrics.json, and a --quick run of both sides on a tiny
Multi30k-layout folder written here (its BLEU is untrained noise; the real comparison is the
20-minute run in RESULTS.md)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import scratch_vs_hf as bench
from tests.conftest import REPO

COLOURS = [("red", "rote"), ("blue", "blaue"), ("green", "grüne"), ("white", "weiße"), ("black", "schwarze")]
THINGS = [("dog", "Hund", "der"), ("cat", "Katze", "die"), ("house", "Haus", "das")]
VERBS = [("is here", "ist hier"), ("is small", "ist klein"), ("sleeps", "schläft"), ("runs, too", "läuft auch")]


def pairs() -> list[tuple[str, str]]:
    """60 English -> German sentence pairs."""
    out = []
    for colour, farbe in COLOURS:
        for thing, ding, article in THINGS:
            for verb, verb_de in VERBS:
                out.append((f"The {colour} {thing} {verb}.", f"{article.capitalize()} {farbe} {ding} {verb_de}."))
    return out


def multi30k(root: Path) -> Path:
    """Multi30k's layout: train (48 pairs), val (6) and test_2016_flickr (6)."""
    found = pairs()
    splits = {"train": found[:48], "val": found[48:54], "test_2016_flickr": found[54:]}
    root.mkdir(parents=True)
    for split, rows in splits.items():
        (root / f"{split}.en").write_text("".join(f"{en}\n" for en, _ in rows))
        (root / f"{split}.de").write_text("".join(f"{de}\n" for _, de in rows))
    return root


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert bench.main(["--data", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: {missing}: no such folder; pass --data (Multi30k's folder: train.en, train.de, ...)\n"
    )
    assert bench.main(["--data", str(tmp_path), "--minutes", "0"]) == 2
    assert capsys.readouterr().err == "error: --minutes must be a positive number, got 0.0\n"
    assert bench.main(["--data", str(tmp_path), "--minutes", "nan"]) == 2
    assert capsys.readouterr().err == "error: --minutes must be a positive number, got nan\n"
    assert bench.main(["--data", str(tmp_path), "--threads", "-1"]) == 2
    assert capsys.readouterr().err == "error: --threads must be 0 (torch's default) or more, got -1\n"
    assert bench.main(["--data", str(tmp_path), "--tl-set", "trainer.lr"]) == 2
    assert capsys.readouterr().err == "error: --tl-set expects key=value, got 'trainer.lr'\n"


def test_a_missing_bench_extra_is_one_line_after_the_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real(name, *a))
    assert bench.main(["--data", str(tmp_path / "nowhere")]) == 2  # a wrong path is named first
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert bench.main(["--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: no module 'accelerate': the Trainer's side needs the bench extra, pip install -e '.[bench]'\n"
    )


def test_data_that_tasklight_cannot_read_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("accelerate", reason="the bench extra: pip install -e '.[bench]'")
    data = multi30k(tmp_path / "m30k")
    (data / "test_2016_flickr.de").unlink()  # no test split any more: tasklight's reader says so
    assert bench.main(["--data", str(data), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: translation: ") and err.count("\n") == 1 and "test_2016_flickr" in err
    assert not (tmp_path / "runs").exists()  # nothing trained


# ---- the peer's side -----------------------------------------------------------------------------
def test_the_byte_level_bpe_spells_every_character_and_splits_punctuation() -> None:
    texts = [text for pair in pairs() for text in pair]
    tokenizer = bench.train_tokenizer(texts)
    assert [tokenizer.token_to_id(t) for t in bench.SPECIAL_TOKENS] == [0, 1, 2, 3]  # throughput.build_hf's ids
    encoding = tokenizer.encode("Die Katze, 5 €!", add_special_tokens=False)
    assert "," in encoding.tokens and "!" in encoding.tokens  # punctuation is a token of its own
    assert tokenizer.token_to_id("<unk>") not in encoding.ids  # "€" and "5" are unseen: spelled in bytes
    # Decoding gives the text back with the prefix space the pre-tokenizer added.
    assert tokenizer.decode(encoding.ids) == " Die Katze, 5 €!"


def test_sources_and_labels_are_cut_with_their_end_token_kept() -> None:
    tokenizer = bench.train_tokenizer([text for pair in pairs() for text in pair])
    full = tokenizer.encode("The red dog is here.", add_special_tokens=False).ids
    assert len(full) > 4
    assert bench.encode(tokenizer, ["The red dog is here."], [2], [3], 256) == [[2, *full, 3]]
    assert bench.encode(tokenizer, ["The red dog is here."], [2], [3], 4) == [[2, *full[:2], 3]]
    assert bench.encode(tokenizer, ["The red dog is here."], [], [3], 4) == [[*full[:3], 3]]


# ---- the rescoring check -------------------------------------------------------------------------
FAKE_RUN = """
import json, sys
from pathlib import Path
run, bleu, rows, code = Path(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
if code:
    print("error: something broke", file=sys.stderr)
    sys.exit(code)
run.mkdir(parents=True, exist_ok=True)
(run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
(run / "metrics.json").write_text(json.dumps({
    "metrics": {"bleu": {"value": bleu}, "chrf": {"value": 100.0}},
    "training": {"steps": 7, "target_tokens": 700, "wall_time_s": 3.5, "validation_time_s": 0.5},
}))
"""


def fake_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]], bleu: float,
              code: int = 0) -> dict[str, Any]:
    """``tasklight_side`` with a stand-in for ``platform run`` that writes the given run directory."""
    from tasklight.plugins import get_platform
    from tasklight_translation.task import Pair

    script = tmp_path / "fake_run.py"
    script.write_text(FAKE_RUN)
    run_dir = tmp_path / "runs" / "tasklight"
    monkeypatch.setattr(bench, "tasklight_command", lambda *a: [
        sys.executable, str(script), str(run_dir), str(bleu), json.dumps(rows), str(code)])
    plat = get_platform()
    test = [Pair(en, de) for en, de in pairs()[:3]]
    args = bench.parse_args(["--threads", "1"])
    args.seconds = 60.0
    return bench.tasklight_side(tmp_path, {}, test, plat.tasks.get("translation"), plat.metrics, args, run_dir)


def test_tasklight_is_rescored_from_its_predictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasklight.plugins import get_platform

    references = [de for _, de in pairs()[:3]]
    rows = [{"source": "x", "translation": de, "reference": de} for de in references]
    bleu = bench.score(get_platform().metrics, references, references)["bleu"].value
    result = fake_side(tmp_path, monkeypatch, rows, bleu)
    assert result["metrics"] == {"bleu": bleu, "chrf": 100.0}
    assert (result["steps"], result["tokens"], result["tokens_per_s"], result["validation_seconds"]) == (7, 700, 200.0, 0.5)
    assert result["signatures"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert result["test_examples"] == 3


def test_a_record_that_disagrees_with_its_predictions_stops_the_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasklight.plugins import get_platform

    references = [de for _, de in pairs()[:3]]
    rows = [{"source": "x", "translation": de, "reference": de} for de in references]
    bleu = bench.score(get_platform().metrics, references, references)["bleu"].value
    with pytest.raises(bench.BenchError) as caught:
        fake_side(tmp_path, monkeypatch, rows, 42.0)
    run_dir = tmp_path / "runs" / "tasklight"
    assert str(caught.value) == f"{run_dir}: bleu rescored from predictions.jsonl is {bleu}, metrics.json says 42.0"


def test_predictions_of_another_test_set_stop_the_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"source": "x", "translation": "Ein Hund.", "reference": "Ein Hund."}] * 3
    with pytest.raises(bench.BenchError) as caught:
        fake_side(tmp_path, monkeypatch, rows, 0.0)
    assert str(caught.value) == (f"{tmp_path / 'runs' / 'tasklight' / 'predictions.jsonl'}: its references are not "
                                 "the 3 test pairs the Trainer's side was scored on")


def test_a_failed_tasklight_run_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(bench.BenchError) as caught:
        fake_side(tmp_path, monkeypatch, [], 0.0, code=3)
    log = tmp_path / "runs" / "tasklight.log"
    assert str(caught.value) == f"the tasklight translation run failed (exit 3; {log}): error: something broke"
    assert log.read_text().startswith("$ ")


# ---- the script -----------------------------------------------------------------------------------
@pytest.mark.slow  # about a minute: the Seq2SeqTrainer and a tasklight run, each for 3 seconds, and their tests
def test_quick_run_reports_both_sides(tmp_path: Path) -> None:
    pytest.importorskip("accelerate", reason="HF's Trainer needs the bench extra: pip install -e '.[bench]'")
    data = multi30k(tmp_path / "m30k")
    out = tmp_path / "out.json"
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scratch_vs_hf.py"), "--quick", "--minutes", "0.05", "--threads", "1",
         "--data", str(data), "--out", str(runs), "--json", str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["minutes"] == 0.05 and result["threads"] == 1
    assert result["machine"] and result["date"][:2] == "20"
    assert {"torch", "transformers", "tokenizers", "sacrebleu", "tasklight"} <= set(result["versions"])
    assert result["examples"] == {"train": 48, "validation": 6, "test": 6}
    assert result["commands"]["tasklight"].startswith(
        f"platform run translation --data {data} --set data.src=en --set data.tgt=de --set data.test=test_2016_flickr "
        "--set data.limit_train=300 ")
    assert result["commands"]["benchmark"].startswith("python benchmarks/scratch_vs_hf.py --quick --minutes 0.05 ")
    for side in ("hf", "tasklight"):
        figures = result[side]
        assert list(figures["metrics"]) == ["bleu", "chrf"]
        assert all(0.0 <= v <= 100.0 for v in figures["metrics"].values())
        assert figures["steps"] > 0 and figures["tokens"] > 0
        assert math.isfinite(figures["tokens_per_s"]) and figures["tokens_per_s"] > 0
        assert figures["test_examples"] == 6
    # One sacreBLEU call scored both: the same signatures.
    assert result["hf"]["signatures"] == result["tasklight"]["signatures"]
    # tasklight's figures are its metrics.json's, whose BLEU its predictions.jsonl rescored to.
    record = json.loads((Path(result["tasklight"]["run_dir"]) / "metrics.json").read_text())
    assert result["tasklight"]["metrics"]["bleu"] == pytest.approx(record["metrics"]["bleu"]["value"], abs=1e-6)
    assert result["tasklight"]["tokens"] == record["training"]["target_tokens"]
    # The 48 training pairs are one batch of 64: every step trains on every label token
    # (each target's tokens and its </s>), counted by the Trainer's side.
    hf = result["hf"]
    assert hf["stopped_by"] == "budget" and hf["recipe"]["per_device_train_batch_size"] == 64
    tokenizer = bench.train_tokenizer([text for pair in pairs()[:48] for text in pair])
    per_epoch = sum(len(tokenizer.encode(de, add_special_tokens=False).ids) + 1 for _, de in pairs()[:48])
    assert hf["tokens"] == hf["steps"] * per_epoch
    assert hf["vocab_size"] == tokenizer.get_vocab_size()
    predictions = [json.loads(line) for line in (runs / "hf" / "predictions.jsonl").read_text().splitlines()]
    assert [p["reference"] for p in predictions] == [de for _, de in pairs()[54:]]
    table = done.stdout[done.stdout.index("side "):].splitlines()
    assert table[0].split() == ["side", "BLEU", "chrF", "steps", "train", "s", "target", "tokens/s"]
    assert [line.split()[:2] for line in table[1:3]] == [["HF", "BART"], ["tasklight", f"{result['tasklight']['metrics']['bleu']:.2f}"]]
    assert f"bleu: {hf['signatures']['bleu']}" in done.stdout
    assert f"wrote {out}" in done.stdout
