"""The LightningDataModule: encoded rows in, token-budget batches out."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from tasklight.data.batching import Collator, RowDataset, TokenBudgetSampler
from tasklight.task import Features


class TaskDataModule(pl.LightningDataModule):
    def __init__(
        self,
        train: Sequence[Features],
        validation: Sequence[Features],
        *,
        pad_id: int | None,
        max_tokens: int,
        eval_max_tokens: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.train_rows = train
        self.validation_rows = validation
        self.collate = Collator(pad_id)
        self.max_tokens = max_tokens
        self.eval_max_tokens = eval_max_tokens
        self.seed = seed
        self._resume: tuple[int, int] | None = None  # (epoch, batches of it already trained on)

    def resume_epoch_at(self, epoch: int, batches_done: int) -> None:
        """A checkpoint taken ``batches_done`` batches into ``epoch`` is being resumed: the
        next training iteration continues that epoch instead of replaying its start."""
        self._resume = (epoch, batches_done)

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> DataLoader:
        rank, world = self._rank()
        sampler = TokenBudgetSampler(self.train_rows, self.max_tokens, shuffle=True, seed=self.seed, rank=rank, world_size=world)
        if self._resume is not None:
            sampler.resume_at(*self._resume)
            self._resume = None
        return DataLoader(RowDataset(self.train_rows), batch_sampler=sampler, collate_fn=self.collate)

    def val_dataloader(self) -> DataLoader:
        rank, world = self._rank()
        sampler = TokenBudgetSampler(self.validation_rows, self.eval_max_tokens, shuffle=False, rank=rank, world_size=world)
        return DataLoader(RowDataset(self.validation_rows), batch_sampler=sampler, collate_fn=self.collate)
