"""tasklight's summarization task: a plugin like any other, registered through the
``tasklight`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable

import tasklight
from tasklight_summarization.metrics import METRICS
from tasklight_summarization.task import SummarizationTask

__version__ = "0.1.0"


@tasklight.hookimpl
def register_tasks(register: Callable[[tasklight.Task], None]) -> None:
    register(SummarizationTask())


@tasklight.hookimpl
def register_metrics(register: Callable[[tasklight.Metric], None]) -> None:
    for metric in METRICS:
        register(metric)
