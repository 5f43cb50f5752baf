"""The one transformer of tasklight, in a single readable file.

Three shapes share the same building blocks:

* ``encoder-decoder``: BART/mBART-like seq2seq (encoder + decoder with cross-attention),
* ``encoder-only``:    BERT-like bidirectional encoder,
* ``decoder-only``:    GPT-2-like causal language model.

Everything is pre-norm (LayerNorm -> sublayer -> residual), every stack ends in a final
LayerNorm, positions are learned absolute embeddings, and the token embedding is shared by
the encoder, the decoder and the output projection (tied). All Linears have biases and the
self-attention projection is one fused ``qkv`` Linear, so weights map 1:1 onto HF layouts.

Shape legend: B batch, S source length, T target length, C d_model, H heads,
Dh head size (C // H), V vocabulary, L cached length.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .argmax import (
    SCREEN_MIN_VOCAB,
    best_in_columns,
    bf16_is_native,
    row_norm_max,
    screened_best,
)
from .dropout import Dropout

SHAPES = ("encoder-decoder", "encoder-only", "decoder-only")


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
    max_positions: int = 512
    pad_id: int = 0

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
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id ({self.pad_id}) must be a token id in [0, {self.vocab_size})")


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


def _additive(mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Boolean attention mask (True = may attend) -> additive mask (0 or -inf), built once."""
    if mask is None:
        return None
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, -math.inf)


def _attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None,
    dropout_p: float,
    is_causal: bool = False,
    small: bool = False,
) -> Tensor:
    """SDPA, except for one query position (or ``small``: a few, the beams of one example)
    without dropout, a decoding step, where plain matmuls beat the fused CPU kernel.
    q (B, H, T, Dh), k and v (B, H, L, Dh) -> (B, H, T, Dh)."""
    if not (q.size(2) == 1 or small) or dropout_p > 0 or is_causal:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
    scores = (q * q.size(-1) ** -0.5) @ k.transpose(-2, -1)  # (B, H, T, L)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, -math.inf)
        else:
            scores = scores + mask.to(scores.dtype)
    return scores.softmax(dim=-1) @ v  # (B, H, T, Dh)


class _RealTokens:
    """The real (non-padding) tokens of a padded (B, S) batch, for running the position-wise
    work of a stack (LayerNorms, projections, feed-forward: nearly all of its FLOPs) on them
    alone. Only attention needs the padded (B, S) layout back. Worth it when much of the
    batch is padding, as when sources of different lengths are encoded for decoding."""

    def __init__(self, real: Tensor) -> None:
        self.batch, self.length = real.shape
        self.index = real.flatten().nonzero().squeeze(1)  # (n,) flat positions b * S + s
        self.padding = (~real).flatten().nonzero().squeeze(1)  # the other flat positions
        self._scratch: dict[tuple[int, torch.dtype, torch.device], Tensor] = {}

    @staticmethod
    def worth_it(real: Tensor) -> bool:
        """Without autograd only (the gather and scatter would also be differentiated), and
        when at least 1/8 of the batch is padding, so the bookkeeping costs less than it saves."""
        return not torch.is_grad_enabled() and int(real.sum()) <= real.numel() * 7 // 8

    def pack(self, x: Tensor) -> Tensor:
        """(B, S, D) -> (n, D): the real tokens' rows."""
        return x.reshape(self.batch * self.length, x.size(-1)).index_select(0, self.index)

    def unpack(self, x: Tensor, scratch: bool = False) -> Tensor:
        """(n, D) -> (B, S, D), zeros at padding.

        ``scratch``: into a buffer kept per width and reused, whose padding rows are zeroed
        once: for results consumed at once (a layer's q, k, v), valid only until the next
        scratch unpack of the same width. Zeroing a fresh (B*S, D) tensor at every layer made
        unpacking about 1.6x slower (CPU, benchmarks/decode_parts.py)."""
        key = (x.size(-1), x.dtype, x.device)
        out = self._scratch.get(key) if scratch else None
        if out is None:
            out = x.new_empty(self.batch * self.length, x.size(-1)).index_fill_(0, self.padding, 0)
            if scratch:
                self._scratch[key] = out
        out.index_copy_(0, self.index, x)
        return out.view(self.batch, self.length, x.size(-1))


def _split_heads(x: Tensor, n_heads: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)  # (B, H, T, Dh)


def _merge_heads(x: Tensor) -> Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, C)


_Made = TypeVar("_Made")


