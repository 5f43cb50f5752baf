"""The plugin manager: entry points, the load allowlist, broken-plugin isolation.

Plugins are found through the entry-point group ``tasklight``; the built-in tasks
are declared there too. One broken plugin is reported in one line and skipped,
never allowed to take the CLI down (simonw/llm#1280 is the failure we avoid).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from tasklight import formats, hookspecs
from tasklight.config import max_time_seconds
from tasklight.errors import UserError
from tasklight.registry import Registry, RegistryClash
from tasklight.task import SHAPES, Adapter, Metric, Task

GROUP = "tasklight"
CORE_DIST = "tasklight"  # the distribution of the built-in plugins: they load first
LOAD_ENV = "TASKLIGHT_LOAD_PLUGINS"
TRACE_ENV = "TASKLIGHT_TRACE_PLUGINS"
DEFAULT_PLUGINS: tuple[ModuleType, ...] = (formats,)


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    builtin: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "hooks": self.hooks,
            "errors": self.errors,
        }


class Platform:
    """Loaded plugins and the registries they filled."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.warnings: list[str] = []
        self._registries: tuple[Registry[Task], Registry[Adapter], Registry[Metric]] | None = None
        self.tracing = os.environ.get(TRACE_ENV, "") not in ("", "0")
        if self.tracing:
            self.pm.add_hookcall_monitoring(self._before, self._after)

    # ---- TASKLIGHT_TRACE_PLUGINS=1: each hook call with its arguments and results -------
    def _before(self, hook: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        names = ", ".join(i.plugin_name for i in impls)
        print(f"[tasklight] call {hook}({_short(kwargs)}) -> plugins: {names or 'none'}", file=sys.stderr)

    def _after(self, outcome: Any, hook: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        error = outcome.exception
        shown = f"raised {type(error).__name__}: {error}" if error else f"returned {outcome.get_result()!r}"
        print(f"[tasklight] {hook} {shown}", file=sys.stderr)

    # ---- loading ----------------------------------------------------------------------
    def load_defaults(self) -> None:
        for module in DEFAULT_PLUGINS:
            self.register(module, PluginInfo(module.__name__, "tasklight", _version("tasklight"), module.__name__, builtin=True))

    def load_entry_points(self) -> None:
        allow = _allowlist()
        # tasklight's own plugins first: a task name it ships "already exists" for any other.
        for ep in sorted(_entry_points(), key=lambda e: (_norm(e.dist.name if e.dist else "?") != CORE_DIST, e.name)):
            dist = ep.dist.name if ep.dist else "?"
            if allow is not None and _norm(ep.name) not in allow and _norm(dist) not in allow:
                continue
            if ep.name in self.plugins:
                self._warn(f"plugin {ep.name!r} from {dist} skipped: the name is already taken")
                continue
            info = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else "?", ep.value)
            try:
                module = ep.load()
            except BaseException as err:  # a plugin may raise anything, SystemExit included
                if isinstance(err, KeyboardInterrupt):
                    raise
                self._fail(info, f"failed to import: {type(err).__name__}: {err}")
                continue
            self.register(module, info)

    def register(self, plugin: object, info: PluginInfo | None = None) -> bool:
        """Register a plugin object (a module or any object with hookimpls)."""
        name = info.name if info else getattr(plugin, "__name__", repr(plugin))
        info = info or PluginInfo(name, "?", "?", name)
        unknown = [n for n in _hookimpl_names(plugin) if not hasattr(hookspecs, n)]
        if unknown:
            self._fail(info, f"implements unknown hook(s): {', '.join(unknown)}")
            return False
        try:
            self.pm.register(plugin, name=name)
        except Exception as err:  # pluggy validation: wrong arguments for a hook
            self._fail(info, f"invalid: {err}")
            return False
        info.hooks = sorted(_hookimpl_names(plugin))
        self.plugins[name] = info
        self._registries = None
        return True

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.plugins.pop(name, None)
        self._registries = None

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.errors.append(message)
        self.plugins.setdefault(info.name, info)
        self._warn(f"plugin {info.name!r} ({info.distribution}) {message}; skipped")

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"Warning: {message}", file=sys.stderr)

    # ---- registries ---------------------------------------------------------------------
    @property
    def tasks(self) -> Registry[Task]:
        return self._build()[0]

    @property
    def adapters(self) -> Registry[Adapter]:
        return self._build()[1]

    @property
    def metrics(self) -> Registry[Metric]:
        return self._build()[2]

    def _build(self) -> tuple[Registry[Task], Registry[Adapter], Registry[Metric]]:
        if self._registries is None:
            tasks: Registry[Task] = Registry("task")
            adapters: Registry[Adapter] = Registry("adapter")
            metrics: Registry[Metric] = Registry("metric")
            self._collect("register_tasks", tasks, Task, _check_task)
            self._collect("register_adapters", adapters, Adapter, None)
            self._collect("register_metrics", metrics, Metric, None)
            self._registries = (tasks, adapters, metrics)
        return self._registries

    def _collect(self, hook: str, registry: Registry[Any], kind: type, check: Callable[[Any], None] | None) -> None:
        # Each implementation is called on its own so that we know who registered
        # what, and so that one failing plugin cannot stop the others.
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # registration order: first wins
            owner = impl.plugin_name

            def register(item: Any, owner: str = owner) -> None:
                if not isinstance(item, kind):
                    raise TypeError(f"{hook} expects {kind.__name__} objects, got {type(item).__name__}")
                if check is not None:
                    check(item)
                if self.tracing:
                    print(f"[tasklight] {hook}: plugin {owner!r} registered {kind.__name__} {item.name!r}", file=sys.stderr)
                try:
                    registry.add(item.name, item, owner)
                except RegistryClash as clash:
                    self._warn(f"{clash}; skipped")
                    if owner in self.plugins:
                        self.plugins[owner].errors.append(str(clash))

            if self.tracing:
                print(f"[tasklight] call {hook}(register) on plugin {owner!r}", file=sys.stderr)
            try:
                result = impl.function(**({"register": register} if impl.argnames else {}))
                if self.tracing:
                    print(f"[tasklight] {hook} on plugin {owner!r} returned {result!r}", file=sys.stderr)
            except Exception as err:
                registry.remove_owner(owner)
                info = self.plugins.get(owner) or PluginInfo(owner, "?", "?", owner)
                info.errors.append(f"{hook} failed: {type(err).__name__}: {err}")
                self._warn(f"plugin {owner!r} {hook} failed: {type(err).__name__}: {err}; skipped")

    def callbacks(self, task: Task, config: Any) -> list[Any]:
        found: list[Any] = []
        for result in self.pm.hook.register_callbacks(task=task, config=config):
            found.extend(result or [])
        return found

    def results(self, record: dict[str, Any]) -> None:
        self.pm.hook.on_results(record=record)


