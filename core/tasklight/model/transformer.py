"""The one transformer of tasklight, in a single readable file.

Three shapes share the same building blocks:

* ``encoder-decoder``: BART/mBART/Marian-like seq2seq (encoder + decoder with cross-attention),
* ``encoder-only``:    BERT-like bidirectional encoder,
* ``decoder-only``:    GPT-2- or Llama-like causal language model.

By default every block is pre-norm (LayerNorm -> sublayer -> residual), every stack ends in a
final LayerNorm, positions are learned absolute embeddings, and the token embedding is shared
by the encoder, the decoder and the output projection (tied). All Linears have biases and the
self-attention projection is one fused ``qkv`` Linear. ``TransformerConfig`` names the other
choices the common pretrained families made (norm position and kind, positions, activation,
grouped-query attention, biases, embedding norm and scale, token types, the output layer), and
each is written once below, so a Hugging Face checkpoint maps onto this model name for name
(``tasklight.checkpoints``).

Incremental decoding runs the very same blocks: ``decode(new_ids, cache=cache)`` feeds only
the tokens the cache has not seen, each self-attention layer appends its keys and values to
its ``LayerCache`` and attends over everything written so far, and cross-attention reads the
keys and values of the encoder output that were projected once, when the cache was made.

Shape legend: B batch, S source length, T target length, C d_model, H heads, Hkv key/value
heads, Dh head size (C // H), V vocabulary, L cached length, E examples (B / beams).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tasklight.task import SHAPES


NORMS = ("layernorm", "rmsnorm")
POSITIONS = ("learned", "sinusoidal", "rotary")
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu": F.gelu, "gelu_tanh": partial(F.gelu, approximate="tanh"), "relu": F.relu, "silu": F.silu,
}


@dataclass
class TransformerConfig:
    vocab_size: int
    shape: str = "encoder-decoder"
    d_model: int = 256
    n_heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 3
    d_ff: int = 1024
    dropout: float = 0.1
    attention_dropout: float = 0.0
    # Whole input tokens dropped in training: each token's embedding is zeroed with this
    # probability (the rest scaled by 1 / (1 - p)), so the model cannot lean on any one word.
    word_dropout: float = 0.0
    max_positions: int = 512
    # None: the vocabulary has no padding token (GPT-2, Llama); masks must then be explicit.
    pad_id: int | None = 0
    # Architecture options; the defaults are tasklight's own model.
    norm_position: str = "pre"  # "pre": x + f(norm(x)); "post": norm(x + f(x)) (BERT, BART, Marian)
    norm: str = "layernorm"  # or "rmsnorm" (Llama)
    norm_eps: float = 1e-5
    positions: str = "learned"  # or "sinusoidal" (Marian), "rotary" (Llama)
    position_offset: int = 0  # learned tables with rows before position 0 (RoBERTa, BART: 2)
    rope_theta: float = 10000.0
    activation: str = "gelu"  # exact GELU; "gelu_tanh" (GPT-2), "relu", "silu"
    gated_ff: bool = False  # act(x W_gate) * (x W_up), the GLU feed-forward (Llama: with silu)
    n_kv_heads: int | None = None  # grouped-query self-attention; None: one per query head
    bias: bool = True  # biases of the attention and feed-forward Linears
    embed_norm: bool = False  # a norm over token + position embeddings (BERT, BART)
    scale_embeddings: bool = False  # token embeddings times sqrt(d_model) (mBART, Marian)
    type_vocab_size: int = 0  # token-type (segment) embeddings of the encoder (BERT: 2)
    final_norm: bool = True  # a norm after each stack's last block (pre-norm models)
    tie_embeddings: bool = True  # the output layer is the token embedding
    lm_bias: bool = False  # a fixed bias on the logits (BART's final_logits_bias)

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            allowed = ", ".join(repr(s) for s in SHAPES)
            raise ValueError(f"shape must be one of {allowed}; got {self.shape!r}")
        if self.vocab_size <= 0:
            raise ValueError(f"vocab_size must be positive; got {self.vocab_size}")
        if self.d_model <= 0 or self.n_heads <= 0 or self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be a positive multiple of n_heads ({self.n_heads})"
            )
        if self.encoder_layers < 0 or self.decoder_layers < 0:
            raise ValueError("encoder_layers and decoder_layers must be >= 0")
        if self.max_positions <= 0:
            raise ValueError(f"max_positions must be positive; got {self.max_positions}")
        if self.pad_id is not None and not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id ({self.pad_id}) must be a token id in [0, {self.vocab_size})")
        for name, value, allowed in (
            ("norm_position", self.norm_position, ("pre", "post")),
            ("norm", self.norm, NORMS),
            ("positions", self.positions, POSITIONS),
            ("activation", self.activation, tuple(ACTIVATIONS)),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        if self.n_kv_heads is not None and (self.n_kv_heads <= 0 or self.n_heads % self.n_kv_heads):
            raise ValueError(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})")
        if self.positions == "rotary" and self.head_size % 2:
            raise ValueError(f"rotary positions need an even head size; got {self.head_size}")
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model; got {self.d_model}")
        if self.position_offset < 0 or self.type_vocab_size < 0:
            raise ValueError("position_offset and type_vocab_size must be >= 0")

    @property
    def head_size(self) -> int:
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads


def _norm(config: TransformerConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.d_model, eps=config.norm_eps)
    return nn.LayerNorm(config.d_model, eps=config.norm_eps)


def _sinusoids(n_positions: int, dim: int) -> Tensor:
    """(n_positions, dim) fixed position table: sin(p * w_i) in the first half, cos(p * w_i) in
    the second, w_i = 10000^(-2i / dim) (Vaswani et al.; Marian's layout)."""
    w = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))  # (dim/2,)
    angles = torch.arange(n_positions, dtype=torch.float64)[:, None] * w[None, :]  # (P, dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def _rotary_tables(n_positions: int, head_size: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin, each (n_positions, Dh), for rotating the halves of a head (Llama's layout:
    dimension i pairs with i + Dh/2, frequency theta^(-2i / Dh))."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_size, 2, dtype=torch.int64).float() / head_size)  # (Dh/2,)
    angles = torch.arange(n_positions).float()[:, None] * inv_freq[None, :]  # (P, Dh/2)
    angles = torch.cat([angles, angles], dim=1)  # (P, Dh)
    return angles.cos(), angles.sin()


