"""benchmarks/decode_parts.py runs and reports each of its nine comparisons (the times are
noise at one round; the measurement is the run in benchmarks/RESULTS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow  # builds the benchmark-size model and decodes with it: ~10 s on one thread
def test_every_part_is_reported() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "decode_parts.py"), "--threads", "1", "--rounds", "1"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parts = {f"{n}." for n in range(1, 10)}
    lines = [line for line in done.stdout.splitlines() if line[:2] in parts]
    assert [line[:2] for line in lines] == ["1.", "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "9.", "9.", "9."]
    assert all(line.rstrip().endswith("x") for line in lines)
    assert "minor page faults per call" in done.stdout
    assert "bf16 products native here" in done.stdout
