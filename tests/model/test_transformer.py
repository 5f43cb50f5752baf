"""Transformer: shapes, parameter layout, masking, caching."""

from __future__ import annotations

import pytest
import torch

from tasklight.model import DecoderCache, Transformer, TransformerConfig
from tasklight.model import generate
from tasklight.model.transformer import FeedForward, _dropout, _key_padding_mask

PAD = 0
V = 23


def tiny(shape: str = "encoder-decoder", **overrides: object) -> Transformer:
    torch.manual_seed(0)
    kwargs: dict = dict(
        vocab_size=V,
        shape=shape,
        d_model=32,
        n_heads=4,
        encoder_layers=2,
        decoder_layers=2,
        d_ff=64,
        dropout=0.1,
        max_positions=32,
        pad_id=PAD,
    )
    kwargs.update(overrides)
    return Transformer(TransformerConfig(**kwargs)).eval()


def tokens(B: int, T: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, V, (B, T), generator=g)  # never PAD


@pytest.mark.parametrize("shape", ["encoder-decoder", "encoder-only", "decoder-only"])
def test_output_shapes(shape: str) -> None:
    model = tiny(shape)
    src, tgt = tokens(3, 7), tokens(3, 5, seed=2)
    if shape != "decoder-only":
        assert model.encode(src).shape == (3, 7, 32)
    if shape == "encoder-decoder":
        hidden = model.decode(tgt, model.encode(src), src != PAD)
        assert hidden.shape == (3, 5, 32)
        assert model(src, tgt).shape == (3, 5, V)
    if shape == "decoder-only":
        hidden = model.decode(tgt)
        assert model(tgt_ids=tgt).shape == (3, 5, V)
    if shape == "encoder-only":
        hidden = model.encode(src)
        assert model(src).shape == (3, 7, V)
    assert model.lm_logits(hidden).shape == (*hidden.shape[:2], V)


def test_parameter_layout_per_shape() -> None:
    names = {s: [n for n, _ in tiny(s).named_parameters()] for s in
             ("encoder-decoder", "encoder-only", "decoder-only")}
    ed, eo, do = names["encoder-decoder"], names["encoder-only"], names["decoder-only"]
    assert any(n.startswith("encoder.") for n in ed) and any("cross_attn" in n for n in ed)
    assert not any(n.startswith("decoder.") for n in eo)
    assert not any("cross_attn" in n or "ln_cross" in n for n in do)
    assert not any(n.startswith("encoder.") for n in do)
    assert tiny("encoder-only").decoder is None and tiny("decoder-only").encoder is None
    # Fused projections with biases (export-friendly layout).
    assert "decoder.blocks.0.self_attn.qkv.bias" in ed
    assert "decoder.blocks.0.cross_attn.q.weight" in ed and "decoder.blocks.0.cross_attn.kv.bias" in ed
    with pytest.raises(RuntimeError):
        tiny("decoder-only").encode(tokens(1, 3))
    with pytest.raises(RuntimeError):
        tiny("encoder-only").decode(tokens(1, 3))


def test_shape_validation() -> None:
    with pytest.raises(ValueError, match="encoder-decoder.*encoder-only.*decoder-only"):
        TransformerConfig(vocab_size=10, shape="decoder-encoder")
    with pytest.raises(ValueError):
        TransformerConfig(vocab_size=10, d_model=30, n_heads=4)


def test_init_tied_embedding_and_parameter_count() -> None:
    model = tiny()
    assert torch.all(model.embed.weight[PAD] == 0)
    for name, p in model.named_parameters():
        if name.endswith(".bias") and "ln_" not in name:
            assert torch.all(p == 0), name
    hidden = torch.randn(2, 3, 32)
    torch.testing.assert_close(model.lm_logits(hidden), hidden @ model.embed.weight.T)
    unique = {id(p): p.numel() for p in model.parameters()}
    assert model.num_parameters() == sum(unique.values())
    assert not any(p.shape == (V, 32) for n, p in model.named_parameters() if n != "embed.weight")


def test_encoder_padding_invariance() -> None:
    model = tiny("encoder-only")
    src = tokens(2, 7)
    padded = torch.cat([src, torch.full((2, 5), PAD)], dim=1)
    torch.testing.assert_close(model.encode(padded)[:, :7], model.encode(src), atol=1e-5, rtol=0)


def test_decoder_logits_invariant_to_source_padding() -> None:
    model = tiny()
    src, tgt = tokens(2, 6), tokens(2, 4, seed=3)
    padded = torch.cat([src, torch.full((2, 4), PAD)], dim=1)
    plain = model(src, tgt)
    torch.testing.assert_close(model(padded, tgt), plain, atol=1e-5, rtol=0)
    # ...and the mask really matters: without it the pads leak into cross-attention.
    leaked = model.lm_logits(model.decode(tgt, model.encode(padded)))
    assert not torch.allclose(leaked, plain, atol=1e-5)


