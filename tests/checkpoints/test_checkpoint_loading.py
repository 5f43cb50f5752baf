"""Loading checkpoints as they come (sharded, pickled, from task classes), the real MiniLM
checkpoint, and every bad input as one line naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from tasklight.checkpoints import load_hf, save_hf
from tasklight.checkpoints.bert import config_from_hf as bert_config
from tasklight.checkpoints.family import HFConfig
from tasklight.errors import UserError
from tasklight.model import Transformer, TransformerConfig

MINILM = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "all-MiniLM-L6-v2"
BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
            max_position_embeddings=32)


def bert_dir(tmp_path: Path, model_class: type = transformers.BertModel, **overrides: object) -> tuple[Path, object]:
    torch.manual_seed(0)
    model = model_class(transformers.BertConfig(**{**BERT, **overrides})).eval()
    path = tmp_path / "bert"
    model.save_pretrained(path)
    return path, model


def hidden_diff(path: Path, reference: object) -> float:
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    mask = ids != 0
    with torch.no_grad():
        want = reference(input_ids=ids, attention_mask=mask.long())[0]
        if want.dim() == 2:  # a task class: compare its backbone instead
            want = reference.base_model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        got = load_hf(path).model.encode(ids, mask)
    return float((want - got)[mask].abs().max())


def error(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        load_hf(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---- checkpoints as they come ------------------------------------------------------------------

def test_sharded_safetensors_load(tmp_path: Path) -> None:
    path, model = bert_dir(tmp_path)
    model.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    assert len(list((tmp_path / "sharded").glob("model-*.safetensors"))) > 1
    assert hidden_diff(tmp_path / "sharded", model) <= 1e-5
    assert len(load_hf(tmp_path / "sharded").files) > 1


def test_pytorch_model_bin_loads_with_weights_only(tmp_path: Path) -> None:
    path, model = bert_dir(tmp_path)
    tensors = load_file(path / "model.safetensors")
    (path / "model.safetensors").unlink()
    torch.save(tensors, path / "pytorch_model.bin")
    assert hidden_diff(path, model) <= 1e-5


def test_a_task_class_checkpoint_keeps_its_head_weights_aside(tmp_path: Path) -> None:
    """BertForSequenceClassification nests the backbone under ``bert.``; its pooler and
    classifier are not the backbone's and are handed back by name for a task head."""
    path, model = bert_dir(tmp_path, transformers.BertForSequenceClassification, num_labels=3)
    checkpoint = load_hf(path)
    assert sorted(checkpoint.head_weights) == [
        "classifier.bias", "classifier.weight", "pooler.dense.bias", "pooler.dense.weight"]
    assert torch.equal(checkpoint.head_weights["classifier.weight"], model.classifier.weight)
    assert hidden_diff(path, model) <= 1e-5


