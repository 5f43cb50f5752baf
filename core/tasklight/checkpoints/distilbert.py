"""DistilBERT: BERT without token types, under other names."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from .family import Family, HFConfig

WEIGHTS = {
    "embeddings.word_embeddings": "embed",
    "embeddings.position_embeddings": "encoder.pos",
    "embeddings.LayerNorm": "encoder.ln_embed",
    "transformer.layer.{}.attention.q_lin": "encoder.blocks.{}.self_attn.qkv:q",
    "transformer.layer.{}.attention.k_lin": "encoder.blocks.{}.self_attn.qkv:k",
    "transformer.layer.{}.attention.v_lin": "encoder.blocks.{}.self_attn.qkv:v",
    "transformer.layer.{}.attention.out_lin": "encoder.blocks.{}.self_attn.proj",
    "transformer.layer.{}.sa_layer_norm": "encoder.blocks.{}.ln_self",
    "transformer.layer.{}.ffn.lin1": "encoder.blocks.{}.ff.fc",
    "transformer.layer.{}.ffn.lin2": "encoder.blocks.{}.ff.proj",
    "transformer.layer.{}.output_layer_norm": "encoder.blocks.{}.ln_ff",
}

NORM_EPS = 1e-12  # fixed in transformers' DistilBERT, not a config key


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    # sinusoidal_pos_embds only says how the position table was first filled: the table is in
    # the weights either way.
    return TransformerConfig(
        shape="encoder-only",
        vocab_size=hf["vocab_size"],
        d_model=hf["dim"],
        n_heads=hf["n_heads"],
        encoder_layers=hf["n_layers"],
        decoder_layers=0,
        d_ff=hf["hidden_dim"],
        dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("attention_dropout", 0.1),
        max_positions=hf.get("max_position_embeddings", 512),
        pad_id=hf.get("pad_token_id", 0),
        norm_position="post",
        norm_eps=NORM_EPS,
        activation=hf.activation("activation", "gelu"),
        embed_norm=True,
        final_norm=False,
    )


def config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return {
        "vocab_size": config.vocab_size,
        "dim": config.d_model,
        "n_heads": config.n_heads,
        "n_layers": config.encoder_layers,
        "hidden_dim": config.d_ff,
        "dropout": config.dropout,
        "attention_dropout": config.attention_dropout,
        "max_position_embeddings": config.max_positions,
        "pad_token_id": config.pad_id,
        "activation": {"gelu_tanh": "gelu_new"}.get(config.activation, config.activation),
        "sinusoidal_pos_embds": False,
    }


FAMILY = Family(
    model_type="distilbert",
    architecture="DistilBertModel",
    prefix="distilbert",
    weights=WEIGHTS,
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    nested=False,  # written as the base model class, as sentence encoders are published
    ignored=("embeddings.position_ids",),
    heads=("vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "pre_classifier.", "classifier.", "qa_outputs."),
)