@pytest.mark.parametrize("shape", ["encoder-decoder", "decoder-only"])
def test_decoder_is_causal(shape: str) -> None:
    model = tiny(shape)
    src, tgt = tokens(2, 5), tokens(2, 6, seed=4)
    changed = tgt.clone()
    changed[:, 3] = (changed[:, 3] % (V - 1)) + 1  # a different non-pad token
    run = (lambda t: model(src, t)) if shape == "encoder-decoder" else (lambda t: model(tgt_ids=t))
    a, b = run(tgt), run(changed)
    torch.testing.assert_close(a[:, :3], b[:, :3], atol=1e-6, rtol=0)
    assert not torch.allclose(a[:, 3:], b[:, 3:], atol=1e-4)


def test_encoder_is_bidirectional() -> None:
    model = tiny("encoder-only")
    src = tokens(1, 6)
    changed = src.clone()
    changed[0, 5] = (changed[0, 5] % (V - 1)) + 1
    assert not torch.allclose(model.encode(src)[:, 0], model.encode(changed)[:, 0], atol=1e-5)


def test_no_nan_with_padded_batches() -> None:
    model = tiny()
    src = tokens(3, 6)
    src[0, 3:] = PAD
    src[1, :] = PAD  # an all-padding source must not poison anything with NaN
    tgt = tokens(3, 5, seed=5)
    tgt[2, 2:] = PAD
    for mode in (model.eval, model.train):
        mode()
        memory = model.encode(src)
        logits = model.lm_logits(model.decode(tgt, memory, src != PAD))
        assert torch.isfinite(memory).all() and torch.isfinite(logits).all()
    model.eval()
    cache = model.new_cache(3, 8, model.encode(src), src != PAD)
    for t in range(tgt.size(1)):
        assert torch.isfinite(model.decode(tgt[:, t : t + 1], cache=cache)).all()
    # Some SDPA kernels (e.g. CUDA) return NaN for a query with no visible key while the CPU
    # one returns zeros, so also check the mask itself never hides every key of a row.
    mask = _key_padding_mask(src != PAD)
    assert mask is not None and mask.any(dim=-1).all()
    assert mask[0, 0, 0].tolist() == [True] * 3 + [False] * 3
    assert _key_padding_mask(torch.ones(2, 4, dtype=torch.bool)) is None


def test_dropout_only_in_training() -> None:
    model = tiny()
    src, tgt = tokens(2, 5), tokens(2, 4, seed=6)
    assert torch.equal(model(src, tgt), model(src, tgt))
    model.train()
    assert not torch.equal(model(src, tgt), model(src, tgt))


def test_cpu_dropout_drops_p_of_the_values_everywhere_and_keeps_the_expectation() -> None:
    """The CPU mask is cut from 16-bit pieces of 64-bit draws: every piece must be uniform
    (a draw with its sign bit fixed would keep every fourth value), kept values are scaled
    by 1 / (1 - p'), p' = p rounded to 1/65536, and the gradient is the mask."""
    x = torch.ones(250, 401, requires_grad=True)  # 100,250 values, not a multiple of 4
    torch.manual_seed(0)
    y = _dropout(x, 0.3, training=True)
    dropped = y == 0
    assert abs(dropped.float().mean().item() - 0.3) < 0.006  # 4 standard deviations
    by_piece = dropped.flatten()[:100248].view(-1, 4).float().mean(0)  # each 16-bit piece of a draw
    assert ((by_piece - 0.3).abs() < 0.012).all(), by_piece
    kept_value = 65536 / (65536 - round(0.3 * 65536))
    assert torch.equal(y[~dropped], torch.full_like(y[~dropped], kept_value))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())
    torch.manual_seed(0)
    assert torch.equal(_dropout(x, 0.3, training=True), y)  # the seed decides the mask
    assert _dropout(x, 0.3, training=False) is x and _dropout(x, 0.0, training=True) is x


def test_word_dropout_drops_whole_tokens_in_training_only() -> None:
    """Each token's embedding reaches the blocks whole (times 1 / (1 - p)) or not at all; in
    eval mode the model is the same model without word dropout."""
    plain, model = tiny("encoder-only", dropout=0.0), tiny("encoder-only", dropout=0.0, word_dropout=0.5)
    src = tokens(4, 16)
    assert torch.equal(model.encode(src), plain.encode(src))  # same seed, same weights
    seen: list[torch.Tensor] = []
    model.encoder.blocks[0].register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    model.train()
    torch.manual_seed(3)
    model.encode(src)
    tokens_only = seen[-1] - model.encoder.pos.weight[:16]  # (B, T, C): each token's embedding, kept or not
    dropped = tokens_only.abs().amax(-1) < 1e-6  # (B, T)
    assert 0.3 < dropped.float().mean() < 0.7
    embedded = model.embed(src)
    assert torch.allclose(tokens_only[~dropped], 2 * embedded[~dropped], atol=1e-6)
    assert not torch.equal(model.encode(src), model.encode(src))


