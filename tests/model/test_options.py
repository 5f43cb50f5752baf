"""Architecture options (``TransformerConfig``): each works on every path, the cached one
included. Exactness against the families that use them is in tests/checkpoints."""

from __future__ import annotations

import pytest
import torch

from tasklight.model import Transformer, TransformerConfig, generate

V, PAD = 29, 0

# One config per family the options serve; every option is set in at least one of them.
OPTIONS = {
    "bert-like": dict(norm_position="post", norm_eps=1e-12, embed_norm=True, final_norm=False, type_vocab_size=2),
    "bart-like": dict(norm_position="post", position_offset=2, embed_norm=True, final_norm=False, lm_bias=True,
                      activation="relu"),
    "marian-like": dict(norm_position="post", positions="sinusoidal", scale_embeddings=True, final_norm=False,
                        activation="silu", lm_bias=True),
    "gpt2-like": dict(activation="gelu_tanh", pad_id=None),
    "llama-like": dict(norm="rmsnorm", norm_eps=1e-6, positions="rotary", rope_theta=500.0, activation="silu",
                       gated_ff=True, n_kv_heads=2, bias=False, tie_embeddings=False, pad_id=None),
}


def model(shape: str, **options: object) -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=V, shape=shape, d_model=32, n_heads=4, encoder_layers=2,
                               decoder_layers=2, d_ff=48, dropout=0.1, max_positions=24, **options)  # type: ignore[arg-type]
    m = Transformer(config).eval()
    with torch.no_grad():  # trained-looking values: biases, norms and the logits bias not at their init
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape))
        if m.lm_bias is not None:
            m.lm_bias.normal_()
    return m


