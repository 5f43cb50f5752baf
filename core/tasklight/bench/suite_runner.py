"""``platform bench``: run every entry x seed of a suite, one run directory each.

Runs go in-process through ``tasklight.training.run``: torch and the plugins load once
for the whole suite, and an error in one run (a ``UserError`` or any exception) is
caught, reported in one line and the suite goes on. A run is resumable by design:
an interrupted suite, rerun with the same command, skips runs that have a valid
``metrics.json``, resumes those that left ``checkpoints/last.ckpt``, and redoes the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasklight.bench.suites import Entry, Suite
from tasklight.errors import UserError

DONE, EXISTS, FAILED, MISSING, PLANNED = "done", "exists", "failed", "no data", "planned"


@dataclass
class Outcome:
    entry: Entry
    seed: int
    run_dir: Path
    status: str = PLANNED
    message: str = ""
    record: dict[str, Any] | None = None
    seconds: float = 0.0
    command: str = ""


@dataclass
class BenchReport:
    suite: Suite
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every run has a valid result (none failed, none lacked its data)."""
        return not self.interrupted and all(o.status in (DONE, EXISTS, PLANNED) for o in self.outcomes)


def run_dir_for(out: Path, entry: Entry, seed: int) -> Path:
    return out / entry.suite / entry.name / f"seed{seed}"


