"""The plugin manager: entry points, the allowlist, and isolation of broken plugins."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from tasklight_translation.task import TranslationTask

import tasklight
from tasklight import hookspecs, plugins
from tasklight.plugins import get_platform, temporary_plugin
from tasklight.testing import ConformanceError, check_settings
from tests.conftest import TINY, invoke


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
    # Keep PYTHONPATH: where it names a checkout (not installed), that tasklight is the one under test.
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))
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


def test_hook_register_commands(runner):
    """A plugin's click command becomes a ``platform`` command."""
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


def test_hook_register_adapters(tmp_path):
    """A plugin's file format becomes readable by every task."""
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


def test_trace_env_prints_each_hook_call_with_arguments_and_results(tmp_path):
    done = platform_cli(["tasks"], tmp_path, TASKLIGHT_TRACE_PLUGINS="1")
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert "[tasklight] call register_tasks(register) on plugin 'translation'" in lines
    assert "[tasklight] register_tasks: plugin 'translation' registered Task 'translation'" in lines
    assert "[tasklight] register_tasks on plugin 'translation' returned None" in lines
    assert "[tasklight] call register_metrics(register) on plugin 'translation'" in lines


def test_trace_env_prints_calls_and_results_of_broadcast_hooks(monkeypatch, capsys):
    monkeypatch.setenv("TASKLIGHT_TRACE_PLUGINS", "1")
    plugin = SimpleNamespace(on_results=tasklight.hookimpl(lambda record: "published"))
    with temporary_plugin(plugin, "publisher") as platform:
        platform.results({"task": {"name": "demo"}})
    err = capsys.readouterr().err.splitlines()
    assert "[tasklight] call on_results(record={'task': {'name': 'demo'}}) -> plugins: publisher" in err
    assert "[tasklight] on_results returned ['published']" in err


def test_duplicate_task_from_an_installed_package_is_one_line_and_builtins_win(tmp_path):
    """An entry point that sorts before the built-ins still cannot take a built-in task's name."""
    code = """
    import tasklight

    class Impostor(tasklight.Task):
        name = "translation"
        description = "not the real one"
        shape = "encoder-only"
        metrics = ("bleu",)

    Impostor.__abstractmethods__ = frozenset()

    @tasklight.hookimpl
    def register_tasks(register):
        register(Impostor())
    """
    site = make_distribution(tmp_path / "site", "aaa-impostor", "aaa_impostor", code)
    done = platform_cli(["tasks", "--json"], site)
    assert done.returncode == 0, done.stderr
    assert '"plugin": "translation"' in done.stdout and "not the real one" not in done.stdout
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "Warning: task 'translation' from plugin 'aaa-impostor' clashes with the one from plugin 'translation'; skipped"
    ]
    assert "Traceback" not in done.stderr


def test_plugins_command_shows_name_version_distribution_hooks_and_errors(tmp_path):
    working = "import tasklight\n\n@tasklight.hookimpl\ndef on_results(record):\n    pass\n"
    site = make_distribution(tmp_path / "site", "tasklight-fine", "tasklight_fine", working)
    make_distribution(tmp_path / "site", "tasklight-broken", "tasklight_broken", "raise ImportError('no such thing')\n")
    done = platform_cli(["plugins", "--json"], site)
    assert done.returncode == 0
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["tasklight-fine"] == {
        "name": "tasklight-fine", "distribution": "tasklight-fine", "version": "1.2.3", "module": "tasklight_fine",
        "hooks": ["on_results"], "errors": [],
    }
    assert rows["tasklight-broken"]["errors"] == ["failed to import: ImportError: no such thing"]
    assert rows["translation"]["hooks"] == ["register_metrics", "register_tasks"]
    rows_out = platform_cli(["plugins"], site)  # a pipe, not a terminal: plain tab-separated rows
    assert rows_out.returncode == 0
    lines = rows_out.stdout.splitlines()
    assert "tasklight-fine\t1.2.3\ttasklight-fine\ton_results\t-" in lines
    assert "tasklight-broken\t1.2.3\ttasklight-broken\t-\tfailed to import: ImportError: no such thing" in lines


# ---- every hook has a test of its own (tests/test_docs.py checks the names) ---------------

class EchoTask(TranslationTask):
    """A second task built from the translation plugin's class, under a name of its own."""

    name = "echo"
    description = "Repeat the source."


def test_hook_register_tasks(runner):
    """A registered task is listed, owned by its plugin, and runs through the same registry."""
    plugin = SimpleNamespace(register_tasks=tasklight.hookimpl(lambda register: register(EchoTask())))
    with temporary_plugin(plugin, "echo-plugin") as platform:
        assert isinstance(platform.tasks.get("echo"), EchoTask)
        assert platform.tasks.owner("echo") == "echo-plugin"
        code, output = invoke(runner, "tasks", "--json")
        rows = {row["name"]: row for row in json.loads(output)}
        assert code == 0 and rows["echo"]["plugin"] == "echo-plugin" and rows["echo"]["metrics"] == ["bleu", "chrf"]


