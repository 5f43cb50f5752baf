"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def set_option(f: F) -> F:
    return click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE",
        help="Override a config key (repeatable), e.g. --set trainer.lr=3e-4 --set data.src=en.",
    )(f)


def data_option(default: str | None) -> Callable[[F], F]:
    return click.option(
        "--data", default=default, metavar="SOURCE", show_default=default is not None,
        help="demo, a file, FILE,FILE (line-aligned), a folder of split files, or hf:NAME[:CONFIG].",
    )
