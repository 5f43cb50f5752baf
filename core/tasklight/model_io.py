"""Reading checkpoints safely (tensors and plain values only, never pickled code) and
refusing, with one line that names both, a checkpoint that does not fit the run."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from tasklight.errors import UserError


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint loaded with ``weights_only=True``: an object that would run code
    when unpickled is refused, and nothing of it runs."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "unsafe content"
        raise UserError(f"{path}: refused to load: the checkpoint holds objects that are not plain weights ({first})") from None
    except FileNotFoundError:
        raise UserError(f"{path}: no such checkpoint") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable checkpoint ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(data, dict) or "state_dict" not in data:
        raise UserError(f"{path}: not a tasklight checkpoint (no state_dict)")
    return data


def check_checkpoint(path: Path, checkpoint: Mapping[str, Any], task_name: str, model: Mapping[str, Any] | None = None) -> None:
    """Refuse a checkpoint of another task, or (when ``model`` is given) of another
    model shape, naming what the checkpoint has and what this run wants."""
    saved = checkpoint.get("hyper_parameters", {})
    if saved.get("task_name") != task_name:
        raise UserError(f"{path}: checkpoint of task {saved.get('task_name')!r}, not {task_name!r}")
    if model is None:
        return
    old = saved.get("model", {})
    differs = [f"{key} {old.get(key)!r} in the checkpoint, {value!r} now" for key, value in model.items() if old.get(key) != value]
    if differs:
        raise UserError(
            f"{path}: the checkpoint's model does not match this run's ({'; '.join(differs)}); "
            "resume with the settings the run started with"
        )


def load_state(system: torch.nn.Module, checkpoint: dict[str, Any], path: Path) -> None:
    try:
        system.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise UserError(f"{path}: weights do not fit the model ({str(err).splitlines()[0]})") from None
