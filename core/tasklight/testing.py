"""The conformance kit every task plugin runs (the built-ins included).

In a plugin's tests::

    from tasklight.testing import check_task

    def test_conformance(tmp_path):
        check_task("sentiment", tmp_path)

It checks what the platform relies on: identity and metrics, demo data for every
split (deterministic by seed), clear errors on malformed records and prediction
inputs, one training step through Lightning, predictions that round-trip to JSON,
and scoring that returns every declared metric with its direction.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tasklight.config import _coerce, load_config, resolve_config
from tasklight.errors import UserError
from tasklight.plugins import Platform, get_platform, temporary_plugin
from tasklight.task import SHAPES, SPLITS, Task, TaskContext


__all__ = [
    "ConformanceError", "check_task", "check_identity", "check_settings", "check_demo", "check_malformed_record",
    "check_train_predict_score",
    "temporary_plugin",  # register a plugin object for the duration of a block (tests, notebooks)
]


class ConformanceError(AssertionError):
    """A task breaks the contract; the message says which check and why."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def check_task(name: str, tmp_path: Path, *, platform: Platform | None = None, seed: int = 0, train_steps: int = 2) -> dict[str, Any]:
    """Run every check on the registered task ``name``; returns the scores it got."""
    platform = platform or get_platform()
    task = platform.tasks.get(name)
    check_identity(task, platform)
    check_settings(task)
    config = resolve_config(task, "demo", overrides=["model.preset=tiny", "tokenizer.vocab_size=300"])
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=seed)
    demo = check_demo(task, ctx)
    check_malformed_record(task, ctx)
    return check_train_predict_score(task, ctx, demo, tmp_path, train_steps)


def check_identity(task: Task, platform: Platform) -> None:
    _require(bool(task.name) and task.name == task.name.strip(), "task has no name")
    _require(bool(task.description), f"{task.name}: no description")
    _require(bool(str(task.version)), f"{task.name}: no version")
    _require(task.shape in SHAPES, f"{task.name}: shape {task.shape!r} is not one of {SHAPES}")
    _require(len(task.metrics) > 0, f"{task.name}: declares no metrics")
    for metric in task.metrics:
        _require(metric in platform.metrics, f"{task.name}: metric {metric!r} is not registered")
        _require(isinstance(platform.metrics.get(metric).higher_is_better, bool), f"metric {metric!r}: higher_is_better must be a bool")


def check_settings(task: Task) -> None:
    """``settings``, ``demo_settings`` and each entry of ``budget_settings``: each key a core
    key or one of the task's own ``settings``, each value of its default's type (a typo would
    otherwise add a key)."""
    core = load_config("", {}, demo=False)  # "": no [tasks.NAME] table applies
    known = {**core.as_dict(), **{f"model.{k}": v for fields in core.presets.values() for k, v in fields.items()}}
    tables = [("settings", task.settings), ("demo_settings", task.demo_settings)]
    tables += [(f"budget_settings[{limit!r}]", entry) for limit, entry in task.budget_settings.items()]
    for table, items in tables:
        for key, value in items.items():
            default = known.get(key, value) if table == "settings" else task.settings.get(key, known.get(key))
            _require(default is not None, f"{task.name}: {table} key {key!r} is neither a core config key nor in settings")
            try:
                _coerce(key, value, {key: default}, f"{task.name}.{table}")
            except UserError as err:
                raise ConformanceError(str(err)) from None


def check_demo(task: Task, ctx: TaskContext) -> dict[str, list[Any]]:
    demo: dict[str, list[Any]] = {}
    for split in SPLITS:
        first = task.demo(split, ctx)
        _require(len(first) > 0, f"{task.name}: demo split {split!r} is empty")
        again = task.demo(split, ctx)
        _require(first == again, f"{task.name}: demo split {split!r} is not deterministic for one seed")
        for example in first[:50]:
            texts = list(task.texts(example))
            _require(all(isinstance(t, str) for t in texts), f"{task.name}: texts() must yield strings")
        demo[split] = first
    other = task.demo("train", TaskContext(ctx.config, ctx.metric, ctx.seed + 1))
    _require(other != demo["train"], f"{task.name}: demo train split ignores the seed")
    return demo


def check_malformed_record(task: Task, ctx: TaskContext) -> None:
    for record in ({}, {"unexpected": "field"}):
        try:
            task.from_record(record, "bad.jsonl:7", ctx)
        except UserError as err:
            _require("bad.jsonl:7" in str(err), f"{task.name}: from_record's error must name where: {err}")
        else:
            raise ConformanceError(f"{task.name}: from_record accepted the malformed record {record!r}")
    # `platform predict` input: a JSON object without the task's fields is refused the same way.
    try:
        task.parse_input({"unexpected": "field"}, "stdin:3", ctx)
    except UserError as err:
        _require("stdin:3" in str(err), f"{task.name}: parse_input's error must name where: {err}")
    else:
        raise ConformanceError(f"{task.name}: parse_input accepted an object without the task's input fields")