def _short(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={str(v)[:80]}" for k, v in kwargs.items())


def _check_task(task: Task) -> None:
    for attr in ("name", "description", "version", "shape", "metrics"):
        if not getattr(task, attr, None):
            raise TypeError(f"task {type(task).__name__} has no {attr}")
    if task.shape not in SHAPES:
        raise TypeError(f"task {task.name!r} has shape {task.shape!r}; expected one of {', '.join(SHAPES)}")
    for attr in ("settings", "demo_settings", "budget_settings"):
        if not isinstance(getattr(task, attr), dict):
            raise TypeError(f"task {task.name!r}: {attr} must be a dict of config keys, got {type(getattr(task, attr)).__name__}")
    for limit, entry in task.budget_settings.items():
        if not _is_max_time(limit) or not isinstance(entry, dict) or "trainer.max_time" in entry:
            raise TypeError(f"task {task.name!r}: budget_settings maps --max-time limits (DD:HH:MM:SS) to dicts of config "
                            f"keys other than trainer.max_time; got {limit!r}")
    if not isinstance(task.adapters, tuple) or not all(isinstance(a, Adapter) for a in task.adapters):
        raise TypeError(f"task {task.name!r}: adapters must be a tuple of tasklight.Adapter")


def _is_max_time(text: object) -> bool:
    try:
        return isinstance(text, str) and max_time_seconds(text) > 0
    except UserError:
        return False


def _hookimpl_names(plugin: object) -> list[str]:
    marker = f"{GROUP}_impl"
    return [n for n in dir(plugin) if not n.startswith("_") and hasattr(getattr(plugin, n, None), marker)]


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=GROUP))


def _allowlist() -> set[str] | None:
    raw = os.environ.get(LOAD_ENV)
    if raw is None:
        return None
    return {_norm(n) for n in raw.split(",") if n.strip()}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"


_platform: Platform | None = None


def get_platform() -> Platform:
    """The process-wide Platform, loading plugins on first use."""
    global _platform
    if _platform is None:
        platform = Platform()
        platform.load_defaults()
        platform.load_entry_points()
        _platform = platform
    return _platform


def reset() -> None:
    """Forget loaded plugins (tests; a long-lived process after an install)."""
    global _platform
    _platform = None


@contextmanager
def temporary_plugin(plugin: object, name: str = "temporary") -> Iterator[Platform]:
    """Register a plugin for the duration of a block (tests, notebooks)."""
    platform = get_platform()
    ok = platform.register(plugin, PluginInfo(name, "?", "?", name))
    try:
        yield platform
    finally:
        if ok:
            platform.unregister(name)
        else:
            platform.plugins.pop(name, None)
