"""The tokenizer methods tasks use (docs/plugins.md, "Tokenizer")."""

from __future__ import annotations

from tasklight import Tokenizer

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
