"""Autoregressive decoding for ``Transformer``: greedy, sampling, batched beam search.

All strategies run the whole batch as tensors. Greedy and sampling drop rows as they finish;
beam search keeps ``beam_size`` rows per example and drops whole examples once they are done.
``use_cache=False`` recomputes the full decoder at each step; it is slow and exists as the
reference the cached path must match token for token.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .transformer import DecoderCache, Transformer

STRATEGIES = ("greedy", "sample", "beam")
CHUNK = 64  # vocabulary entries per chunk of the two-stage top-k (``_top_k``)


class _RunningBatch:
    """The partial sequences being decoded and how to get their next-token logits.

    ``seqs`` (N, P+t) always holds every token so far. The cached path feeds the decoder only
    the tokens the cache has not seen (the whole prefix first, then one per step); the uncached
    path re-runs the decoder over ``seqs``.
    """

    def __init__(
        self,
        model: Transformer,
        prefix_ids: Tensor,
        memory: Tensor | None,
        memory_mask: Tensor | None,
        max_len: int,
        use_cache: bool,
        eos_id: int,
        min_new_tokens: int,
        no_repeat_ngram_size: int,
    ) -> None:
        self.model = model
        # The LM head's layout: on CPU a step's few rows are scored faster as columns,
        # weight @ hidden.T (see ``Transformer.lm_logits``); elsewhere as rows, transposed.
        self.columns = prefix_ids.device.type == "cpu"
        self.seqs = prefix_ids  # (N, P)
        self.prefix_len = prefix_ids.size(1)
        self.eos_id, self.min_new_tokens = eos_id, min_new_tokens
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.cache: DecoderCache | None = None
        self.memory, self.memory_mask = memory, memory_mask  # (N, S, C), (N, S)
        if use_cache:
            self.cache = model.new_cache(prefix_ids.size(0), max_len, memory, memory_mask)
            self.memory = self.memory_mask = None  # now held as cross-attention K/V in the cache

    def eos_ruled_out(self) -> bool:
        """Whether the next token may not be EOS: fewer than ``min_new_tokens`` generated yet."""
        return self.seqs.size(1) - self.prefix_len < self.min_new_tokens

    def next_logits(self) -> Tensor:
        """(V, N) float32 logits for the token after ``seqs``, one column per row; EOS is ruled
        out until ``min_new_tokens`` tokens have been generated, and with
        ``no_repeat_ngram_size`` n, every token that would repeat an n-gram of its row."""
        if self.cache is not None:
            hidden = self.model.decode(self.seqs[:, self.cache.length :], cache=self.cache)
        else:
            hidden = self.model.decode(self.seqs, self.memory, self.memory_mask)
        if self.columns:
            logits = self.model.lm_logits(hidden[:, -1], columns=True)  # (V, N)
        else:
            logits = self.model.lm_logits(hidden[:, -1]).t()  # (V, N), a view of (N, V)
        logits = logits.float()
        if self.eos_ruled_out():
            logits[self.eos_id] = -math.inf
        if self.no_repeat_ngram_size:
            _rule_out_repeated_ngrams(logits, self.seqs, self.no_repeat_ngram_size)
        return logits

    def push(self, tokens: Tensor) -> None:
        self.seqs = torch.cat([self.seqs, tokens[:, None]], dim=1)

    def expand(self, beams: int) -> None:
        """Each row becomes ``beams`` consecutive copies of itself (beam search, after the
        first step). The cache keeps one copy of the cross-attention K/V per example."""
        self.seqs = self.seqs.repeat_interleave(beams, dim=0)
        if self.cache is not None:
            self.cache.expand(beams)
        if self.memory is not None:
            self.memory = self.memory.repeat_interleave(beams, dim=0)
        if self.memory_mask is not None:  # None: a vocabulary without padding
            self.memory_mask = self.memory_mask.repeat_interleave(beams, dim=0)

    def select(self, index: Tensor, same_memory: bool = False) -> None:
        """Keep rows ``index`` (LongTensor; rows may repeat or disappear).

        ``same_memory``: every new row reads the same source as the old row at its position
        (beams of one example trading places), so cross-attention K/V need not move.
        """
        self.seqs = self.seqs.index_select(0, index)
        if self.cache is not None:
            self.cache.reorder(index, same_memory=same_memory)
        if self.memory is not None:
            self.memory = self.memory.index_select(0, index)
        if self.memory_mask is not None:
            self.memory_mask = self.memory_mask.index_select(0, index)


@torch.no_grad()
def generate(
    model: Transformer,
    prefix_ids: Tensor,
    *,
    src_ids: Tensor | None = None,
    eos_id: int,
    max_new_tokens: int,
    min_new_tokens: int = 0,
    strategy: str = "greedy",
    beam_size: int = 4,
    length_penalty: float = 1.0,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    no_repeat_ngram_size: int = 0,
    use_cache: bool = True,
) -> list[list[int]]:
    """Continue ``prefix_ids`` (B, P); return each example's new tokens, without the EOS.

    At most ``max_new_tokens`` are generated; EOS cannot end a sequence before
    ``min_new_tokens`` (equal values force every output to exactly that length).
    ``no_repeat_ngram_size`` n > 0: no n-gram occurs twice in a sequence (prefix included), the
    guard against loops that summarizers decode with (fairseq's and Hugging Face's option of
    that name); 0 allows repeats.

    seq2seq: ``prefix_ids`` is a (B, 1) column of BOS and ``src_ids`` (B, S) the padded source.
    decoder-only: ``prefix_ids`` is the prompt (equal lengths, no padding), ``src_ids`` None.
    The model is used as is: call ``model.eval()`` first unless dropout is wanted.
    """
    config = model.config
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    if config.shape == "encoder-only":
        raise ValueError("generate() needs a decoder; this model is encoder-only")
    if prefix_ids.dim() != 2 or prefix_ids.size(1) == 0:
        raise ValueError(f"prefix_ids must be (B, P) with P >= 1; got {tuple(prefix_ids.shape)}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0; got {max_new_tokens}")
    if not 0 <= min_new_tokens <= max_new_tokens:
        raise ValueError(f"min_new_tokens must be in [0, max_new_tokens]; got {min_new_tokens}")
    if no_repeat_ngram_size < 0:
        raise ValueError(f"no_repeat_ngram_size must be >= 0; got {no_repeat_ngram_size}")
    if strategy == "beam" and beam_size < 1:
        raise ValueError(f"beam_size must be >= 1; got {beam_size}")
    if strategy == "sample" and not (temperature > 0 and top_k >= 0 and 0 < top_p <= 1):
        raise ValueError("sampling needs temperature > 0, top_k >= 0 and 0 < top_p <= 1")

    B, P = prefix_ids.shape
    memory = memory_mask = None
    if config.shape == "encoder-decoder":
        if src_ids is None or src_ids.size(0) != B:
            raise ValueError("encoder-decoder generate() needs src_ids with one row per prefix")
        memory_mask = model.real_tokens(src_ids)  # (B, S), or None without a pad_id
        memory = encode_by_length(model, src_ids, memory_mask)  # (B, S, C), once
    elif src_ids is not None:
        raise ValueError("decoder-only generate() takes the prompt as prefix_ids; src_ids=None")

    max_new = min(max_new_tokens, config.max_positions - P)  # positions are a hard limit
    if max_new <= 0:
        return [[] for _ in range(B)]
    batch = _RunningBatch(
        model, prefix_ids, memory, memory_mask, P + max_new, use_cache, eos_id, min_new_tokens,
        no_repeat_ngram_size,
    )

    if strategy == "beam":
        return _beam_search(batch, B, P, eos_id, max_new, beam_size, length_penalty)
    if strategy == "greedy":
        return _one_token_at_a_time(batch, B, eos_id, max_new, lambda: batch.next_logits().argmax(dim=0))
    return _one_token_at_a_time(
        batch, B, eos_id, max_new, lambda: _sample(batch.next_logits().t(), temperature, top_k, top_p, generator)
    )


def encode_by_length(model: Transformer, src_ids: Tensor, mask: Tensor | None) -> Tensor:
    """``model.encode(src_ids, mask)`` (B, S, C), with the rows encoded in groups of similar
    length, each group cut after its longest row's last real token.

    The encoder's work then follows the real tokens rather than the padded batch (a batch of
    sentences is about half padding). Masked keys weigh exactly zero, so a row's real states
    do not depend on the padding after it. As with ``encode``, states at padded positions mean
    nothing (zeros past a group's width).
    """
    if mask is None or src_ids.size(0) == 1:
        return model.encode(src_ids, mask)
    S = src_ids.size(1)
    ends = (mask * torch.arange(1, S + 1, device=mask.device)).amax(dim=1)  # (B,) last real token + 1
    order = ends.argsort(stable=True)
    sorted_ends = ends[order].tolist()
    memory: Tensor | None = None
    for start, stop in _length_groups(sorted_ends, GROUP_COST):
        rows, width = order[start:stop], max(sorted_ends[stop - 1], 1)
        states = model.encode(src_ids[rows, :width], mask[rows, :width])  # (rows, width, C)
        if memory is None:
            memory = states.new_zeros(src_ids.size(0), S, states.size(-1))
        memory[rows, :width] = states
    assert memory is not None
    return memory


# One more encoder call costs about as much as encoding this many more tokens (a few dozen
# small operations per layer); it decides how finely ``encode_by_length`` groups rows.
GROUP_COST = 64


def _length_groups(lengths: list[int], call_cost: int) -> list[tuple[int, int]]:
    """Ascending ``lengths`` -> consecutive groups [start, stop) of least total cost, a group
    costing its rows times its longest length plus ``call_cost`` (dynamic programming over
    the distinct lengths: a group boundary only pays where the length changes)."""
    bounds = [i for i in range(1, len(lengths)) if lengths[i] != lengths[i - 1]] + [len(lengths)]
    best = {0: 0}  # cost of grouping rows [0, b) for each boundary b
    cut: dict[int, int] = {}
    for stop in bounds:
        width = lengths[stop - 1]
        start = min(best, key=lambda b: best[b] + (stop - b) * width)
        best[stop], cut[stop] = best[start] + (stop - start) * width + call_cost, start
    groups, stop = [], len(lengths)
    while stop:
        groups.append((cut[stop], stop))
        stop = cut[stop]
    return groups[::-1]


def _top_k(columns: Tensor, groups: int, k: int, offset: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Top ``k`` sums ``columns[v, r * G + g] + offset[r, g]`` per r over (g, v): columns
    (V, R*G), G = ``groups``, offset (R, G) or None. Returns the k best sums (R, k), best
    first, and their flat indices g * V + v.

    ``torch.topk`` over thousands of logits per row is slow on CPU (2 ms for 32 x 32000), and
    the sums would first need a tensor of their own. Instead: the maximum of each chunk of 64
    rows (a fast, vectorised reduction), the k best chunks, then the top k among the k*64
    values of those chunks only. The k best values lie in the k chunks with the highest
    maxima, and max_i(o + x_i) = o + max_i(x_i) holds exactly in floating point (rounding is
    monotonic), so the result is the exact top k.
    """
    V, N = columns.shape
    R, G = N // groups, groups
    if V < 4 * CHUNK:  # small vocabularies (tests, toy models): the direct way
        values = columns.t().reshape(R, G, V)
        flat = (values if offset is None else values + offset[..., None]).reshape(R, G * V)
        return flat.topk(k, dim=1)
    if V % CHUNK:  # pad with -inf to whole chunks (a copy, still far cheaper than topk)
        columns = F.pad(columns, (0, 0, 0, CHUNK - V % CHUNK), value=-math.inf)
    n = columns.size(0) // CHUNK
    chunks = columns.view(n, CHUNK, N)  # (n, CH, R*G)
    best = chunks.amax(dim=1).t().reshape(R, G, n)  # (R, G, n) chunk maxima
    if offset is not None:
        best = best + offset[..., None]
    k_chunks = min(k, G * n)
    chunk_index = best.reshape(R, G * n).topk(k_chunks, dim=1).indices  # (R, kc) flat g * n + c
    group, chunk = chunk_index // n, chunk_index % n  # (R, kc)
    column = torch.arange(R, device=columns.device)[:, None] * G + group  # (R, kc)
    picked = chunks[chunk, :, column]  # (R, kc, CH)
    if offset is not None:
        picked = picked + offset.gather(1, group)[..., None]
    top, where = picked.reshape(R, k_chunks * CHUNK).topk(k, dim=1)  # (R, k)
    winner = chunk_index.gather(1, where // CHUNK)  # (R, k) flat chunk of each winner
    row = (winner % n) * CHUNK + where % CHUNK  # (R, k) vocabulary row within its group
    return top, (winner // n) * V + row


def _sample(
    logits: Tensor, temperature: float, top_k: int, top_p: float, generator: torch.Generator | None
) -> Tensor:
    """(N, V) logits -> (N,) sampled token ids after temperature, top-k and nucleus filtering."""
    logits = logits / temperature
    if 0 < top_k < logits.size(-1):
        kth_best = logits.topk(top_k, dim=-1).values[:, -1:]  # (N, 1)
        logits = logits.masked_fill(logits < kth_best, -math.inf)
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (N, V)
        probs = sorted_logits.softmax(-1)
        # Nucleus = smallest prefix reaching top_p: drop a token once the tokens ranked above it
        # already cover top_p. The best token is never dropped (nothing ranks above it).
        drop = probs.cumsum(-1) - probs >= top_p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, -math.inf))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)  # (N,)