class _KeptCopy(Generic[_Made]):
    """What ``make`` derives from a weight for inference (a transposed copy, a bf16 copy):
    kept (never saved, not a buffer) and made again whenever the weight is updated, loaded,
    cast or moved, which ``of`` checks on every call (data pointer, version counter, dtype)."""

    def __init__(self, make: Callable[[Tensor], _Made]) -> None:
        self._make = make
        self._made: _Made | None = None
        self._key: tuple[int, int, torch.dtype] | None = None

    def of(self, weight: Tensor) -> _Made:
        key = (weight.data_ptr(), weight._version, weight.dtype)
        if self._made is None or self._key != key:
            self._made = self._make(weight.detach())
            self._key = key
        return self._made


def _transposed(weight: Tensor) -> Tensor:
    return weight.t().contiguous()


def _bf16_screen(weight: Tensor) -> tuple[Tensor, float]:
    return weight.to(torch.bfloat16), row_norm_max(weight)


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters, same checkpoints) with a faster product for a few rows.

    Without autograd and for at most ``SMALL_ROWS`` rows of a 2-d input (short inputs served
    one at a time; decoding steps read ``weight_t`` directly), the input is multiplied by a
    contiguous (in, out) copy of the weight: on CPU (MKL, fp32, 32 rows, 256 -> 1024) that is
    1.1-1.2x faster than ``F.linear`` with the (out, in) layout (benchmarks/decode_parts.py);
    for a few hundred rows the two are equal, so larger inputs keep the plain path and make no
    copy.
    """

    SMALL_ROWS = 64

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self._weight_t = _KeptCopy(_transposed)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.size(0) > self.SMALL_ROWS or (self.weight.requires_grad and torch.is_grad_enabled()):
            return F.linear(x, self.weight, self.bias)
        return torch.addmm(self.bias, x, self.weight_t())

    def weight_t(self) -> Tensor:
        """The weight as a contiguous (in, out) tensor, for inference."""
        return self._weight_t.of(self.weight)


class DecoderCache:
    """Decoder state for incremental decoding, created by ``Transformer.new_cache``.

    Self-attention K/V live in buffers preallocated to ``max_len`` so each step writes in place
    instead of concatenating. Cross-attention K/V depend only on the encoder output, so they are
    computed once when the cache is built. ``length`` counts the tokens already written.
    Reordering rows (beam search, finished rows leaving) copies only the ``length`` tokens
    written so far: in place when the rows that are read keep their contents (beam search
    arranges that), otherwise into a spare buffer kept from the previous reorder.
    With ``beams`` > 1, each group of ``beams`` consecutive rows reads one encoder output.
    """

    def __init__(
        self,
        self_k: list[Tensor],
        self_v: list[Tensor],
        cross_k: list[Tensor] | None,
        cross_v: list[Tensor] | None,
        memory_mask: Tensor | None,
        batch_size: int,
        max_len: int,
        beams: int = 1,
    ) -> None:
        self.self_k = self_k  # per decoder layer: (B, H, max_len, Dh)
        self.self_v = self_v
        # Per decoder layer, None without cross-attention: keys transposed, (B / beams, H, Dh, S),
        # so the scores of a step are one plain batched matmul (3x faster than through a
        # transposed view when 4 beams query together); values (B / beams, H, S, Dh).
        self.cross_k = cross_k
        self.cross_v = cross_v
        self.memory_mask = memory_mask  # (B / beams, S) bool, True = real source token
        # Rows come in groups of ``beams`` (the beams of one example) that share one memory
        # row: cross-attention K/V are stored once per example, not once per beam.
        self.beams = beams
        dtype = cross_k[0].dtype if cross_k else torch.float32
        # (B, 1, 1, S) additive 0 / -inf, or None: built once, not converted at every step.
        self.cross_attn_mask = _additive(_key_padding_mask(memory_mask), dtype)
        self.batch_size = batch_size
        self.max_len = max_len
        self.length = 0
        self.step_layers: list[_StepLayer] | None = None  # the model's tensors for decoding steps
        self._spare_k: list[Tensor | None] = [None] * len(self_k)  # buffers to reorder into
        self._spare_v: list[Tensor | None] = [None] * len(self_v)

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write new keys/values (B, H, T, Dh) of one layer; return all keys/values (B, H, L+T, Dh).

        ``length`` is advanced by the model once every layer has appended.
        """
        start, end = self.length, self.length + k.size(2)
        if end > self.max_len:
            raise ValueError(f"DecoderCache is full: {end} tokens > max_len {self.max_len}")
        if self.self_k[layer].dtype != k.dtype:  # e.g. under autocast: follow the compute dtype
            self.self_k[layer] = self.self_k[layer].to(k.dtype)
            self.self_v[layer] = self.self_v[layer].to(v.dtype)
        self.self_k[layer][:, :, start:end] = k
        self.self_v[layer][:, :, start:end] = v
        return self.self_k[layer][:, :, :end], self.self_v[layer][:, :, :end]

    def reorder(self, index: Tensor, same_memory: bool = False) -> None:
        """Keep batch rows ``index`` (LongTensor, may repeat/drop rows): beam reordering, dropping
        finished sequences, or expanding each example into its beams.

        ``same_memory=True`` promises that row i of the result attends to the same encoder
        output as row i did before (beams of one example swapping places): the cross-attention
        K/V and mask are then left where they are instead of being copied.
        """

        if same_memory and self._reorder_in_place(index):
            return
        self.self_k = self._reorder_written(self.self_k, self._spare_k, index)
        self.self_v = self._reorder_written(self.self_v, self._spare_v, index)
        if same_memory:
            if index.numel() != self.batch_size:
                raise ValueError("same_memory reorder must keep the number of rows")
            return
        # Memory rows: with beams, rows move in whole groups; follow the first row of each.
        rows = index if self.beams == 1 else index.view(-1, self.beams)[:, 0] // self.beams

        def select(t: Tensor) -> Tensor:
            return t.index_select(0, rows.to(t.device))

        if self.cross_k is not None and self.cross_v is not None:
            self.cross_k = [select(t) for t in self.cross_k]
            self.cross_v = [select(t) for t in self.cross_v]
        if self.memory_mask is not None:
            self.memory_mask = select(self.memory_mask)
        if self.cross_attn_mask is not None:
            self.cross_attn_mask = select(self.cross_attn_mask)
        self.batch_size = int(index.numel())

    def expand(self, beams: int) -> None:
        """Each row becomes ``beams`` consecutive copies (beam search after its first step);
        every group of ``beams`` rows then reads the one cross-attention K/V of its example."""
        if self.beams != 1:
            raise ValueError("expand() needs a cache of one row per example")
        index = torch.arange(self.batch_size, device=self.self_k[0].device).repeat_interleave(beams)
        for buffers in (self.self_k, self.self_v):
            for i, buffer in enumerate(buffers):
                grown = buffer.new_empty((index.numel(), *buffer.shape[1:]))  # (B*beams, H, max_len, Dh)
                grown[:, :, : self.length] = buffer[:, :, : self.length].index_select(0, index)
                buffers[i] = grown
        self._spare_k = [None] * len(self.self_k)
        self._spare_v = [None] * len(self.self_v)
        self.batch_size, self.beams = int(index.numel()), beams

    def _reorder_in_place(self, index: Tensor) -> bool:
        """Rows ``index`` in place when every row that is copied from keeps its own contents
        (``index[index] == index``): then only the rows that change are written, straight from
        their sources, and no second buffer is needed. Beam search arranges its beams so
        (a beam's first continuation stays in its row). Returns False where it does not hold."""
        if index.numel() != self.batch_size or any(
            b.requires_grad and torch.is_grad_enabled() for b in self.self_k
        ):
            return False
        index = index.to(self.self_k[0].device)
        if not bool((index[index] == index).all()):
            return False
        moved = (index != torch.arange(index.numel(), device=index.device)).nonzero().squeeze(1)
        if moved.numel() and self.length:
            sources = index[moved]
            for buffer in (*self.self_k, *self.self_v):
                written = buffer[:, :, : self.length]  # (B, H, L, Dh)
                written.index_copy_(0, moved, written.index_select(0, sources))
        return True

    def _reorder_written(self, buffers: list[Tensor], spares: list[Tensor | None], index: Tensor) -> list[Tensor]:
        """Rows ``index`` of each (B, H, max_len, Dh) buffer, only [:length] copied, written into
        the layer's spare buffer; the old buffer becomes the next spare."""
        n, written = int(index.numel()), self.length
        out = []
        for i, buffer in enumerate(buffers):
            if buffer.requires_grad and torch.is_grad_enabled():  # part of a graph: no out= copies
                out.append(buffer.index_select(0, index.to(buffer.device)))
                continue
            spare = spares[i]
            if spare is None or spare.size(0) < n or spare.dtype != buffer.dtype or spare.device != buffer.device:
                spare = buffer.new_empty((n, *buffer.shape[1:]))
            target = spare[:n]  # (n, H, max_len, Dh)
            if written:
                torch.index_select(
                    buffer[:, :, :written], 0, index.to(buffer.device), out=target[:, :, :written]
                )
            spares[i] = buffer
            out.append(target)
        return out


class SelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        C = config.d_model
        self.n_heads = config.n_heads
        self.attention_dropout = config.attention_dropout
        self.qkv = Linear(C, 3 * C)  # fused projection, one matmul for q, k and v
        self.proj = Linear(C, C)
        self.dropout = Dropout(config.dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        is_causal: bool = False,
        cache: DecoderCache | None = None,
        layer: int = 0,
        tokens: _RealTokens | None = None,
    ) -> Tensor:
        """x (B, T, C), or (n, C) the real tokens only when ``tokens`` says where they sit."""
        C = x.size(-1)
        qkv = self.qkv(x)  # (B, T, 3C) or (n, 3C)
        if tokens is not None:
            qkv = tokens.unpack(qkv, scratch=True)  # (B, T, 3C), zeros at padding (masked as keys)
        q, k, v = (_split_heads(t, self.n_heads) for t in qkv.split(C, dim=2))  # 3 x (B, H, T, Dh)
        if cache is not None:
            k, v = cache.append(layer, k, v)  # (B, H, L+T, Dh): everything decoded so far
        dropout_p = self.attention_dropout if self.training else 0.0
        y = _merge_heads(_attention(q, k, v, mask, dropout_p, is_causal))  # (B, T, C)
        if tokens is not None:
            y = tokens.pack(y)  # (n, C)
        return self.dropout(self.proj(y))


