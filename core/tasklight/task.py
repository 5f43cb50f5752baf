"""The Task contract: what a task plugin gives the core.

A task bundles identity (name, version, backbone shape, metric names), data
adapters (a generated ``demo`` source plus readers for real formats), a head, the
mapping from model outputs back to what a user wants, and scoring. The core calls
these methods and never asks which task it is talking to.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tasklight.errors import UserError

if TYPE_CHECKING:
    from tasklight.confidence import Bootstrap, Interval
    from tasklight.data.tokenizer import Tokenizer
    from tasklight.heads import Head
    from tasklight.model import TransformerConfig

Shape = Literal["encoder-decoder", "encoder-only", "decoder-only"]
SHAPES: tuple[str, ...] = ("encoder-decoder", "encoder-only", "decoder-only")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
IGNORE_INDEX = -100
"""A label that adds no loss: PyTorch's ``cross_entropy`` default ``ignore_index``. Lists of
per-position labels (row keys ``labels`` or ``*_labels``) are padded with it."""

Features = dict[str, Any]
"""One model input row: lists of token ids (padded by the collator) and scalars."""

Record = dict[str, Any]
"""One raw record read from a file: field name -> value."""


@dataclass(frozen=True)
class MetricValue:
    """A score and what makes it comparable: the signature of the settings used."""

    value: float
    signature: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """A named metric. ``compute(predictions, references)`` returns a MetricValue."""

    name: str
    higher_is_better: bool
    compute: Callable[[Sequence[Any], Sequence[Any]], MetricValue]
    description: str = ""
    library: str = ""  # the distribution that computes it; its version goes into results
    # Intervals over test examples and paired tests between runs (tasklight.confidence);
    # None: the metric is reported without an interval and `platform compare` cannot test it.
    bootstrap: Bootstrap | None = None


@dataclass(frozen=True)
class Adapter:
    """A file format every task can read: ``read(path)`` yields ``(line_number, record)``."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Path], Iterable[tuple[int, Record]]]
    description: str = ""


@dataclass
class TaskContext:
    """What task methods may consult: the resolved config, the metric registry, the seed,
    and the head's ``hparams`` (what ``head_hparams`` returned for this run's training
    data, or what a checkpoint saved), set before ``encode`` and ``decode`` are called."""

    config: Mapping[str, Any]
    metric: Callable[[str], Metric]
    seed: int = 0
    hparams: Mapping[str, Any] = field(default_factory=dict)


