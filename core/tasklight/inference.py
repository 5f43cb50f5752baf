"""A finished run: loading it (``platform predict``, ``eval`` and ``serve``,
``tasklight.load``), predicting with it, and scoring it on a split."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tasklight.config import Config, read_toml, resolve_config
from tasklight.data.tokenizer import Tokenizer
from tasklight.errors import UserError
from tasklight.evaluation import encode_examples, evaluate_split, predict_examples
from tasklight.heads import Decoding, offer_pretrained
from tasklight.model import TransformerConfig
from tasklight.model_io import check_checkpoint, load_state, read_checkpoint
from tasklight.plugins import Platform, get_platform
from tasklight.record import eval_record
from tasklight.results import write_json_atomic
from tasklight.rundir import best_checkpoint, check_format, read_init
from tasklight.system import TaskSystem
from tasklight.task import Task, TaskContext
from tasklight.training import check_trainer_options, quiet_lightning, run_splits


@dataclass
class LoadedRun:
    run_dir: Path
    task: Task
    config: Config  # the run's config.toml with this session's overrides and device
    tokenizer: Tokenizer
    system: TaskSystem  # in eval mode, on its device
    ctx: TaskContext


def load_run(
    run_dir: Path,
    task_name: str | None = None,
    platform: Platform | None = None,
    overrides: Iterable[str] = (),
    settings: Mapping[str, Any] | None = None,
    accelerator: str | None = None,
    devices: str | None = None,
) -> LoadedRun:
    """Load the best checkpoint of ``run_dir`` onto the device that ``accelerator`` and
    ``devices`` choose (Lightning's names, as ``platform run`` takes them; by default a
    GPU when there is one). ``task_name``: refuse a run of another task."""
    platform = platform or get_platform()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.toml)")
    check_format(run_dir)
    path = best_checkpoint(run_dir)
    checkpoint = read_checkpoint(path)
    if task_name is not None:
        check_checkpoint(path, checkpoint, task_name)
    hparams = checkpoint.get("hyper_parameters", {})
    task = platform.tasks.get(hparams.get("task_name"))
    if hparams.get("task_version") != task.version:
        print(f"Warning: {path} was trained with {task.name} version {hparams.get('task_version')}, installed is {task.version}", file=sys.stderr)

    # The run's own config.toml is the last file layer: every key as the run had it, then
    # this session's --set and device; the whole is validated like a new run's.
    data = str(read_toml(config_path).get("run", {}).get("data", "demo"))
    device_options = {"trainer.accelerator": accelerator or "auto", "trainer.devices": devices or "auto"}
    config = resolve_config(task, data, overrides=overrides, settings=settings, cli=device_options, files=[config_path])
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=int(config["run.seed"]), hparams=hparams.get("head_hparams", {}))
    tokenizer = Tokenizer.load(run_dir / "tokenizer.json")
    model = TransformerConfig(**hparams["model"])
    if tokenizer.vocab_size > model.vocab_size or (not tokenizer.pretrained and tokenizer.vocab_size != model.vocab_size):
        raise UserError(f"{path}: model vocabulary ({model.vocab_size}) does not match {run_dir}/tokenizer.json ({tokenizer.vocab_size})")
    head_hparams = hparams.get("head_hparams", {})
    system = TaskSystem(
        task_name=task.name, task_version=hparams.get("task_version", task.version), model=hparams["model"],
        head=task.build_head(model, head_hparams, ctx), head_hparams=head_hparams, optim=hparams.get("optim", {}),
        tokenizer_hash=hparams.get("tokenizer_hash", ""),
    )
    init = read_init(run_dir)
    if init and init.get("model_type"):  # a head computes as the family it started from
        offer_pretrained(system.head, {}, str(init["model_type"]))
    load_state(system, checkpoint, path)
    system.to(inference_device(config))
    system.eval()
    return LoadedRun(run_dir, task, config, tokenizer, system, ctx)


def inference_device(config: Config) -> torch.device:
    """The device ``trainer.accelerator`` and ``trainer.devices`` choose: the one a
    training run with the same options computes on (its first, with several)."""
    quiet_lightning()
    trainer = check_trainer_options(
        {"accelerator": config["trainer.accelerator"], "devices": config["trainer.devices"], "strategy": "auto", "precision": "32-true"}
    )
    return trainer.strategy.root_device


def predict(loaded: LoadedRun, items: Sequence[str | dict[str, Any]], where: str = "input", seed: int | None = None) -> list[dict[str, Any]]:
    """User-facing predictions (the JSON objects ``platform predict`` prints)."""
    task, ctx = loaded.task, loaded.ctx
    examples = [task.parse_input(item, f"{where}:{i + 1}", ctx) for i, item in enumerate(items)]
    encoded = encode_examples(task, examples, loaded.tokenizer, ctx, train=False)
    predictions = predict_examples(
        loaded.system, task, examples, encoded, loaded.tokenizer, ctx,
        decoding=Decoding.from_config(loaded.config.section("decoding")),
        max_tokens=loaded.config["data.eval_max_tokens"], seed=ctx.seed if seed is None else seed,
    )
    return [task.to_json(e, p) for e, p in zip(examples, predictions)]


def evaluate(loaded: LoadedRun, data: str | None, split: str, platform: Platform | None = None) -> dict[str, Any]:
    """Score a trained run on a split of ``data`` (default: the data it was trained on),
    limited as the run was (``data.limit_test``); writes eval-<split>.json beside
    metrics.json and returns that record."""
    platform = platform or get_platform()
    task, ctx, config = loaded.task, loaded.ctx, loaded.config
    source = data if data is not None else str(config["run.data"])
    if split not in ("train", "validation", "test"):
        raise UserError(f"unknown split {split!r}; choose train, validation or test")
    chosen = run_splits(task, source, ctx, platform)[split]
    evaluation = evaluate_split(
        loaded.system, task, chosen.examples, loaded.tokenizer, ctx,
        decoding=Decoding.from_config(config.section("decoding")), max_tokens=config["data.eval_max_tokens"], seed=ctx.seed,
        bootstrap=int(config["eval.bootstrap"]),
    )
    record = eval_record(loaded, platform, source, chosen, evaluation.scores, evaluation.intervals)
    write_json_atomic(loaded.run_dir / f"eval-{split}.json", record)
    return record
