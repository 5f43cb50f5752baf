"""tasklight: a plugin-based NLP task platform.

This module is the public API that plugins import (``import tasklight``); nothing
deeper is needed to write a task. Heavy parts (torch) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tasklight.errors import UserError
from tasklight.hookspecs import hookimpl
from tasklight.task import (
    IGNORE_INDEX,
    SHAPES,
    SPLITS,
    Adapter,
    Features,
    Metric,
    MetricValue,
    Record,
    Shape,
    Task,
    TaskContext,
)

__version__ = "0.1.0"

# Public names that import torch: resolved lazily so `platform --help` stays fast.
_LAZY = {
    "Head": "tasklight.heads",
    "Seq2SeqHead": "tasklight.heads",
    "ClassificationHead": "tasklight.heads",
    "SpanHead": "tasklight.heads",
    "CausalLMHead": "tasklight.heads",
    "TokenClassificationHead": "tasklight.heads",
    "check_loss": "tasklight.heads",
    "Decoding": "tasklight.heads",
    "PredictContext": "tasklight.heads",
    "real_tokens": "tasklight.heads",
    "HFHead": "tasklight.heads",
    "encode_input": "tasklight.heads",
    "ModelInput": "tasklight.data.tokenizer",
    "Tokenizer": "tasklight.data.tokenizer",
    "TransformerConfig": "tasklight.model",
    "Transformer": "tasklight.model",
    "generate": "tasklight.model",
    "read_lines": "tasklight.formats",
    "read_text": "tasklight.formats",
    "read_jsonl": "tasklight.formats",
    "load_json": "tasklight.formats",
    "read_parallel": "tasklight.formats",
    "aligned_splits": "tasklight.formats",
    "read_squad": "tasklight.formats",
    "Bootstrap": "tasklight.confidence",
    "ExampleBootstrap": "tasklight.confidence",
    "Interval": "tasklight.confidence",
    "Paired": "tasklight.confidence",
    "Statistics": "tasklight.confidence",
    "mean_statistics": "tasklight.confidence",
    "load": "tasklight.api",
    "run": "tasklight.api",
    "Model": "tasklight.api",
}

__all__ = [
    "IGNORE_INDEX", "SHAPES", "SPLITS", "Adapter", "Features", "Metric", "MetricValue", "Record", "Shape", "Task",
    "TaskContext", "UserError", "hookimpl", "__version__", *_LAZY,
]

if TYPE_CHECKING:
    from tasklight.api import Model, load, run
    from tasklight.confidence import Bootstrap, ExampleBootstrap, Interval, Paired, Statistics, mean_statistics
    from tasklight.data.tokenizer import ModelInput, Tokenizer
    from tasklight.formats import aligned_splits, load_json, read_jsonl, read_lines, read_parallel, read_squad, read_text
    from tasklight.heads import (
        CausalLMHead, ClassificationHead, Decoding, Head, PredictContext, Seq2SeqHead, SpanHead, TokenClassificationHead,
        HFHead, check_loss, encode_input, real_tokens,
    )
    from tasklight.model import Transformer, TransformerConfig, generate


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tasklight' has no attribute {name!r}")
