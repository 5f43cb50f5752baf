"""Lightning's DDP strategy through the launcher, on CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TINY


def test_ddp_on_two_cpu_processes_scores_the_test_set_once(tmp_path):
    out = tmp_path / "ddp"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLIGHT_", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE"))}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "tasklight", "run", "translation", "--accelerator", "cpu", "--devices", "2",
         "--strategy", "ddp", "--max-steps", "6", "--out", str(out), *TINY],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "metrics.json").read_text())
    assert record["hardware"]["devices"] == 2
    assert record["training"]["steps"] == 6
    predictions = (out / "predictions.jsonl").read_text().splitlines()
    # Every test example exactly once: no per-rank duplicates, none dropped.
    assert len(predictions) == record["dataset"]["size"] == 24
    sources = [json.loads(line)["source"] for line in predictions]
    assert len(set(sources)) == len(sources)
    assert done.stdout.count("Run directory:") == 1
