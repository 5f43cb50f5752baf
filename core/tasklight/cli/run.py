"""``platform run TASK``: train, validate, test, write the run directory."""

from __future__ import annotations

import click

from tasklight.cli.options import data_option, device_options, set_option
from tasklight.cli.show import show_record


@click.command("run")
@click.argument("task")
@data_option("demo")
@click.option(
    "--init", metavar="SOURCE",
    help="Start from a pretrained checkpoint: a Hugging Face model directory or hf:ORG/NAME[@REVISION] "
    "(needs the hf extra). Its config.json gives the model's shape; its own tokenizer is used.",
)
@set_option
@device_options
@click.option("--strategy", help="auto, ddp, fsdp, deepspeed ... (Lightning's strategies).")
@click.option("--precision", help="32-true, bf16-mixed, 16-mixed ... (bf16 on GPUs; CPUs here lack it).")
@click.option("--max-time", metavar="DD:HH:MM:SS", help="Stop training after this much wall time.")
@click.option("--max-steps", type=int, help="Stop after this many optimizer steps.")
@click.option("--max-epochs", type=int, help="Stop after this many epochs.")
@click.option("--seed", type=int, help="Seed for data order, initialisation and sampling.")
@click.option("--out", metavar="DIR", help="Run directory (default runs/<task>/<timestamp>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--config", "config_files", multiple=True, type=click.Path(dir_okay=False), help="Extra TOML config file(s) over platform.toml.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(task: str, data: str, overrides: tuple[str, ...], **options: object) -> None:
    """Train TASK on --data (the built-in demo by default), then score it on the test split.

    \b
    Examples:
      platform run translation
      platform run translation --data ../shared/data/translation/multi30k \\
          --set data.src=en --set data.tgt=de --set data.test=test_2016_flickr --max-time 00:00:20:00
      platform run intent --data ../shared/data/intent/snips --init ../shared/models/all-MiniLM-L6-v2 \\
          --max-time 00:00:05:00
    """
    from tasklight.training import RunOptions, run  # torch and Lightning: only once a command runs

    result = run(RunOptions(task=task, data=data, overrides=overrides, **options))  # type: ignore[arg-type]
    if result.record:
        show_record(result.record, result.run_dir)
