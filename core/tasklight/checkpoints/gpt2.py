"""GPT-2: a pre-norm decoder with learned positions, tanh-approximated GELU and a tied output
layer. Its Linears are Conv1D modules that store weights as (in, out)."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from .family import Family, HFConfig

WEIGHTS = {
    "wte": "embed",
    "wpe": "decoder.pos",
    "h.{}.ln_1": "decoder.blocks.{}.ln_self",
    "h.{}.attn.c_attn": "decoder.blocks.{}.self_attn.qkv",  # already fused q, k, v
    "h.{}.attn.c_proj": "decoder.blocks.{}.self_attn.proj",
    "h.{}.ln_2": "decoder.blocks.{}.ln_ff",
    "h.{}.mlp.c_fc": "decoder.blocks.{}.ff.fc",
    "h.{}.mlp.c_proj": "decoder.blocks.{}.ff.proj",
    "ln_f": "decoder.ln_f",
    "lm_head": "lm_head",
}


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    hf.expect(scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False)
    return TransformerConfig(
        shape="decoder-only",
        vocab_size=hf["vocab_size"],
        d_model=hf["n_embd"],
        n_heads=hf["n_head"],
        encoder_layers=0,
        decoder_layers=hf["n_layer"],
        d_ff=hf.get("n_inner", 4 * hf["n_embd"]),
        dropout=hf.get("resid_pdrop", 0.1),
        attention_dropout=hf.get("attn_pdrop", 0.1),
        max_positions=hf.get("n_positions", 1024),
        pad_id=hf.get("pad_token_id"),  # GPT-2 has none
        norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        activation=hf.activation("activation_function", "gelu_new"),
        tie_embeddings=bool(hf.get("tie_word_embeddings", True)),
    )


def config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return {
        "vocab_size": config.vocab_size,
        "n_embd": config.d_model,
        "n_head": config.n_heads,
        "n_layer": config.decoder_layers,
        "n_inner": config.d_ff,
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.attention_dropout,
        "n_positions": config.max_positions,
        "pad_token_id": config.pad_id,
        "layer_norm_epsilon": config.norm_eps,
        "activation_function": {"gelu_tanh": "gelu_new"}.get(config.activation, config.activation),
        "tie_word_embeddings": config.tie_embeddings,
    }


FAMILY = Family(
    model_type="gpt2",
    architecture="GPT2LMHeadModel",
    prefix="transformer",
    weights=WEIGHTS,
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    top_level=("lm_head",),
    transposed=("h.{}.attn.c_attn", "h.{}.attn.c_proj", "h.{}.mlp.c_fc", "h.{}.mlp.c_proj"),
    ignored=("h.{}.attn.bias", "h.{}.attn.masked_bias"),  # causal-mask buffers of old checkpoints
    heads=("score.", "multiple_choice_head."),
)
