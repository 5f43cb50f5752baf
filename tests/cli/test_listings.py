"""List commands in a pipe and on a terminal: plain rows, whole names, --json everywhere."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from rich.console import Console
from tasklight_translation.task import TranslationTask

import tasklight
from tasklight.cli.listing import Column, print_table, table_of
from tasklight.cli.tasks import COLUMNS as TASK_COLUMNS
from tasklight.plugins import temporary_plugin
from tests.conftest import invoke

LONG_NAME = "summarization_of_very_long_meeting_transcripts"


class LongNamedTask(TranslationTask):
    name = LONG_NAME
    description = "A task whose name and description are longer than any terminal is wide: " + "word " * 20


def test_tasks_in_a_pipe_are_plain_rows_that_grep_finds(runner):
    code, out = invoke(runner, "tasks")
    assert code == 0
    (row,) = [line for line in out.splitlines() if "summarization" in line]  # `platform tasks | grep summarization`
    assert row == (
        "summarization\t1\tencoder-decoder\trougeLsum,rouge1,rouge2,rougeL\tsummarization\t"
        "Summarize a document or dialogue (ROUGE-1/2/L/Lsum with rouge-score, stemmer on)."
    )
    assert [line.split("\t")[0] for line in out.splitlines()] == ["generation", "intent", "qa", "summarization", "translation"]


def test_a_long_task_name_is_never_cut(runner):
    plugin = SimpleNamespace(register_tasks=tasklight.hookimpl(lambda register: register(LongNamedTask())))
    with temporary_plugin(plugin, "long-plugin-name-for-a-listing"):
        code, out = invoke(runner, "tasks")
        assert code == 0
        (row,) = [line for line in out.splitlines() if line.startswith(LONG_NAME)]
        assert row.split("\t") == [
            LONG_NAME, "1", "encoder-decoder", "bleu,chrf", "long-plugin-name-for-a-listing", LongNamedTask.description.strip(),
        ]
        code, out = invoke(runner, "plugins")
        assert code == 0
        assert "long-plugin-name-for-a-listing\t?\t?\tregister_tasks\t-" in out.splitlines()


def test_on_a_terminal_the_table_widens_rather_than_cut_a_name():
    rows = [{"name": LONG_NAME, "version": "1", "shape": "encoder-decoder", "metrics": ["rougeLsum", "rouge1"],
             "plugin": "some-plugin", "description": LongNamedTask.description}]
    out = io.StringIO()
    print_table(table_of(rows, TASK_COLUMNS, "tasks"), Console(file=out, width=40, color_system=None))
    text = out.getvalue()
    assert f"│ {LONG_NAME} │" in text and "│ rougeLsum " in text and "│ some-plugin │" in text
    assert "…" not in text


def test_an_identifier_list_is_one_name_a_line_in_a_table():
    out = io.StringIO()
    table = table_of([{"name": "a", "hooks": ["register_metrics", "register_tasks"]}], [Column("name", "plugin"), Column("hooks", "hooks")], "t")
    print_table(table, Console(file=out, width=80, color_system=None))
    assert "│ a      │ register_metrics │" in out.getvalue() and "│        │ register_tasks   │" in out.getvalue()


def test_plugins_in_a_pipe_are_plain_rows(runner):
    code, out = invoke(runner, "plugins", "--all")
    assert code == 0
    rows = {line.split("\t")[0]: line for line in out.splitlines()}
    assert rows["translation"] == f"translation\t{tasklight.__version__}\ttasklight\tregister_metrics,register_tasks\t-"
    assert rows["tasklight.formats"] == f"tasklight.formats\t{tasklight.__version__}\ttasklight\tregister_adapters\t-"


def test_every_listing_has_json(runner):
    for args in (["tasks"], ["plugins", "--all"], ["bench"]):
        code, out = invoke(runner, *args, "--json")
        assert code == 0, out
        assert isinstance(json.loads(out), list) and json.loads(out), args
    code, out = invoke(runner, "bench", "--json")
    (smoke,) = [row for row in json.loads(out) if row["name"] == "smoke"]
    assert (smoke["entries"], smoke["runs"]) == (5, 6) and smoke["description"].startswith("All five tasks")


def test_bench_json_with_a_suite_is_one_line(runner):
    code, out = invoke(runner, "bench", "smoke", "--json")
    assert code == 2
    assert out.strip() == "Error: --json lists the suites: give no SUITE (platform bench --json)"
