"""``platform export --run DIR --format hf --out DIR2``: a run as a Hugging Face model directory."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path), help="A run directory.")
@click.option("--format", "fmt", default="hf", show_default=True, type=click.Choice(["hf"]),
              help="hf: a Hugging Face model directory (config.json, model.safetensors, tokenizer).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="A new or empty directory.")
def command(run_dir: Path, fmt: str, out: Path) -> None:
    """Write the run's best checkpoint as a directory that transformers' Auto classes load
    for its task (AutoModelForSequenceClassification, ...ForQuestionAnswering,
    ...ForSeq2SeqLM, ...ForCausalLM, ...ForTokenClassification) with the same logits, and
    that AutoTokenizer loads with the same ids.

    \b
    Example:
      platform export --run runs/intent-minilm --format hf --out exported/intent-minilm
    """
    from tasklight.export import export_run  # torch: only once a command runs

    written = export_run(run_dir, out, fmt)
    click.echo(f"Wrote {written} ({', '.join(sorted(p.name for p in written.iterdir()))})")
