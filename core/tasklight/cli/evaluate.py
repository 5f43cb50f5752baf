"""``platform eval TASK --run DIR``: score a trained run on a split."""

from __future__ import annotations

from pathlib import Path

import click

from tasklight.cli.options import data_option, device_options, set_option
from tasklight.cli.show import show_record


@click.command("eval")
@click.argument("task")
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path), help="A run directory.")
@data_option(None)
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "validation", "test"]))
@set_option
@device_options
def command(task: str, run_dir: Path, data: str | None, split: str, overrides: tuple[str, ...],
            accelerator: str | None, devices: str | None) -> None:
    """Score the run's best checkpoint on SPLIT of --data (default: the data it was trained on).

    data.limit_train and data.limit_test apply as they did in the run (--set
    data.limit_test=0 scores the whole test split). Writes eval-<split>.json into the
    run directory. Decodes on the device that
    --accelerator/--devices choose, as `platform run` does (default: a GPU when there is one).
    """
    from tasklight.inference import evaluate, load_run  # torch: only once a command runs

    loaded = load_run(run_dir, task, overrides=overrides, accelerator=accelerator, devices=devices)
    record = evaluate(loaded, data, split)
    show_record(record)
    click.echo(f"Wrote {run_dir / f'eval-{split}.json'}")