def test_a_bart_base_model_checkpoint_has_a_zero_logits_bias(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = transformers.BartConfig(vocab_size=40, d_model=16, encoder_layers=1, decoder_layers=1,
                                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=24,
                                     decoder_ffn_dim=24, max_position_embeddings=32)
    transformers.BartModel(config).save_pretrained(tmp_path / "bart")
    model = load_hf(tmp_path / "bart").model
    assert model.lm_bias is not None and torch.equal(model.lm_bias, torch.zeros(40))


def test_a_model_trained_here_exports_when_its_options_match_a_family(tmp_path: Path) -> None:
    config = TransformerConfig(vocab_size=30, shape="decoder-only", d_model=16, n_heads=2, encoder_layers=0,
                               decoder_layers=2, d_ff=32, max_positions=24, pad_id=0, activation="gelu_tanh")
    torch.manual_seed(0)
    model = Transformer(config).eval()
    out = save_hf(model, tmp_path / "gpt2", "gpt2")
    reloaded = transformers.GPT2LMHeadModel.from_pretrained(out, attn_implementation="eager").eval()
    ids = torch.tensor([[3, 4, 5, 6, 7]])
    with torch.no_grad():
        assert float((reloaded(input_ids=ids).logits - model(tgt_ids=ids)).abs().max()) <= 1e-5


# ---- the real checkpoint -------------------------------------------------------------------------

def test_the_real_minilm_checkpoint_matches_transformers() -> None:
    if not (MINILM / "config.json").is_file():
        pytest.skip(f"needs {MINILM} (the shared models are not beside this checkout)")
    tokenizer = transformers.AutoTokenizer.from_pretrained(MINILM)
    sentences = ["A man is eating food.", "A man is riding a horse on the beach at sunset.", "Who?"]
    batch = tokenizer(sentences, ["", "", "He rode it."], padding=True, return_tensors="pt")
    reference = transformers.BertModel.from_pretrained(MINILM, attn_implementation="eager").eval()
    checkpoint = load_hf(MINILM)
    mask = batch["attention_mask"].bool()
    assert batch["token_type_ids"].max() == 1  # the second segment is used
    with torch.no_grad():
        want = reference(**batch).last_hidden_state
        got = checkpoint.model.encode(batch["input_ids"], mask, batch["token_type_ids"])
    assert float((want - got)[mask].abs().max()) <= 1e-4
    assert checkpoint.model.config.d_model == 384 and checkpoint.model.config.encoder_layers == 6
    assert sorted(checkpoint.head_weights) == ["pooler.dense.bias", "pooler.dense.weight"]


# ---- bad input, one line each --------------------------------------------------------------------

def test_a_directory_without_config_json(tmp_path: Path) -> None:
    assert error(tmp_path) == f"{tmp_path}: no config.json (not a Hugging Face model directory)"
    assert "not a directory" in error(tmp_path / "absent")


def test_an_unsupported_model_type_lists_the_supported_ones(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert error(tmp_path) == (
        f"{tmp_path / 'config.json'}: model_type 't5' is not supported; supported: "
        "bart, bert, distilbert, gpt2, llama, marian, mbart, roberta"
    )


def test_remote_code_is_refused_by_name(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (path / "config.json").write_text(json.dumps(config))
    message = error(path)
    assert "asks for remote code (auto_map: modeling_evil.EvilModel)" in message


def test_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    assert error(tmp_path).startswith(f"{tmp_path / 'config.json'}: not valid JSON")


def test_a_truncated_safetensors_file(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    assert error(path).startswith(f"{path / 'model.safetensors'}: truncated or corrupt safetensors file (")


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    (path / "model.safetensors").unlink()
    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (ran,))

    torch.save({"weight": Payload()}, path / "pytorch_model.bin")
    message = error(path)
    assert message.startswith(f"{path / 'pytorch_model.bin'}: refused, it holds more than tensors")
    assert not ran.exists()


def test_no_weights(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    (path / "model.safetensors").unlink()
    assert error(path) == f"{path}: no weights (model.safetensors, model.safetensors.index.json or pytorch_model.bin)"


def test_a_missing_shard(tmp_path: Path) -> None:
    _, model = bert_dir(tmp_path)
    model.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    shard = sorted((tmp_path / "sharded").glob("model-*.safetensors"))[0]
    shard.unlink()
    assert error(tmp_path / "sharded") == f"{tmp_path / 'sharded' / 'model.safetensors.index.json'}: shard {shard.name} is missing"


def rewrite_weights(path: Path, change) -> None:
    tensors = load_file(path / "model.safetensors")
    change(tensors)
    save_file(tensors, path / "model.safetensors", metadata={"format": "pt"})


def test_missing_unexpected_and_misshapen_weights_are_named(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    original = load_file(path / "model.safetensors")

    rewrite_weights(path, lambda t: t.pop("encoder.layer.1.attention.self.key.weight"))
    assert error(path) == f"{path}: missing weights for a bert model: encoder.layer.1.attention.self.key.weight"

    save_file(original, path / "model.safetensors")
    rewrite_weights(path, lambda t: t.update({"encoder.layer.2.output.dense.weight": torch.zeros(16, 24),
                                              "extra.thing": torch.zeros(1)}))
    assert error(path) == (
        f"{path}: unexpected weights for a bert model: encoder.layer.2.output.dense.weight, extra.thing")

    save_file(original, path / "model.safetensors")
    rewrite_weights(path, lambda t: t.update({"encoder.layer.0.output.dense.weight": torch.zeros(16, 20)}))
    assert error(path) == f"{path}: wrong shapes: encoder.layer.0.output.dense.weight (16, 20) (expected (16, 24))"


@pytest.mark.parametrize("key, value, says", [
    ("rope_scaling", {"rope_type": "linear", "factor": 2.0}, "rope_scaling = {'rope_type': 'linear', 'factor': 2.0} is not supported"),
    ("head_dim", 16, "head_dim = 16 is not supported (tasklight implements hidden_size / num_attention_heads = 8)"),
    ("sliding_window", 4096, "sliding_window = 4096 is not supported"),
    ("rope_parameters", {"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}, "rope_parameters = "),
    ("mlp_bias", True, "mlp_bias = True is not supported (tasklight needs it equal to attention_bias (False))"),
])
def test_config_keys_tasklight_does_not_implement_are_named(tmp_path: Path, key: str, value: object, says: str) -> None:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=40, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                      intermediate_size=48, max_position_embeddings=32)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data[key] = value
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert error(tmp_path).startswith(f"{tmp_path / 'config.json'}: {says}")


def test_a_relative_position_bert_is_refused() -> None:
    config = HFConfig({**BERT, "model_type": "bert", "position_embedding_type": "relative_key"}, Path("c.json"))
    with pytest.raises(UserError, match=r"^c.json: position_embedding_type = 'relative_key' is not supported"):
        bert_config(config)


def test_a_model_a_family_cannot_express_names_the_options_in_the_way(tmp_path: Path) -> None:
    model = Transformer(TransformerConfig(vocab_size=30, shape="encoder-only", d_model=16, n_heads=2, d_ff=32))
    with pytest.raises(UserError) as caught:
        save_hf(model, tmp_path / "out", "bert")
    assert str(caught.value) == (
        "this model cannot be written as bert: norm_position='pre', embed_norm=False, final_norm=True"
    )
    assert not (tmp_path / "out").exists()


def test_export_never_writes_over_files(tmp_path: Path) -> None:
    path, _ = bert_dir(tmp_path)
    checkpoint = load_hf(path)
    with pytest.raises(UserError, match="not empty"):
        save_hf(checkpoint.model, path, "bert", checkpoint.hf_config)
    assert load_hf(path).model.config == checkpoint.model.config  # still there, unchanged


@pytest.mark.parametrize("change, says", [
    ({"model_type": ["bert"]}, "model_type ['bert'] is not supported; supported: bart, "),
    ({"hidden_size": 15}, "d_model (15) must be a positive multiple of n_heads (2)"),
    ({"hidden_size": "16"}, "hidden_size = '16' is not int"),
    ({"layer_norm_eps": "small"}, "layer_norm_eps = 'small' is not float"),
    ({"num_hidden_layers": None}, "no 'num_hidden_layers', which a bert model needs"),
])
def test_malformed_configs(tmp_path: Path, change: dict, says: str) -> None:
    path, _ = bert_dir(tmp_path)
    data = json.loads((path / "config.json").read_text())
    data.update(change)
    (path / "config.json").write_text(json.dumps(data))
    message = error(path)
    assert message.startswith(f"{path / 'config.json'}: ") and says in message
