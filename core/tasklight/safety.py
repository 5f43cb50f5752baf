"""Nothing is lost: atomic checkpoint writes, a save on Ctrl-C, a stop on NaN loss."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from tasklight.errors import UserError


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file and renames it into place, so a kill
    mid-write never leaves a truncated checkpoint that a later --resume would load."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        super().save_checkpoint(checkpoint, tmp, storage_options)
        os.replace(tmp, target)


class SaveOnInterrupt(pl.Callback):
    """Ctrl-C (SIGINT) saves last.ckpt before the run stops, so --resume loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.global_step > 0:
            trainer.save_checkpoint(self.path)


class FiniteLossGuard(pl.Callback):
    """Stops the run at the first NaN or infinite training loss, before any checkpoint
    of the broken weights is written (this callback runs before ModelCheckpoint)."""

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(
                f"training loss became {float(loss)} at step {trainer.global_step}; stopped. "
                "The last good checkpoint is kept; try a lower --set trainer.lr or a stronger trainer.gradient_clip_val"
            )


class NonFiniteLoss(UserError):
    """The loss diverged: a user-facing stop, not a crash."""
