"""The transformer (three shapes) and autoregressive decoding."""

from .decoding import generate
from .transformer import DecoderCache, Transformer, TransformerConfig

__all__ = ["DecoderCache", "Transformer", "TransformerConfig", "generate"]
