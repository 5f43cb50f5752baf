"""Nothing is lost and nothing unsafe runs: resume, NaN stop, refused pickles, determinism."""

from __future__ import annotations

import json
import pickle
from types import SimpleNamespace

import torch

import tasklight
from tasklight.plugins import temporary_plugin
from tests.conftest import TINY, invoke


def test_resume_continues_to_the_requested_steps(runner, tmp_path):
    out = tmp_path / "run"
    code, text = invoke(runner, "run", "translation", "--max-steps", "10", "--out", str(out), *TINY)
    assert code == 0, text
    first = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert first["global_step"] == 10
    code, text = invoke(runner, "run", "translation", "--max-steps", "20", "--out", str(out), "--resume", *TINY)
    assert code == 0, text
    record = json.loads((out / "metrics.json").read_text())
    assert record["training"]["steps"] == 20
    resumed = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == 20 and resumed["optimizer_states"][0]["state"]
    # The first session's logs survive the second.
    assert (out / "logs" / "csv" / "metrics.csv").is_file() and (out / "logs" / "csv-resume1" / "metrics.csv").is_file()


def test_resume_without_a_checkpoint_is_one_line(runner, tmp_path):
    code, text = invoke(runner, "run", "translation", "--out", str(tmp_path / "none"), "--resume")
    assert code == 2
    assert text.strip() == f"Error: {tmp_path / 'none'}: nothing to resume (no checkpoints/last.ckpt)"


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(runner, tmp_path):
    import pytorch_lightning as pl

    class Poison(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.global_step == 12:
                with torch.no_grad():
                    next(pl_module.parameters()).fill_(float("nan"))

    def register_callbacks(task, config):
        return [Poison()]

    out = tmp_path / "run"
    with temporary_plugin(SimpleNamespace(register_callbacks=tasklight.hookimpl(register_callbacks)), "poison"):
        code, text = invoke(runner, "run", "translation", "--max-steps", "30", "--out", str(out), *TINY)
    assert code == 2
    assert text.strip().startswith("Error: training loss became nan at step 13; stopped.")
    last = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 10
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())
    assert not (out / "metrics.json").exists()


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/tasklight-pwned",))


def test_checkpoint_with_code_running_pickle_is_refused(runner, translation_run, tmp_path):
    import os
    import shutil

    run = tmp_path / "evil"
    shutil.copytree(translation_run, run)
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["payload"] = _Exploit()
    torch.save(checkpoint, run / "checkpoints" / "best.ckpt", pickle_module=pickle)
    if os.path.exists("/tmp/tasklight-pwned"):
        os.remove("/tmp/tasklight-pwned")
    code, text = invoke(runner, "eval", "translation", "--run", str(run))
    assert code == 2
    assert text.strip().startswith(f"Error: {run}/checkpoints/best.ckpt: refused to load: the checkpoint holds objects that are not plain weights")
    assert not os.path.exists("/tmp/tasklight-pwned")


def test_same_seed_gives_identical_metrics(runner, tmp_path):
    records = []
    for name in ("a", "b"):
        code, text = invoke(runner, "run", "translation", "--max-steps", "8", "--seed", "3", "--out", str(tmp_path / name), *TINY)
        assert code == 0, text
        records.append(json.loads((tmp_path / name / "metrics.json").read_text())["metrics"])
        assert (tmp_path / name / "predictions.jsonl").read_text()
    assert records[0] == records[1]
    a, b = ((tmp_path / n / "predictions.jsonl").read_text() for n in ("a", "b"))
    assert a == b


def test_resume_with_another_model_shape_is_refused_naming_both(runner, tmp_path):
    out = tmp_path / "run"
    code, text = invoke(runner, "run", "translation", "--max-steps", "10", "--out", str(out), *TINY)
    assert code == 0, text
    code, text = invoke(runner, "run", "translation", "--max-steps", "20", "--out", str(out), "--resume", *TINY,
                        "--set", "model.d_model=96")
    assert code == 2, text
    (line,) = text.strip().splitlines()
    assert line.startswith(f"Error: {out}/checkpoints/last.ckpt: the checkpoint's model does not match this run's (d_model ")
    assert "in the checkpoint, 96 now" in line