def _one_token_at_a_time(
    batch: _RunningBatch, B: int, eos_id: int, max_new: int, next_tokens: Callable[[], Tensor]
) -> list[list[int]]:
    """Greedy or sampling: one token per running row per step (``next_tokens`` scores the
    batch's next position and picks); finished rows leave the batch."""
    device = batch.seqs.device
    # Filled with EOS so a row that stops early reads as "tokens, EOS, EOS, ..." at the end.
    out = torch.full((B, max_new), eos_id, dtype=torch.long, device=device)  # (B, max_new)
    alive = torch.arange(B, device=device)  # (N,) example index of each running row
    for t in range(max_new):
        tokens = next_tokens()  # (N,)
        if tokens.size(0) == B:  # no row has finished: a whole column, no indexed write
            out[:, t] = tokens
        else:
            out[alive, t] = tokens
        if t == max_new - 1:
            break
        # While EOS is ruled out (min_new_tokens) no row can have finished: nothing to check.
        if not batch.eos_ruled_out():
            running = tokens != eos_id
            if not bool(running.all()):
                keep = running.nonzero().squeeze(1)
                if keep.numel() == 0:
                    break
                alive, tokens = alive[keep], tokens[keep]
                batch.select(keep)
        batch.push(tokens)
    return [_cut_at_eos(row, eos_id) for row in out.tolist()]


