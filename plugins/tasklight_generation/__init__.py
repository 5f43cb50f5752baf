"""tasklight's generation task: decoder-only language modelling and text continuation,
a plugin like any other, registered through the ``tasklight`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable

import tasklight
from tasklight_generation.metrics import METRICS
from tasklight_generation.task import GenerationTask

__version__ = "0.1.0"


@tasklight.hookimpl
def register_tasks(register: Callable[[tasklight.Task], None]) -> None:
    register(GenerationTask())


@tasklight.hookimpl
def register_metrics(register: Callable[[tasklight.Metric], None]) -> None:
    for metric in METRICS:
        register(metric)
