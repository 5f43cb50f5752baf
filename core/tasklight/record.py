"""Building results records (the schema lives in results.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from tasklight.confidence import Interval
from tasklight.config import Config
from tasklight.data.sources import Split
from tasklight.plugins import Platform
from tasklight.rundir import read_init
from tasklight.results import (
    SCHEMA_VERSION,
    git_commit,
    hardware,
    library_versions,
    metric_entries,
    now,
    version_of,
)
from tasklight.task import MetricValue, Task


def _dataset(task: Task, data: str, split: Split) -> dict[str, Any]:
    # No --data but data.<split>=FILE: the files name the data set, not "demo".
    name = split.origin if data in ("", "demo") and split.origin != "demo" else data
    return {
        "name": name,
        "split": split.role,
        "origin": split.origin,
        "size": len(split.examples),
        "sha256": split.content_hash(task),
    }


def library_versions_of(task: Task, platform: Platform) -> dict[str, Any]:
    plugins = {name: info.version for name, info in platform.plugins.items() if not info.errors}
    metrics = {name: platform.metrics.get(name) for name in task.metrics}
    return library_versions(metrics, plugins)


def _scored(
    task: Task, platform: Platform, data: str, split: Split, scores: dict[str, MetricValue], intervals: Mapping[str, Interval]
) -> dict[str, Any]:
    """The fields every record shares: what was scored, on what, and how."""
    metrics = {name: platform.metrics.get(name) for name in scores}
    return {
        "schema_version": SCHEMA_VERSION,
        "task": {"name": task.name, "version": task.version, "shape": task.shape},
        "dataset": _dataset(task, data, split),
        "metrics": metric_entries(scores, metrics, intervals),
        "primary_metric": task.metrics[0],
    }


def model_summary(system: Any) -> dict[str, Any]:
    cfg = system.hparams.model
    return {**cfg, "parameters": system.model.num_parameters()}


def init_summary(init: dict[str, Any] | None) -> dict[str, Any] | None:
    """The starting checkpoint as a record names it: two runs share it only when their
    weights do (the leaderboard never ranks two starting points as one configuration)."""
    if not init:
        return None
    weights = init.get("weights_sha256") or {}
    joined = hashlib.sha256("".join(f"{k}:{v}" for k, v in sorted(weights.items())).encode()).hexdigest()
    return {
        "name": init.get("name"), "source": init.get("source"), "revision": init.get("revision"),
        "model_type": init.get("model_type"), "weights_sha256": joined, "license": init.get("license"),
    }


def model_entry(system: Any, config: Config, init: dict[str, Any] | None) -> dict[str, Any]:
    """The record's ``model``: shape and size, the preset, or the checkpoint it started from."""
    started = init_summary(init)
    return {**model_summary(system), "preset": None if started else config["model.preset"], "init": started}


def build_record(
    *,
    task: Task,
    platform: Platform,
    config: Config,
    data: str,
    split: Split,
    scores: dict[str, MetricValue],
    system: Any,
    intervals: Mapping[str, Interval] | None = None,
    steps: int,
    tokens: int,
    wall: float,
    trainer: Any,
    truncated: dict[str, int],
    validation_seconds: float,
    init: dict[str, Any] | None = None,
    averaged: dict[str, Any] | None = None,
) -> dict[str, Any]:
    accelerator = "gpu" if trainer.strategy.root_device.type == "cuda" else trainer.strategy.root_device.type
    return {
        **_scored(task, platform, data, split, scores, intervals or {}),
        "model": model_entry(system, config, init),
        "training": {
            "seed": config["run.seed"],
            "steps": steps,
            "target_tokens": tokens,
            "wall_time_s": round(wall, 2),
            "validation_time_s": round(validation_seconds, 2),
            "tokens_per_s": round(tokens / wall, 1) if wall > 0 else None,
            "budget": {
                "max_steps": config["trainer.max_steps"],
                "max_epochs": config["trainer.max_epochs"],
                "max_time": config["trainer.max_time"],
            },
            "precision": config["trainer.precision"],
            "truncated_examples": truncated,
            **({"averaged_checkpoints": averaged} if averaged else {}),
        },
        "decoding": config.section("decoding"),
        "hardware": hardware(accelerator, trainer.world_size),
        "versions": library_versions_of(task, platform),
        "git_commit": git_commit(),
        "tasklight_version": version_of("tasklight"),
        "date": now(),
    }


def eval_record(
    loaded: Any, platform: Platform, data: str, split: Split, scores: dict[str, MetricValue],
    intervals: Mapping[str, Interval] | None = None,
) -> dict[str, Any]:
    device = next(loaded.system.parameters()).device.type
    return {
        **_scored(loaded.task, platform, data, split, scores, intervals or {}),
        "model": model_entry(loaded.system, loaded.config, read_init(loaded.run_dir)),
        "training": {"seed": loaded.config["run.seed"], "run_dir": str(loaded.run_dir)},
        "decoding": loaded.config.section("decoding"),
        "hardware": hardware("gpu" if device == "cuda" else device, 1),
        "versions": library_versions_of(loaded.task, platform),
        "git_commit": git_commit(),
        "date": now(),
    }