def _rule_out_repeated_ngrams(logits: Tensor, seqs: Tensor, n: int) -> None:
    """Set ``logits`` (V, N) to -inf, in place, at each token that would end an n-gram already
    in its row of ``seqs`` (N, L): wherever the row's last n-1 tokens occurred before, the
    token that followed them there is ruled out."""
    if seqs.size(1) < n:
        return
    ngrams = seqs.unfold(1, n, 1)  # (N, L-n+1, n), every n-gram of every row
    context = seqs[:, seqs.size(1) - n + 1 :]  # (N, n-1), the n-gram the next token would end
    seen = (ngrams[:, :, :-1] == context[:, None, :]).all(dim=2)  # (N, L-n+1)
    rows, starts = seen.nonzero(as_tuple=True)
    logits[ngrams[rows, starts, -1], rows] = -math.inf


def _cut_at_eos(tokens: list[int], eos_id: int) -> list[int]:
    return tokens[: tokens.index(eos_id)] if eos_id in tokens else tokens


def _stable_slots(parents: Tensor) -> Tensor:
    """(Ba, K) parent beam of each kept continuation -> (Ba, K) slot each goes to, a permutation
    per row. The first continuation of a beam stays in that beam's slot; the others take the
    slots of beams left without continuations, in order. Which slot a hypothesis sits in does
    not change the search, but this way most rows of the cache keep their contents and only
    the others are copied, in place (``DecoderCache.reorder``)."""
    K = parents.size(1)
    same = parents[:, :, None] == parents[:, None, :]  # (Ba, K, K) [j, i]: same parent
    later = same.tril(diagonal=-1).any(dim=2)  # (Ba, K) a continuation after its beam's first
    beams = torch.arange(K, device=parents.device)
    free = ~(parents[:, None, :] == beams[None, :, None]).any(dim=2)  # (Ba, K) slots left over
    free_slots = torch.sort(free.logical_not().to(torch.uint8), dim=1, stable=True).indices  # free first
    nth_later = (later.cumsum(dim=1) - 1).clamp(min=0)  # (Ba, K)
    return torch.where(later, free_slots.gather(1, nth_later), parents)


