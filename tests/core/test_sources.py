"""Where examples come from: demo, or files named per split."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasklight.config import load_config
from tasklight.data.sources import is_demo, load_splits
from tasklight.errors import UserError
from tasklight.plugins import get_platform
from tasklight.task import TaskContext


def _load(source: str, *overrides: str) -> dict:
    platform = get_platform()
    task = platform.tasks.get("intent")
    config = load_config(task.name, task.settings, demo=False, overrides=list(overrides))
    return load_splits(task, source, TaskContext(config=config, metric=platform.metrics.get, seed=0), platform.adapters)


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows), encoding="utf-8")
    return path


def test_named_train_file_without_data_means_real_data_not_demo(tmp_path):
    # The issue's own command style: `platform run qa --set data.train=F --set data.test=G`.
    train = _write(tmp_path / "train.csv", [(f"play song {i}", "music") for i in range(20)] + [(f"rain in city {i}", "weather") for i in range(20)])
    test = _write(tmp_path / "test.csv", [("play a tune", "music"), ("is it raining", "weather")])
    splits = _load("demo", f"data.train={train}", f"data.test={test}")
    assert [e.text for e in splits["test"].examples] == ["play a tune", "is it raining"]
    assert len(splits["train"].examples) + len(splits["validation"].examples) == 40
    assert splits["validation"].origin.startswith(str(train))
    assert not is_demo("demo", {"data.train": str(train)}) and is_demo("demo", {"data.train": ""})


def test_named_test_file_without_training_data_is_one_clear_error(tmp_path):
    test = _write(tmp_path / "test.csv", [("play a tune", "music")])
    with pytest.raises(UserError, match="nothing names the training data: add --set data.train=FILE"):
        _load("demo", f"data.test={test}")


def test_a_split_can_be_a_slice_of_another(tmp_path):
    # The WMT sample's validation file splits into validation (first rows) and test (the rest).
    rows = [(f"play song {i}", "music") for i in range(6)] + [(f"rain in town {i}", "weather") for i in range(6)]
    data = tmp_path / "d"
    data.mkdir()
    _write(data / "train.csv", rows)
    _write(data / "val.csv", rows[:4] + rows[6:10])
    splits = _load(str(data), "data.validation=val[:3]", "data.test=val[3:]")
    assert [e.text for e in splits["validation"].examples] == ["play song 0", "play song 1", "play song 2"]
    assert len(splits["test"].examples) == 5 and splits["test"].origin.endswith("[3:]")
    with pytest.raises(UserError, match=r"val\[20:\]: the slice holds no examples \(val has 8\)"):
        _load(str(data), "data.test=val[20:]")


def _pipe_task():
    """The intent task with a file format of its own: ``text|label`` lines in ``.pipe`` files."""
    import tasklight

    def read_pipe(path: Path):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            text, label = line.split("|")
            yield number, {"text": text, "label": label}

    intent = get_platform().tasks.get("intent")
    piped = type("PipedIntent", (type(intent),), {"adapters": (tasklight.Adapter("pipe", (".pipe",), read_pipe, "text|label lines"),)})
    return piped()


def test_a_task_reads_its_own_format_and_the_unknown_format_error_lists_it(tmp_path):
    platform = get_platform()
    task = _pipe_task()
    config = load_config(task.name, task.settings, demo=False)
    ctx = TaskContext(config=config, metric=platform.metrics.get, seed=0)
    data = tmp_path / "d"
    data.mkdir()
    (data / "train.pipe").write_text("".join(f"play song {i}|music\nrain in town {i}|weather\n" for i in range(5)))
    (data / "test.pipe").write_text("play a tune|music\n")
    splits = load_splits(task, str(data), ctx, platform.adapters)
    assert [(e.text, e.label) for e in splits["test"].examples] == [("play a tune", "music")]
    assert len(splits["train"].examples) + len(splits["validation"].examples) == 10
    odd = tmp_path / "x.parquet"
    odd.write_text("")
    with pytest.raises(UserError) as caught:
        load_splits(task, str(odd), ctx, platform.adapters)
    assert str(caught.value) == (
        f"{odd}: unknown file format for task 'intent' (readable: .pipe, .csv, .json, .jsonl, .ndjson, .tsv)"
    )
