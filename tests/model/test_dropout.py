"""tasklight's Dropout: nn.Dropout's behaviour with a mask drawn as integers on CPU."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tasklight.model import Transformer, TransformerConfig
from tasklight.model.dropout import Dropout


def test_training_drops_a_fraction_p_and_scales_the_rest() -> None:
    torch.manual_seed(0)
    x = torch.rand(1000, 1000) + 0.5  # never zero
    for p in (0.1, 0.5, 0.9):
        y = Dropout(p).train()(x)
        dropped = (y == 0).float().mean().item()
        # 10^6 elements: the standard error of the fraction is at most 5e-4.
        assert abs(dropped - p) < 3e-3, (p, dropped)
        kept = y != 0
        torch.testing.assert_close(y[kept], x[kept] / (1 - p))


def test_gradient_flows_through_the_kept_elements_only() -> None:
    x = torch.randn(64, 32, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(1)
    y = Dropout(0.3).train()(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    expected = (y != 0).to(x.dtype) / 0.7
    torch.testing.assert_close(x.grad, expected)

    def same_mask(t: torch.Tensor) -> torch.Tensor:  # reseeded: a fixed linear map, for gradcheck
        torch.manual_seed(1)
        return Dropout(0.3).train()(t)

    assert torch.autograd.gradcheck(same_mask, (x,))


def test_draws_follow_the_seed_and_differ_between_calls() -> None:
    x = torch.ones(100, 100)
    dropout = Dropout(0.5).train()
    torch.manual_seed(7)
    first, second = dropout(x), dropout(x)
    torch.manual_seed(7)
    assert torch.equal(dropout(x), first)
    assert not torch.equal(first, second)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_edge_probabilities_behave_as_nn_dropout(p: float) -> None:
    x = torch.randn(10, 10)
    torch.testing.assert_close(Dropout(p).train()(x), nn.Dropout(p).train()(x))


def test_eval_is_the_identity_and_lower_precision_works() -> None:
    x = torch.randn(8, 8)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    y = Dropout(0.5).train()(x.bfloat16())
    assert y.dtype == torch.bfloat16 and 0 < int((y == 0).sum()) < 64


def test_the_transformer_uses_it_and_keeps_nn_dropout_checkpoints() -> None:
    model = Transformer(TransformerConfig(vocab_size=23, d_model=32, n_heads=4, encoder_layers=1,
                                          decoder_layers=1, d_ff=64, dropout=0.1))
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert dropouts and all(isinstance(m, Dropout) for m in dropouts)
    assert not any("drop" in key for key in model.state_dict())  # no state: checkpoints unchanged