def tokens(B: int, T: int, seed: int) -> torch.Tensor:
    return torch.randint(1, V, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", ["encoder-decoder", "decoder-only"])
@pytest.mark.parametrize("name", list(OPTIONS))
def test_cached_decoding_matches_the_full_pass_with_every_option(name: str, shape: str) -> None:
    """Prefix through the cache, then single tokens: the states of one full pass; and greedy
    and beam search give the same tokens with and without the cache."""
    m = model(shape, **OPTIONS[name])
    src = mask = memory = None
    if shape == "encoder-decoder":
        src = tokens(3, 7, seed=1)
        src[1, 4:] = PAD  # a padded source: the explicit mask says so even without a pad_id
        mask = src != PAD
        memory = m.encode(src, mask)
    tgt = tokens(3, 9, seed=2)
    with torch.no_grad():
        full = m.decode(tgt, memory, mask)
        cache = m.new_cache(3, 9, memory, mask)
        steps = [m.decode(tgt[:, :4], cache=cache)] + [m.decode(tgt[:, t : t + 1], cache=cache) for t in range(4, 9)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-4)

    prefix = torch.full((3, 1), 1) if src is not None else tgt[:, :3]
    for strategy in ("greedy", "beam"):
        runs = [generate(m, prefix, src_ids=src, eos_id=2, max_new_tokens=8, strategy=strategy, beam_size=3,
                         use_cache=use_cache) for use_cache in (True, False)]
        assert runs[0] == runs[1]


def test_each_option_changes_the_outputs() -> None:
    """An option that is set but not applied would leave the outputs as the defaults give them."""
    src = tokens(2, 6, seed=3)
    for option, value in [("norm_position", "post"), ("norm", "rmsnorm"), ("norm_eps", 0.5),
                          ("positions", "sinusoidal"), ("positions", "rotary"), ("position_offset", 2),
                          ("rope_theta", 10.0), ("activation", "relu"), ("activation", "gelu_tanh"),
                          ("gated_ff", True), ("n_kv_heads", 2), ("bias", False), ("embed_norm", True),
                          ("scale_embeddings", True), ("type_vocab_size", 2), ("final_norm", False),
                          ("tie_embeddings", False), ("lm_bias", True)]:
        if option == "rope_theta":
            reference, other = model("encoder-decoder", positions="rotary"), model("encoder-decoder", positions="rotary",
                                                                                  rope_theta=value)
        else:
            reference, other = model("encoder-decoder"), model("encoder-decoder", **{option: value})
        if option == "lm_bias":
            assert other.lm_bias is not None
        with torch.no_grad():
            a, b = reference(src, src), other(src, src)
        assert not torch.allclose(a, b, atol=1e-4), option


def test_parameters_follow_the_options() -> None:
    llama = model("decoder-only", **OPTIONS["llama-like"])
    names = dict(llama.named_parameters())
    assert names["decoder.blocks.0.self_attn.qkv.weight"].shape == (32 + 2 * 2 * 8, 32)  # q + k + v (2 kv heads)
    assert names["decoder.blocks.0.ff.fc.weight"].shape == (2 * 48, 32)  # gate and up, side by side
    assert names["lm_head.weight"].shape == (V, 32) and not any(n.endswith(".bias") for n in names)
    assert "decoder.pos.weight" not in names and "decoder.rope_cos" not in llama.state_dict()  # computed tables
    assert llama.new_cache(2, 5).layers[0].k.shape == (2, 2, 5, 8)  # the cache holds kv heads only
    bert = model("encoder-only", **OPTIONS["bert-like"])
    assert {"encoder.types.weight", "encoder.ln_embed.weight"} <= set(dict(bert.named_parameters()))
    assert "encoder.ln_f.weight" not in dict(bert.named_parameters())
    bart = model("encoder-decoder", **OPTIONS["bart-like"])
    assert bart.encoder.pos.weight.shape == (2 + 24, 32) and bart.state_dict()["lm_bias"].shape == (V,)


def test_explicit_masks() -> None:
    """With no pad_id nothing is masked unless a mask says so; a mask hides what it marks."""
    m = model("encoder-only", pad_id=None, type_vocab_size=2)
    ids = tokens(2, 6, seed=4)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    with torch.no_grad():
        assert torch.equal(m.encode(ids), m.encode(ids, torch.ones_like(mask)))
        masked = m.encode(ids, mask)
        changed = ids.clone()
        changed[1, 4:] = (changed[1, 4:] % (V - 1)) + 1
        torch.testing.assert_close(m.encode(changed, mask)[1, :4], masked[1, :4])
        assert not torch.allclose(m.encode(ids)[1, :4], masked[1, :4], atol=1e-4)
        assert not torch.allclose(m.encode(ids, mask, torch.ones_like(ids)), masked, atol=1e-4)  # token types

    d = model("decoder-only", pad_id=None)
    left = tokens(2, 6, seed=5)
    real = torch.ones(2, 6, dtype=torch.bool)
    real[0, :2] = False  # left padding: two pads before the real tokens of row 0
    with torch.no_grad():
        out = d.decode(left, mask=real)
        other = left.clone()
        other[0, :2] = (other[0, :2] % (V - 1)) + 1
        torch.testing.assert_close(d.decode(other, mask=real)[0, 2:], out[0, 2:])
        assert torch.isfinite(out).all()
        with pytest.raises(ValueError, match="with a cache takes no mask"):
            d.decode(left, mask=real, cache=d.new_cache(2, 6))


@pytest.mark.parametrize("bad, says", [
    (dict(norm="batchnorm"), "norm must be one of layernorm, rmsnorm"),
    (dict(norm_position="sandwich"), "norm_position must be one of pre, post"),
    (dict(positions="alibi"), "positions must be one of learned, sinusoidal, rotary"),
    (dict(activation="tanh"), "activation must be one of gelu, gelu_tanh, relu, silu"),
    (dict(n_kv_heads=3), r"n_heads \(4\) must be a multiple of n_kv_heads \(3\)"),
    (dict(positions="rotary", d_model=36, n_heads=4), "rotary positions need an even head size; got 9"),
    (dict(pad_id=V), r"pad_id \(29\) must be a token id"),
])
def test_bad_options_are_named(bad: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        TransformerConfig(vocab_size=V, **{"d_model": 32, "n_heads": 4, **bad})  # type: ignore[arg-type]
