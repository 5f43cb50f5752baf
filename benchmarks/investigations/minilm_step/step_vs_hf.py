"""One fine-tuning step of the MiniLM checkpoint: tasklight's backbone against transformers'
BertModel, the same batch, the same loss (mean pooling, a linear classifier), fused AdamW.

    python benchmarks/investigations/minilm_step/step_vs_hf.py [--rows 90 --length 12 --rounds 7]

Alternating rounds in one process; prints each side's median step time and the ratio, then
the top operations of one profiled step on each side.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from tasklight.checkpoints.loader import load_hf

INIT = Path(__file__).resolve().parents[3].parent / "shared" / "models" / "all-MiniLM-L6-v2"


def batch(rows: int, length: int, vocab: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(max(3, length - 4), length + 1, (rows,), generator=g)
    ids = torch.randint(1000, vocab, (rows, length), generator=g)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    ids[~mask] = 0
    labels = torch.randint(0, 150, (rows,), generator=g)
    return ids, mask, labels


def pooled_loss(hidden: torch.Tensor, mask: torch.Tensor, classifier: nn.Module, labels: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return nn.functional.cross_entropy(classifier((hidden * m).sum(1) / m.sum(1)), labels)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=90)
    parser.add_argument("--length", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-attention-dropout", action="store_true", help="a third side: tasklight without attention dropout")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import BertModel

    ours = load_hf(INIT).model.train()
    theirs = BertModel.from_pretrained(INIT, attn_implementation="sdpa", add_pooling_layer=False).train()
    ids, mask, labels = batch(args.rows, args.length, ours.config.vocab_size)
    candidates = [
        ("tasklight", ours, lambda m: m.encode(ids, mask)),
        ("hf", theirs, lambda m: m(input_ids=ids, attention_mask=mask.long()).last_hidden_state),
    ]
    if args.no_attention_dropout:
        plain = load_hf(INIT).model.train()
        for module in plain.modules():
            if hasattr(module, "attention_dropout"):
                module.attention_dropout = 0.0
        candidates.append(("tl-no-attn-drop", plain, lambda m: m.encode(ids, mask)))
    sides = {}
    for name, model, forward in candidates:
        classifier = nn.Linear(384, 150)
        params = list(model.parameters()) + list(classifier.parameters())
        optimizer = torch.optim.AdamW(params, lr=1e-5, fused=True)

        def step(model=model, forward=forward, classifier=classifier, optimizer=optimizer) -> None:
            loss = pooled_loss(forward(model), mask, classifier, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        sides[name] = step
    for step in sides.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, step in sides.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps * 1000)
    for name, ms in times.items():
        print(f"{name:10s} {statistics.median(ms):7.1f} ms a step  [{min(ms):.1f}-{max(ms):.1f}]")
    for name in times:
        print(f"{name} / hf speed: {statistics.median(times['hf']) / statistics.median(times[name]):.3f}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for name, step in sides.items():
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(3):
                    step()
            print(f"\n==== {name}")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22))


if __name__ == "__main__":
    main()
