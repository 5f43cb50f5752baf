"""How list commands print: a table on a terminal, plain rows in a pipe, JSON on request.

Identifiers (task, plugin, metric names) are never cut: in a pipe each row is one line
of tab-separated fields, so ``platform tasks | grep summarization`` and ``cut -f1`` work;
on a terminal the table grows wider than the window rather than shorten a name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Column:
    key: str  # the row's field
    header: str
    identifier: bool = True  # names: never wrapped or cut; False: free text, folded to fit


def show_rows(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, title: str, as_json: bool) -> None:
    """Print ``rows`` (JSON-ready dicts) as JSON, plain rows or a table."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2))
    elif sys.stdout.isatty():
        print_table(table_of(rows, columns, title), Console())
    else:
        for row in rows:
            click.echo("\t".join(_plain(row[c.key], "," if c.identifier else "; ") for c in columns))


def table_of(rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str) -> Table:
    table = Table(title=title)
    cells = [[_cell(row[c.key]) for c in columns] for row in rows]
    for i, column in enumerate(columns):
        if column.identifier:
            # As wide as its longest name (and its header): print_table widens the table to fit.
            width = max(cell_len(line) for text in [column.header, *(row[i] for row in cells)] for line in text.splitlines())
            table.add_column(column.header, no_wrap=True, min_width=width)
        else:
            table.add_column(column.header, overflow="fold")
    for row in cells:
        table.add_row(*row)
    return table


def print_table(table: Table, console: Console) -> None:
    """Print at the console's width, or wider when the names would not fit whole."""
    needed = console.measure(table, options=console.options.update_width(1 << 16)).minimum
    console.width = max(console.width, needed)  # the terminal wraps the long lines; no name is cut
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\n".join(map(str, value)) or "-"  # one name a line: narrow, and never cut
    return str(value) if value not in (None, "") else "-"


def _plain(value: Any, sep: str) -> str:
    text = sep.join(map(str, value)) if isinstance(value, (list, tuple)) else str(value if value is not None else "")
    return " ".join(text.split()) or "-"  # one field: no tab or newline inside