BUDGETS = "task 'echo': budget_settings maps --max-time limits (DD:HH:MM:SS) to dicts of config keys other than trainer.max_time; got "


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"demo_settings": [("trainer.max_steps", 5)]}, "task 'echo': demo_settings must be a dict of config keys, got list"),
        ({"budget_settings": {"5 minutes": {"trainer.lr": 0.01}}}, BUDGETS + "'5 minutes'"),
        ({"budget_settings": {"00:00:05:00": {"trainer.max_time": "00:00:01:00"}}}, BUDGETS + "'00:00:05:00'"),
        ({"budget_settings": {"00:00:05:00": [("trainer.lr", 0.01)]}}, BUDGETS + "'00:00:05:00'"),
        ({"adapters": [tasklight.Adapter("x", (".x",), iter)]}, "task 'echo': adapters must be a tuple of tasklight.Adapter"),
        ({"adapters": ("x",)}, "task 'echo': adapters must be a tuple of tasklight.Adapter"),
    ],
)
def test_a_task_with_malformed_settings_or_adapters_is_refused_and_reported(attrs, message):
    broken = type("Broken", (EchoTask,), attrs)
    plugin = SimpleNamespace(register_tasks=tasklight.hookimpl(lambda register: register(broken())))
    with temporary_plugin(plugin, "broken-echo") as platform:
        assert "echo" not in platform.tasks
        assert platform.plugins["broken-echo"].errors == [f"register_tasks failed: TypeError: {message}"]


@pytest.mark.parametrize("table", ["demo_settings", "budget_settings"])
def test_the_conformance_kit_names_a_settings_key_that_is_neither_core_nor_the_tasks(table):
    # (a key of `settings` itself declares one of the task's own)
    value = {"trainer.max_step": 5}
    typo = type("Typo", (EchoTask,), {table: {"00:00:05:00": value} if table == "budget_settings" else value})()
    where = "budget_settings['00:00:05:00']" if table == "budget_settings" else table
    with pytest.raises(ConformanceError, match=re.escape(f"echo: {where} key 'trainer.max_step' is neither")):
        check_settings(typo)


def test_hook_register_metrics():
    """A registered metric is found by name with its direction and computes."""

    def length_ratio(predictions, references):
        return tasklight.MetricValue(sum(map(len, predictions)) / sum(map(len, references)), "length_ratio|chars")

    def register_metrics(register):
        register(tasklight.Metric("length_ratio", False, length_ratio, "output/reference length", "tasklight"))

    plugin = SimpleNamespace(register_metrics=tasklight.hookimpl(register_metrics))
    with temporary_plugin(plugin, "ratios") as platform:
        metric = platform.metrics.get("length_ratio")
        assert metric.higher_is_better is False
        assert metric.compute(["abc", "d"], ["ab", "cdef"]) == tasklight.MetricValue(4 / 6, "length_ratio|chars")
        assert platform.metrics.owner("length_ratio") == "ratios"


@pytest.fixture(scope="module")
def hooked_run(tmp_path_factory):
    """One tiny translation run with a plugin that adds a callback and receives the results."""
    import pytorch_lightning as pl

    from tasklight.cli import cli

    class CountBatches(pl.Callback):
        def __init__(self) -> None:
            self.batches = 0

        def on_train_batch_end(self, *args, **kwargs) -> None:
            self.batches += 1

    seen: dict[str, list] = {"callbacks": [], "results": []}
    counter = CountBatches()

    def register_callbacks(task, config):
        seen["callbacks"].append((task.name, config["trainer.max_steps"]))
        return [counter]

    def on_results(record):
        seen["results"].append(record)

    plugin = SimpleNamespace(register_callbacks=tasklight.hookimpl(register_callbacks), on_results=tasklight.hookimpl(on_results))
    out = tmp_path_factory.mktemp("hooked") / "run"
    plugins.reset()
    with temporary_plugin(plugin, "hooks"):
        result = CliRunner().invoke(cli, ["run", "translation", "--max-steps", "3", "--out", str(out), *TINY])
    plugins.reset()
    assert result.exit_code == 0, result.output
    return out, counter, seen


def test_hook_register_callbacks(hooked_run):
    """The hook sees the task and the resolved config; its callbacks run in the Trainer."""
    _, counter, seen = hooked_run
    assert seen["callbacks"] == [("translation", 3)]
    assert counter.batches == 3


def test_hook_on_results(hooked_run):
    """The hook gets the finished record: the content of metrics.json."""
    out, _, seen = hooked_run
    assert len(seen["results"]) == 1
    assert seen["results"][0] == json.loads((out / "metrics.json").read_text())
    assert seen["results"][0]["training"]["steps"] == 3


class ScalarLossHead(tasklight.Head):
    """A head whose loss breaks the protocol: a bare scalar instead of (loss, n_tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def loss(self, model, batch):
        return self.weight.sum() + 1.0


class ScalarLossTask(EchoTask):
    name = "scalar-loss"

    def build_head(self, model, hparams, ctx):
        return ScalarLossHead()


def test_a_head_that_breaks_the_loss_protocol_stops_the_run_with_one_line(runner, tmp_path):
    """`platform run` with such a head: exit 2 and one line naming the head and the protocol,
    not a TypeError from inside Lightning's training loop."""
    plugin = SimpleNamespace(register_tasks=tasklight.hookimpl(lambda register: register(ScalarLossTask())))
    with temporary_plugin(plugin, "scalar-loss-plugin"):
        code, output = invoke(runner, "run", "scalar-loss", *TINY, "--max-steps", "2", "--out", str(tmp_path / "run"))
    assert code == 2, output
    error = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "Traceback" not in output
    assert "ScalarLossHead.loss returned a Tensor; it must return (loss, n_tokens)" in error[0]
