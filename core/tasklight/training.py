"""Training a run: ``platform run TASK`` and ``tasklight.run``.

The config is resolved, the data read and the trainer options checked before the run
directory is written; then the tokenizer, the system and Lightning's Trainer are built,
the model is fitted, the best checkpoint is tested, and the results record is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from tasklight.averaging import WeightAverager, average
from tasklight.config import Config, max_time_seconds, resolve_config
from tasklight.data.datamodule import TaskDataModule
from tasklight.data.sources import Split, load_splits
from tasklight.data.tokenizer import Tokenizer
from tasklight.errors import UserError
from tasklight.evaluation import Evaluation, ValidationScorer, encode_examples, evaluate_split
from tasklight.heads import Decoding, offer_pretrained
from tasklight.model import TransformerConfig
from tasklight.model_io import check_checkpoint, load_state, read_checkpoint
from tasklight.plugins import Platform, get_platform
from tasklight.pretrained import backbone_config, open_pretrained, pretrained_state
from tasklight.record import build_record
from tasklight.results import write_json_atomic
from tasklight.rundir import (
    CHECKPOINTS,
    best_checkpoint,
    check_same_init,
    csv_log_version,
    plot_curves,
    prepare_run_dir,
    read_init,
    write_predictions,
    write_run_info,
)
from tasklight.safety import AtomicCheckpointIO, ExactResume, FiniteLossGuard, PeriodicCheckpoint, SaveOnInterrupt
from tasklight.system import TaskSystem
from tasklight.task import Task, TaskContext


class Interrupted(UserError):
    """Ctrl-C: the run saved its state and stopped."""

    exit_code = 130


@dataclass
class RunOptions:
    """What ``platform run`` takes; every field mirrors a CLI option."""

    task: str
    data: str = "demo"
    overrides: Sequence[str] = ()  # --set key=value texts
    settings: Mapping[str, Any] = field(default_factory=dict)  # the same as typed values (tasklight.run's set=)
    accelerator: str | None = None
    devices: str | None = None
    strategy: str | None = None
    precision: str | None = None
    max_time: str | None = None
    max_steps: int | None = None
    max_epochs: int | None = None
    seed: int | None = None
    out: str | None = None
    resume: bool = False
    overwrite: bool = False
    init: str | None = None  # --init: a checkpoint directory or hf:ORG/NAME[@REVISION] (model.init)
    quiet: bool = False
    config_files: Sequence[str] = ()


@dataclass
class RunResult:
    run_dir: Path
    record: dict[str, Any]  # empty on the extra ranks of a multi-device run
    messages: list[str] = field(default_factory=list)


def run(options: RunOptions, platform: Platform | None = None) -> RunResult:
    """Train, validate and test one task; write the run directory; return the record."""
    platform = platform or get_platform()
    task = platform.tasks.get(options.task)
    config = resolve_config(
        task, options.data, overrides=options.overrides, settings=options.settings, cli=_cli_values(options),
        files=[Path(f) for f in options.config_files],
    )
    quiet_lightning()
    # A checkpoint (--init) is read before the run directory exists: a bad one writes nothing.
    pretrained = open_pretrained(config["model.init"]) if config["model.init"] else None
    backbone = None
    if pretrained is not None:
        backbone = backbone_config(pretrained, task, config, [platform.tasks.get(n) for n in platform.tasks])
        if config["data.max_length"] > backbone.max_positions:  # a default longer than the checkpoint reaches
            config = config.replace(**{"data.max_length": backbone.max_positions})
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=int(config["run.seed"]))
    for name in task.metrics:
        platform.metrics.get(name)  # fail before training, not after
    splits = run_splits(task, options.data, ctx, platform)
    check_trainer_options(config.section("trainer"))
    # A given tokenizer.json is read before the run directory exists: a bad one writes nothing.
    if pretrained is not None:
        given: Tokenizer | None = pretrained.tokenizer
    else:
        given = Tokenizer.load(Path(config["tokenizer.path"])) if config["tokenizer.path"] and not options.resume else None
    run_dir = prepare_run_dir(task, config, resume=options.resume, overwrite=options.overwrite)
    if options.resume:
        check_same_init(run_dir, config["model.init"])
    os.environ["TASKLIGHT_RUN_DIR"] = str(run_dir.resolve())  # DDP children inherit it
    write_run_info(run_dir, task, config, options.data, init=pretrained.provenance() if pretrained else None)

    if config["trainer.threads"]:
        torch.set_num_threads(int(config["trainer.threads"]))
    pl.seed_everything(ctx.seed, workers=True, verbose=False)
    tokenizer = _tokenizer_for(task, splits["train"], run_dir, config, given, options.resume)
    system = _build_system(task, config, tokenizer, splits["train"], ctx, run_dir, resume=options.resume, backbone=backbone)
    if pretrained is not None:
        if not options.resume:  # a resumed run's weights come from last.ckpt
            system.model.load_state_dict(pretrained_state(pretrained, system.model))
        # Heads reuse what they want of the checkpoint's own, and learn its family.
        offer_pretrained(system.head, {} if options.resume else pretrained.checkpoint.head_weights,
                         pretrained.checkpoint.family)
    train_rows = encode_examples(task, splits["train"].examples, tokenizer, ctx, train=True)
    val_rows = encode_examples(task, splits["validation"].examples, tokenizer, ctx, train=True)
    datamodule = TaskDataModule(
        train_rows.rows, val_rows.rows, pad_id=tokenizer.pad_id, max_tokens=config["data.max_tokens"],
        eval_max_tokens=config["data.eval_max_tokens"], seed=ctx.seed,
    )
    limit = config["data.val_metric_examples"]
    val_examples = splits["validation"].examples[:limit] if limit else splits["validation"].examples
    decoding = Decoding.from_config(config.section("decoding"))
    scorer = ValidationScorer(task, val_examples, tokenizer, ctx, decoding, config["data.eval_max_tokens"])

    averager = WeightAverager(config["trainer.average_last"]) if config["trainer.average_last"] else None
    trainer, best = _trainer(task, config, run_dir, platform, scorer, options.quiet, [averager] if averager else [])
    wall = _fit(trainer, system, datamodule, task, run_dir, resume=options.resume)
    # Every rank: validation is collective.
    best_score = _keep_best(trainer, system, datamodule, best, scorer, run_dir)
    averaged = _keep_average(trainer, system, datamodule, best, best_score, averager, run_dir) if averager else None
    if not trainer.is_global_zero:
        return RunResult(run_dir, {})
    # The test set is decoded and scored once, on rank 0: no example counted twice.
    test = _test(trainer, system, task, splits["test"], tokenizer, ctx, run_dir)
    record = build_record(
        task=task, platform=platform, config=config, data=options.data, split=splits["test"], scores=test.scores,
        intervals=test.intervals, system=system, steps=trainer.global_step,
        tokens=system.tokens_seen - system.tokens_restored, wall=wall,
        trainer=trainer, truncated={"train": train_rows.truncated, "validation": val_rows.truncated, "test": test.truncated},
        validation_seconds=scorer.seconds, init=read_init(run_dir), averaged=averaged,
    )
    write_json_atomic(run_dir / "metrics.json", record)
    plot_curves(run_dir, task)
    platform.results(record)
    return RunResult(run_dir, record)


def _cli_values(options: RunOptions) -> dict[str, Any]:
    return {
        "trainer.accelerator": options.accelerator,
        "trainer.devices": options.devices,
        "trainer.strategy": options.strategy,
        "trainer.precision": options.precision,
        "trainer.max_time": options.max_time,
        "trainer.max_steps": options.max_steps,
        "trainer.max_epochs": options.max_epochs,
        "run.seed": options.seed,
        "run.out": options.out,
        "run.data": options.data,
        "model.init": options.init,
    }


def run_splits(task: Task, data: str, ctx: TaskContext, platform: Platform) -> dict[str, Split]:
    """The splits of ``data`` as a run uses them: ``data.limit_train`` and ``data.limit_test`` applied."""
    splits = load_splits(task, data, ctx, platform.adapters)
    for role, key in (("train", "data.limit_train"), ("test", "data.limit_test")):
        if ctx.config[key]:
            splits[role].examples = splits[role].examples[: ctx.config[key]]
    return splits


def quiet_lightning() -> None:
    # Lightning's banners ("GPU available: False ...") and hints are noise on a CLI
    # whose output is the progress bar and the metrics table.
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*The number of training batches.*")
    warnings.filterwarnings("ignore", message=".*torch.nn.utils.weight_norm.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="pytorch_lightning")


def check_trainer_options(trainer: Mapping[str, Any]) -> pl.Trainer:
    """A Trainer made of the accelerator, devices, strategy and precision alone. Lightning
    validates them as it is made, so a bad value is one line before anything is written;
    its strategy's root device is where this process computes."""
    try:
        return pl.Trainer(
            accelerator=trainer["accelerator"], devices=_devices(trainer["devices"]), strategy=trainer["strategy"],
            precision=trainer["precision"], logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False,
        )
    except (MisconfigurationException, ValueError, RuntimeError, TypeError) as err:
        raise UserError(f"invalid trainer option: {str(err).strip().splitlines()[0]}") from None


