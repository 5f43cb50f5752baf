"""``platform new-plugin``: the generated package, its name checks, and its own tests.

The fast tests generate each kind into tmp_path and run the generated tests (the
conformance kit included) in this process, the plugin registered with
``temporary_plugin``; the slow ones install it through an entry point (a dist-info
on PYTHONPATH, no pip) and run ``platform run NAME`` and ``pytest`` in the package.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tasklight.cli.new_plugin import KINDS
from tasklight.plugins import temporary_plugin
from tests.conftest import invoke

KIND_METRICS = {
    "seq2seq": ("exact_match", True),
    "classification": ("accuracy", True),
    "span": ("exact_match", True),
    "lm": ("perplexity", False),
    "token": ("f1", True),
}


def generated_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_new_plugin_writes_a_package_with_the_entry_point(runner, tmp_path):
    code, output = invoke(runner, "new-plugin", "mytask", "--kind", "seq2seq", "--dir", str(tmp_path))
    assert code == 0, output
    root = tmp_path / "tasklight-mytask"
    assert output.splitlines()[0] == f"Created {root}/ (seq2seq: tasklight.Seq2SeqHead)"
    assert generated_files(root) == [
        "README.md", "pyproject.toml", "tasklight_mytask/__init__.py", "tasklight_mytask/demo.py",
        "tasklight_mytask/metrics.py", "tasklight_mytask/task.py", "tests/test_mytask.py",
    ]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "tasklight-mytask"
    assert project["project"]["entry-points"]["tasklight"] == {"mytask": "tasklight_mytask"}
    assert project["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
    task_py = (root / "tasklight_mytask" / "task.py").read_text()
    assert "tasklight.Seq2SeqHead(" in task_py and "{{" not in task_py
    assert "check_task(\"mytask\", tmp_path)" in (root / "tests" / "test_mytask.py").read_text()


def test_the_default_kind_is_classification(runner, tmp_path):
    code, _ = invoke(runner, "new-plugin", "topics", "--dir", str(tmp_path))
    assert code == 0
    assert "tasklight.ClassificationHead(" in (tmp_path / "tasklight-topics" / "tasklight_topics" / "task.py").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("My-Task", "Error: plugin name 'My-Task' is not valid: use lowercase letters, digits and underscores, "
                    "starting with a letter (e.g. sentiment or grammar_fix)"),
        ("9lives", "Error: plugin name '9lives' is not valid: use lowercase letters, digits and underscores, "
                   "starting with a letter (e.g. sentiment or grammar_fix)"),
        ("class", "Error: plugin name 'class' is a Python keyword; choose another"),
        ("translation", "Error: a task named 'translation' is already installed (from plugin 'translation'); choose another name"),
    ],
)
def test_bad_names_are_one_line_and_exit_2(runner, tmp_path, name, message):
    code, output = invoke(runner, "new-plugin", name, "--dir", str(tmp_path))
    assert (code, output.strip()) == (2, message)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(runner, tmp_path):
    (tmp_path / "tasklight-mine").mkdir()
    (tmp_path / "tasklight-mine" / "keep.txt").write_text("mine")
    code, output = invoke(runner, "new-plugin", "mine", "--dir", str(tmp_path))
    assert code == 2
    assert output.strip() == f"Error: {tmp_path / 'tasklight-mine'} already exists; choose another name or --dir (nothing was written)"
    assert generated_files(tmp_path / "tasklight-mine") == ["keep.txt"]


def test_an_unknown_kind_is_refused(runner, tmp_path):
    code, output = invoke(runner, "new-plugin", "x", "--kind", "tagging", "--dir", str(tmp_path))
    assert code == 2 and "'tagging' is not one of 'seq2seq', 'classification', 'span', 'lm', 'token'" in output


@pytest.fixture
def generated(runner, tmp_path, monkeypatch):
    """Generate a kind, import it from its folder and register it as a temporary plugin."""

    def make(kind: str):
        name = f"gen_{kind}"
        code, output = invoke(runner, "new-plugin", name, "--kind", kind, "--dir", str(tmp_path))
        assert code == 0, output
        root = tmp_path / f"tasklight-{name}"
        monkeypatch.syspath_prepend(str(root))
        module = importlib.import_module(f"tasklight_{name}")
        return name, root, module

    yield make
    for key in [k for k in sys.modules if k.startswith("tasklight_gen_") or k.startswith("test_gen_")]:
        del sys.modules[key]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_passes_its_generated_tests(generated, tmp_path, kind):
    name, root, module = generated(kind)
    with temporary_plugin(module, name) as platform:
        task = platform.tasks.get(name)
        metric, higher = KIND_METRICS[kind]
        assert task.metrics == (f"{name}_{metric}",)
        assert platform.metrics.get(task.metrics[0]).higher_is_better is higher
        spec = importlib.util.spec_from_file_location(f"test_{name}", root / "tests" / f"test_{name}.py")
        tests = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tests)
        ran = []
        for test_name, test in inspect.getmembers(tests, inspect.isfunction):
            if test_name.startswith("test_") and test.__module__ == tests.__name__:
                work = tmp_path / test_name
                work.mkdir()
                test(work) if "tmp_path" in inspect.signature(test).parameters else test()
                ran.append(test_name)
        assert "test_conformance" in ran and len(ran) >= 4


def test_a_run_on_real_data_is_not_capped_by_the_demo_settings(generated, runner, tmp_path):
    """The scaffold's demo budget (trainer.max_steps, a tiny model) sizes the demo only:
    `platform run NAME --data FILE --max-time ...` trains on the core's defaults and the budget given."""
    name, root, module = generated("token")
    data = tmp_path / "slots.jsonl"
    data.write_text("".join(
        json.dumps({"words": ["fly", "to", city, "today"], "tags": ["O", "O", "B-LOC", "O"]}) + "\n"
        for city in ("oslo", "rome", "lima", "cairo", "berlin", "paris") * 4
    ))
    out = tmp_path / "run"
    with temporary_plugin(module, name):
        assert module.task.GenTokenTask.demo_settings["trainer.max_steps"] == 300
        code, output = invoke(runner, "run", name, "--data", str(data), "--max-time", "00:00:00:02", "--out", str(out),
                              "--set", "model.d_model=32", "--set", "tokenizer.vocab_size=60", "--quiet")
    assert code == 0, output
    config = tomllib.loads((out / "config.toml").read_text())
    assert (config["trainer"]["max_steps"], config["trainer"]["max_time"]) == (-1, "00:00:00:02")
    assert (config["model"]["preset"], config["trainer"]["lr"]) == ("small", 0.0007)  # the core's, not the demo's


