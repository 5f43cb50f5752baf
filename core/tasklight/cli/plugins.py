"""``platform plugins``: loaded plugins, their hooks and load errors."""

from __future__ import annotations

import click

from tasklight.cli.listing import Column, show_rows
from tasklight.cli.options import json_option
from tasklight.plugins import get_platform

COLUMNS = (
    Column("name", "plugin"), Column("version", "version"), Column("distribution", "distribution"),
    Column("hooks", "hooks"), Column("errors", "errors", identifier=False),
)


@click.command("plugins")
@json_option
@click.option("--all", "show_all", is_flag=True, help="Include tasklight's own default plugins.")
def command(as_json: bool, show_all: bool) -> None:
    """List plugins: name, version, distribution, hooks and errors.

    On a terminal a table; in a pipe one line per plugin, tab-separated: name, version,
    distribution, hooks (comma-separated), errors ('; '-separated, or -).
    """
    platform = get_platform()
    platform.tasks  # registering tasks may reveal clashes: show them too
    infos = [i for i in platform.plugins.values() if show_all or not i.builtin]
    rows = [i.as_dict() for i in sorted(infos, key=lambda i: i.name)]
    show_rows(rows, COLUMNS, title="plugins", as_json=as_json)