def _devices(value: str | int) -> Any:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        return int(text)
    return text


def _tokenizer_for(task: Task, train: Split, run_dir: Path, config: Config, given: Tokenizer | None, resume: bool) -> Tokenizer:
    saved = run_dir / "tokenizer.json"
    if resume and saved.is_file():
        return Tokenizer.load(saved)
    if given is not None:
        tokenizer = given
    else:
        texts = (text for example in train.examples for text in task.texts(example))
        tokenizer = Tokenizer.train(
            texts, config["tokenizer.vocab_size"], config["tokenizer.min_frequency"], task.special_tokens,
            kind=config["tokenizer.kind"],
        )
    tmp = run_dir / ".tokenizer.json.tmp"
    tokenizer.save(tmp)
    os.replace(tmp, saved)
    return tokenizer


def model_config(task: Task, config: Config, tokenizer: Tokenizer, backbone: TransformerConfig | None = None) -> dict[str, Any]:
    """The backbone's TransformerConfig fields for ``task`` with this tokenizer: the preset's
    sizes and the ``model.*`` settings of a model trained from scratch, or every field of a
    pretrained ``backbone``."""
    if backbone is not None:
        return dataclasses.asdict(backbone)
    fields = config.model_fields()
    fields["max_positions"] = max(int(fields["max_positions"]), int(config["data.max_length"]) + 2)
    return {
        # Every model.* setting that is a TransformerConfig field: a key added to platform.toml
        # reaches the model without a second list to keep in step.
        **{k: v for k, v in fields.items() if k in MODEL_FIELDS},
        "vocab_size": tokenizer.vocab_size,
        "shape": task.shape,
        "pad_id": tokenizer.pad_id,
    }


