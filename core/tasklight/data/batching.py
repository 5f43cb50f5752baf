"""Token-budget batching with length bucketing, the padding collator, and truncation.

Sorting by length inside large shuffled buckets keeps padding low while batches
stay random; the budget counts padded tokens, so every batch costs about the same.

Row keys follow three conventions (docs/plugins.md, "Batches"): a key starting with
``_`` is metadata (passed through as a list, never padded, cut or counted); a list under
``labels`` or a key ending in ``_labels`` holds per-position labels (padded with
``IGNORE_INDEX``, not counted in the token budget); every other list holds token ids
(padded with the tokenizer's pad id).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import Sampler

from tasklight.task import IGNORE_INDEX, Features


def is_labels(key: str) -> bool:
    """Per-position labels: padded with IGNORE_INDEX, outside the token budget."""
    return key == "labels" or key.endswith("_labels")


def is_types(key: str) -> bool:
    """Token types (segments) of another field's ids: padded with 0, outside the token budget."""
    return key.endswith("_types")


def _is_tokens(key: str, value: object) -> bool:
    return isinstance(value, list) and not key.startswith("_") and not is_labels(key) and not is_types(key)


def row_cost(features: Features) -> int:
    """Tokens of a row across its sequence fields (source + target, say)."""
    return sum(len(v) for k, v in features.items() if _is_tokens(k, v))


def batch_cost(rows: Sequence[Features]) -> int:
    """Padded tokens a batch of rows occupies: rows x longest of each field."""
    longest: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            if _is_tokens(key, value):
                longest[key] = max(longest.get(key, 0), len(value))
    return len(rows) * sum(longest.values())


def truncate(row: Features, limit: int) -> bool:
    """Cut every list of ``row`` longer than ``limit`` to its first ``limit - 1`` items and its
    last (the end token: "a b c </s>" gives "a b </s>"), in place; True when anything was cut.
    Lists of one length are cut at the same positions, so per-position labels stay aligned
    with their tokens. Metadata (``_`` keys) is never cut."""
    cut = False
    for key, value in row.items():
        if isinstance(value, list) and not key.startswith("_") and len(value) > limit:
            row[key] = value[: limit - 1] + value[-1:]
            cut = True
    return cut


