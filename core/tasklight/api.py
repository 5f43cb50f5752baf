"""The Python API: ``tasklight.load(run_dir)`` and ``tasklight.run(task, ...)``.

Thin layers over :mod:`tasklight.training` and :mod:`tasklight.inference`, exactly as
the ``platform`` commands are::

    import tasklight

    record = tasklight.run(TASK, out="runs/demo", set={"trainer.threads": 1})
    print(record["primary_metric"], record["metrics"])

    model = tasklight.load("runs/demo")
    model.predict("some input text")               # one input  -> one record (dict)
    model.predict(["a text", {"field": "..."}])    # a list     -> a list of records

``predict`` takes what ``platform predict`` takes (a text, or a JSON object with the
task's fields) and returns the objects ``platform predict`` prints.

``run`` mirrors ``platform run``: keyword arguments are its options with ``_`` for
``-`` (``max_steps=``, ``max_time=``, ``seed=``, ``out=``, ``overwrite=``, ``quiet=``,
``accelerator=``, ``init=`` (a checkpoint directory or ``"hf:ORG/NAME"``) ...; ``config=`` for ``--config``), and ``set=`` is a mapping of
``--set`` keys to values: ``set={"trainer.lr": 5e-4, "model.preset": "tiny"}``, given to
the config as typed values (a value of the wrong type is a ``UserError`` naming its key).

The heavy modules (torch, Lightning) are imported inside the functions that need them,
so that ``import tasklight`` stays light for plugins and for ``platform --help``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tasklight.errors import UserError

Input = str | dict[str, Any]


class Model:
    """A trained run, loaded once, ready to predict. Safe to share between threads
    (calls are serialised: one model, one forward pass at a time)."""

    def __init__(self, loaded: Any) -> None:
        self._loaded = loaded  # a tasklight.inference.LoadedRun
        self._lock = threading.Lock()

    @property
    def task(self) -> str:
        """The name of the run's task."""
        return str(self._loaded.task.name)

    @property
    def run_dir(self) -> Path:
        return Path(self._loaded.run_dir)

    def __repr__(self) -> str:
        return f"<tasklight.Model task={self.task!r} run_dir={str(self.run_dir)!r}>"

    def predict(self, inputs: Input | Sequence[Input], *, seed: int | None = None) -> Any:
        """One input (a text or a dict) gives one record; a list gives a list of records."""
        if isinstance(inputs, (str, dict)):
            return self.predict_many([inputs], seed=seed)[0]
        if not isinstance(inputs, Sequence):
            raise UserError(f"predict expects a text, a dict or a list of them, not {type(inputs).__name__}")
        return self.predict_many(list(inputs), seed=seed)

    def predict_many(self, items: Sequence[Input], *, seed: int | None = None, where: str = "input") -> list[dict[str, Any]]:
        """Records for a list of inputs, predicted together (batched by token budget)."""
        from tasklight.inference import predict  # torch: see the module docstring

        items = list(items)
        if not items:
            return []
        self.check(items, where)
        with self._lock:
            return predict(self._loaded, items, where, seed=seed)

    def check(self, items: Sequence[Any], where: str = "input") -> None:
        """Raise a UserError naming the first input the task cannot read."""
        task, ctx = self._loaded.task, self._loaded.ctx
        for i, item in enumerate(items):
            if not isinstance(item, (str, dict)):
                raise UserError(f"{where}:{i + 1}: expected a text or a JSON object, got {_json_type(item)}")
            task.parse_input(item, f"{where}:{i + 1}", ctx)

    def info(self) -> dict[str, Any]:
        """Task, model size, the run's test metrics and the versions in use."""
        from tasklight.plugins import get_platform
        from tasklight.record import library_versions_of, model_summary

        loaded = self._loaded
        task = loaded.task
        record = _read_record(self.run_dir)
        return {
            "task": {"name": task.name, "version": task.version, "shape": task.shape},
            "run_dir": str(self.run_dir),
            "model": {**model_summary(loaded.system), "preset": loaded.config["model.preset"]},
            "metrics": record.get("metrics", {}),
            "primary_metric": record.get("primary_metric", task.metrics[0]),
            "dataset": record.get("dataset", {}),
            "decoding": loaded.config.section("decoding"),
            "versions": library_versions_of(task, get_platform()),
            "trained_with": record.get("versions", {}),
        }


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _read_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable results record ({err})") from None
    return record if isinstance(record, dict) else {}


def load(
    run_dir: str | os.PathLike[str], *, set: Mapping[str, Any] | None = None, accelerator: str | None = None,
    devices: str | int | None = None,
) -> Model:
    """Load a finished run (``platform run ... --out DIR``) for prediction.

    ``set`` overrides config keys as ``platform predict --set`` does, e.g.
    ``set={"decoding.beam_size": 8}``; ``accelerator`` and ``devices`` choose the device
    as ``platform predict --accelerator/--devices`` do (default: a GPU when there is one).
    """
    from tasklight.inference import load_run  # torch: see the module docstring

    return Model(load_run(
        Path(run_dir), settings=_settings(set), accelerator=accelerator, devices=None if devices is None else str(devices),
    ))


_OPTION_ALIASES = {"config": "config_files"}


def run(task: str, data: str | os.PathLike[str] = "demo", *, set: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """Train, validate and test ``task`` like ``platform run``; return the results record."""
    from tasklight.training import RunOptions  # torch and Lightning: see the module docstring
    from tasklight.training import run as run_task

    fields = {f.name for f in dataclasses.fields(RunOptions)} - {"task", "data", "overrides", "settings"}
    accepted = sorted((fields - {"config_files"}) | {*_OPTION_ALIASES})
    values: dict[str, Any] = {}
    for name, value in options.items():
        field = _OPTION_ALIASES.get(name, name)
        if field not in fields:
            close = difflib.get_close_matches(name, accepted, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; options: {', '.join(accepted)}"
            raise TypeError(f"tasklight.run() got an unknown option {name!r}{hint}")
        if field == "config_files":
            value = [os.fspath(value)] if isinstance(value, (str, os.PathLike)) else [os.fspath(v) for v in value]
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        values[field] = value
    result = run_task(RunOptions(task=task, data=os.fspath(data), settings=_settings(set), **values))
    return result.record


def _settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``set=`` as typed config values: paths become strings and tuples lists, as in TOML."""
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise UserError(f"set= expects a mapping of config keys to values, got {type(settings).__name__}")
    return {str(key): _plain(value) for key, value in settings.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return list(value)
    return value
