"""The bad-input matrix: every bad input yields one clear line naming what and where,
exit code 2 and no traceback; nothing already written is lost. Inputs that are merely
unusual (unseen labels, over-long lines) are counted and reported, not fatal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TINY, invoke

QUICK = ["--max-steps", "2", *TINY]


@dataclass
class Case:
    id: str
    args: Callable[[Path], list[str]]  # CLI arguments, given a scratch folder
    message: str  # a regex the one error line must match ({tmp} is the scratch folder)
    code: int = 2
    stdin: str | None = None


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


PAIRS = "".join(json.dumps({"source": f"s {i}", "target": f"t {i}"}) + "\n" for i in range(30))
INTENTS = "text,label\n" + "".join(f"play song {i},music\nrain in town {i},weather\n" for i in range(15))
SQUAD_CONTEXT = "Ada lives in Paris. She likes tea."


def squad(answer_start: int) -> str:
    qa = {"id": "q1", "question": "Where does Ada live?", "answers": [{"text": "Paris", "answer_start": answer_start}]}
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": SQUAD_CONTEXT, "qas": [qa]}]}]})


def run(task: str, data: Callable[[Path], Path | str], *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["run", task, "--data", str(data(tmp)), "--out", str(tmp / "out"), *QUICK, *extra]


CASES = [
    # data files and folders
    Case("missing-file", run("translation", lambda t: t / "nope.jsonl"), r"{tmp}/nope.jsonl: no such file or folder"),
    Case("empty-file", run("translation", lambda t: write(t / "empty.jsonl", "")), r"{tmp}/empty.jsonl.*(empty|no examples)"),
    Case("folder-without-splits", run("intent", lambda t: write(t / "d" / "notes.txt", "hello").parent), r"{tmp}/d.*no train split"),
    Case("not-utf8", run("translation", lambda t: write(t / "latin1.jsonl", b'{"source": "caf\xe9", "target": "x"}\n')), r"{tmp}/latin1.jsonl.*UTF-8"),
    Case("malformed-jsonl", run("translation", lambda t: write(t / "p.jsonl", PAIRS + '{"source": "a", \n')), r"{tmp}/p.jsonl:31: malformed JSON"),
    Case("malformed-json", run("qa", lambda t: write(t / "squad.json", '{"data": [')), r"{tmp}/squad.json.*malformed JSON"),
    Case("malformed-csv", run("intent", lambda t: write(t / "i.csv", INTENTS + '"unclosed quote,music\n')), r"{tmp}/i.csv.*"),
    Case("csv-missing-column", run("intent", lambda t: write(t / "i.csv", "text,intent\nhello,greet\n")), r"{tmp}/i.csv.*missing field 'label'"),
    Case("jsonl-missing-field", run("translation", lambda t: write(t / "p.jsonl", '{"source": "a"}\n')), r"{tmp}/p.jsonl:1: missing field 'target'"),
    Case("wrong-type", run("translation", lambda t: write(t / "p.jsonl", '{"source": 5, "target": "b"}\n')), r"{tmp}/p.jsonl:1: .*source.*(string|text)"),
    Case("empty-string", run("translation", lambda t: write(t / "p.jsonl", '{"source": "", "target": "b"}\n')), r"{tmp}/p.jsonl:1: .*empty"),
    Case("answer-outside-context", run("qa", lambda t: write(t / "squad.json", squad(500))), r"{tmp}/squad.json.*q1.*outside"),
    Case("answer-text-mismatch", run("qa", lambda t: write(t / "squad.json", squad(3))), r"{tmp}/squad.json.*q1.*"),
    Case("dialogsum-bad-literal", run("summarization", lambda t: write(t / "dialogsum.train.jsonl", "{'dialogue': 'x', 'summary': \n")), r"{tmp}/dialogsum.train.jsonl:1: "),
    Case("config-file-missing", lambda t: ["run", "translation", "--config", str(t / "c.toml"), "--out", str(t / "o")], r"{tmp}/c.toml"),
    Case("config-file-malformed", lambda t: ["run", "translation", "--config", str(write(t / "c.toml", "[trainer\nlr=")), "--out", str(t / "o")], r"{tmp}/c.toml.*"),
    Case("tokenizer-path-missing", lambda t: ["run", "translation", "--set", f"tokenizer.path={t}/tok.json", "--out", str(t / "o")], r"{tmp}/tok.json"),
    # options and values
    Case("unknown-task", lambda t: ["run", "translaton"], r"unknown task 'translaton'; did you mean 'translation'"),
    Case("unknown-option", lambda t: ["run", "translation", "--max-stepz", "3"], r"No such option '--max-stepz'. \(Did you mean one of: .*'--max-steps'"),
    Case("unknown-set-key", lambda t: ["run", "translation", "--set", "trainer.lrr=1", "--out", str(t / "o")], r"unknown config key 'trainer.lrr'.*did you mean 'trainer.lr'"),
    Case("set-without-equals", lambda t: ["run", "translation", "--set", "trainer.lr", "--out", str(t / "o")], r"--set expects key=value, got 'trainer.lr'"),
    Case("wrong-value-type", lambda t: ["run", "translation", "--set", "trainer.lr=fast", "--out", str(t / "o")], r"trainer.lr.*fast"),
    Case("negative-steps", lambda t: ["run", "translation", "--max-steps", "-5", "--out", str(t / "o")], r"max_steps.*-5"),
    Case("zero-batch-size", lambda t: ["run", "translation", "--set", "data.max_tokens=0", "--out", str(t / "o")], r"data.max_tokens.*0"),
    Case("unknown-preset", lambda t: ["run", "translation", "--set", "model.preset=huge", "--out", str(t / "o")], r"preset 'huge'.*(tiny|mini|small|base)"),
    Case("unknown-precision", lambda t: ["run", "translation", "--precision", "bf17", "--out", str(t / "o")], r"invalid trainer option: Precision 'bf17' is invalid"),
    Case("unknown-accelerator", lambda t: ["run", "translation", "--accelerator", "tpuu", "--out", str(t / "o")], r"invalid trainer option: .*tpuu"),
    Case("unknown-strategy", lambda t: ["run", "translation", "--strategy", "dpp", "--out", str(t / "o")], r"invalid trainer option: .*dpp"),
    Case("unwritable-output", lambda t: ["run", "translation", "--out", str(write(t / "file.txt", "x") / "run")], r"{tmp}/file.txt"),
    Case("existing-run-dir", lambda t: ["run", "translation", "--out", str(write(t / "o" / "keep.txt", "x").parent)], r"{tmp}/o.*already exists"),
    Case("resume-nothing", lambda t: ["run", "translation", "--out", str(t / "none"), "--resume"], r"{tmp}/none: nothing to resume"),
    Case("eval-missing-run", lambda t: ["eval", "translation", "--run", str(t / "no-run")], r"{tmp}/no-run"),
    Case("predict-missing-run", lambda t: ["predict", "translation", "--run", str(t / "no-run"), "hello"], r"{tmp}/no-run"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(runner, tmp_path, case: Case):
    code, out = invoke(runner, *case.args(tmp_path), input=case.stdin)
    lines = out.strip().splitlines()
    assert "Traceback" not in out
    assert code == case.code, out
    # click prints usage lines before its own "Error: No such option" line.
    assert len(lines) == 1 or (case.id == "unknown-option" and lines[-1].startswith("Error:")), out
    assert re.search(case.message.replace("{tmp}", re.escape(str(tmp_path))), lines[-1]), lines[-1]
    assert not (tmp_path / "o").exists() or case.id == "existing-run-dir"  # nothing written for a refused run


def test_there_are_at_least_25_bad_inputs():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


def test_unseen_test_labels_are_counted_not_fatal(runner, tmp_path):
    data = tmp_path / "d"
    write(data / "train.csv", INTENTS)
    write(data / "test.csv", "text,label\nplay song 3,music\nbook a table,restaurant\n")
    code, out = invoke(runner, "run", "intent", "--data", str(data), "--out", str(tmp_path / "o"), *QUICK)
    assert code == 0, out
    record = json.loads((tmp_path / "o" / "metrics.json").read_text())
    unseen = [m["details"]["unseen_labels"] for m in record["metrics"].values() if "unseen_labels" in m.get("details", {})]
    assert unseen and unseen[0] == {"count": 1, "labels": ["restaurant"]}


def test_over_long_inputs_are_truncated_and_counted(runner, tmp_path):
    long = " ".join(f"word{i}" for i in range(5000))
    data = write(tmp_path / "p.jsonl", PAIRS + json.dumps({"source": long, "target": "t"}) + "\n")
    code, out = invoke(runner, "run", "translation", "--data", str(data), "--out", str(tmp_path / "o"), *QUICK)
    assert code == 0, out
    record = json.loads((tmp_path / "o" / "metrics.json").read_text())
    truncated = record["training"]["truncated_examples"]
    assert sum(truncated.values()) == 1, truncated  # the one long example, in whichever split it fell
