"""tasklight-sentiment: sentiment classification as a tasklight task plugin.

A complete third-party package: it imports only the public API (``tasklight``),
is found through the ``tasklight`` entry point in its pyproject.toml, and brings its
own demo data, metrics and tests.
"""

from __future__ import annotations

from collections.abc import Callable

import tasklight
from tasklight_sentiment.metrics import METRICS
from tasklight_sentiment.task import SentimentTask

__version__ = "0.1.0"


@tasklight.hookimpl
def register_tasks(register: Callable[[tasklight.Task], None]) -> None:
    register(SentimentTask())


@tasklight.hookimpl
def register_metrics(register: Callable[[tasklight.Metric], None]) -> None:
    for metric in METRICS:
        register(metric)
