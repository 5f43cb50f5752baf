"""Marian (the OPUS-MT translation models): BART's names, post-norm, fixed sinusoidal
positions, scaled embeddings, no embedding LayerNorm, one vocabulary for both sides."""

from __future__ import annotations

from tasklight.model import TransformerConfig

from . import bart
from .family import Family, HFConfig


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    hf.expect(share_encoder_decoder_embeddings=True)
    if hf.get("decoder_vocab_size", hf["vocab_size"]) != hf["vocab_size"]:
        raise hf.refuse("decoder_vocab_size", f"tasklight needs it equal to vocab_size ({hf['vocab_size']})")
    return bart.seq2seq_config(hf, norm_position="post", positions="sinusoidal", embed_norm=False, final_norm=False)


FAMILY = Family(
    model_type="marian",
    architecture="MarianMTModel",
    prefix="model",
    weights=bart.LAYERS,
    config_from_hf=config_from_hf,
    config_to_hf=lambda config: {**bart.seq2seq_config_to_hf(config), "share_encoder_decoder_embeddings": True,
                                 "decoder_vocab_size": config.vocab_size},
    top_level=("lm_head", "final_logits_bias"),
    rows=("final_logits_bias",),
    # Older checkpoints store the sinusoidal tables; they are computed, not loaded.
    ignored=("encoder.embed_positions.weight", "decoder.embed_positions.weight"),
    optional=("lm_bias",),
)
