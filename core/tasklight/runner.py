"""run / eval / predict orchestration: config, data, tokenizer, Trainer, run directory.

The CLI commands and the Python API are thin layers over these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shlex
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasklight.config import Config, flatten, load_config, read_toml, task_defaults
from tasklight.data.sources import Split, is_demo, load_splits
from tasklight.data.tokenizer import Tokenizer
from tasklight.errors import UserError
from tasklight.plugins import Platform, get_platform
from tasklight.results import write_json_atomic, write_text_atomic
from tasklight.task import Task, TaskContext

CHECKPOINTS = "checkpoints"


class Interrupted(UserError):
    """Ctrl-C: the run saved its state and stopped."""

    exit_code = 130


@dataclass
class RunOptions:
    """What ``platform run`` takes; every field mirrors a CLI option."""

    task: str
    data: str = "demo"
    overrides: Sequence[str] = ()
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
    quiet: bool = False
    config_files: Sequence[str] = ()


@dataclass
class RunResult:
    run_dir: Path
    record: dict[str, Any]
    messages: list[str] = field(default_factory=list)


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
    }


def _child_rank() -> bool:
    """True in the extra processes Lightning starts for DDP (they rerun this command)."""
    return any(os.environ.get(name, "0") not in ("", "0") for name in ("LOCAL_RANK", "NODE_RANK"))


def resolve_run_dir(task: Task, config: Config, *, resume: bool, overwrite: bool) -> Path:
    inherited = os.environ.get("TASKLIGHT_RUN_DIR")
    if inherited and _child_rank():
        return Path(inherited)  # rank 0 chose and checked it
    out = config["run.out"]
    if out:
        run_dir = Path(out)
    else:
        name = config["run.name"] or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / task.name / name
    if resume:
        if not (run_dir / CHECKPOINTS / "last.ckpt").is_file():
            raise UserError(f"{run_dir}: nothing to resume (no {CHECKPOINTS}/last.ckpt)")
        return run_dir
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise UserError(f"{run_dir}: already exists; use --resume to continue it or --overwrite to replace it")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UserError(f"{run_dir}: cannot write the run directory ({err.strerror})") from None
    return run_dir


def _quiet_lightning() -> None:
    # Lightning's banners ("GPU available: False ...") and hints are noise on a CLI
    # whose output is the progress bar and the metrics table.
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*The number of training batches.*")
    warnings.filterwarnings("ignore", message=".*torch.nn.utils.weight_norm.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="pytorch_lightning")


def _tokenizer_for(task: Task, train: Split, run_dir: Path, config: Config, given: Tokenizer | None, resume: bool) -> Tokenizer:
    saved = run_dir / "tokenizer.json"
    if resume and saved.is_file():
        return Tokenizer.load(saved)
    if given is not None:
        tokenizer = given
    else:
        texts = (text for example in train.examples for text in task.texts(example))
        tokenizer = Tokenizer.train(
            texts, config["tokenizer.vocab_size"], config["tokenizer.min_frequency"], task.special_tokens
        )
    tmp = run_dir / ".tokenizer.json.tmp"
    tokenizer.save(tmp)
    os.replace(tmp, saved)
    return tokenizer


def model_config(task: Task, config: Config, tokenizer: Tokenizer) -> dict[str, Any]:
    fields = config.model_fields()
    fields["max_positions"] = max(int(fields["max_positions"]), int(config["data.max_length"]) + 2)
    return {
        "vocab_size": tokenizer.vocab_size,
        "shape": task.shape,
        "pad_id": tokenizer.pad_id,
        **{k: fields[k] for k in ("d_model", "n_heads", "encoder_layers", "decoder_layers", "d_ff", "dropout", "max_positions")},
    }


def run(options: RunOptions, platform: Platform | None = None) -> RunResult:
    """Train, validate and test one task; write the run directory; return the record."""
    platform = platform or get_platform()
    task = platform.tasks.get(options.task)
    def resolve(demo: bool) -> Config:
        return load_config(
            task.name, task_defaults(task, demo=demo), demo=demo, overrides=options.overrides,
            cli=_cli_values(options), files=[Path(f) for f in options.config_files],
        )

    config = resolve(demo=is_demo(options.data))
    if is_demo(options.data) and not is_demo(options.data, config):
        config = resolve(demo=False)  # data.train=FILE: real data, so the demo's settings do not apply
    import pytorch_lightning as pl  # heavy: imported once a run is certain

    _quiet_lightning()

    from tasklight.data.datamodule import TaskDataModule
    from tasklight.evaluation import ValidationScorer, encode_examples
    from tasklight.heads import Decoding
    from tasklight.system import TaskSystem

    seed = int(config["run.seed"])
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=seed)
    for name in task.metrics:
        platform.metrics.get(name)  # fail before training, not after
    splits = load_splits(task, options.data, ctx, platform.adapters)
    if config["data.limit_train"]:
        splits["train"].examples = splits["train"].examples[: config["data.limit_train"]]
    if config["data.limit_test"]:
        splits["test"].examples = splits["test"].examples[: config["data.limit_test"]]
    _check_trainer_options(config)
    # A given tokenizer.json is read before the run directory exists: a bad one writes nothing.
    given = Tokenizer.load(Path(config["tokenizer.path"])) if config["tokenizer.path"] and not options.resume else None
    run_dir = resolve_run_dir(task, config, resume=options.resume, overwrite=options.overwrite)
    os.environ["TASKLIGHT_RUN_DIR"] = str(run_dir.resolve())  # DDP children inherit it
    write_text_atomic(run_dir / "config.toml", _config_header(task, options) + config.to_toml())

    if config["trainer.threads"]:
        import torch

        torch.set_num_threads(int(config["trainer.threads"]))
    pl.seed_everything(seed, workers=True, verbose=False)
    tokenizer = _tokenizer_for(task, splits["train"], run_dir, config, given, options.resume)
    head_hparams = task.head_hparams(splits["train"].examples, ctx)
    ctx.hparams = head_hparams  # encode/decode may need them (the label list)
    mconfig = model_config(task, config, tokenizer)
    if options.resume:
        _check_resumable(task, mconfig, run_dir / CHECKPOINTS / "last.ckpt")

    from tasklight.model import TransformerConfig

    head = task.build_head(TransformerConfig(**mconfig), head_hparams, ctx)
    trainer_cfg = config.section("trainer")
    optim = {k: trainer_cfg[k] for k in ("lr", "min_lr", "warmup_steps", "schedule", "weight_decay", "betas", "max_steps")}
    optim["budget_seconds"] = _seconds(trainer_cfg["max_time"])
    system = TaskSystem(
        task_name=task.name, task_version=task.version, model=mconfig, head=head,
        head_hparams=head_hparams, optim=optim, tokenizer_hash=_file_hash(run_dir / "tokenizer.json"),
    )
    train_rows = encode_examples(task, splits["train"].examples, tokenizer, ctx, train=True)
    val_rows = encode_examples(task, splits["validation"].examples, tokenizer, ctx, train=True)
    datamodule = TaskDataModule(
        train_rows.rows, val_rows.rows, pad_id=tokenizer.pad_id, max_tokens=config["data.max_tokens"],
        eval_max_tokens=config["data.eval_max_tokens"], seed=seed,
    )
    decoding = Decoding.from_config(config.section("decoding"))
    limit = config["data.val_metric_examples"]
    val_examples = splits["validation"].examples[:limit] if limit else splits["validation"].examples
    scorer = ValidationScorer(task, val_examples, tokenizer, ctx, decoding, config["data.eval_max_tokens"])

    trainer, best_cb = _trainer(task, config, run_dir, platform, scorer, options.quiet)
    ckpt = str(run_dir / CHECKPOINTS / "last.ckpt") if options.resume else None
    start = time.perf_counter()
    try:
        trainer.fit(system, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    except SystemExit:
        # Lightning turns Ctrl-C into a graceful shutdown and sys.exit(1); SaveOnInterrupt
        # has written last.ckpt by then.
        if trainer.interrupted:
            raise Interrupted(f"interrupted at step {trainer.global_step}; continue with: platform run {task.name} --out {run_dir} --resume") from None
        raise
    wall = time.perf_counter() - start
    if trainer.interrupted:
        raise Interrupted(f"interrupted at step {trainer.global_step}; continue with: platform run {task.name} --out {run_dir} --resume")
    _keep_best(trainer, system, datamodule, best_cb, scorer, run_dir)  # every rank: validation is collective
    if not trainer.is_global_zero:
        return RunResult(run_dir, {})
    # The test set is decoded and scored once, on rank 0: no example counted twice.
    from tasklight.evaluation import predict_examples, score
    from tasklight.model_io import load_weights

    load_weights(system, best_checkpoint(run_dir), task)
    system.to(trainer.strategy.root_device)
    test = splits["test"]
    test_rows = encode_examples(task, test.examples, tokenizer, ctx, train=False)
    predictions = predict_examples(
        system, task, test.examples, test_rows, tokenizer, ctx, decoding=decoding,
        max_tokens=config["data.eval_max_tokens"], seed=seed,
    )
    scores = score(task, predictions, test.examples, ctx)
    _write_predictions(run_dir / "predictions.jsonl", task, test.examples, predictions)

    from tasklight.record import build_record

    record = build_record(
        task=task, platform=platform, config=config, data=options.data, split=test, scores=scores,
        system=system, steps=trainer.global_step, tokens=system.tokens_seen - system.tokens_restored, wall=wall,
        trainer=trainer, truncated={"train": train_rows.truncated, "validation": val_rows.truncated, "test": test_rows.truncated},
        validation_seconds=scorer.seconds,
    )
    write_json_atomic(run_dir / "metrics.json", record)
    _plot_curves(run_dir, task)
    platform.results(record)
    return RunResult(run_dir, record)


def _check_resumable(task: Task, model: dict[str, Any], path: Path) -> None:
    """Refuse, before Lightning loads it, a checkpoint this run cannot continue: unsafe
    content, another task, or another model shape (each named)."""
    from tasklight.model_io import read_checkpoint

    saved = read_checkpoint(path).get("hyper_parameters", {})
    if saved.get("task_name") != task.name:
        raise UserError(f"{path}: checkpoint of task {saved.get('task_name')!r}, not {task.name!r}")
    old = saved.get("model", {})
    differs = [f"{key} {old.get(key)!r} in the checkpoint, {value!r} now" for key, value in model.items() if old.get(key) != value]
    if differs:
        raise UserError(
            f"{path}: the checkpoint's model does not match this run's ({'; '.join(differs)}); "
            "resume with the settings the run started with"
        )


def _config_header(task: Task, options: RunOptions) -> str:
    return (
        f"# Resolved config of a tasklight run of task {task.name!r} (version {task.version}).\n"
        f"# Rerun it with: platform run {task.name} --data {shlex.quote(options.data)} --config THIS_FILE --out NEW_DIR\n\n"
    )


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else ""


def _trainer(task: Task, config: Config, run_dir: Path, platform: Platform, scorer: Any, quiet: bool) -> tuple[Any, Any]:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint, RichProgressBar
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    t = config.section("trainer")
    primary = task.metrics[0]
    higher = platform.metrics.get(primary).higher_is_better
    best = ModelCheckpoint(
        dirpath=run_dir / CHECKPOINTS, filename="best", monitor=f"val/{primary}",
        mode="max" if higher else "min", save_top_k=1, save_last=False, auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    from tasklight.safety import AtomicCheckpointIO, ExactResume, FiniteLossGuard, PeriodicCheckpoint, SaveOnInterrupt

    last = PeriodicCheckpoint(run_dir / CHECKPOINTS / "last.ckpt", t["checkpoint_every_n_steps"])

    callbacks: list[Any] = [
        FiniteLossGuard(), ExactResume(int(config["run.seed"])), SaveOnInterrupt(run_dir / CHECKPOINTS / "last.ckpt"),
        scorer, best, last,
    ]
    if t["progress"] and not quiet:
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
        logger=[CSVLogger(run_dir, name="logs", version=_csv_version(run_dir)), TensorBoardLogger(run_dir, name="logs", version="tensorboard")],
        callbacks=callbacks,
        enable_progress_bar=bool(t["progress"]) and not quiet,
        enable_model_summary=False,
        use_distributed_sampler=False,
        deterministic=False,
        plugins=[AtomicCheckpointIO()],
    )
    return trainer, best


def _check_trainer_options(config: Config) -> None:
    """Lightning validates --accelerator/--devices/--strategy/--precision when a Trainer is
    made: make one now, so a bad value is one line before anything is written."""
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    t = config.section("trainer")
    try:
        pl.Trainer(
            accelerator=t["accelerator"], devices=_devices(t["devices"]), strategy=t["strategy"], precision=t["precision"],
            logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        )
    except (MisconfigurationException, ValueError, RuntimeError) as err:
        raise UserError(f"invalid trainer option: {str(err).strip().splitlines()[0]}") from None


def _csv_version(run_dir: Path) -> str:
    """A fresh CSV log folder per session: Lightning would delete an existing one on --resume."""
    existing = {p.name for p in (run_dir / "logs").glob("csv*")}
    if "csv" not in existing:
        return "csv"
    n = 1
    while f"csv-resume{n}" in existing:
        n += 1
    return f"csv-resume{n}"


def _seconds(max_time: str) -> float:
    """DD:HH:MM:SS (Lightning's max_time format) in seconds; 0 when unset."""
    if not max_time:
        return 0.0
    parts = max_time.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or any(v < 0 for v in values):
        raise UserError(f"--max-time must be DD:HH:MM:SS, got {max_time!r}")
    days, hours, minutes, seconds = values
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _devices(value: str) -> Any:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        return int(text)
    return text


def best_checkpoint(run_dir: Path) -> Path:
    for name in ("best.ckpt", "last.ckpt"):
        path = run_dir / CHECKPOINTS / name
        if path.is_file():
            return path
    raise UserError(f"{run_dir}: no checkpoint found in {CHECKPOINTS}/ (is this a run directory?)")


def _keep_best(trainer: Any, system: Any, datamodule: Any, best_cb: Any, scorer: Any, run_dir: Path) -> None:
    """Validate the final weights too: the budget may end between two validations."""
    if scorer.step == trainer.global_step:
        return  # validated at this very step already; ModelCheckpoint has kept the best
    results = trainer.validate(system, datamodule=datamodule, verbose=False, weights_only=True)
    key = best_cb.monitor
    final = results[0].get(key) if results else None
    best_score = best_cb.best_model_score
    better = best_cb.mode == "max"
    if final is None:
        return
    if best_score is None or (final > float(best_score) if better else final < float(best_score)) or not Path(best_cb.best_model_path or "").is_file():
        trainer.save_checkpoint(run_dir / CHECKPOINTS / "best.ckpt")


def _write_predictions(path: Path, task: Task, examples: Sequence[Any], predictions: Sequence[Any]) -> None:
    lines = []
    for example, prediction in zip(examples, predictions):
        row = task.to_json(example, prediction)
        row.setdefault("reference", task.reference(example))
        lines.append(json.dumps(row, ensure_ascii=False, default=str))
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def _plot_curves(run_dir: Path, task: Task) -> None:
    """curves.png: training loss, validation loss and the primary metric over steps."""
    import csv

    paths = sorted((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: (len(p.parent.name), p.parent.name))
    if not paths:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float]]] = {}
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                for key in ("train/loss", "val/loss", f"val/{task.metrics[0]}"):
                    value = row.get(key)
                    if value not in (None, ""):
                        series.setdefault(key, []).append((int(row["step"]), float(value)))
    if not series:
        return
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("train/loss", "val/loss"):
        if key in series:
            xs, ys = zip(*series[key])
            ax_loss.plot(xs, ys, label=key, marker="o" if key.startswith("val") else None)
    ax_loss.set_xlabel("step"), ax_loss.set_ylabel("loss"), ax_loss.legend()
    metric = f"val/{task.metrics[0]}"
    if metric in series:
        xs, ys = zip(*series[metric])
        ax_metric.plot(xs, ys, marker="o", color="tab:green")
    ax_metric.set_xlabel("step"), ax_metric.set_ylabel(metric), ax_metric.set_title(f"{task.name}: {metric}")
    fig.tight_layout()
    tmp = run_dir / ".curves.png.tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, run_dir / "curves.png")


