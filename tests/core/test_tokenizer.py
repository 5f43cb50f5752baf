"""The tokenizer methods tasks use (docs/plugins.md, "Tokenizer"), and the Tokenizer serving a
trained subword model and a checkpoint's own tokenizer: special tokens by role, the input
layout from the tokenizer's post-processor, no padding invented."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers

from tasklight import Tokenizer
from tasklight.data.batching import Collator
from tasklight.errors import UserError

TEXTS = ["show me flights from boston to denver", "what is the cheapest fare to denver"] * 3


def test_encode_words_aligns_pieces_to_words():
    tokenizer = Tokenizer.train(TEXTS, 60, 1)
    words = ["flights", "from", "bostonian", "to", "denver"]
    ids, word_of = tokenizer.encode_words(words)
    assert ids == tokenizer.encode(" ".join(words))
    assert len(word_of) == len(ids) and word_of == sorted(word_of)
    assert sorted(set(word_of)) == [0, 1, 2, 3, 4]
    assert word_of.count(2) > 1  # an unseen word takes several pieces
    pieces = [tokenizer.backend.id_to_token(i) for i, w in zip(ids, word_of) if w == 2]
    assert "".join(pieces).lstrip("▁") == "bostonian"


def test_batch_and_offsets_agree_with_encode():
    tokenizer = Tokenizer.train(TEXTS, 60, 1)
    assert tokenizer.encode_batch(TEXTS[:2]) == [tokenizer.encode(t) for t in TEXTS[:2]]
    text = "cheapest fare to boston"
    ids, offsets = tokenizer.encode_with_offsets(text)
    assert ids == tokenizer.encode(text) and len(offsets) == len(ids)
    assert [text[s:e].strip() for s, e in offsets if text[s:e].strip()][-1].endswith("n")
    assert tokenizer.decode(ids) == text


MINILM = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "all-MiniLM-L6-v2"


def minilm() -> Path:
    if not (MINILM / "tokenizer.json").is_file():
        pytest.skip(f"needs {MINILM}")
    return MINILM


def test_a_checkpoint_tokenizer_names_its_special_tokens_by_role() -> None:
    tokenizer = Tokenizer.from_pretrained(minilm())
    assert tokenizer.roles == {"pad": "[PAD]", "unk": "[UNK]", "start": "[CLS]", "end": "[SEP]", "sep": "[SEP]", "mask": "[MASK]"}
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.sep_id, tokenizer.mask_id) == (0, 101, 102, 102, 103)
    assert tokenizer.vocab_size == 30522


def test_pairs_are_laid_out_by_the_tokenizers_own_post_processor() -> None:
    tokenizer = Tokenizer.from_pretrained(minilm())
    pair = tokenizer.encode_input("Who wrote it?", "It was Ann.")
    reference = HFTokenizer.from_file(str(MINILM / "tokenizer.json"))
    reference.no_padding()
    want = reference.encode("Who wrote it?", "It was Ann.")
    assert pair.ids == want.ids and pair.token_types == want.type_ids
    assert pair.ids[0] == 101 and pair.ids[pair.second - 1] == 102 and pair.ids[-1] == 102
    assert pair.token_types == [0] * pair.second + [1] * (len(pair.ids) - pair.second)
    # A window of already-tokenized context gets the same layout.
    question, context = tokenizer.encode("Who wrote it?"), tokenizer.encode("It was Ann.")
    assert tokenizer.add_special_tokens(question, context) == pair
    assert tokenizer.special_tokens_added(pair=True) == 3 and tokenizer.special_tokens_added() == 2
    # The checkpoint's tokenizer.json pads to 128; tasklight pads batches itself.
    assert len(tokenizer.encode_input("hi").ids) == 3


def test_roberta_style_pairs_get_two_separators(tmp_path: Path) -> None:
    backend = HFTokenizer(models.WordLevel({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    backend.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "unk_token": "<unk>"}))
    tokenizer = Tokenizer.from_pretrained(tmp_path)
    assert tokenizer.encode_input("a", "b b").ids == [0, 4, 2, 2, 5, 5, 2]
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id, tokenizer.mask_id) == (0, 2, 1, None)


def test_a_family_without_padding_gets_no_pad_token(tmp_path: Path) -> None:
    """GPT-2: one <|endoftext|> as start and end, no pad token; batches carry masks instead."""
    backend = HFTokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(["hello world"] * 5, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": {"content": "<|endoftext|>", "lstrip": False}, "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))
    tokenizer = Tokenizer.from_pretrained(tmp_path)
    assert tokenizer.pad_id is None and tokenizer.bos_id == tokenizer.eos_id == 0 and tokenizer.sep_id is None
    assert tokenizer.vocab_size == backend.get_vocab_size()  # nothing added
    assert tokenizer.encode_input("hello").ids == tokenizer.encode("hello")  # GPT-2 adds no special tokens
    batch = Collator(tokenizer.pad_id)([(0, {"input": [5, 6, 7]}), (1, {"input": [8]})])
    assert batch["input"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["input_mask"].tolist() == [[True, True, True], [True, False, False]]


def test_a_trained_tokenizer_keeps_its_layout_and_the_roles_survive_a_save(tmp_path: Path) -> None:
    trained = Tokenizer.train(["the cat sat on the mat"] * 20, 60)
    assert not trained.pretrained and trained.decoder_start_id == trained.bos_id
    assert trained.encode_input("cat").ids == [*trained.encode("cat"), trained.eos_id]
    assert trained.encode_input("cat", "mat").ids == [trained.bos_id, *trained.encode("cat"), trained.sep_id,
                                                      *trained.encode("mat"), trained.eos_id]
    trained.save(tmp_path / "tokenizer.json")
    assert Tokenizer.load(tmp_path / "tokenizer.json").roles == trained.roles
    copy = tmp_path / "copy"
    copy.mkdir()
    pretrained = Tokenizer.from_pretrained(minilm())
    pretrained.save(copy / "tokenizer.json")
    assert sorted(p.name for p in copy.iterdir()) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    assert Tokenizer.load(copy / "tokenizer.json").roles == pretrained.roles


def test_a_checkpoint_without_a_tokenizer_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no tokenizer.json; tasklight uses a checkpoint's own tokenizer"):
        Tokenizer.from_pretrained(tmp_path)
    shutil.copy(minilm() / "tokenizer.json", tmp_path / "tokenizer.json")
    with pytest.raises(UserError, match="neither tokenizer_config.json nor special_tokens_map.json"):
        Tokenizer.from_pretrained(tmp_path)


# ---- the byte-level kind: punctuation split off, nothing lost --------------------------------
HARD_TEXTS = [
    "Ein Mann mit Hut, der läuft.",
    "  two  spaces,\ta tab and\na newline ",
    "日本語 ✓ emoji 😀 and Ω≈ç√",
    "",
    "x",
    "<s> looks like a special token </s>",
]


def test_bytelevel_decodes_any_text_back_and_splits_punctuation_off():
    tokenizer = Tokenizer.train(TEXTS + ["Ein Mann mit Hut."] * 5, 300, 1, kind="bytelevel")
    for text in HARD_TEXTS:  # characters never seen in training included
        assert tokenizer.decode(tokenizer.encode(text)) == text
        assert tokenizer.decode(tokenizer.encode_input(text).ids) == text  # special tokens dropped
    pieces = [tokenizer.backend.id_to_token(i) for i in tokenizer.encode("Ein Mann mit Hut, der")]
    assert "," in pieces and "ĠHut" in pieces  # "Hut," is the word "Hut" and a comma
    assert tokenizer.unk_id is not None and tokenizer.unk_id not in tokenizer.encode(HARD_TEXTS[2])
    text = "Ein Mann mit Hut, mit"  # words seen in training: one piece each
    ids, offsets = tokenizer.encode_with_offsets(text)
    assert ids == tokenizer.encode(text)
    assert [text[s:e].strip() for s, e in offsets] == ["Ein", "Mann", "mit", "Hut", ",", "mit"]
    words = ["Mann", "mit", "Hüten"]
    ids, word_of = tokenizer.encode_words(words)
    assert ids == tokenizer.encode(" ".join(words)) and sorted(set(word_of)) == [0, 1, 2]


def test_bytelevel_round_trips_through_save_and_load(tmp_path: Path):
    tokenizer = Tokenizer.train(TEXTS, 300, 1, kind="bytelevel")
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = Tokenizer.load(tmp_path / "tokenizer.json")
    assert [loaded.encode(t) for t in HARD_TEXTS] == [tokenizer.encode(t) for t in HARD_TEXTS]
    assert loaded.decode(loaded.encode(HARD_TEXTS[1])) == HARD_TEXTS[1]


def test_an_unknown_tokenizer_kind_is_one_line():
    with pytest.raises(UserError, match="tokenizer.kind must be one of metaspace, bytelevel"):
        Tokenizer.train(TEXTS, 60, 1, kind="wordpiece")


@pytest.mark.slow
def test_bytelevel_round_trips_every_shared_training_set(monkeypatch: pytest.MonkeyPatch):
    """Every training text of every cpu-real entry, read by its task's adapters, decodes back
    to itself as the normaliser leaves it (NFKC)."""
    from tasklight.bench.suites import load_suite
    from tasklight.config import load_config
    from tasklight.plugins import get_platform
    from tasklight.task import TaskContext
    from tasklight.training import run_splits
    from tests.conftest import REPO, shared

    shared()  # skip without ../shared/data
    monkeypatch.chdir(REPO)  # the suite's paths are relative to the repository
    platform = get_platform()
    nfkc = normalizers.NFKC()
    for entry in load_suite("cpu-real").entries:
        task = platform.tasks.get(entry.task)
        data_keys = [o for o in entry.overrides if o.startswith("data.")]
        config = load_config(task.name, task.settings, demo=False, overrides=data_keys)
        ctx = TaskContext(config=config, metric=platform.metrics.get, seed=0)
        train = run_splits(task, entry.data, ctx, platform)["train"]
        texts = sorted({text for example in train.examples for text in task.texts(example)})
        tokenizer = Tokenizer.train(texts, 8000, 2, kind="bytelevel")
        decoded = tokenizer.decode_batch(tokenizer.encode_batch(texts))
        lost = [(t, d) for t, d in zip(texts, decoded) if d != nfkc.normalize_str(t)]
        assert not lost, f"{entry.name}: {len(lost)} of {len(texts)} texts change, e.g. {lost[0]!r}"
