"""``platform compare RUN_A RUN_B``: a paired significance test of two runs on one test set."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--metric", default=None, metavar="NAME", help="The metric to test (default: the task's primary metric).")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(min=1), help="Bootstrap resamples.")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Significance level of the verdict.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def command(run_a: Path, run_b: Path, metric: str | None, resamples: int, alpha: float, as_json: bool) -> None:
    """Test whether run B differs significantly from run A on the same test set.

    Both runs are scored again from their predictions.jsonl (predictions with
    references): sacreBLEU's paired bootstrap for BLEU and chrF, a paired bootstrap over
    test examples for the other metrics (seed 12345). Runs of different tasks, or whose
    test sets differ (data hash, example ids or references), are refused.

    \b
    Example:
      platform compare runs/translation/baseline runs/translation/dropout-0.3
    """
    from tasklight.comparison import compare_runs
    from tasklight.plugins import get_platform

    result = compare_runs(run_a, run_b, get_platform(), metric=metric, resamples=resamples, alpha=alpha)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    arrow = "higher" if result["higher_is_better"] else "lower"
    click.echo(f"{result['task']} · {result['metric']} ({arrow} is better) · {result['examples']} test examples")
    click.echo(f"A  {result['a']['value']:8.2f}  {result['a']['run']}")
    click.echo(f"B  {result['b']['value']:8.2f}  {result['b']['run']}")
    click.echo(f"B - A {result['difference']:+.2f}, p = {result['p_value']:.4f} ({result['method']}, {result['resamples']} resamples)")
    click.echo(result["verdict"])