# ---- loading a finished run (eval, predict, the Python API) ----------------------------
@dataclass
class LoadedRun:
    run_dir: Path
    task: Task
    config: Config
    tokenizer: Tokenizer
    system: Any
    ctx: TaskContext


def load_run(run_dir: Path, task_name: str | None = None, platform: Platform | None = None, overrides: Iterable[str] = ()) -> LoadedRun:
    platform = platform or get_platform()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.toml)")
    raw = read_toml(config_path)
    presets = raw.pop("presets", {})
    values = flatten(raw)
    from tasklight.model_io import read_checkpoint

    ckpt_path = best_checkpoint(run_dir)
    checkpoint = read_checkpoint(ckpt_path)
    hparams = checkpoint.get("hyper_parameters", {})
    saved_task = hparams.get("task_name")
    if task_name is not None and saved_task != task_name:
        raise UserError(f"{ckpt_path}: checkpoint of task {saved_task!r}, not {task_name!r}")
    task = platform.tasks.get(saved_task)
    if hparams.get("task_version") != task.version:
        print(f"Warning: {ckpt_path} was trained with {task.name} version {hparams.get('task_version')}, installed is {task.version}")
    base = load_config(task.name, task.settings, demo=False)
    merged = dict(base.as_dict())
    merged.update(values)
    config = Config(merged, {**base.presets, **presets})
    if overrides:
        extra = load_config(task.name, task.settings, demo=False, overrides=overrides)
        for item in overrides:
            key = item.partition("=")[0].strip()
            merged[key] = extra[key]
        config = Config(merged, config.presets)
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=int(config["run.seed"]), hparams=hparams.get("head_hparams", {}))
    tokenizer = Tokenizer.load(run_dir / "tokenizer.json")
    from tasklight.model import TransformerConfig
    from tasklight.system import TaskSystem

    model = TransformerConfig(**hparams["model"])
    if model.vocab_size != tokenizer.vocab_size:
        raise UserError(f"{ckpt_path}: model vocabulary ({model.vocab_size}) does not match {run_dir}/tokenizer.json ({tokenizer.vocab_size})")
    head = task.build_head(model, hparams.get("head_hparams", {}), ctx)
    system = TaskSystem(
        task_name=task.name, task_version=hparams.get("task_version", task.version), model=hparams["model"], head=head,
        head_hparams=hparams.get("head_hparams", {}), optim=hparams.get("optim", {}), tokenizer_hash=hparams.get("tokenizer_hash", ""),
    )
    from tasklight.model_io import load_state

    load_state(system, checkpoint, ckpt_path)
    system.eval()
    return LoadedRun(run_dir, task, config, tokenizer, system, ctx)


