"""Leaderboard renderers: Markdown (for a README), JSON, one self-contained HTML page
with sortable columns (no network: inline CSS and JavaScript), PNG charts per task."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasklight.bench.aggregate import Group, Row, Stat
from tasklight.bench.collect import LEADERBOARD_KEY

FIXED_COLUMNS = ("init", "params", "budget", "steps", "tokens/s", "hardware", "versions")  # init: the starting checkpoint


# ---- cell text ---------------------------------------------------------------------------------
def stat_text(stat: Stat) -> str:
    if not stat.n or math.isnan(stat.mean):
        return "—"
    std = stat.std
    return f"{stat.mean:.2f}" if std is None else f"{stat.mean:.2f} ± {std:.2f}"


def interval_text(intervals: Sequence[dict[str, Any] | None]) -> str:
    """" [low, high]" for a row of one run whose record has a bootstrap interval, else "".
    A row of several seeds shows mean ± standard deviation alone: the spread over seeds."""
    if len(intervals) != 1 or intervals[0] is None:
        return ""
    return f" [{intervals[0]['low']:.2f}, {intervals[0]['high']:.2f}]"


INTERVAL_NOTE = "[low, high]: a run's 95% bootstrap interval of the primary metric over its test examples"


def _shows_intervals(groups: Sequence[Group]) -> bool:
    return any(interval_text(row.intervals(g.primary)) for g in groups for row in g.rows)


def params_text(values: Sequence[int]) -> str:
    return " / ".join(f"{p / 1e6:.2f}M" for p in values) or "—"


def number_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def dataset_text(group: Group) -> str:
    if group.demo:
        what = "demo data (generated; each seed draws its own sample)"
    else:
        what = f"{group.dataset} (sha256 {', '.join(group.hashes)})"
    sizes = "/".join(str(s) for s in group.sizes)
    return f"{what}, {group.split} split, {sizes} examples"


def header(group: Group) -> list[str]:
    metrics = [f"{m} {arrow(group.metric_higher(m))}" for m in group.metrics]
    return ["#", "entry", "n", *metrics, *FIXED_COLUMNS]


TEXT = "text"  # the sort value of a text column


def cells(group: Group, row: Row) -> list[tuple[str, float | str | None]]:
    """(text, sort value) per column: a number (None when missing) or TEXT."""
    out: list[tuple[str, float | str | None]] = [(str(row.rank), row.rank), (row.label, TEXT), (str(len(row.found)), len(row.found))]
    for metric in group.metrics:
        stat = row.stat(metric)
        shown = stat_text(stat) + (interval_text(row.intervals(metric)) if metric == group.primary and stat.n else "")
        out.append((shown, None if math.isnan(stat.mean) else stat.mean))
    out.append((row.init(), TEXT))
    params = row.parameters()
    out.append((params_text(params), params[0] if params else None))
    out.append((row.budget(), TEXT))
    steps, speed = row.mean_of("steps"), row.mean_of("tokens_per_s")
    out.append((number_text(steps), steps))
    out.append((number_text(speed), speed))
    out.append((row.hardware(), TEXT))
    out.append((row.versions(), TEXT))
    return out


# ---- Markdown ----------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(groups: Sequence[Group], count: int) -> str:
    intro = (
        f"Leaderboard of {count} results record(s), {len(groups)} group(s) of comparable results. "
        "Each row: mean ± sample standard deviation over n seeds; ranked by the primary metric."
    )
    if _shows_intervals(groups):
        intro += f" {INTERVAL_NOTE}."
    lines = [intro, ""]
    task = None
    for group in groups:
        if group.task != task:
            task = group.task
            lines += [f"### {task}", ""]
        better = "higher" if group.higher_is_better else "lower"
        lines += [f"**{group.ident}**: {dataset_text(group)}. Task version {group.task_version}; ranked by **{group.primary}** ({better} is better).", ""]
        lines += ["Signatures: " + "; ".join(f"{m} `{s or 'none'}`" for m, s in group.signatures.items()), ""]
        for note in group.not_comparable:
            lines += [f"> **Not comparable:** {note}", ""]
        head = header(group)
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---:" if h in ("#", "n") else "---" for h in head) + "|")
        for row in group.rows:
            lines.append("| " + " | ".join(_md_cell(text) for text, _ in cells(group, row)) + " |")
        lines.append("")
    return "\n".join(lines)


# ---- JSON --------------------------------------------------------------------------------------
def to_json(groups: Sequence[Group], count: int, skipped: Sequence[str], generated: str) -> str:
    data: dict[str, Any] = {
        LEADERBOARD_KEY: 1,
        "generated": generated,
        "records": count,
        "skipped": list(skipped),
        "groups": [_group_json(g) for g in groups],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _stat_json(stat: Stat, intervals: Sequence[dict[str, Any] | None] = ()) -> dict[str, Any]:
    found = {"mean": None if math.isnan(stat.mean) else stat.mean, "std": stat.std, "n": stat.n, "values": stat.values}
    if any(intervals):  # per record, beside ``values``; absent for records written before intervals
        found["intervals"] = list(intervals)
    return found


def _group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.ident,
        "task": group.task,
        "task_version": group.task_version,
        "dataset": {"names": group.datasets, "split": group.split, "sizes": group.sizes, "sha256": group.hashes, "demo": group.demo},
        "primary_metric": group.primary,
        "higher_is_better": group.higher_is_better,
        "signatures": group.signatures,
        "not_comparable": group.not_comparable,
        "rows": [
            {
                "rank": row.rank,
                "entry": row.label,
                "n": len(row.found),
                "seeds": row.seeds(),
                "metrics": {m: _stat_json(row.stat(m), row.intervals(m)) for m in group.metrics},
                "init": row.init(),
                "parameters": row.parameters(),
                "budget": row.budget(),
                "steps": row.mean_of("steps"),
                "tokens_per_s": row.mean_of("tokens_per_s"),
                "wall_time_s": row.mean_of("wall_time_s"),
                "hardware": row.hardware(),
                "versions": row.versions(),
                "dates": row.dates(),
                "files": row.files(),
            }
            for row in group.rows
        ],
    }


# ---- HTML --------------------------------------------------------------------------------------
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f4f4f4; cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort=ascending]::after { content: " \\25B2"; } th[aria-sort=descending]::after { content: " \\25BC"; }
tr.top td { font-weight: 600; }
.note { background: #fff4e0; border-left: 4px solid #e8a33c; padding: 4px 8px; }
code { font-size: 0.9em; background: #f6f6f6; padding: 0 3px; }
.small { color: #555; font-size: 0.9em; }
"""

SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    function key(row) {
      var cell = row.cells[index], v = cell.getAttribute("data-v");
      if (v !== null) { return v === "" ? NaN : parseFloat(v); }
      return cell.textContent.trim().toLowerCase();
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), c;
      if (typeof x === "number" || typeof y === "number") {
        if (isNaN(x)) { return isNaN(y) ? 0 : 1; }
        if (isNaN(y)) { return -1; }
        c = x - y;
      } else {
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def to_html(groups: Sequence[Group], count: int, skipped: Sequence[str], generated: str) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tasklight leaderboard</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>tasklight leaderboard</h1>",
        (
            f'<p class="small">{count} results record(s), {len(groups)} group(s) of comparable results, generated {e(generated)}. '
            "Each row: mean ± sample standard deviation over n seeds"
            f"{'; ' + INTERVAL_NOTE if _shows_intervals(groups) else ''}. Click a column header to sort.</p>"
        ),
    ]
    if skipped:
        parts.append('<p class="note">Skipped: ' + "<br>".join(e(s) for s in skipped) + "</p>")
    task = None
    for group in groups:
        if group.task != task:
            task = group.task
            parts.append(f"<h2>{e(task)}</h2>")
        parts.append(f'<section id="{e(group.ident.replace(" #", "-"))}"><h3>{e(group.ident)}</h3>')
        parts.append(
            f"<p>{e(dataset_text(group))}. Task version {e(group.task_version)}; ranked by <b>{e(group.primary)}</b> "
            f"({'higher' if group.higher_is_better else 'lower'} is better).<br><span class=\"small\">Signatures: "
            + "; ".join(f"{e(m)} <code>{e(s or 'none')}</code>" for m, s in group.signatures.items())
            + "</span></p>"
        )
        for note in group.not_comparable:
            parts.append(f'<p class="note"><b>Not comparable:</b> {e(note)}</p>')
        parts.append('<table class="sortable"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in header(group)) + "</tr></thead><tbody>")
        for row in group.rows:
            tds = []
            for text, value in cells(group, row):
                if value == TEXT:
                    tds.append(f"<td>{e(text)}</td>")
                else:
                    tds.append(f'<td class="num" data-v="{"" if value is None else repr(float(value))}">{e(text)}</td>')
            parts.append(('<tr class="top">' if row.rank == 1 else "<tr>") + "".join(tds) + "</tr>")
        parts.append("</tbody></table></section>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


# ---- PNG ---------------------------------------------------------------------------------------
def png_paths(tasks: Sequence[str], out: str | None) -> dict[str, Path]:
    """One file per task: ``--out DIR/`` (or an existing folder) -> DIR/TASK.png; ``--out PREFIX``
    -> PREFIX-TASK.png; no --out -> leaderboard-TASK.png in the current directory."""
    if out is None:
        return {t: Path(f"leaderboard-{t}.png") for t in tasks}
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return {t: Path(out) / f"{t}.png" for t in tasks}
    prefix = out[:-4] if out.lower().endswith(".png") else out
    return {t: Path(f"{prefix}-{t}.png") for t in tasks}


def to_png(groups: Sequence[Group], out: str | None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_task: dict[str, list[Group]] = {}
    for group in groups:
        by_task.setdefault(group.task, []).append(group)
    paths = png_paths(list(by_task), out)
    written = []
    for task, task_groups in by_task.items():
        heights = [max(1.6, 0.45 * len(g.rows) + 1.2) for g in task_groups]
        fig, axes = plt.subplots(len(task_groups), 1, figsize=(9, sum(heights)), squeeze=False, gridspec_kw={"height_ratios": heights})
        for ax, group in zip(axes[:, 0], task_groups):
            stats = [row.stat(group.primary) for row in group.rows]
            means = [0.0 if math.isnan(s.mean) else s.mean for s in stats]
            errors = [s.std or 0.0 for s in stats]
            labels = [f"{row.rank}. {row.label} (n={len(row.found)})" for row in group.rows]
            ys = list(range(len(group.rows)))
            ax.barh(ys, means, xerr=errors if any(errors) else None, color="tab:blue", alpha=0.8, capsize=4)
            ax.set_yticks(ys, labels)
            ax.invert_yaxis()  # rank 1 on top
            for y, mean, stat in zip(ys, means, stats):
                ax.text(mean, y, f" {stat_text(stat)}", va="center", fontsize=8)
            data = "demo" if group.demo else "/".join(Path(group.datasets[0]).parts[-2:])
            flag = " (not comparable with other groups on this data)" if group.not_comparable else ""
            ax.set_title(f"{group.ident}: {data}, {group.split}{flag}", fontsize=10)
            ax.set_xlabel(f"{group.primary} ({'higher' if group.higher_is_better else 'lower'} is better)")
        fig.tight_layout()
        path = paths[task]
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
