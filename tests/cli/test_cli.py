"""The launcher as a user drives it: exit codes, one-line errors, the run directory."""

from __future__ import annotations

import json
from types import SimpleNamespace

import tasklight
from tasklight.plugins import temporary_plugin
from tests.conftest import TINY, invoke


def test_help_lists_every_command(runner):
    code, out = invoke(runner, "--help")
    assert code == 0
    for command in ("run", "eval", "predict", "tasks", "plugins"):
        assert f"  {command} " in out


def test_tasks_lists_translation(runner):
    code, out = invoke(runner, "tasks", "--json")
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["name"] == "translation"]
    assert row["shape"] == "encoder-decoder" and row["metrics"] == ["bleu", "chrf"] and row["plugin"] == "translation"


def test_plugins_json_lists_translation_with_version_and_hooks(runner):
    code, out = invoke(runner, "plugins", "--json")
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["name"] == "translation"]
    assert row["version"] == tasklight.__version__
    assert row["hooks"] == ["register_metrics", "register_tasks"] and row["errors"] == []


def test_misspelt_task_suggests_the_right_one(runner):
    code, out = invoke(runner, "run", "translaton")
    assert code == 2
    (line,) = out.strip().splitlines()
    assert line.startswith("Error: unknown task 'translaton'; did you mean 'translation'? (known: ")
    assert "translation)" in line


def test_missing_data_path_is_one_line(runner, tmp_path):
    missing = tmp_path / "nope"
    code, out = invoke(runner, "run", "translation", "--data", str(missing), "--out", str(tmp_path / "r"))
    assert code == 2
    assert out.strip().splitlines() == [f"Error: {missing}: no such file or folder"]


