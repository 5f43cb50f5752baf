"""docs/plugins.md documents every hook and every public name, and every hook has a test of its own.

A hook is documented when docs/plugins.md holds its call form as ``inspect.signature``
gives it (``register_tasks(register)``), its typed signature
(``def register_tasks(register: Callable[[Task], None]) -> None``), and a section that
says when it is called, what it returns, and an example implementing it. A hook is
tested when a test named ``test_hook_<hook>`` exists somewhere under tests/
(datasette's ``test_plugin_hooks_have_tests``). A public name is documented when the
"Public API" section's tables list it: exactly ``tasklight.__all__`` and
``tasklight.testing.__all__``, no name missing and none stale.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import tasklight
import tasklight.testing
from tasklight import hookspecs

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "plugins.md"
HOOKS = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "tasklight_spec"))


def call_form(name: str) -> str:
    """``register_tasks(register)``: the hook's name and argument names."""
    return f"{name}({', '.join(inspect.signature(getattr(hookspecs, name)).parameters)})"


def typed_form(name: str) -> str:
    """``def register_tasks(register: Callable[[Task], None]) -> None``: the exact signature,
    its (postponed, string) annotations shown as written in hookspecs.py."""
    return f"def {name}{inspect.signature(getattr(hookspecs, name))}".replace("'", "")


def section(name: str) -> str:
    text = DOCS.read_text()
    match = re.search(rf"^### `{re.escape(call_form(name))}`\n(.*?)(?=^### |\Z)", text, re.S | re.M)
    assert match, f"docs/plugins.md has no section headed ### `{call_form(name)}`"
    return match.group(1)


def test_the_hooks_are_the_ones_this_test_knows():
    assert HOOKS == sorted(
        ["on_results", "register_adapters", "register_callbacks", "register_commands", "register_metrics", "register_tasks"]
    )


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_its_exact_signature(name):
    body = section(name)
    assert typed_form(name) in body, f"docs/plugins.md: the section of {name} lacks `{typed_form(name)}`"
    assert "**When:**" in body and "**Returns:**" in body, f"docs/plugins.md: say when {name} is called and what it returns"
    example = re.search(r"```python\n(@tasklight\.hookimpl\ndef (\w+)\(.*?)```", body, re.S)
    assert example and example.group(2) == name, f"docs/plugins.md: the section of {name} needs an example implementing it"
    ast.parse(example.group(1))  # the example is valid Python


def _test_names() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test_of_its_own(name):
    assert f"test_hook_{name}" in _test_names(), f"no test named test_hook_{name} under tests/"


def test_docs_link_to_the_example_package_and_name_the_commands():
    text = DOCS.read_text()
    for needed in ("platform new-plugin", "platform install", "platform uninstall", "TASKLIGHT_TRACE_PLUGINS",
                   "TASKLIGHT_LOAD_PLUGINS", "check_task", "twine upload", "](../examples/tasklight-sentiment)"):
        assert needed in text, needed
    assert (REPO / "examples" / "tasklight-sentiment" / "pyproject.toml").is_file()


def _public_api_tables() -> list[set[str]]:
    """The names in the first column of each table of the "Public API" section."""
    text = DOCS.read_text()
    match = re.search(r"^## \d+\. Public API\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "docs/plugins.md has no '## N. Public API' section"
    tables: list[set[str]] = []
    for block in re.split(r"\n\n(?=\| name)", match.group(1))[1:]:
        rows = [line for line in block.splitlines() if line.startswith("| `")]
        tables.append({name for row in rows for name in re.findall(r"`([^`]+)`", row.split(" | ")[0])})
    return tables


def test_every_public_name_is_documented():
    package, testing = _public_api_tables()
    assert package == set(tasklight.__all__), f"undocumented: {set(tasklight.__all__) - package}; stale: {package - set(tasklight.__all__)}"
    assert testing == set(tasklight.testing.__all__), f"undocumented: {set(tasklight.testing.__all__) - testing}; stale: {testing - set(tasklight.testing.__all__)}"


def test_every_public_name_resolves():
    for name in tasklight.__all__:
        assert getattr(tasklight, name) is not None, name