def budget_batches(rows: Sequence[Features], order: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Cut ``order`` (already sorted by length) into batches within ``max_tokens``."""
    batches: list[list[int]] = []
    current: list[int] = []
    longest: dict[str, int] = {}
    for index in order:
        grown = dict(longest)
        for key, value in rows[index].items():
            if _is_tokens(key, value):
                grown[key] = max(grown.get(key, 0), len(value))
        if current and (len(current) + 1) * sum(grown.values()) > max_tokens:
            batches.append(current)
            current, grown = [], {k: len(v) for k, v in rows[index].items() if _is_tokens(k, v)}
        current.append(index)
        longest = grown
    if current:
        batches.append(current)
    return batches


class TokenBudgetSampler(Sampler[list[int]]):
    """Yields batches of row indices. Training: shuffled buckets, sorted inside, batches
    shuffled; evaluation: sorted by length once. Each rank takes every world_size-th
    batch of the same seeded list, and all ranks get the same number of batches."""

    def __init__(
        self,
        rows: Sequence[Features],
        max_tokens: int,
        *,
        shuffle: bool,
        seed: int = 0,
        bucket_batches: int = 100,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.rows = rows
        self.lengths = [row_cost(r) for r in rows]
        self.max_tokens = max_tokens
        self.shuffle = shuffle
        self.seed = seed
        self.bucket_batches = bucket_batches
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._fixed = None if shuffle else self._make(random.Random(seed))
        self._epoch_batches: tuple[int, list[list[int]]] | None = None  # (epoch, its batches)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _make(self, rng: random.Random) -> list[list[int]]:
        indices = list(range(len(self.rows)))
        if not self.shuffle:
            indices.sort(key=lambda i: self.lengths[i])
            batches = budget_batches(self.rows, indices, self.max_tokens)
        else:
            rng.shuffle(indices)
            # A bucket holds about `bucket_batches` batches' worth of rows.
            mean = max(1, sum(self.lengths) // max(1, len(self.lengths)))
            size = max(1, self.bucket_batches * self.max_tokens // mean)
            batches = []
            for start in range(0, len(indices), size):
                bucket = sorted(indices[start : start + size], key=lambda i: self.lengths[i])
                batches.extend(budget_batches(self.rows, bucket, self.max_tokens))
            rng.shuffle(batches)
        if self.world_size > 1:
            per_rank = -(-len(batches) // self.world_size)
            batches = (batches * 2)[: per_rank * self.world_size] if batches else batches
        return batches

    def _batches(self) -> list[list[int]]:
        if self._fixed is not None:
            all_batches = self._fixed
        else:
            # Made once per epoch: len() and iteration (both called by the loop) share them.
            if self._epoch_batches is None or self._epoch_batches[0] != self.epoch:
                made = self._make(random.Random(self.seed * 1_000_003 + self.epoch))
                self._epoch_batches = (self.epoch, made)
            all_batches = self._epoch_batches[1]
        return all_batches[self.rank :: self.world_size]

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """The next iteration continues ``epoch`` after its first ``batches_done`` batches:
        a resumed run picks up its interrupted epoch instead of replaying it. len() is unchanged."""
        self.epoch = epoch
        self._skip = batches_done

    def __iter__(self) -> Iterator[list[int]]:
        skip, self._skip = getattr(self, "_skip", 0), 0
        return iter(self._batches()[skip:])

    def __len__(self) -> int:
        return len(self._batches())


class Collator:
    """Pads list fields into (B, T) long tensors, with ``pad_id`` (token ids) or IGNORE_INDEX
    (``labels``, ``*_labels``), and gives each its mask; stacks ints and floats. Fields whose
    name starts with ``_`` are metadata and ride along as Python lists.

    A list field ``key`` comes with ``key_mask`` (B, T) bool, True = a real token: heads
    mask with it, so a vocabulary without a padding token (``pad_id`` None: GPT-2, Llama)
    needs none invented; its padding positions hold id 0 and are never read.

    ``row`` (each row's index in the dataset) always comes along, so evaluation
    can put sorted batches back in order.
    """

    def __init__(self, pad_id: int | None) -> None:
        self.pad_id = pad_id

    def __call__(self, items: Sequence[tuple[int, Features]]) -> dict[str, Any]:
        batch: dict[str, Any] = {"row": torch.tensor([i for i, _ in items], dtype=torch.long)}
        rows = [f for _, f in items]
        fill = 0 if self.pad_id is None else self.pad_id
        for key in rows[0]:
            values = [r[key] for r in rows]
            first = values[0]
            if key.startswith("_"):
                batch[key] = values
            elif isinstance(first, list):
                width = max(len(v) for v in values)
                value = IGNORE_INDEX if is_labels(key) else 0 if is_types(key) else fill
                out = torch.full((len(values), width), value, dtype=torch.long)
                mask = torch.zeros((len(values), width), dtype=torch.bool)
                for i, v in enumerate(values):
                    out[i, : len(v)] = torch.as_tensor(v, dtype=torch.long)
                    mask[i, : len(v)] = True
                batch[key] = out
                batch[f"{key}_mask"] = mask
            elif isinstance(first, bool) or isinstance(first, int):
                batch[key] = torch.tensor(values, dtype=torch.long)
            elif isinstance(first, float):
                batch[key] = torch.tensor(values, dtype=torch.float)
            else:
                batch[key] = values  # anything else rides along as a list
        return batch


class RowDataset(torch.utils.data.Dataset):
    """Rows with their indices (the collator needs both)."""

    def __init__(self, rows: Sequence[Features]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[int, Features]:
        return index, self.rows[index]
