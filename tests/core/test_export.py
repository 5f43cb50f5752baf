"""``platform export --format hf``: transformers' Auto classes load the run for its task with
the same logits, AutoTokenizer gives the same ids, and a model no family expresses is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import tasklight
from tasklight.cli import cli
from tasklight.data.batching import Collator
from tasklight.inference import load_run

from tests.tiny_checkpoints import write_bert

transformers = pytest.importorskip("transformers")

QUICK = {"trainer.val_check_interval": 2, "trainer.checkpoint_every_n_steps": 2, "data.limit_test": 16,
         "data.val_metric_examples": 16}
PAIRS = [("who wrote the book?", "the book was written by ann in london."), ("where is it?", "in paris, on a sunny day")]


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bert(tmp_path_factory.mktemp("ckpt") / "bert")


def export(run: Path, out: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "--run", str(run), "--format", "hf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote {out} (README.md, config.json, model.safetensors,")


def test_a_qa_run_exports_as_for_question_answering_with_the_same_logits(bert: Path, tmp_path: Path) -> None:
    run = tmp_path / "qa"
    tasklight.run("qa", init=bert, out=run, max_steps=2, quiet=True, set=QUICK)
    export(run, tmp_path / "hf")
    loaded = load_run(run, accelerator="cpu")
    hf = transformers.AutoModelForQuestionAnswering.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "BertForQuestionAnswering"
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    encoded = tokenizer([q for q, _ in PAIRS], [c for _, c in PAIRS], padding=True, return_tensors="pt")
    rows = []
    for question, context in PAIRS:
        ours = loaded.tokenizer.encode_input(question, context)
        rows.append({"input": ours.ids, "input_types": ours.token_types})
    batch = Collator(loaded.tokenizer.pad_id)(list(enumerate(rows)))
    real = batch["input_mask"]
    assert torch.equal(encoded["input_ids"][real], batch["input"][real])  # AutoTokenizer: the same ids
    assert torch.equal(encoded["token_type_ids"][real], batch["input_types"][real])
    with torch.no_grad():
        start, end = loaded.system.head.logits(loaded.system.model, batch)
        theirs = hf(**encoded)
    assert float((start - theirs.start_logits)[real].abs().max()) <= 1e-5
    assert float((end - theirs.end_logits)[real].abs().max()) <= 1e-5
    card = (tmp_path / "hf" / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\n")  # the checkpoint's licence travels on


def test_an_intent_run_with_the_pooler_exports_as_for_sequence_classification(bert: Path, tmp_path: Path) -> None:
    run = tmp_path / "intent"
    tasklight.run("intent", init=bert, out=run, max_steps=2, quiet=True, set={**QUICK, "head.pooling": "pooler"})
    export(run, tmp_path / "hf")
    loaded = load_run(run, accelerator="cpu")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "BertForSequenceClassification"
    assert list(hf.config.id2label.values()) == loaded.system.head.labels
    texts = ["wake me up at seven", "play some jazz music please"]
    encoded = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")(texts, padding=True, return_tensors="pt")
    batch = Collator(loaded.tokenizer.pad_id)([(i, {"input": loaded.tokenizer.encode_input(t).ids}) for i, t in enumerate(texts)])
    assert torch.equal(encoded["input_ids"], batch["input"])
    with torch.no_grad():
        ours = loaded.system.head.classify.logits(loaded.system.model, batch)
        theirs = hf(**encoded).logits
    assert float((ours - theirs).abs().max()) <= 1e-5


def test_the_checkpoints_pooler_is_reused(bert: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    run = tmp_path / "intent"
    tasklight.run("intent", init=bert, out=run, max_steps=1, quiet=True,
                  set={**QUICK, "head.pooling": "pooler", "trainer.lr": 0.0})
    pooler = load_file(bert / "model.safetensors")["pooler.dense.weight"]
    assert torch.equal(load_run(run, accelerator="cpu").system.head.classify.pooler.weight, pooler)


def _refused(run: Path, out: Path) -> str:
    result = CliRunner().invoke(cli, ["export", "--run", str(run), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    (line,) = result.output.strip().splitlines()
    return line


def test_a_mean_pooled_head_or_a_model_no_family_expresses_is_one_line(bert: Path, translation_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "intent"
    tasklight.run("intent", init=bert, out=run, max_steps=1, quiet=True, set=QUICK)
    assert _refused(run, tmp_path / "a") == (
        "Error: a classification head with pooling='mean' has no Hugging Face sequence-classification class "
        "(export needs pooling \"pooler\" on bert or roberta)")
    line = _refused(translation_run, tmp_path / "b")
    assert line.startswith("Error: this encoder-decoder model trained from scratch matches no Hugging Face family; "
                           "the closest, ")
    assert line.endswith("train with options a family has, or start from a checkpoint (--init)")


def test_export_refuses_a_directory_that_holds_files(bert: Path, translation_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["export", "--run", str(translation_run), "--out", str(out)])
    assert result.exit_code == 2 and result.output.strip() == f"Error: {out}: not empty; export writes into a new or empty directory"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