class CrossAttention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        C = config.d_model
        self.n_heads = config.n_heads
        self.attention_dropout = config.attention_dropout
        self.q = Linear(C, C)
        self.kv = Linear(C, 2 * C)  # separate from q: k/v come from the encoder, once per source
        self.proj = Linear(C, C)
        self.dropout = Dropout(config.dropout)

    def memory_kv(self, memory: Tensor, tokens: _RealTokens | None = None) -> tuple[Tensor, Tensor]:
        """(B, S, C) encoder output -> keys and values, each (B, H, S, Dh). With ``tokens``,
        only the real source tokens are projected (padding keys are masked anyway), and the
        results are views of ``tokens``' scratch buffer: copy them before the next call."""
        if tokens is None:
            kv = self.kv(memory)
        else:
            kv = tokens.unpack(self.kv(tokens.pack(memory)), scratch=True)
        k, v = kv.split(memory.size(-1), dim=2)
        return _split_heads(k, self.n_heads), _split_heads(v, self.n_heads)

    def forward(self, x: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, beams: int = 1) -> Tensor:
        """x (B, T, C); k, v (B / beams, H, S, Dh); mask (B / beams, 1, 1, S) or None."""
        if beams > 1:  # the queries of an example's beams side by side, against its one memory
            B, T, C = x.shape
            q = self.q(x).view(B // beams, beams * T, self.n_heads, C // self.n_heads).transpose(1, 2)
            y = _attention(q, k, v, mask, 0.0, small=True)  # (B / beams, H, beams * T, Dh)
            y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
            return self.dropout(self.proj(y))
        q = _split_heads(self.q(x), self.n_heads)  # (B, H, T, Dh)
        y = _attention(q, k, v, mask, self.attention_dropout if self.training else 0.0)  # (B, H, T, Dh)
        return self.dropout(self.proj(_merge_heads(y)))  # (B, T, C)


class FeedForward(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.fc = Linear(config.d_model, config.d_ff)
        self.act = nn.GELU()
        self.proj = Linear(config.d_ff, config.d_model)
        self.dropout = Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.act(self.fc(x))))  # (B, T, C)


