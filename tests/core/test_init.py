"""``--init``: a run starts from a checkpoint's weights and tokenizer, records where they came
from, and every bad source is one line, exit 2, with nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import tasklight
from tasklight.checkpoints import load_hf
from tasklight.cli import cli
from tasklight.model_io import read_checkpoint

from tests.conftest import REPO
from tests.tiny_checkpoints import write_bert

QUICK = {"trainer.val_check_interval": 2, "trainer.checkpoint_every_n_steps": 2, "data.limit_test": 16,
         "data.val_metric_examples": 16}


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bert(tmp_path_factory.mktemp("ckpt") / "bert")


@pytest.fixture(scope="module")
def started(bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An intent run started from the tiny BERT with a learning rate of 0: its backbone
    must still be the checkpoint's, weight for weight."""
    out = tmp_path_factory.mktemp("runs") / "intent"
    tasklight.run("intent", init=bert, out=out, max_steps=2, quiet=True,
                  set={**QUICK, "trainer.lr": 0.0, "model.dropout": 0.0, "model.attention_dropout": 0.0})
    return out


def test_the_backbone_starts_from_the_checkpoint(bert: Path, started: Path) -> None:
    state = read_checkpoint(started / "checkpoints" / "last.ckpt")["state_dict"]
    reference = load_hf(bert).model.state_dict()
    backbone = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    assert sorted(backbone) == sorted(reference)
    assert all(torch.equal(backbone[k], reference[k]) for k in reference)
    assert any(k.startswith("head.") for k in state)  # the new head is the run's own


def test_the_run_records_where_its_weights_came_from(bert: Path, started: Path) -> None:
    info = json.loads((started / "run.json").read_text())
    weights = hashlib.sha256((bert / "model.safetensors").read_bytes()).hexdigest()
    assert info["init"] == {
        "source": str(bert), "name": "bert", "path": str(bert.resolve()), "revision": None, "model_type": "bert",
        "weights_sha256": {"model.safetensors": weights}, "license": "apache-2.0",
        "config": json.loads((bert / "config.json").read_text()),
    }
    record = json.loads((started / "metrics.json").read_text())
    assert record["model"]["init"]["name"] == "bert" and record["model"]["init"]["source"] == str(bert)
    assert record["model"]["preset"] is None
    # Its config.json's shape, with the dropouts that were set (the checkpoint's attention dropout is 0.1).
    assert (record["model"]["d_model"], record["model"]["encoder_layers"], record["model"]["dropout"]) == (16, 2, 0.0)
    assert record["model"]["attention_dropout"] == 0.0 and info["init"]["config"]["attention_probs_dropout_prob"] == 0.1
    assert record["model"]["norm_position"] == "post" and record["model"]["type_vocab_size"] == 2
    # The checkpoint's tokenizer, unchanged, with the files that name its special tokens.
    assert (started / "tokenizer.json").read_text() != "" and (started / "tokenizer_config.json").is_file()
    assert tasklight.Tokenizer.load(started / "tokenizer.json").roles["start"] == "[CLS]"
    assert 'init = "' in (started / "config.toml").read_text()


def test_a_run_started_from_a_checkpoint_predicts(started: Path) -> None:
    out = tasklight.load(started).predict("wake me up at seven")
    assert set(out) == {"text", "label", "probability", "alternatives"}


