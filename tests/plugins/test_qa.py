"""The qa plugin: SQuAD readers, answer checks, windowing, official EM/F1, predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tasklight
from tasklight.testing import check_task
from tasklight_qa.metrics import METRICS, normalize_answer
from tasklight_qa.readers import Answer, Question
from tasklight_qa.task import QATask, Span, tidy, windows
from tests.conftest import TINY, invoke, shared

TASK = QATask()
F1, EM = (m.compute for m in METRICS)


def make_ctx(hparams: dict | None = None, **overrides: object) -> tasklight.TaskContext:
    """A TaskContext over the task's defaults plus overrides (``data__max_length=64``); no torch needed."""
    config = {"data.max_length": 256, **TASK.settings, **{k.replace("__", "."): v for k, v in overrides.items()}}
    metrics = {m.name: m for m in METRICS}
    return tasklight.TaskContext(config=config, metric=metrics.__getitem__, seed=0, hparams=hparams or {})


def squad_file(tmp_path: Path, qas: list[dict], context: str = "The Eiffel Tower is in Paris.", name: str = "s.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}]}))
    return path


# ---- conformance -------------------------------------------------------------------
def test_conformance(tmp_path: Path) -> None:
    scores = check_task("qa", tmp_path)
    assert set(scores) == {"f1", "exact_match"}


# ---- readers ------------------------------------------------------------------------
def test_reads_xquad_squad_v1() -> None:
    path = shared("qa", "xquad_en", "xquad.en.json")
    questions = TASK.read_files([path], make_ctx())
    assert len(questions) == 1190
    assert all(len(q.answers) == 1 for q in questions)
    assert len({q.context for q in questions}) == 240
    for q in questions:
        a = q.answers[0]
        assert q.context[a.start : a.start + len(a.text)] == a.text


def test_reads_squadshifts_with_several_answers() -> None:
    path = shared("qa", "squadshifts", "new_wiki_v1.0.json")
    questions = TASK.read_files([path], make_ctx())
    assert len(questions) == 7938
    assert sum(len(q.answers) for q in questions) == 22794
    several = [q for q in questions if len(q.answers) > 1]
    assert len(several) > 7000
    assert TASK.reference(several[0]) == [a.text for a in several[0].answers]


def test_squad_v2_unanswerable_question(tmp_path: Path) -> None:
    path = squad_file(tmp_path, [
        {"id": "q1", "question": "Where is it?", "answers": [{"text": "Paris", "answer_start": 23}], "is_impossible": False},
        {"id": "q2", "question": "Who painted it?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "Eiffel", "answer_start": 4}]},
    ])
    answerable, impossible = TASK.read_files([path], make_ctx())
    assert answerable.answers == (Answer("Paris", 23),)
    assert impossible.answers == () and impossible.unanswerable
    assert TASK.reference(impossible) == [""]
    # Only an empty prediction is right on an unanswerable question.
    refs = [TASK.reference(answerable), TASK.reference(impossible)]
    assert F1(["Paris", ""], refs).value == 100.0
    assert F1(["Paris", "Eiffel"], refs).value == 50.0
    assert EM(["", ""], refs).value == 50.0
    assert EM(["Paris", ""], refs).details == {
        "total": 2, "has_answer": 1, "no_answer": 1, "has_answer_score": 100.0, "no_answer_score": 100.0,
    }


def test_non_squad_json_goes_to_the_generic_adapter(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"question": "q", "context": "abc", "answers": [{"text": "b", "answer_start": 1}]}]))
    assert TASK.read_files([path], make_ctx()) is None
    assert TASK.read_files([tmp_path / "x.jsonl"], make_ctx()) is None


def test_bad_offset_in_squad_json_names_file_and_id(tmp_path: Path) -> None:
    path = squad_file(tmp_path, [{"id": "abc123", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 20}]}])
    with pytest.raises(tasklight.UserError) as err:
        TASK.read_files([path], make_ctx())
    assert str(path) in str(err.value) and "'abc123'" in str(err.value)
    assert "'Paris'" in str(err.value) and "(the context has 'in Pa' there)" in str(err.value)


