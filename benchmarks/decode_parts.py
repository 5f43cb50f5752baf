"""What each part of tasklight's fast decoding buys, each against the alternative it replaced,
timed alternately in one process (medians), on the throughput benchmark's model size.

    python benchmarks/decode_parts.py             # 2 threads, about a minute
    python benchmarks/decode_parts.py --threads 1

1. the single-position decoder step (``Transformer._decode_step``) against the blocks' general
   path (train mode with dropout 0, which takes it and computes the same thing), per step;
2. the encoder on real tokens only (no autograd) against every position (autograd enabled,
   parameters frozen, so no graph is kept), for 32 sources about half real like the benchmark's;
3. cross-attention keys stored (H, Dh, S) against a transposed view of (H, S, Dh), 4 beams;
4. the two-stage greedy pick against ``argmax`` over whole columns of 8000 logits;
5. a (in, out) weight copy against ``F.linear`` for 32 rows;
6. the encoder's q, k, v unpacked into one kept scratch buffer against a fresh zeroed one;
7. a whole beam-4 call (32 sources, 30 tokens) with each step's (128, 8000) logits and
   log-probabilities written into buffers kept for the call, against fresh tensors at every
   step: time and minor page faults per call;
8. greedy's scoring of a step as columns, ``embed @ hidden.T`` (V, 32), then the pick, against
   the (32, V) product with the (C, V) copy and the pick over rows;
9. a whole greedy call (32 sources, 30 tokens) picking through the bf16 screen
   (``Transformer.lm_argmax``, exact) against fp32 columns and the pick of part 8, with
   vocabularies of 4,000, 6,000, 8,000 (the benchmark's) and 32,000, timed in pairs: the ratio
   is the median of the pairs' ratios, which a few percent can show through this machine's
   noise where a ratio of two medians cannot. Greedy decoding screens where bf16 products are
   native (CPUs with AMX); elsewhere this part shows what it would cost.

Untrained weights; only times are compared. Needs no data and no transformers.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tasklight.model import Transformer, TransformerConfig, generate
from tasklight.model.argmax import SCREEN_MIN_VOCAB, best_in_columns, bf16_is_native
from tasklight.model.decoding import _RunningBatch
from tasklight.model.transformer import _RealTokens

C, H, LAYERS, FF, VOCAB, BATCH, STEPS = 256, 4, 3, 1024, 8000, 32, 30


def _take_turns(work: dict[str, Callable[[], object]], rounds: int, repeat: int) -> dict[str, list[float]]:
    """Microseconds per call of each function in each round, after one warm-up call each; the
    functions take turns, and which goes first alternates from round to round."""
    for f in work.values():
        f()
    times: dict[str, list[float]] = {name: [] for name in work}
    for r in range(rounds):
        for name in list(work) if r % 2 == 0 else list(work)[::-1]:
            start = time.perf_counter()
            for _ in range(repeat):
                work[name]()
            times[name].append((time.perf_counter() - start) / repeat * 1e6)
    return times


def alternate(work: dict[str, Callable[[], object]], rounds: int, repeat: int) -> dict[str, float]:
    """Median microseconds per call of each function, the functions taking turns."""
    return {name: statistics.median(t) for name, t in _take_turns(work, rounds, repeat).items()}


def paired(work: dict[str, Callable[[], object]], rounds: int) -> tuple[dict[str, float], float, int]:
    """Two functions timed in pairs (one round each): the median milliseconds per call of each,
    the median over the pairs of second / first, and in how many pairs the first was faster.
    A burst of load from elsewhere slows both calls of a pair alike."""
    (a, first), (b, second) = _take_turns(work, rounds, 1).items()
    ratios = [tb / ta for ta, tb in zip(first, second)]
    medians = {a: statistics.median(first) / 1e3, b: statistics.median(second) / 1e3}
    return medians, statistics.median(ratios), sum(r > 1 for r in ratios)


def report(title: str, result: dict[str, float], unit: str = "µs") -> None:
    (a, ta), (b, tb) = result.items()
    print(f"{title:58s} {a} {ta:8.0f} {unit}   {b} {tb:8.0f} {unit}   {tb / ta:.2f}x")


def sources(g: torch.Generator) -> torch.Tensor:
    """32 rows padded to 33 tokens, 44% of them real (lengths 4 to 33)."""
    lengths = torch.linspace(4, 25, BATCH).round().long()
    lengths[0] = 33
    src = torch.zeros(BATCH, 33, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        src[i, :n] = torch.randint(3, VOCAB, (n,), generator=g)
    return src


def setup(description: str, argv: list[str] | None) -> argparse.Namespace:
    """The options every ``*_parts.py`` script takes (--threads, --rounds); sets the threads
    and seeds torch."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv)
    g = torch.Generator().manual_seed(0)
    config = TransformerConfig(vocab_size=VOCAB, d_model=C, n_heads=H, encoder_layers=LAYERS,
                               decoder_layers=LAYERS, d_ff=FF, dropout=0.0, max_positions=64)
    model = Transformer(config).eval().requires_grad_(False)
    src = sources(g)
    print(f"torch {torch.__version__}, {args.threads} threads; real tokens {float((src != 0).float().mean()):.0%}")

    # 1. decoder step: the single-position path (eval) against the general one (train, dropout 0).
    for rows in (BATCH, 1):
        memory = model.encode(src[:rows])

        def steps(train: bool, rows: int = rows, memory: torch.Tensor = memory) -> None:
            model.train(train)
            with torch.no_grad():
                cache = model.new_cache(rows, STEPS + 1, memory, src[:rows] != 0)
                token = torch.full((rows, 1), 5)
                for _ in range(STEPS):
                    model.decode(token, cache=cache)
            model.eval()

        per_call = alternate({"step": lambda: steps(False), "general": lambda: steps(True)}, args.rounds, 1)
        report(f"1. decoder step, batch {rows} (per step)", {k: v / STEPS for k, v in per_call.items()})

    # 2. encoder: real tokens only (no autograd) against every position (autograd on, frozen).
    def encode(grad: bool) -> None:
        with torch.set_grad_enabled(grad):
            model.encode(src)

    report("2. encoder, 32 sources", alternate({"real": lambda: encode(False), "padded": lambda: encode(True)},
                                               args.rounds, 3))

    # 3. cross-attention scores of 4 beams: keys stored transposed against a transposed view.
    q = torch.randn(BATCH * H, 4, C // H)
    keys = torch.randn(BATCH * H, 33, C // H)
    keys_t = keys.transpose(1, 2).contiguous()
    with torch.inference_mode():
        report("3. cross-attention scores, 4 beams", alternate(
            {"stored": lambda: torch.bmm(q, keys_t), "view": lambda: torch.bmm(q, keys.transpose(1, 2))},
            args.rounds, 200))

    # 4. greedy pick over 8000 x 32 logits (a column per row, as greedy decoding scores).
    columns = torch.randn(VOCAB, BATCH)
    with torch.inference_mode():
        report("4. greedy pick, 8000 x 32", alternate(
            {"chunked": lambda: best_in_columns(columns), "argmax": lambda: columns.argmax(0)}, args.rounds, 200))

    # 5. a 256 -> 1024 product for 32 rows.
    linear = model.decoder.blocks[0].ff.fc  # type: ignore[union-attr]
    x = torch.randn(BATCH, C)
    with torch.inference_mode():
        report("5. linear 256 -> 1024, 32 rows", alternate(
            {"copy": lambda: linear(x), "F.linear": lambda: F.linear(x, linear.weight, linear.bias)},
            args.rounds, 200))

    # 6. a layer's q, k, v (real tokens -> padded layout): kept scratch against fresh zeros.
    real = src != 0
    qkv = torch.randn(int(real.sum()), 3 * C)
    with torch.inference_mode():
        kept = _RealTokens(real)

        def fresh() -> torch.Tensor:
            return qkv.new_zeros(real.numel(), 3 * C).index_copy_(0, kept.index, qkv)

        report("6. unpack q, k, v of 32 sources", alternate(
            {"scratch": lambda: kept.unpack(qkv, scratch=True), "fresh": fresh}, args.rounds, 20))

    # 7. a beam-4 call: step results in kept buffers against fresh tensors at every step.
    def beam_call() -> None:
        with torch.inference_mode():
            generate(model, torch.full((BATCH, 1), 2), src_ids=src, eos_id=3, max_new_tokens=STEPS,
                     min_new_tokens=STEPS, strategy="beam", beam_size=4)

    def fresh_buffers() -> None:
        kept = _RunningBatch._buffer
        _RunningBatch._buffer = lambda self, name, rows, columns, like: like.new_empty((rows, columns))  # type: ignore[method-assign]
        try:
            beam_call()
        finally:
            _RunningBatch._buffer = kept  # type: ignore[method-assign]

    faults: dict[str, list[int]] = {"kept": [], "fresh": []}

    def counted(name: str, call: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            call()
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        return run

    result = alternate({"kept": counted("kept", beam_call), "fresh": counted("fresh", fresh_buffers)},
                       max(3, args.rounds // 3), 1)
    report("7. beam-4 call, 32 sources x 30 tokens", {k: v / 1e3 for k, v in result.items()}, "ms")
    print(f"{'   minor page faults per call (median)':58s} kept {statistics.median(faults['kept']):8.0f}      "
          f"fresh {statistics.median(faults['fresh']):8.0f}")

    # 8. scoring and picking one greedy step of 32 rows: columns against rows.
    hidden = torch.randn(BATCH, C)
    with torch.inference_mode():
        def by_rows_pick_rows() -> torch.Tensor:
            chunks = model.lm_logits(hidden).view(BATCH, VOCAB // 64, 64)  # the pick over rows
            best = chunks.amax(dim=2).argmax(dim=1, keepdim=True)
            return chunks.gather(1, best[:, :, None].expand(BATCH, 1, 64)).argmax(dim=2).add_(best, alpha=64)

        assert torch.equal(best_in_columns(model.lm_logit_columns(hidden)), by_rows_pick_rows().squeeze(1))
        report("8. greedy step's LM head + pick, 32 rows", alternate(
            {"columns": lambda: best_in_columns(model.lm_logit_columns(hidden)), "rows": by_rows_pick_rows},
            args.rounds, 100))

    # 9. a greedy call: the bf16 screen against fp32 columns, at every step; at the benchmark's
    # vocabulary, and at smaller and larger ones (the LM head's share of a step grows with it).
    for vocab in (4_000, 6_000, VOCAB, 32_000):
        torch.manual_seed(0)
        config = TransformerConfig(vocab_size=vocab, d_model=C, n_heads=H, encoder_layers=LAYERS,
                                   decoder_layers=LAYERS, d_ff=FF, dropout=0.0, max_positions=64)
        greedy_model = Transformer(config).eval().requires_grad_(False)
        greedy_src = torch.where(src > 0, src % (vocab - 3) + 3, 0)  # the same padding, in range

        def greedy_call(screen: bool, m: Transformer = greedy_model, src: torch.Tensor = greedy_src) -> list[list[int]]:
            lm_argmax = Transformer.lm_argmax
            m.lm_argmax = lambda hidden, banned=None: lm_argmax(m, hidden, banned, screen=screen)  # type: ignore[method-assign]
            try:
                with torch.inference_mode():
                    return generate(m, torch.full((BATCH, 1), 2), src_ids=src, eos_id=3,
                                    max_new_tokens=STEPS, min_new_tokens=STEPS)
            finally:
                del m.lm_argmax

        assert greedy_call(True) == greedy_call(False), "the screen changed a greedy token"
        rounds = 2 * args.rounds
        medians, ratio, wins = paired({"screen": lambda: greedy_call(True), "columns": lambda: greedy_call(False)},
                                      rounds)
        print(f"{f'9. greedy call, 32 x 30, vocabulary {vocab:,}':58s} screen {medians['screen']:8.0f} ms   "
              f"columns {medians['columns']:8.0f} ms   screen faster in {wins}/{rounds} pairs   {ratio:.2f}x")
    print(f"   (bf16 products native here: {bf16_is_native('cpu')}; where they are, greedy decoding "
          f"screens from {SCREEN_MIN_VOCAB:,} tokens up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
