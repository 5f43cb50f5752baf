"""benchmarks/train_parts.py runs and reports each of its comparisons (the times are noise at
one round; the measurement is the run in benchmarks/RESULTS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow  # builds the benchmark-size model and trains it for a few steps: ~15 s
def test_every_part_is_reported() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "train_parts.py"), "--threads", "1", "--rounds", "1"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert [line[:2] for line in lines] == ["1.", "2.", "3.", "4."]
    assert all(line.rstrip().endswith("x") for line in lines)
