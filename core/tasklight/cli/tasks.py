"""``platform tasks``: the tasks plugins provide."""

from __future__ import annotations

import click

from tasklight.cli.listing import Column, show_rows
from tasklight.cli.options import json_option
from tasklight.plugins import get_platform

COLUMNS = (
    Column("name", "task"), Column("version", "version"), Column("shape", "shape"),
    Column("metrics", "metrics (primary first)"), Column("plugin", "plugin"),
    Column("description", "description", identifier=False),
)


@click.command("tasks")
@json_option
def command(as_json: bool) -> None:
    """List every registered task with its shape, metrics and plugin.

    On a terminal a table; in a pipe one line per task, tab-separated: name, version,
    shape, metrics (comma-separated, primary first), plugin, description.
    """
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
    show_rows(rows, COLUMNS, title="tasks", as_json=as_json)
