"""tasklight against Hugging Face transformers at the same model size, side by side.

    pip install -e ".[bench]"
    python benchmarks/throughput.py --json out.json            # about 5 minutes on 2 cores
    python benchmarks/throughput.py --quick                    # tiny smoke test, seconds
    python benchmarks/throughput.py --threads 1 --only decode,memory   # some sections only

Both models are built in this one process with identical dimensions (d_model 256, 4 heads,
3+3 layers, FFN 1024, vocab 8000, tied embeddings, dropout 0.1): tasklight's encoder-decoder
and a ``BartForConditionalGeneration``. Every comparison runs the two sides in alternating
rounds after a warm-up, so a burst of load from another process hits both; the figure of a
side is its median over the rounds. Sections:

1. model step: training steps (forward, loss, backward, clipping, AdamW) on identical fixed
   64 x 24 batches, each side with the optimiser its trainer builds by default (fused AdamW
   for both: tasklight's TaskSystem, HF's ``TrainingArguments.optim``); target tokens/s and
   model FLOPs utilisation against the fp32 matmul peak measured at the start of the run;
2. end to end on Multi30k en->de: tasklight's TaskDataModule (token-budget batches with
   length bucketing) against HF's usual pipeline, a shuffled DataLoader with
   ``DataCollatorForSeq2Seq`` at the same number of real tokens per batch; useful
   (non-padding) target tokens/s, padding fraction, fraction of the time spent waiting for
   data. Both tokenise with the same trained BPE, so the token counts are identical;
3. decoding: greedy and beam-4, batch 32, exactly 30 new tokens on both sides
   (min = max new tokens), tasklight's ``generate`` against HF's ``generate()``;
4. memory: peak resident memory of training steps and of beam-4 decoding, each side in its
   own child process (see ``memory_child``);
5. scaling: training throughput at sequence lengths 24, 64, 128 and 256 (1536 target
   tokens per batch at every length).

Writes the ratios (tasklight / HF) and every raw figure as JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MULTI30K = REPO.parent / "shared" / "data" / "translation" / "multi30k"


@dataclass(frozen=True)
class Sizes:
    """Everything --quick shrinks."""

    d_model: int = 256
    n_heads: int = 4
    layers: int = 3
    d_ff: int = 1024
    vocab: int = 8000
    dropout: float = 0.1
    batch: int = 64  # model step: batch x length target tokens, the same source length
    length: int = 24
    step_rounds: int = 5
    steps_per_round: int = 3
    e2e_examples: int = 0  # 0 = all of Multi30k's training set
    e2e_max_tokens: int = 4096  # tasklight's default data.max_tokens
    e2e_rounds: int = 6
    e2e_steps_per_round: int = 8
    decode_batch: int = 32
    new_tokens: int = 30
    # A greedy round lasts a tenth of a second and single rounds of either side vary by 20% on a
    # shared 2-core machine: 16 rounds (about 35 s for both strategies) steady the medians.
    decode_rounds: int = 16
    scaling_lengths: tuple[int, ...] = (24, 64, 128, 256)
    scaling_tokens: int = 1536
    scaling_rounds: int = 3
    memory_steps: int = 3


QUICK = Sizes(
    d_model=32, n_heads=2, layers=1, d_ff=64, vocab=500, batch=8, length=12, step_rounds=2,
    steps_per_round=1, e2e_examples=600, e2e_max_tokens=512, e2e_rounds=2, e2e_steps_per_round=2,
    decode_batch=4, new_tokens=5, decode_rounds=2, scaling_lengths=(8, 16), scaling_tokens=64,
    scaling_rounds=1, memory_steps=1,
)
LR, BETAS, WEIGHT_DECAY, CLIP = 7e-4, (0.9, 0.98), 0.01, 1.0  # tasklight's defaults, both sides
FIRST_ID = 6  # ids below are tasklight's special tokens: <pad> <unk> <s> </s> <sep> <mask>
PAD, BOS, EOS = 0, 2, 3


# ---- models -----------------------------------------------------------------------------------
def build_tasklight(s: Sizes, vocab: int) -> Any:
    from tasklight.heads import Seq2SeqHead
    from tasklight.model import Transformer, TransformerConfig

    config = TransformerConfig(
        vocab_size=vocab, shape="encoder-decoder", d_model=s.d_model, n_heads=s.n_heads,
        encoder_layers=s.layers, decoder_layers=s.layers, d_ff=s.d_ff, dropout=s.dropout,
        max_positions=512, pad_id=PAD,
    )
    # label smoothing 0.1 is tasklight's default; HF's built-in loss has none (cheaper).
    return Transformer(config), Seq2SeqHead(label_smoothing=0.1)


def build_hf(s: Sizes, vocab: int) -> Any:
    from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

    config = BartConfig(
        vocab_size=vocab, d_model=s.d_model, encoder_layers=s.layers, decoder_layers=s.layers,
        encoder_attention_heads=s.n_heads, decoder_attention_heads=s.n_heads,
        encoder_ffn_dim=s.d_ff, decoder_ffn_dim=s.d_ff, dropout=s.dropout, attention_dropout=0.0,
        activation_dropout=0.0, activation_function="gelu", max_position_embeddings=512,
        pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, decoder_start_token_id=BOS,
        forced_eos_token_id=None, tie_word_embeddings=True, scale_embedding=False,
    )
    config._attn_implementation = "sdpa"
    model = BartForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=BOS, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD,
        forced_bos_token_id=None, forced_eos_token_id=None, no_repeat_ngram_size=0,
        length_penalty=1.0, do_sample=False, use_cache=True,
    )
    return model


def n_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())  # tied weights count once


def tasklight_adamw(model: Any) -> Any:
    """The optimiser `platform run` trains with in fp32 on CPU: fused AdamW (TaskSystem)."""
    from tasklight.system import adamw

    return adamw(model.named_parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, fused=True)


def hf_adamw(model: Any) -> Any:
    """The optimiser HF's Trainer builds by default: ``TrainingArguments.optim`` names it
    ("adamw_torch_fused" in transformers 5: torch's AdamW with fused=True)."""
    import dataclasses

    import torch
    from transformers import TrainingArguments

    default = next(f.default for f in dataclasses.fields(TrainingArguments) if f.name == "optim")
    fused = str(getattr(default, "value", default)) == "adamw_torch_fused"
    return torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, fused=fused or None)


