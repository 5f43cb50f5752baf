"""``platform new-plugin NAME``: write a ready task plugin package, ``./tasklight-NAME/``.

The package holds a pyproject.toml with the ``tasklight`` entry point, a task with its
own generated demo data, a head chosen by ``--kind``, a metric, a README and tests that
run ``tasklight.testing.check_task``. Templates live in ``tasklight/scaffold/``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from tasklight.errors import UserError

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Kind:
    head: str
    summary: str
    formats: str  # what --data reads, for the generated README
    predict_example: str
    dependencies: tuple[str, ...] = ()  # beside tasklight: the metric's library


RECORDS = "JSONL, CSV or TSV records with"
KINDS: dict[str, Kind] = {
    "seq2seq": Kind("tasklight.Seq2SeqHead", "text to text with an encoder-decoder (exact match).",
                    f"{RECORDS} `source` and `target` fields", '"4 0 7"'),
    "classification": Kind("tasklight.ClassificationHead", "a label per text with an encoder (accuracy).",
                           f"{RECORDS} `text` and `label` fields", '"the match was wild"'),
    "span": Kind("tasklight.SpanHead", "the answer span in a text with an encoder (exact match).",
                 f"{RECORDS} `text` and `answer` fields", '"we saw a blue kite by the river"'),
    "lm": Kind("tasklight.CausalLMHead", "a language model with a decoder (perplexity).",
               f"{RECORDS} a `text` field", '"tom found a red ball"'),
    "token": Kind("tasklight.TokenClassificationHead", "a BIO tag per word with an encoder (entity-level F1).",
                  "JSONL records with `words` and `tags` (lists, or space-separated strings), CoNLL-style "
                  "`.conll`/`.bio` files (a word and its tag a line), or folders of line-aligned `seq.in`/`seq.out` "
                  "files (ATIS, SNIPS)", '"i met jordan at the station"', ("seqeval>=1.2.2",)),
}

# template (under scaffold/) -> path in the package; {name} and {module} are filled in.
COMMON = {
    "common/pyproject.toml.tmpl": "pyproject.toml",
    "common/README.md.tmpl": "README.md",
    "common/__init__.py.tmpl": "{module}/__init__.py",
    "common/test.py.tmpl": "tests/test_{name}.py",
}
PER_KIND = {
    "task.py.tmpl": "{module}/task.py",
    "demo.py.tmpl": "{module}/demo.py",
    "metrics.py.tmpl": "{module}/metrics.py",
}


def check_name(name: str) -> None:
    if not NAME.match(name) or len(name) > 40:
        raise UserError(
            f"plugin name {name!r} is not valid: use lowercase letters, digits and underscores, "
            f"starting with a letter (e.g. sentiment or grammar_fix)"
        )
    if keyword.iskeyword(name):
        raise UserError(f"plugin name {name!r} is a Python keyword; choose another")


def render(name: str, kind: str) -> dict[str, str]:
    """Relative path -> file content of the package for task ``name`` of ``kind``."""
    import tasklight

    root = resources.files("tasklight") / "scaffold"
    module = f"tasklight_{name}"
    info = KINDS[kind]
    values = {
        "name": name,
        "module": module,
        "dist": f"tasklight-{name.replace('_', '-')}",
        "Class": "".join(part.capitalize() for part in name.split("_")),
        "kind": kind,
        "head": info.head,
        "summary": info.summary,
        "formats": info.formats,
        "dependencies": "".join(f', "{d}"' for d in info.dependencies),
        "predict_example": info.predict_example,
        "tasklight_version": tasklight.__version__,
        "metric_test": (root / kind / "metric_test.py.tmpl").read_text(encoding="utf-8"),
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    files = {target.format(name=name, module=module): fill((root / template).read_text(encoding="utf-8"))
             for template, target in COMMON.items()}
    for template, target in PER_KIND.items():
        files[target.format(name=name, module=module)] = fill((root / kind / template).read_text(encoding="utf-8"))
    return files


def create(name: str, kind: str, parent: Path, *, check_installed: bool = True) -> Path:
    """Write the package into ``parent/tasklight-NAME``; returns its folder. Nothing is
    overwritten: an existing folder is a UserError, as is a name an installed plugin uses."""
    check_name(name)
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    target = parent / f"tasklight-{name}"
    if target.exists():
        raise UserError(f"{target} already exists; choose another name or --dir (nothing was written)")
    if not parent.is_dir():
        raise UserError(f"{parent}: no such folder")
    if check_installed:
        from tasklight.plugins import get_platform

        platform = get_platform()
        if name in platform.tasks:
            owner = platform.tasks.owner(name)
            raise UserError(f"a task named {name!r} is already installed (from plugin {owner!r}); choose another name")
    files = render(name, kind)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


@click.command("new-plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(KINDS)), default="classification", show_default=True,
              help="The task's shape and head: seq2seq (encoder-decoder), classification, span, token (encoder), "
                   "lm (decoder).")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where to create tasklight-NAME/.")
def command(name: str, kind: str, parent: Path) -> None:
    """Write a ready task plugin package into ./tasklight-NAME/.

    \b
    platform new-plugin mytask --kind classification
    pip install -e tasklight-mytask
    platform run mytask
    cd tasklight-mytask && python3 -m pytest
    """
    target = create(name, kind, parent)
    click.echo(f"Created {target}/ ({kind}: {KINDS[kind].head})")
    click.echo("Next:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  platform run {name}")
    click.echo(f"  cd {target} && python3 -m pytest")
