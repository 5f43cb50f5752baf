"""A subword tokenizer (Hugging Face ``tokenizers``) trained on the run's training text.

SentencePiece-style BPE over a Metaspace pre-tokenizer, so decoding gives back the
original spacing (detokenized text for sacreBLEU and users). Any existing
``tokenizer.json`` can be given instead; it must know the special tokens below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

from tasklight.errors import UserError

PAD, UNK, BOS, EOS, SEP, MASK = "<pad>", "<unk>", "<s>", "</s>", "<sep>", "<mask>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS, SEP, MASK)  # ids 0..5 in a trained tokenizer


class Tokenizer:
    """Text <-> ids, with the ids of the special tokens the model needs."""

    def __init__(self, backend: HFTokenizer) -> None:
        self.backend = backend
        missing = [t for t in SPECIALS if backend.token_to_id(t) is None]
        if missing:
            raise UserError(f"tokenizer lacks the special tokens {', '.join(missing)}")
        self.pad_id = self.token_id(PAD)
        self.unk_id = self.token_id(UNK)
        self.bos_id = self.token_id(BOS)
        self.eos_id = self.token_id(EOS)
        self.sep_id = self.token_id(SEP)
        self.mask_id = self.token_id(MASK)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2, extra_specials: Sequence[str] = ()) -> Tokenizer:
        backend = HFTokenizer(models.BPE(unk_token=UNK))
        backend.normalizer = normalizers.NFKC()
        backend.pre_tokenizer = pre_tokenizers.Metaspace()
        backend.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[*SPECIALS, *extra_specials],
            show_progress=False,
        )
        backend.train_from_iterator(texts, trainer=trainer)
        return cls(backend)

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        try:
            return cls(HFTokenizer.from_file(str(path)))
        except UserError as err:
            raise UserError(f"{path}: {err}") from None
        except Exception as err:  # tokenizers raises a bare Exception on bad JSON
            raise UserError(f"{path}: not a readable tokenizer.json ({err})") from None

    def save(self, path: Path) -> None:
        self.backend.save(str(path))

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def token_id(self, token: str) -> int:
        found = self.backend.token_to_id(token)
        if found is None:
            raise UserError(f"tokenizer has no token {token!r}")
        return found

    # ---- the public API of tasks (docs/plugins.md, "Tokenizer") -------------------------
    def encode(self, text: str) -> list[int]:
        """The ids of ``text``, without special tokens (add ``bos_id``/``eos_id`` yourself)."""
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``encode`` of each text, in one call (the tokenizer's threads share the work)."""
        return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and each token's (start, end) character offsets in ``text``. A token's span may
        include the space before it (SentencePiece-style "▁word"): strip it where it matters."""
        encoding = self.backend.encode(text, add_special_tokens=False)
        return encoding.ids, [tuple(o) for o in encoding.offsets]  # type: ignore[misc]

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Ids of pre-split ``words`` and, for each id, the index of the word it belongs to:
        the word-to-piece alignment of sequence labelling (label a word on its first piece).
        With the tokenizer tasklight trains, the ids are those of ``encode(" ".join(words))``.
        A word that normalises to nothing gets no piece; its index then never occurs."""
        encoding = self.backend.encode(list(words), is_pretokenized=True, add_special_tokens=False)
        return encoding.ids, [int(w) for w in encoding.word_ids]  # no special tokens: every id has a word

    def decode(self, ids: Sequence[int]) -> str:
        """Text from ids; special tokens are left out and the spacing restored."""
        return self.backend.decode(list(ids), skip_special_tokens=True)

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        """``decode`` of each id list, in one call."""
        return self.backend.decode_batch([list(ids) for ids in batch], skip_special_tokens=True)