def test_offset_outside_the_context_names_file_and_id(tmp_path: Path) -> None:
    path = squad_file(tmp_path, [{"id": "far", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 400}]}])
    with pytest.raises(tasklight.UserError, match=r"s\.json: question id 'far': .*outside the context"):
        TASK.read_files([path], make_ctx())


def test_records_in_both_answer_styles_and_csv_columns() -> None:
    ctx = make_ctx()
    context = "Ann wrote it in 1990."
    hf = TASK.from_record({"id": "a", "question": "When?", "context": context,
                           "answers": {"text": ["1990", "in 1990"], "answer_start": [16, 13]}}, "f.jsonl:1", ctx)
    assert hf.answers == (Answer("1990", 16), Answer("in 1990", 13))
    listed = TASK.from_record({"question": "Who?", "context": context, "answers": [{"text": "Ann", "answer_start": 0}]}, "f.jsonl:2", ctx)
    assert listed.answers == (Answer("Ann", 0),)
    csv_row = TASK.from_record({"question": "Who?", "context": context, "answer_text": "Ann", "answer_start": "0"}, "f.csv:2", ctx)
    assert csv_row.answers == (Answer("Ann", 0),)
    empty = TASK.from_record({"question": "Why?", "context": context, "answer_text": "", "answer_start": ""}, "f.csv:3", ctx)
    assert empty.unanswerable
    with pytest.raises(tasklight.UserError, match=r"^f\.jsonl:9: question id 'b': answer 'Ann' does not match"):
        TASK.from_record({"id": "b", "question": "Who?", "context": context,
                          "answers": {"text": ["Ann"], "answer_start": [1]}}, "f.jsonl:9", ctx)
    with pytest.raises(tasklight.UserError, match=r"^f\.jsonl:4: answers has 1 texts but 2 answer_start"):
        TASK.from_record({"question": "Who?", "context": context,
                          "answers": {"text": ["Ann"], "answer_start": [0, 1]}}, "f.jsonl:4", ctx)


