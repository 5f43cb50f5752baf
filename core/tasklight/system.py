"""The LightningModule: backbone + task head + loss, optimiser and schedule.

The model (``tasklight.model.Transformer``) stays a plain nn.Module; this class
holds only the training step, logging and optimisation, as Lightning's style
guide asks. Task metrics on the validation set are computed by the
``ValidationScorer`` callback (evaluation.py), which decodes like the test does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from tasklight.heads import Head, check_loss
from tasklight.model import Transformer, TransformerConfig


class TaskSystem(pl.LightningModule):
    def __init__(
        self,
        *,
        task_name: str,
        task_version: str,
        model: dict[str, Any],
        head: Head,
        head_hparams: dict[str, Any],
        optim: dict[str, Any],
        tokenizer_hash: str = "",
    ) -> None:
        super().__init__()
        # Only plain values go into hparams (and so into checkpoints): they load
        # with torch.load(weights_only=True). The head is rebuilt from head_hparams.
        self.save_hyperparameters(ignore=["head"])
        self.model = Transformer(TransformerConfig(**model))
        self.head = head
        freeze(self.model, str(optim.get("freeze", "")))
        self.tokens_seen = 0
        self.tokens_restored = 0  # tokens_seen as restored by --resume: this session counts from there

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, tokens = check_loss(self.head, self.head.loss(self.model, batch))
        self.tokens_seen += int(tokens)
        self.log("train/loss", loss, prog_bar=True, batch_size=int(batch["row"].numel()))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss, tokens = check_loss(self.head, self.head.loss(self.model, batch))
        # Weighted by tokens so the epoch value is the per-token loss of the whole set.
        self.log("val/loss", loss, prog_bar=True, batch_size=max(1, int(tokens)), sync_dist=True)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=False)

    def configure_optimizers(self) -> Any:
        o = self.hparams.optim
        # Torch's fused AdamW updates every parameter in one kernel instead of a loop of small
        # ones (Hugging Face's TrainingArguments default too). Not under mixed precision, where
        # Lightning refuses to clip gradients for an optimizer that unscales them itself.
        fused = self.device.type in FUSED_ADAMW_DEVICES and "mixed" not in str(self.trainer.precision)
        optimizer = adamw(
            self.named_parameters(), lr=o["lr"], betas=tuple(o["betas"]), weight_decay=o["weight_decay"], fused=fused,
            scale=lr_scales(self.model, o.get("head_lr", 0.0) / o["lr"] if o.get("head_lr") and o["lr"] else 1.0,
                            o.get("layer_decay", 1.0)),
        )
        # A resumed checkpoint brings its own run's choice back with the optimizer state.
        optimizer.register_load_state_dict_post_hook(lambda opt: _set_fused(opt, fused))
        schedule = lr_lambda(
            o["schedule"], o["warmup_steps"], o.get("max_steps", -1), o["lr"], o.get("min_lr", 0.0),
            budget_seconds=o.get("budget_seconds", 0.0),
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["tasklight"] = {
            "task": self.hparams.task_name,
            "task_version": self.hparams.task_version,
            "tokens_seen": self.tokens_seen,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.tokens_seen = self.tokens_restored = int(checkpoint.get("tasklight", {}).get("tokens_seen", 0))


FUSED_ADAMW_DEVICES = ("cpu", "cuda")  # where torch (>= 2.4) has a fused AdamW kernel


def adamw(
    named_parameters: Iterable[tuple[str, nn.Parameter]],
    *,
    lr: float,
    betas: tuple[float, float],
    weight_decay: float,
    fused: bool = False,
    scale: Callable[[str], float] | None = None,
) -> torch.optim.AdamW:
    """AdamW as tasklight trains with it: biases, norms and embeddings are not decayed
    (standard for transformers); ``fused``: torch's single-kernel update (CPU or CUDA);
    ``scale``: each parameter's learning rate as a multiple of ``lr``, by name (a new head
    apart from a pretrained backbone, layer-wise decay). Frozen parameters are left out."""
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, param in named_parameters:
        if param.requires_grad:
            decayed = not (param.ndim < 2 or "embed" in name)
            groups.setdefault((decayed, scale(name) if scale else 1.0), []).append(param)
    params = [
        {"params": group, "weight_decay": weight_decay if decayed else 0.0, "lr": lr * factor}
        for (decayed, factor), group in sorted(groups.items(), key=lambda kv: (not kv[0][0], -kv[0][1]))
    ]
    if not params:
        params = [{"params": [], "weight_decay": 0.0}]
    return torch.optim.AdamW(params, lr=lr, betas=betas, fused=fused or None)


def lr_scales(model: Transformer, head: float, layer_decay: float) -> Callable[[str], float]:
    """A system parameter's name -> its learning rate over the base one: ``head`` for
    everything outside the backbone (``model.``); with ``layer_decay`` < 1, each backbone
    layer that much below the one above it, the embeddings below the first layer, and the
    output layer and final norms at the top (layer-wise decay, as in ELECTRA and BEiT)."""
    depth = {"encoder": len(model.encoder.blocks) if model.encoder is not None else 0,
             "decoder": len(model.decoder.blocks) if model.decoder is not None else 0}
    bottom = max(depth.values()) + 1  # the embeddings sit below every stack's first layer

    def scale(name: str) -> float:
        if not name.startswith("model."):
            return head
        if layer_decay == 1.0:
            return 1.0
        parts = name.split(".")  # model.encoder.blocks.3.ff.fc.weight
        if len(parts) > 3 and parts[1] in depth and parts[2] == "blocks":
            return layer_decay ** (depth[parts[1]] - int(parts[3]))
        if parts[1] == "embed" or (len(parts) > 2 and parts[1] in depth and parts[2] in EMBEDDING_PARTS):
            return layer_decay**bottom
        return 1.0  # final norms, the output layer

    return scale


EMBEDDING_PARTS = ("pos", "types", "ln_embed")  # a stack's modules that belong with the token embedding


def freeze(model: Transformer, spec: str) -> None:
    """Stop training parts of the backbone (``model.freeze``): "embeddings" (token,
    position and type embeddings and their norm), or a number N: those and each stack's
    first N layers. A tied output layer is the token embedding and freezes with it."""
    spec = spec.strip()
    if not spec:
        return
    layers = 0 if spec == "embeddings" else int(spec)
    frozen: list[nn.Module] = [model.embed]
    for stack in (model.encoder, model.decoder):
        if stack is None:
            continue
        frozen += [m for m in (stack.pos, stack.types, stack.ln_embed) if m is not None]
        frozen += list(stack.blocks[:layers])
    for module in frozen:
        module.requires_grad_(False)


def _set_fused(optimizer: torch.optim.Optimizer, fused: bool) -> None:
    for group in optimizer.param_groups:
        group["fused"] = fused or None


def lr_lambda(schedule: str, warmup: int, max_steps: int, lr: float, min_lr: float, budget_seconds: float = 0.0) -> Any:
    """Multiplier of the peak lr at each step: linear warmup, then the named decay.

    ``auto`` is ``linear`` when the run has a step or time budget, else ``inverse_sqrt``.

    ``linear`` and ``cosine`` decay over ``max_steps``; with only a time budget
    (``--max-time``) they decay over the wall time instead, so a run stopped by the
    clock still ends at the bottom of its schedule. Time-based progress is measured
    from this process's first step (a resumed run restarts the clock).
    """
    if schedule == "auto":
        # A known budget is best spent annealing to its end; without one, inverse sqrt.
        schedule = "linear" if max_steps > 0 or budget_seconds > 0 else "inverse_sqrt"
    floor = min_lr / lr if lr > 0 else 0.0
    clock: list[float] = []

    def progress_of(step: int) -> float:
        by_steps = (step - warmup) / max(1, max_steps - warmup) if max_steps > 0 else 0.0
        if budget_seconds > 0:
            if not clock:
                clock.append(time.monotonic())
            by_time = (time.monotonic() - clock[0]) / budget_seconds
            return min(1.0, max(by_steps, by_time))
        return min(1.0, by_steps)

    def factor(step: int) -> float:
        step += 1
        if warmup > 0 and step < warmup:
            return step / warmup
        if schedule == "constant":
            return 1.0
        if schedule == "inverse_sqrt":
            return max(floor, math.sqrt(max(warmup, 1) / step))
        progress = progress_of(step)
        if schedule == "linear":
            return max(floor, 1.0 - progress)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))  # cosine

    return factor
