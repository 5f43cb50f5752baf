"""Marian (OPUS-MT) end to end, no download: a tiny Marian that transformers writes with
MarianTokenizer's files (SentencePiece models over vocab.json, no tokenizer.json) gives
tasklight the ids MarianTokenizer gives, the tokens transformers' greedy search gives, and a
translation run that trains, predicts and exports back to a directory transformers reads
with the same logits and the same ids."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tasklight.cli import cli
from tasklight.data.batching import Collator
from tasklight.data.tokenizer import Tokenizer
from tasklight.heads import Decoding, PredictContext, Seq2SeqHead
from tasklight.inference import load_run
from tasklight.pretrained import open_pretrained

from tests.tiny_checkpoints import MARIAN_LEFT_OUT, PAIRS, write_marian

transformers = pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")
# MarianTokenizer's punctuation normaliser (sacremoses) is not part of how it tokenizes.
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

# Punctuation, a character no model has seen ("©"), one the target model has ("ü"), a source
# piece vocab.json lacks, spacing SentencePiece normalises, a language code, special tokens.
TEXTS = [
    *(source for source, _ in PAIRS), "who wrote the book?", "Zürich: the weather?! ü", "wake me ©  up",
    "  two   spaces\there ", ">>de<< play jazz", "a </s> b <unk> c", "",
]
TARGETS = [*(target for _, target in PAIRS), "fünf, zwei: drei ©!", "Übermorgen"]


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_marian(tmp_path_factory.mktemp("ckpt") / "marian")


@pytest.fixture(scope="module")
def theirs(marian: Path) -> object:
    return transformers.MarianTokenizer.from_pretrained(marian)


def test_the_ids_are_marian_tokenizers(marian: Path, theirs: object) -> None:
    assert not (marian / "tokenizer.json").exists()
    ours = Tokenizer.from_pretrained(marian)
    assert ours.vocab_size == len(theirs) and ours.segmenter is not None
    assert (ours.pad_id, ours.eos_id, ours.unk_id, ours.bos_id) == (
        theirs.pad_token_id, theirs.eos_token_id, theirs.unk_token_id, None)
    assert ours.decoder_start_id == ours.pad_id  # Marian's decoder starts from <pad>
    assert [ours.encode_input(t).ids for t in TEXTS] == [theirs(t).input_ids for t in TEXTS]
    assert [ours.encode_target(t).ids for t in TARGETS] == [theirs(text_target=t).input_ids for t in TARGETS]
    # The test sentences reach the cases they are there for: <unk> for "©" and for the piece
    # vocab.json lacks, and target text cut otherwise than source text.
    assert ours.unk_id in ours.encode("wake me ©") and ours.unk_id in ours.encode("the book")
    assert ours.token_id("<unk>") == ours.unk_id and MARIAN_LEFT_OUT not in theirs.get_vocab()
    assert any(ours.encode_target(t).ids != ours.encode_input(t).ids for t in TARGETS)


def test_decoding_is_marian_tokenizers(marian: Path, theirs: object) -> None:
    ours = Tokenizer.from_pretrained(marian)
    rows = [theirs(text_target=t).input_ids for t in TARGETS] + [[5, ours.unk_id, 7, ours.pad_id, 9, ours.eos_id]]
    assert [ours.decode(ids) for ids in rows] == [theirs.decode(ids, skip_special_tokens=True) for ids in rows]
    assert ours.decode(theirs(text_target=TARGETS[0]).input_ids) == TARGETS[0]


def test_offsets_are_each_pieces_characters(marian: Path) -> None:
    ours = Tokenizer.from_pretrained(marian)
    text = "Zürich: the weather?! ü a </s> b"
    ids, offsets = ours.encode_with_offsets(text)
    assert ids == ours.encode(text)
    # Spans in order over the whole text, each the characters its piece stands for; between
    # them only the spaces SentencePiece drops at the ends of a text, around a special token.
    assert offsets[0][0] == 0 and offsets[-1][1] == len(text)
    assert [text[a[1] : b[0]] for a, b in zip(offsets, offsets[1:]) if a[1] != b[0]] == [" ", " "]
    for token_id, (start, end) in zip(ids, offsets):
        piece = ours.backend.id_to_token(token_id)
        if token_id != ours.unk_id:
            assert text[start:end].strip() == piece.replace("\u2581", " ").strip()  # "▁" may be the text's start
    assert text[slice(*offsets[ids.index(ours.eos_id)])] == "</s>"


SOURCES = ["who wrote the book?", "play jazz", "wake me up at seven tomorrow, please ©", "turn it up."]
BUDGET = 12


def _greedy(hf: object, encoded: object) -> list[list[int]]:
    """transformers' greedy tokens of each row, without the start token and cut at the end token.
    No end token forced at the budget: tasklight stops at the budget or at the end token."""
    with torch.no_grad():
        out = hf.generate(**encoded, do_sample=False, num_beams=1, max_new_tokens=BUDGET, forced_eos_token_id=None)
    eos = hf.config.eos_token_id
    return [row[1 : row.index(eos, 1)] if eos in row[1:] else row[1:] for row in out.tolist()]


def _varied(marian: Path, out: Path, encoded: object) -> object:
    """The tiny Marian with every weight random and large enough to decode varied tokens (as
    the parity tests make them), and an end-token bias at which the rows of ``encoded`` stop
    at different steps; saved with its tokenizer files, and read back by transformers."""
    hf = transformers.MarianMTModel.from_pretrained(marian)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "embed_positions" in name:  # fixed sinusoids, computed again when read
                continue
            if p.dim() == 2:
                p.normal_(0.0, 2.0 / p.size(-1) ** 0.5, generator=g)
            else:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
        hf.final_logits_bias.normal_(0.0, 0.2, generator=g)
        for bias in range(12):
            hf.final_logits_bias[0, hf.config.eos_token_id] = float(bias)
            if len({len(tokens) for tokens in _greedy(hf.eval(), encoded)}) > 2:
                break
    hf.save_pretrained(out)
    for name in ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json"):
        shutil.copyfile(marian / name, out / name)
    return transformers.MarianMTModel.from_pretrained(out, attn_implementation="eager").eval()


def test_greedy_translations_are_transformers(marian: Path, theirs: object, tmp_path: Path) -> None:
    """A padded batch of sources of different lengths, tokenized by each side, decoded greedily:
    the same tokens and the same text."""
    encoded = theirs(SOURCES, padding=True, return_tensors="pt")
    hf = _varied(marian, tmp_path / "varied", encoded)
    pretrained = open_pretrained(str(tmp_path / "varied"))
    ours, tokenizer = pretrained.checkpoint.model, pretrained.tokenizer
    batch = Collator(tokenizer.pad_id)([(i, {"src": tokenizer.encode_input(s).ids}) for i, s in enumerate(SOURCES)])
    assert torch.equal(encoded["input_ids"], batch["src"])
    ctx = PredictContext(tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id,
                         Decoding("greedy", max_len_a=0.0, max_len_b=BUDGET), decoder_start_id=tokenizer.decoder_start_id)
    got = Seq2SeqHead().predict(ours, batch, ctx)
    expected = _greedy(hf, encoded)
    assert len({len(tokens) for tokens in expected}) > 2  # rows stop at different steps, some at the budget
    assert got == expected
    assert [tokenizer.decode(tokens) for tokens in got] == theirs.batch_decode(expected, skip_special_tokens=True)


def test_a_translation_run_starts_from_marian_predicts_and_exports(marian: Path, theirs: object, tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"source": s, "target": t}) + "\n" for s, t in PAIRS * 2))
    run = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "translation", "--init", str(marian), "--data", str(data), "--set",
                                 "trainer.max_steps=2", "--out", str(run), "--quiet"])
    assert result.exit_code == 0, result.output
    loaded = load_run(run, accelerator="cpu")
    tokenizer = loaded.tokenizer
    assert tokenizer.segmenter is not None and {"source.spm", "target.spm", "vocab.json"} <= {p.name for p in run.iterdir()}
    # Rows as Marian was trained: the source cut by the source model, the target by the target model.
    source, target = PAIRS[4]
    row = loaded.task.encode(loaded.task.from_record({"source": source, "target": target}, "pairs", loaded.ctx),
                             tokenizer, loaded.ctx, train=True)[0]
    assert row == {"src": theirs(source).input_ids, "tgt": [tokenizer.pad_id, *theirs(text_target=target).input_ids]}

    result = runner.invoke(cli, ["predict", "translation", "--run", str(run), "who wrote the book?", "play jazz ©"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["source"] for line in lines] == ["who wrote the book?", "play jazz ©"]
    assert all(isinstance(line["translation"], str) for line in lines)

    out = tmp_path / "hf"
    result = runner.invoke(cli, ["export", "--run", str(run), "--format", "hf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # Marian's tokenizer files, not the run's tokenizer.json (its vocabulary alone).
    assert {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"} <= {p.name for p in out.iterdir()}
    assert not (out / "tokenizer.json").exists()
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(out).eval()
    assert type(hf).__name__ == "MarianMTModel"
    exported = transformers.AutoTokenizer.from_pretrained(out)
    assert type(exported).__name__ == "MarianTokenizer"
    assert [exported(t).input_ids for t in TEXTS] == [tokenizer.encode_input(t).ids for t in TEXTS]
    texts = ["who wrote the book?", "play jazz ©"]
    encoded = exported(texts, padding=True, return_tensors="pt")
    targets = [[tokenizer.decoder_start_id, *tokenizer.encode_target(t).ids] for t in ("wer hat das buch", "spiel jazz")]
    rows = [{"src": tokenizer.encode_input(s).ids, "tgt": t} for s, t in zip(texts, targets)]
    batch = Collator(tokenizer.pad_id)(list(enumerate(rows)))
    assert torch.equal(encoded["input_ids"], batch["src"])
    model = loaded.system.model
    with torch.no_grad():
        memory = model.encode(batch["src"], batch["src_mask"])
        ours = model.lm_logits(model.decode(batch["tgt"], memory, batch["src_mask"]))
        their_logits = hf(**encoded, decoder_input_ids=batch["tgt"]).logits
    real = batch["tgt_mask"]  # the decoder is causal: a real position never sees the padding after it
    assert float((ours - their_logits)[real].abs().max()) <= 1e-5
    generation = json.loads((out / "generation_config.json").read_text())
    assert (generation["decoder_start_token_id"], generation["eos_token_id"]) == (tokenizer.pad_id, tokenizer.eos_id)


def test_a_marian_tokenizer_that_cannot_be_read_is_one_line(marian: Path, tmp_path: Path) -> None:
    def fails(directory: Path) -> str:
        out = tmp_path / "run"
        result = CliRunner().invoke(cli, ["run", "translation", "--init", str(directory), "--out", str(out),
                                          "--max-steps", "1", "--quiet"])
        assert result.exit_code == 2, result.output
        assert not out.exists()
        (line,) = result.output.strip().splitlines()
        return line

    def copy(name: str) -> Path:
        return Path(shutil.copytree(marian, tmp_path / name))

    no_vocab = copy("no-vocab")
    (no_vocab / "vocab.json").unlink()
    assert fails(no_vocab) == f"Error: {no_vocab}: no vocab.json beside its SentencePiece models"
    corrupt = copy("corrupt")
    (corrupt / "target.spm").write_bytes((marian / "target.spm").read_bytes()[:100])
    assert fails(corrupt) == f"Error: {corrupt / 'target.spm'}: truncated or not a SentencePiece model"
    separate = copy("separate")
    config = json.loads((separate / "tokenizer_config.json").read_text())
    (separate / "tokenizer_config.json").write_text(json.dumps({**config, "separate_vocabs": True}))
    assert fails(separate) == (f"Error: {separate}: separate source and target vocabularies (target_vocab.json) are "
                               "not supported; tasklight's Marian shares one vocabulary")
    unpadded = copy("unpadded")
    vocab = json.loads((unpadded / "vocab.json").read_text())
    (unpadded / "vocab.json").write_text(json.dumps({t: i for t, i in vocab.items() if t != "<pad>"}))
    assert fails(unpadded) == f"Error: {unpadded / 'vocab.json'}: lacks the special tokens <pad>"
    gaps = copy("gaps")
    vocab = json.loads((gaps / "vocab.json").read_text())
    (gaps / "vocab.json").write_text(json.dumps({**vocab, "<pad>": len(vocab) + 3}))
    assert fails(gaps) == f"Error: {gaps / 'vocab.json'}: the ids are not 0..{len(vocab) - 1}, each once"
