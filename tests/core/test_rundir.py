"""Run directories carry a format version: the current one loads; another is one line that
names its format and says what to do, for predict, eval and --resume alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tasklight import __version__
from tasklight import rundir
from tests.conftest import TINY, invoke


@pytest.fixture
def copy_of(translation_run: Path, tmp_path: Path):
    def copy(info: dict | None) -> Path:
        run = tmp_path / "run"
        shutil.copytree(translation_run, run)
        if info is None:
            (run / "run.json").unlink()  # as written before run directories carried a version
        else:
            (run / "run.json").write_text(json.dumps(info))
        return run

    return copy


def _commands(run: Path) -> dict[str, list[str]]:
    return {
        "predict": ["predict", "translation", "--run", str(run), "--accelerator", "cpu", "three cats"],
        "eval": ["eval", "translation", "--run", str(run), "--accelerator", "cpu", "--set", "data.limit_test=4"],
        "resume": ["run", "translation", "--out", str(run), "--resume", "--max-steps", "21", *TINY],
    }


def test_a_new_run_directory_records_the_current_format(translation_run):
    assert json.loads((translation_run / "run.json").read_text()) == {"format_version": rundir.FORMAT_VERSION, "tasklight": __version__}


def test_a_run_directory_without_a_version_still_loads(runner, copy_of, translation_run):
    run = copy_of(None)
    code, out = invoke(runner, "predict", "translation", "--run", str(run), "three cats")
    assert code == 0, out
    assert out == invoke(runner, "predict", "translation", "--run", str(translation_run), "three cats")[1]


@pytest.mark.parametrize("command", ["predict", "eval", "resume"])
def test_an_older_format_is_one_line_naming_it_and_what_to_do(runner, copy_of, monkeypatch, command):
    run = copy_of(None)
    monkeypatch.setattr(rundir, "FORMAT_VERSION", rundir.UNVERSIONED_FORMAT + 1)  # what the next format change does
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, out = invoke(runner, *_commands(run)[command])
    assert code == 2
    assert out.strip().splitlines() == [
        f"Error: {run}: run directory format 1; this tasklight ({__version__}) reads format 2: train it again "
        f"(platform run TASK --config {run}/config.toml --data SOURCE --out NEW_DIR) or use the tasklight version that wrote it"
    ]
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing written


@pytest.mark.parametrize("command", ["predict", "resume"])
def test_a_newer_format_is_one_line(runner, copy_of, command):
    run = copy_of({"format_version": rundir.FORMAT_VERSION + 1, "tasklight": "9.0"})
    code, out = invoke(runner, *_commands(run)[command])
    assert code == 2
    assert out.strip() == (
        f"Error: {run}: run directory format {rundir.FORMAT_VERSION + 1} (tasklight 9.0); this tasklight ({__version__}) "
        f"reads format {rundir.FORMAT_VERSION}: upgrade tasklight to use it"
    )


def test_an_unreadable_run_json_is_one_line(runner, copy_of):
    run = copy_of(None)
    (run / "run.json").write_text("{not json")
    code, out = invoke(runner, "predict", "translation", "--run", str(run), "three cats")
    assert code == 2
    assert out.strip() == f'Error: {run}/run.json: unreadable (expected {{"format_version": N, ...}})'
