"""Greedy decoding's pick: the chunked argmax of logit columns and the bf16 screen, both exact."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from tasklight.model import Transformer, TransformerConfig, generate
from tasklight.model import argmax as argmax_module
from tasklight.model.argmax import SCREEN_MIN_VOCAB, best_in_columns, row_norm_max, screened_best


def fp32_best(weight: Tensor, hidden: Tensor, banned: int | None = None) -> Tensor:
    """The reference: fp32 scores as sums of products (the kernel the screen rescores with, so
    equal rows score equally), then ``argmax``, the first of equals."""
    scores = (weight[None] * hidden[:, None]).sum(-1)  # (N, V)
    if banned is not None:
        scores[:, banned] = float("-inf")
    return scores.argmax(dim=1)


def screen(weight: Tensor, hidden: Tensor, banned: int | None = None) -> Tensor:
    best = screened_best(weight, weight.to(torch.bfloat16), row_norm_max(weight), hidden, banned)
    assert best is not None, "the screen declined finite scores"
    return best


@pytest.mark.parametrize("width", [300, 512, 8000])
def test_best_in_columns_is_argmax_first_of_equals(width: int) -> None:
    """The chunked pick (best chunk of 64 columns, then the best column in it) must be
    ``argmax``: the first of equal maxima, across chunks and within one, -inf rows included."""
    logits = torch.randn(6, width, generator=torch.Generator().manual_seed(width))
    logits[1, [70, 5, 200]] = 9.0  # equal maxima in different chunks: the first, 5
    logits[2, [130, 129]] = 9.0  # within one chunk: 129
    logits[3] = float("-inf")  # everything ruled out: 0, as argmax says
    logits[4, :64] = float("-inf")  # a whole chunk ruled out
    columns = logits.t().contiguous()  # (V, N), as greedy decoding scores
    assert torch.equal(best_in_columns(columns), logits.argmax(dim=1))
    assert best_in_columns(columns)[1:4].tolist() == [5, 129, 0]


@pytest.mark.parametrize("vocab", [512, 1000])  # whole chunks of 64, and a padded last chunk
def test_screen_is_the_fp32_argmax_ties_and_bans_included(vocab: int) -> None:
    g = torch.Generator().manual_seed(vocab)
    weight = torch.randn(vocab, 48, generator=g)
    hidden = torch.randn(40, 48, generator=g)
    assert torch.equal(screen(weight, hidden), fp32_best(weight, hidden))
    # Equal rows score equally: the first of them wins, as with argmax, in one chunk or two.
    best = int(fp32_best(weight, hidden[:1]))
    weight[[best + 1 if best + 1 < vocab else best - 1, vocab - 1, 3]] = weight[best].clone()
    expected = fp32_best(weight, hidden)
    assert torch.equal(screen(weight, hidden), expected)
    assert int(expected[0]) == min(best, 3)
    # A banned token is never picked, even where it is the best: the next best is.
    banned = int(expected[0])
    picked = screen(weight, hidden, banned=banned)
    assert torch.equal(picked, fp32_best(weight, hidden, banned=banned))
    assert banned not in picked.tolist()


def near_tie(seed: int) -> tuple[Tensor, Tensor, int]:
    """A weight and one state where the bf16 product ranks two tokens the wrong way round:
    token 1's fp32 score beats token 0's by less than bf16 can tell, and the bf16 scores say
    the opposite. Returns (weight, hidden, the fp32 winner)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(10_000):
        weight = torch.randn(300, 32, generator=g) * 0.1
        hidden = torch.randn(1, 32, generator=g)
        weight[0] = hidden[0] / hidden.norm()  # far ahead of the random rows
        weight[1] = weight[0] + 1e-3 * torch.randn(32, generator=g)
        exact = (weight[:2] * hidden).sum(-1)
        approx = (weight[:2].to(torch.bfloat16) @ hidden.to(torch.bfloat16).t()).float().squeeze(1)
        if exact[1] > exact[0] and approx[1] < approx[0]:
            return weight, hidden, 1
    raise AssertionError("no near tie found")


def test_screen_rescores_a_near_tie_that_bf16_gets_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slack must cover bf16's rounding: without it the screen keeps only the bf16 winner."""
    weight, hidden, winner = near_tie(0)
    assert int(fp32_best(weight, hidden)) == winner
    assert int(screen(weight, hidden)) == winner
    monkeypatch.setattr(argmax_module, "_RELATIVE_SLACK", 0.0)
    assert int(screen(weight, hidden)) != winner  # the test can tell a missing slack


def test_screen_declines_non_finite_scores() -> None:
    weight = torch.randn(300, 16)
    hidden = torch.randn(2, 16)
    hidden[1, 3] = float("nan")
    assert screened_best(weight, weight.to(torch.bfloat16), row_norm_max(weight), hidden) is None


