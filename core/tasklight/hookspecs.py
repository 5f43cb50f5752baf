"""Every hook a tasklight plugin can implement.

Hooks are register-callback style (as in ``llm`` and ``datasette``): the core owns
the registries, so it can refuse clashes and knows which plugin gave what.
Implementations may accept fewer arguments than a spec lists; arguments are only
ever added to these specs, never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from tasklight.task import Adapter, Metric, Task

hookspec = pluggy.HookspecMarker("tasklight")
hookimpl = pluggy.HookimplMarker("tasklight")


@hookspec
def register_tasks(register: Callable[[Task], None]) -> None:
    """Called once when plugins load. Call ``register(task)`` for each task you provide.

    A name that another plugin already registered is reported and skipped.

    Example::

        @tasklight.hookimpl
        def register_tasks(register):
            register(SentimentTask())
    """


@hookspec
def register_adapters(register: Callable[[Adapter], None]) -> None:
    """Called once when plugins load. Register file formats that every task can read.

    An adapter maps a file to ``(line_number, record)`` pairs; tasks turn records
    into examples with ``Task.from_record``. A format that only one task reads belongs
    in that task's ``Task.adapters`` instead.

    Example::

        @tasklight.hookimpl
        def register_adapters(register):
            register(tasklight.Adapter("parquet", (".parquet",), read_parquet))
    """


@hookspec
def register_metrics(register: Callable[[Metric], None]) -> None:
    """Called once when plugins load. Register named metrics with their direction.

    Example::

        @tasklight.hookimpl
        def register_metrics(register):
            register(tasklight.Metric("comet", higher_is_better=True, compute=comet_score))
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Called when the ``platform`` CLI starts. Add click commands to ``cli``.

    Example::

        @tasklight.hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
    """


@hookspec
def register_callbacks(task: Task, config: Mapping[str, Any]) -> list[Any] | None:
    """Called when a run builds its Trainer. Return Lightning callbacks to add (or None).

    Example::

        @tasklight.hookimpl
        def register_callbacks(task, config):
            return [lightning.pytorch.callbacks.EarlyStopping("val/loss")]
    """


@hookspec
def on_results(record: dict[str, Any]) -> None:
    """Called with each finished results record (the content of ``metrics.json``).

    Example::

        @tasklight.hookimpl
        def on_results(record):
            requests.post(MY_DASHBOARD, json=record)
    """
