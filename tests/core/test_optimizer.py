"""The optimiser `platform run` trains with: AdamW, torch's fused kernel where Lightning allows
it (fp32 or bf16-true on CPU/GPU), the per-parameter loop under mixed precision, where
Lightning refuses to clip the gradients of an optimiser that unscales them itself."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from tasklight.heads import Seq2SeqHead
from tasklight.system import TaskSystem, adamw

MODEL = {
    "vocab_size": 40, "shape": "encoder-decoder", "d_model": 16, "n_heads": 2, "encoder_layers": 1,
    "decoder_layers": 1, "d_ff": 32, "dropout": 0.0, "max_positions": 16, "pad_id": 0,
}
OPTIM = {"lr": 1e-2, "min_lr": 0.0, "warmup_steps": 1, "schedule": "constant", "weight_decay": 0.01,
         "betas": [0.9, 0.98], "max_steps": 3}


def _system() -> TaskSystem:
    torch.manual_seed(0)
    return TaskSystem(task_name="t", task_version="1", model=MODEL, head=Seq2SeqHead(), head_hparams={}, optim=OPTIM)


def _trainer(precision: str) -> pl.Trainer:
    return pl.Trainer(
        max_steps=3, accelerator="cpu", devices=1, precision=precision, gradient_clip_val=1.0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        limit_val_batches=0, num_sanity_val_steps=0,
    )


def _batches(n: int = 3) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [
        {"src": torch.randint(6, 40, (4, 7), generator=g), "tgt": torch.randint(6, 40, (4, 6), generator=g),
         "row": torch.arange(4)}
        for _ in range(n)
    ]


def _fit(precision: str) -> tuple[TaskSystem, torch.optim.Optimizer]:
    system, trainer = _system(), _trainer(precision)
    trainer.fit(system, train_dataloaders=torch.utils.data.DataLoader(_batches(), batch_size=None))
    return system, trainer.optimizers[0]


def _fused(optimizer: torch.optim.Optimizer) -> list[object]:
    return [group["fused"] for group in optimizer.param_groups]


def test_adamw_decays_only_matrices_and_fuses_when_asked() -> None:
    system = _system()
    optimizer = adamw(system.named_parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.1, fused=True)
    decay, no_decay = optimizer.param_groups
    names = {id(p): n for n, p in system.named_parameters()}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 and "embed" not in names[id(p)] for p in decay["params"])
    assert {names[id(p)] for p in no_decay["params"]} >= {"model.embed.weight", "model.decoder.ln_f.bias"}
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(system.parameters()))
    assert _fused(optimizer) == [True, True]
    assert _fused(adamw(system.named_parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.1)) == [None, None]


def test_fp32_training_on_cpu_steps_with_the_fused_kernel() -> None:
    system, optimizer = _fit("32-true")
    assert _fused(optimizer) == [True, True]
    assert int(optimizer.state[system.model.embed.weight]["step"]) == 3


def test_mixed_precision_trains_with_clipping_and_without_the_fused_kernel() -> None:
    # With fused=True Lightning raises before the first step ("does not allow for gradient
    # clipping"): this run would fail.
    system, optimizer = _fit("bf16-mixed")
    assert _fused(optimizer) == [None, None]
    assert int(optimizer.state[system.model.embed.weight]["step"]) == 3


def test_a_resumed_fused_state_follows_the_resuming_runs_precision() -> None:
    _, fused = _fit("32-true")
    system = _system()
    system.trainer = _trainer("bf16-mixed")
    optimizer = system.configure_optimizers()["optimizer"]
    optimizer.load_state_dict(fused.state_dict())  # as Lightning restores a checkpoint's state
    assert _fused(optimizer) == [None, None]
    assert int(optimizer.state[system.model.embed.weight]["step"]) == 3


ENCODER = {**MODEL, "shape": "encoder-only", "encoder_layers": 3, "decoder_layers": 0}


def _configured(system: TaskSystem) -> torch.optim.Optimizer:
    system.trainer = _trainer("32-true")
    return system.configure_optimizers()["optimizer"]


def _lr_of(optimizer: torch.optim.Optimizer, system: TaskSystem) -> dict[str, float]:
    by_id = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return {name: by_id[id(p)] for name, p in system.named_parameters() if id(p) in by_id}


def test_the_head_learns_at_head_lr_and_layers_decay_downwards() -> None:
    from tasklight.heads import ClassificationHead

    torch.manual_seed(0)
    system = TaskSystem(task_name="t", task_version="1", model=ENCODER, head=ClassificationHead(16, 3), head_hparams={},
                        optim={**OPTIM, "head_lr": 1e-1, "layer_decay": 0.5})
    lr = _lr_of(_configured(system), system)
    assert lr["head.classifier.weight"] == 1e-1
    assert lr["model.encoder.blocks.2.ff.fc.weight"] == 1e-2 * 0.5  # the top layer
    assert lr["model.encoder.blocks.0.ff.fc.weight"] == 1e-2 * 0.5**3
    assert lr["model.embed.weight"] == lr["model.encoder.pos.weight"] == 1e-2 * 0.5**4
    assert lr["model.encoder.ln_f.weight"] == 1e-2  # above every layer
    plain = TaskSystem(task_name="t", task_version="1", model=ENCODER, head=ClassificationHead(16, 3), head_hparams={},
                       optim=OPTIM)
    assert set(_lr_of(_configured(plain), plain).values()) == {1e-2}


def test_freeze_leaves_the_embeddings_and_first_layers_out_of_training() -> None:
    from tasklight.heads import ClassificationHead

    def trained(spec: str) -> set[str]:
        system = TaskSystem(task_name="t", task_version="1", model=ENCODER, head=ClassificationHead(16, 3),
                            head_hparams={}, optim={**OPTIM, "freeze": spec})
        return set(_lr_of(_configured(system), system))

    everything = trained("")
    assert "model.embed.weight" in everything and "model.encoder.blocks.0.ff.fc.weight" in everything
    embeddings = trained("embeddings")
    assert everything - embeddings == {"model.embed.weight", "model.encoder.pos.weight"}
    two = trained("2")
    assert {n for n in everything - two if ".blocks." in n} == {n for n in everything if ".blocks.0." in n or ".blocks.1." in n}
    assert "model.encoder.blocks.2.ff.fc.weight" in two and "head.classifier.weight" in two