def predict(loaded: LoadedRun, items: Sequence[str | dict[str, Any]], where: str = "input", seed: int | None = None) -> list[dict[str, Any]]:
    """User-facing predictions (the JSON objects ``platform predict`` prints)."""
    from tasklight.evaluation import encode_examples, predict_examples
    from tasklight.heads import Decoding

    task, ctx = loaded.task, loaded.ctx
    examples = [task.parse_input(item, f"{where}:{i + 1}", ctx) for i, item in enumerate(items)]
    encoded = encode_examples(task, examples, loaded.tokenizer, ctx, train=False)
    predictions = predict_examples(
        loaded.system, task, examples, encoded, loaded.tokenizer, ctx,
        decoding=Decoding.from_config(loaded.config.section("decoding")),
        max_tokens=loaded.config["data.eval_max_tokens"], seed=loaded.ctx.seed if seed is None else seed,
    )
    return [task.to_json(e, p) for e, p in zip(examples, predictions)]


def evaluate(loaded: LoadedRun, data: str | None, split: str, platform: Platform | None = None) -> dict[str, Any]:
    """Score a trained run on a split; writes eval-<split>.json beside metrics.json."""
    from tasklight.evaluation import encode_examples, predict_examples, score
    from tasklight.heads import Decoding
    from tasklight.record import eval_record

    platform = platform or get_platform()
    task, ctx, config = loaded.task, loaded.ctx, loaded.config
    source = data if data is not None else str(config["run.data"])
    if split not in ("train", "validation", "test"):
        raise UserError(f"unknown split {split!r}; choose train, validation or test")
    splits = load_splits(task, source, ctx, platform.adapters)
    chosen = splits[split]
    encoded = encode_examples(task, chosen.examples, loaded.tokenizer, ctx, train=False)
    predictions = predict_examples(
        loaded.system, task, chosen.examples, encoded, loaded.tokenizer, ctx,
        decoding=Decoding.from_config(config.section("decoding")), max_tokens=config["data.eval_max_tokens"], seed=ctx.seed,
    )
    scores = score(task, predictions, chosen.examples, ctx)
    record = eval_record(loaded, platform, source, chosen, scores)
    write_json_atomic(loaded.run_dir / f"eval-{split}.json", record)
    return record


