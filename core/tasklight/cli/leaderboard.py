"""``platform leaderboard RESULTS...``: merge results records, aggregate seeds, rank."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("leaderboard")
@click.argument("results", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json", "png"]), default="md", show_default=True,
              help="md for a README, html one self-contained page with sortable columns, json, png a chart per task.")
@click.option("--out", metavar="FILE", help="Write here instead of stdout (png: a folder, or a file prefix).")
def command(results: tuple[str, ...], fmt: str, out: str | None) -> None:
    """Rank the results records in RESULTS (files and folders, searched recursively; default results/).

    Records from any number of runs and machines merge: they are grouped by task and
    data set (split and content hash), seeds aggregate to mean ± standard deviation, and
    rows are ranked by the task's primary metric. Records whose metric signatures, task
    version or primary metric differ are never ranked together: they form separate groups,
    marked as not comparable. A malformed record is named on stderr and skipped.

    \b
    Examples:
      platform leaderboard results/ --format md
      platform leaderboard results/ other-machine/results/ --format html --out leaderboard.html
      platform leaderboard results/ --format png --out charts/
    """
    from tasklight.bench.aggregate import build_groups
    from tasklight.bench.collect import load_records
    from tasklight.bench.render import to_html, to_json, to_markdown, to_png
    from tasklight.errors import UserError
    from tasklight.results import now

    skipped: list[str] = []

    def warn(message: str) -> None:
        skipped.append(message)
        click.echo(f"Warning: {message}", err=True)

    sources = results or ("results",)
    found = load_records(sources, warn)
    if not found:
        raise UserError(f"no valid results records in {', '.join(sources)} (run platform bench SUITE first)")
    groups = build_groups(found)
    if fmt == "png":
        for path in to_png(groups, out):
            click.echo(f"Wrote {path}")
        return
    if fmt == "md":
        text = to_markdown(groups, len(found))
    elif fmt == "json":
        text = to_json(groups, len(found), skipped, now())
    else:
        text = to_html(groups, len(found), skipped, now())
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot write ({err.strerror})") from None
    click.echo(f"Wrote {path} ({len(groups)} group(s) from {len(found)} record(s))")
