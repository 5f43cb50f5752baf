"""Lightning's DDP strategy through the launcher, on CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import TINY


def clean_env() -> dict[str, str]:
    """This process's environment without tasklight's and torch.distributed's own variables,
    one intra-op thread per process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLIGHT_", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE"))}
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_ddp(task: str, steps: int, out: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    """`platform run TASK` on two CPU processes under DDP, from out's parent folder."""
    return subprocess.run(
        [sys.executable, "-m", "tasklight", "run", task, "--accelerator", "cpu", "--devices", "2",
         "--strategy", "ddp", "--max-steps", str(steps), "--out", str(out), *TINY],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=out.parent,
    )


def test_ddp_on_two_cpu_processes_scores_the_test_set_once(tmp_path):
    out = tmp_path / "ddp"
    done = run_ddp("translation", 6, out, clean_env(), timeout=600)
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


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tasklight-sentiment"


@pytest.mark.slow
def test_ddp_finds_a_third_party_plugin_in_every_process(tmp_path):
    """The example package, found only through an entry point on PYTHONPATH (unless it is
    installed) and under TASKLIGHT_LOAD_PLUGINS: Lightning's spawned processes inherit both."""
    env = clean_env()
    env["TASKLIGHT_LOAD_PLUGINS"] = "sentiment"
    if not metadata.entry_points(group="tasklight", name="sentiment"):
        site = tmp_path / "site"
        info = site / "tasklight_sentiment-0.1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tasklight-sentiment\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text("[tasklight]\nsentiment = tasklight_sentiment\n")
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(EXAMPLE)])
    out = tmp_path / "ddp"
    done = run_ddp("sentiment", 20, out, env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "metrics.json").read_text())
    assert record["task"]["name"] == "sentiment"
    assert record["hardware"]["devices"] == 2 and record["training"]["steps"] == 20
    assert set(record["metrics"]) == {"sentiment_accuracy", "sentiment_macro_f1"}
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == record["dataset"]["size"] == 24
    assert {p["label"] for p in predictions} <= {"negative", "positive"}