def existing_record(run_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The valid results record in ``run_dir`` (or None, with the reason)."""
    from tasklight.results import validate_record

    path = run_dir / "metrics.json"
    if not path.is_file():
        return None, "no metrics.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"unreadable metrics.json ({err})"
    problems = validate_record(record)
    if problems:
        return None, f"invalid metrics.json ({'; '.join(problems)})"
    return record, ""


def run_suite(
    suite: Suite,
    entries: Sequence[Entry],
    out: Path,
    *,
    extra: Sequence[str] = (),
    dry_run: bool = False,
    quiet: bool = True,
    platform: Any = None,
    echo: Callable[[str], None] = print,
) -> BenchReport:
    """Run (or, with ``dry_run``, plan) each entry x seed; never raises for one run's failure."""
    report = BenchReport(suite)
    jobs = [(entry, seed) for entry in entries for seed in entry.seeds]
    for i, (entry, seed) in enumerate(jobs, 1):
        run_dir = run_dir_for(out, entry, seed)
        outcome = Outcome(entry, seed, run_dir, command=entry.command(seed, run_dir, extra))
        report.outcomes.append(outcome)
        head = f"[{i}/{len(jobs)}] {entry.name} seed {seed}"
        missing = [p for p in entry.data_paths() if not Path(p).exists()]
        record, _ = existing_record(run_dir)
        if record is not None:
            outcome.status, outcome.record = EXISTS, record
            kept = record.get("bench", {}).get("fingerprint")
            if kept and kept != entry.fingerprint(extra):
                outcome.message = "kept, but made with other settings than this entry now has (use another --out to rerun)"
            echo(f"{head}: exists, skipped ({run_dir}){'; ' + outcome.message if outcome.message else ''}")
            continue
        if missing:
            outcome.status = MISSING
            outcome.message = f"skipped: data not found: {', '.join(missing)}"
            echo(f"{head}: {outcome.message}")
            continue
        if dry_run:
            state = "would resume" if (run_dir / "checkpoints" / "last.ckpt").is_file() else "would run"
            outcome.message = state
            echo(f"{head}: {state}: {outcome.command}")
            continue
        echo(f"{head}: running {_budget_text(entry)} -> {run_dir}")
        try:
            _run_one(outcome, entry, seed, run_dir, extra, quiet, platform)
        except KeyboardInterrupt:
            outcome.status, outcome.message = FAILED, "interrupted"
            report.interrupted = True
            echo(f"{head}: interrupted; rerun the same command to continue where it stopped")
            break
        except UserError as err:
            if err.exit_code == 130:  # Ctrl-C inside the run: last.ckpt is saved, the suite stops
                outcome.status, outcome.message = FAILED, err.message
                report.interrupted = True
                echo(f"{head}: interrupted; rerun the same command to resume it")
                break
            outcome.status, outcome.message = FAILED, err.message
        except Exception as err:  # noqa: BLE001 -- one broken run never stops the suite
            if os.environ.get("TASKLIGHT_DEBUG"):
                traceback.print_exc()
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            outcome.status, outcome.message = FAILED, f"internal error: {type(err).__name__}: {first}"
        if outcome.status == FAILED:
            echo(f"{head}: FAILED: {outcome.message}")
        else:
            primary = outcome.record["primary_metric"] if outcome.record else ""
            value = outcome.record["metrics"][primary]["value"] if outcome.record else float("nan")
            echo(f"{head}: done in {outcome.seconds:.0f} s{' (' + outcome.message + ')' if outcome.message else ''}: {primary} {value:.2f}")
    return report


def _run_one(outcome: Outcome, entry: Entry, seed: int, run_dir: Path, extra: Sequence[str], quiet: bool, platform: Any) -> None:
    from tasklight.plugins import get_platform
    from tasklight.rundir import CHECKPOINTS
    from tasklight.training import RunOptions, run

    resume = (run_dir / CHECKPOINTS / "last.ckpt").is_file()
    if run_dir.exists() and not resume and any(run_dir.iterdir()):
        if not (run_dir / "config.toml").is_file():
            raise UserError(f"{run_dir}: exists and is not a run directory; move it away or use another --out")
        shutil.rmtree(run_dir)  # an earlier attempt that left no checkpoint: redo it from scratch
    info = {
        "suite": entry.suite,
        "entry": entry.name,
        "seed": seed,
        "fingerprint": entry.fingerprint(extra),
        "command": outcome.command,
    }
    annotating = _Annotating(platform or get_platform(), info, run_dir)
    options = RunOptions(
        task=entry.task, data=entry.data, overrides=[*entry.overrides, *extra], seed=seed, out=str(run_dir),
        resume=resume, overwrite=not resume, quiet=quiet, **entry.budget(),
    )
    start = time.perf_counter()
    result = run(options, annotating)  # type: ignore[arg-type]
    outcome.seconds = time.perf_counter() - start
    if annotating.problems:
        raise UserError(f"{run_dir}/metrics.json does not pass the schema check: {'; '.join(annotating.problems)}")
    if not result.record:
        raise UserError(f"{run_dir}: the run returned no results record")
    outcome.status, outcome.record = DONE, result.record
    outcome.message = "resumed" if resume else ""


class _Annotating:
    """The platform, as the runner sees it during a bench run.

    The runner ends a run by writing metrics.json and handing the record to
    ``platform.results`` (the ``on_results`` hook). Here that step first adds the
    record's ``bench`` field (suite, entry, seed, settings fingerprint, command),
    rewrites metrics.json with it, and checks the record against the schema; only a
    valid record reaches ``on_results``, exactly once.
    """

    def __init__(self, platform: Any, info: dict[str, Any], run_dir: Path) -> None:
        self._platform = platform
        self._info = info
        self._run_dir = run_dir
        self.problems: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._platform, name)

    def results(self, record: dict[str, Any]) -> None:
        from tasklight.results import validate_record, write_json_atomic

        record["bench"] = dict(self._info)
        write_json_atomic(self._run_dir / "metrics.json", record)
        self.problems = validate_record(record)
        if not self.problems:
            self._platform.results(record)


def _budget_text(entry: Entry) -> str:
    return ", ".join(f"{k} {v}" for k, v in entry.budget().items())


def summary_rows(report: BenchReport) -> list[list[str]]:
    rows = []
    for o in report.outcomes:
        value = ""
        if o.record:
            primary = o.record["primary_metric"]
            value = f"{primary} {o.record['metrics'][primary]['value']:.2f}"
        seconds = f"{o.seconds:.0f}" if o.seconds else ""
        rows.append([o.entry.name, o.entry.task, str(o.seed), o.status, value, seconds, str(o.run_dir), o.message])
    return rows


def print_summary(report: BenchReport, stream: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    stream = stream or sys.stdout
    console = Console(file=stream, width=None if stream.isatty() else 160)  # not a terminal: no 80-column wrap
    table = Table(title=f"suite {report.suite.name}: {len(report.outcomes)} run(s)")
    for column in ("entry", "task", "seed", "status", "primary metric", "s", "run directory", "note"):
        table.add_column(column, overflow="fold", justify="right" if column in ("seed", "s") else "left")
    for row in summary_rows(report):
        table.add_row(*row)
    console.print(table)
