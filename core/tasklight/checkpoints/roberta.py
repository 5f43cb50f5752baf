"""RoBERTa: BERT's layout, with learned positions that start after the padding id."""

from __future__ import annotations

from typing import Any

from tasklight.model import TransformerConfig

from . import bert
from .family import Family, HFConfig


def config_from_hf(hf: HFConfig) -> TransformerConfig:
    # Positions count from pad_token_id + 1 (fairseq's convention): the table's first rows
    # are never used by a real token.
    return bert.config_from_hf(hf, position_offset=hf.get("pad_token_id", 1) + 1)


def config_to_hf(config: TransformerConfig) -> dict[str, Any]:
    return bert.config_to_hf(config)


FAMILY = Family(
    model_type="roberta",
    architecture="RobertaModel",
    prefix="roberta",
    weights=bert.WEIGHTS,
    config_from_hf=config_from_hf,
    config_to_hf=config_to_hf,
    nested=False,  # written as the base model class, as sentence encoders are published
    ignored=("embeddings.position_ids",),
    heads=("pooler.", "lm_head.", "classifier.", "qa_outputs."),
)