MODEL_FIELDS = frozenset(f.name for f in dataclasses.fields(TransformerConfig))


def _build_system(
    task: Task, config: Config, tokenizer: Tokenizer, train: Split, ctx: TaskContext, run_dir: Path, *, resume: bool,
    backbone: TransformerConfig | None = None,
) -> TaskSystem:
    head_hparams = task.head_hparams(train.examples, ctx)
    ctx.hparams = head_hparams  # encode/decode may need them (the label list)
    model = model_config(task, config, tokenizer, backbone)
    if resume:
        # Refused before Lightning loads it: unsafe content, another task or another model shape.
        last = run_dir / CHECKPOINTS / "last.ckpt"
        check_checkpoint(last, read_checkpoint(last), task.name, model)
    head = task.build_head(TransformerConfig(**model), head_hparams, ctx)
    t = config.section("trainer")
    optim = {k: t[k] for k in ("lr", "min_lr", "warmup_steps", "schedule", "weight_decay", "betas", "max_steps", "head_lr",
                               "layer_decay")}
    optim["freeze"] = config["model.freeze"]
    optim["budget_seconds"] = max_time_seconds(t["max_time"])
    tokenizer_file = run_dir / "tokenizer.json"
    return TaskSystem(
        task_name=task.name, task_version=task.version, model=model, head=head, head_hparams=head_hparams, optim=optim,
        tokenizer_hash=hashlib.sha256(tokenizer_file.read_bytes()).hexdigest()[:16] if tokenizer_file.is_file() else "",
    )


