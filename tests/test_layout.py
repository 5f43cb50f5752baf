"""The layout rules that keep the core generic and the plugins honest, checked mechanically.

- Built-in plugins import only the public API (``tasklight`` and ``tasklight.testing``),
  exactly as a third-party plugin must, never core internals.
- The core names no task: no string in core code is a built-in task's name and no core
  module imports a plugin; tasks reach the core only through hooks.
- Built-in plugins are found through the ``tasklight`` entry-point group, declared in
  pyproject.toml as an outside package declares its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "core" / "tasklight"
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if p.is_dir() and p.name.startswith("tasklight_"))
BUILTIN_TASKS = ("translation", "summarization", "qa", "intent", "generation")
PUBLIC = ("tasklight", "tasklight.testing")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_plugins_import_only_the_public_api():
    offenders = []
    for plugin in PLUGINS:
        for path in plugin.rglob("*.py"):
            for module in _imports(path):
                if module.startswith("tasklight.") and module not in PUBLIC:
                    offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_core_names_no_task():
    """No string in core code (docstrings and help text aside) is a task's name, and no
    plugin module is imported: the core reaches tasks only through hooks."""
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for line, value in _string_constants(tree):
            if value.strip().lower() in BUILTIN_TASKS:
                offenders.append(f"{path.relative_to(REPO)}:{line}: {value!r}")
        for module in _imports(path):
            if module.startswith(tuple(p.name for p in PLUGINS)):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_builtin_plugins_are_declared_as_entry_points():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = project["project"]["entry-points"]["tasklight"]
    assert declared == {p.name.removeprefix("tasklight_"): p.name for p in PLUGINS}
