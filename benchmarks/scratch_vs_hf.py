"""Training a translation model from scratch with tasklight and with Hugging Face's
Seq2SeqTrainer, side by side.

    pip install -e ".[bench]"
    python benchmarks/scratch_vs_hf.py --minutes 20                 # 20 minutes of training a side, torch's threads
    python benchmarks/scratch_vs_hf.py --minutes 20 --threads 2 --json scratch.json   # issue 21's setting, every figure in a file
    python benchmarks/scratch_vs_hf.py --quick                      # a smoke test of the script: about a minute

Multi30k English -> German (``--data``, default ../shared/data/translation/multi30k): both
sides train on its 29,000 ``train`` pairs, one after the other on the same machine, for the
same wall-clock budget (``--minutes``), and are tested on ``test_2016_flickr`` (1,000 pairs).

- Hugging Face: BART from scratch with ``Seq2SeqTrainer``, the peer recipe of issue 21: a
  byte-level BPE of 8,000 tokens trained with ``tokenizers`` on the training pairs (as
  ``ByteLevelBPETokenizer`` builds it: the ``ByteLevel`` pre-tokenizer with a prefix space;
  BART's layout, the source ``<s> x </s>``, the labels ``x </s>`` after the start token ``<s>``), a
  ``BartForConditionalGeneration`` of the size of tasklight's run (its ``small`` preset:
  d_model 256, 4 heads, 3 + 3 post-norm layers, FFN 1024, dropout 0.1; built by
  benchmarks/throughput.py's ``build_hf``, the BART of the speed comparison), learning rate
  1e-3 with ``inverse_sqrt`` after 200 warmup steps, label smoothing 0.1, batches of 64
  sentence pairs, fp32 (on the CPU where there is no GPU, as tasklight), the Trainer's other defaults (AdamW, betas 0.9/0.999, no weight
  decay, gradient clipping at 1.0, random batches). It does not evaluate while training; a
  ``TrainerCallback`` stops it once the budget has passed.
- tasklight: its default recipe, run as a user runs it:
  ``python -m tasklight run translation --data DATA --set data.src=en --set data.tgt=de
  --set data.test=test_2016_flickr --max-time ...``, with only the thread count, the seed and
  the output folder added (``--tl-set KEY=VALUE`` adds a ``--set``; it also picks the data,
  model size and decoding settings of the Trainer's side). It validates and tests the best
  checkpoint as its defaults say.

Both sides read the same pairs, through tasklight's own readers and splits
(``tasklight.training.run_splits``). Both decode the test set with the beam of tasklight's
``[decoding]`` settings (beam 4, length penalty 1.0) and the same length limit, ``max_len_a``
x the padded source length + ``max_len_b`` new tokens a batch, in each side's own tokens
(Hugging Face: ``generate(num_beams=4, max_new_tokens=...)`` on batches of 64 sources of
similar lengths). Both sides' hypotheses are scored by the same sacreBLEU call,
tasklight's ``bleu`` and ``chrf`` metrics (corpus BLEU and chrF, with their signatures);
tasklight's are re-read from its ``predictions.jsonl``, and the script stops if that
rescoring disagrees with its ``metrics.json``.

Target tokens per second count, on both sides, the non-padding target tokens that the loss
is computed on (each sentence's tokens and its end token; the decoder's start token is
input, not target) over the training wall time: the Trainer's from ``on_train_begin`` to
``on_train_end``; tasklight's ``metrics.json`` (``training.target_tokens``
over ``training.wall_time_s``, the whole of Lightning's ``fit``, its validations included).
Neither side's tokenizer training nor its test decoding counts against its budget.

``--out`` (default runs/scratch-vs-hf) keeps ``hf/predictions.jsonl``, tasklight's run
directory ``tasklight/`` and its output ``tasklight.log``. ``--quick`` trains on the first
300 pairs, validates tasklight on 40 and tests both on 40, for 12 seconds a side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    from benchmarks.side_by_side import (
        BenchError, add_common_arguments, check_bench_extra, check_tl_set, machine, max_time, overrides, parse_common,
        read_splits, run_platform, train_to_budget, trainer_arguments, wall_clock, write_predictions,
    )
    from benchmarks.throughput import Sizes, build_hf
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from side_by_side import (  # type: ignore[no-redef]
        BenchError, add_common_arguments, check_bench_extra, check_tl_set, machine, max_time, overrides, parse_common,
        read_splits, run_platform, train_to_budget, trainer_arguments, wall_clock, write_predictions,
    )
    from throughput import Sizes, build_hf  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
MULTI30K = REPO.parent / "shared" / "data" / "translation" / "multi30k"
# The tasklight command's --set options: Multi30k en -> de, tested on test2016 (cpu-real's entry).
DATA_SETTINGS = {"data.src": "en", "data.tgt": "de", "data.test": "test_2016_flickr"}
QUICK_SETTINGS = {"data.limit_train": 300, "data.validation": "val[:40]", "data.limit_test": 40}
METRICS = ("bleu", "chrf")
AIM_BLEU = 35.0  # issue 21's aim for tasklight on Multi30k test2016 in 20 minutes


# ---- the peer recipe (issue 21) ------------------------------------------------------------------
VOCAB_SIZE = 8000
MIN_FREQUENCY = 2  # ByteLevelBPETokenizer's default
# throughput.build_hf's ids: <pad> 0, <s> 2, </s> 3; <unk> is never produced by a byte-level BPE.
SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>"]
RECIPE = {
    "per_device_train_batch_size": 64, "learning_rate": 1e-3, "lr_scheduler_type": "inverse_sqrt",
    "warmup_steps": 200, "label_smoothing_factor": 0.1,
    "num_train_epochs": 1000,  # inverse_sqrt has no horizon: the epoch count only has to outlast any budget
}
DECODE_BATCH = 64  # sentences a generate() call; each beam-searched with the tasklight run's beam


def train_tokenizer(texts: Sequence[str]) -> Any:
    """The byte-level BPE of RoBERTa and BART (what ``tokenizers.ByteLevelBPETokenizer`` builds):
    every byte in the alphabet, words split off with their leading space, punctuation apart."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=MIN_FREQUENCY, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def bart(fields: dict[str, Any], vocab: int) -> Any:
    """throughput.build_hf's BART with the sizes of the tasklight run's model."""
    if fields["encoder_layers"] != fields["decoder_layers"]:
        raise BenchError(f"the Trainer's BART takes as many encoder as decoder layers, got "
                         f"{fields['encoder_layers']} and {fields['decoder_layers']} (--tl-set model.*)")
    sizes = Sizes(d_model=fields["d_model"], n_heads=fields["n_heads"], layers=fields["encoder_layers"],
                  d_ff=fields["d_ff"], dropout=fields["dropout"])
    return build_hf(sizes, vocab)


