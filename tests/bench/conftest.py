"""Results records made by hand for the leaderboard tests (the schema of results.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BLEU_SIG = "nrefs:1|case:mixed|eff:no|tok:{tok}|smooth:exp|version:2.6.0"
CHRF_SIG = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"


def make_record(
    value: float = 30.0,
    *,
    seed: int = 1,
    entry: str | None = "multi30k",
    fingerprint: str = "f1",
    task: str = "translation",
    version: str = "1",
    dataset: str = "../shared/data/translation/multi30k",
    sha: str = "4c0e47ffed668e1f",
    split: str = "test",
    tok: str = "13a",
    params: int = 7840768,
    budget: dict[str, Any] | None = None,
    date: str = "2026-11-29T10:00:00+00:00",
    threads: int = 2,
) -> dict[str, Any]:
    """A valid record; translation (bleu, chrf) unless ``task="generation"`` (bits_per_char, perplexity)."""
    if task == "generation":
        metrics = {
            "bits_per_char": {"value": value, "higher_is_better": False, "signature": "bpc|chars:unicode|context:128|eos:scored|version:1"},
            "perplexity": {"value": 2 ** value, "higher_is_better": False, "signature": "ppl|tokenizer:vocab-64|context:128|eos:counted|version:1"},
        }
        primary = "bits_per_char"
    else:
        metrics = {
            "bleu": {"value": value, "higher_is_better": True, "signature": BLEU_SIG.format(tok=tok)},
            "chrf": {"value": value + 20, "higher_is_better": True, "signature": CHRF_SIG},
        }
        primary = "bleu"
    record: dict[str, Any] = {
        "schema_version": 1,
        "task": {"name": task, "version": version, "shape": "encoder-decoder"},
        "dataset": {"name": dataset, "split": split, "origin": dataset, "size": 1000, "sha256": sha},
        "metrics": metrics,
        "primary_metric": primary,
        "model": {"d_model": 256, "preset": "small", "parameters": params},
        "training": {
            "seed": seed, "steps": 1000 + seed, "target_tokens": 10**6, "wall_time_s": 500.0, "tokens_per_s": 2000.0 + seed,
            "budget": budget or {"max_steps": 1000, "max_epochs": -1, "max_time": ""}, "precision": "32-true",
        },
        "decoding": {"strategy": "beam", "beam_size": 4},
        "hardware": {"accelerator": "cpu", "devices": 1, "threads": threads, "cpu": "Intel(R) Xeon(R) Processor", "cpu_count": 2},
        "versions": {
            "tasklight": "0.1.0", "plugins": {task: "0.1.0"}, "torch": "2.13.0+cpu", "pytorch_lightning": "2.6.6",
            "tokenizers": "0.23.3", "metric_libraries": {"sacrebleu": "2.6.0"}, "python": "3.11.7",
        },
        "git_commit": None,
        "date": date,
    }
    if entry is not None:
        record["bench"] = {"suite": "s", "entry": entry, "seed": seed, "fingerprint": fingerprint, "command": "platform run ..."}
    return record


def write(path: Path, record: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record if isinstance(record, str) else json.dumps(record), encoding="utf-8")
    return path
