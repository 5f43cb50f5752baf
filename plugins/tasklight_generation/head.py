"""The causal LM head, with prompts of different lengths generated correctly in one batch.

``generate`` continues a (B, P) prompt batch that has no padding; the collator pads
prompts on the right. Rows are grouped by prompt length and each group runs as its
own unpadded batch (on the KV cache, as before).
"""

from __future__ import annotations

from typing import Any

import torch

import tasklight


class LMHead(tasklight.CausalLMHead):
    @torch.no_grad()
    def predict(self, model: Any, batch: dict[str, Any], ctx: Any) -> list[Any]:
        if "prompt" not in batch:
            return super().predict(model, batch, ctx)
        prompts = batch["prompt"]  # (B, P), right-padded
        lengths = (prompts != model.config.pad_id).sum(1)  # (B,)
        out: list[Any] = [None] * prompts.size(0)
        for length in sorted(set(lengths.tolist())):
            rows = (lengths == length).nonzero().squeeze(1)
            generated = super().predict(model, {"prompt": prompts[rows, :length]}, ctx)
            for row, ids in zip(rows.tolist(), generated):
                out[row] = ids
        return out
