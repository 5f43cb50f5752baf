"""The run directory: choosing and creating it, its format version, and the files a
run leaves there besides checkpoints (config.toml, predictions.jsonl, curves.png).

Layout (README.md, "A run directory")::

    run.json            {"format_version": N, "tasklight": VERSION}
    config.toml         the fully resolved config, enough to rerun
    tokenizer.json
    checkpoints/        last.ckpt (for --resume), best.ckpt
    metrics.json        the results record
    predictions.jsonl   test-set predictions with references
    logs/               CSV and TensorBoard logs
    curves.png          loss and validation metric over time
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasklight import __version__
from tasklight.config import Config
from tasklight.errors import UserError
from tasklight.results import write_json_atomic, write_text_atomic
from tasklight.task import Task

CHECKPOINTS = "checkpoints"
RUN_INFO = "run.json"

# What a run directory holds and how (checkpoint weight names, config keys). Bump it when
# a change makes directories written before unreadable: those then fail to load with one
# line that names their format instead of an error deep inside torch.
FORMAT_VERSION = 1
# Directories written before run.json existed: their layout and weights are format 1.
UNVERSIONED_FORMAT = 1


def _child_rank() -> bool:
    """True in the extra processes Lightning starts for DDP (they rerun this command)."""
    return any(os.environ.get(name, "0") not in ("", "0") for name in ("LOCAL_RANK", "NODE_RANK"))


def prepare_run_dir(task: Task, config: Config, *, resume: bool, overwrite: bool) -> Path:
    """The run's directory: ``--out``, or runs/<task>/<name>; created and writable, or
    (``resume``) an existing one of the current format with a checkpoint to continue."""
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
        check_format(run_dir)
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


def format_of(run_dir: Path) -> tuple[int, str | None]:
    """The format version a run directory was written in, and the tasklight that wrote it."""
    path = run_dir / RUN_INFO
    if not path.is_file():
        return UNVERSIONED_FORMAT, None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        version = info["format_version"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{path}: unreadable (expected {{\"format_version\": N, ...}})") from None
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"{path}: format_version must be an integer, got {version!r}")
    return version, info.get("tasklight")


def check_format(run_dir: Path) -> None:
    """Refuse, in one line that says what to do, a run directory of another format."""
    found, writer = format_of(run_dir)
    if found == FORMAT_VERSION:
        return
    written = f"{run_dir}: run directory format {found}{f' (tasklight {writer})' if writer else ''}"
    reads = f"this tasklight ({__version__}) reads format {FORMAT_VERSION}"
    if found > FORMAT_VERSION:
        raise UserError(f"{written}; {reads}: upgrade tasklight to use it")
    raise UserError(
        f"{written}; {reads}: train it again (platform run TASK --config {run_dir / 'config.toml'} --data SOURCE "
        "--out NEW_DIR) or use the tasklight version that wrote it"
    )


def write_run_info(run_dir: Path, task: Task, config: Config, data: str, init: dict[str, Any] | None = None) -> None:
    """run.json (the format version and, for a run started from a checkpoint, where its
    weights came from: source, revision, SHA-256 of each weight file, licence) and
    config.toml, written as a run starts."""
    info: dict[str, Any] = {"format_version": FORMAT_VERSION, "tasklight": __version__}
    if init is not None:
        info["init"] = init
    write_json_atomic(run_dir / RUN_INFO, info)
    header = (
        f"# Resolved config of a tasklight run of task {task.name!r} (version {task.version}).\n"
        f"# Rerun it with: platform run {task.name} --data {shlex.quote(data)} --config THIS_FILE --out NEW_DIR\n\n"
    )
    write_text_atomic(run_dir / "config.toml", header + config.to_toml())


def read_init(run_dir: Path) -> dict[str, Any] | None:
    """The checkpoint a run started from (run.json's ``init``), or None: trained from scratch."""
    path = run_dir / RUN_INFO
    if not path.is_file():
        return None
    try:
        init = json.loads(path.read_text(encoding="utf-8")).get("init")
    except (OSError, ValueError, AttributeError):
        raise UserError(f"{path}: unreadable (expected {{\"format_version\": N, ...}})") from None
    return init if isinstance(init, dict) else None


def check_same_init(run_dir: Path, source: str) -> None:
    """``--resume`` continues a run from the weights it started with, or not at all."""
    init = read_init(run_dir)
    started = str(init.get("source", "")) if init else ""
    if started != source:
        was = f"--init {started}" if started else "random weights (no --init)"
        now = f"--init {source}" if source else "no --init"
        raise UserError(f"{run_dir}: started from {was}, resumed with {now}; resume with the --init it started with")


def best_checkpoint(run_dir: Path) -> Path:
    for name in ("best.ckpt", "last.ckpt"):
        path = run_dir / CHECKPOINTS / name
        if path.is_file():
            return path
    raise UserError(f"{run_dir}: no checkpoint found in {CHECKPOINTS}/ (is this a run directory?)")


def csv_log_version(run_dir: Path) -> str:
    """A fresh CSV log folder per session: Lightning would delete an existing one on --resume."""
    existing = {p.name for p in (run_dir / "logs").glob("csv*")}
    if "csv" not in existing:
        return "csv"
    n = 1
    while f"csv-resume{n}" in existing:
        n += 1
    return f"csv-resume{n}"


def write_predictions(path: Path, task: Task, examples: Sequence[Any], predictions: Sequence[Any]) -> None:
    lines = []
    for example, prediction in zip(examples, predictions):
        row = task.to_json(example, prediction)
        row.setdefault("reference", task.reference(example))
        lines.append(json.dumps(row, ensure_ascii=False, default=str))
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def plot_curves(run_dir: Path, task: Task) -> None:
    """curves.png: training loss, validation loss and the primary metric over steps."""
    metric = f"val/{task.metrics[0]}"
    series = _logged_series(run_dir, ("train/loss", "val/loss", metric))
    if not series:
        return
    import matplotlib  # here, not above: predict, eval and serve import this module and never plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("train/loss", "val/loss"):
        if key in series:
            xs, ys = zip(*series[key])
            ax_loss.plot(xs, ys, label=key, marker="o" if key.startswith("val") else None)
    ax_loss.set_xlabel("step"), ax_loss.set_ylabel("loss"), ax_loss.legend()
    if metric in series:
        xs, ys = zip(*series[metric])
        ax_metric.plot(xs, ys, marker="o", color="tab:green")
    ax_metric.set_xlabel("step"), ax_metric.set_ylabel(metric), ax_metric.set_title(f"{task.name}: {metric}")
    fig.tight_layout()
    tmp = run_dir / ".curves.png.tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, run_dir / "curves.png")


def _logged_series(run_dir: Path, keys: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) pairs of ``keys`` from every session's CSV log, in session order."""
    paths = sorted((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: (len(p.parent.name), p.parent.name))
    series: dict[str, list[tuple[int, float]]] = {}
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                for key in keys:
                    value = row.get(key)
                    if value not in (None, ""):
                        series.setdefault(key, []).append((int(row["step"]), float(value)))
    return series