def model(vocab: int = 300) -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=vocab, d_model=32, n_heads=2, encoder_layers=1, decoder_layers=1, d_ff=64)
    return Transformer(config).eval()


def test_lm_argmax_is_the_argmax_of_lm_logits_either_way() -> None:
    m = model()
    with torch.no_grad():
        m.embed.weight.mul_(20)  # peaked scores, far from ties between fp32 kernels
        hidden = torch.randn(9, 32)
        expected = m.lm_logits(hidden).argmax(dim=1)
        banned = int(expected[0])
        expected_banned = m.lm_logits(hidden).index_fill(1, torch.tensor([banned]), float("-inf")).argmax(dim=1)
        for screen_ in (True, False):
            assert torch.equal(m.lm_argmax(hidden, screen=screen_), expected)
            assert torch.equal(m.lm_argmax(hidden, banned, screen=screen_), expected_banned)
    assert torch.equal(m.lm_argmax(hidden), expected)  # with autograd the automatic choice is fp32
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        m.lm_argmax(hidden[None])


def test_screen_follows_the_weights_when_they_change() -> None:
    m = model()
    hidden = torch.randn(4, 32)
    with torch.no_grad():
        for token, scale in ((17, 10), (250, 20)):  # the kept bf16 copy must follow each update
            m.embed.weight[token] = scale * hidden.mean(0)
            assert m.lm_argmax(hidden, screen=True).eq(token).all()


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_decoding_is_the_same_with_the_screen(monkeypatch: pytest.MonkeyPatch, use_cache: bool) -> None:
    """generate() screens wherever bf16 is native, from SCREEN_MIN_VOCAB tokens up; here it is
    made to think bf16 native and not, on any CPU, and must decode the same tokens."""
    m = model(vocab=SCREEN_MIN_VOCAB)
    with torch.no_grad():
        m.embed.weight.normal_(0.0, 0.5)  # peaked, non-degenerate continuations
    src = torch.randint(3, SCREEN_MIN_VOCAB, (6, 9), generator=torch.Generator().manual_seed(1))
    src[2, 5:] = 0
    prefix = torch.full((6, 1), 1)
    calls = spy_on_the_screen(monkeypatch)
    outputs = {}
    for native in (False, True):
        monkeypatch.setattr("tasklight.model.transformer.bf16_is_native", lambda device_type, native=native: native)
        outputs[native] = generate(m, prefix, src_ids=src, eos_id=2, max_new_tokens=12, min_new_tokens=3, use_cache=use_cache)
        assert (len(calls) >= 12) == native  # the screen ran at every step, and only where native
    assert outputs[True] == outputs[False]
    assert all(len(row) >= 3 for row in outputs[True])


def test_small_vocabularies_are_not_screened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tasklight.model.transformer.bf16_is_native", lambda device_type: True)
    calls = spy_on_the_screen(monkeypatch)
    with torch.no_grad():
        model(vocab=SCREEN_MIN_VOCAB - 1).lm_argmax(torch.randn(3, 32))
        assert not calls
        model(vocab=SCREEN_MIN_VOCAB).lm_argmax(torch.randn(3, 32))
        assert calls


def spy_on_the_screen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at every call of the screen that ``Transformer`` makes."""
    calls: list[int] = []

    def counted(*args: object, **kwargs: object) -> Tensor | None:
        calls.append(1)
        return screened_best(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("tasklight.model.transformer.screened_best", counted)
    return calls


@pytest.mark.slow  # 500 random cases: about 15 s
def test_screen_matches_the_fp32_argmax_on_random_near_ties() -> None:
    """Random widths, sizes and scales, with rows planted next to each row's winner (near ties
    that bf16 cannot tell apart) and sometimes a banned token: the screen is the fp32 argmax."""
    for seed in range(500):
        g = torch.Generator().manual_seed(seed)
        vocab, width, rows = (int(torch.randint(low, high, (1,), generator=g)) for low, high in ((256, 3000), (4, 300), (1, 40)))
        scale = float(10 ** torch.empty(1).uniform_(-3, 3, generator=g))
        weight = torch.randn(vocab, width, generator=g) * scale
        hidden = torch.randn(rows, width, generator=g)
        for winner in fp32_best(weight, hidden)[:5].tolist():
            weight[int(torch.randint(0, vocab, (1,), generator=g))] = weight[winner] + 1e-4 * scale * torch.randn(width, generator=g)
        banned = int(torch.randint(0, vocab, (1,), generator=g)) if seed % 3 == 0 else None
        assert torch.equal(screen(weight, hidden, banned), fp32_best(weight, hidden, banned)), f"seed {seed}"
