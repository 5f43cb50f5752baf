"""``platform plugins``: loaded plugins, their hooks and load errors."""

from __future__ import annotations

import json

import click


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True, help="Include tasklight's own default plugins.")
def command(as_json: bool, show_all: bool) -> None:
    """List plugins: name, version, distribution, hooks and errors."""
    from tasklight.plugins import get_platform

    platform = get_platform()
    platform.tasks  # registering tasks may reveal clashes: show them too
    infos = [i for i in platform.plugins.values() if show_all or not i.builtin]
    rows = [i.as_dict() for i in sorted(infos, key=lambda i: i.name)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="plugins")
    for column in ("plugin", "version", "distribution", "hooks"):
        table.add_column(column, no_wrap=True)  # names stay whole; one hook per line
    table.add_column("errors", overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["version"], row["distribution"], "\n".join(row["hooks"]), "; ".join(row["errors"]) or "-")
    Console().print(table)
