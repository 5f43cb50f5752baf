"""``platform predict TASK --run DIR [TEXT ... | -]``: JSONL predictions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from tasklight.cli.options import device_options, set_option
from tasklight.errors import UserError


def parse_line(line: str, where: str) -> str | dict[str, Any]:
    """A JSON object when the line is one, otherwise the text itself."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            item = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise UserError(f"{where}: malformed JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(item, dict):
            raise UserError(f"{where}: expected a JSON object")
        return item
    return line.rstrip("\r\n")


@click.command("predict")
@click.argument("task")
@click.argument("inputs", nargs=-1)
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path), help="A run directory.")
@click.option("--seed", type=int, help="Seed for sampling (reproducible output).")
@set_option
@device_options
def command(task: str, inputs: tuple[str, ...], run_dir: Path, seed: int | None, overrides: tuple[str, ...],
            accelerator: str | None, devices: str | None) -> None:
    """Predict for each INPUT (text, or a JSON object); '-' or no INPUT reads stdin lines.

    Prints one JSON object per input. Decoding settings can be changed with
    --set decoding.strategy=greedy, --set decoding.beam_size=8 ...; --accelerator and
    --devices choose the device as for `platform run` (default: a GPU when there is one).
    """
    from tasklight.inference import load_run, predict  # torch: only once a command runs

    if not inputs or inputs == ("-",):
        if sys.stdin.isatty() and not inputs:
            raise UserError("no input: give TEXT arguments, or '-' to read lines from stdin")
        items = [parse_line(line, f"<stdin>:{n}") for n, line in enumerate(sys.stdin, 1) if line.strip()]
        where = "<stdin>"
    else:
        items = [parse_line(text, f"argument {n}") for n, text in enumerate(inputs, 1)]
        where = "argument"
    if not items:
        raise UserError("no input lines to predict")
    loaded = load_run(run_dir, task, overrides=overrides, accelerator=accelerator, devices=devices)
    for row in predict(loaded, items, where, seed=seed):
        click.echo(json.dumps(row, ensure_ascii=False))
