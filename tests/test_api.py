"""The Python API: ``tasklight.load`` and ``tasklight.run``, and the README's example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tasklight
import tasklight.api
from tasklight.results import validate_record
from tasklight.inference import load_run, predict

from tests.conftest import REPO, TINY


def _tiny_settings() -> dict[str, Any]:
    """The TINY CLI flags of conftest as a ``set=`` mapping of typed values."""
    pairs = [TINY[i + 1].split("=", 1) for i, flag in enumerate(TINY) if flag == "--set"]
    return {key: int(text) if text.isdigit() else text for key, text in pairs}


def test_load_predicts_what_platform_predict_prints(translation_run: Path) -> None:
    model = tasklight.load(translation_run)
    assert isinstance(model, tasklight.Model) and model.task == "translation" and model.run_dir == translation_run
    loaded = load_run(translation_run)
    assert model.predict("twenty-one red cats") == predict(loaded, ["twenty-one red cats"])[0]  # one input: one record
    direct = predict(loaded, ["twenty-one red cats", "I see five dogs."])
    assert model.predict(["twenty-one red cats", {"source": "I see five dogs."}]) == direct  # many: a list
    assert model.predict([]) == []
    assert set(direct[0]) >= {"source", "translation"}


def test_info_has_task_size_metrics_and_versions(translation_run: Path) -> None:
    info = tasklight.load(translation_run).info()
    record = json.loads((translation_run / "metrics.json").read_text())
    assert info["task"] == record["task"]
    assert info["model"]["parameters"] == record["model"]["parameters"] > 0
    assert info["metrics"] == record["metrics"] and info["primary_metric"] == "bleu"
    assert info["versions"]["tasklight"] == tasklight.__version__
    assert info["trained_with"] == record["versions"]


def test_load_and_predict_errors_are_user_errors(translation_run: Path, tmp_path: Path) -> None:
    with pytest.raises(tasklight.UserError, match="no such run directory"):
        tasklight.load(tmp_path / "missing")
    model = tasklight.load(translation_run)
    with pytest.raises(tasklight.UserError, match=r"^input:2: expected a text or a JSON object, got a number$"):
        model.predict(["fine", 7])
    with pytest.raises(tasklight.UserError, match=r"^predict expects a text, a dict or a list of them, not int$"):
        model.predict(7)


def test_load_applies_set_overrides(translation_run: Path) -> None:
    greedy = tasklight.load(translation_run, set={"decoding.strategy": "greedy"})
    assert greedy.info()["decoding"]["strategy"] == "greedy"
    assert greedy.predict("three cats") == predict(load_run(translation_run, overrides=["decoding.strategy=greedy"]), ["three cats"])[0]


def test_run_maps_keywords_to_the_cli_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    monkeypatch.setattr("tasklight.training.run", lambda options: seen.append(options) or SimpleNamespace(record={"task": "x"}))
    record = tasklight.run("translation", data=Path("d.jsonl"), max_steps=5, out=Path("runs/x"), config="extra.toml",
                           set={"trainer.lr": 5e-4, "trainer.progress": False, "model.preset": "tiny", "trainer.betas": (0.9, 0.98),
                                "tokenizer.path": Path("tok.json")})
    assert record == {"task": "x"}
    options = seen[0]
    assert (options.task, options.data, options.max_steps, options.out, list(options.config_files)) == (
        "translation", "d.jsonl", 5, "runs/x", ["extra.toml"])
    # Typed values, not texts for the --set parser: a tuple becomes a TOML list, a path its text.
    assert options.settings == {"trainer.lr": 5e-4, "trainer.progress": False, "model.preset": "tiny", "trainer.betas": [0.9, 0.98],
                                "tokenizer.path": "tok.json"}
    assert list(options.overrides) == []
    with pytest.raises(TypeError, match=r"unknown option 'max_step'; did you mean 'max_steps'\?"):
        tasklight.run("translation", max_step=5)


def test_run_settings_of_the_wrong_type_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(tasklight.UserError, match=r"^config key 'trainer.max_steps' in set= expects int, got '5'$"):
        tasklight.run("translation", out=tmp_path / "r", set={"trainer.max_steps": "5"})
    assert not (tmp_path / "r").exists()


def test_load_takes_the_device_options(translation_run: Path) -> None:
    model = tasklight.load(translation_run, accelerator="cpu", devices=1)
    assert next(model._loaded.system.parameters()).device.type == "cpu"
    assert model.predict("three cats") == tasklight.load(translation_run).predict("three cats")


def test_importing_tasklight_and_its_api_stays_light() -> None:
    code = "import sys, tasklight; tasklight.load; tasklight.run; print(sorted(m for m in ('torch', 'fastapi', 'uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API and serving", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "no ```python block in the README's 'Python API and serving' section"
    return blocks[0]


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The example as written, with only the training budget shrunk (10 steps, the tiny model)."""
    real_run = tasklight.api.run

    def short_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs.update(max_steps=10, quiet=True, set={**kwargs.get("set", {}), **_tiny_settings()})
        return real_run(*args, **kwargs)

    monkeypatch.setattr(tasklight.api, "run", short_run)
    monkeypatch.chdir(tmp_path)
    exec(compile(_readme_example(), "README.md", "exec"), {})  # noqa: S102 (the README example, on purpose)
    printed = capsys.readouterr().out.splitlines()[-5:]  # training may print before
    record = json.loads((tmp_path / "runs" / "intent-api" / "metrics.json").read_text())
    assert validate_record(record) == []
    model = tasklight.load(tmp_path / "runs" / "intent-api")
    alone = model.predict("wake me up at seven tomorrow")
    assert printed[0] == str(record["metrics"]["accuracy"]["value"])
    assert printed[1] == str(alone) and alone["text"] == "wake me up at seven tomorrow" and 0 <= alone["probability"] <= 1
    rows = model.predict(["play some jazz", "what's the weather in paris"])
    assert printed[2:4] == [f"{row['label']} {row['probability']}" for row in rows]
    assert printed[4] == f"intent {record['model']['parameters']} parameters"
