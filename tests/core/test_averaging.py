"""Checkpoint averaging (``trainer.average_last``): the maths, which weights are averaged, and
that a run tests the average exactly when it validates better than every single checkpoint."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn

import tasklight
from tasklight.averaging import WeightAverager, average
from tasklight.model_io import read_checkpoint
from tasklight.plugins import temporary_plugin
from tests.conftest import TINY, invoke


def test_average_is_the_mean_of_float_tensors_and_the_latest_of_the_others():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)}
    c = {"w": torch.tensor([5.0, 1.0]), "n": torch.tensor(7)}
    mean = average([a, b, c])
    assert torch.equal(mean["w"], torch.tensor([3.0, 3.0])) and mean["w"].dtype == torch.float32
    assert mean["n"].item() == 7


def test_the_averager_keeps_the_last_n_fit_validations_once_each():
    module = torch.nn.Linear(2, 1)
    averager = WeightAverager(2)
    fitting = SimpleNamespace(state=SimpleNamespace(fn=TrainerFn.FITTING), sanity_checking=False, global_step=0)
    for step in (10, 20, 20, 30):  # step 20 validated twice: one snapshot
        with torch.no_grad():
            module.weight.fill_(step)
        fitting.global_step = step
        averager.on_validation_end(fitting, module)
    assert list(averager.steps) == [20, 30]
    assert [s["weight"][0, 0].item() for s in averager.snapshots] == [20.0, 30.0]
    validating = SimpleNamespace(state=SimpleNamespace(fn=TrainerFn.VALIDATING), sanity_checking=False, global_step=40)
    averager.on_validation_end(validating, module)  # trainer.validate() after fit is not a snapshot
    assert list(averager.steps) == [20, 30]
    with pytest.raises(ValueError, match="at least 2"):
        WeightAverager(1)


def test_a_run_tests_the_average_when_it_validates_better(runner, tmp_path):
    seen: list[dict[str, torch.Tensor]] = []

    class Snapshots(pl.Callback):  # what the model was at each validation of fit
        def on_validation_end(self, trainer, pl_module):
            if trainer.state.fn == TrainerFn.FITTING:
                seen.append({k: v.detach().clone() for k, v in pl_module.state_dict().items()})

    plugin = SimpleNamespace(register_callbacks=tasklight.hookimpl(lambda task, config: [Snapshots()]))
    out = tmp_path / "r"
    with temporary_plugin(plugin, "snapshots"):
        code, text = invoke(runner, "run", "translation", "--max-steps", "30", "--out", str(out), *TINY,
                            "--set", "trainer.average_last=3")
    assert code == 0, text
    averaged = json.loads((out / "metrics.json").read_text())["training"]["averaged_checkpoints"]
    assert averaged["steps"] == [10, 20, 30] and len(seen) == 3
    assert isinstance(averaged["validation"], float) and isinstance(averaged["kept"], bool)
    assert averaged["kept"] == (averaged["validation"] > averaged["best_single"])
    best = read_checkpoint(out / "checkpoints" / "best.ckpt")["state_dict"]
    expected = average(seen) if averaged["kept"] else None
    if expected is not None:
        assert all(torch.allclose(best[k], expected[k]) for k in expected)
    else:  # one of the single checkpoints, not their mean
        assert any(all(torch.equal(best[k], s[k]) for k in s) for s in seen)
    last = read_checkpoint(out / "checkpoints" / "last.ckpt")["state_dict"]
    assert all(torch.equal(last[k], seen[-1][k]) for k in seen[-1])  # resuming continues the run's own weights
    # The logged curve holds the three validations of training, not the average's as a fourth point.
    rows = list(csv.DictReader((out / "logs" / "csv" / "metrics.csv").open()))
    assert len([row for row in rows if row.get("val/bleu")]) == 3


def test_average_last_of_one_is_one_line(runner, tmp_path):
    code, text = invoke(runner, "run", "translation", "--out", str(tmp_path / "r"), "--set", "trainer.average_last=1")
    assert code == 2
    assert text.strip() == "Error: trainer.average_last must be 0 (off) or at least 2 checkpoints, got 1"
    assert not (tmp_path / "r").exists()
