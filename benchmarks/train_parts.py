"""What each part of tasklight's fast training buys, each against the alternative it replaced,
timed alternately in one process (medians), on the throughput benchmark's model and batch.

    python benchmarks/train_parts.py             # 2 threads, about two minutes
    python benchmarks/train_parts.py --threads 1

1. one dropout of a 64 x 24 x 256 activation, forward and backward: tasklight's ``Dropout``
   (a mask of 31-bit integers from ``random_``) against ``nn.Dropout`` (``bernoulli_``);
2. a whole training step of the benchmark's model (64 x 24 tokens, its 17 dropouts, fused
   loss, AdamW, clipping), with tasklight's ``Dropout`` against ``nn.Dropout``'s forward;
3. the optimiser's step over the benchmark model's 7.8M parameters: torch's fused AdamW (what
   ``platform run`` uses in fp32) against AdamW's default per-parameter loop on CPU;
4. a whole training step with the one optimiser against the other.

Untrained weights, random tokens; only times are compared. Needs no data and no transformers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from torch import nn

from decode_parts import alternate, report, setup
from tasklight.model.dropout import Dropout
from tasklight.system import adamw
from throughput import BETAS, LR, WEIGHT_DECAY, Sizes, build_tasklight, fixed_batch, tasklight_adamw, tasklight_step


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv)
    s = Sizes()
    print(f"torch {torch.__version__}, {args.threads} threads")

    # 1. one dropout, forward and backward, on the activation size of the benchmark's batch.
    x = torch.randn(s.batch * s.length, s.d_model, requires_grad=True)
    ours, theirs = Dropout(s.dropout).train(), nn.Dropout(s.dropout).train()

    def through(dropout: nn.Module) -> Callable[[], None]:
        return lambda: dropout(x).sum().backward()

    report(f"1. dropout {s.batch} x {s.length} x {s.d_model}, forward + backward", alternate(
        {"integers": through(ours), "bernoulli": through(theirs)}, args.rounds, 20))

    # 2. a training step of the benchmark's model: its dropouts one way or the other.
    model, head = build_tasklight(s, s.vocab)
    model.train()
    optimizer = tasklight_adamw(model)  # what `platform run` trains with in fp32 on CPU
    src, tgt, _ = fixed_batch(s, s.vocab, s.batch, s.length, seed=1)

    def step(plain: bool) -> None:
        kept = Dropout.forward
        if plain:
            Dropout.forward = nn.Dropout.forward  # type: ignore[method-assign]
        try:
            tasklight_step(model, head, optimizer, src, tgt)
        finally:
            Dropout.forward = kept  # type: ignore[method-assign]

    result = alternate({"integers": lambda: step(False), "bernoulli": lambda: step(True)},
                       args.rounds, 2)
    report(f"2. training step, {s.batch} x {s.length} tokens", {k: v / 1e3 for k, v in result.items()}, "ms")

    # 3. the optimiser's step alone, on the gradients of that step (each updates the weights);
    # 4. a training step with one optimiser or the other.
    loop = adamw(model.named_parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, fused=False)
    report("3. AdamW step, the model's parameters", alternate(
        {"fused": optimizer.step, "loop": loop.step}, args.rounds, 5))
    result = alternate({"fused": lambda: tasklight_step(model, head, optimizer, src, tgt),
                        "loop": lambda: tasklight_step(model, head, loop, src, tgt)}, args.rounds, 2)
    report(f"4. training step, {s.batch} x {s.length} tokens", {k: v / 1e3 for k, v in result.items()}, "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