@pytest.mark.parametrize("autograd", [True, False], ids=["autograd", "inference"])
@pytest.mark.parametrize("shape", ["encoder-decoder", "decoder-only"])
def test_cached_decode_matches_full_recompute(shape: str, autograd: bool) -> None:
    """Prefill, offset chunks and single tokens through the cache give the states of one full
    pass, with autograd and without (decoding runs without)."""
    with torch.set_grad_enabled(autograd):
        _cached_decode_matches_full_recompute(shape)


def with_trained_vectors(model: Transformer) -> Transformer:
    """Fresh models have zero biases and unit LayerNorms; give every 1-d parameter other values
    so that a path that drops or misplaces one computes something else."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
    return model


def _cached_decode_matches_full_recompute(shape: str) -> None:
    model = with_trained_vectors(tiny(shape))
    src = tokens(3, 6)
    src[1, 3:] = PAD
    tgt = tokens(3, 9, seed=7)
    memory, mask = (model.encode(src), src != PAD) if shape == "encoder-decoder" else (None, None)
    with torch.enable_grad():  # the reference: the plain path, every position computed
        reference_memory = model.encode(src) if shape == "encoder-decoder" else None
        full = model.decode(tgt, reference_memory, mask).detach()  # (B, T, C)

    cache = model.new_cache(3, 9, memory, mask)
    assert isinstance(cache, DecoderCache)
    # Prefill from empty (causal square), one chunk after a non-empty cache (offset mask),
    # then single tokens.
    chunks = [(0, 3), (3, 6), (6, 7), (7, 8), (8, 9)]
    for start, end in chunks:
        step = model.decode(tgt[:, start:end], cache=cache)
        assert cache.length == end
        torch.testing.assert_close(step, full[:, start:end], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError):  # the buffer is full
        model.decode(tgt[:, :1], cache=cache)


def test_cache_reorder_selects_rows() -> None:
    model = tiny()
    src = tokens(3, 6)
    src[2, 3:] = PAD
    tgt = tokens(3, 5, seed=8)
    memory, mask = model.encode(src), src != PAD
    cache = model.new_cache(3, 5, memory, mask)
    model.decode(tgt[:, :3], cache=cache)
    index = torch.tensor([2, 2, 0])  # repeat one row, drop another (beam search / finished rows)
    cache.reorder(index)
    assert cache.batch_size == 3 and cache.cross_mask is not None
    assert torch.equal(cache.cross_mask[:, 0, 0], mask[index])
    step = model.decode(tgt[index, 3:5], cache=cache)
    full = model.decode(tgt[index], memory[index], mask[index])
    torch.testing.assert_close(step, full[:, 3:5], atol=1e-5, rtol=1e-4)


def test_positions_beyond_max_positions_raise() -> None:
    model = tiny("decoder-only", max_positions=8)
    with pytest.raises(ValueError, match="max_positions"):
        model.decode(tokens(1, 9))
    with pytest.raises(ValueError):
        model.new_cache(1, 9)


def test_cache_reorder_within_examples_leaves_cross_attention_alone() -> None:
    """Beams of one example trading places (same_memory=True): the cross-attention K/V are not
    copied, and decoding continues exactly as after a full reorder."""
    model = tiny()
    src = tokens(2, 6)
    src[1, 4:] = PAD
    beams = torch.tensor([0, 0, 1, 1])  # two beams per example
    tgt = tokens(4, 5, seed=9)
    memory, mask = model.encode(src), src != PAD
    full_cache = model.new_cache(2, 5, memory, mask)
    fast_cache = model.new_cache(2, 5, memory, mask)
    for cache in (full_cache, fast_cache):
        cache.reorder(beams)
        model.decode(tgt[:, :3], cache=cache)
    cross_before = [layer.cross_kv[0].data_ptr() for layer in fast_cache.layers if layer.cross_kv]
    assert len(cross_before) == 2
    swap = torch.tensor([1, 1, 3, 2])  # beam 1 of example 0 twice, example 1's beams swapped
    full_cache.reorder(swap)
    fast_cache.reorder(swap, same_memory=True)
    assert [layer.cross_kv[0].data_ptr() for layer in fast_cache.layers if layer.cross_kv] == cross_before
    fast = model.decode(tgt[swap, 3:5], cache=fast_cache)
    torch.testing.assert_close(fast, model.decode(tgt[swap, 3:5], cache=full_cache), atol=0, rtol=0)
    with pytest.raises(ValueError, match="same_memory"):
        fast_cache.reorder(torch.tensor([0, 1]), same_memory=True)


@torch.no_grad()  # as decoding runs (with autograd, cache buffers join the graph: no in place)
def test_cache_reorder_in_place_copies_only_moved_rows() -> None:
    """When every row that is read keeps its contents (index[index] == index), as beam search
    arranges it, rows are overwritten in place: no second buffer, same result as a copy."""
    model = tiny()
    src = tokens(2, 6)
    memory, mask = model.encode(src), src != PAD
    tgt = tokens(4, 5, seed=10)
    caches = [model.new_cache(4, 5, memory.repeat_interleave(2, 0), mask.repeat_interleave(2, 0))
              for _ in range(2)]
    for cache in caches:
        model.decode(tgt[:, :3], cache=cache)
    in_place, copied = caches
    buffers = [layer.k.data_ptr() for layer in in_place.layers]
    index = torch.tensor([0, 0, 2, 2])  # rows 1 and 3 take their neighbours' contents
    in_place.reorder(index, same_memory=True)
    copied.reorder(index)
    assert [layer.k.data_ptr() for layer in in_place.layers] == buffers
    step = model.decode(tgt[index, 3:5], cache=in_place)
    torch.testing.assert_close(step, model.decode(tgt[index, 3:5], cache=copied), atol=0, rtol=0)
    swap = torch.tensor([1, 0, 2, 3])  # row 0 reads row 1, which is itself overwritten: copy
    in_place.reorder(swap, same_memory=True)
    assert [layer.k.data_ptr() for layer in in_place.layers] != buffers


def test_cache_with_beams_keeps_one_memory_row_per_example() -> None:
    """beams=K: K consecutive rows share one example's cross-attention K/V (stored once), and
    decode exactly as a cache with the memory repeated K times; whole examples can leave."""
    model = tiny()
    src = tokens(3, 6)
    src[1, 4:] = PAD
    memory, mask = model.encode(src), src != PAD
    tgt = tokens(6, 5, seed=11)
    shared = model.new_cache(6, 5, memory, mask, beams=2)
    repeated = model.new_cache(6, 5, memory.repeat_interleave(2, 0), mask.repeat_interleave(2, 0))
    assert shared.layers[0].cross_kv is not None and shared.layers[0].cross_kv[0].size(0) == 3
    for cache in (shared, repeated):
        model.decode(tgt[:, :2], cache=cache)
    keep = torch.tensor([4, 5, 0, 1])  # example 2 then example 0; example 1 is done
    shared.reorder(keep)
    repeated.reorder(keep)
    assert shared.layers[0].cross_kv[0].size(0) == 2 and shared.batch_size == 4
    assert shared.cross_mask is not None
    assert torch.equal(shared.cross_mask[:, 0, 0], mask[torch.tensor([2, 0])])
    got = model.decode(tgt[keep, 2:4], cache=shared)
    torch.testing.assert_close(got, model.decode(tgt[keep, 2:4], cache=repeated), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="multiple of beams"):
        model.new_cache(5, 5, memory, mask, beams=2)


@pytest.mark.parametrize("shape", ["encoder-decoder", "decoder-only"])
def test_one_definition_of_each_block_serves_every_path(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The full forward, cached greedy and cached beam search all run the blocks' own code:
    change what one block computes and every path's output changes with it."""
    model = tiny(shape)
    with torch.no_grad():  # weights large enough that each row decodes a varied sequence
        for p in model.parameters():
            p.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(p.numel()))
    src = tokens(3, 6) if shape == "encoder-decoder" else None
    prefix = torch.full((3, 1), 1) if shape == "encoder-decoder" else tokens(3, 2, seed=12)
    tgt = tokens(3, 5, seed=13)

    def outputs() -> tuple[torch.Tensor, list[list[int]], list[list[int]]]:
        with torch.no_grad():
            full = model(src, tgt) if shape == "encoder-decoder" else model(tgt_ids=tgt)
            greedy = generate(model, prefix, src_ids=src, eos_id=2, max_new_tokens=8, min_new_tokens=8)
            beam = generate(model, prefix, src_ids=src, eos_id=2, max_new_tokens=8, min_new_tokens=8,
                            strategy="beam", beam_size=3)
        return full, greedy, beam

    before = outputs()
    plain_forward = FeedForward.forward
    monkeypatch.setattr(FeedForward, "forward", lambda self, x: 3.0 * plain_forward(self, x))
    after = outputs()
    assert not torch.allclose(before[0], after[0])
    assert before[1] != after[1], "cached greedy decoding did not run FeedForward.forward"
    assert before[2] != after[2], "cached beam search did not run FeedForward.forward"
