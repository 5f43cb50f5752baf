"""Fine-tuning one checkpoint with tasklight and with Hugging Face's Trainer, side by side.

    pip install -e ".[bench]"
    python benchmarks/finetune_vs_hf.py --json finetune.json   # both tasks, 20 minutes a side: about 1.5 hours
    python benchmarks/finetune_vs_hf.py --task intent --minutes 5
    python benchmarks/finetune_vs_hf.py --quick                 # a smoke test of the script: 2 to 3 minutes

The same checkpoint (``--init``, default ../shared/models/all-MiniLM-L6-v2) is fine-tuned by
each side in turn, on the same machine, for the same wall-clock budget (``--minutes``):

- ``intent``: CLINC150 (``data_full.json``): trained on ``train``, tested on ``test``, the
  4,500 in-scope utterances (the ``oos_*`` splits are left out), scored with accuracy and
  macro-F1;
- ``qa``: trained on SQuADShifts ``new_wiki`` less the 5% tasklight holds out to validate,
  tested on XQuAD English, scored with SQuAD F1 and exact match.

Both sides read the same examples: the Trainer's come from tasklight's own readers and
splits (``tasklight.training.run_splits``, with the settings the tasklight run gets), and
both sides' test predictions are scored by the same functions, tasklight's metric registry
(tasklight's predictions are re-read from its ``predictions.jsonl`` and rescored; the
script stops if that disagrees with its ``metrics.json``). Both use the same maximum
lengths: 128 tokens for an utterance, 384 for a QA window (capped at the checkpoint's
``max_position_embeddings``).

The Trainer follows the recipes of transformers' own examples: for intent, batch 32, lr 1e-4
constant after 100 warmup steps (``text-classification``); for QA, ``run_qa``'s windows of
384 tokens that overlap by 128 (``doc_stride``), batch 16, lr 5e-5 with a linear decay over
``run_qa``'s 2 epochs; the QA pre- and post-processing is ``run_qa``'s (offset mapping,
the best span of at most 30 tokens among the 20 best starts and ends of every window).
Both use dynamic padding (``DataCollatorWithPadding``) and batches grouped by length. A
``TrainerCallback`` stops training once the budget has passed (``control.should_training_stop``).

tasklight runs as a user runs it (``python -m tasklight run TASK --init ... --max-time ...``)
with the settings of the ``cpu-pretrained`` suite (platform.toml), except that it does not
validate inside its budget: neither side evaluates while training, each is tested with its
final weights, and neither side's evaluation counts against its budget.

Training tokens per second count non-padding input tokens on both sides: the Trainer's own
``num_input_tokens_seen`` (``include_num_input_tokens_seen="non_padding"``, the attention
mask's sum) over the time from ``on_train_begin`` to ``on_train_end``; tasklight's
``metrics.json`` (``training.target_tokens``: the real tokens of every training batch,
over ``training.wall_time_s``, the whole of Lightning's ``fit``). The aims (issue 20):
tasklight's metric at least the Trainer's, and at least 1.3x its tokens per second.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from benchmarks.side_by_side import (
        BenchError, add_common_arguments, check_bench_extra, check_tl_set, field_names, machine, max_time,
        overrides, parse_common, read_splits,
        run_platform, train_to_budget, trainer_arguments, wall_clock, write_predictions,
    )
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from side_by_side import (  # type: ignore[no-redef]
        BenchError, add_common_arguments, check_bench_extra, check_tl_set, field_names, machine, max_time,
        overrides, parse_common, read_splits,
        run_platform, train_to_budget, trainer_arguments, wall_clock, write_predictions,
    )

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
INIT = SHARED / "models" / "all-MiniLM-L6-v2"
CLINC = SHARED / "data" / "intent" / "clinc150" / "data_full.json"
QA_TRAIN = SHARED / "data" / "qa" / "squadshifts" / "new_wiki_v1.0.json"
QA_TEST = SHARED / "data" / "qa" / "xquad_en" / "xquad.en.json"

INTENT_MAX_LENGTH = 128  # the text-classification example's max_seq_length; CLINC150 utterances are shorter
QA_MAX_LENGTH, QA_STRIDE = 384, 128  # run_qa's max_seq_length and doc_stride
N_BEST, MAX_ANSWER_LENGTH = 20, 30  # run_qa's n_best_size and max_answer_length
AIM_RATIO = 1.3  # issue 20: tasklight's training tokens/s at least 1.3x the Trainer's
NEVER = 10**9  # a validation interval no budget reaches


@dataclass(frozen=True)
class HFRecipe:
    """The Trainer's settings for one task (the transformers examples' recipes)."""

    batch: int
    lr: float
    schedule: str
    warmup_steps: int
    # The schedule's horizon: run_qa's documented 2 epochs for QA. The constant intent
    # schedule has none; its epoch count only has to outlast any budget.
    epochs: float


@dataclass(frozen=True)
class Spec:
    """One task of the comparison."""

    name: str
    metrics: tuple[str, ...]  # primary first: tasklight's metric registry names
    answer_field: str  # the prediction's field in tasklight's predictions.jsonl
    hf: HFRecipe
    tasklight: dict[str, Any]  # --set of the tasklight run (the cpu-pretrained suite's entry)
    quick: dict[str, Any] = field(default_factory=dict)  # --set for both sides under --quick


SPECS = {
    "intent": Spec(
        name="intent", metrics=("accuracy", "macro_f1"), answer_field="label",
        hf=HFRecipe(batch=32, lr=1e-4, schedule="constant_with_warmup", warmup_steps=100, epochs=1000),
        tasklight={
            "data.clinc_oos": "exclude", "data.max_tokens": 1024,
            "trainer.val_check_interval": NEVER, "trainer.checkpoint_every_n_steps": 400,
        },
        quick={"data.limit_train": 400, "data.validation": "val[:100]", "data.limit_test": 200},
    ),
    "qa": Spec(
        name="qa", metrics=("f1", "exact_match"), answer_field="answer",
        hf=HFRecipe(batch=16, lr=5e-5, schedule="linear", warmup_steps=0, epochs=2),
        tasklight={
            "trainer.val_check_interval": NEVER, "trainer.checkpoint_every_n_steps": 500,
        },
        quick={"data.limit_train": 200, "data.val_fraction": 0.005, "data.limit_test": 40},
    ),
}


# ---- data --------------------------------------------------------------------------------------
def max_positions(init: Path) -> int:
    config = json.loads((init / "config.json").read_text())
    return int(config.get("max_position_embeddings") or 512)


def run_inputs(spec: Spec, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """``--data`` and the ``--set`` values of the tasklight run, which also pick the
    Trainer's examples."""
    limit = max_positions(args.init)
    settings: dict[str, Any] = dict(spec.tasklight)
    if spec.name == "intent":
        data = str(args.clinc)
        settings["data.max_length"] = min(INTENT_MAX_LENGTH, limit)
    else:
        data = "demo"  # no --data: the splits are named by data.train and data.test
        settings.update({"data.train": str(args.qa_train), "data.test": str(args.qa_test)})
        settings["data.max_length"] = max_length = min(QA_MAX_LENGTH, limit)
        # tasklight's data.doc_stride is the distance between window starts, run_qa's the
        # overlap: starts 384 - 128 = 256 apart overlap by about 110 context tokens after a
        # short question, close to run_qa's 128.
        settings["data.doc_stride"] = max_length - qa_stride(max_length)
    if args.quick:
        settings.update(spec.quick)
    for item in args.tl_set:
        key, _, value = item.partition("=")
        settings[key.strip()] = value
    return data, settings