def _rotate(x: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
    """x (B, H, T, Dh) rotated by position: cos, sin (T, Dh) for the T positions of x."""
    cos, sin = rope
    half = x.size(-1) // 2
    rotated_half = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos.to(x.dtype) + rotated_half * sin.to(x.dtype)


def _key_padding_mask(real: Tensor | None) -> Tensor | None:
    """(B, S) bool, True = real token  ->  SDPA boolean mask (B, 1, 1, S), True = may attend.

    Returns None when nothing is padded, which lets SDPA pick its fastest kernels.
    """
    if real is None or bool(real.all()):
        return None
    # A query whose keys are *all* masked gets a softmax over nothing, i.e. NaN, and NaN leaks
    # through every later layer. That only happens for an all-padding sequence; let such a row
    # attend everywhere instead. Its outputs are garbage-but-finite and ignored downstream.
    real = real | ~real.any(dim=-1, keepdim=True)
    return real[:, None, None, :]


def _attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float, is_causal: bool) -> Tensor:
    """q (B, H, T, Dh); k, v (E, H, L, Dh) with B a multiple of E -> (B, H, T, Dh).

    When B = g * E, each g consecutive query rows read one key/value row: the beams of one
    example against its single copy of the encoder's keys and values. Their queries are laid
    side by side, (E, H, g * T, Dh), so one attention call serves them all.
    """
    B, H, T, Dh = q.shape
    g = B // k.size(0)
    if g > 1:
        q = q.view(k.size(0), g, H, T, Dh).transpose(1, 2).reshape(k.size(0), H, g * T, Dh)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
    if g > 1:
        y = y.view(k.size(0), H, g, T, Dh).transpose(1, 2).reshape(B, H, T, Dh)
    return y


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout while training; the identity otherwise, without dispatching an operation (a
    decoding step calls this a dozen times for nothing).

    On CPU the mask is made from 16-bit random numbers, four from each 64-bit draw, because
    torch's CPU dropout draws one random number per element, and drawing them was a large
    part of a fine-tuning step (benchmarks/RESULTS.md). The drop probability is then p rounded
    to a multiple of 1/65536, and the kept values are scaled by 1 / (1 - that probability)."""
    if not (training and p > 0):
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, training=True)
    n, cut = x.numel(), round(p * 65536)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)  # all 64 bits random
    keep = draws.view(torch.int16)[:n].view(x.shape) >= cut - 32768  # P(keep) = 1 - cut / 65536
    return x * keep.to(x.dtype).mul_(65536 / (65536 - cut))


def _split_heads(x: Tensor, n_heads: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)  # (B, H, T, Dh)


def _merge_heads(x: Tensor) -> Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, C)


class LayerCache:
    """One decoder layer's memory between decoding calls.

    ``k``/``v`` (B, H, max_len, Dh) hold this layer's self-attention keys and values, written
    in place as tokens arrive (no concatenation per step); ``length`` counts those written.
    ``cross_k``/``cross_v`` (E, H, S, Dh), or None without cross-attention, are the encoder
    output's keys and values, projected once when the cache is made.
    """

    def __init__(self, k: Tensor, v: Tensor, cross_kv: tuple[Tensor, Tensor] | None) -> None:
        self.k, self.v = k, v
        self.cross_kv = cross_kv
        self.length = 0

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append new keys/values (B, H, T, Dh); return all written so far, (B, H, L+T, Dh)."""
        start, end = self.length, self.length + k.size(2)
        if end > self.k.size(2):
            raise ValueError(f"decoder cache is full: {end} tokens > max_len {self.k.size(2)}")
        if self.k.dtype != k.dtype:  # under autocast the compute dtype decides
            self.k, self.v = self.k.to(k.dtype), self.v.to(v.dtype)
        self.k.narrow(2, start, end - start).copy_(k)
        self.v.narrow(2, start, end - start).copy_(v)
        self.length = end
        return self.k.narrow(2, 0, end), self.v.narrow(2, 0, end)