def _entry_point_site(root: Path, name: str, site: Path) -> dict[str, str]:
    """An environment where the generated package is installed through its entry point, without pip."""
    info = site / f"tasklight_{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tasklight-{name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[tasklight]\n{name} = tasklight_{name}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLIGHT_")}
    # Keep PYTHONPATH: where it names a checkout (not installed), that tasklight is the one under test.
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(site), str(root), os.environ.get("PYTHONPATH")])), OMP_NUM_THREADS="1")
    return env


# Each kind's default run learns its demo. Measured with `platform run mytask` (seed 42, one
# thread): exact match 100.0 (seq2seq), accuracy 100.0 (classification), exact match 100.0
# (span), perplexity 2.16 with a 300-token vocabulary (lm), entity F1 99.6 (token). The
# bounds leave some room.
LEARNED = {"seq2seq": 90.0, "classification": 95.0, "span": 95.0, "lm": 3.0, "token": 90.0}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_generated_plugin_runs_and_its_pytest_passes_when_installed(tmp_path, kind):
    name = f"my_{kind}"
    done = subprocess.run([sys.executable, "-m", "tasklight", "new-plugin", name, "--kind", kind, "--dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = tmp_path / f"tasklight-{name}"
    env = _entry_point_site(root, name, tmp_path / "site")
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "tasklight", "run", name, "--out", str(out), "--quiet", "--set", "trainer.threads=1"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "metrics.json").read_text())
    metric, higher = KIND_METRICS[kind]
    value = record["metrics"][f"{name}_{metric}"]["value"]
    assert value >= LEARNED[kind] if higher else value <= LEARNED[kind], (kind, value)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q"], capture_output=True, text=True, env=env, cwd=root, timeout=900)
    assert tests.returncode == 0, tests.stdout[-3000:]
