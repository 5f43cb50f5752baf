"""Llama (and SmolLM, TinyLlama and the like): a pre-norm decoder with RMSNorm, rotary
positions, a gated SiLU feed-forward, grouped-query attention and no biases."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from .family import Family, HFConfig

WEIGHTS = {
    "embed_tokens": "embed",
    "layers.{}.input_layernorm": "decoder.blocks.{}.ln_self",
    "layers.{}.self_attn.q_proj": "decoder.blocks.{}.self_attn.qkv:q",
    "layers.{}.self_attn.k_proj": "decoder.blocks.{}.self_attn.qkv:k",
    "layers.{}.self_attn.v_proj": "decoder.blocks.{}.self_attn.qkv:v",
    "layers.{}.self_attn.o_proj": "decoder.blocks.{}.self_attn.proj",
    "layers.{}.post_attention_layernorm": "decoder.blocks.{}.ln_ff",
    "layers.{}.mlp.gate_proj": "decoder.blocks.{}.ff.fc:gate",
    "layers.{}.mlp.up_proj": "decoder.blocks.{}.ff.fc:up",
    "layers.{}.mlp.down_proj": "decoder.blocks.{}.ff.proj",
    "norm": "decoder.ln_f",
    "lm_head": "lm_head",
}


def _rope_theta(hf: HFConfig) -> float:
    """transformers 5 writes ``rope_parameters``; older configs a top-level ``rope_theta``."""
    rope = hf.get("rope_parameters", {})
    if not isinstance(rope, dict) or rope.get("rope_type", "default") != "default":
        raise hf.refuse("rope_parameters", "tasklight implements rope_type 'default'")
    return float(rope.get("rope_theta", hf.get("rope_theta", 10000.0)))


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    hf.expect()
    d_model, n_heads = hf["hidden_size"], hf["num_attention_heads"]
    if hf.get("head_dim", d_model // n_heads) != d_model // n_heads:
        raise hf.refuse("head_dim", f"tasklight implements hidden_size / num_attention_heads = {d_model // n_heads}")
    bias = bool(hf.get("attention_bias", False))
    if bool(hf.get("mlp_bias", False)) != bias:
        raise hf.refuse("mlp_bias", f"tasklight needs it equal to attention_bias ({bias})")
    return TransformerConfig(
        shape="decoder-only",
        vocab_size=hf["vocab_size"],
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=hf.get("num_key_value_heads", n_heads),
        encoder_layers=0,
        decoder_layers=hf["num_hidden_layers"],
        d_ff=hf["intermediate_size"],
        dropout=0.0,  # Llama has no dropout outside attention
        attention_dropout=hf.get("attention_dropout", 0.0),
        max_positions=hf.get("max_position_embeddings", 2048),
        pad_id=hf.get("pad_token_id"),
        norm="rmsnorm",
        norm_eps=hf.get("rms_norm_eps", 1e-6),
        positions="rotary",
        rope_theta=_rope_theta(hf),
        activation=hf.activation("hidden_act", "silu"),
        gated_ff=True,
        bias=bias,
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
    )


def config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return {
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.kv_heads,
        "head_dim": config.head_size,
        "num_hidden_layers": config.decoder_layers,
        "intermediate_size": config.d_ff,
        "attention_dropout": config.attention_dropout,
        "max_position_embeddings": config.max_positions,
        "pad_token_id": config.pad_id,
        "rms_norm_eps": config.norm_eps,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        "hidden_act": {"gelu_tanh": "gelu_pytorch_tanh"}.get(config.activation, config.activation),
        "attention_bias": config.bias,
        "mlp_bias": config.bias,
        "tie_word_embeddings": config.tie_embeddings,
    }


FAMILY = Family(
    model_type="llama",
    architecture="LlamaForCausalLM",
    prefix="model",
    weights=WEIGHTS,
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    top_level=("lm_head",),
    ignored=("layers.{}.self_attn.rotary_emb.inv_freq",),
    heads=("score.",),
)
