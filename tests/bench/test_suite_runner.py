"""``platform bench`` running a suite of tiny runs: records, the on_results hook, failures
that do not stop the suite, skipping finished runs, resuming and redoing unfinished ones."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import tasklight
from click.testing import CliRunner
from tasklight.cli import cli
from tasklight.plugins import temporary_plugin
from tasklight.results import validate_record

# The TINY flags of tests/conftest.py as suite overrides, with a checkpoint every 2 steps.
TINY_SET = [
    "model.preset=tiny", "tokenizer.vocab_size=300", "data.limit_test=24", "data.val_metric_examples=16",
    "trainer.val_check_interval=10", "trainer.checkpoint_every_n_steps=2", "trainer.threads=1",
]


def suite_file(tmp_path: Path) -> tuple[Path, Path, Path]:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "play music", "label": "PlayMusic"}\n{"text": \n')
    missing = tmp_path / "absent" / "snips"
    path = tmp_path / "tiny.toml"
    path.write_text(
        'description = "tiny runs"\n'
        f"set = {json.dumps(TINY_SET)}\n"
        '[[entries]]\nname = "tiny"\ntask = "intent"\nmax_steps = 3\nseeds = [1, 2]\n'
        f'[[entries]]\nname = "broken"\ntask = "intent"\ndata = "{bad}"\nmax_steps = 3\n'
        f'[[entries]]\nname = "elsewhere"\ntask = "intent"\ndata = "{missing}"\nmax_steps = 3\n'
    )
    return path, bad, missing


def bench(*args: str) -> tuple[int, str, list[dict]]:
    """Run ``platform bench`` with a plugin that records every on_results call."""
    published: list[dict] = []
    plugin = SimpleNamespace(on_results=tasklight.hookimpl(lambda record: published.append(json.loads(json.dumps(record)))))
    with temporary_plugin(plugin, "publisher"):
        result = CliRunner().invoke(cli, ["bench", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, published


def test_bench_runs_skips_resumes_and_redoes(tmp_path):
    path, bad, missing = suite_file(tmp_path)
    out = tmp_path / "results"
    code, output, published = bench("--suite", str(path), "--out", str(out))
    lines = output.splitlines()

    # A failing entry and one without its data are reported in one line each; the suite goes on.
    assert code == 1, output
    assert any(line.startswith(f"[3/4] broken seed 42: FAILED: {bad}:2: ") for line in lines), output
    assert f"[4/4] elsewhere seed 42: skipped: data not found: {missing}" in lines
    assert "2 of 4 run(s) failed or were skipped for missing data" in lines

    # One valid record per (entry, seed), with its bench field; on_results fired once for each.
    runs = {seed: out / "tiny" / "tiny" / f"seed{seed}" for seed in (1, 2)}
    records = {seed: json.loads((run / "metrics.json").read_text()) for seed, run in runs.items()}
    for seed, record in records.items():
        assert validate_record(record) == []
        assert record["training"]["seed"] == seed and record["training"]["steps"] == 3
        assert record["bench"]["suite"] == "tiny" and record["bench"]["entry"] == "tiny" and record["bench"]["seed"] == seed
        assert record["bench"]["command"].startswith("platform run intent --set model.preset=tiny ")
    assert [(r["bench"]["entry"], r["bench"]["seed"]) for r in published] == [("tiny", 1), ("tiny", 2)]
    assert published == [records[1], records[2]]
    assert not (out / "tiny" / "elsewhere").exists()

    # Rerun: finished runs are skipped, nothing is published again.
    stamps = {seed: (run / "metrics.json").stat().st_mtime_ns for seed, run in runs.items()}
    code, output, published = bench("--suite", str(path), "--out", str(out), "--only", "tiny")
    assert code == 0, output
    assert [line for line in output.splitlines() if line.startswith("[")] == [
        f"[1/2] tiny seed 1: exists, skipped ({runs[1]})",
        f"[2/2] tiny seed 2: exists, skipped ({runs[2]})",
    ]
    assert published == []
    assert {seed: (run / "metrics.json").stat().st_mtime_ns for seed, run in runs.items()} == stamps

    # Interrupted runs: seed 2 lost its record but has last.ckpt (resumed); seed 1 has a
    # corrupt record and no checkpoint (redone from scratch).
    (runs[2] / "metrics.json").unlink()
    assert (runs[2] / "checkpoints" / "last.ckpt").is_file()
    (runs[1] / "metrics.json").write_text("{")
    for ckpt in (runs[1] / "checkpoints").iterdir():
        ckpt.unlink()
    code, output, published = bench("--suite", str(path), "--out", str(out), "--only", "tiny")
    assert code == 0, output
    lines = output.splitlines()
    assert any(line.startswith("[1/2] tiny seed 1: done in ") and "(resumed)" not in line for line in lines), output
    assert any(line.startswith("[2/2] tiny seed 2: done in ") and "(resumed)" in line for line in lines), output
    assert [r["bench"]["seed"] for r in published] == [1, 2]
    for run in runs.values():
        assert validate_record(json.loads((run / "metrics.json").read_text())) == []

    # The leaderboard of these records: one group, one row, two seeds.
    result = CliRunner().invoke(cli, ["leaderboard", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    (group,) = json.loads(result.stdout)["groups"]
    assert group["task"] == "intent" and group["dataset"]["demo"] is True
    (row,) = group["rows"]
    assert row["entry"] == "tiny" and row["n"] == 2 and sorted(row["seeds"]) == [1, 2]
