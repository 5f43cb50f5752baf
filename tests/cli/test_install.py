"""``platform install`` / ``platform uninstall``: pip for tasklight's own environment,
never loading plugins (so a broken plugin can always be removed)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tasklight
from tasklight import plugins
from tasklight.cli import install
from tests.conftest import invoke


@pytest.fixture
def fake_pip(monkeypatch):
    calls: list[list[str]] = []

    def call(argv, **kwargs):
        calls.append(list(argv))
        return 3

    monkeypatch.setattr(install.subprocess, "call", call)
    return calls


def test_install_runs_pip_of_this_interpreter_with_every_argument(runner, fake_pip):
    code, _ = invoke(runner, "install", "-e", "examples/tasklight-sentiment", "--upgrade")
    assert code == 3  # pip's own exit code
    assert fake_pip == [[sys.executable, "-m", "pip", "install", "-e", "examples/tasklight-sentiment", "--upgrade"]]


def test_uninstall_runs_pip_uninstall(runner, fake_pip):
    code, _ = invoke(runner, "uninstall", "-y", "tasklight-sentiment", "tasklight-other")
    assert code == 3
    assert fake_pip == [[sys.executable, "-m", "pip", "uninstall", "-y", "tasklight-sentiment", "tasklight-other"]]


def test_install_needs_a_package(runner, fake_pip):
    code, output = invoke(runner, "install")
    assert code == 2 and "Missing argument 'ARGS...'" in output
    assert fake_pip == []


def test_help_is_not_passed_to_pip(runner, fake_pip):
    code, output = invoke(runner, "install", "--help")
    assert code == 0 and "Every argument goes to `pip install` unchanged" in output
    assert fake_pip == []


def test_install_and_uninstall_never_load_plugins(runner, fake_pip, monkeypatch):
    def refuse():
        raise AssertionError("plugins were loaded")

    monkeypatch.setattr(plugins, "get_platform", refuse)
    assert invoke(runner, "install", "tasklight-x")[0] == 3
    assert invoke(runner, "uninstall", "-y", "tasklight-x")[0] == 3


def test_missing_pip_is_one_clear_line(runner, monkeypatch):
    monkeypatch.setattr(install.importlib.util, "find_spec", lambda name: None)
    code, output = invoke(runner, "install", "tasklight-x")
    assert code == 2
    assert output.strip() == f"Error: pip is not installed for {sys.executable}; add it with: {sys.executable} -m ensurepip"


def broken_wheel(folder: Path) -> Path:
    """A real wheel of a plugin that raises on import (built by hand: no network, no build backend)."""
    files = {
        "tasklight_kaput.py": "raise RuntimeError('kaput at import')\n",
        "tasklight_kaput-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tasklight-kaput\nVersion: 1.0\n",
        "tasklight_kaput-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "tasklight_kaput-1.0.dist-info/entry_points.txt": "[tasklight]\nkaput = tasklight_kaput\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("tasklight_kaput-1.0.dist-info/RECORD,,")
    files["tasklight_kaput-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = folder / "tasklight_kaput-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


def environment_on_top(env_dir: Path) -> str:
    """A fresh virtual environment that sees every package this interpreter sees; its python.

    ``venv --system-site-packages`` is not enough: made from a venv's interpreter, it sees
    the base installation's packages, not the venv's (where tasklight is). So the new
    environment gets a ``.pth`` file that adds this interpreter's import path as site
    directories (their own ``.pth`` files, editable installs among them, included), after
    its own site-packages, where ``platform install`` then puts the plugin.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    outer = [p for p in sys.path if p and Path(p).is_dir()]
    (Path(own) / "_outer_environment.pth").write_text(
        f"import site; list(map(site.addsitedir, {outer!r}))\n", encoding="utf-8"
    )
    return str(python)


def test_a_broken_plugin_installs_is_reported_and_uninstalls(tmp_path):
    """In a virtual environment on top of this one (whether this one is a venv or not):
    platform install a real wheel of a plugin that raises on import, platform tasks still
    works and names it, platform uninstall removes it."""
    python = environment_on_top(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLIGHT_", "PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def platform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-m", "tasklight", *args], capture_output=True, text=True, env=env, timeout=300)

    here = subprocess.run([python, "-c", "import sys, tasklight; print(sys.prefix); print(tasklight.__file__)"],
                          capture_output=True, text=True, env=env, check=True).stdout.split("\n")
    assert Path(here[0]).resolve() == (tmp_path / "venv").resolve()  # pip installs there, not here
    assert here[1] == tasklight.__file__  # the code under test, not another install of it
    wheel = broken_wheel(tmp_path)
    done = platform("install", "--no-index", "--no-deps", str(wheel))
    assert done.returncode == 0, done.stderr
    tasks = platform("tasks", "--json")
    assert tasks.returncode == 0, tasks.stderr
    assert '"name": "translation"' in tasks.stdout
    assert [line for line in tasks.stderr.splitlines() if line.strip()] == [
        "Warning: plugin 'kaput' (tasklight-kaput) failed to import: RuntimeError: kaput at import; skipped"
    ]
    done = platform("uninstall", "-y", "tasklight-kaput")
    assert done.returncode == 0, done.stderr
    assert "Successfully uninstalled tasklight-kaput-1.0" in done.stdout
    after = platform("tasks", "--json")
    assert after.returncode == 0 and "kaput" not in after.stderr
    assert platform("uninstall", "-y", "tasklight-kaput").stderr.count("not installed") == 1
