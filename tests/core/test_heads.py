"""The head protocol's check (``tasklight.check_loss``) and ``tasklight.TokenClassificationHead``."""

from __future__ import annotations

import pytest
import torch

import tasklight
from tasklight import IGNORE_INDEX, TokenClassificationHead, Transformer, TransformerConfig, check_loss
from tasklight.data.batching import Collator
from tasklight.errors import UserError


class ScalarHead(tasklight.Head):
    def loss(self, model, batch):
        return torch.tensor(1.0)


def test_check_loss_passes_a_pair_through():
    loss, tokens = torch.tensor(0.5, requires_grad=True), torch.tensor(7)
    assert check_loss(ScalarHead(), (loss, tokens)) == (loss, tokens)
    assert check_loss(ScalarHead(), [loss, 3])[1] == 3


@pytest.mark.parametrize(
    ("result", "what"),
    [
        (torch.tensor(1.0), "a Tensor"),
        ((torch.tensor(1.0),), "a tuple of 1 items"),
        ((torch.ones(3), 3), "a tensor of shape (3,) as its loss"),
        ((torch.tensor(1), 3), "a tensor of shape () as its loss"),  # an integer tensor cannot train
        ((1.0, 3), "a float as its loss"),
        ((torch.tensor(1.0), "3"), "a str as n_tokens"),
    ],
)
def test_a_wrong_loss_return_is_one_error_naming_the_head(result, what):
    with pytest.raises(UserError) as caught:
        check_loss(ScalarHead(), result)
    assert str(caught.value) == (
        f"head {__name__}.ScalarHead.loss returned {what}; "
        "it must return (loss, n_tokens): a scalar loss tensor and the number of tokens it covers"
    )


def _model() -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=20, shape="encoder-only", d_model=16, n_heads=2, encoder_layers=1, d_ff=32, dropout=0.0, pad_id=0)
    return Transformer(config)


def _batch() -> dict:
    return Collator(pad_id=0)([
        (0, {"input": [2, 7, 8, 9, 3], "labels": [IGNORE_INDEX, 1, IGNORE_INDEX, 2, IGNORE_INDEX], "_first": [1, 3]}),
        (1, {"input": [2, 5, 3], "labels": [IGNORE_INDEX, 0, IGNORE_INDEX], "_first": [1]}),
    ])


def test_token_head_loss_covers_labelled_positions_only():
    model, head = _model(), TokenClassificationHead(16, 3, dropout=0.0)
    batch = _batch()
    loss, tokens = check_loss(head, head.loss(model, batch))
    assert int(tokens) == 3
    logits = head.logits(model, batch["input"]).float()
    expected = torch.nn.functional.cross_entropy(
        torch.stack([logits[0, 1], logits[0, 3], logits[1, 1]]), torch.tensor([1, 2, 0])
    )
    assert torch.allclose(loss, expected)
    # A batch with no label at all: a zero loss that still backpropagates, not cross-entropy's NaN.
    unlabelled = {**batch, "labels": torch.full_like(batch["labels"], IGNORE_INDEX)}
    zero, none = head.loss(model, unlabelled)
    assert float(zero) == 0.0 and int(none) == 0
    zero.backward()  # still a graph


def test_token_head_predicts_a_label_per_real_position_with_the_row_metadata():
    model, head = _model(), TokenClassificationHead(16, 3, dropout=0.0)
    model.eval(), head.eval()
    batch = _batch()
    out = head.predict(model, batch, None)
    assert [len(o["labels"]) for o in out] == [5, 3] and [len(o["probabilities"]) for o in out] == [5, 3]
    assert [o["_first"] for o in out] == [[1, 3], [1]]
    probabilities = head.logits(model, batch["input"]).float().softmax(-1)
    assert out[0]["labels"] == probabilities[0].argmax(-1).tolist()
    assert out[1]["probabilities"] == pytest.approx(probabilities[1, :3].max(-1).values.tolist())
