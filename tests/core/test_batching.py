"""Token-budget batching with length bucketing, and the collator."""

from __future__ import annotations

import random

import torch

from tasklight.data.batching import Collator, TokenBudgetSampler, batch_cost, row_cost, truncate


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


def test_per_position_labels_are_padded_with_the_ignore_index():
    batch = Collator(pad_id=0)([
        (0, {"input": [2, 7, 8, 3], "labels": [-100, 1, 0, -100], "span_labels": [4, 4, 4, 4]}),
        (1, {"input": [2, 9, 3], "labels": [-100, 2, -100], "span_labels": [5, 5, 5]}),
    ])
    assert batch["input"].tolist() == [[2, 7, 8, 3], [2, 9, 3, 0]]
    assert batch["labels"].tolist() == [[-100, 1, 0, -100], [-100, 2, -100, -100]]
    assert batch["span_labels"].tolist() == [[4, 4, 4, 4], [5, 5, 5, -100]]


def test_label_lists_are_not_counted_in_the_token_budget():
    row = {"input": [1] * 10, "labels": [0] * 10, "_first": [1, 2, 3]}
    assert row_cost(row) == 10
    assert batch_cost([row, {"input": [1] * 4, "labels": [0] * 4}]) == 20


def test_truncation_keeps_the_end_token_and_aligned_lists_aligned():
    row = {
        "input": [2, 10, 11, 12, 13, 14, 3],
        "labels": [-100, 0, 1, 1, 0, 2, -100],
        "tgt": [2, 5, 3],
        "_first": [1, 2, 3, 4, 5, 6, 7, 8],
    }
    assert truncate(row, 5) is True
    assert row["input"] == [2, 10, 11, 12, 3]
    assert row["labels"] == [-100, 0, 1, 1, -100]  # each label still beside its token
    assert row["tgt"] == [2, 5, 3] and row["_first"] == [1, 2, 3, 4, 5, 6, 7, 8]  # short lists and metadata stay
    assert truncate(row, 5) is False


def test_encoding_counts_each_truncated_example_once():
    from tasklight.evaluation import encode_examples

    class Words:
        def encode(self, example, tokenizer, ctx, *, train):
            return [{"input": [2, *example, 3], "labels": [-100, *example, -100]} for _ in range(2)]  # two rows each

    ctx = type("Ctx", (), {"config": {"data.max_length": 4}})()
    encoded = encode_examples(Words(), [[5, 6], [5, 6, 7, 8], [9]], None, ctx, train=True)
    assert encoded.truncated == 1
    assert [r["input"] for r in encoded.rows[2:4]] == [[2, 5, 6, 3]] * 2
    assert [r["labels"] for r in encoded.rows[2:4]] == [[-100, 5, 6, -100]] * 2