class Task(abc.ABC):
    """Subclass this (one level, no chains) and register an instance in ``register_tasks``.

    Examples are the task's own typed objects (a dataclass is ideal); the core
    passes them back to the task's methods without looking inside.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when scoring or data handling changes
    shape: ClassVar[Shape]
    metrics: ClassVar[tuple[str, ...]]  # metric registry names, primary first
    # Config keys of the task's own with their defaults, and defaults of core keys for this
    # task ("data.max_length": 512). Always applied; --set and platform.toml override them.
    settings: ClassVar[dict[str, Any]] = {}
    # Defaults applied on top of ``settings`` only when the data is the task's generated demo
    # (a small model, a step budget that learns it in a minute): never on real data.
    demo_settings: ClassVar[dict[str, Any]] = {}
    # Defaults for a time budget, on real data from scratch (not with --init): keyed by a
    # --max-time limit ("00:00:05:00"), the entry with the smallest limit that the run's
    # --max-time fits under applies on top of ``settings`` (a smaller model for a short budget).
    budget_settings: ClassVar[dict[str, dict[str, Any]]] = {}
    special_tokens: ClassVar[tuple[str, ...]] = ()  # tokens the tokenizer must reserve
    # File formats of the task's own, read like the generic adapters (files matched by
    # suffix, records through ``from_record``), tried before them and listed with them in
    # the "unknown file format" error.
    adapters: ClassVar[tuple[Adapter, ...]] = ()

    # ---- data ---------------------------------------------------------------------
    @abc.abstractmethod
    def demo(self, split: str, ctx: TaskContext) -> list[Any]:
        """Generated examples for ``split``: deterministic by ``ctx.seed``, offline, learnable in a minute."""

    @abc.abstractmethod
    def from_record(self, record: Record, where: str, ctx: TaskContext) -> Any:
        """One example from a generic record (JSONL/CSV/TSV). Raise UserError naming ``where``."""

    def read_files(self, paths: list[Path], ctx: TaskContext) -> list[Any] | None:
        """Examples from files in a task-specific format, or None to use the generic adapters."""
        return None

    def read_splits(self, path: Path, ctx: TaskContext) -> Mapping[str, list[Any]] | None:
        """Every split of a single file that holds several, by the file's own split names
        (CLINC150's ``data_full.json``: ``{"train": [...], "val": [...], "test": [...]}``),
        or None for a file of one split (the default). Split roles are guessed from the
        names as in a folder; ``data.train|validation|test=NAME`` picks any of them."""
        return None

    def split_files(self, folder: Path, split: str, ctx: TaskContext) -> list[Path] | None:
        """The files of ``split`` inside ``folder`` in a task-specific layout, or None."""
        return None

    def split_names(self, folder: Path, ctx: TaskContext) -> list[str]:
        """Split names present in ``folder``. Default: file names up to their first dot."""
        return sorted({p.name.split(".")[0] for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")})

    def hold_out(self, train: list[Any], fraction: float, ctx: TaskContext) -> tuple[list[Any], list[Any]] | None:
        """(train, validation) where the data has no validation split, or None for the
        default: a seeded random ``fraction`` of the examples. A language model holds out
        the end of its text instead."""
        return None

    @abc.abstractmethod
    def texts(self, example: Any) -> Iterable[str]:
        """The strings of an example that the subword tokenizer is trained on."""

    # ---- model --------------------------------------------------------------------
    def head_hparams(self, train: Sequence[Any], ctx: TaskContext) -> dict[str, Any]:
        """Plain values the head needs, learned from training data (e.g. the label set).

        Saved in checkpoints, so keep them to str/int/float/bool/list/dict.
        """
        return {}

    @abc.abstractmethod
    def build_head(self, model: TransformerConfig, hparams: dict[str, Any], ctx: TaskContext) -> Head:
        """The head module (and its loss) over the backbone."""

    @abc.abstractmethod
    def encode(self, example: Any, tokenizer: Tokenizer, ctx: TaskContext, *, train: bool) -> list[Features]:
        """Model rows for an example (usually one; long QA contexts give several windows)."""

    # ---- prediction and scoring -----------------------------------------------------
    @abc.abstractmethod
    def decode(self, example: Any, outputs: list[Any], tokenizer: Tokenizer, ctx: TaskContext) -> Any:
        """The prediction for an example from the head outputs of its rows."""

    @abc.abstractmethod
    def reference(self, example: Any) -> Any:
        """What the prediction is scored against (None when the example has no reference)."""

    @abc.abstractmethod
    def parse_input(self, item: str | Record, where: str, ctx: TaskContext) -> Any:
        """An example from a ``platform predict`` input: a text line or a JSON object."""

    @abc.abstractmethod
    def to_json(self, example: Any, prediction: Any) -> Record:
        """What ``platform predict`` prints for one input (one JSON object)."""

    def score(self, predictions: Sequence[Any], references: Sequence[Any], ctx: TaskContext) -> dict[str, MetricValue]:
        """Every declared metric. Default: each metric's ``compute`` on the pairs."""
        return {name: ctx.metric(name).compute(predictions, references) for name in self.metrics}

    def intervals(
        self, predictions: Sequence[Any], references: Sequence[Any], ctx: TaskContext, resamples: int
    ) -> dict[str, Interval]:
        """95% bootstrap intervals over the examples, for each declared metric that has a
        ``bootstrap``. Override together with ``score`` when scoring transforms the
        predictions in a way the metrics' own bootstrap would not."""
        found = {}
        for name in self.metrics:
            bootstrap = ctx.metric(name).bootstrap
            interval = bootstrap.interval(predictions, references, resamples) if bootstrap is not None else None
            if interval is not None:
                found[name] = interval
        return found

    def prediction_from_json(self, row: Record, where: str) -> Any:
        """The prediction as ``score`` takes it, from a row of a run's predictions.jsonl (what
        ``to_json`` wrote): ``platform compare`` scores two runs from these. Raise
        UserError naming ``where`` when the row lacks what is needed."""
        raise UserError(f"{where}: task {self.name!r} cannot read its predictions back (it has no prediction_from_json)")

    # ---- helpers for subclasses -----------------------------------------------------
    @staticmethod
    def field(record: Record, name: str, where: str, kind: type = str) -> Any:
        """``record[name]`` checked for presence and type, with a message naming ``where``."""
        if name not in record:
            have = ", ".join(sorted(map(str, record))) or "none"
            raise UserError(f"{where}: missing field {name!r} (fields present: {have})")
        value = record[name]
        if kind is str and not isinstance(value, str):
            raise UserError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
        if kind is str and not value.strip():
            raise UserError(f"{where}: field {name!r} is empty")
        return value
