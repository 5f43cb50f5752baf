"""A real training process killed (SIGKILL) or interrupted (SIGINT) mid-run resumes with
--resume and ends exactly where the uninterrupted run ends: model, optimiser, schedule,
randomness and the position inside the epoch all come back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY

STEPS = 40
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "tasklight", "run", "translation", "--max-steps", str(STEPS), "--out", str(out),
        *TINY, "--set", "trainer.checkpoint_every_n_steps=10", *extra,
    ]


def _finish(out: Path, *extra: str) -> dict:
    done = subprocess.run(_command(out, *extra), env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "metrics.json").read_text())


def _stop_after_first_checkpoint(out: Path, sig: int) -> subprocess.Popen:
    proc = subprocess.Popen(_command(out), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoint = out / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert proc.poll() is None, "the run ended before its first checkpoint: " + (proc.stdout.read() if proc.stdout else "")
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.02)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    return proc


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _finish(tmp_path_factory.mktemp("straight") / "run")


def _same_result(resumed: dict, straight: dict) -> None:
    assert resumed["training"]["steps"] == STEPS
    assert {k: v["value"] for k, v in resumed["metrics"].items()} == {k: v["value"] for k, v in straight["metrics"].items()}


def test_sigkill_mid_run_then_resume_finishes_as_if_never_stopped(tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = _stop_after_first_checkpoint(out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists()
    step = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert 10 <= step < STEPS  # a mid-run checkpoint, whole (written to a temporary file, then renamed)
    _same_result(_finish(out, "--resume"), uninterrupted)


def test_ctrl_c_saves_and_stops_cleanly_then_resume_finishes(tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = _stop_after_first_checkpoint(out, signal.SIGINT)
    text = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 130, text
    assert f"interrupted at step" in text and f"platform run translation --out {out} --resume" in text
    assert "Traceback" not in text
    saved = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert 10 <= saved["global_step"] < STEPS
    _same_result(_finish(out, "--resume"), uninterrupted)
