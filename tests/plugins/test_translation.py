"""The translation plugin: conformance, its readers, and sacreBLEU scoring."""

from __future__ import annotations

import pytest

import tasklight
from tasklight.config import load_config, resolve_config
from tasklight.data.sources import load_splits
from tasklight.plugins import get_platform
from tasklight.testing import check_task
from tests.conftest import shared


def context(*overrides: str) -> tuple[tasklight.Task, tasklight.TaskContext, object]:
    platform = get_platform()
    task = platform.tasks.get("translation")
    config = load_config("translation", task.settings, demo=False, overrides=overrides)
    return task, tasklight.TaskContext(config, platform.metrics.get), platform.adapters


def test_conformance(tmp_path):
    scores = check_task("translation", tmp_path)
    assert set(scores) == {"bleu", "chrf"}


def test_demo_is_detokenized_translation_not_copy():
    task, ctx, _ = context()
    pairs = task.demo("train", ctx)
    assert len(pairs) == 20000
    assert not any(p.source == p.target for p in pairs)
    assert not any(" ." in p.source or " ," in p.target for p in pairs[:200])


def test_multi30k_folder_reads_the_named_splits():
    folder = shared("translation", "multi30k")
    task, ctx, adapters = context("data.src=en", "data.tgt=de", "data.test=test_2016_flickr")
    splits = load_splits(task, str(folder), ctx, adapters)
    assert [len(splits[s].examples) for s in ("train", "validation", "test")] == [29000, 1014, 1000]
    first = splits["test"].examples[0]
    assert first.source.startswith("A man in an orange hat") and first.target.startswith("Ein Mann mit einem orangefarbenen Hut")


def test_multi30k_other_language_pair():
    folder = shared("translation", "multi30k")
    task, ctx, adapters = context("data.src=en", "data.tgt=fr")
    splits = load_splits(task, str(folder), ctx, adapters)
    assert len(splits["validation"].examples) == 1014
    assert splits["test"].origin.endswith("test_2016_flickr.fr")  # test_2016_flickr is the first test* split


def test_opennmt_src_tgt_folder(capsys):
    folder = shared("translation", "wmt_ende_opennmt_sample")
    task, ctx, adapters = context()
    splits = load_splits(task, str(folder), ctx, adapters)
    # One of the 10,000 training pairs has an empty source line: skipped and reported.
    assert len(splits["train"].examples) == 9999 and len(splits["validation"].examples) == 3000
    assert "src-train.txt: skipped 1 line pair(s) with one side empty" in capsys.readouterr().err


def test_pair_of_files_and_line_mismatch(tmp_path):
    src, tgt = tmp_path / "a.en", tmp_path / "a.de"
    src.write_text("one\ntwo\nthree\nfour\n")
    tgt.write_text("eins\nzwei\ndrei\nvier\n")
    task, ctx, adapters = context("data.val_fraction=0.25")
    splits = load_splits(task, f"{src},{tgt}", ctx, adapters)
    assert len(splits["train"].examples) == 3 and len(splits["validation"].examples) == 1
    tgt.write_text("eins\nzwei\n")
    with pytest.raises(tasklight.UserError, match=rf"^{src} has 4 lines but {tgt} has 2; they must be line-aligned$"):
        load_splits(task, f"{src},{tgt}", ctx, adapters)


def test_single_plain_text_file_asks_for_its_pair(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("one\n")
    task, ctx, adapters = context()
    with pytest.raises(tasklight.UserError, match="plain text needs its line-aligned target file too"):
        load_splits(task, str(src), ctx, adapters)


def test_tsv_with_configured_field_names(tmp_path):
    data = tmp_path / "pairs.tsv"
    data.write_text("en\tde\nhello\thallo\nworld\twelt\n")
    task, ctx, adapters = context("data.source_field=en", "data.target_field=de", "data.val_fraction=0.5")
    splits = load_splits(task, str(data), ctx, adapters)
    pairs = splits["train"].examples + splits["validation"].examples
    assert sorted((p.source, p.target) for p in pairs) == [("hello", "hallo"), ("world", "welt")]


def test_folder_without_train_split(tmp_path):
    (tmp_path / "dev.jsonl").write_text('{"source": "a", "target": "b"}\n')
    task, ctx, adapters = context()
    with pytest.raises(tasklight.UserError, match="no train split found"):
        load_splits(task, str(tmp_path), ctx, adapters)


def test_bleu_and_chrf_come_with_signatures():
    metrics = get_platform().metrics
    value = metrics.get("bleu").compute(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert value.value == pytest.approx(100.0)
    assert value.signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    partial = metrics.get("bleu").compute(["the cat sat on a mat"], [["the cat sat on the mat", "a cat sat on a mat"]])
    assert partial.signature.startswith("nrefs:2|")
    import sacrebleu

    expected = sacrebleu.corpus_bleu(["the cat sat on a mat"], [["the cat sat on the mat"], ["a cat sat on a mat"]]).score
    assert partial.value == pytest.approx(expected)
    chrf = metrics.get("chrf").compute(["abc"], ["abd"])
    assert chrf.signature.startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")


def test_a_time_budget_on_real_data_anneals_with_a_cosine_while_other_runs_keep_inverse_sqrt():
    task = get_platform().tasks.get("translation")
    twenty = resolve_config(task, "multi30k", cli={"trainer.max_time": "00:00:20:00"})
    assert (twenty["trainer.schedule"], twenty["trainer.min_lr"]) == ("cosine", 0.0001)
    # A cosine needs a budget to decay over: a run with none, or a longer one, keeps inverse sqrt.
    assert resolve_config(task, "multi30k")["trainer.schedule"] == "inverse_sqrt"
    assert resolve_config(task, "multi30k", cli={"trainer.max_time": "00:02:00:00"})["trainer.schedule"] == "inverse_sqrt"
    assert resolve_config(task, "demo", cli={"trainer.max_time": "00:00:20:00"})["trainer.schedule"] == "inverse_sqrt"
