"""The intent head: ``tasklight.ClassificationHead`` plus the label list it was trained on.

Rows carry their label as an index into that list (``IntentTask.encode`` reads it from
``ctx.hparams["labels"]``), ``tasklight.IGNORE_INDEX`` for a label never seen in training
(a validation label CLINC150 or ATIS hold out of train): such rows add no loss, and a batch
of only such rows gives a zero loss rather than cross-entropy's NaN. Imported only when a
head is built: it needs torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import tasklight


class IntentHead(tasklight.Head):
    """Batch: ``input`` (B,T) token ids and ``label`` (B,) label indices.
    Predicts per row ``{"probabilities": [...], "labels": [...]}`` in label order."""

    def __init__(
        self, d_model: int, labels: list[str], dropout: float = 0.1, label_smoothing: float = 0.0, pooling: str = "mean"
    ) -> None:
        super().__init__()
        self.labels = list(labels)  # platform export names them as id2label
        self.classify = tasklight.ClassificationHead(d_model, len(self.labels), dropout, label_smoothing, pooling)

    def loss(self, model: Any, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        targets = batch["label"]
        logits = self.classify.logits(model, batch).float()  # (B, L)
        tokens = tasklight.real_tokens(batch, "input", model).sum()
        known = targets != tasklight.IGNORE_INDEX
        if not bool(known.any()):
            return logits.sum() * 0.0, tokens  # nothing to learn from: zero loss, graph intact
        loss = F.cross_entropy(logits[known], targets[known], label_smoothing=self.classify.label_smoothing)
        return loss, tokens

    @torch.no_grad()
    def predict(self, model: Any, batch: dict[str, Any], ctx: Any) -> list[dict[str, Any]]:
        return [{"probabilities": p, "labels": self.labels} for p in self.classify.predict(model, batch, ctx)]
