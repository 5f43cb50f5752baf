"""``platform leaderboard``: merging, the schema check, seed aggregation, ranking, signature
groups and the four output formats, on records written by hand."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from click.testing import CliRunner
from tasklight.bench.aggregate import build_groups
from tasklight.bench.collect import load_records
from tasklight.cli import cli
from tasklight.results import validate_record

from tests.bench.conftest import make_record, write


def leaderboard(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["leaderboard", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def groups_json(*paths: str) -> list[dict]:
    code, out, err = leaderboard(*paths, "--format", "json")
    assert code == 0, err
    return json.loads(out)["groups"]


# ---- the schema check ----------------------------------------------------------------------------
def test_validate_record_accepts_a_good_record_and_names_each_problem():
    assert validate_record(make_record()) == []
    missing = make_record()
    del missing["metrics"]
    assert validate_record(missing) == ["missing field 'metrics'"]
    wrong = make_record()
    wrong["metrics"]["bleu"]["value"] = "30"
    wrong["primary_metric"] = "ter"
    assert validate_record(wrong) == [
        "metric 'bleu' needs a numeric value and a boolean higher_is_better",
        "primary_metric 'ter' is not among the metrics",
    ]
    assert validate_record([1, 2]) == ["not a JSON object"]
    assert validate_record({**make_record(), "schema_version": 2}) == ["schema_version 2 is not 1"]


def test_malformed_records_are_named_on_stderr_and_skipped(tmp_path):
    write(tmp_path / "a" / "metrics.json", make_record(31.0))
    bad = write(tmp_path / "b" / "metrics.json", {k: v for k, v in make_record().items() if k != "metrics"})
    broken = write(tmp_path / "c" / "metrics.json", '{"schema_version": 1, ')
    code, out, err = leaderboard(str(tmp_path))
    assert code == 0
    assert f"Warning: {bad}: skipped: not a valid results record (missing field 'metrics')" in err.splitlines()
    assert any(line.startswith(f"Warning: {broken}: skipped: not valid JSON") for line in err.splitlines())
    assert "Leaderboard of 1 results record(s), 1 group(s)" in out
    assert "| 1 | multi30k | 1 | 31.00 | 51.00 |" in out


def test_no_valid_record_is_one_error_line(tmp_path):
    write(tmp_path / "metrics.json", "[]")
    code, _, err = leaderboard(str(tmp_path))
    assert code == 2
    assert err.strip().splitlines()[-1] == f"Error: no valid results records in {tmp_path} (run platform bench SUITE first)"
    code, _, err = leaderboard(str(tmp_path / "nope"))
    assert code == 2 and err.strip() == f"Error: {tmp_path / 'nope'}: no such file or folder"


# ---- aggregation and ranking -----------------------------------------------------------------------
def test_seeds_aggregate_to_exact_mean_std_and_n(tmp_path):
    for seed, value in ((1, 30.0), (2, 32.0), (3, 37.0)):
        write(tmp_path / f"seed{seed}" / "metrics.json", make_record(value, seed=seed, date=f"2026-11-29T1{seed}:00:00+00:00"))
    (group,) = groups_json(str(tmp_path))
    (row,) = group["rows"]
    bleu = row["metrics"]["bleu"]
    assert bleu["values"] == [30.0, 32.0, 37.0] and bleu["n"] == 3 and row["seeds"] == [1, 2, 3]
    assert bleu["mean"] == 33.0
    assert bleu["std"] == pytest.approx(math.sqrt(13.0), abs=1e-12) == statistics.stdev([30.0, 32.0, 37.0])
    assert row["tokens_per_s"] == 2002.0 and row["steps"] == 1002.0
    _, md, _ = leaderboard(str(tmp_path))
    assert "| 1 | multi30k | 3 | 33.00 ± 3.61 | 53.00 ± 3.61 | scratch | 7.84M | 1000 steps | 1002 | 2002 |" in md


def test_rows_rank_by_the_primary_metric_in_its_direction(tmp_path):
    for name, value in (("alpha", 20.0), ("beta", 35.0), ("gamma", 27.0)):
        write(tmp_path / "mt" / name / "metrics.json", make_record(value, entry=name, fingerprint=name))
        write(tmp_path / "lm" / name / "metrics.json", make_record(value / 20, entry=name, fingerprint=name, task="generation", sha="9"))
    groups = {g["task"]: g for g in groups_json(str(tmp_path))}
    assert [(r["rank"], r["entry"]) for r in groups["translation"]["rows"]] == [(1, "beta"), (2, "gamma"), (3, "alpha")]
    # bits per character: lower is better
    assert [r["entry"] for r in groups["generation"]["rows"]] == ["alpha", "gamma", "beta"]
    assert groups["generation"]["higher_is_better"] is False


def test_records_outside_bench_aggregate_by_configuration(tmp_path):
    write(tmp_path / "r1.json", make_record(30.0, entry=None, seed=1))
    write(tmp_path / "r2.json", make_record(34.0, entry=None, seed=2))
    write(tmp_path / "r3.json", make_record(25.0, entry=None, seed=1, params=999, budget={"max_steps": 500, "max_epochs": -1, "max_time": ""}))
    (group,) = groups_json(str(tmp_path))
    assert [(r["entry"], r["n"], r["metrics"]["bleu"]["mean"]) for r in group["rows"]] == [
        ("small model, 1000 steps", 2, 32.0),
        ("small model, 500 steps", 1, 25.0),
    ]


def test_time_budgets_keep_hardware_apart(tmp_path):
    budget = {"max_steps": -1, "max_epochs": -1, "max_time": "00:00:20:00"}
    write(tmp_path / "a.json", make_record(30.0, budget=budget, threads=2))
    write(tmp_path / "b.json", make_record(20.0, budget=budget, threads=1, seed=2))
    (group,) = groups_json(str(tmp_path))
    assert [r["entry"] for r in group["rows"]] == [
        "multi30k [cpu: Intel(R) Xeon(R) Processor, 2 threads]",
        "multi30k [cpu: Intel(R) Xeon(R) Processor, 1 thread]",
    ]
    assert group["rows"][0]["budget"] == "20 min"


def test_demo_data_drawn_per_seed_still_aggregates(tmp_path):
    for seed in (1, 2):
        record = make_record(90.0 + seed, seed=seed, dataset="demo", sha=f"seed{seed}hash")
        record["dataset"]["origin"] = "demo"
        write(tmp_path / f"s{seed}.json", record)
    (group,) = groups_json(str(tmp_path))
    assert group["dataset"]["demo"] is True and group["dataset"]["sha256"] == ["seed1hash", "seed2hash"]
    assert group["rows"][0]["n"] == 2


# ---- what is never ranked together -------------------------------------------------------------------
def test_another_bleu_tokenizer_is_another_group_marked_not_comparable(tmp_path):
    write(tmp_path / "a.json", make_record(30.0, tok="13a"))
    write(tmp_path / "b.json", make_record(31.0, tok="intl", seed=2))
    first, second = groups_json(str(tmp_path))
    assert [len(g["rows"]) for g in (first, second)] == [1, 1]
    assert {first["signatures"]["bleu"], second["signatures"]["bleu"]} == {
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
        "nrefs:1|case:mixed|eff:no|tok:intl|smooth:exp|version:2.6.0",
    }
    assert first["not_comparable"] == [f"not ranked with {second['id']} (same data): bleu signature tok:13a vs tok:intl"]
    assert second["not_comparable"] == [f"not ranked with {first['id']} (same data): bleu signature tok:intl vs tok:13a"]
    _, md, _ = leaderboard(str(tmp_path))
    assert md.count("> **Not comparable:**") == 2


def test_another_task_version_or_data_is_another_group(tmp_path):
    write(tmp_path / "a.json", make_record(30.0))
    write(tmp_path / "b.json", make_record(30.0, version="2", seed=2))
    write(tmp_path / "c.json", make_record(30.0, sha="otherdata", seed=3))
    groups = groups_json(str(tmp_path))
    assert len(groups) == 3
    notes = [n for g in groups for n in g["not_comparable"]]
    assert sorted(n.split(": ", 1)[1] for n in notes) == ["task version 1 vs 2", "task version 2 vs 1"]


# ---- merging ---------------------------------------------------------------------------------------
def test_two_results_folders_merge_and_a_copied_record_counts_once(tmp_path):
    one, two = tmp_path / "machine1", tmp_path / "machine2"
    write(one / "s" / "multi30k" / "seed1" / "metrics.json", make_record(30.0, seed=1))
    write(two / "s" / "multi30k" / "seed2" / "metrics.json", make_record(34.0, seed=2))
    write(two / "s" / "lm" / "seed1" / "metrics.json", make_record(1.5, task="generation", sha="x", entry="lm"))
    copy = write(two / "copy.json", make_record(30.0, seed=1))
    code, out, err = leaderboard(str(one), str(two), "--format", "json")
    assert code == 0
    assert err.strip() == f"Warning: {copy}: the same record as {one / 's' / 'multi30k' / 'seed1' / 'metrics.json'}; counted once"
    groups = {g["task"]: g for g in json.loads(out)["groups"]}
    assert groups["translation"]["rows"][0]["metrics"]["bleu"]["values"] == [30.0, 34.0]
    assert groups["generation"]["rows"][0]["n"] == 1


def test_a_run_directory_contributes_only_its_metrics_json(tmp_path):
    run = tmp_path / "run"
    write(run / "metrics.json", make_record())
    write(run / "config.toml", "[run]\n")
    write(run / "tokenizer.json", {"model": {}})
    write(run / "eval-test.json", make_record(99.0))
    write(run / ".metrics.json.tmp", "{")
    found = load_records([tmp_path], warn=pytest.fail)
    assert [f.path for f in found] == [run / "metrics.json"]
    # named explicitly, an eval record is read
    assert len(load_records([run / "eval-test.json"], warn=pytest.fail)) == 1


# ---- formats ---------------------------------------------------------------------------------------
def test_markdown_has_a_ranked_table_per_group(tmp_path):
    write(tmp_path / "a.json", make_record(30.0, entry="a|b"))
    _, md, _ = leaderboard(str(tmp_path), "--format", "md")
    lines = md.splitlines()
    assert "### translation" in lines
    i = lines.index("| # | entry | n | bleu ↑ | chrf ↑ | init | params | budget | steps | tokens/s | hardware | versions |")
    assert lines[i + 1] == "|---:|---|---:|---|---|---|---|---|---|---|---|---|"
    assert lines[i + 2] == (
        "| 1 | a\\|b | 1 | 30.00 | 50.00 | scratch | 7.84M | 1000 steps | 1001 | 2001 | cpu: Intel(R) Xeon(R) Processor, 2 threads | "
        "tasklight 0.1.0, translation 0.1.0, torch 2.13.0+cpu, lightning 2.6.6, sacrebleu 2.6.0 |"
    )
    assert "Signatures: bleu `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`" in md


def test_json_output_file_is_not_read_back_as_a_record(tmp_path):
    write(tmp_path / "a.json", make_record())
    out = tmp_path / "leaderboard.json"
    code, stdout, _ = leaderboard(str(tmp_path), "--format", "json", "--out", str(out))
    assert code == 0 and stdout.startswith(f"Wrote {out}")
    assert json.loads(out.read_text())["records"] == 1
    code, _, err = leaderboard(str(tmp_path), "--format", "json")
    assert code == 0 and err == ""


def test_html_is_one_self_contained_page_in_rank_order(tmp_path):
    for name, value in (("alpha", 20.0), ("beta", 35.0)):
        write(tmp_path / f"{name}.json", make_record(value, entry=name, fingerprint=name))
    page = tmp_path / "lb.html"
    code, _, _ = leaderboard(str(tmp_path), "--format", "html", "--out", str(page))
    text = page.read_text()
    assert code == 0 and text.startswith("<!DOCTYPE html>")
    for external in ("http://", "https://", " src=", "<link"):
        assert external not in text
    assert text.count('<table class="sortable">') == 1 and "<script>" in text
    assert text.index("<td>beta</td>") < text.index("<td>alpha</td>")
    assert '<td class="num" data-v="35.0">35.00</td>' in text


def test_png_writes_one_chart_per_task(tmp_path):
    write(tmp_path / "r" / "a.json", make_record(30.0))
    write(tmp_path / "r" / "b.json", make_record(1.2, task="generation", sha="x", entry="lm"))
    code, out, _ = leaderboard(str(tmp_path / "r"), "--format", "png", "--out", str(tmp_path / "charts") + "/")
    assert code == 0
    for task in ("translation", "generation"):
        path = tmp_path / "charts" / f"{task}.png"
        assert f"Wrote {path}" in out.splitlines()
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = leaderboard(str(tmp_path / "r"), "--format", "png", "--out", str(tmp_path / "lb"))
    assert out.splitlines() == [f"Wrote {tmp_path / 'lb'}-generation.png", f"Wrote {tmp_path / 'lb'}-translation.png"]


def test_groups_order_is_by_task_then_data(tmp_path):
    write(tmp_path / "a.json", make_record(30.0, dataset="b-data", sha="1"))
    write(tmp_path / "b.json", make_record(30.0, dataset="a-data", sha="2"))
    write(tmp_path / "c.json", make_record(1.0, task="generation", sha="3"))
    found = load_records([tmp_path], warn=pytest.fail)
    assert [(g.ident, g.dataset) for g in build_groups(found)] == [
        ("generation #1", "../shared/data/translation/multi30k"),
        ("translation #1", "a-data"),
        ("translation #2", "b-data"),
    ]


def test_runs_from_two_starting_checkpoints_are_two_rows_with_the_checkpoint_named(tmp_path):
    """The same entry from two checkpoints (or from scratch) is never one configuration."""
    for i, (seed, init) in enumerate(((1, None), (2, ("minilm", "aa")), (3, ("minilm", "aa")), (4, ("minilm", "bb")))):
        record = make_record(30.0 + i, seed=seed, entry=None)
        if init:
            record["model"]["init"] = {"name": init[0], "source": f"../{init[0]}", "revision": None, "weights_sha256": init[1]}
        write(tmp_path / f"r{i}" / "metrics.json", record)
    (group,) = groups_json(str(tmp_path))
    rows = sorted((row["init"], row["n"]) for row in group["rows"])
    assert rows == [("minilm", 1), ("minilm", 2), ("scratch", 1)]
    _, md, _ = leaderboard(str(tmp_path), "--format", "md")
    assert sum(line.startswith("| ") and "| minilm |" in line for line in md.splitlines()) == 2


# ---- bootstrap intervals -------------------------------------------------------------------------
def with_interval(record: dict, low: float, high: float) -> dict:
    record["metrics"][record["primary_metric"]]["interval"] = {
        "low": low, "high": high, "level": 0.95, "resamples": 1000, "seed": "12345", "method": "sacreBLEU bootstrap",
    }
    return record


def test_a_runs_interval_is_shown_beside_its_primary_metric_and_older_records_render_as_before(tmp_path):
    write(tmp_path / "new" / "metrics.json", with_interval(make_record(30.27, entry="new"), 29.4, 31.1))
    write(tmp_path / "old" / "metrics.json", make_record(28.0, entry="old"))
    _, md, _ = leaderboard(str(tmp_path), "--format", "md")
    lines = md.splitlines()
    assert lines[0].endswith(
        "ranked by the primary metric. [low, high]: a run's 95% bootstrap interval of the primary metric over its test examples."
    )
    assert any(line.startswith("| 1 | new | 1 | 30.27 [29.40, 31.10] | 50.27 | scratch |") for line in lines)
    assert any(line.startswith("| 2 | old | 1 | 28.00 | 48.00 | scratch |") for line in lines)
    (group,) = groups_json(str(tmp_path))
    new, old = group["rows"]
    assert new["metrics"]["bleu"]["intervals"][0]["low"] == 29.4 and "intervals" not in new["metrics"]["chrf"]
    assert "intervals" not in old["metrics"]["bleu"]


def test_records_without_intervals_render_exactly_as_before(tmp_path):
    write(tmp_path / "a.json", make_record(30.0, entry="a"))
    _, md, _ = leaderboard(str(tmp_path), "--format", "md")
    assert md.splitlines()[0] == (
        "Leaderboard of 1 results record(s), 1 group(s) of comparable results. "
        "Each row: mean ± sample standard deviation over n seeds; ranked by the primary metric."
    )
    (row,) = [line for line in md.splitlines() if line.startswith("| 1 |")]
    assert row.startswith("| 1 | a | 1 | 30.00 | 50.00 | scratch |")


def test_a_row_of_several_seeds_shows_mean_and_std_without_an_interval(tmp_path):
    for seed, value in ((1, 30.0), (2, 32.0)):
        record = with_interval(make_record(value, seed=seed, date=f"2026-11-29T1{seed}:00:00+00:00"), value - 1, value + 1)
        write(tmp_path / f"seed{seed}" / "metrics.json", record)
    _, md, _ = leaderboard(str(tmp_path), "--format", "md")
    assert any(line.startswith("| 1 | multi30k | 2 | 31.00 ± 1.41 | 51.00 ± 1.41 |") for line in md.splitlines())
    (group,) = groups_json(str(tmp_path))
    assert [i["low"] for i in group["rows"][0]["metrics"]["bleu"]["intervals"]] == [29.0, 31.0]
