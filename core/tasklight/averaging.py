"""Checkpoint averaging (``trainer.average_last = N``): the mean of the weights at the run's
last N validations, tested instead of the best single checkpoint when it validates better.

Averaging the last few checkpoints is a standard step of machine-translation recipes
(fairseq's ``scripts/average_checkpoints.py``, the Transformer paper's last 5 or 20): late
in training the weights wander around a good region, and their mean sits nearer its middle
than any one of them. The snapshots are kept in memory, on the CPU, one per validation
during ``fit``; a resumed run averages only what it validated itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor


class WeightAverager(pl.Callback):
    """Keeps the weights of the last ``n`` validations (``snapshots``, oldest first)."""

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"averaging needs at least 2 checkpoints, got {n}")
        self.snapshots: deque[dict[str, Tensor]] = deque(maxlen=n)
        self.steps: deque[int] = deque(maxlen=n)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Only the validations of fit: the final one (of the last weights) is taken by the caller.
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking:
            self.take(pl_module, trainer.global_step)

    def take(self, module: torch.nn.Module, step: int) -> None:
        """Snapshot ``module``'s weights at ``step`` (once per step)."""
        if self.steps and self.steps[-1] == step:
            return
        self.snapshots.append({k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()})
        self.steps.append(step)


def average(snapshots: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """The element-wise mean of floating-point tensors; anything else (integer buffers) is the
    latest snapshot's."""
    latest = snapshots[-1]
    mean: dict[str, Tensor] = {}
    for name, value in latest.items():
        if value.is_floating_point():
            total = torch.zeros_like(value, dtype=torch.float64)
            for snapshot in snapshots:
                total += snapshot[name]
            mean[name] = (total / len(snapshots)).to(value.dtype)
        else:
            mean[name] = value
    return mean
