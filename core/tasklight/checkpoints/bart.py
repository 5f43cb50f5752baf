"""BART and mBART: encoder-decoders with learned positions offset by 2, an embedding LayerNorm,
one embedding shared by encoder, decoder and output layer, and a fixed logits bias. BART is
post-norm; mBART is pre-norm with a final LayerNorm on each stack."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from .family import Family, HFConfig


def _layer(stack: str) -> dict[str, str]:
    ours = f"{stack}.blocks.{{}}"
    names = {
        f"{stack}.layers.{{}}.self_attn.q_proj": f"{ours}.self_attn.qkv:q",
        f"{stack}.layers.{{}}.self_attn.k_proj": f"{ours}.self_attn.qkv:k",
        f"{stack}.layers.{{}}.self_attn.v_proj": f"{ours}.self_attn.qkv:v",
        f"{stack}.layers.{{}}.self_attn.out_proj": f"{ours}.self_attn.proj",
        f"{stack}.layers.{{}}.self_attn_layer_norm": f"{ours}.ln_self",
        f"{stack}.layers.{{}}.fc1": f"{ours}.ff.fc",
        f"{stack}.layers.{{}}.fc2": f"{ours}.ff.proj",
        f"{stack}.layers.{{}}.final_layer_norm": f"{ours}.ln_ff",
    }
    if stack == "decoder":
        names |= {
            "decoder.layers.{}.encoder_attn.q_proj": f"{ours}.cross_attn.q",
            "decoder.layers.{}.encoder_attn.k_proj": f"{ours}.cross_attn.kv:k",
            "decoder.layers.{}.encoder_attn.v_proj": f"{ours}.cross_attn.kv:v",
            "decoder.layers.{}.encoder_attn.out_proj": f"{ours}.cross_attn.proj",
            "decoder.layers.{}.encoder_attn_layer_norm": f"{ours}.ln_cross",
        }
    return names


# The encoder-decoder layers, shared with Marian. "shared" comes first: it is the name written.
LAYERS = {
    "shared": "embed",
    "encoder.embed_tokens": "embed",
    "decoder.embed_tokens": "embed",
    "lm_head": "lm_head",
    "final_logits_bias": "lm_bias",
    **_layer("encoder"),
    **_layer("decoder"),
}

WEIGHTS = {
    **LAYERS,
    "encoder.embed_positions": "encoder.pos",
    "decoder.embed_positions": "decoder.pos",
    "encoder.layernorm_embedding": "encoder.ln_embed",
    "decoder.layernorm_embedding": "decoder.ln_embed",
}

MBART_WEIGHTS = {**WEIGHTS, "encoder.layer_norm": "encoder.ln_f", "decoder.layer_norm": "decoder.ln_f"}

POSITION_OFFSET = 2  # BART's position table has two rows before position 0


def seq2seq_config(hf: HFConfig, **options: Any) -> TransformerConfig:
    """The sizes every BART-like config names the same way (BART, mBART, Marian)."""
    for ours, theirs in (("encoder_attention_heads", "decoder_attention_heads"), ("encoder_ffn_dim", "decoder_ffn_dim")):
        if hf[ours] != hf[theirs]:
            raise hf.refuse(theirs, f"tasklight needs it equal to {ours} ({hf[ours]})")
    return TransformerConfig(
        shape="encoder-decoder",
        vocab_size=hf["vocab_size"],
        d_model=hf["d_model"],
        n_heads=hf["encoder_attention_heads"],
        encoder_layers=hf["encoder_layers"],
        decoder_layers=hf["decoder_layers"],
        d_ff=hf["encoder_ffn_dim"],
        dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("attention_dropout", 0.0),
        max_positions=hf.get("max_position_embeddings", 1024),
        pad_id=hf.get("pad_token_id", 1),
        activation=hf.activation("activation_function", "gelu"),
        scale_embeddings=bool(hf.get("scale_embedding", False)),
        tie_embeddings=bool(hf.get("tie_word_embeddings", True)),
        lm_bias=True,
        **options,
    )


def seq2seq_config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return {
        "vocab_size": config.vocab_size,
        "d_model": config.d_model,
        "encoder_attention_heads": config.n_heads,
        "decoder_attention_heads": config.n_heads,
        "encoder_layers": config.encoder_layers,
        "decoder_layers": config.decoder_layers,
        "encoder_ffn_dim": config.d_ff,
        "decoder_ffn_dim": config.d_ff,
        "dropout": config.dropout,
        "attention_dropout": config.attention_dropout,
        "max_position_embeddings": config.max_positions,
        "pad_token_id": config.pad_id,
        "activation_function": {"gelu_tanh": "gelu_new"}.get(config.activation, config.activation),
        "scale_embedding": config.scale_embeddings,
        "tie_word_embeddings": config.tie_embeddings,
    }


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    return seq2seq_config(hf, norm_position="post", position_offset=POSITION_OFFSET, embed_norm=True, final_norm=False)


def mbart_config_from_hf(hf: HFConfig) -> TransformerConfig:
    return seq2seq_config(hf, norm_position="pre", position_offset=POSITION_OFFSET, embed_norm=True, final_norm=True)


COMMON = dict(
    prefix="model",
    config_to_hf=seq2seq_config_to_hf,
    top_level=("lm_head", "final_logits_bias"),
    rows=("final_logits_bias",),
    heads=("classification_head.", "qa_outputs."),
    optional=("lm_bias",),  # BartModel checkpoints have no final_logits_bias: it stays zero
)

FAMILY = Family(
    model_type="bart", architecture="BartForConditionalGeneration", weights=WEIGHTS,
    config_from_hf=config_from_hf, **COMMON,  # type: ignore[arg-type]
)
MBART = Family(
    model_type="mbart", architecture="MBartForConditionalGeneration", weights=MBART_WEIGHTS,
    config_from_hf=mbart_config_from_hf, **COMMON,  # type: ignore[arg-type]
)
