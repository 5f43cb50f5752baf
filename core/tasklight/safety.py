"""Nothing is lost: atomic checkpoint writes, a save on Ctrl-C, a stop on NaN loss."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import Checkpoint

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


class PeriodicCheckpoint(Checkpoint):
    """``last.ckpt`` every ``every`` steps, at the end of each epoch and of training.

    A step that also validates is saved after its validation: the checkpoint then holds
    that validation's outcome (the best score so far), and a run killed during validation
    resumes before it and validates again, instead of skipping it. Being a ``Checkpoint``,
    Lightning calls it after the other callbacks, the best-checkpoint one included.
    """

    def __init__(self, path: Path, every: int) -> None:
        self.path = path
        self.every = every
        self.pending = False
        self.saved_step = -1

    def _save(self, trainer: pl.Trainer) -> None:
        if trainer.global_step != self.saved_step:
            trainer.save_checkpoint(self.path)
            self.saved_step = trainer.global_step
        self.pending = False

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.pending:  # the validation this save waited for did not come
            self._save(trainer)
        if trainer.global_step % self.every or trainer.global_step == self.saved_step:
            return
        every = trainer.val_check_batch
        validates = every not in (None, math.inf) and (trainer.fit_loop.epoch_loop.total_batch_idx + 1) % int(every) == 0
        if validates:
            self.pending = True
        else:
            self._save(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.pending and not trainer.sanity_checking:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)


class SaveOnInterrupt(pl.Callback):
    """Ctrl-C (SIGINT) saves last.ckpt before the run stops, so --resume loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.global_step > 0:
            trainer.save_checkpoint(self.path)


class ExactResume(pl.Callback):
    """Makes ``--resume`` continue exactly where the checkpoint left off.

    Dropout's randomness is drawn from a generator seeded by (seed, step, rank) at each
    step, so a resumed run draws what the uninterrupted run drew at the same step, whatever
    else consumed random numbers in between (data-loader iterators, validation). Its state
    (the position inside the current epoch) goes into every checkpoint, and a resumed epoch
    skips the batches that were already trained on instead of replaying them.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.epoch_start_step = 0
        self.trainer: pl.Trainer | None = None
        self.restored: dict[str, int] | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.trainer = trainer

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning does not call on_train_epoch_start for an epoch resumed mid-way.
        restored, self.restored = self.restored, None
        done = restored["batches_done"] if restored else 0
        self.epoch_start_step = trainer.global_step - done // trainer.accumulate_grad_batches

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.epoch_start_step = trainer.global_step

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        micro = batch_idx % trainer.accumulate_grad_batches
        step_seed = ((self.seed * 1_000_003 + trainer.global_step) * 64 + micro) * 4096 + trainer.global_rank
        torch.manual_seed(step_seed % 2**63)

    def state_dict(self) -> dict[str, int]:
        trainer = self.trainer
        if trainer is None:
            return {}
        done = (trainer.global_step - self.epoch_start_step) * trainer.accumulate_grad_batches
        if done >= trainer.num_training_batches:  # saved at the end of an epoch: resume starts the next
            return {"epoch": trainer.current_epoch + 1, "batches_done": 0}
        return {"epoch": trainer.current_epoch, "batches_done": done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Called while Lightning restores the checkpoint, before it makes the data loaders.
        self.restored = {k: int(v) for k, v in state_dict.items()} if state_dict else None
        resume_epoch_at = getattr(self.trainer and self.trainer.datamodule, "resume_epoch_at", None)
        if self.restored and resume_epoch_at is not None:
            resume_epoch_at(self.restored["epoch"], self.restored["batches_done"])


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