def encode(tokenizer: Any, texts: Sequence[str], start: list[int], end: list[int], max_length: int) -> list[list[int]]:
    """``start + tokens + end`` of each text, cut to ``max_length`` with its end kept."""
    keep = max_length - len(start) - len(end)
    return [start + e.ids[:keep] + end for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def hf_side(task: Any, splits: dict[str, Any], config: Any, metrics: Any, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import torch
    from tokenizers import Tokenizer
    from transformers import (
        DataCollatorForSeq2Seq, PreTrainedTokenizerFast, Seq2SeqTrainer, Seq2SeqTrainingArguments, set_seed,
    )

    train, test = splits["train"].examples, splits["test"].examples
    seed = args.seed
    start = time.perf_counter()
    tokenizer = train_tokenizer([text for e in train for text in task.texts(e)])
    pad, bos, eos = (tokenizer.token_to_id(t) for t in ("<pad>", "<s>", "</s>"))
    max_length = int(config["data.max_length"])
    # BART's layout: the source "<s> x </s>"; the labels "x </s>", which the collator shifts
    # right behind the decoder's start token (<s>) as the decoder's input.
    sources = encode(tokenizer, [e.source for e in train], [bos], [eos], max_length)
    labels = encode(tokenizer, [e.target for e in train], [], [eos], max_length)
    features = [{"input_ids": s, "attention_mask": [1] * len(s), "labels": t} for s, t in zip(sources, labels)]
    tokenizer_seconds = time.perf_counter() - start

    set_seed(seed)  # the model's initial weights (the Trainer seeds only once the model exists)
    model = bart(config.model_fields(), tokenizer.get_vocab_size())
    # The collator pads through a transformers tokenizer; it gets a copy, whose padding and
    # truncation settings cannot leak into the encoding and decoding here.
    wrapped = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(tokenizer.to_str()), pad_token="<pad>",
                                      unk_token="<unk>", bos_token="<s>", eos_token="</s>")

    class TargetCounter(Seq2SeqTrainer):  # type: ignore[misc]
        """Counts the target tokens of every batch it trains on (labels that are not -100)."""

        target_tokens = 0

        def training_step(self, model: Any, inputs: dict[str, Any], *rest: Any, **kwargs: Any) -> Any:
            self.target_tokens += int((inputs["labels"] != -100).sum())
            return super().training_step(model, inputs, *rest, **kwargs)

    clock = wall_clock(args.seconds)
    trainer = TargetCounter(
        model=model, args=trainer_arguments(Seq2SeqTrainingArguments, out, seed, **RECIPE), train_dataset=features,
        data_collator=DataCollatorForSeq2Seq(wrapped, model=model), processing_class=wrapped, callbacks=[clock],
    )
    stats = train_to_budget(trainer, clock)
    elapsed = stats["train_seconds"]

    start = time.perf_counter()
    decoding = config.section("decoding")
    predicted = generate(model, tokenizer, [e.source for e in test], bos, eos, pad, decoding, max_length)
    eval_seconds = time.perf_counter() - start
    references = [task.reference(e) for e in test]
    write_predictions(out / "predictions.jsonl", [
        {"source": e.source, "translation": p, "reference": r} for e, p, r in zip(test, predicted, references)
    ])
    scored = score(metrics, predicted, references)
    return {
        **stats,
        "metrics": {name: value.value for name, value in scored.items()},
        "signatures": {name: value.signature for name, value in scored.items()},
        "tokens": trainer.target_tokens,
        "tokens_per_s": trainer.target_tokens / elapsed if elapsed > 0 else float("nan"),
        "test_examples": len(test),
        "train_examples": len(train),
        "vocab_size": tokenizer.get_vocab_size(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokenizer_seconds": tokenizer_seconds,
        "eval_seconds": eval_seconds,
        "recipe": {**RECIPE, "vocab_size": VOCAB_SIZE, "min_frequency": MIN_FREQUENCY, "optim": trainer.args.optim,
                   "weight_decay": trainer.args.weight_decay, "max_grad_norm": trainer.args.max_grad_norm,
                   "num_beams": int(decoding["beam_size"]), "length_penalty": float(decoding["length_penalty"]),
                   "max_new_tokens": f"{decoding['max_len_a']} x source length + {decoding['max_len_b']}",
                   "device": str(model.device), "dtype": str(next(model.parameters()).dtype)},
        "transformers_class": type(model).__name__,
        "torch_threads": torch.get_num_threads(),
    }


def generate(model: Any, tokenizer: Any, sources: Sequence[str], bos: int, eos: int, pad: int,
             decoding: dict[str, Any], max_length: int) -> list[str]:
    """Beam search over batches of similar source lengths, each allowed what tasklight's
    Seq2SeqHead allows a batch: ``max_len_a`` x its padded source length + ``max_len_b`` new tokens."""
    import torch

    encoded = encode(tokenizer, sources, [bos], [eos], max_length)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    found: list[str] = [""] * len(encoded)
    model.eval()
    with torch.inference_mode():
        for begin in range(0, len(order), DECODE_BATCH):
            chunk = order[begin : begin + DECODE_BATCH]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            outputs = model.generate(
                input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                num_beams=int(decoding["beam_size"]), length_penalty=float(decoding["length_penalty"]),
                max_new_tokens=int(decoding["max_len_a"] * width + decoding["max_len_b"]), do_sample=False,
            )
            # The byte-level decoder gives back the prefix space the pre-tokenizer added.
            texts = tokenizer.decode_batch(outputs.tolist(), skip_special_tokens=True)
            for i, text in zip(chunk, texts):
                found[i] = text.strip()
    return found


def score(metrics: Any, predictions: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """Both sides' hypotheses through the same sacreBLEU call: tasklight's metric registry."""
    return {name: metrics.get(name).compute(list(predictions), list(references)) for name in METRICS}


# ---- tasklight's side --------------------------------------------------------------------------
def tasklight_command(data: Path, settings: dict[str, Any], args: argparse.Namespace, run_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "tasklight", "run", "translation", "--data", str(data)]
    for item in overrides(settings):
        command += ["--set", item]
    return command + ["--max-time", max_time(args.seconds), "--seed", str(args.seed),
                      "--set", f"trainer.threads={args.threads}", "--out", str(run_dir), "--overwrite", "--quiet"]


def tasklight_side(data: Path, settings: dict[str, Any], test: Sequence[Any], task: Any, metrics: Any,
                   args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    references = [task.reference(e) for e in test]
    signatures: dict[str, str] = {}

    def rescore(rows: list[dict[str, Any]]) -> dict[str, float]:
        if [r.get("reference") for r in rows] != references:  # a different test set would make the table a lie
            raise BenchError(f"{run_dir / 'predictions.jsonl'}: its references are not the {len(references)} "
                             "test pairs the Trainer's side was scored on")
        scored = score(metrics, [r["translation"] for r in rows], references)
        signatures.update({name: value.signature for name, value in scored.items()})
        return {name: value.value for name, value in scored.items()}

    result = run_platform(tasklight_command(data, settings, args, run_dir), run_dir, "translation", rescore)
    return {**result, "signatures": signatures}


# ---- report ------------------------------------------------------------------------------------
SIDES = (("hf", "HF BART"), ("tasklight", "tasklight"))


def table(result: dict[str, Any]) -> str:
    lines = [f"{'side':10} {'BLEU':>6} {'chrF':>6} {'steps':>7} {'train s':>8} {'target tokens/s':>16}"]
    for side, label in SIDES:
        r = result[side]
        lines.append(f"{label:10} {r['metrics']['bleu']:6.2f} {r['metrics']['chrf']:6.2f} {r['steps']:7d} "
                     f"{r['train_seconds']:8.1f} {r['tokens_per_s']:16.1f}")
    return "\n".join(lines)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("tasklight", "torch", "pytorch-lightning", "transformers", "tokenizers", "accelerate", "sacrebleu"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def check_inputs(args: argparse.Namespace) -> None:
    if not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise BenchError(f"--minutes must be a positive number, got {args.minutes}")
    if args.threads < 0:
        raise BenchError(f"--threads must be 0 (torch's default) or more, got {args.threads}")
    if not args.data.is_dir():
        raise BenchError(f"{args.data}: no such folder; pass --data (Multi30k's folder: train.en, train.de, ...)")
    check_tl_set(args.tl_set)
    check_bench_extra()  # last, so that a wrong path or option is named first


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--data", type=Path, default=MULTI30K, help="Multi30k's folder (train.en, train.de, val.*, test_2016_flickr.*)")
    add_common_arguments(parser, budget="training budget of each side", out="runs/scratch-vs-hf", quick="a few hundred pairs",
                         tl_set="it also picks the data, sizes and decoding of the Trainer's side")
    return parse_common(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_inputs(args)
        return compare(args, sys.argv[1:] if argv is None else argv)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def compare(args: argparse.Namespace, argv: list[str]) -> int:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    args.threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    args.seconds = args.minutes * 60
    settings: dict[str, Any] = {**DATA_SETTINGS, **(QUICK_SETTINGS if args.quick else {})}
    for item in args.tl_set:
        key, _, value = item.partition("=")
        settings[key.strip()] = value
    task, splits, metrics, config = read_splits("translation", str(args.data), settings, {"run.seed": args.seed})
    started = time.time()
    load_before = os.getloadavg()[0]
    print(f"tasklight vs HF Seq2SeqTrainer + BART from scratch (transformers {transformers.__version__}, torch "
          f"{torch.__version__}), {args.threads} threads, {machine()}; {args.minutes:g} min a side; "
          f"load average {load_before:.2f}", flush=True)
    sizes = {role: len(split.examples) for role, split in splits.items()}
    print(f"{sizes['train']} train, {sizes['validation']} validation, {sizes['test']} test pairs ({args.data})", flush=True)

    t0 = time.perf_counter()
    hf = hf_side(task, splits, config, metrics, args, args.out / "hf")
    print(f"  HF BART: {hf['steps']} steps, {time.perf_counter() - t0:.0f} s in all", flush=True)
    t0 = time.perf_counter()
    tl = tasklight_side(args.data, settings, splits["test"].examples, task, metrics, args, args.out / "tasklight")
    print(f"  tasklight: {tl['steps']} steps, {time.perf_counter() - t0:.0f} s in all", flush=True)

    ratio = tl["tokens_per_s"] / hf["tokens_per_s"] if hf["tokens_per_s"] > 0 else float("nan")
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
        "threads": args.threads, "quick": args.quick, "minutes": args.minutes, "seed": args.seed,
        "data": str(args.data), "settings": settings, "examples": sizes, "versions": versions(),
        "commands": {
            "benchmark": shlex.join(["python", "benchmarks/scratch_vs_hf.py", *argv]),
            "tasklight": tl["command"],
        },
        "hf": hf, "tasklight": tl, "tokens_per_s_ratio": ratio,
        "aims": {"BLEU tasklight >= HF": tl["metrics"]["bleu"] >= hf["metrics"]["bleu"],
                 f"BLEU tasklight >= {AIM_BLEU}": tl["metrics"]["bleu"] >= AIM_BLEU},
    }
    result.update(seconds=time.time() - started, load_average=[load_before, os.getloadavg()[0]])
    print()
    print(table(result))
    print()
    for name in METRICS:  # one call scored both sides: one signature each
        print(f"{name}: {hf['signatures'][name]}")
    print(f"target tokens/s tasklight / HF: {ratio:.2f}; "
          + "; ".join(f"{aim}: {'yes' if met else 'NO'}" for aim, met in result["aims"].items()))
    print(f"{result['seconds']:.0f} s; load average {load_before:.2f} -> {result['load_average'][1]:.2f} "
          "(other processes on the CPU slow whichever side they meet)")
    print(f"tasklight command: {tl['command']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
