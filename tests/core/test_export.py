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
    assert result.output.startswith(f"Wrote {out} (README.md, config.json, ")
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in out.iterdir()}


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


def test_an_intent_run_from_distilbert_exports_as_its_sequence_classification_class(tmp_path: Path) -> None:
    """DistilBERT's classification class pools with its pre-classifier and a ReLU (BERT's
    pooler: tanh): a run started from DistilBERT computes so, trains, predicts and exports."""
    from tests.tiny_checkpoints import write_distilbert

    distilbert = write_distilbert(tmp_path / "distilbert")
    run = tmp_path / "intent"
    tasklight.run("intent", init=distilbert, out=run, max_steps=2, quiet=True, set={**QUICK, "head.pooling": "pooler"})
    assert tasklight.load(run).predict("play some jazz music")["label"] in load_run(run, accelerator="cpu").system.head.labels
    export(run, tmp_path / "hf")
    loaded = load_run(run, accelerator="cpu")
    assert loaded.system.head.classify.activation == "relu"
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "DistilBertForSequenceClassification"
    assert hf.config.id2label == dict(enumerate(loaded.system.head.labels))
    texts = ["wake me up at seven", "play some jazz music please", "what is the weather in paris"]
    encoded = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")(texts, padding=True, return_tensors="pt")
    batch = Collator(loaded.tokenizer.pad_id)([(i, {"input": loaded.tokenizer.encode_input(t).ids}) for i, t in enumerate(texts)])
    assert torch.equal(encoded["input_ids"], batch["input"])
    with torch.no_grad():
        ours = loaded.system.head.classify.logits(loaded.system.model, batch)
        theirs = hf(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits
    assert float((ours - theirs).abs().max()) <= 1e-5


def test_a_distilbert_classifiers_pre_classifier_is_reused_and_a_resumed_run_keeps_its_relu(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from tests.tiny_checkpoints import write_distilbert

    distilbert = write_distilbert(tmp_path / "distilbert", classifier=True)
    run = tmp_path / "intent"
    settings = {**QUICK, "head.pooling": "pooler", "trainer.lr": 0.0}
    tasklight.run("intent", init=distilbert, out=run, max_steps=1, quiet=True, set=settings)
    pre_classifier = load_file(distilbert / "model.safetensors")["pre_classifier.weight"]
    assert torch.equal(load_run(run, accelerator="cpu").system.head.classify.pooler.weight, pre_classifier)
    tasklight.run("intent", init=distilbert, out=run, max_steps=2, quiet=True, set=settings, resume=True)
    assert load_run(run, accelerator="cpu").system.head.classify.activation == "relu"
    export(run, tmp_path / "hf")  # pools as DistilBERT's class does, or export would refuse it


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
        "(export needs pooling \"pooler\" on bert, roberta or distilbert)")
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


def test_a_translation_run_from_bart_exports_as_a_seq2seq_lm_with_its_decoding(tmp_path: Path) -> None:
    from tests.tiny_checkpoints import write_bart

    bart = write_bart(tmp_path / "bart")
    run = tmp_path / "translation"
    tasklight.run("translation", init=bart, out=run, max_steps=2, quiet=True,
                  set={**QUICK, "data.limit_test": 4, "decoding.beam_size": 2})
    export(run, tmp_path / "hf")
    loaded = load_run(run, accelerator="cpu")
    tokenizer = loaded.tokenizer
    # BART's conventions, from its tokenizer and config: <s> a </s>, and a decoder that starts from </s>.
    row = loaded.task.encode(loaded.task.parse_input("one two", "input", loaded.ctx), tokenizer, loaded.ctx, train=True)[0]
    assert row["src"] == [0, *tokenizer.encode("one two"), 2] and row["tgt"][:2] == [2, 0]
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "BartForConditionalGeneration"
    texts = ["one two three", "four"]
    encoded = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")(texts, padding=True, return_tensors="pt")
    batch = Collator(tokenizer.pad_id)([(i, {"src": tokenizer.encode_input(t).ids}) for i, t in enumerate(texts)])
    assert torch.equal(encoded["input_ids"], batch["src"])
    target = torch.tensor([[2, 0, 5, 6, 7], [2, 0, 8, 9, 10]])
    model = loaded.system.model
    with torch.no_grad():
        ours = model.lm_logits(model.decode(target, model.encode(batch["src"], batch["src_mask"]), batch["src_mask"]))
        theirs = hf(**encoded, decoder_input_ids=target).logits
    assert float((ours - theirs).abs().max()) <= 1e-5
    generation = json.loads((tmp_path / "hf" / "generation_config.json").read_text())
    assert {k: generation[k] for k in ("decoder_start_token_id", "eos_token_id", "num_beams", "do_sample")} == {
        "decoder_start_token_id": 2, "eos_token_id": 2, "num_beams": 2, "do_sample": False}
    transformers.GenerationConfig.from_pretrained(tmp_path / "hf")  # transformers reads it


def test_a_generation_run_from_gpt2_continues_with_its_own_head_and_exports_as_a_causal_lm(tmp_path: Path) -> None:
    from tests.tiny_checkpoints import write_gpt2

    gpt2 = write_gpt2(tmp_path / "gpt2")
    run = tmp_path / "generation"
    tasklight.run("generation", init=gpt2, out=run, max_steps=2, quiet=True, set={**QUICK, "decoding.max_new_tokens": 4})
    loaded = load_run(run, accelerator="cpu")
    assert loaded.tokenizer.pad_id is None and loaded.system.model.config.pad_id is None  # none invented
    assert loaded.tokenizer.vocab_size == json.loads((gpt2 / "config.json").read_text())["vocab_size"]
    assert "continuation" in tasklight.load(run).predict("the book was")
    export(run, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "GPT2LMHeadModel"
    ids = torch.tensor([loaded.tokenizer.encode("the book was written by ann")])
    assert transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")("the book was written by ann")["input_ids"] == ids[0].tolist()
    with torch.no_grad():
        ours = loaded.system.model.lm_logits(loaded.system.model.decode(ids))
        theirs = hf(input_ids=ids).logits
    assert float((ours - theirs).abs().max()) <= 1e-5
    assert json.loads((tmp_path / "hf" / "generation_config.json").read_text())["max_new_tokens"] == 4


def test_the_token_classification_head_is_bert_for_token_classification(bert: Path, tmp_path: Path) -> None:
    """The token scaffold's head, over a pretrained BERT, in transformers' token-classification class."""
    from tasklight.checkpoints import load_hf, save_hf
    from tasklight.export import architecture_of, families

    model = load_hf(bert).model
    torch.manual_seed(0)
    head = tasklight.TokenClassificationHead(model.config.d_model, 5).eval()
    exported = head.to_hf("bert")
    assert exported.kind == "token-classification"
    save_hf(model, tmp_path / "hf", "bert", {"num_labels": 5, **exported.config}, exported.weights,
            architecture_of(families()["bert"], exported.kind))
    hf = transformers.AutoModelForTokenClassification.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "BertForTokenClassification"
    batch = Collator(0)([(0, {"input": [2, 7, 8, 9, 3]}), (1, {"input": [2, 10, 3]})])
    with torch.no_grad():
        ours = head.logits(model, batch)
        theirs = hf(input_ids=batch["input"], attention_mask=batch["input_mask"].long()).logits
    real = batch["input_mask"]
    assert float((ours - theirs)[real].abs().max()) <= 1e-5


def test_a_decoder_trained_from_scratch_matches_gpt2_and_exports(tmp_path: Path) -> None:
    run = tmp_path / "generation"
    tasklight.run("generation", out=run, max_steps=2, quiet=True,
                  set={**QUICK, "model.preset": "tiny", "tokenizer.vocab_size": 300})
    export(run, tmp_path / "hf")
    loaded = load_run(run, accelerator="cpu")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "GPT2LMHeadModel"
    ids = torch.tensor([[loaded.tokenizer.bos_id, *loaded.tokenizer.encode("the cat sat on the mat")]])
    with torch.no_grad():
        assert float((loaded.system.model.lm_logits(loaded.system.model.decode(ids)) - hf(input_ids=ids).logits).abs().max()) <= 1e-5
    # AutoTokenizer reads the tokenizer trained here with its special tokens and layout.
    assert transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")("the cat sat")["input_ids"] == \
        loaded.tokenizer.encode_input("the cat sat").ids
    assert "license" not in (tmp_path / "hf" / "README.md").read_text()


BERT_SIZES = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                  max_position_embeddings=40)
CLASSIFICATION_CONFIGS = {
    "bert": ("BertForSequenceClassification", lambda: transformers.BertConfig(**BERT_SIZES)),
    "roberta": ("RobertaForSequenceClassification", lambda: transformers.RobertaConfig(**BERT_SIZES)),
    "distilbert": ("DistilBertForSequenceClassification", lambda: transformers.DistilBertConfig(
        vocab_size=60, dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=40)),
}


@pytest.mark.parametrize("family", list(CLASSIFICATION_CONFIGS))
def test_the_pooler_classification_head_is_the_familys_sequence_classification_class(family: str, tmp_path: Path) -> None:
    from tasklight.checkpoints import load_hf, save_hf
    from tasklight.export import architecture_of, families

    torch.manual_seed(0)
    class_name, config = CLASSIFICATION_CONFIGS[family]
    transformers.AutoModel.from_config(config()).save_pretrained(tmp_path / "base")
    model = load_hf(tmp_path / "base").model
    head = tasklight.ClassificationHead(16, 3, pooling="pooler").eval()
    head.from_pretrained({}, family)  # as for a run started from this checkpoint: the family's activation
    exported = head.to_hf(family)
    save_hf(model, tmp_path / "hf", family, exported.config, exported.weights,
            architecture_of(families()[family], exported.kind))
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == class_name
    pad = model.config.pad_id
    batch = Collator(pad)([(0, {"input": [5, 7, 8, 9, 6]}), (1, {"input": [5, 10, 6]})])
    with torch.no_grad():
        ours = head.logits(model, batch)
        theirs = hf(input_ids=batch["input"], attention_mask=batch["input_mask"].long()).logits
    assert float((ours - theirs).abs().max()) <= 1e-5


def test_a_head_pooled_with_tanh_is_not_distilberts_classification_class() -> None:
    head = tasklight.ClassificationHead(16, 3, pooling="pooler")
    with pytest.raises(tasklight.UserError) as err:
        head.to_hf("distilbert")
    assert str(err.value) == "this classification head pools with tanh, and distilbert's sequence-classification class with relu"
