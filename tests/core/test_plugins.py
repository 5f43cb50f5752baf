"""The plugin manager: entry points, the allowlist, and isolation of broken plugins."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import tasklight
from tasklight import hookspecs, plugins
from tasklight.plugins import get_platform, temporary_plugin


def make_distribution(root: Path, dist: str, module: str, code: str, entry_name: str | None = None) -> Path:
    """An installed-looking distribution (dist-info + module) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(code))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[tasklight]\n{entry_name or dist} = {module}\n")
    return root


def platform_cli(args: list[str], pythonpath: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("TASKLIGHT_")}
    environ["PYTHONPATH"] = str(pythonpath)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from tasklight.cli import main; main()", *args],
        capture_output=True, text=True, env=environ, timeout=120,
    )


def test_builtin_translation_comes_through_the_entry_point_group():
    platform = get_platform()
    info = platform.plugins["translation"]
    assert info.distribution == "tasklight" and info.module == "tasklight_translation"
    assert info.hooks == ["register_metrics", "register_tasks"]
    assert platform.tasks.owner("translation") == "translation"
    assert platform.metrics.get("bleu").higher_is_better is True


def test_allowlist_limits_loading(monkeypatch):
    monkeypatch.setenv("TASKLIGHT_LOAD_PLUGINS", "some-other-dist")
    platform = get_platform()
    assert "translation" not in platform.tasks
    plugins.reset()
    monkeypatch.setenv("TASKLIGHT_LOAD_PLUGINS", "nothing, translation")
    assert "translation" in get_platform().tasks


def test_plugin_raising_on_import_is_reported_and_the_cli_still_works(tmp_path):
    site = make_distribution(tmp_path / "site", "tasklight-broken", "tasklight_broken", "raise RuntimeError('boom at import')\n")
    done = platform_cli(["tasks"], site)
    assert done.returncode == 0, done.stderr
    assert "translation" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert warnings == [
        "Warning: plugin 'tasklight-broken' (tasklight-broken) failed to import: RuntimeError: boom at import; skipped"
    ]
    assert "Traceback" not in done.stderr
    listed = platform_cli(["plugins", "--json"], site)
    assert listed.returncode == 0
    assert '"failed to import: RuntimeError: boom at import"' in listed.stdout


def test_plugin_with_unknown_hook_is_skipped_by_name(tmp_path):
    code = """
    import tasklight

    @tasklight.hookimpl
    def register_taskz(register):
        pass
    """
    site = make_distribution(tmp_path / "site", "tasklight-typo", "tasklight_typo", code)
    done = platform_cli(["tasks"], site)
    assert done.returncode == 0 and "translation" in done.stdout
    assert "plugin 'tasklight-typo' (tasklight-typo) implements unknown hook(s): register_taskz; skipped" in done.stderr


def test_duplicate_task_name_is_reported_and_the_first_kept():
    class Impostor(tasklight.Task):
        name = "translation"
        description = "not the real one"
        shape = "encoder-only"
        metrics = ("bleu",)

    Impostor.__abstractmethods__ = frozenset()
    plugin = SimpleNamespace(register_tasks=tasklight.hookimpl(lambda register: register(Impostor())))
    with temporary_plugin(plugin, "impostor") as platform:
        assert platform.tasks.owner("translation") == "translation"
        assert any("task 'translation' from plugin 'impostor' clashes" in w for w in platform.warnings)


def test_hook_that_raises_loses_only_its_own_registrations():
    def register_metrics(register):
        register(tasklight.Metric("half", True, lambda p, r: tasklight.MetricValue(0.5)))
        raise ValueError("second metric broke")

    plugin = SimpleNamespace(register_metrics=tasklight.hookimpl(register_metrics))
    with temporary_plugin(plugin, "flaky") as platform:
        assert "half" not in platform.metrics
        assert "bleu" in platform.metrics
        assert any("'flaky' register_metrics failed: ValueError: second metric broke" in w for w in platform.warnings)


def test_every_hook_is_documented_and_tested():
    """Each hookspec has a docstring with an example, and a test in this suite names it."""
    tests = "\n".join(p.read_text() for p in Path(__file__).resolve().parents[1].rglob("test_*.py"))
    specs = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "tasklight_spec")]
    assert set(specs) == {"register_tasks", "register_adapters", "register_metrics", "register_commands", "register_callbacks", "on_results"}
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Example::" in doc and "@tasklight.hookimpl" in doc, name
        assert re.search(rf"def {name}\(|{name}=tasklight\.hookimpl", tests), f"no test implements {name}"


def test_register_commands_adds_a_cli_command(runner):
    import click

    from tasklight.cli import cli

    def register_commands(cli):
        @cli.command()
        def hello():
            """Say hello."""
            click.echo("hello from a plugin")

    plugin = SimpleNamespace(register_commands=tasklight.hookimpl(register_commands))
    with temporary_plugin(plugin, "greeter"):
        cli.__dict__.pop("_extra", None)
        result = runner.invoke(cli, ["hello"])
        assert result.exit_code == 0 and result.output == "hello from a plugin\n"
    cli.__dict__.pop("_extra", None)


def test_register_adapters_makes_a_format_readable(tmp_path):
    def register_adapters(register):
        def read_pipe(path):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                source, target = line.split("|")
                yield number, {"source": source, "target": target}

        register(tasklight.Adapter("pipe", (".pipe",), read_pipe))

    from tasklight.config import load_config
    from tasklight.data.sources import load_splits

    data = tmp_path / "pairs.pipe"
    data.write_text("a b|x y\nc d|z w\ne f|u v\n")
    plugin = SimpleNamespace(register_adapters=tasklight.hookimpl(register_adapters))
    with temporary_plugin(plugin, "pipes") as platform:
        task = platform.tasks.get("translation")
        ctx = tasklight.TaskContext(load_config("translation", task.settings, demo=False, overrides=["data.val_fraction=0.34"]), platform.metrics.get)
        splits = load_splits(task, str(data), ctx, platform.adapters)
        assert len(splits["train"].examples) == 2 and len(splits["validation"].examples) == 1
        assert {e.source for e in splits["train"].examples + splits["validation"].examples} == {"a b", "c d", "e f"}


def test_trace_env_prints_hook_calls(tmp_path):
    done = platform_cli(["tasks"], tmp_path, TASKLIGHT_TRACE_PLUGINS="1")
    assert done.returncode == 0
    assert "register_tasks" in done.stderr
