"""Reading checkpoints safely: tensors and plain values only, never pickled code."""

from __future__ import annotations

import pickle
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


def load_state(system: torch.nn.Module, checkpoint: dict[str, Any], path: Path) -> None:
    try:
        system.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise UserError(f"{path}: weights do not fit the model ({str(err).splitlines()[0]})") from None


def load_weights(system: Any, path: Path, task: Any) -> None:
    """Load the weights of a checkpoint of ``task`` into ``system``."""
    checkpoint = read_checkpoint(path)
    saved = checkpoint.get("hyper_parameters", {}).get("task_name")
    if saved != task.name:
        raise UserError(f"{path}: checkpoint of task {saved!r}, not {task.name!r}")
    load_state(system, checkpoint, path)