def _fails(args: list[str], out: Path) -> str:
    result = CliRunner().invoke(cli, ["run", *args, "--out", str(out), "--max-steps", "1", "--quiet"])
    assert result.exit_code == 2, result.output
    assert not out.exists()  # nothing written
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def _copy(bert: Path, target: Path) -> Path:
    target.mkdir()
    for path in bert.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_bad_sources_are_one_line_and_write_nothing(bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _fails(["intent", "--init", str(empty)], out) == f"Error: {empty}: no config.json (not a Hugging Face model directory)"
    assert _fails(["intent", "--init", str(tmp_path / "nowhere")], out).startswith(f"Error: --init {tmp_path / 'nowhere'}: no such directory")

    t5 = _copy(bert, tmp_path / "t5")
    (t5 / "config.json").write_text(json.dumps({**json.loads((bert / "config.json").read_text()), "model_type": "t5"}))
    assert _fails(["intent", "--init", str(t5)], out) == (
        f"Error: {t5 / 'config.json'}: model_type 't5' is not supported; supported: bart, bert, distilbert, gpt2, llama, "
        "marian, mbart, roberta")

    truncated = _copy(bert, tmp_path / "truncated")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt safetensors file" in _fails(["intent", "--init", str(truncated)], out)

    untokenized = _copy(bert, tmp_path / "untokenized")
    (untokenized / "tokenizer.json").unlink()
    assert _fails(["intent", "--init", str(untokenized)], out) == (
        f"Error: {untokenized}: no tokenizer.json; tasklight uses a checkpoint's own tokenizer, in the Hugging Face "
        "tokenizers format (or Marian's source.spm, target.spm and vocab.json)")

    remote = _copy(bert, tmp_path / "remote")
    (remote / "config.json").write_text(json.dumps(
        {**json.loads((bert / "config.json").read_text()), "auto_map": {"AutoModel": "modeling_evil.EvilModel"}}))
    assert _fails(["intent", "--init", str(remote)], out) == (
        f"Error: {remote / 'config.json'}: the model asks for remote code (auto_map: modeling_evil.EvilModel); "
        "tasklight runs no code from a checkpoint")


def test_a_set_that_contradicts_the_checkpoint_is_one_line(bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _fails(["intent", "--init", str(bert), "--set", "model.d_model=32"], out) == (
        f"Error: --init {bert}: the model's shape comes from its config.json: model.d_model gives d_model=32, "
        "the checkpoint has 16; drop those --set")
    assert "model.preset=tiny gives d_model=64, the checkpoint has 16" in _fails(
        ["intent", "--init", str(bert), "--set", "model.preset=tiny"], out)
    assert _fails(["intent", "--init", str(bert), "--set", "data.max_length=512"], out) == (
        f"Error: --init {bert}: data.max_length=512 is longer than the checkpoint's 128 positions; "
        "--set data.max_length=128")


def test_a_checkpoint_serves_the_tasks_of_its_shape(bert: Path, tmp_path: Path) -> None:
    assert _fails(["translation", "--init", str(bert)], tmp_path / "out") == (
        f"Error: --init {bert}: a bert checkpoint is encoder-only; it serves encoder-only tasks (intent, qa), "
        "and translation is encoder-decoder")


def test_resume_with_another_init_is_one_error(bert: Path, started: Path, tmp_path: Path) -> None:
    other = _copy(bert, tmp_path / "other")
    for extra in (["--init", str(other)], []):
        result = CliRunner().invoke(cli, ["run", "intent", "--out", str(started), "--resume", "--quiet", *extra])
        assert result.exit_code == 2, result.output
        was = f"started from --init {bert}, resumed with {'--init ' + str(other) if extra else 'no --init'}"
        assert result.output.strip() == f"Error: {started}: {was}; resume with the --init it started with"


def test_a_hub_model_without_network_names_the_model_the_cache_and_hf_hub_offline(tmp_path: Path) -> None:
    pytest.importorskip("huggingface_hub")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": os.pathsep.join(
        [str(REPO / "core"), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")])}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-m", "tasklight", "run", "intent", "--init", "hf:sentence-transformers/all-MiniLM-L6-v2",
         "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "Error: --init hf:sentence-transformers/all-MiniLM-L6-v2: model sentence-transformers/all-MiniLM-L6-v2 is not "
        f"in the Hugging Face cache ({tmp_path / 'hf' / 'hub'}) and HF_HUB_OFFLINE is set; download it where there is "
        "network, or give a local directory")
    assert not (tmp_path / "out").exists()


def test_fine_tuning_defaults_apply_under_explicit_settings() -> None:
    from tasklight.config import resolve_config
    from tasklight.plugins import get_platform

    task = get_platform().tasks.get("intent")
    scratch = resolve_config(task, "../data.json")
    assert scratch["trainer.schedule"] == "inverse_sqrt" and scratch["trainer.lr"] == 0.0007
    tuned = resolve_config(task, "../data.json", cli={"model.init": "some/checkpoint"})
    assert (tuned["trainer.lr"], tuned["trainer.warmup_steps"], tuned["trainer.schedule"]) == (1e-4, 100, "auto")
    assert (scratch["trainer.head_lr"], tuned["trainer.head_lr"]) == (0.0, 1e-3)  # a new head learns 10x faster
    mine = resolve_config(task, "../data.json", overrides=["trainer.lr=3e-5"], cli={"model.init": "some/checkpoint"})
    assert mine["trainer.lr"] == 3e-5 and "trainer.lr" in mine.explicit and "trainer.warmup_steps" not in mine.explicit


def test_attention_dropout_is_the_runs_and_hidden_dropout_the_checkpoints_unless_set(bert: Path) -> None:
    from tasklight.config import resolve_config
    from tasklight.plugins import get_platform
    from tasklight.pretrained import backbone_config, open_pretrained

    platform = get_platform()
    task, pretrained = platform.tasks.get("intent"), open_pretrained(str(bert))
    hf = json.loads((bert / "config.json").read_text())
    assert (hf["hidden_dropout_prob"], hf["attention_probs_dropout_prob"]) == (0.1, 0.1)

    def dropouts(*overrides: str) -> tuple[float, float, float]:
        config = resolve_config(task, "../data.json", overrides=list(overrides), cli={"model.init": str(bert)})
        model = backbone_config(pretrained, task, config, [t for _, t in platform.tasks.items()])
        return model.dropout, model.attention_dropout, model.word_dropout

    assert dropouts() == (0.1, 0.0, 0.0)
    assert dropouts("model.attention_dropout=0.1", "model.dropout=0.2", "model.word_dropout=0.1") == (0.2, 0.1, 0.1)


def test_a_run_from_a_checkpoint_resumes_with_the_same_init(bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    tasklight.run("intent", init=bert, out=out, max_steps=2, quiet=True, set=QUICK)
    record = tasklight.run("intent", init=str(bert), out=out, max_steps=4, resume=True, quiet=True, set=QUICK)
    assert record["training"]["steps"] == 4 and record["model"]["init"]["source"] == str(bert)


def test_an_encoder_decoder_checkpoint_serves_an_encoder_only_task_through_its_encoder(tmp_path: Path) -> None:
    from tests.tiny_checkpoints import write_bart

    bart = write_bart(tmp_path / "bart")
    out = tmp_path / "intent"
    record = tasklight.run("intent", init=bart, out=out, max_steps=1, quiet=True, set={**QUICK, "trainer.lr": 0.0})
    assert (record["model"]["shape"], record["model"]["decoder_layers"]) == ("encoder-only", 0)
    state = read_checkpoint(out / "checkpoints" / "last.ckpt")["state_dict"]
    encoder = {k: v for k, v in load_hf(bart).model.state_dict().items() if k.startswith(("embed.", "encoder."))}
    assert all(torch.equal(state[f"model.{k}"], v) for k, v in encoder.items())
    assert not any(k.startswith("model.decoder.") for k in state)
    assert _fails(["generation", "--init", str(bart)], tmp_path / "x") == (
        f"Error: --init {bart}: a bart checkpoint is encoder-decoder; it serves encoder-decoder and encoder-only "
        "tasks (intent, qa, summarization, translation), and generation is decoder-only")
