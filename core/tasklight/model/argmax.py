"""Each row's best token under the tied LM head, exactly: greedy decoding's pick.

Greedy decoding needs the argmax of a step's logits, not the logits. Two exact ways to it:

* ``best_in_columns``: from the fp32 logits as columns (V, N), the best chunk of 64 rows, then
  the best row in it: on CPU several times faster than ``argmax`` over the columns.
* ``screened_best``: where the CPU multiplies bfloat16 natively (AMX), a bf16 product of the
  embedding and the states (several times faster than the fp32 one, and half the bytes to
  read) places every logit within a known slack of its fp32 value. Only the tokens whose bf16
  score lies within twice the slack of their row's best (a few per row) are scored again, in
  fp32, and the best of those is the pick.

Why the screen is exact. With u = 2^-8 (bf16 rounding) and C <= 2^14, so that fp32 sums of C
products are off by at most 2^-10 of the sum of their magnitudes: the rounded inputs, the fp32
accumulation, the bf16 result and the fp32 rescoring together put a bf16 score within
(3u + 2^-9) |e| |h| < 2^-6 |e| |h| of the fp32 score of the same token (e its embedding row,
h the state; the sum of |e_i h_i| is at most |e| |h|). Denormals, which AMX flushes to zero,
add at most 2^-110 (1 + |h|). So the fp32 winner's bf16 score is within twice that bound of
the best bf16 score in its row, and it is among the candidates; equal fp32 scores go to the
lowest token id, as ``argmax`` does. The rescoring sums products row by row, another fp32
kernel than the columns' product: two tokens whose fp32 scores differ only in the last bit
may come out in either order, as they may between two thread counts of one kernel.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

CHUNK = 64  # rows per chunk of the two-stage reductions (also decoding's top-k)

SCREEN_MAX_WIDTH = 2**14  # the bound below holds for C up to this
# The screen has a fixed cost (some 40 small operations) that only a large enough LM head pays
# back. A whole greedy call of 32 rows on this project's CPU, timed in pairs with and without
# (benchmarks/decode_parts.py, part 9, the median of the pairs' ratios, two runs): 0.98x at
# 4,000 tokens, 1.00x at 6,000, 1.02-1.03x at 8,000 (faster in 28 of 30 pairs), 1.27-1.34x at
# 32,000. Greedy decoding screens from where it stops costing time.
SCREEN_MIN_VOCAB = 6_000
_RELATIVE_SLACK = 2.0**-6  # |bf16 score - fp32 score| <= this * |e| |h| (module doc)
_ABSOLUTE_SLACK = 2.0**-110  # flushed denormals: at most this * (1 + |h|)


def best_in_columns(columns: Tensor) -> Tensor:
    """(V, N) logits as columns -> (N,) the highest-scoring token of each (the first of equals).

    The best chunk of 64 rows, then the best row in it: on CPU several times faster than
    ``argmax`` over the whole columns. Both stages take the first of equals, so the result is
    ``argmax``'s, ties and all -inf columns included.
    """
    V, N = columns.shape
    if V < 4 * CHUNK:
        return columns.argmax(dim=0)
    chunks = _in_chunks(columns)
    best = chunks.amax(dim=1).argmax(dim=0, keepdim=True)  # (1, N) first chunk holding the maximum
    within = chunks.gather(0, best[:, None, :].expand(1, CHUNK, N)).argmax(dim=1)  # (1, N)
    return within.add_(best, alpha=CHUNK).squeeze(0)


def _in_chunks(columns: Tensor) -> Tensor:
    """(V, N) -> (V / CHUNK, CHUNK, N), rows of -inf added up to whole chunks (a copy, but
    after every real row, so indices into the chunks are token ids)."""
    V, N = columns.shape
    if V % CHUNK:
        columns = F.pad(columns, (0, 0, 0, CHUNK - V % CHUNK), value=-math.inf)
    return columns.reshape(-1, CHUNK, N)


@functools.cache
def bf16_is_native(device_type: str) -> bool:
    """Whether bf16 products are fast here: on CPUs with AMX tiles. torch's probe for them is
    private (``torch.cpu._is_amx_tile_supported``), so it is read defensively: without it the
    answer is False and greedy decoding keeps the fp32 product, which is always exact."""
    if device_type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe()) if callable(probe) else False


def row_norm_max(weight: Tensor) -> float:
    """The largest Euclidean norm of a row of ``weight`` (V, C): the |e| of the slack."""
    return float(torch.linalg.vector_norm(weight.float(), dim=1).max())


def screened_best(
    weight: Tensor, weight_bf16: Tensor, norm_max: float, hidden: Tensor, banned: int | None = None
) -> Tensor | None:
    """(N,) the token with each row's highest fp32 score ``hidden @ weight.T`` (the first of
    equals), token ``banned`` ruled out, found through a bf16 screen (module doc).

    weight (V, C) fp32 and its bf16 copy; norm_max = ``row_norm_max(weight)``; hidden (N, C)
    fp32. Returns None where the screen does not apply (non-finite scores, C too wide): the
    caller then scores in fp32.
    """
    V, C = weight.shape
    N = hidden.size(0)
    if C > SCREEN_MAX_WIDTH:
        return None
    approx = torch.mm(weight_bf16, hidden.to(torch.bfloat16).t()).float()  # (V, N)
    if banned is not None:
        approx[banned] = -math.inf
    chunks = _in_chunks(approx)
    chunk_best = chunks.amax(dim=1)  # (V / CHUNK, N)
    # Twice the slack of the module doc: below this floor no token of the row can win.
    slack = torch.linalg.vector_norm(hidden, dim=1).mul_(2 * (_RELATIVE_SLACK * norm_max + _ABSOLUTE_SLACK))
    floor = chunk_best.amax(dim=0).sub_(slack).sub_(2 * _ABSOLUTE_SLACK)  # (N,)
    if not math.isfinite(float(floor.sum())):  # NaN or inf scores: argmax's rules, in fp32
        return None
    # Candidates: the chunks whose best reaches the floor, then the tokens in them that do.
    chunk, column = (chunk_best >= floor).nonzero().unbind(1)  # (P,) each
    values = chunks[chunk, :, column]  # (P, CHUNK)
    pair, within = (values >= floor.index_select(0, column)[:, None]).nonzero().unbind(1)
    token = chunk.index_select(0, pair) * CHUNK + within  # (K,)
    column = column.index_select(0, pair)
    exact = (weight.index_select(0, token) * hidden.index_select(0, column)).sum(dim=1)  # (K,) fp32
    best = exact.new_full((N,), -math.inf).scatter_reduce_(0, column, exact, "amax")
    ties = exact == best.index_select(0, column)
    return token.new_full((N,), V).scatter_reduce_(0, column, torch.where(ties, token, V), "amin")