def _beam_search(
    batch: _RunningBatch, B: int, P: int, eos_id: int, max_new: int, K: int, length_penalty: float
) -> list[list[int]]:
    """Batched beam search over (active examples x K) rows.

    Each step ranks the 2K best continuations per example. An EOS continuation ranked within
    the top K becomes a finished hypothesis scored sum_logprob / length**length_penalty (length
    counts the EOS); the K best non-EOS continuations carry on. An example is done once it has K
    finished hypotheses (early stopping), or when max_new is reached and its live beams are
    finished as they are. The best finished hypothesis is returned.
    """
    device = batch.seqs.device
    # The K beams of an example start as copies of its prefix, so the first step runs one row
    # per example (G = 1 beam each; only it may expand, else the first step would return K
    # identical hypotheses) and its continuations fill the K rows. A vocabulary too small to
    # give 2K continuations from one beam starts with K rows, all but the first ruled out.
    G = 1 if 2 * K <= batch.model.config.vocab_size else K
    scores = torch.zeros(B, 1, device=device)  # (Ba, G) summed log-probs
    if G > 1:
        batch.expand(K)
        scores = torch.full((B, K), -math.inf, device=device)
        scores[:, 0] = 0.0
    example = torch.arange(B)  # (Ba,) original index of each active example (CPU)
    n_finished = torch.zeros(B, dtype=torch.long, device=device)  # (Ba,)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    rank = torch.arange(2 * K, device=device)  # (2K,)

    for t in range(max_new):
        logits = batch.next_logits()  # (V, Ba*G)
        Ba, V = scores.size(0), logits.size(0)
        # log p = logit - logsumexp(logits): the normaliser joins the beam's score as an offset.
        offset = scores - torch.logsumexp(logits, dim=0).view(Ba, G)  # (Ba, G)
        # The 2K best of the Ba x (G*V) candidates, scores[b, g] + log p[v | beam b*G + g].
        top_scores, top_index = _top_k(logits, G, 2 * K, offset)  # (Ba, 2K)
        top_beam, top_token = top_index // V, top_index % V  # (Ba, 2K)
        row_base = (torch.arange(Ba, device=device) * G)[:, None]  # (Ba, 1)
        is_eos = top_token == eos_id

        # 1) EOS within the top K: a finished hypothesis (its tokens exclude the EOS).
        ends = is_eos & (rank < K) & (top_scores > -math.inf)  # (Ba, 2K)
        if bool(ends.any()):
            n_finished += ends.sum(1)
            hypotheses = batch.seqs.index_select(0, (row_base + top_beam)[ends])[:, P:].tolist()
            for e, score, hypothesis in zip(
                ends.nonzero()[:, 0].tolist(), top_scores[ends].tolist(), hypotheses
            ):
                finished[int(example[e])].append((score / (t + 1) ** length_penalty, hypothesis))

        # 2) The K best non-EOS continuations carry on (each beam has at most one EOS among
        #    the 2K, so there are always at least K). EOS ranks are pushed behind all others.
        order = torch.where(is_eos, rank + 2 * K, rank).argsort(dim=1)[:, :K]  # (Ba, K)
        parents = top_beam.gather(1, order)  # (Ba, K) the beam each continuation extends
        slots = _stable_slots(parents)  # (Ba, K) where each continuation goes
        scores = torch.empty_like(top_scores[:, :K]).scatter_(1, slots, top_scores.gather(1, order))
        tokens = torch.empty_like(order).scatter_(1, slots, top_token.gather(1, order))
        source_rows = row_base + torch.empty_like(order).scatter_(1, slots, parents)  # (Ba, K)

        if t == max_new - 1:  # out of budget: unfinished examples keep their live beams as is
            live = n_finished < K  # (Ba,)
            prefixes = batch.seqs[source_rows[live].flatten(), P:]  # (n*K, t)
            full = torch.cat([prefixes, tokens[live].flatten()[:, None]], dim=1)  # (n*K, t+1)
            for e, score, hypothesis in zip(
                live.nonzero()[:, 0].repeat_interleave(K).tolist(),
                scores[live].flatten().tolist(),
                full.tolist(),
            ):
                if score > -math.inf:
                    finished[int(example[e])].append((score / max_new**length_penalty, hypothesis))
            break

        if G < K:  # after the first step: each example's row becomes its K rows, in place
            batch.expand(K)
            G = K
            source_rows = (torch.arange(Ba, device=device) * K)[:, None] + torch.arange(K, device=device)

        # 3) Done examples leave the batch; one reorder both drops them and follows the beams.
        keep = n_finished < K  # (Ba,)
        all_kept = bool(keep.all())
        if not all_kept:
            if not bool(keep.any()):
                break
            scores, tokens, source_rows = scores[keep], tokens[keep], source_rows[keep]
            n_finished, example = n_finished[keep], example[keep.cpu()]
        # While no example leaves, every row stays within its example: its source is unchanged.
        batch.select(source_rows.flatten(), same_memory=all_kept)
        batch.push(tokens.flatten())

    return [max(hyps, key=lambda h: h[0])[1] if hyps else [] for hyps in finished]
