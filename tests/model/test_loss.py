"""The LM heads' losses: cross-entropy over the real target positions only, value and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tasklight.heads import CausalLMHead, Seq2SeqHead
from tasklight.model import Transformer, TransformerConfig

PAD, BOS, EOS, V = 0, 1, 2, 53


def model(shape: str = "encoder-decoder") -> Transformer:
    torch.manual_seed(0)
    return Transformer(TransformerConfig(
        vocab_size=V, shape=shape, d_model=32, n_heads=4, encoder_layers=1, decoder_layers=2, d_ff=64,
        dropout=0.0, max_positions=32, pad_id=PAD,
    ))


@pytest.mark.parametrize("shape", ["encoder-decoder", "decoder-only"])
def test_heads_train_the_same_as_the_plain_loss(shape: str) -> None:
    """One full loss + backward through a head: the same loss and parameter gradients as the
    reference (logits of real positions, F.cross_entropy with smoothing)."""
    m = model(shape)
    g = torch.Generator().manual_seed(1)
    tgt = torch.randint(3, V, (4, 9), generator=g)
    tgt[:, 0] = BOS
    tgt[1, 6:] = PAD
    if shape == "encoder-decoder":
        src = torch.randint(3, V, (4, 7), generator=g)
        src[2, 5:] = PAD
        head, batch = Seq2SeqHead(label_smoothing=0.1), {"src": src, "tgt": tgt}
        hidden = m.decode(tgt[:, :-1], m.encode(src), src != PAD)
    else:
        head, batch = CausalLMHead(label_smoothing=0.1), {"input": tgt}
        hidden = m.decode(tgt[:, :-1])
    targets = tgt[:, 1:]
    real = targets != PAD
    reference = F.cross_entropy(m.lm_logits(hidden[real]), targets[real], label_smoothing=0.1)
    expected = torch.autograd.grad(reference, list(m.parameters()), allow_unused=True)

    loss, tokens = head.loss(m, batch)
    got = torch.autograd.grad(loss, list(m.parameters()), allow_unused=True)
    assert int(tokens) == int(real.sum()) == 4 * 8 - 3
    torch.testing.assert_close(loss, reference, atol=1e-6, rtol=1e-5)
    for g_, e in zip(got, expected):
        if e is None:
            assert g_ is None
        else:
            torch.testing.assert_close(g_, e, atol=1e-6, rtol=1e-4)
