"""BERT (MiniLM is BERT): a post-norm encoder with token types and an embedding LayerNorm."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from .family import Family, HFConfig

# The names inside one encoder layer, shared with RoBERTa.
LAYER = {
    "encoder.layer.{}.attention.self.query": "encoder.blocks.{}.self_attn.qkv:q",
    "encoder.layer.{}.attention.self.key": "encoder.blocks.{}.self_attn.qkv:k",
    "encoder.layer.{}.attention.self.value": "encoder.blocks.{}.self_attn.qkv:v",
    "encoder.layer.{}.attention.output.dense": "encoder.blocks.{}.self_attn.proj",
    "encoder.layer.{}.attention.output.LayerNorm": "encoder.blocks.{}.ln_self",
    "encoder.layer.{}.intermediate.dense": "encoder.blocks.{}.ff.fc",
    "encoder.layer.{}.output.dense": "encoder.blocks.{}.ff.proj",
    "encoder.layer.{}.output.LayerNorm": "encoder.blocks.{}.ln_ff",
}

WEIGHTS = {
    "embeddings.word_embeddings": "embed",
    "embeddings.position_embeddings": "encoder.pos",
    "embeddings.token_type_embeddings": "encoder.types",
    "embeddings.LayerNorm": "encoder.ln_embed",
    **LAYER,
}


def config_from_hf(hf: HFConfig, position_offset: int = 0) -> TransformerConfig:
    hf.expect(position_embedding_type="absolute")
    return TransformerConfig(
        shape="encoder-only",
        vocab_size=hf["vocab_size"],
        d_model=hf["hidden_size"],
        n_heads=hf["num_attention_heads"],
        encoder_layers=hf["num_hidden_layers"],
        decoder_layers=0,
        d_ff=hf["intermediate_size"],
        dropout=hf.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        max_positions=hf.get("max_position_embeddings", 512) - position_offset,
        position_offset=position_offset,
        pad_id=hf.get("pad_token_id", 0),
        norm_position="post",
        norm_eps=hf.get("layer_norm_eps", 1e-12),
        activation=hf.activation("hidden_act", "gelu"),
        embed_norm=True,
        type_vocab_size=hf.get("type_vocab_size", 2),
        final_norm=False,
    )


def config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return {
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "num_attention_heads": config.n_heads,
        "num_hidden_layers": config.encoder_layers,
        "intermediate_size": config.d_ff,
        "hidden_dropout_prob": config.dropout,
        "attention_probs_dropout_prob": config.attention_dropout,
        "max_position_embeddings": config.max_positions + config.position_offset,
        "pad_token_id": config.pad_id,
        "layer_norm_eps": config.norm_eps,
        "hidden_act": {"gelu_tanh": "gelu_new"}.get(config.activation, config.activation),
        "type_vocab_size": config.type_vocab_size,
        "position_embedding_type": "absolute",
    }


FAMILY = Family(
    model_type="bert",
    architecture="BertModel",
    prefix="bert",
    weights=WEIGHTS,
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    nested=False,  # written as the base model class, as sentence encoders are published
    ignored=("embeddings.position_ids",),
    heads=("pooler.", "cls.", "classifier.", "qa_outputs."),
)
