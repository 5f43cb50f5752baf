"""Token-budget batching with length bucketing, and the collator."""

from __future__ import annotations

import random

import torch

from tasklight.data.batching import Collator, TokenBudgetSampler, batch_cost


def rows(n: int = 500, seed: int = 0) -> list[dict]:
    """Sentence pairs whose target length follows the source length, as in translation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(1, 40)
        out.append({"src": [5] * length, "tgt": [6] * max(1, length + rng.randint(-3, 3))})
    return out


def test_every_batch_fits_the_budget_and_every_row_comes_once():
    data = rows()
    sampler = TokenBudgetSampler(data, max_tokens=400, shuffle=True, seed=1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(data)))
    assert all(batch_cost([data[i] for i in b]) <= 400 for b in batches)


def test_bucketing_keeps_padding_low():
    data = rows(2000)
    real = sum(len(r["src"]) + len(r["tgt"]) for r in data)

    def efficiency(bucket_batches: int) -> float:
        sampler = TokenBudgetSampler(data, 600, shuffle=True, seed=0, bucket_batches=bucket_batches)
        return real / sum(batch_cost([data[i] for i in b]) for b in sampler)

    assert efficiency(100) > 0.9
    assert efficiency(1) < 0.7  # unsorted batches: about a third is padding


def test_order_is_seeded_and_changes_by_epoch():
    data = rows()
    a = TokenBudgetSampler(data, 400, shuffle=True, seed=3)
    b = TokenBudgetSampler(data, 400, shuffle=True, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_ranks_get_disjoint_shares_of_equal_length():
    data = rows()
    shares = [list(TokenBudgetSampler(data, 400, shuffle=True, seed=0, rank=r, world_size=2)) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1])
    seen = [i for share in shares for b in share for i in b]
    assert set(seen) == set(range(len(data)))


def test_evaluation_batches_are_sorted_by_length():
    data = rows()
    batches = list(TokenBudgetSampler(data, 400, shuffle=False))
    lengths = [len(data[i]["src"]) + len(data[i]["tgt"]) for b in batches for i in b]
    assert lengths == sorted(lengths)


def test_collator_pads_lists_stacks_scalars_and_carries_metadata():
    batch = Collator(pad_id=0)([(7, {"src": [4, 5, 6], "label": 2, "_offsets": [(0, 1)]}), (9, {"src": [8], "label": 1, "_offsets": []})])
    assert batch["row"].tolist() == [7, 9]
    assert batch["src"].tolist() == [[4, 5, 6], [8, 0, 0]] and batch["src"].dtype == torch.long
    assert batch["label"].tolist() == [2, 1]
    assert batch["_offsets"] == [[(0, 1)], []]
