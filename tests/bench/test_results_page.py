"""Every leaderboard on benchmarks/RESULTS.md is rendered from records committed beside it.

A leaderboard on the page sits between two marker comments; the opening one holds the
command that renders it from the repository root:

    <!-- leaderboard: platform leaderboard benchmarks/results/SUITE-DATE --format md -->
    ...the command's output, verbatim...
    <!-- /leaderboard -->

The test runs each command and compares its output with the page, so a record edited,
lost or left out of git, or a table edited by hand, fails it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasklight.cli import cli

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "benchmarks" / "RESULTS.md"
RECORDS = REPO / "benchmarks" / "results"
BLOCK = re.compile(r"<!-- leaderboard: (?P<command>.+?) -->\n(?P<table>.*?)<!-- /leaderboard -->", re.S)
# The first line `platform leaderboard --format md` prints.
HEADER = re.compile(r"^Leaderboard of \d+ results record\(s\)", re.M)


def leaderboards(text: str) -> list[tuple[str, str]]:
    return [(m["command"], m["table"]) for m in BLOCK.finditer(text)]


def folders_of(command: str) -> list[str]:
    """The records folders a marked command reads; it must be exactly `platform leaderboard FOLDER... --format md`."""
    argv = shlex.split(command)
    assert argv[:2] == ["platform", "leaderboard"] and argv[-2:] == ["--format", "md"], command
    folders = argv[2:-2]
    assert folders, f"{command}: names no records folder"
    for folder in folders:
        path = (REPO / folder).resolve()
        assert path.is_dir() and path.is_relative_to(RECORDS), f"{command}: {folder} is not a folder under benchmarks/results/"
    return folders


def render(folders: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["leaderboard", *folders, "--format", "md"])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_leaderboard_on_the_page_is_what_its_committed_records_render(monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    found = leaderboards(text)
    assert found, "RESULTS.md shows no marked leaderboard (the smoke suite's should be there)"
    for command, table in found:
        assert render(folders_of(command), monkeypatch).strip() == table.strip(), (
            f"RESULTS.md differs from `{command}`: render it again and paste its output between the markers"
        )


def test_no_leaderboard_on_the_page_lacks_its_markers():
    text = PAGE.read_text(encoding="utf-8")
    outside = BLOCK.sub("", text)
    assert HEADER.findall(outside) == []
    assert outside.count("<!-- leaderboard") == outside.count("<!-- /leaderboard") == 0  # no unclosed block


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs a git checkout")
def test_the_records_behind_the_page_are_in_git():
    """The records exist in this checkout; this says they are also committed (not ignored, not just left here)."""
    for command, _ in leaderboards(PAGE.read_text(encoding="utf-8")):
        for folder in folders_of(command):
            on_disk = sorted(str(p.relative_to(REPO)) for p in (REPO / folder).rglob("*.json"))
            tracked = subprocess.run(
                ["git", "ls-files", "--", folder], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.split()
            assert on_disk and sorted(p for p in tracked if p.endswith(".json")) == on_disk, folder


def test_a_changed_record_changes_the_rendering(tmp_path, monkeypatch):
    """The comparison depends on the records: one metric edited in a copy of them renders another table."""
    command, table = leaderboards(PAGE.read_text(encoding="utf-8"))[0]
    copy = tmp_path / "records"
    shutil.copytree(REPO / folders_of(command)[0], copy)
    record_path = sorted(copy.rglob("metrics.json"))[0]
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["metrics"][record["primary_metric"]]["value"] += 1.0
    record_path.write_text(json.dumps(record), encoding="utf-8")
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["leaderboard", str(copy), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() != table.strip()