def tasklight_step(model: Any, head: Any, opt: Any, src: Any, tgt: Any) -> int:
    """One training step; returns the target tokens it learned from (padding excluded)."""
    import torch

    opt.zero_grad(set_to_none=True)
    loss, tokens = head.loss(model, {"src": src, "tgt": tgt})
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    return int(tokens)


def hf_step(model: Any, opt: Any, batch: dict[str, Any]) -> int:
    import torch

    opt.zero_grad(set_to_none=True)
    out = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
        decoder_input_ids=batch["decoder_input_ids"], labels=batch["labels"],
    )
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    return int((batch["labels"] != -100).sum())


def fixed_batch(s: Sizes, vocab: int, batch: int, length: int, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    """The same random batch in both formats: no padding, ``length`` source and target tokens."""
    import torch

    g = torch.Generator().manual_seed(seed)
    src = torch.randint(FIRST_ID, vocab, (batch, length), generator=g)
    body = torch.randint(FIRST_ID, vocab, (batch, length), generator=g)
    tgt = torch.cat([torch.full((batch, 1), BOS), body], dim=1)  # (B, 1 + length): BOS + targets
    hf = {
        "input_ids": src, "attention_mask": torch.ones_like(src),
        "decoder_input_ids": tgt[:, :-1].contiguous(), "labels": tgt[:, 1:].contiguous(),
    }
    return src, tgt, hf


def train_flops(s: Sizes, vocab: int, batch: int, src_len: int, tgt_len: int) -> float:
    """Model FLOPs of one training step (3 x forward: matmuls only, attention scores counted
    in full), the same formula for both sides, as in the usual MFU definition."""
    C, F, L, B, S, T = s.d_model, s.d_ff, s.layers, batch, src_len, tgt_len
    encoder = L * (2 * B * S * (4 * C * C + 2 * C * F) + 4 * B * S * S * C)
    decoder = L * (
        2 * B * T * (4 * C * C + 2 * C * C + 2 * C * F)  # self qkv+out, cross q+out, FFN
        + 2 * B * S * 2 * C * C  # cross-attention keys and values of the source
        + 4 * B * T * T * C + 4 * B * T * S * C  # attention scores and weighted sums
    )
    head = 2 * B * T * C * vocab
    return 3.0 * (encoder + decoder + head)


def matmul_peak(n: int, reps: int = 12) -> float:
    """Best fp32 GFLOP/s of an n x n x n matmul with the current thread count."""
    import torch

    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def interleaved(work: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each side's ``work`` (returns units done) once per round, alternating which side
    goes first; return units per second of each round."""
    rates: dict[str, list[float]] = {name: [] for name in work}
    names = list(work)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            units = work[name]()
            rates[name].append(units / (time.perf_counter() - start))
    return rates


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---- sections ---------------------------------------------------------------------------------
def model_step(s: Sizes, vocab: int, sides: dict[str, Any], peak: float) -> dict[str, Any]:
    src, tgt, hf_batch = fixed_batch(s, vocab, s.batch, s.length, seed=1)
    tl, head, tl_opt, hf, hf_opt = sides["tl"], sides["head"], sides["tl_opt"], sides["hf"], sides["hf_opt"]
    work = {
        "tasklight": lambda: sum(tasklight_step(tl, head, tl_opt, src, tgt) for _ in range(s.steps_per_round)),
        "hf": lambda: sum(hf_step(hf, hf_opt, hf_batch) for _ in range(s.steps_per_round)),
    }
    for fn in work.values():  # warm-up: allocator, optimizer state, kernels
        fn()
    rates = interleaved(work, s.step_rounds)
    flops_per_token = train_flops(s, vocab, s.batch, s.length, s.length) / (s.batch * s.length)
    out: dict[str, Any] = {"batch": [s.batch, s.length], "rounds": rates, "flops_per_token": flops_per_token}
    for name in work:
        rate = median(rates[name])
        out[f"{name}_tokens_per_s"] = rate
        out[f"{name}_mfu"] = rate * flops_per_token / (peak * 1e9)
    out["ratio"] = out["tasklight_tokens_per_s"] / out["hf_tokens_per_s"]
    return out


def scaling(s: Sizes, vocab: int, sides: dict[str, Any]) -> list[dict[str, Any]]:
    tl, head, tl_opt, hf, hf_opt = sides["tl"], sides["head"], sides["tl_opt"], sides["hf"], sides["hf_opt"]
    rows = []
    for length in s.scaling_lengths:
        batch = max(1, s.scaling_tokens // length)
        src, tgt, hf_batch = fixed_batch(s, vocab, batch, length, seed=length)
        work = {
            "tasklight": lambda src=src, tgt=tgt: sum(tasklight_step(tl, head, tl_opt, src, tgt) for _ in range(2)),
            "hf": lambda hf_batch=hf_batch: sum(hf_step(hf, hf_opt, hf_batch) for _ in range(2)),
        }
        tasklight_step(tl, head, tl_opt, src, tgt)  # warm-up at this shape
        hf_step(hf, hf_opt, hf_batch)
        rates = interleaved(work, s.scaling_rounds)
        row = {"length": length, "batch": batch, **{f"{n}_tokens_per_s": median(r) for n, r in rates.items()}}
        row["ratio"] = row["tasklight_tokens_per_s"] / row["hf_tokens_per_s"]
        rows.append(row)
    return rows


@dataclass
class Pipeline:
    """Counters of one side's end-to-end training."""

    steps: int = 0
    seconds: float = 0.0
    waiting: float = 0.0
    useful: int = 0
    positions: int = 0
    padding: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "useful_tokens_per_s": self.useful / self.seconds,
            "padding_fraction": self.padding / self.positions,
            "data_wait_fraction": self.waiting / self.seconds,
            "useful_tokens_per_step": self.useful / self.steps,
        }


def load_multi30k(s: Sizes, data: Path, seed: int) -> dict[str, Any]:
    """Multi30k en->de read and tokenised exactly as ``platform run translation`` does."""
    from tasklight.config import load_config
    from tasklight.data.sources import load_splits
    from tasklight.data.tokenizer import Tokenizer
    from tasklight.evaluation import encode_examples
    from tasklight.plugins import get_platform
    from tasklight.task import TaskContext

    plat = get_platform()
    task = plat.tasks.get("translation")
    config = load_config(task.name, task.settings, demo=False, overrides=["data.src=en", "data.tgt=de"])
    ctx = TaskContext(config=config, metric=plat.metrics.get, seed=seed)
    splits = load_splits(task, str(data), ctx, plat.adapters, roles=("train", "validation"))
    train = splits["train"].examples
    if s.e2e_examples:
        train = train[: s.e2e_examples]
    texts = (t for example in train for t in task.texts(example))
    tokenizer = Tokenizer.train(texts, s.vocab, int(config["tokenizer.min_frequency"]), task.special_tokens)
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (PAD, BOS, EOS)
    return {
        "tokenizer": tokenizer,
        "examples": train,
        "rows": encode_examples(task, train, tokenizer, ctx, train=True).rows,
        "validation": encode_examples(task, splits["validation"].examples, tokenizer, ctx, train=True).rows,
        "max_length": int(config["data.max_length"]),
    }


def end_to_end(s: Sizes, data: dict[str, Any], sides: dict[str, Any], seed: int) -> dict[str, Any]:
    import torch
    from tasklight.data.datamodule import TaskDataModule
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerFast

    rows, tokenizer = data["rows"], data["tokenizer"]
    # tasklight: its own data module, as `platform run` builds it.
    module = TaskDataModule(
        rows, data["validation"], pad_id=PAD, max_tokens=s.e2e_max_tokens, eval_max_tokens=8192, seed=seed
    )
    tl_batches = len(module.train_dataloader())
    # HF: the usual recipe. The same BPE through PreTrainedTokenizerFast, the dataset
    # tokenised up front (as datasets.map does), shuffled, padded per batch by the collator.
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer.backend, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    limit = data["max_length"]  # truncation as tasklight's: keep the end token

    def cut(ids: list[int], room: int) -> list[int]:
        return ids + [EOS] if len(ids) < room else ids[: room - 1] + [EOS]

    sources = hf_tok([e.source for e in data["examples"]], add_special_tokens=False)["input_ids"]
    targets = hf_tok([e.target for e in data["examples"]], add_special_tokens=False)["input_ids"]
    features = []
    for x, y in zip(sources, targets):
        input_ids = cut(x, limit)
        # labels = target + EOS; the decoder input is <s> + labels[:-1] (the collator shifts).
        features.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": cut(y, limit - 1)})
    tl_tokens = sum(len(r["src"]) + len(r["tgt"]) - 1 for r in rows)
    hf_tokens = sum(len(f["input_ids"]) + len(f["labels"]) for f in features)
    assert tl_tokens == hf_tokens, f"the two pipelines tokenise differently: {tl_tokens} != {hf_tokens}"
    # The same real tokens per batch: as many sentences per batch as tasklight's batches hold
    # on average (tasklight's budget counts padding; HF pads more, so its batches cost more).
    hf_batch_size = max(1, round(len(rows) / tl_batches))
    collator = DataCollatorForSeq2Seq(hf_tok, model=sides["hf"], padding=True, label_pad_token_id=-100)
    hf_loader = DataLoader(
        features, batch_size=hf_batch_size, shuffle=True, collate_fn=collator,
        generator=torch.Generator().manual_seed(seed),
    )

    def endless(make: Callable[[int], Any]) -> Iterator[Any]:
        epoch = 0
        while True:
            loader = make(epoch)
            yield from loader
            epoch += 1

    def tl_loader(epoch: int) -> Any:
        loader = module.train_dataloader()
        loader.batch_sampler.set_epoch(epoch)
        return loader

    tl_iter, hf_iter = endless(tl_loader), endless(lambda epoch: hf_loader)
    counters = {"tasklight": Pipeline(), "hf": Pipeline()}
    tl, head, tl_opt, hf, hf_opt = sides["tl"], sides["head"], sides["tl_opt"], sides["hf"], sides["hf_opt"]

    def tl_steps(n: int, count: bool = True) -> float:
        c = counters["tasklight"]
        useful = 0
        for _ in range(n):
            start = time.perf_counter()
            batch = next(tl_iter)
            got = time.perf_counter()
            tokens = tasklight_step(tl, head, tl_opt, batch["src"], batch["tgt"])
            if count:
                c.steps += 1
                c.seconds += time.perf_counter() - start
                c.waiting += got - start
                c.useful += tokens
                labels = batch["tgt"][:, 1:]
                c.positions += batch["src"].numel() + labels.numel()
                c.padding += int((batch["src"] == PAD).sum() + (labels == PAD).sum())
            useful += tokens
        return useful

    def hf_steps(n: int, count: bool = True) -> float:
        c = counters["hf"]
        useful = 0
        for _ in range(n):
            start = time.perf_counter()
            batch = next(hf_iter)
            got = time.perf_counter()
            tokens = hf_step(hf, hf_opt, batch)
            if count:
                c.steps += 1
                c.seconds += time.perf_counter() - start
                c.waiting += got - start
                c.useful += tokens
                c.positions += batch["input_ids"].numel() + batch["labels"].numel()
                c.padding += int((batch["attention_mask"] == 0).sum() + (batch["labels"] == -100).sum())
            useful += tokens
        return useful

    tl_steps(2, count=False)  # warm-up
    hf_steps(2, count=False)
    rates = interleaved({"tasklight": lambda: tl_steps(s.e2e_steps_per_round),
                         "hf": lambda: hf_steps(s.e2e_steps_per_round)}, s.e2e_rounds)
    out: dict[str, Any] = {
        "examples": len(rows),
        "tasklight_max_tokens": s.e2e_max_tokens,
        "tasklight_batches_per_epoch": tl_batches,
        "hf_batch_size": hf_batch_size,
        "rounds": rates,
        **{name: c.summary() for name, c in counters.items()},
    }
    # Over all counted steps, not a median of rounds: batches differ in size from step to step.
    out["ratio"] = out["tasklight"]["useful_tokens_per_s"] / out["hf"]["useful_tokens_per_s"]
    return out


def decoding(s: Sizes, data: dict[str, Any], sides: dict[str, Any]) -> dict[str, Any]:
    import torch
    from tasklight.model import generate

    src = padded_sources(data["validation"][: s.decode_batch])
    tl, hf = sides["tl"].eval(), sides["hf"].eval()
    n = s.new_tokens
    out: dict[str, Any] = {"batch": list(src.shape), "new_tokens": n}
    for name, beams in (("greedy", 1), ("beam", 4)):

        def run_tl(beams: int = beams) -> float:
            prefix = torch.full((src.size(0), 1), BOS, dtype=torch.long)
            with torch.inference_mode():  # as `platform predict` runs it; HF's side too
                got = generate(tl, prefix, src_ids=src, eos_id=EOS, max_new_tokens=n, min_new_tokens=n,
                               strategy="greedy" if beams == 1 else "beam", beam_size=beams)
            assert all(len(g) == n for g in got), "tasklight stopped early"
            return float(len(got) * n)

        def run_hf(beams: int = beams) -> float:
            with torch.inference_mode():
                got = hf.generate(input_ids=src, attention_mask=src != PAD, num_beams=beams,
                                  max_new_tokens=n, min_new_tokens=n, do_sample=False)
            assert got.shape == (src.size(0), n + 1), f"HF returned {tuple(got.shape)}"  # start + n
            return float(src.size(0) * n)

        run_tl(), run_hf()  # warm-up
        rates = interleaved({"tasklight": run_tl, "hf": run_hf}, s.decode_rounds)
        out[name] = {"rounds": rates, **{f"{k}_tokens_per_s": median(v) for k, v in rates.items()}}
        out[name]["ratio"] = out[name]["tasklight_tokens_per_s"] / out[name]["hf_tokens_per_s"]
    sides["tl"].train(), sides["hf"].train()
    return out


def padded_sources(rows: list[dict[str, Any]]) -> Any:
    import torch

    width = max(len(r["src"]) for r in rows)
    src = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        src[i, : len(r["src"])] = torch.tensor(r["src"])
    return src


# ---- memory: one child process per side and workload -----------------------------------------
def _proc_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(side: str, workload: str, s: Sizes) -> dict[str, Any]:
    """Peak resident memory a workload adds, measured in a fresh process.

    Both libraries are imported whichever side is measured, so the baseline is the same;
    the figure is VmHWM (the kernel's high-water mark of resident memory, which sees every
    allocator: tracemalloc cannot see torch's) minus VmRSS before the model is built. It
    includes parameters, gradients, AdamW state and activations (training), or the
    encoder output, caches and logits (beam-4 decoding of batch 32, 30 tokens).
    """
    import gc

    # Both libraries in both children, whichever side is measured: the same baseline.
    import tasklight.heads
    import tasklight.model
    import tasklight.system  # noqa: F401  (tasklight's optimiser; it imports Lightning)
    import torch
    import transformers.generation  # noqa: F401
    from transformers import BartForConditionalGeneration  # noqa: F401  (it loads lazily)

    gc.collect()
    base = _proc_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    vocab = s.vocab
    if side == "tasklight":
        model, head = build_tasklight(s, vocab)
    else:
        model = build_hf(s, vocab)
    if workload == "train":
        src, tgt, hf_batch = fixed_batch(s, vocab, s.batch, s.length, seed=1)
        opt = tasklight_adamw(model) if side == "tasklight" else hf_adamw(model)
        for _ in range(s.memory_steps):
            if side == "tasklight":
                tasklight_step(model, head, opt, src, tgt)
            else:
                hf_step(model, opt, hf_batch)
    else:
        from tasklight.model import generate

        model.eval()
        g = torch.Generator().manual_seed(2)
        src = torch.randint(FIRST_ID, vocab, (s.decode_batch, 20), generator=g)
        n = s.new_tokens
        with torch.no_grad():
            if side == "tasklight":
                prefix = torch.full((src.size(0), 1), BOS, dtype=torch.long)
                generate(model, prefix, src_ids=src, eos_id=EOS, max_new_tokens=n, min_new_tokens=n,
                         strategy="beam", beam_size=4)
            else:
                model.generate(input_ids=src, attention_mask=src != PAD, num_beams=4,
                               max_new_tokens=n, min_new_tokens=n, do_sample=False)
    return {"peak_mib": (_proc_kib("VmHWM") - base) / 1024, "baseline_mib": base / 1024}


def memory(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"how": "peak RSS (VmHWM) above the post-import RSS, one child process per side and workload"}
    for workload in ("train", "beam"):
        row: dict[str, Any] = {}
        for side in ("tasklight", "hf"):
            command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", f"{side}:{workload}",
                       "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"memory child {side}:{workload} failed:\n{done.stderr[-2000:]}")
            row[side] = json.loads(done.stdout.strip().splitlines()[-1])
        row["ratio"] = row["tasklight"]["peak_mib"] / row["hf"]["peak_mib"]
        out[workload] = row
    return out


# ---- report -----------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs"


def table(r: dict[str, Any]) -> str:
    """The sections that ran, one row per figure, with the ratio tasklight / HF."""
    lines = [f"{'measure':46} {'tasklight':>11} {'HF BART':>11} {'ratio':>6}"]

    def row(label: str, ours: float, theirs: float, fmt: str = ".0f", ratio: float | None = None) -> None:
        tail = f" {ratio:6.2f}" if ratio is not None else ""
        lines.append(f"{label:46} {ours:11{fmt}} {theirs:11{fmt}}{tail}")

    if "model_step" in r:
        ms = r["model_step"]
        batch = "x".join(map(str, ms["batch"]))
        row(f"model step, target tok/s ({batch})", ms["tasklight_tokens_per_s"], ms["hf_tokens_per_s"],
            ratio=ms["ratio"])
        row(f"  MFU (fp32 matmul peak {r['peak_gflops']:.0f} GFLOP/s)", ms["tasklight_mfu"], ms["hf_mfu"], ".1%")
    if "end_to_end" in r:
        e2e = r["end_to_end"]
        ours, theirs = e2e["tasklight"], e2e["hf"]
        row("end to end Multi30k, useful target tok/s", ours["useful_tokens_per_s"], theirs["useful_tokens_per_s"],
            ratio=e2e["ratio"])
        row("  padding fraction", ours["padding_fraction"], theirs["padding_fraction"], ".1%")
        row("  time waiting for data", ours["data_wait_fraction"], theirs["data_wait_fraction"], ".1%")
        row("  useful target tokens per step", ours["useful_tokens_per_step"], theirs["useful_tokens_per_step"])
    if "decoding" in r:
        dec = r["decoding"]
        for name, label in (("greedy", "greedy"), ("beam", "beam-4")):
            d = dec[name]
            row(f"{label} decoding, tok/s (batch {dec['batch'][0]}, {dec['new_tokens']} new)",
                d["tasklight_tokens_per_s"], d["hf_tokens_per_s"], ratio=d["ratio"])
    if "memory" in r:
        for name, label in (("train", "training"), ("beam", "beam-4 decoding")):
            m = r["memory"][name]
            row(f"peak memory, {label} (MiB)", m["tasklight"]["peak_mib"], m["hf"]["peak_mib"], ratio=m["ratio"])
    for x in r.get("scaling", []):
        row(f"train tok/s at length {x['length']} (batch {x['batch']})", x["tasklight_tokens_per_s"],
            x["hf_tokens_per_s"], ratio=x["ratio"])
    return "\n".join(lines)


SECTIONS = ("step", "e2e", "decode", "scaling", "memory")


def _sections(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {','.join(SECTIONS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the ratios and raw figures here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--data", type=Path, default=MULTI30K, help="the Multi30k folder (train.en, train.de, ...)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=_sections, default=list(SECTIONS),
                        help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    s = QUICK if args.quick else Sizes()

    import torch

    torch.set_num_threads(args.threads)
    if args.memory_child:
        side, workload = args.memory_child.split(":")
        print(json.dumps(memory_child(side, workload, s)))
        return 0
    if not (args.data / "train.en").is_file():
        print(f"error: {args.data}: no Multi30k here (train.en, train.de); pass --data", file=sys.stderr)
        return 2

    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    started = time.time()
    load_before = os.getloadavg()
    print(f"tasklight vs HF transformers {transformers.__version__}, torch {torch.__version__}, "
          f"{args.threads} threads, {machine()}; load average {load_before[0]:.2f}", flush=True)

    peak = matmul_peak(256 if args.quick else 1024)
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s", flush=True)
    data = load_multi30k(s, args.data, args.seed)
    vocab = data["tokenizer"].vocab_size
    tl, head = build_tasklight(s, vocab)
    hf = build_hf(s, vocab)
    tl.train(), hf.train()
    sides = {"tl": tl, "head": head, "tl_opt": tasklight_adamw(tl), "hf": hf, "hf_opt": hf_adamw(hf)}
    params = {"tasklight": n_params(tl), "hf": n_params(hf)}
    print(f"parameters: tasklight {params['tasklight']:,}, HF BART {params['hf']:,} (vocab {vocab}, "
          f"HF attention: {hf.config._attn_implementation})", flush=True)

    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "threads": args.threads, "quick": args.quick,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "sizes": asdict(s), "parameters": params, "peak_gflops": peak,
    }
    result["sections"] = args.only
    for name, key, section in (
        ("step", "model_step", lambda: model_step(s, vocab, sides, peak)),
        ("e2e", "end_to_end", lambda: end_to_end(s, data, sides, args.seed)),
        ("decode", "decoding", lambda: decoding(s, data, sides)),
        ("scaling", "scaling", lambda: scaling(s, vocab, sides)),
        ("memory", "memory", lambda: memory(args)),
    ):
        if name not in args.only:
            continue
        t0 = time.perf_counter()
        result[key] = section()
        print(f"  {key}: {time.perf_counter() - t0:.0f} s", flush=True)
    ratios = {  # key: (section, how to read it from the section, target)
        "train_ratio": ("model_step", lambda r: r["ratio"], ">= 1.0"),
        "e2e_ratio": ("end_to_end", lambda r: r["ratio"], ">= 1.5"),
        "greedy_ratio": ("decoding", lambda r: r["greedy"]["ratio"], ">= 2"),
        "beam_ratio": ("decoding", lambda r: r["beam"]["ratio"], ">= 2"),
        "memory_ratio": ("memory", lambda r: r["train"]["ratio"], "<= 1"),
        "memory_beam_ratio": ("memory", lambda r: r["beam"]["ratio"], "<= 1"),
    }
    result["targets_met"] = {}
    for key, (section, read, target) in ratios.items():
        if section in result:
            result[key] = read(result[section])
            op, bound = target.split()
            value = result[key]
            result["targets_met"][f"{key} {target}"] = value >= float(bound) if op == ">=" else value <= float(bound)
    if "scaling" in result:
        result["scaling_ratios"] = {str(r["length"]): r["ratio"] for r in result["scaling"]}
    result.update(seconds=time.time() - started, load_average=[load_before[0], os.getloadavg()[0]])
    print()
    print(table(result))
    print()
    print("targets: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["targets_met"].items()))
    print(f"{result['seconds']:.0f} s; load average {result['load_average'][0]:.2f} -> {result['load_average'][1]:.2f} "
          "(other processes on the CPU make absolute figures noisy; ratios are interleaved)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
