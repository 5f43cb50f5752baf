"""Shared fixtures: a tiny trained translation run, temporary plugins, data paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tasklight import plugins
from tasklight.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Two OpenMP threads fight any other load on a 2-core machine; one is steadier for tests.
torch.set_num_threads(1)

TINY = [
    "--set", "model.preset=tiny", "--set", "tokenizer.vocab_size=300", "--set", "data.limit_test=24",
    "--set", "data.val_metric_examples=16", "--set", "trainer.val_check_interval=10",
    "--set", "trainer.checkpoint_every_n_steps=10", "--set", "decoding.beam_size=2", "--quiet",
]


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or a skip when that data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared benchmark data is not beside this checkout)")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def fresh_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees freshly loaded plugins and no allowlist from the environment."""
    monkeypatch.delenv("TASKLIGHT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("TASKLIGHT_TRACE_PLUGINS", raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="session")
def translation_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny translation run on the demo data (seconds), shared by the CLI tests."""
    out = tmp_path_factory.mktemp("runs") / "translation"
    result = CliRunner().invoke(cli, ["run", "translation", "--max-steps", "20", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
