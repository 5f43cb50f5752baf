"""The intent head: ``tasklight.ClassificationHead`` plus the label list it was trained on.

Rows carry their label as a string (``_label`` metadata), so the label list lives
in one place, the head (built from ``head_hparams`` and saved in checkpoints).
Labels the head does not know (a validation label never seen in training) add no
loss. Imported only when a head is built: it needs torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

import tasklight

IGNORE = -100


class IntentHead(tasklight.Head):
    """Batch: ``input`` (B,T) token ids and ``_label`` (B strings, or None).
    Predicts per row ``{"probabilities": [...], "labels": [...]}`` in label order."""

    def __init__(self, d_model: int, labels: list[str], dropout: float = 0.1, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.labels = list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}
        self.classify = tasklight.ClassificationHead(d_model, len(self.labels), dropout, label_smoothing)

    def loss(self, model: Any, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        ids = batch["input"]
        logits = self.classify.logits(model, ids).float()  # (B, L)
        targets = torch.tensor([self.index.get(label, IGNORE) for label in batch["_label"]], device=ids.device)  # (B,)
        tokens = (ids != model.config.pad_id).sum()
        known = targets != IGNORE
        if not bool(known.any()):
            return logits.sum() * 0.0, tokens  # nothing to learn from: zero loss, graph intact
        loss = F.cross_entropy(logits[known], targets[known], label_smoothing=self.classify.label_smoothing)
        return loss, tokens

    @torch.no_grad()
    def predict(self, model: Any, batch: dict[str, Any], ctx: Any) -> list[dict[str, Any]]:
        return [{"probabilities": p, "labels": self.labels} for p in self.classify.predict(model, batch, ctx)]
