"""``platform tasks``: the tasks plugins provide."""

from __future__ import annotations

import json

import click


@click.command("tasks")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> None:
    """List every registered task with its shape, metrics and plugin."""
    from tasklight.plugins import get_platform

    platform = get_platform()
    rows = [
        {
            "name": name,
            "description": task.description,
            "version": task.version,
            "shape": task.shape,
            "metrics": list(task.metrics),
            "plugin": platform.tasks.owner(name),
        }
        for name, task in platform.tasks.items()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tasks")
    for column in ("task", "version", "shape", "metrics (primary first)", "plugin", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["version"], row["shape"], ", ".join(row["metrics"]), row["plugin"], row["description"])
    Console().print(table)