def _trainer(
    task: Task, config: Config, run_dir: Path, platform: Platform, scorer: ValidationScorer, quiet: bool,
    extra: list[pl.Callback],
) -> tuple[pl.Trainer, ModelCheckpoint]:
    t = config.section("trainer")
    primary = task.metrics[0]
    higher = platform.metrics.get(primary).higher_is_better
    best = ModelCheckpoint(
        dirpath=run_dir / CHECKPOINTS, filename="best", monitor=f"val/{primary}",
        mode="max" if higher else "min", save_top_k=1, save_last=False, auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    last = run_dir / CHECKPOINTS / "last.ckpt"
    callbacks: list[pl.Callback] = [
        FiniteLossGuard(), ExactResume(int(config["run.seed"])), SaveOnInterrupt(last), scorer, best,
        PeriodicCheckpoint(last, t["checkpoint_every_n_steps"]), *extra,
    ]
    progress = bool(t["progress"]) and not quiet
    if progress:
        callbacks.append(RichProgressBar(leave=True))
    callbacks.extend(platform.callbacks(task, config))
    budget_given = t["max_steps"] > 0 or t["max_epochs"] > 0 or bool(t["max_time"])
    trainer = pl.Trainer(
        accelerator=t["accelerator"],
        devices=_devices(t["devices"]),
        strategy=t["strategy"],
        precision=t["precision"],
        max_steps=t["max_steps"],
        max_epochs=t["max_epochs"] if budget_given else 10,
        max_time=t["max_time"] or None,
        gradient_clip_val=t["gradient_clip_val"] or None,
        accumulate_grad_batches=t["accumulate_grad_batches"],
        val_check_interval=t["val_check_interval"],
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=t["log_every_n_steps"],
        default_root_dir=run_dir,
        logger=[
            CSVLogger(run_dir, name="logs", version=csv_log_version(run_dir)),
            TensorBoardLogger(run_dir, name="logs", version="tensorboard"),
        ],
        callbacks=callbacks,
        enable_progress_bar=progress,
        enable_model_summary=False,
        use_distributed_sampler=False,
        deterministic=False,
        plugins=[AtomicCheckpointIO()],
    )
    return trainer, best


def _fit(trainer: pl.Trainer, system: TaskSystem, datamodule: TaskDataModule, task: Task, run_dir: Path, *, resume: bool) -> float:
    """Train to the budget; the wall time in seconds. Ctrl-C ends in Interrupted, which says how to resume."""
    ckpt = str(run_dir / CHECKPOINTS / "last.ckpt") if resume else None
    start = time.perf_counter()
    try:
        trainer.fit(system, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    except SystemExit:
        # Lightning turns Ctrl-C into a graceful shutdown and sys.exit(1); SaveOnInterrupt
        # has written last.ckpt by then.
        if not trainer.interrupted:
            raise
    if trainer.interrupted:
        raise Interrupted(f"interrupted at step {trainer.global_step}; continue with: platform run {task.name} --out {run_dir} --resume") from None
    return time.perf_counter() - start


def _keep_best(trainer: pl.Trainer, system: TaskSystem, datamodule: TaskDataModule, best: ModelCheckpoint,
               scorer: ValidationScorer, run_dir: Path) -> float | None:
    """Validate the final weights too: the budget may end between two validations. Returns
    the best validation score, the final weights' included (None if nothing was scored)."""
    best_score = None if best.best_model_score is None else float(best.best_model_score)
    if scorer.step == trainer.global_step:
        return best_score  # validated at this very step already; ModelCheckpoint has kept the best
    results = trainer.validate(system, datamodule=datamodule, verbose=False, weights_only=True)
    final = results[0].get(best.monitor) if results else None
    if final is None:
        return best_score
    if _better(final, best_score, best.mode) or not Path(best.best_model_path or "").is_file():
        trainer.save_checkpoint(run_dir / CHECKPOINTS / "best.ckpt")
        return float(final)
    return best_score


def _better(score: float, than: float | None, mode: str) -> bool:
    return than is None or (score > than if mode == "max" else score < than)


def _keep_average(trainer: pl.Trainer, system: TaskSystem, datamodule: TaskDataModule, best: ModelCheckpoint,
                  best_score: float | None, averager: WeightAverager, run_dir: Path) -> dict[str, Any] | None:
    """Validate the mean of the last validated weights (the final ones included); it becomes
    best.ckpt when it scores better than the best single checkpoint. What was done, for the record."""
    averager.take(system, trainer.global_step)
    if len(averager.snapshots) < 2:
        return None
    final = {name: value.detach().clone() for name, value in system.state_dict().items()}
    system.load_state_dict(average(averager.snapshots))
    # Not logged: the curves (metrics.csv, tensorboard, curves.png) are the run's own weights
    # over its steps, and the average's score is in the record.
    loggers, trainer.loggers = trainer.loggers, []
    try:
        results = trainer.validate(system, datamodule=datamodule, verbose=False, weights_only=True)
    finally:
        trainer.loggers = loggers
    score = results[0].get(best.monitor) if results else None
    kept = score is not None and _better(float(score), best_score, best.mode)
    if kept:
        trainer.save_checkpoint(run_dir / CHECKPOINTS / "best.ckpt")
    system.load_state_dict(final)  # last.ckpt and the weights in memory stay the run's own
    return {"steps": list(averager.steps), "validation": None if score is None else round(float(score), 4),
            "best_single": best_score, "kept": kept}


def _test(trainer: pl.Trainer, system: TaskSystem, task: Task, test: Split, tokenizer: Tokenizer, ctx: TaskContext,
          run_dir: Path) -> Evaluation:
    """Score the best checkpoint on the test split; writes predictions.jsonl."""
    path = best_checkpoint(run_dir)
    checkpoint = read_checkpoint(path)
    check_checkpoint(path, checkpoint, task.name)
    load_state(system, checkpoint, path)
    system.to(trainer.strategy.root_device)
    evaluation = evaluate_split(
        system, task, test.examples, tokenizer, ctx, decoding=Decoding.from_config(ctx.config.section("decoding")),
        max_tokens=ctx.config["data.eval_max_tokens"], seed=ctx.seed, bootstrap=int(ctx.config["eval.bootstrap"]),
    )
    write_predictions(run_dir / "predictions.jsonl", task, test.examples, evaluation.predictions)
    return evaluation