def test_malformed_jsonl_names_file_and_line(runner, tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"source": "a", "target": "b"}\n{"source": "c", "target": \n')
    code, out = invoke(runner, "run", "translation", "--data", str(data), "--out", str(tmp_path / "r"))
    assert code == 2
    assert out.strip().splitlines() == [f"Error: {data}:2: malformed JSON (Expecting value at column 27)"]


def test_missing_field_names_file_and_line(runner, tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"source": "a", "target": "b"}\n{"source": "c", "tgt": "d"}\n')
    code, out = invoke(runner, "run", "translation", "--data", str(data), "--out", str(tmp_path / "r"))
    assert code == 2
    assert out.strip() == f"Error: {data}:2: missing field 'target' (fields present: source, tgt)"


def test_unknown_set_key_is_one_line(runner, tmp_path):
    code, out = invoke(runner, "run", "translation", "--set", "trainer.max_stepz=3", "--out", str(tmp_path / "r"))
    assert code == 2
    assert out.strip() == "Error: unknown config key 'trainer.max_stepz' in --set; did you mean 'trainer.max_steps'?"


def test_existing_run_directory_is_not_overwritten(runner, tmp_path):
    out_dir = tmp_path / "r"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("precious")
    code, out = invoke(runner, "run", "translation", "--out", str(out_dir))
    assert code == 2 and "already exists; use --resume" in out
    assert (out_dir / "keep.txt").read_text() == "precious"


def test_run_writes_the_run_directory(translation_run):
    for name in ("run.json", "config.toml", "tokenizer.json", "metrics.json", "predictions.jsonl", "curves.png"):
        assert (translation_run / name).is_file(), name
    assert (translation_run / "checkpoints" / "best.ckpt").is_file()
    assert (translation_run / "checkpoints" / "last.ckpt").is_file()
    assert (translation_run / "logs" / "csv" / "metrics.csv").is_file()
    record = json.loads((translation_run / "metrics.json").read_text())
    from tasklight.results import validate_record

    assert validate_record(record) == []
    assert record["task"] == {"name": "translation", "version": "1", "shape": "encoder-decoder"}
    assert record["primary_metric"] == "bleu"
    assert record["metrics"]["bleu"]["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert record["metrics"]["chrf"]["higher_is_better"] is True
    assert record["dataset"]["size"] == 24 and record["training"]["steps"] == 20
    assert record["versions"]["metric_libraries"]["sacrebleu"] != "not installed"
    lines = (translation_run / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 24
    assert set(json.loads(lines[0])) == {"source", "translation", "reference"}
    for name in ("bleu", "chrf"):  # sacreBLEU's own bootstrap interval over the 24 test sentences
        interval = record["metrics"][name]["interval"]
        assert interval["resamples"] == 1000 and interval["level"] == 0.95 and interval["seed"] == "12345"
        assert interval["method"].startswith("sacreBLEU bootstrap: mean ")
        assert interval["low"] <= record["metrics"][name]["value"] <= interval["high"]


def test_predict_arguments_and_stdin(runner, translation_run):
    code, out = invoke(runner, "predict", "translation", "--run", str(translation_run), "twenty-one red cats", "I see five dogs .")
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in rows] == ["twenty-one red cats", "I see five dogs ."]
    assert all(isinstance(r["translation"], str) for r in rows)
    code, out2 = invoke(runner, "predict", "translation", "--run", str(translation_run), "-", input='twenty-one red cats\n{"source": "I see five dogs ."}\n')
    assert code == 0 and out2 == out


def test_predict_eval_and_serve_take_the_device_options_of_run(runner, translation_run):
    code, out = invoke(runner, "predict", "translation", "--run", str(translation_run), "--accelerator", "cpu", "--devices", "1", "twenty-one red cats")
    assert code == 0, out
    assert out == invoke(runner, "predict", "translation", "--run", str(translation_run), "twenty-one red cats")[1]
    for command in ("run", "predict", "eval", "serve"):
        code, out = invoke(runner, command, "--help")
        assert code == 0 and "--accelerator TEXT" in out and "--devices TEXT" in out, command


def test_a_bad_accelerator_is_one_line_before_anything_loads(runner, translation_run):
    code, out = invoke(runner, "predict", "translation", "--run", str(translation_run), "--accelerator", "tpuu", "x")
    assert code == 2
    (line,) = out.strip().splitlines()
    # Lightning lists the names it knows in no fixed order.
    assert line.startswith("Error: invalid trainer option: You selected an invalid accelerator name: `accelerator='tpuu'`. Available names are: ")
    assert {"auto", "cpu", "cuda"} <= set(line.rsplit(": ", 1)[1].rstrip(".").split(", "))


def test_a_runs_config_toml_is_validated_like_a_new_runs_config(runner, translation_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(translation_run, run)
    config = run / "config.toml"
    config.write_text(config.read_text().replace("\nlr = ", "\nlrr = "))
    code, out = invoke(runner, "predict", "translation", "--run", str(run), "x")
    assert code == 2
    assert out.strip() == f"Error: unknown config key 'trainer.lrr' in {config}; did you mean 'trainer.lr'?"


def test_predict_with_checkpoint_of_another_task_is_refused(runner, translation_run):
    code, out = invoke(runner, "predict", "summarization", "--run", str(translation_run), "x")
    assert code == 2
    assert out.strip() == f"Error: {translation_run}/checkpoints/best.ckpt: checkpoint of task 'translation', not 'summarization'"


def test_eval_scores_the_run(runner, translation_run):
    code, out = invoke(runner, "eval", "translation", "--run", str(translation_run), "--split", "validation", "--set", "data.limit_test=8")
    assert code == 0, out
    record = json.loads((translation_run / "eval-validation.json").read_text())
    assert record["dataset"]["split"] == "validation" and record["dataset"]["size"] == 500
    assert "bleu" in out
    assert record["metrics"]["bleu"]["interval"]["resamples"] == 1000
    code, out = invoke(runner, "eval", "translation", "--run", str(translation_run), "--split", "validation", "--set", "eval.bootstrap=0")
    assert code == 0, out
    record = json.loads((translation_run / "eval-validation.json").read_text())
    assert [name for name, entry in record["metrics"].items() if "interval" in entry] == []  # 0: no intervals


def test_eval_of_the_test_split_scores_what_the_run_scored(runner, translation_run):
    """The test stage of a run and `platform eval` are one evaluation: the same checkpoint on the
    same examples (the run's data.limit_test=24 applies) gives the same scores."""
    code, out = invoke(runner, "eval", "translation", "--run", str(translation_run), "--accelerator", "cpu")
    assert code == 0, out
    evaluated = json.loads((translation_run / "eval-test.json").read_text())
    trained = json.loads((translation_run / "metrics.json").read_text())
    assert evaluated["dataset"] == trained["dataset"]
    assert evaluated["metrics"] == trained["metrics"]
    assert evaluated["hardware"]["accelerator"] == "cpu"


def test_on_results_and_register_callbacks_hooks_fire(runner, tmp_path):
    import pytorch_lightning as pl

    seen: dict[str, object] = {}

    class Counter(pl.Callback):
        def on_train_batch_end(self, *args, **kwargs):
            seen["batches"] = int(seen.get("batches", 0)) + 1

    def register_callbacks(task, config):
        seen["task"] = task.name
        return [Counter()]

    def on_results(record):
        seen["record"] = record

    plugin = SimpleNamespace(
        register_callbacks=tasklight.hookimpl(register_callbacks), on_results=tasklight.hookimpl(on_results)
    )
    with temporary_plugin(plugin, "observer"):
        code, out = invoke(runner, "run", "translation", "--max-steps", "3", "--out", str(tmp_path / "r"), *TINY)
    assert code == 0, out
    assert seen["task"] == "translation" and seen["batches"] == 3
    assert seen["record"]["task"]["name"] == "translation"  # type: ignore[index]


def test_a_given_tokenizer_json_is_used_as_is(runner, translation_run, tmp_path):
    given = translation_run / "tokenizer.json"
    out = tmp_path / "r"
    code, text = invoke(runner, "run", "translation", "--max-steps", "2", "--out", str(out), *TINY, "--set", f"tokenizer.path={given}")
    assert code == 0, text
    assert (out / "tokenizer.json").read_bytes() == given.read_bytes()


def test_a_broken_tokenizer_json_is_one_line(runner, tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    code, text = invoke(runner, "run", "translation", "--max-steps", "2", "--out", str(tmp_path / "r"), "--set", f"tokenizer.path={bad}")
    assert code == 2
    assert text.strip().startswith(f"Error: {bad}: not a readable tokenizer.json")


def test_a_byte_level_tokenizer_run_predicts_text_with_characters_never_seen(runner, tmp_path):
    out = tmp_path / "r"
    code, text = invoke(runner, "run", "translation", "--max-steps", "4", "--out", str(out), *TINY,
                        "--set", "tokenizer.kind=bytelevel")
    assert code == 0, text
    saved = tasklight.Tokenizer.load(out / "tokenizer.json")
    assert saved.decode(saved.encode("Ein Café, 日本 😀!")) == "Ein Café, 日本 😀!"
    code, text = invoke(runner, "predict", "translation", "--run", str(out), "Ein Café, 日本 😀!")
    assert code == 0 and text.strip(), text


def test_an_unknown_tokenizer_kind_is_one_line_before_anything_is_written(runner, tmp_path):
    code, text = invoke(runner, "run", "translation", "--out", str(tmp_path / "r"), "--set", "tokenizer.kind=chars")
    assert code == 2
    assert text.strip().startswith("Error:") and "tokenizer.kind" in text and "bytelevel" in text
    assert len(text.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
