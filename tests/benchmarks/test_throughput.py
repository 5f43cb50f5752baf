"""benchmarks/throughput.py --quick: the side-by-side benchmark against HF transformers runs
end to end and reports every ratio the issue asks for (the figures themselves are tiny-model
noise; the real measurement is the full run in benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared

pytest.importorskip("transformers", reason="the benchmark needs the bench extra: pip install -e '.[bench]'")


@pytest.mark.slow  # about a minute: four child processes import torch and transformers
def test_quick_run_writes_every_ratio(tmp_path: Path) -> None:
    data = shared("translation", "multi30k")
    out = tmp_path / "out.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--quick", "--threads", "1",
         "--data", str(data), "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    for key in ("train_ratio", "e2e_ratio", "greedy_ratio", "beam_ratio", "memory_ratio", "memory_beam_ratio"):
        assert isinstance(result[key], float) and result[key] > 0, key
    # Identical dimensions on both sides: the parameter counts differ only by BART's extra
    # embedding LayerNorms and its two spare position rows, well under 1%.
    params = result["parameters"]
    assert abs(params["tasklight"] - params["hf"]) / params["hf"] < 0.01
    e2e = result["end_to_end"]
    assert e2e["tasklight"]["steps"] == e2e["hf"]["steps"] > 0
    assert 0 <= e2e["tasklight"]["padding_fraction"] < e2e["hf"]["padding_fraction"] < 1
    assert [row["length"] for row in result["scaling"]] == [8, 16]
    assert result["model_step"]["tasklight_mfu"] > 0 and result["peak_gflops"] > 0
    for line in ("model step, target tok/s", "end to end Multi30k", "greedy decoding", "beam-4 decoding",
                 "peak memory, training", "train tok/s at length 16"):
        assert line in done.stdout
    assert f"wrote {out}" in done.stdout



@pytest.mark.slow  # about 20 seconds: one child process per side for the memory section
def test_only_runs_the_sections_asked_for(tmp_path: Path) -> None:
    data = shared("translation", "multi30k")
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--quick", "--threads", "1",
         "--data", str(data), "--only", "decode,memory", "--json", str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["sections"] == ["decode", "memory"]
    assert {"greedy_ratio", "beam_ratio", "memory_ratio", "memory_beam_ratio"} <= result.keys()
    assert not {"train_ratio", "e2e_ratio", "model_step", "end_to_end", "scaling"} & result.keys()
    assert set(result["targets_met"]) == {
        "greedy_ratio >= 2", "beam_ratio >= 2", "memory_ratio <= 1", "memory_beam_ratio <= 1"
    }
    assert "greedy decoding" in done.stdout and "model step" not in done.stdout

    bad = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--only", "decoding"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert bad.returncode == 2 and "unknown section" in bad.stderr