class DecoderCache:
    """Everything incremental decoding keeps between calls, made by ``Transformer.new_cache``:
    one ``LayerCache`` per decoder layer and the source padding mask for cross-attention.

    Rows can be reordered (beam search following its beams, finished rows leaving). With
    ``beams`` > 1, each group of ``beams`` consecutive rows decodes one example and reads a
    single copy of that example's encoder keys and values.
    """

    def __init__(self, layers: list[LayerCache], cross_mask: Tensor | None, beams: int) -> None:
        self.layers = layers
        self.cross_mask = cross_mask  # (E, 1, 1, S) bool, True = may attend, or None
        self.beams = beams

    @property
    def length(self) -> int:
        """Tokens decoded so far (every layer has written as many)."""
        return self.layers[0].length if self.layers else 0

    @property
    def batch_size(self) -> int:
        return self.layers[0].k.size(0) if self.layers else 0

    def expand(self, beams: int) -> None:
        """Each row becomes ``beams`` consecutive copies (beam search after its first step);
        the copies of one row share its encoder keys and values."""
        if self.beams != 1:
            raise ValueError("expand() needs a cache of one row per example")
        for layer in self.layers:
            layer.k = layer.k.repeat_interleave(beams, dim=0)
            layer.v = layer.v.repeat_interleave(beams, dim=0)
        self.beams = beams

    def reorder(self, index: Tensor, same_memory: bool = False) -> None:
        """Keep rows ``index`` (LongTensor; rows may repeat or disappear).

        ``same_memory=True`` promises that row i of the result reads the same encoder output
        as row i did before (beams of one example trading places): cross-attention keys and
        values stay where they are. Otherwise they follow the rows (a whole group of beams
        moves together).
        """
        if same_memory and index.numel() != self.batch_size:
            raise ValueError("same_memory reorder must keep the number of rows")
        in_place = same_memory and _is_in_place(index)
        for layer in self.layers:
            written = layer.length
            if in_place:
                # Every row that is read from keeps its own contents: copy only the rows that
                # change, straight from their sources (beam search arranges its beams so).
                moved = (index != torch.arange(index.numel(), device=index.device)).nonzero().squeeze(1)
                for buffer in (layer.k, layer.v):
                    kept = buffer[:, :, :written]
                    kept.index_copy_(0, moved, kept.index_select(0, index[moved]))
            else:
                layer.k = layer.k.index_select(0, index)
                layer.v = layer.v.index_select(0, index)
        if same_memory:
            return
        rows = index if self.beams == 1 else index.view(-1, self.beams)[:, 0] // self.beams
        for layer in self.layers:
            if layer.cross_kv is not None:
                layer.cross_kv = (layer.cross_kv[0].index_select(0, rows), layer.cross_kv[1].index_select(0, rows))
        if self.cross_mask is not None:
            self.cross_mask = self.cross_mask.index_select(0, rows)


