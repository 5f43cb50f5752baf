"""platform.toml + per-task tables + ``--set key=value`` -> one flat, typed, validated config.

Keys are dotted (``trainer.lr``). A key's type is the type of its default; an
unknown key or a value of the wrong type is a UserError that suggests the
closest known key. ``resolve_config`` is how every command gets the config of a
run (run, resume, eval, predict, serve and the Python API).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from tasklight.data.sources import is_demo
from tasklight.data.tokenizer import KINDS
from tasklight.errors import UserError
from tasklight.task import Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CHOICES: dict[str, tuple[str, ...]] = {
    "trainer.schedule": ("auto", "inverse_sqrt", "linear", "cosine", "constant"),
    "tokenizer.kind": KINDS,
    "model.norm_position": ("pre", "post"),
}
POSITIVE: tuple[str, ...] = (
    "tokenizer.vocab_size", "data.max_length", "data.max_tokens", "data.eval_max_tokens",
    "decoding.beam_size", "decoding.max_new_tokens", "trainer.accumulate_grad_batches",
    "trainer.val_check_interval", "trainer.checkpoint_every_n_steps", "trainer.log_every_n_steps",
)
NON_NEGATIVE: tuple[str, ...] = (
    "trainer.lr", "trainer.head_lr", "trainer.warmup_steps", "trainer.weight_decay", "trainer.label_smoothing",
    "trainer.gradient_clip_val", "data.val_fraction", "data.val_metric_examples", "data.limit_train",
    "data.limit_test", "decoding.top_k", "decoding.temperature", "decoding.no_repeat_ngram_size", "trainer.threads", "eval.bootstrap",
)
MODEL_POSITIVE = ("d_model", "n_heads", "d_ff", "max_positions")
# [model] keys that are not the preset's sizes: where the weights start, what stays frozen.
MODEL_SETTINGS: tuple[str, ...] = ("preset", "init", "freeze")
# The model's dropout probabilities, each in [0, 1): settings of training, not of the model's outputs.
DROPOUTS: tuple[str, ...] = ("dropout", "attention_dropout", "word_dropout")


def default_file() -> Path:
    """The shipped platform.toml (the repository root's, linked into the package)."""
    return Path(str(resources.files("tasklight") / "platform.toml"))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: malformed TOML ({err})") from None


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class Config(Mapping[str, Any]):
    """The resolved configuration of one run: flat dotted keys -> typed values."""

    def __init__(
        self, values: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]], explicit: Iterable[str] = ()
    ) -> None:
        self._values = dict(values)
        self.presets = {k: dict(v) for k, v in presets.items()}
        # Keys the user set for this run (--set, set=, the launcher's flags), as opposed to
        # defaults and config files: a checkpoint's config.json wins over a default size, and
        # contradicting an explicit one is an error.
        self.explicit = frozenset(explicit)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def section(self, name: str) -> dict[str, Any]:
        """``section("trainer")`` -> {"lr": ..., ...}."""
        cut = len(name) + 1
        return {k[cut:]: v for k, v in self._values.items() if k.startswith(f"{name}.")}

    def model_fields(self) -> dict[str, Any]:
        """The model preset with any ``model.*`` overrides applied."""
        fields = dict(self.presets[self["model.preset"]])
        fields.update({k: v for k, v in self.section("model").items() if k not in MODEL_SETTINGS})
        return fields

    def replace(self, **changes: Any) -> Config:
        values = dict(self._values)
        values.update({k.replace("__", "."): v for k, v in changes.items()})
        return Config(values, self.presets, self.explicit)

    def to_toml(self) -> str:
        """The config as TOML (``platform run --config`` of a later version can read it)."""
        lines: list[str] = []
        sections: dict[str, list[tuple[str, Any]]] = {}
        for key, value in self._values.items():
            head, _, rest = key.partition(".")
            sections.setdefault(head, []).append((rest, value))
        for head, items in sections.items():
            lines.append(f"[{head}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in items)
            lines.append("")
        lines.append(f"[presets.{self['model.preset']}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in self.presets[self["model.preset"]].items())
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def max_time_seconds(max_time: str) -> float:
    """DD:HH:MM:SS (Lightning's max_time format) in seconds; 0 when unset."""
    if not max_time:
        return 0.0
    parts = max_time.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or any(v < 0 for v in values):
        raise UserError(f"--max-time must be DD:HH:MM:SS, got {max_time!r}")
    days, hours, minutes, seconds = values
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def resolve_config(
    task: Task,
    data: str = "demo",
    *,
    overrides: Iterable[str] = (),
    settings: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    files: Iterable[Path] = (),
) -> Config:
    """The config of a run of ``task`` on ``data`` (``--data``): the one way run, resume,
    eval, predict, serve and the Python API resolve theirs.

    ``overrides`` are ``--set key=value`` texts, ``settings`` the same as typed values
    (the Python API's ``set=``), ``cli`` the launcher's own flags, ``files`` ``--config``
    files (a finished run's config.toml among them).
    """
    files = list(files)

    def resolve(demo: bool, pretrained: bool = False, budget: str = "") -> Config:
        return load_config(
            task.name, task.settings, demo=demo, pretrained=pretrained, defaults=task_defaults(task, demo, budget),
            overrides=overrides, settings=settings, cli=cli, files=files,
        )

    config = resolve(is_demo(data))
    if is_demo(data) and not is_demo(data, config):
        config = resolve(demo=False)  # data.train=FILE: real data, so the demo's settings do not apply
    if config["model.init"]:
        return resolve(is_demo(data, config), pretrained=True)  # fine-tuning defaults: [pretrained]
    budget = config["trainer.max_time"]  # budget_settings never set it, so it is known before they apply
    if budget_settings(task, budget) and not is_demo(data, config):
        config = resolve(demo=False, budget=budget)  # a from-scratch recipe for this budget
    return config


def budget_settings(task: Task, max_time: str) -> tuple[str, Mapping[str, Any]] | None:
    """The entry of ``Task.budget_settings`` for a ``--max-time`` of ``max_time``: the one
    with the smallest limit that the budget fits under (none without a time budget)."""
    seconds = max_time_seconds(max_time)
    fits = [limit for limit in task.budget_settings if seconds and seconds <= max_time_seconds(limit)]
    if not fits:
        return None
    limit = min(fits, key=max_time_seconds)
    return limit, task.budget_settings[limit]


def task_defaults(task: Task, demo: bool, max_time: str = "") -> list[tuple[Mapping[str, Any], str]]:
    """The defaults a task declares in its own package beyond ``Task.settings`` (which are
    the defaults of its keys), as (values, where) layers: ``Task.demo_settings`` when the
    data is the task's generated demo, so a budget sized for the demo never caps a run on
    real data; on real data, the ``Task.budget_settings`` entry that a time budget of
    ``max_time`` fits under. The core's platform.toml holds core defaults only."""
    if demo:
        return [(task.demo_settings, f"task {task.name!r} demo_settings")]
    entry = budget_settings(task, max_time)
    return [(entry[1], f"task {task.name!r} budget_settings[{entry[0]!r}]")] if entry else []


def _task_tables(layer: Mapping[str, Any], path: Path, task_name: str, demo: bool) -> list[tuple[Mapping[str, Any], str]]:
    table = layer.get("tasks", {}).get(task_name, {})
    tables = [({k: v for k, v in table.items() if not isinstance(v, Mapping)}, f"{path} [tasks.{task_name}]")]
    if demo:
        tables.append((table.get("demo", {}), f"{path} [tasks.{task_name}.demo]"))
    return tables


def load_config(
    task_name: str,
    task_settings: Mapping[str, Any],
    *,
    demo: bool,
    pretrained: bool = False,
    defaults: Iterable[tuple[Mapping[str, Any], str]] = (),
    overrides: Iterable[str] = (),
    settings: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    files: Iterable[Path] = (),
) -> Config:
    """Resolve the config of a run of ``task_name`` (``resolve_config`` picks ``demo`` and
    ``pretrained``).

    Order, later wins: shipped platform.toml, ``task_settings`` (``Task.settings``), the
    task's ``defaults`` layers (``task_defaults``), the shipped ``[pretrained]`` table when
    the backbone starts from a checkpoint, ./platform.toml (if any) and extra ``files``,
    each with its own ``[tasks.NAME]`` tables, ``--set`` overrides (texts, then typed
    ``settings``), then the launcher's own flags (``cli``).
    """
    raw = read_toml(default_file())
    sources: list[Path] = []
    local = Path.cwd() / "platform.toml"
    if local.is_file() and local.resolve() != default_file().resolve():
        sources.append(local)
    sources.extend(Path(f) for f in files)
    layers = [read_toml(p) for p in sources]

    presets: dict[str, dict[str, Any]] = {}
    for layer in [raw, *layers]:
        for name, table in layer.get("presets", {}).items():
            presets.setdefault(name, {}).update(table)

    schema: dict[str, Any] = dict(_body(raw))
    for fields in presets.values():
        for key, value in fields.items():
            schema.setdefault(f"model.{key}", value)
    schema.update(task_settings)

    # The preset's fields (model.d_model ...) resolve through model_fields(): only those set on
    # purpose (a task's own default such as "model.dropout": 0.0, a --set) are values of their own.
    sizes = {f"model.{key}" for fields in presets.values() for key in fields}
    values = {k: v for k, v in schema.items() if k not in sizes or k in task_settings}
    explicit: set[str] = set()

    def apply(items: Mapping[str, Any], origin: str) -> None:
        for key, value in items.items():
            values[key] = _coerce(key, value, schema, origin)

    for items, origin in defaults:
        apply(items, origin)
    if pretrained:
        apply(raw.get("pretrained", {}), f"{default_file()} [pretrained]")
    for layer, path in zip(layers, sources):
        apply(_body(layer), str(path))
        for items, origin in _task_tables(layer, path, task_name, demo):
            apply(items, origin)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {item!r}")
        key = key.strip()
        apply({key: _parse_text(text, schema.get(key))}, "--set")
        explicit.add(key)
    if settings:
        apply(settings, "set=")
        explicit.update(settings)
    if cli:
        given = {k: v for k, v in cli.items() if v is not None}
        apply(given, "the command line")
        explicit.update(given)

    config = Config(values, presets, explicit)
    _validate(config)
    return config


def _body(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A config file's keys, without its presets, task tables and suites."""
    return flatten({k: v for k, v in layer.items() if k not in ("presets", "tasks", "bench", "suites", "pretrained")})


def _parse_text(text: str, default: Any) -> Any:
    """A ``--set`` value as the type of its default (strings stay strings)."""
    text = text.strip()
    if isinstance(default, str) or default is None:
        return text
    if isinstance(default, list):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return [p.strip() for p in text.split(",") if p.strip()]
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _coerce(key: str, value: Any, schema: Mapping[str, Any], origin: str) -> Any:
    if key not in schema:
        close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"unknown config key {key!r} in {origin}{hint}")
    default = schema[key]
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, str)
    if not ok:
        expected = type(default).__name__
        raise UserError(f"config key {key!r} in {origin} expects {expected}, got {value!r}")
    return value


def _validate(config: Config) -> None:
    # Decoding imports torch; a config is also resolved where torch is not loaded yet
    # (`platform bench --dry-run`, the checks of a suite), so it is imported here.
    from tasklight.model.decoding import STRATEGIES

    if config["model.preset"] not in config.presets:
        raise UserError(
            f"unknown model preset {config['model.preset']!r}; known: {', '.join(sorted(config.presets))}"
        )
    for key, allowed in {**CHOICES, "decoding.strategy": STRATEGIES}.items():
        if key in config and config[key] not in allowed:
            raise UserError(f"config key {key!r} must be one of {', '.join(allowed)}, got {config[key]!r}")
    for key in POSITIVE:
        if key in config and config[key] <= 0:
            raise UserError(f"config key {key!r} must be positive, got {config[key]!r}")
    for key in NON_NEGATIVE:
        if key in config and config[key] < 0:
            raise UserError(f"config key {key!r} must not be negative, got {config[key]!r}")
    for key in ("trainer.max_steps", "trainer.max_epochs"):
        if config[key] < -1 or config[key] == 0:
            raise UserError(f"{key} must be positive (or -1 for no limit), got {config[key]}")
    if config["trainer.max_time"] and not re.fullmatch(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}", config["trainer.max_time"]):
        raise UserError(f"trainer.max_time (--max-time) must be DD:HH:MM:SS, got {config['trainer.max_time']!r}")
    if not 0 <= config["data.val_fraction"] < 1:
        raise UserError(f"data.val_fraction must be in [0, 1), got {config['data.val_fraction']}")
    freeze = str(config["model.freeze"]).strip()
    if freeze and freeze != "embeddings" and not freeze.isdigit():
        raise UserError(f"model.freeze must be \"embeddings\" or a number of layers, got {freeze!r}")
    if config["trainer.average_last"] == 1 or config["trainer.average_last"] < 0:
        raise UserError(f"trainer.average_last must be 0 (off) or at least 2 checkpoints, got {config['trainer.average_last']}")
    if not 0 < config["trainer.layer_decay"] <= 1:
        raise UserError(f"trainer.layer_decay must be in (0, 1], got {config['trainer.layer_decay']}")
    model = config.model_fields()
    for key in MODEL_POSITIVE:
        if model.get(key, 1) <= 0:
            raise UserError(f"model.{key} must be positive, got {model[key]}")
    if model["d_model"] % model["n_heads"]:
        raise UserError(f"model.d_model ({model['d_model']}) must be divisible by model.n_heads ({model['n_heads']})")
    for key in DROPOUTS:
        if not 0 <= model.get(key, 0.0) < 1:
            raise UserError(f"model.{key} must be in [0, 1), got {model[key]}")
    if config["trainer.schedule"] in ("linear", "cosine") and config["trainer.max_steps"] <= 0 and not config["trainer.max_time"]:
        raise UserError(f"trainer.schedule={config['trainer.schedule']} needs a budget: --max-steps or --max-time")