def test_bad_offsets_through_the_cli(runner, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"id": "x7", "question": "Who?", "context": "Ann wrote it.",
                                "answers": [{"text": "Ann", "answer_start": 2}]}) + "\n")
    code, output = invoke(runner, "run", "qa", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet")
    assert code == 2
    assert f"{data}:1: question id 'x7': answer 'Ann' does not match" in output
    assert "Traceback" not in output


# ---- windowing ------------------------------------------------------------------------
def test_window_starts_cover_every_token() -> None:
    assert windows(10, 20, 5) == [windows(10, 20, 5)[0]] and windows(10, 20, 5)[0].length == 10
    found = windows(25, 10, 4)
    assert [(w.offset, w.length) for w in found] == [(0, 10), (4, 10), (8, 10), (12, 10), (16, 9)]
    # A stride wider than the window would skip tokens: it is capped at the window.
    assert [(w.offset, w.length) for w in windows(25, 10, 50)] == [(0, 10), (10, 10), (20, 5)]


@pytest.fixture(scope="module")
def tokenizer() -> tasklight.Tokenizer:
    texts = [q.context for q in TASK.demo("train", make_ctx())[:300]] + [q.question for q in TASK.demo("train", make_ctx())[:300]]
    return tasklight.Tokenizer.train(texts, 400, 1)


def long_example() -> Question:
    sentences = [f"Person number {i} lives in Town{i}." for i in range(40)]
    context = " ".join(sentences)
    answer = "Town27"
    return Question("Where does person number 27 live?", context, (Answer(answer, context.index(answer + ".")),), "long")


def test_long_context_gives_windows_that_map_back_to_the_answer(tokenizer) -> None:
    example = long_example()
    ctx = make_ctx(data__max_length=64, data__doc_stride=24)
    rows = TASK.encode(example, tokenizer, ctx, train=True)
    assert len(rows) >= 5
    assert all(len(r["input"]) <= 64 for r in rows)
    assert all(r["input"][0] == tokenizer.bos_id and r["input"][r["_first"] - 1] == tokenizer.sep_id for r in rows)
    holding = [r for r in rows if r["start"] != 0]
    assert len(holding) >= 2  # the windows overlap, so more than one holds the answer
    a = example.answers[0]
    for row in holding:
        begin = row["_chars"][row["start"] - row["_first"]][0]
        stop = row["_chars"][row["end"] - row["_first"]][1]
        assert example.context[begin:stop] == "Town27"
        assert (begin, stop) == (a.start, a.start + len(a.text))
    assert all(r["end"] == 0 for r in rows if r["start"] == 0)
    # Every context character is in some window: the windows cover the whole context.
    covered = {c for r in rows for s, e in r["_chars"] for c in range(s, e)}
    assert all(i in covered for i, ch in enumerate(example.context) if not ch.isspace())


def fake_outputs(rows: list[dict], hit: dict[int, tuple[int, int]], null: float = -5.0) -> list[dict]:
    """Head outputs with start/end peaked at the given row positions (row index -> positions)."""
    outputs = []
    for k, row in enumerate(rows):
        n = len(row["input"])
        start, end = [0.0] * n, [0.0] * n
        start[0] = end[0] = null
        if k in hit:
            start[hit[k][0]] = end[hit[k][1]] = 8.0
        outputs.append({"start": start, "end": end, "_first": row["_first"], "_chars": row["_chars"]})
    return outputs


def test_decode_picks_the_best_span_across_windows(tokenizer) -> None:
    example = long_example()
    ctx = make_ctx(data__max_length=64, data__doc_stride=24)
    rows = TASK.encode(example, tokenizer, ctx, train=True)
    k = next(i for i, r in enumerate(rows) if r["start"] != 0)
    span = TASK.decode(example, fake_outputs(rows, {k: (rows[k]["start"], rows[k]["end"])}), tokenizer, ctx)
    a = example.answers[0]
    assert (span.text, span.start, span.end) == ("Town27", a.start, a.start + 6)
    assert 0.5 < span.score <= 1.0
    assert F1([span], [TASK.reference(example)]).value == 100.0  # spans score by their text


def test_decode_predicts_no_answer_when_the_null_score_wins(tokenizer) -> None:
    example = long_example()
    ctx = make_ctx({"no_answer": True}, data__max_length=64, data__doc_stride=24)
    rows = TASK.encode(example, tokenizer, ctx, train=False)
    span = TASK.decode(example, fake_outputs(rows, {}, null=9.0), tokenizer, ctx)
    assert (span.text, span.start, span.end) == ("", None, None)
    assert span.score > 0.5


def test_a_model_trained_without_unanswerable_questions_always_answers(tokenizer) -> None:
    # SQuAD 1.1 / XQuAD: position 0 only says "not in this window"; the best span wins anyway.
    example = long_example()
    answered = make_ctx(data__max_length=64, data__doc_stride=24)
    rows = TASK.encode(example, tokenizer, answered, train=False)
    k = next(i for i, r in enumerate(TASK.encode(example, tokenizer, answered, train=True)) if r["start"] != 0)
    target = TASK.encode(example, tokenizer, answered, train=True)[k]
    outputs = fake_outputs(rows, {k: (target["start"], target["end"])}, null=20.0)
    ctx = make_ctx(TASK.head_hparams([example], answered), data__max_length=64, data__doc_stride=24)
    assert ctx.hparams == {"no_answer": False}
    assert TASK.decode(example, outputs, tokenizer, ctx).text == "Town27"
    # Trained with an unanswerable question among the answered ones, the same outputs say "no answer".
    unanswerable = Question("Who?", "Nobody is named here.", ())
    ctx = make_ctx(TASK.head_hparams([example, unanswerable], answered), data__max_length=64, data__doc_stride=24)
    assert TASK.decode(example, outputs, tokenizer, ctx).text == ""


# ---- metrics --------------------------------------------------------------------------
def test_official_normalisation() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theatre") == "theatre"  # articles are whole words only


@pytest.mark.parametrize(
    ("prediction", "references", "em", "f1"),
    [
        ("the Eiffel Tower", ["Eiffel tower!"], 100.0, 100.0),
        ("Eiffel Tower in Paris", ["the Eiffel Tower"], 0.0, 200 / 3),  # p 2/4, r 2/2
        ("Paris", ["the city of Paris", "Paris"], 100.0, 100.0),  # max over references
        ("in 1990", ["1990", "the year 1990"], 0.0, 200 / 3),  # best reference: p 1/2, r 1/1
        ("London", ["Paris"], 0.0, 0.0),
        ("", ["Paris"], 0.0, 0.0),
    ],
)
def test_em_and_f1_on_hand_made_examples(prediction: str, references: list[str], em: float, f1: float) -> None:
    assert EM([prediction], [references]).value == pytest.approx(em)
    assert F1([prediction], [references]).value == pytest.approx(f1)


def test_corpus_scores_average_and_carry_the_signature() -> None:
    value = F1(["the Eiffel Tower", "Eiffel Tower in Paris"], [["Eiffel tower!"], ["the Eiffel Tower"]])
    assert value.value == pytest.approx((100 + 200 / 3) / 2)
    assert "max over references" in value.signature and "no-articles(a,an,the)" in value.signature
    assert EM(["the Eiffel Tower", "x"], [["Eiffel tower!"], ["y"]]).value == 50.0


# ---- demo and predict ------------------------------------------------------------------
def test_demo_answers_are_exact_spans_and_some_are_unanswerable() -> None:
    test = TASK.demo("test", make_ctx())
    assert len(test) == 500
    for q in test:
        for a in q.answers:
            assert q.context[a.start : a.start + len(a.text)] == a.text
    unanswerable = sum(q.unanswerable for q in test)
    assert 25 <= unanswerable <= 75
    # The answer's position varies: it is not always in the first or last sentence.
    starts = {q.answers[0].start // 50 for q in test if q.answers}
    assert len(starts) > 5


def test_plain_text_input_is_an_error_asking_for_json() -> None:
    with pytest.raises(tasklight.UserError, match=r"^argument 1: qa needs a JSON object .*\"question\".*\"context\""):
        TASK.parse_input("who wrote it?", "argument 1", make_ctx())
    with pytest.raises(tasklight.UserError, match=r"^argument 2: missing field 'context'"):
        TASK.parse_input({"question": "who?"}, "argument 2", make_ctx())


def test_to_json_shape() -> None:
    example = Question("Who?", "Ann wrote it.")
    assert TASK.to_json(example, Span("Ann", 0, 3, 0.91234)) == {
        "question": "Who?", "context": "Ann wrote it.", "answer": "Ann", "start": 0, "end": 3, "score": 0.9123,
    }


def test_run_and_predict_through_the_cli(runner, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    rows = [{"id": q.id, "question": q.question, "context": q.context,
             "answers": {"text": [a.text for a in q.answers], "answer_start": [a.start for a in q.answers]}}
            for q in TASK.demo("train", make_ctx())[:200]]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "run"
    code, output = invoke(runner, "run", "qa", "--data", str(data), "--max-steps", "10", "--out", str(out), *TINY,
                          "--set", "data.max_length=64", "--set", "data.doc_stride=32")
    assert code == 0, output
    record = json.loads((out / "metrics.json").read_text())
    assert record["metrics"]["f1"]["higher_is_better"] is True
    context = "Ann Bell was born in Tarsford. Ann Bell works as a baker."
    code, output = invoke(runner, "predict", "qa", "--run", str(out), json.dumps({"question": "Where was Ann Bell born?", "context": context}))
    assert code == 0, output
    shown = json.loads(output.strip().splitlines()[-1])
    assert set(shown) == {"question", "context", "answer", "start", "end", "score"}
    if shown["answer"]:
        assert context[shown["start"] : shown["end"]] == shown["answer"]
    else:
        assert shown["start"] is None and shown["end"] is None
    assert 0.0 <= shown["score"] <= 1.0
    code, output = invoke(runner, "predict", "qa", "--run", str(out), "Where was Ann Bell born?")
    assert code == 2
    assert "qa needs a JSON object" in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("text", "shown"),
    [("Paris,", "Paris"), ("pale pink.", "pale pink"), ("1906.", "1906"), ("the U.S.", "the U.S."),
     ("Acme Inc.", "Acme Inc."), ("Mr.", "Mr."), ("why?!", "why"), ("x", "x")],
)
def test_predicted_spans_drop_trailing_punctuation_of_whole_word_tokens(text: str, shown: str) -> None:
    context = f"<{text}>"
    begin, stop = tidy(context, 1, 1 + len(text))
    assert context[begin:stop] == shown