def check_train_predict_score(task: Task, ctx: TaskContext, demo: dict[str, list[Any]], tmp_path: Path, steps: int) -> dict[str, Any]:
    import pytorch_lightning as pl

    from tasklight.data.datamodule import TaskDataModule
    from tasklight.data.tokenizer import Tokenizer
    from tasklight.evaluation import encode_examples, predict_examples, score
    from tasklight.data.batching import Collator
    from tasklight.heads import Decoding, check_loss
    from tasklight.model import TransformerConfig
    from tasklight.system import TaskSystem
    from tasklight.training import model_config

    train = demo["train"][:256]
    tokenizer = Tokenizer.train((t for e in train for t in task.texts(e)), 300, 1, task.special_tokens)
    hparams = task.head_hparams(train, ctx)
    json.dumps(hparams)  # must be plain values: they go into checkpoints
    ctx = TaskContext(ctx.config, ctx.metric, ctx.seed, hparams)
    mconfig = model_config(task, ctx.config, tokenizer)
    head = task.build_head(TransformerConfig(**mconfig), hparams, ctx)
    optim = {"lr": 1e-3, "min_lr": 0.0, "warmup_steps": 1, "schedule": "constant", "weight_decay": 0.0, "betas": [0.9, 0.98], "max_steps": steps}
    system = TaskSystem(task_name=task.name, task_version=task.version, model=mconfig, head=head, head_hparams=hparams, optim=optim)
    rows = encode_examples(task, train, tokenizer, ctx, train=True)
    _require(len(rows.rows) > 0, f"{task.name}: encode() gave no rows")
    # The head protocol on one batch first: a wrong return is named here, not deep in Lightning.
    try:
        check_loss(head, head.loss(system.model, Collator(tokenizer.pad_id)(list(enumerate(rows.rows[:4])))))
    except UserError as err:
        raise ConformanceError(f"{task.name}: {err}") from None
    val_rows = encode_examples(task, demo["validation"][:32], tokenizer, ctx, train=True)
    data = TaskDataModule(rows.rows, val_rows.rows, pad_id=tokenizer.pad_id, max_tokens=1024, eval_max_tokens=1024, seed=0)
    trainer = pl.Trainer(
        max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=1, val_check_interval=steps,
        check_val_every_n_epoch=None, num_sanity_val_steps=0, use_distributed_sampler=False, default_root_dir=tmp_path,
    )
    before = [p.detach().clone() for p in system.parameters()]
    trainer.fit(system, datamodule=data)
    changed = any(not (a == b.detach()).all() for a, b in zip(before, system.parameters()))
    _require(changed, f"{task.name}: training steps changed no weights")
    losses = trainer.callback_metrics
    _require(all(math.isfinite(float(v)) for v in losses.values()), f"{task.name}: non-finite loss {dict(losses)}")

    test = demo["test"][:8]
    encoded = encode_examples(task, test, tokenizer, ctx, train=False)
    decoding = Decoding(strategy="greedy", max_len_b=4, max_new_tokens=4)
    predictions = predict_examples(system, task, test, encoded, tokenizer, ctx, decoding=decoding, max_tokens=1024)
    _require(len(predictions) == len(test), f"{task.name}: {len(predictions)} predictions for {len(test)} examples")
    for example, prediction in zip(test, predictions):
        shown = task.to_json(example, prediction)
        _require(isinstance(shown, dict) and shown, f"{task.name}: to_json must return a non-empty dict")
        json.loads(json.dumps(shown, ensure_ascii=False))
    scores = score(task, predictions, test, ctx)
    _require(set(scores) == set(task.metrics), f"{task.name}: score() returned {sorted(scores)}, declared {list(task.metrics)}")
    for name, value in scores.items():
        _require(math.isfinite(float(value.value)), f"{task.name}: metric {name} is not finite ({value.value})")
    if type(task).prediction_from_json is not Task.prediction_from_json:
        # `platform compare` scores predictions read back from predictions.jsonl: they must score the same.
        rows = [json.loads(json.dumps(task.to_json(e, p), ensure_ascii=False, default=str)) for e, p in zip(test, predictions)]
        again = score(task, [task.prediction_from_json(r, f"row {i}") for i, r in enumerate(rows, 1)], test, ctx)
        for name, value in scores.items():
            _require(
                math.isclose(float(again[name].value), float(value.value), rel_tol=1e-4, abs_tol=1e-4),
                f"{task.name}: metric {name} of the predictions read back with prediction_from_json is "
                f"{again[name].value}, not {value.value}",
            )
    return {name: value.value for name, value in scores.items()}
