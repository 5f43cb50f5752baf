"""Time a tasklight run's training steps, ten at a time, from inside the run: a callback
registered through a temporary plugin prints seconds per step, real input tokens per second,
the last batch's shape and the peak resident memory.

    python benchmarks/investigations/minilm_step/qa_step_times.py run qa \\
        --init ../shared/models/all-MiniLM-L6-v2 --max-steps 70 --seed 42 --set trainer.threads=2 \\
        --set trainer.val_check_interval=1000000000 --set trainer.checkpoint_every_n_steps=500 \\
        --set data.train=../shared/data/qa/squadshifts/new_wiki_v1.0.json \\
        --set data.test=../shared/data/qa/xquad_en/xquad.en.json --set data.limit_test=20 \\
        --set data.max_length=384 --set data.doc_stride=256 --out /tmp/qa-steps --overwrite --quiet

Any ``platform`` command line works; only ``run`` trains.
"""

from __future__ import annotations

import resource
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytorch_lightning as pl

import tasklight
from tasklight.cli import cli
from tasklight.plugins import temporary_plugin

EVERY = 10


class StepTimer(pl.Callback):
    def __init__(self) -> None:
        self.start: float | None = None
        self.tokens = 0

    def on_train_batch_start(self, trainer: pl.Trainer, module: Any, batch: Any, batch_idx: int) -> None:
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.tokens += int(module.model.real_tokens(batch["input"]).sum())
        if trainer.global_step % EVERY or self.start is None:
            return
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"step {trainer.global_step}: {(now - self.start) / EVERY:.2f} s/step, "
              f"{self.tokens / (now - self.start):.0f} tokens/s, last batch {tuple(batch['input'].shape)}, "
              f"peak memory {peak:.0f} MB", flush=True)
        self.start, self.tokens = now, 0


def main() -> None:
    plugin = SimpleNamespace(register_callbacks=tasklight.hookimpl(lambda task, config: [StepTimer()]))
    with temporary_plugin(plugin, "step-timer"):
        cli.main(sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    main()
