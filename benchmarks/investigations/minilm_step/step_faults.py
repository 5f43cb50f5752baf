"""tasklight's MiniLM fine-tuning step alone: its median time and minor page faults, with the
word embeddings trained (as the recipe does) or frozen. Run it under glibc's allocator
variables to see what they change:

    python benchmarks/investigations/minilm_step/step_faults.py
    python benchmarks/investigations/minilm_step/step_faults.py --freeze-embeddings
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483648 \\
        python benchmarks/investigations/minilm_step/step_faults.py
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
from torch import nn

from step_vs_hf import INIT, batch, pooled_loss  # this folder's script: the same batch and loss
from tasklight.checkpoints.loader import load_hf


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=90)
    parser.add_argument("--length", type=int, default=12)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--freeze-embeddings", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_hf(INIT).model.train()
    for module in model.modules():  # the fine-tuning default: no attention dropout
        if hasattr(module, "attention_dropout"):
            module.attention_dropout = 0.0
    model.embed.weight.requires_grad_(not args.freeze_embeddings)
    ids, mask, labels = batch(args.rows, args.length, model.config.vocab_size)
    classifier = nn.Linear(model.config.d_model, 150)
    params = [p for p in [*model.parameters(), *classifier.parameters()] if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, fused=True)

    def step() -> None:
        pooled_loss(model.encode(ids, mask), mask, classifier, labels).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / args.steps
    print(f"median {statistics.median(times) * 1000:.1f} ms a step, {faults:,.0f} minor faults a step")


if __name__ == "__main__":
    main()