class Block(nn.Module):
    """One pre-norm layer: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, config: TransformerConfig, cross_attention: bool) -> None:
        super().__init__()
        self.ln_self = nn.LayerNorm(config.d_model)
        self.self_attn = SelfAttention(config)
        self.ln_cross = nn.LayerNorm(config.d_model) if cross_attention else None
        self.cross_attn = CrossAttention(config) if cross_attention else None
        self.ln_ff = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)

    def forward(
        self,
        x: Tensor,
        *,
        self_mask: Tensor | None = None,
        is_causal: bool = False,
        cache: DecoderCache | None = None,
        layer: int = 0,
        cross_kv: tuple[Tensor, Tensor] | None = None,
        cross_mask: Tensor | None = None,
        beams: int = 1,
        tokens: _RealTokens | None = None,
    ) -> Tensor:
        """x (B, T, C); or, encoder blocks only, (n, C) the real tokens that ``tokens`` locates."""
        x = x + self.self_attn(self.ln_self(x), self_mask, is_causal, cache, layer, tokens)
        if self.cross_attn is not None and self.ln_cross is not None:
            if cross_kv is None:
                raise ValueError("this block has cross-attention and needs encoder keys/values")
            x = x + self.cross_attn(self.ln_cross(x), *cross_kv, cross_mask, beams)
        return x + self.ff(self.ln_ff(x))


class Stack(nn.Module):
    """An encoder or a decoder: its own position table, the blocks, a final LayerNorm."""

    def __init__(self, config: TransformerConfig, n_layers: int, cross_attention: bool) -> None:
        super().__init__()
        self.pos = nn.Embedding(config.max_positions, config.d_model)
        self.blocks = nn.ModuleList(Block(config, cross_attention) for _ in range(n_layers))
        # Pre-norm leaves the residual stream un-normalized; normalize once at the end.
        self.ln_f = nn.LayerNorm(config.d_model)


def _add_linear(x: Tensor, y: Tensor, linear: tuple[Tensor, Tensor]) -> None:
    """x += y @ weight + bias, in place: the residual stream is the product's accumulator,
    so a decoding step allocates and copies nothing for it."""
    x.addmm_(y, linear[0]).add_(linear[1])


class _StepLayer(NamedTuple):
    """One decoder layer's tensors, as a decoding step reads them (see ``_decode_step``).
    Linear weights are (in, out) copies; the cross-attention fields are None without it."""

    ln_self: tuple[Tensor, Tensor]  # LayerNorm weight, bias
    qkv: tuple[Tensor, Tensor]  # weight (C, 3C), bias
    self_proj: tuple[Tensor, Tensor]
    ln_cross: tuple[Tensor, Tensor] | None
    cross_q: tuple[Tensor, Tensor] | None
    cross_proj: tuple[Tensor, Tensor] | None
    ln_ff: tuple[Tensor, Tensor]
    fc: tuple[Tensor, Tensor]
    ff_proj: tuple[Tensor, Tensor]

    @staticmethod
    def of(block: Block) -> _StepLayer:
        def ln(m: nn.LayerNorm) -> tuple[Tensor, Tensor]:
            return m.weight, m.bias

        def linear(m: Linear) -> tuple[Tensor, Tensor]:
            return m.weight_t(), m.bias

        cross, ln_cross = block.cross_attn, block.ln_cross
        return _StepLayer(
            ln(block.ln_self), linear(block.self_attn.qkv), linear(block.self_attn.proj),
            ln(ln_cross) if ln_cross is not None else None,
            linear(cross.q) if cross is not None else None,
            linear(cross.proj) if cross is not None else None,
            ln(block.ln_ff), linear(block.ff.fc), linear(block.ff.proj),
        )


class Transformer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_id)
        self.drop = Dropout(config.dropout)
        has_encoder = config.shape in ("encoder-decoder", "encoder-only")
        has_decoder = config.shape in ("encoder-decoder", "decoder-only")
        self.encoder: Stack | None = (
            Stack(config, config.encoder_layers, cross_attention=False) if has_encoder else None
        )
        self.decoder: Stack | None = (
            Stack(config, config.decoder_layers, cross_attention=config.shape == "encoder-decoder")
            if has_decoder
            else None
        )
        self.apply(self._init_weights)
        with torch.no_grad():
            self.embed.weight[config.pad_id].zero_()  # pad embeds to nothing, scores 0 when tied
        self._lm_head_t = _KeptCopy(_transposed)  # see lm_logits
        self._lm_head_bf16 = _KeptCopy(_bf16_screen)  # see lm_argmax

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    # ----------------------------------------------------------------------------------------
    def _embed(self, ids: Tensor, pos_table: nn.Embedding, start: int) -> Tensor:
        T = ids.size(1)
        if start + T > self.config.max_positions:
            raise ValueError(
                f"sequence reaches position {start + T} > max_positions {self.config.max_positions}"
            )
        pos = torch.arange(start, start + T, device=ids.device)  # (T,)
        return self.drop(self.embed(ids) + pos_table(pos))  # (B, T, C) + (T, C)

    def encode(self, src_ids: Tensor) -> Tensor:
        """(B, S) token ids -> (B, S, C) encoder states; padding (pad_id) is masked out as keys.

        States at padding positions mean nothing (zeros without autograd): mask them."""
        if self.encoder is None:
            raise RuntimeError(f"encode() needs an encoder; this model is {self.config.shape}")
        real = src_ids != self.config.pad_id  # (B, S)
        mask = _key_padding_mask(real)  # (B, 1, 1, S) or None
        x = self._embed(src_ids, self.encoder.pos, 0)  # (B, S, C)
        if mask is None or not _RealTokens.worth_it(real):
            for block in self.encoder.blocks:
                x = block(x, self_mask=mask)
            return self.encoder.ln_f(x)
        # Inference on a much-padded batch: every position-wise step on real tokens only.
        tokens = _RealTokens(real)
        x = tokens.pack(x)  # (n, C)
        for block in self.encoder.blocks:
            x = block(x, self_mask=mask, tokens=tokens)
        return tokens.unpack(self.encoder.ln_f(x))  # (B, S, C), zeros at padding

    def decode(
        self,
        tgt_ids: Tensor,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
        cache: DecoderCache | None = None,
    ) -> Tensor:
        """(B, T) token ids -> (B, T, C) decoder states (causal).

        Without a cache, ``tgt_ids`` is the whole target and ``memory`` (B, S, C) plus
        ``memory_mask`` (B, S, True = real) feed cross-attention (encoder-decoder only).
        With a cache, ``tgt_ids`` holds only the new tokens, which continue at ``cache.length``;
        cross-attention uses the K/V stored in the cache, so ``memory`` is not needed.
        """
        if self.decoder is None:
            raise RuntimeError(f"decode() needs a decoder; this model is {self.config.shape}")
        cross = self.config.shape == "encoder-decoder"
        T = tgt_ids.size(1)
        if cache is None:
            start = 0
            if cross and memory is None:
                raise ValueError("encoder-decoder decode() needs memory (the encoder output)")
            if not cross and memory is not None:
                raise ValueError("decoder-only model has no cross-attention; pass memory=None")
            cross_mask = _key_padding_mask(memory_mask) if cross else None
        elif T == 1 and not (self.training or torch.is_grad_enabled() or torch.is_autocast_enabled(tgt_ids.device.type)):
            return self._decode_step(tgt_ids, cache)  # fp32 inference: the lean single-position path
        else:
            start = cache.length
            cross_mask = cache.cross_attn_mask

        # Causal self-attention. Keys are positions [0, start+T), queries [start, start+T).
        self_mask: Tensor | None = None
        if start == 0:
            is_causal = T > 1  # square case: SDPA's built-in causal mask is exactly right
        elif T == 1:
            is_causal = False  # one new token may see every cached one: no mask at all
        else:
            # Chunk after a non-empty cache: SDPA's is_causal aligns top-left, which is wrong
            # when queries are offset, so spell the mask out.
            is_causal = False
            q_pos = torch.arange(start, start + T, device=tgt_ids.device)
            k_pos = torch.arange(start + T, device=tgt_ids.device)
            self_mask = q_pos[:, None] >= k_pos[None, :]  # (T, L+T)

        x = self._embed(tgt_ids, self.decoder.pos, start)  # (B, T, C)
        for i, block in enumerate(self.decoder.blocks):
            cross_kv: tuple[Tensor, Tensor] | None = None
            if cross:
                if cache is not None and cache.cross_k is not None and cache.cross_v is not None:
                    cross_kv = (cache.cross_k[i].transpose(-2, -1), cache.cross_v[i])  # precomputed once
                elif memory is not None and block.cross_attn is not None:
                    cross_kv = block.cross_attn.memory_kv(memory)
            x = block(
                x,
                self_mask=self_mask,
                is_causal=is_causal,
                cache=cache,
                layer=i,
                cross_kv=cross_kv,
                cross_mask=cross_mask,
                beams=cache.beams if cache is not None else 1,
            )
        if cache is not None:
            cache.length += T  # every layer has appended its T new positions
        return self.decoder.ln_f(x)

    def _decode_step(self, tgt_ids: Tensor, cache: DecoderCache) -> Tensor:
        """``decode`` of one new token per row, in eval mode: (B, 1) -> (B, 1, C).

        The blocks' arithmetic (pre-norm self-attention over the cache, cross-attention,
        feed-forward), written over the decoder's tensors gathered once per cache: at decoding
        batch sizes the ~50 module calls and attribute lookups of the general path cost about
        as much as the arithmetic (1.4x a step at batch 32, 1.6x at batch 1, CPU:
        benchmarks/decode_parts.py). Tests hold it to the general path token for token.
        """
        assert self.decoder is not None
        if cache.step_layers is None:
            cache.step_layers = [_StepLayer.of(block) for block in self.decoder.blocks]  # type: ignore[arg-type]  # ModuleList items
        B, C = tgt_ids.size(0), self.config.d_model
        H, t = self.config.n_heads, cache.length
        Dh = C // H
        if t >= self.config.max_positions or t >= cache.max_len:
            raise ValueError(f"decoding position {t} is past max_positions or the cache's max_len")
        scale = Dh**-0.5
        x = F.embedding(tgt_ids[:, 0], self.embed.weight) + self.decoder.pos.weight[t]  # (B, C)
        for i, w in enumerate(cache.step_layers):
            # Self-attention: this position's q, k, v; k and v join the cache.
            h = F.layer_norm(x, (C,), *w.ln_self)
            qkv = torch.addmm(w.qkv[1], h, w.qkv[0]).view(B, 3, H, Dh)
            keys, values = cache.self_k[i], cache.self_v[i]  # (B, H, max_len, Dh)
            keys.select(2, t).copy_(qkv.select(1, 1))
            values.select(2, t).copy_(qkv.select(1, 2))
            q = (qkv.select(1, 0) * scale).view(B * H, 1, Dh)
            k = keys.view(B * H, -1, Dh)[:, : t + 1]  # (B*H, t+1, Dh)
            v = values.view(B * H, -1, Dh)[:, : t + 1]
            y = torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v).view(B, C)
            _add_linear(x, y, w.self_proj)
            if w.ln_cross is not None and w.cross_q is not None and w.cross_proj is not None:
                # Cross-attention: the beams of an example side by side against its memory,
                # as 3-d batched matmuls (torch.matmul on 4-d tensors dispatches several ops).
                assert cache.cross_k is not None and cache.cross_v is not None
                E, beams = B // cache.beams, cache.beams
                h = F.layer_norm(x, (C,), *w.ln_cross)
                q = torch.addmm(w.cross_q[1], h, w.cross_q[0]).mul_(scale)  # (B, C)
                if beams > 1:
                    q = q.view(E, beams, H, Dh).transpose(1, 2)  # (E, H, beams, Dh)
                keys, values = cache.cross_k[i], cache.cross_v[i]  # (E, H, Dh, S), (E, H, S, Dh)
                S = values.size(2)
                scores = torch.bmm(q.reshape(E * H, beams, Dh), keys.view(E * H, Dh, S))
                if cache.cross_attn_mask is not None:  # (E, 1, 1, S) additive
                    scores.view(E, H, beams, S).add_(cache.cross_attn_mask)
                y = torch.bmm(scores.softmax(-1), values.view(E * H, S, Dh))  # (E*H, beams, Dh)
                if beams > 1:
                    y = y.view(E, H, beams, Dh).transpose(1, 2)  # (E, beams, H, Dh)
                _add_linear(x, y.reshape(B, C), w.cross_proj)
            h = F.layer_norm(x, (C,), *w.ln_ff)
            _add_linear(x, F.gelu(torch.addmm(w.fc[1], h, w.fc[0])), w.ff_proj)
        cache.length += 1
        return F.layer_norm(x, (C,), self.decoder.ln_f.weight, self.decoder.ln_f.bias)[:, None]

    def lm_logits(self, hidden: Tensor, out: Tensor | None = None) -> Tensor:
        """(B, T, C) -> (B, T, V), scored against the tied token embedding.

        Without autograd (decoding, prediction) the product runs against a contiguous (C, V)
        copy of the embedding, made once and reused until the weights change: for the few rows
        of a decoding step that is about 1.4x faster on CPU than F.linear with the (V, C) layout.
        ``out``, a (B, V) buffer for 2-d ``hidden`` (B, C), receives the logits when it fits
        (no autograd, no autocast, same dtype): decoding reuses one buffer for every step.
        """
        weight = self.embed.weight
        if torch.is_grad_enabled() and weight.requires_grad:
            return F.linear(hidden, weight)
        weight_t = self._lm_head_t.of(weight)  # (C, V)
        if (
            out is not None
            and hidden.dim() == 2
            and out.shape == (hidden.size(0), weight_t.size(1))
            and out.dtype == hidden.dtype == weight_t.dtype
            and not torch.is_autocast_enabled(hidden.device.type)
        ):
            return torch.mm(hidden, weight_t, out=out)
        return hidden @ weight_t

    def lm_logit_columns(self, hidden: Tensor) -> Tensor:
        """(N, C) -> (V, N): ``lm_logits`` transposed, each row's logits as a column.

        Without autograd this is ``embed.weight @ hidden.T``: for the few rows of a decoding
        step MKL computes that tall product faster than the (N, V) one, even against the (C, V)
        copy (CPU, benchmarks/decode_parts.py), and it reads the embedding as it is stored.
        Greedy decoding picks its tokens from these columns.
        """
        if hidden.dim() != 2:
            raise ValueError(f"lm_logit_columns() takes (N, C) states; got {tuple(hidden.shape)}")
        weight = self.embed.weight
        if torch.is_grad_enabled() and weight.requires_grad:
            return F.linear(hidden, weight).t()
        return torch.mm(weight, hidden.t())  # (V, N)

    def lm_argmax(self, hidden: Tensor, banned: int | None = None, screen: bool | None = None) -> Tensor:
        """(N, C) -> (N,): each row's highest-scoring token under ``lm_logits``, the first of
        equals, with token ``banned`` ruled out (scored -inf). Greedy decoding's pick.

        Exact either way (``tasklight.model.argmax``): from fp32 logit columns, or through a
        bf16 screen that scores again in fp32 only the few tokens that could win. The screen
        is chosen where bf16 products are native (CPUs with AMX), without autograd, for
        vocabularies of ``SCREEN_MIN_VOCAB`` tokens or more: on this project's CPU a greedy
        call is about 1.03x faster with it at 8,000 tokens and 1.3x at 32,000
        (benchmarks/decode_parts.py, part 9).
        It keeps a bf16 copy of the embedding (half the embedding's size). ``screen`` True or
        False forces the choice (tests); None decides as above.
        """
        if hidden.dim() != 2:
            raise ValueError(f"lm_argmax() takes (N, C) states; got {tuple(hidden.shape)}")
        weight = self.embed.weight
        if screen is None:
            screen = (
                weight.size(0) >= SCREEN_MIN_VOCAB
                and bf16_is_native(hidden.device.type)
                and not (torch.is_grad_enabled() and weight.requires_grad)
                and not torch.is_autocast_enabled(hidden.device.type)
            )
        if screen and weight.dtype == hidden.dtype == torch.float32:
            weight_bf16, norm_max = self._lm_head_bf16.of(weight)
            best = screened_best(weight.detach(), weight_bf16, norm_max, hidden, banned)
            if best is not None:
                return best
        columns = self.lm_logit_columns(hidden)  # (V, N)
        columns = columns.float() if columns.dtype != torch.float32 else columns
        if banned is not None:
            columns[banned] = -math.inf
        return best_in_columns(columns)

    def new_cache(
        self,
        batch_size: int,
        max_len: int,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
        beams: int = 1,
    ) -> DecoderCache:
        """Empty decoder cache for ``batch_size`` rows and at most ``max_len`` tokens.

        For encoder-decoder, ``memory`` (B / beams, S, C) is projected to cross-attention K/V
        here, once, instead of at every decoding step. ``beams`` > 1: rows come in groups of
        ``beams`` consecutive rows (beam search) that all read the same memory row.
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

        H = self.config.n_heads
        buffer_shape = (batch_size, H, max_len, self.config.d_model // H)  # (B, H, max_len, Dh)
        weight = self.embed.weight
        self_k = [weight.new_empty(buffer_shape) for _ in self.decoder.blocks]
        self_v = [weight.new_empty(buffer_shape) for _ in self.decoder.blocks]
        cross_k: list[Tensor] | None = None
        cross_v: list[Tensor] | None = None
        if memory is not None:
            cross_k, cross_v = [], []
            worth_it = memory_mask is not None and _RealTokens.worth_it(memory_mask)
            tokens = _RealTokens(memory_mask) if worth_it else None  # type: ignore[arg-type]
            for block in self.decoder.blocks:
                k, v = block.cross_attn.memory_kv(memory, tokens)  # (B, H, S, Dh) each
                # Contiguous copies (never views: with ``tokens`` they view a scratch buffer),
                # so each step's q @ k^T and p @ v fold (B, H) without a copy: as views of
                # the (B, S, 2C) projection, every step copied them again.
                cross_k.append(k.transpose(-2, -1).clone(memory_format=torch.contiguous_format))  # (B, H, Dh, S)
                cross_v.append(v.clone(memory_format=torch.contiguous_format))
        return DecoderCache(self_k, self_v, cross_k, cross_v, memory_mask, batch_size, max_len, beams)

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
        return self.lm_logits(self.decode(tgt_ids, memory, src_ids != self.config.pad_id))

    def num_parameters(self) -> int:
        """Trainable size; the tied embedding counts once (``parameters()`` deduplicates)."""
        return sum(p.numel() for p in self.parameters())
