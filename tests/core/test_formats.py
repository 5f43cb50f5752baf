"""The public readers of layouts several tasks share: line-aligned files, seq.in/label/seq.out
folders, SQuAD JSON (docs/plugins.md, "Formats")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tasklight
from tasklight.errors import UserError
from tests.conftest import shared


def test_read_parallel_pairs_lines_and_skips_lines_blank_everywhere(tmp_path):
    words, tags = tmp_path / "seq.in", tmp_path / "seq.out"
    words.write_text("show me flights \r\n\nto denver\n  \nboston\n")
    tags.write_text("O O O\n\nO B-toloc\nO\n\n")
    assert tasklight.read_parallel([words, tags]) == [
        (1, ("show me flights", "O O O")), (3, ("to denver", "O B-toloc")), (4, ("", "O")), (5, ("boston", "")),
    ]


def test_read_parallel_counts_lines_at_newlines_only(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one\u2028still one\ntwo\n")  # U+2028 splits a line for str.splitlines, not for wc -l
    b.write_text("1\n2\n")
    assert tasklight.read_parallel([a, b]) == [(1, ("one\u2028still one", "1")), (2, ("two", "2"))]
    b.write_text("1\n")
    with pytest.raises(UserError, match=rf"^{a} has 2 lines but {b} has 1; they must be line-aligned$"):
        tasklight.read_parallel([a, b])


def test_aligned_splits_of_atis():
    folder = shared("intent", "atis")
    splits = tasklight.aligned_splits(folder, ("seq.in", "seq.out"))
    assert splits == {name: [folder / name / "seq.in", folder / name / "seq.out"] for name in ("test", "train", "valid")}
    assert tasklight.aligned_splits(folder / "test", ("seq.in", "label")) == {"test": [folder / "test" / "seq.in", folder / "test" / "label"]}
    assert tasklight.aligned_splits(folder, ("seq.in", "missing")) == {}


def test_aligned_splits_of_a_folder_holding_the_files_itself(tmp_path):
    for folder in ("mydata", "valid"):
        (tmp_path / folder).mkdir()
        for name in ("seq.in", "label"):
            (tmp_path / folder / name).write_text("x\n")
    assert tasklight.aligned_splits(tmp_path / "mydata", ("seq.in", "label")) == {
        "train": [tmp_path / "mydata" / "seq.in", tmp_path / "mydata" / "label"]
    }
    assert list(tasklight.aligned_splits(tmp_path / "valid", ("seq.in", "label"))) == ["valid"]


def _squad(tmp_path: Path, qas: list, name: str = "s.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "Ann lives in Paris.", "qas": qas}]}]}))
    return path


def test_read_squad_gives_records_in_file_order(tmp_path):
    path = _squad(tmp_path, [
        {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 13}]},
        {"id": "q2", "question": "Who is Bob?", "answers": [{"text": "x", "answer_start": 0}], "is_impossible": True},
        {"question": "Who?", "answers": [{"text": "Ann", "answer_start": 0}]},
    ])
    assert tasklight.read_squad(path) == [
        {"id": "q1", "question": "Where?", "context": "Ann lives in Paris.", "answers": [{"text": "Paris", "answer_start": 13}], "is_impossible": False},
        {"id": "q2", "question": "Who is Bob?", "context": "Ann lives in Paris.", "answers": [], "is_impossible": True},
        {"id": "1.1.3", "question": "Who?", "context": "Ann lives in Paris.", "answers": [{"text": "Ann", "answer_start": 0}], "is_impossible": False},
    ]


def test_read_squad_is_none_for_other_json_and_names_the_question_of_a_bad_one(tmp_path):
    other = tmp_path / "records.json"
    other.write_text('[{"question": "Where?", "context": "Here."}]')
    assert tasklight.read_squad(other) is None
    path = _squad(tmp_path, [{"id": "q9", "question": "  ", "answers": []}])
    with pytest.raises(UserError, match=rf"^{path}: question id 'q9': missing or empty 'question'$"):
        tasklight.read_squad(path)
    (tmp_path / "bad.json").write_text('{"data": [')
    with pytest.raises(UserError, match=rf"^{tmp_path / 'bad.json'}:1: malformed JSON"):
        tasklight.read_squad(tmp_path / "bad.json")