def load_splits(spec: Spec, data: str, settings: dict[str, Any], args: argparse.Namespace) -> tuple[Any, dict[str, Any], Any]:
    """The task, its train/validation/test splits and the registry's metrics, read by
    tasklight exactly as its run reads them."""
    task, splits, metrics, _ = read_splits(spec.name, data, settings, {"model.init": str(args.init), "run.seed": args.seed})
    return task, splits, metrics


def score(metrics: Any, spec: Spec, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
    """Both sides' predictions through the same functions: tasklight's metric registry."""
    return {name: float(metrics.get(name).compute(list(predictions), list(references)).value) for name in spec.metrics}


# ---- the Trainer's side ------------------------------------------------------------------------
def training_arguments(out: Path, recipe: HFRecipe, seed: int) -> Any:
    from transformers import TrainingArguments

    # Batches grouped by length: `group_by_length=True` up to transformers 5.x, then
    # `train_sampling_strategy="group_by_length"` (both a LengthGroupedSampler).
    grouped = ({"train_sampling_strategy": "group_by_length"} if "train_sampling_strategy" in field_names(TrainingArguments)
               else {"group_by_length": True})
    return trainer_arguments(
        TrainingArguments, out, seed, per_device_train_batch_size=recipe.batch, learning_rate=recipe.lr,
        lr_scheduler_type=recipe.schedule, warmup_steps=recipe.warmup_steps, num_train_epochs=recipe.epochs,
        include_num_input_tokens_seen="non_padding", **grouped,
    )


def hf_train(model: Any, tokenizer: Any, features: list[dict[str, Any]], recipe: HFRecipe, seconds: float,
             out: Path, seed: int) -> dict[str, Any]:
    """Train with the Trainer to the budget; its counters."""
    from transformers import DataCollatorWithPadding, Trainer

    clock = wall_clock(seconds)
    trainer = Trainer(
        model=model, args=training_arguments(out, recipe, seed), train_dataset=features,
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, callbacks=[clock],
    )
    stats = train_to_budget(trainer, clock)
    tokens = int(trainer.state.num_input_tokens_seen)
    elapsed = stats["train_seconds"]
    return {**stats, "tokens": tokens, "tokens_per_s": tokens / elapsed if elapsed > 0 else float("nan"),
            "recipe": dataclasses.asdict(recipe)}


def hf_predict(model: Any, tokenizer: Any, features: list[dict[str, Any]], batch_size: int,
               take: Callable[[Any, int, int], Any]) -> list[Any]:
    """``take(outputs, row, length)`` for every feature, in batches of similar lengths padded
    by the same collator as training."""
    import torch
    from transformers import DataCollatorWithPadding

    collate = DataCollatorWithPadding(tokenizer)
    keys = tokenizer.model_input_names
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    found: list[Any] = [None] * len(features)
    model.eval()
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            batch = collate([{k: features[i][k] for k in keys if k in features[i]} for i in chunk])
            outputs = model(**{k: v.to(model.device) for k, v in batch.items()})
            for row, i in enumerate(chunk):
                found[i] = take(outputs, row, len(features[i]["input_ids"]))
    return found


def model_inputs(encoded: Any, i: int, tokenizer: Any) -> dict[str, Any]:
    return {k: encoded[k][i] for k in tokenizer.model_input_names if k in encoded}


def hf_intent(spec: Spec, task: Any, splits: dict[str, Any], metrics: Any, args: argparse.Namespace,
              max_length: int, out: Path) -> dict[str, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.init)
    train, test = splits["train"].examples, splits["test"].examples
    labels = sorted({e.label for e in train})  # as tasklight's head orders them
    index = {label: i for i, label in enumerate(labels)}
    encoded = tokenizer([e.text for e in train], truncation=True, max_length=max_length)
    features = [{**model_inputs(encoded, i, tokenizer), "labels": index[e.label]} for i, e in enumerate(train)]
    model = AutoModelForSequenceClassification.from_pretrained(
        args.init, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=index,
    )
    stats = hf_train(model, tokenizer, features, spec.hf, args.seconds, out, args.seed)
    start = time.perf_counter()
    encoded = tokenizer([e.text for e in test], truncation=True, max_length=max_length)
    rows = [model_inputs(encoded, i, tokenizer) for i in range(len(test))]
    predicted = hf_predict(model, tokenizer, rows, 64, lambda o, row, n: labels[int(o.logits[row].argmax())])
    stats["eval_seconds"] = time.perf_counter() - start
    write_predictions(out / "predictions.jsonl", [{"text": e.text, "label": p, "reference": e.label} for e, p in zip(test, predicted)])
    stats["metrics"] = score(metrics, spec, predicted, [task.reference(e) for e in test])
    stats["train_examples"], stats["test_examples"] = len(features), len(test)
    return stats


def qa_stride(max_length: int) -> int:
    """run_qa's overlap, or less where a checkpoint's short windows leave no room for it
    (the tokenizer refuses an overlap as long as the window)."""
    return min(QA_STRIDE, max_length // 2)


def qa_encode(tokenizer: Any, examples: Sequence[Any], max_length: int, stride: int) -> Any:
    """run_qa's tokenisation: question and context as a pair, the context cut into windows of
    ``max_length`` tokens overlapping by ``stride``, with offsets and the window -> example map."""
    right = tokenizer.padding_side == "right"  # the question first, unless the model pads on the left
    questions = [e.question.lstrip() for e in examples]
    contexts = [e.context for e in examples]
    return tokenizer(
        questions if right else contexts, contexts if right else questions,
        truncation="only_second" if right else "only_first", max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )


def qa_train_features(tokenizer: Any, examples: Sequence[Any], max_length: int, stride: int) -> list[dict[str, Any]]:
    """run_qa's ``prepare_train_features``: each window labelled with the first answer's first and
    last token, or with the [CLS] position where the window does not hold the whole answer."""
    encoded = qa_encode(tokenizer, examples, max_length, stride)
    context_id = 1 if tokenizer.padding_side == "right" else 0
    features = []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        ids = encoded["input_ids"][i]
        cls = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
        sequence = encoded.sequence_ids(i)
        example = examples[encoded["overflow_to_sample_mapping"][i]]
        start = end = cls
        if example.answers:
            answer = example.answers[0]
            first_char, last_char = answer.start, answer.start + len(answer.text)
            first = 0
            while sequence[first] != context_id:
                first += 1
            last = len(ids) - 1
            while sequence[last] != context_id:
                last -= 1
            if offsets[first][0] <= first_char and offsets[last][1] >= last_char:
                while first < len(offsets) and offsets[first][0] <= first_char:
                    first += 1
                while offsets[last][1] >= last_char:
                    last -= 1
                start, end = first - 1, last + 1
        features.append({**model_inputs(encoded, i, tokenizer), "start_positions": start, "end_positions": end})
    return features


@dataclass
class QAWindows:
    """The test windows: model inputs, the example each belongs to, and the character offsets
    of its context tokens (None for the question's and special tokens)."""

    features: list[dict[str, Any]]
    example: list[int]
    offsets: list[list[tuple[int, int] | None]]


def qa_eval_windows(tokenizer: Any, examples: Sequence[Any], max_length: int, stride: int) -> QAWindows:
    """run_qa's ``prepare_validation_features``."""
    encoded = qa_encode(tokenizer, examples, max_length, stride)
    context_id = 1 if tokenizer.padding_side == "right" else 0
    windows = QAWindows([], [], [])
    for i, offsets in enumerate(encoded["offset_mapping"]):
        sequence = encoded.sequence_ids(i)
        windows.features.append(model_inputs(encoded, i, tokenizer))
        windows.example.append(encoded["overflow_to_sample_mapping"][i])
        windows.offsets.append([tuple(o) if sequence[k] == context_id else None for k, o in enumerate(offsets)])
    return windows


def best_span(context: str, windows: Sequence[tuple[Sequence[float], Sequence[float], Sequence[tuple[int, int] | None]]],
              n_best: int = N_BEST, max_answer_length: int = MAX_ANSWER_LENGTH) -> str:
    """run_qa's ``postprocess_qa_predictions`` (SQuAD v1.1: always an answer): over every window
    of an example, the ``n_best`` highest start and end logits, spans inside the context of at
    most ``max_answer_length`` tokens, the best sum of start and end logits. No candidate: ""
    (run_qa writes the text "empty", which scores the same)."""
    best: tuple[float, int, int] | None = None
    for starts, ends, offsets in windows:
        top_starts = sorted(range(len(starts)), key=lambda k: -starts[k])[:n_best]
        top_ends = sorted(range(len(ends)), key=lambda k: -ends[k])[:n_best]
        for s in top_starts:
            for e in top_ends:
                if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                total = starts[s] + ends[e]
                if best is None or total > best[0]:
                    best = (total, offsets[s][0], offsets[e][1])
    return "" if best is None else context[best[1] : best[2]]


def hf_qa(spec: Spec, task: Any, splits: dict[str, Any], metrics: Any, args: argparse.Namespace,
          max_length: int, out: Path) -> dict[str, Any]:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.init)
    train, test = splits["train"].examples, splits["test"].examples
    features = qa_train_features(tokenizer, train, max_length, qa_stride(max_length))
    model = AutoModelForQuestionAnswering.from_pretrained(args.init)
    stats = hf_train(model, tokenizer, features, spec.hf, args.seconds, out, args.seed)
    start = time.perf_counter()
    windows = qa_eval_windows(tokenizer, test, max_length, qa_stride(max_length))
    logits = hf_predict(model, tokenizer, windows.features, 32, lambda o, row, n: (
        o.start_logits[row, :n].float().tolist(), o.end_logits[row, :n].float().tolist()))
    by_example: list[list[Any]] = [[] for _ in test]
    for (starts, ends), example, offsets in zip(logits, windows.example, windows.offsets):
        by_example[example].append((starts, ends, offsets))
    predicted = [best_span(e.context, w) for e, w in zip(test, by_example)]
    stats["eval_seconds"] = time.perf_counter() - start
    references = [task.reference(e) for e in test]
    write_predictions(out / "predictions.jsonl", [
        {"id": e.id, "question": e.question, "answer": p, "reference": r} for e, p, r in zip(test, predicted, references)
    ])
    stats["metrics"] = score(metrics, spec, predicted, references)
    stats["train_examples"], stats["train_windows"], stats["test_examples"] = len(train), len(features), len(test)
    stats["doc_stride"] = qa_stride(max_length)
    return stats


HF_SIDES = {"intent": hf_intent, "qa": hf_qa}


# ---- tasklight's side --------------------------------------------------------------------------
def tasklight_command(spec: Spec, data: str, settings: dict[str, Any], args: argparse.Namespace, run_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "tasklight", "run", spec.name]
    if data != "demo":
        command += ["--data", data]
    command += ["--init", str(args.init), "--max-time", max_time(args.seconds), "--seed", str(args.seed),
                "--set", f"trainer.threads={args.threads}"]
    for item in overrides(settings):
        command += ["--set", item]
    return command + ["--out", str(run_dir), "--overwrite", "--quiet"]


def run_tasklight(spec: Spec, data: str, settings: dict[str, Any], metrics: Any, args: argparse.Namespace,
                  run_dir: Path) -> dict[str, Any]:
    """``platform run`` in a process of its own; its figures from the run directory, its
    predictions rescored by the functions that score the Trainer's."""
    return run_platform(
        tasklight_command(spec, data, settings, args, run_dir), run_dir, spec.name,
        lambda rows: score(metrics, spec, [r[spec.answer_field] for r in rows], [r["reference"] for r in rows]),
    )


# ---- report ------------------------------------------------------------------------------------
def compare(spec: Spec, hf: dict[str, Any], tl: dict[str, Any]) -> dict[str, Any]:
    primary = spec.metrics[0]
    ratio = tl["tokens_per_s"] / hf["tokens_per_s"] if hf["tokens_per_s"] > 0 else float("nan")
    return {
        "hf": hf, "tasklight": tl, "primary": primary, "tokens_per_s_ratio": ratio,
        "aims": {
            f"{primary} tasklight >= HF": tl["metrics"][primary] >= hf["metrics"][primary],
            f"tokens/s ratio >= {AIM_RATIO}": ratio >= AIM_RATIO,
        },
    }


def table(tasks: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'task':7} {'side':11} {'metrics':32} {'steps':>7} {'train s':>8} {'tokens/s':>9} {'ratio':>6}"]
    for name, result in tasks.items():
        for side, label in (("hf", "HF Trainer"), ("tasklight", "tasklight")):
            r = result[side]
            shown = "  ".join(f"{metric} {value:.2f}" for metric, value in r["metrics"].items())
            ratio = f"{result['tokens_per_s_ratio']:6.2f}" if side == "tasklight" else ""
            lines.append(f"{name:7} {label:11} {shown:32} {r['steps']:7d} {r['train_seconds']:8.1f} "
                         f"{r['tokens_per_s']:9.1f} {ratio:>6}")
    return "\n".join(lines)


def check_inputs(args: argparse.Namespace, tasks: list[str]) -> None:
    if not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise BenchError(f"--minutes must be a positive number, got {args.minutes}")
    if not (args.init / "config.json").is_file():
        raise BenchError(f"{args.init}: not a checkpoint directory (no config.json); pass --init")
    needed = {"intent": [("--clinc", args.clinc)], "qa": [("--qa-train", args.qa_train), ("--qa-test", args.qa_test)]}
    for task in tasks:
        for option, path in needed[task]:
            if not path.is_file():
                raise BenchError(f"{path}: no such file; pass {option}")
    check_tl_set(args.tl_set)
    check_bench_extra()  # last, so that a wrong path or option is named first


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=("intent", "qa", "all"), default="all")
    parser.add_argument("--init", type=Path, default=INIT, help="the checkpoint both sides start from (a Hugging Face directory)")
    parser.add_argument("--clinc", type=Path, default=CLINC, help="CLINC150's data_full.json")
    parser.add_argument("--qa-train", type=Path, default=QA_TRAIN, help="SQuAD-format training file (SQuADShifts new_wiki)")
    parser.add_argument("--qa-test", type=Path, default=QA_TEST, help="SQuAD-format test file (XQuAD English)")
    add_common_arguments(parser, budget="training budget of each side, per task", out="runs/finetune-vs-hf",
                         quick="a few hundred examples", tl_set="it also picks the data both sides read")
    return parse_common(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tasks = ["intent", "qa"] if args.task == "all" else [args.task]
    try:
        check_inputs(args, tasks)
        return compare_all(args, tasks)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def compare_all(args: argparse.Namespace, tasks: list[str]) -> int:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # "Some weights ... newly initialized": the heads, as intended
    transformers.logging.disable_progress_bar()
    args.threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    args.seconds = args.minutes * 60
    started = time.time()
    load_before = os.getloadavg()[0]
    print(f"tasklight vs HF Trainer (transformers {transformers.__version__}, torch {torch.__version__}), "
          f"{args.threads} threads, {machine()}; {args.minutes:g} min a side; load average {load_before:.2f}", flush=True)
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
        "threads": args.threads, "quick": args.quick, "minutes": args.minutes, "seed": args.seed, "init": str(args.init),
        "torch": torch.__version__, "transformers": transformers.__version__, "tasks": {},
    }
    for name in tasks:
        spec = SPECS[name]
        data, settings = run_inputs(spec, args)
        task, splits, metrics = load_splits(spec, data, settings, args)
        sizes = {role: len(split.examples) for role, split in splits.items()}
        print(f"{name}: {sizes['train']} train, {sizes['validation']} validation, {sizes['test']} test examples", flush=True)
        t0 = time.perf_counter()
        hf = HF_SIDES[name](spec, task, splits, metrics, args, int(settings["data.max_length"]), args.out / name / "hf")
        print(f"  HF Trainer: {hf['steps']} steps, {time.perf_counter() - t0:.0f} s in all", flush=True)
        t0 = time.perf_counter()
        tl = run_tasklight(spec, data, settings, metrics, args, args.out / name / "tasklight")
        print(f"  tasklight: {tl['steps']} steps, {time.perf_counter() - t0:.0f} s in all", flush=True)
        result["tasks"][name] = {"examples": sizes, "max_length": settings["data.max_length"], **compare(spec, hf, tl)}
    result.update(seconds=time.time() - started, load_average=[load_before, os.getloadavg()[0]])
    print()
    print(table(result["tasks"]))
    print()
    aims = [f"{name}: {aim} {'yes' if met else 'NO'}" for name, r in result["tasks"].items() for aim, met in r["aims"].items()]
    print("aims: " + "; ".join(aims))
    print(f"{result['seconds']:.0f} s; load average {load_before:.2f} -> {result['load_average'][1]:.2f} "
          "(other processes on the CPU slow whichever side they meet)")
    for name, r in result["tasks"].items():
        print(f"{name} tasklight command: {r['tasklight']['command']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
