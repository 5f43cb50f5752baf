"""What the side-by-side benchmarks against Hugging Face share (finetune_vs_hf.py,
scratch_vs_hf.py): the Trainer's budget, tasklight's data and runs, and their errors.

Both scripts train a Hugging Face ``Trainer`` in this process and run tasklight as a user
runs it (``python -m tasklight run ...``) in a process of its own, for the same wall-clock
budget; tasklight's test predictions are re-read from its ``predictions.jsonl`` and rescored
by the same code that scores the Trainer's, which must agree with its ``metrics.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

try:
    from benchmarks.throughput import machine
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from throughput import machine  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]

__all__ = [
    "BenchError", "QUICK_MINUTES", "add_common_arguments", "check_bench_extra", "check_tl_set", "checkout_env",
    "machine", "max_time", "overrides", "parse_common", "read_splits", "run_platform", "train_to_budget",
    "trainer_arguments", "wall_clock", "write_predictions",
]


class BenchError(Exception):
    """Bad input or a side that failed: one line for the user, exit code 2."""


# ---- inputs --------------------------------------------------------------------------------------
QUICK_MINUTES = 0.2  # each side's budget under --quick


def add_common_arguments(parser: argparse.ArgumentParser, *, budget: str, out: str, quick: str, tl_set: str) -> None:
    """The options both comparisons take; ``parse_common`` fills in the budget's default."""
    parser.add_argument("--minutes", type=float, help=f"{budget} (default 20; {QUICK_MINUTES} with --quick)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads of both sides (default: torch's)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(out), help="run directories and logs")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--quick", action="store_true", help=f"{quick} and a budget of seconds: a smoke test of the script")
    parser.add_argument("--tl-set", action="append", default=[], metavar="KEY=VALUE", help=f"an extra --set for the tasklight run ({tl_set})")


def parse_common(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.minutes is None:
        args.minutes = QUICK_MINUTES if args.quick else 20.0
    return args


def check_tl_set(items: Iterable[str]) -> None:
    for item in items:
        if "=" not in item or not item.partition("=")[0].strip():
            raise BenchError(f"--tl-set expects key=value, got {item!r}")


def check_bench_extra() -> None:
    """The Trainer needs transformers and accelerate (the bench extra). Checked after the
    paths and options, so that a wrong one is named first, with or without the extra."""
    for module in ("transformers", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise BenchError(f"no module {module!r}: the Trainer's side needs the bench extra, pip install -e '.[bench]'")


def overrides(settings: Mapping[str, Any]) -> list[str]:
    """``--set`` texts of typed settings."""
    return [f"{key}={value}" for key, value in settings.items()]


def read_splits(task_name: str, data: str, settings: Mapping[str, Any], cli: Mapping[str, Any]) -> tuple[Any, dict[str, Any], Any, Any]:
    """The task, its train/validation/test splits, the metric registry and the resolved config,
    read by tasklight exactly as its run of ``--data data --set settings`` reads them."""
    from tasklight.config import resolve_config
    from tasklight.errors import UserError
    from tasklight.plugins import get_platform
    from tasklight.task import TaskContext
    from tasklight.training import run_splits

    plat = get_platform()
    try:
        task = plat.tasks.get(task_name)
        config = resolve_config(task, data, overrides=overrides(settings), cli=dict(cli))
        ctx = TaskContext(config=config, metric=plat.metrics.get, seed=int(config["run.seed"]))
        splits = run_splits(task, data, ctx, plat)
    except UserError as err:
        raise BenchError(f"{task_name}: {err.message}") from None
    return task, splits, plat.metrics, config


def write_predictions(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


# ---- the Trainer's side ------------------------------------------------------------------------
def trainer_arguments(cls: Any, out: Path, seed: int, **recipe: Any) -> Any:
    """``cls`` (TrainingArguments or Seq2SeqTrainingArguments) with the recipe's settings, no
    evaluation or saving inside the budget, and the loss logged every 50 steps."""
    import torch

    return cls(
        output_dir=str(out), seed=seed, eval_strategy="no", save_strategy="no", report_to="none", logging_steps=50,
        disable_tqdm=True, dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning does nothing on a CPU but warn
        **recipe,
    )


def field_names(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def wall_clock(seconds: float) -> Any:
    """A TrainerCallback that stops training once ``seconds`` have passed since
    ``on_train_begin`` and measures the training time."""
    from transformers import TrainerCallback

    class WallClock(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.start = 0.0
            self.elapsed = 0.0
            self.fired = False

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if time.perf_counter() - self.start >= seconds:
                control.should_training_stop = True
                self.fired = True

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.elapsed = time.perf_counter() - self.start

    return WallClock()


def train_to_budget(trainer: Any, clock: Any) -> dict[str, Any]:
    """``trainer.train()`` with ``clock`` (``wall_clock``) among its callbacks; its counters."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the loss goes into log_history, not onto the screen
    trainer.train()
    state = trainer.state
    losses = [row["loss"] for row in state.log_history if "loss" in row]
    return {
        "steps": int(state.global_step),
        "epochs": float(state.epoch or 0.0),
        "train_seconds": clock.elapsed,
        "stopped_by": "budget" if clock.fired else "epochs",
        "last_logged_loss": losses[-1] if losses else None,
    }


# ---- tasklight's side --------------------------------------------------------------------------
def max_time(seconds: float) -> str:
    """``--max-time`` (DD:HH:MM:SS, whole seconds as Lightning reads it)."""
    s = max(1, round(seconds))
    return f"{s // 86400:02d}:{s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def checkout_env() -> dict[str, str]:
    """The environment of a tasklight run: this checkout's code first on the path. Run from
    a second checkout, the installed tasklight would otherwise be another tree's, and this
    tree's platform.toml, in the working directory, would be read as a user's file over the
    fine-tuning defaults."""
    ours = [str(REPO / "core"), str(REPO / "plugins")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*ours, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def run_platform(command: list[str], run_dir: Path, label: str,
                  rescore: Callable[[list[dict[str, Any]]], dict[str, float]]) -> dict[str, Any]:
    """``command`` (``python -m tasklight run ... --out run_dir``) in a process of its own; its
    figures from the run directory. ``rescore`` scores the rows of its predictions.jsonl with
    the code that scores the other side; each metric must equal the one in its metrics.json."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=checkout_env())
    log = run_dir.parent / "tasklight.log"
    log.write_text(f"$ {shlex.join(command)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"the tasklight {label} run failed (exit {done.returncode}; {log}): {last}")
    record = json.loads((run_dir / "metrics.json").read_text())
    training = record["training"]
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines() if line.strip()]
    rescored = rescore(rows)
    for name, value in rescored.items():  # the same code scored both: the run's own record must agree
        recorded = float(record["metrics"][name]["value"])
        if not math.isclose(value, recorded, abs_tol=1e-6):
            raise BenchError(f"{run_dir}: {name} rescored from predictions.jsonl is {value}, metrics.json says {recorded}")
    wall = float(training["wall_time_s"])
    return {
        "metrics": rescored,
        "steps": int(training["steps"]),
        "train_seconds": wall,
        "tokens": int(training["target_tokens"]),
        "tokens_per_s": training["target_tokens"] / wall if wall > 0 else float("nan"),
        "validation_seconds": float(training["validation_time_s"]),
        "test_examples": len(rows),
        "command": shlex.join(["platform", *command[3:]]),  # `python -m tasklight` is `platform`
        "run_dir": str(run_dir),
        "git_commit": record.get("git_commit"),
    }