def _is_in_place(index: Tensor) -> bool:
    """Whether rows ``index`` can be gathered in place: no row that is read is overwritten
    before it is read, i.e. every source row keeps its own contents (``index[index] == index``)."""
    return bool((index[index] == index).all())


class SelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        C, kv_size = config.d_model, config.kv_heads * config.head_size
        self.n_heads, self.n_kv_heads = config.n_heads, config.kv_heads
        self.attention_dropout = config.attention_dropout
        self.split = (C, kv_size, kv_size)
        self.qkv = nn.Linear(C, C + 2 * kv_size, bias=config.bias)  # fused: one matmul for q, k and v
        self.proj = nn.Linear(C, C, bias=config.bias)
        self.dropout_p = config.dropout

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        is_causal: bool = False,
        cache: LayerCache | None = None,
        rope: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """x (B, T, C) -> (B, T, C). With a cache, keys and values of earlier calls join in;
        ``rope`` (cos, sin), each (T, Dh), rotates queries and keys by their positions."""
        q, k, v = self.qkv(x).split(self.split, dim=2)
        q = _split_heads(q, self.n_heads)  # (B, H, T, Dh)
        k, v = _split_heads(k, self.n_kv_heads), _split_heads(v, self.n_kv_heads)  # (B, Hkv, T, Dh)
        if rope is not None:
            q, k = _rotate(q, rope), _rotate(k, rope)
        if cache is not None:
            k, v = cache.update(k, v)  # (B, Hkv, L+T, Dh): everything decoded so far
        if self.n_kv_heads != self.n_heads:  # grouped-query: each key/value head serves a group
            k = k.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)  # (B, H, L+T, Dh)
            v = v.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
        dropout_p = self.attention_dropout if self.training else 0.0
        y = _attention(q, k, v, mask, dropout_p, is_causal)  # (B, H, T, Dh)
        return _dropout(self.proj(_merge_heads(y)), self.dropout_p, self.training)


class CrossAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        C = config.d_model
        self.n_heads = config.n_heads
        self.attention_dropout = config.attention_dropout
        self.q = nn.Linear(C, C, bias=config.bias)
        self.kv = nn.Linear(C, 2 * C, bias=config.bias)  # separate from q: k/v come from the encoder, once per source
        self.proj = nn.Linear(C, C, bias=config.bias)
        self.dropout_p = config.dropout

    def memory_kv(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """(E, S, C) encoder output -> keys and values, each (E, H, S, Dh)."""
        k, v = self.kv(memory).split(memory.size(-1), dim=2)
        return _split_heads(k, self.n_heads), _split_heads(v, self.n_heads)

    def forward(self, x: Tensor, memory_kv: tuple[Tensor, Tensor], mask: Tensor | None = None) -> Tensor:
        """x (B, T, C); keys and values (E, H, S, Dh) with B a multiple of E; mask (E, 1, 1, S)."""
        q = _split_heads(self.q(x), self.n_heads)  # (B, H, T, Dh)
        dropout_p = self.attention_dropout if self.training else 0.0
        y = _attention(q, *memory_kv, mask, dropout_p, is_causal=False)  # (B, H, T, Dh)
        return _dropout(self.proj(_merge_heads(y)), self.dropout_p, self.training)  # (B, T, C)


class FeedForward(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.gated = config.gated_ff
        # Gated: one matmul gives the gate and the up projection side by side, (B, T, 2 * d_ff).
        self.fc = nn.Linear(config.d_model, (2 if self.gated else 1) * config.d_ff, bias=config.bias)
        self.act = ACTIVATIONS[config.activation]
        self.proj = nn.Linear(config.d_ff, config.d_model, bias=config.bias)
        self.dropout_p = config.dropout

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc(x)  # (B, T, d_ff), or (B, T, 2 * d_ff) when gated
        if self.gated:
            gate, up = h.chunk(2, dim=-1)
            h = self.act(gate) * up
        else:
            h = self.act(h)
        return _dropout(self.proj(h), self.dropout_p, self.training)  # (B, T, C)


class Block(nn.Module):
    """One layer: self-attention, optional cross-attention, feed-forward, each a residual
    sublayer with its norm before it (pre-norm) or after the sum (post-norm)."""

    def __init__(self, config: TransformerConfig, cross_attention: bool) -> None:
        super().__init__()
        self.pre_norm = config.norm_position == "pre"
        self.ln_self = _norm(config)
        self.self_attn = SelfAttention(config)
        self.ln_cross = _norm(config) if cross_attention else None
        self.cross_attn = CrossAttention(config) if cross_attention else None
        self.ln_ff = _norm(config)
        self.ff = FeedForward(config)

    def _residual(self, x: Tensor, norm: nn.Module, sublayer: Callable[[Tensor], Tensor]) -> Tensor:
        if self.pre_norm:
            return x + sublayer(norm(x))
        return norm(x + sublayer(x))

    def forward(
        self,
        x: Tensor,
        *,
        self_mask: Tensor | None = None,
        is_causal: bool = False,
        cache: LayerCache | None = None,
        rope: tuple[Tensor, Tensor] | None = None,
        memory_kv: tuple[Tensor, Tensor] | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        """x (B, T, C) -> (B, T, C)."""
        x = self._residual(x, self.ln_self, lambda h: self.self_attn(h, self_mask, is_causal, cache, rope))
        if self.cross_attn is not None and self.ln_cross is not None:
            if memory_kv is None:
                raise ValueError("this block has cross-attention and needs the encoder's keys/values")
            cross_attn = self.cross_attn
            x = self._residual(x, self.ln_cross, lambda h: cross_attn(h, memory_kv, memory_mask))
        return self._residual(x, self.ln_ff, self.ff)


class Stack(nn.Module):
    """An encoder or a decoder: its position scheme, optional token types and embedding norm,
    the blocks, a final norm."""

    def __init__(self, config: TransformerConfig, n_layers: int, cross_attention: bool, token_types: bool) -> None:
        super().__init__()
        C = config.d_model
        self.pos = (
            nn.Embedding(config.position_offset + config.max_positions, C) if config.positions == "learned" else None
        )
        # Fixed tables are buffers, not weights: (max_positions, C) and 2 x (max_positions, Dh).
        sinusoids = _sinusoids(config.max_positions, C) if config.positions == "sinusoidal" else None
        cos, sin = (
            _rotary_tables(config.max_positions, config.head_size, config.rope_theta)
            if config.positions == "rotary"
            else (None, None)
        )
        self.register_buffer("sinusoids", sinusoids, persistent=False)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.types = nn.Embedding(config.type_vocab_size, C) if token_types and config.type_vocab_size else None
        self.ln_embed = _norm(config) if config.embed_norm else nn.Identity()
        self.blocks = nn.ModuleList(Block(config, cross_attention) for _ in range(n_layers))
        # Pre-norm leaves the residual stream un-normalized; normalize once at the end.
        self.ln_f = _norm(config) if config.final_norm else nn.Identity()

    def rope(self, start: int, T: int) -> tuple[Tensor, Tensor] | None:
        """(cos, sin) of positions [start, start + T), each (T, Dh); None without rotary positions."""
        if self.rope_cos is None or self.rope_sin is None:
            return None
        return self.rope_cos[start : start + T], self.rope_sin[start : start + T]


class Transformer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_id)
        has_encoder = config.shape in ("encoder-decoder", "encoder-only")
        has_decoder = config.shape in ("encoder-decoder", "decoder-only")
        self.encoder: Stack | None = (
            Stack(config, config.encoder_layers, cross_attention=False, token_types=True) if has_encoder else None
        )
        self.decoder: Stack | None = (
            Stack(config, config.decoder_layers, cross_attention=config.shape == "encoder-decoder", token_types=False)
            if has_decoder
            else None
        )
        # The output layer: the token embedding itself (tied) or a Linear of its own.
        self.lm_head = None if config.tie_embeddings else nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.register_buffer("lm_bias", torch.zeros(config.vocab_size) if config.lm_bias else None)  # (V,)
        self.apply(self._init_weights)
        if config.pad_id is not None:
            with torch.no_grad():
                self.embed.weight[config.pad_id].zero_()  # pad embeds to nothing, scores 0 when tied

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    # ----------------------------------------------------------------------------------------
    def real_tokens(self, ids: Tensor) -> Tensor | None:
        """(B, S) -> (B, S) bool, True = real token: the default mask, ``ids != pad_id``.
        None (nothing masked) when the vocabulary has no padding token."""
        return None if self.config.pad_id is None else ids != self.config.pad_id

    def _embed(self, ids: Tensor, stack: Stack, start: int, token_types: Tensor | None = None) -> Tensor:
        """(B, T) ids at positions [start, start + T) -> (B, T, C) inputs of ``stack``'s blocks."""
        config, T = self.config, ids.size(1)
        if start + T > config.max_positions:
            raise ValueError(f"sequence reaches position {start + T} > max_positions {config.max_positions}")
        x = self.embed(ids)  # (B, T, C)
        if self.training and config.word_dropout > 0:
            x = x * F.dropout(x.new_ones(*ids.shape, 1), config.word_dropout)  # one draw per token
        if config.scale_embeddings:
            x = x * math.sqrt(config.d_model)
        if stack.types is not None:
            x = x + stack.types(token_types if token_types is not None else torch.zeros_like(ids))
        if stack.pos is not None:
            first = start + config.position_offset
            x = x + stack.pos.weight[first : first + T]  # + (T, C), the rows of positions first..
        elif stack.sinusoids is not None:
            x = x + stack.sinusoids[start : start + T]
        return _dropout(stack.ln_embed(x), config.dropout, self.training)

    def encode(self, src_ids: Tensor, mask: Tensor | None = None, token_types: Tensor | None = None) -> Tensor:
        """(B, S) token ids -> (B, S, C) encoder states.

        ``mask`` (B, S) bool, True = real token, says which tokens are keys; by default
        ``src_ids != pad_id`` (every token when there is no pad_id). ``token_types`` (B, S):
        segment ids where the model has token types (zeros by default). States at masked
        positions mean nothing: mask them."""
        if self.encoder is None:
            raise RuntimeError(f"encode() needs an encoder; this model is {self.config.shape}")
        if mask is None:
            mask = self.real_tokens(src_ids)
        attn_mask = _key_padding_mask(mask)  # (B, 1, 1, S) or None
        x = self._embed(src_ids, self.encoder, 0, token_types)  # (B, S, C)
        rope = self.encoder.rope(0, src_ids.size(1))
        for block in self.encoder.blocks:
            x = block(x, self_mask=attn_mask, rope=rope)
        return self.encoder.ln_f(x)

    def decode(
        self,
        tgt_ids: Tensor,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
        cache: DecoderCache | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        """(B, T) token ids -> (B, T, C) decoder states (causal).

        Without a cache, ``tgt_ids`` is the whole target and ``memory`` (B, S, C) plus
        ``memory_mask`` (B, S, True = real) feed cross-attention (encoder-decoder only).
        ``mask`` (B, T, True = real), optional, also hides padded target tokens as keys; by
        default none is hidden, as causal attention never lets a real token see the padding
        after it. Positions count from the first column either way.
        With a cache, ``tgt_ids`` holds only the new tokens, which continue at ``cache.length``;
        cross-attention reads the keys and values stored in the cache, so ``memory`` is not needed.
        """
        if self.decoder is None:
            raise RuntimeError(f"decode() needs a decoder; this model is {self.config.shape}")
        cross = self.config.shape == "encoder-decoder"
        if cache is None:
            if cross and memory is None:
                raise ValueError("encoder-decoder decode() needs memory (the encoder output)")
            if not cross and memory is not None:
                raise ValueError("decoder-only model has no cross-attention; pass memory=None")
        elif mask is not None:
            raise ValueError("decode() with a cache takes no mask: decode rows without padding")
        start, T = (cache.length if cache is not None else 0), tgt_ids.size(1)

        # Causal self-attention: queries are positions [start, start+T), keys [0, start+T).
        self_mask: Tensor | None = None
        is_causal = start == 0 and T > 1  # the square case: SDPA's own causal mask is exact
        if start > 0 and T > 1:
            # A chunk after a non-empty cache: SDPA's is_causal aligns top-left, which is wrong
            # when queries are offset, so spell the mask out. (One new token sees every key.)
            q_pos = torch.arange(start, start + T, device=tgt_ids.device)
            self_mask = q_pos[:, None] >= torch.arange(start + T, device=tgt_ids.device)[None, :]  # (T, L+T)
        padding = _key_padding_mask(mask)  # (B, 1, 1, T) or None
        if padding is not None:
            causal = torch.ones(T, T, dtype=torch.bool, device=tgt_ids.device).tril()
            self_mask = causal & padding  # (B, 1, T, T)
            # A padding query before every real token sees no key: let it see all (its output
            # is ignored) rather than produce NaN.
            self_mask = self_mask | ~self_mask.any(dim=-1, keepdim=True)
            is_causal = False

        if cache is not None:
            cross_mask = cache.cross_mask
        else:
            cross_mask = _key_padding_mask(memory_mask) if cross else None
        x = self._embed(tgt_ids, self.decoder, start)  # (B, T, C)
        rope = self.decoder.rope(start, T)
        for i, block in enumerate(self.decoder.blocks):
            layer_cache = cache.layers[i] if cache is not None else None
            memory_kv = None
            if layer_cache is not None:
                memory_kv = layer_cache.cross_kv  # projected once, when the cache was made
            elif memory is not None and block.cross_attn is not None:
                memory_kv = block.cross_attn.memory_kv(memory)
            x = block(
                x, self_mask=self_mask, is_causal=is_causal, cache=layer_cache, rope=rope,
                memory_kv=memory_kv, memory_mask=cross_mask,
            )
        return self.decoder.ln_f(x)

    def lm_logits(self, hidden: Tensor, columns: bool = False) -> Tensor:
        """(..., C) states -> (..., V) logits, scored against the token embedding when tied.

        ``columns=True`` lays the same logits out the other way: (N, C) -> (V, N), one column
        per row, computed as ``weight @ hidden.T``. Decoding asks for it where the few rows of a
        step make that tall product the faster one (CPU BLAS; see benchmarks/RESULTS.md).
        """
        weight = self.embed.weight if self.lm_head is None else self.lm_head.weight
        if not columns:
            return F.linear(hidden, weight, self.lm_bias)
        if hidden.dim() != 2:
            raise ValueError(f"lm_logits(columns=True) takes (N, C) states; got {tuple(hidden.shape)}")
        logits = weight @ hidden.t()  # (V, N)
        return logits if self.lm_bias is None else logits + self.lm_bias[:, None]

    def new_cache(
        self,
        batch_size: int,
        max_len: int,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
        beams: int = 1,
    ) -> DecoderCache:
        """Empty decoder cache for ``batch_size`` rows and at most ``max_len`` tokens.

        For encoder-decoder, ``memory`` (B / beams, S, C) is projected to cross-attention keys
        and values here, once, instead of at every decoding step. ``beams`` > 1: rows come in
        groups of ``beams`` consecutive rows (beam search) that all read the same memory row.
        """
        if self.decoder is None:
            raise RuntimeError(f"new_cache() needs a decoder; this model is {self.config.shape}")
        if max_len > self.config.max_positions:
            raise ValueError(f"max_len {max_len} > max_positions {self.config.max_positions}")
        cross = self.config.shape == "encoder-decoder"
        if cross and memory is None:
            raise ValueError("encoder-decoder new_cache() needs memory (the encoder output)")
        if not cross and memory is not None:
            raise ValueError("decoder-only model has no cross-attention; pass memory=None")
        if beams < 1 or batch_size % beams:
            raise ValueError(f"batch_size {batch_size} must be a multiple of beams {beams}")
        if memory is not None and memory.size(0) * beams != batch_size:
            raise ValueError(f"memory has {memory.size(0)} rows, expected {batch_size // beams}")

        buffer_shape = (batch_size, self.config.kv_heads, max_len, self.config.head_size)  # (B, Hkv, max_len, Dh)
        weight = self.embed.weight
        layers = []
        for block in self.decoder.blocks:
            cross_kv = None
            if memory is not None and block.cross_attn is not None:
                cross_kv = block.cross_attn.memory_kv(memory)  # (E, H, S, Dh) each
            layers.append(LayerCache(weight.new_empty(buffer_shape), weight.new_empty(buffer_shape), cross_kv))
        cross_mask = _key_padding_mask(memory_mask) if cross else None
        return DecoderCache(layers, cross_mask, beams)

    def forward(self, src_ids: Tensor | None = None, tgt_ids: Tensor | None = None) -> Tensor:
        """Convenience: (B, T, V) logits of the model's last stack.

        encoder-decoder: ``src_ids`` and ``tgt_ids``; encoder-only: ``src_ids``;
        decoder-only: ``tgt_ids``.
        """
        shape = self.config.shape
        if shape == "encoder-only":
            if src_ids is None:
                raise ValueError("encoder-only forward() needs src_ids")
            return self.lm_logits(self.encode(src_ids))
        if tgt_ids is None:
            raise ValueError(f"{shape} forward() needs tgt_ids")
        if shape == "decoder-only":
            return self.lm_logits(self.decode(tgt_ids))
        if src_ids is None:
            raise ValueError("encoder-decoder forward() needs src_ids")
        memory = self.encode(src_ids)
        return self.lm_logits(self.decode(tgt_ids, memory, self.real_tokens(src_ids)))

    def num_parameters(self) -> int:
        """Trainable size; the tied embedding counts once (``parameters()`` deduplicates)."""
        return sum(p.numel() for p in self.parameters())
