"""The metrics table printed at the end of a run or an eval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def show_record(record: dict[str, Any], run_dir: Path | None = None) -> None:
    console = Console()
    dataset = record["dataset"]
    title = f"{record['task']['name']} v{record['task']['version']} · {dataset['split']} · {dataset['size']} examples"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("", justify="center")
    table.add_column("signature", overflow="fold")
    for name, entry in record["metrics"].items():
        arrow = "↑" if entry["higher_is_better"] else "↓"
        label = f"[bold]{name}[/bold]" if name == record["primary_metric"] else name
        interval = entry.get("interval")
        shown = f"{entry['value']:.2f}"
        if isinstance(interval, dict) and isinstance(interval.get("low"), (int, float)):
            shown += f" [{interval['low']:.2f}, {interval['high']:.2f}]"  # the 95% bootstrap interval
        table.add_row(label, shown, arrow, entry.get("signature", ""))
    console.print(table)
    training = record.get("training", {})
    if "steps" in training:
        params = record["model"]["parameters"]
        console.print(
            f"{params / 1e6:.2f}M parameters · {training['steps']} steps · {training['wall_time_s']:.0f} s · "
            f"{training['tokens_per_s'] or 0:.0f} target tokens/s"
        )
    if run_dir is not None:
        console.print(f"Run directory: {run_dir}")
