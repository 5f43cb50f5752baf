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


def device_options(f: F) -> F:
    """--accelerator and --devices, as Lightning names them (``platform run`` and every
    command that loads a finished run)."""
    f = click.option("--devices", help="Number of devices, a list, or auto.")(f)
    return click.option("--accelerator", help="cpu, gpu, auto ... (Lightning's names; auto: a GPU when there is one).")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output (a JSON list).")(f)
