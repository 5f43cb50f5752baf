"""``platform bench SUITE``: run a benchmark suite, one run directory per entry and seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tasklight.cli.options import json_option, set_option
from tasklight.errors import UserError


@click.command("bench")
@click.argument("suite", required=False)
@click.option("--suite", "suite_file", metavar="FILE", help="Read suites from this TOML file instead of platform.toml.")
@click.option("--out", default="results", show_default=True, metavar="DIR", help="Results folder: DIR/<suite>/<entry>/seed<N>/.")
@click.option("--only", multiple=True, metavar="TASK", help="Run only these tasks or entry names (repeatable, or comma-separated).")
@click.option("--dry-run", is_flag=True, help="Show what would run (the platform run commands) and run nothing.")
@set_option
@click.option("--progress/--quiet", default=None, help="Progress bars during training (default: when the output is a terminal).")
@json_option
def command(suite: str | None, suite_file: str | None, out: str, only: tuple[str, ...], dry_run: bool,
            overrides: tuple[str, ...], progress: bool | None, as_json: bool) -> None:
    """Run every entry x seed of SUITE under its budget and write one results record per run.

    Suites are [suites.NAME] tables in platform.toml (or in --suite FILE); without SUITE
    the known suites are listed, one a line (--json: as JSON). Runs whose valid metrics.json exists are skipped, so an
    interrupted suite, rerun with the same command, continues where it stopped (a run
    that left checkpoints/last.ckpt is resumed). A failing run is reported and the suite
    goes on; the exit code is 1 when any run failed or lacked its data. --set applies to
    every run (e.g. --set trainer.threads=1).

    \b
    Examples:
      platform bench smoke
      platform bench smoke --dry-run
      platform bench cpu-real --only intent --out results/
      platform leaderboard results/ --format md
    """
    from tasklight.bench.suite_runner import print_summary, run_suite
    from tasklight.bench.suites import available, check_suite, load_suite
    from tasklight.plugins import get_platform

    if suite is None and suite_file is None:
        _list_suites(available(), as_json)
        return
    if as_json:
        raise UserError("--json lists the suites: give no SUITE (platform bench --json)")
    chosen = load_suite(suite, suite_file)
    platform = get_platform()
    check_suite(chosen, platform)
    entries = chosen.select(only)
    quiet = not (sys.stdout.isatty() if progress is None else progress)
    report = run_suite(
        chosen, entries, Path(out), extra=overrides, dry_run=dry_run, quiet=quiet, platform=platform,
        echo=lambda line: click.echo(line),
    )
    print_summary(report)
    if not dry_run:
        click.echo(f"Leaderboard: platform leaderboard {out} --format md")
    if report.interrupted:
        raise click.exceptions.Exit(130)
    if not report.ok:
        failed = sum(o.status not in ("done", "exists", "planned") for o in report.outcomes)
        click.echo(f"{failed} of {len(report.outcomes)} run(s) failed or were skipped for missing data", err=True)
        raise click.exceptions.Exit(1)


def _list_suites(tables: dict, as_json: bool) -> None:
    from tasklight.bench.suites import parse_suite

    suites = [parse_suite(name, table, origin) for name, (table, origin) in sorted(tables.items())]
    if as_json:
        rows = [
            {"name": suite.name, "entries": len(suite.entries), "runs": sum(len(e.seeds) for e in suite.entries),
             "description": suite.description}
            for suite in suites
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    # One line per suite whether or not stdout is a terminal: names are never cut.
    click.echo("Suites (platform bench NAME; --dry-run shows the runs):")
    for suite in suites:
        runs = sum(len(e.seeds) for e in suite.entries)
        click.echo(f"  {suite.name:<12} {len(suite.entries)} entries, {runs} runs: {suite.description}")
