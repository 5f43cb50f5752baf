"""SentencePiece models that cut text into pieces ahead of a vocabulary: the tokenizer of
Marian (OPUS-MT) checkpoints, read with the ``sentencepiece`` package.

Marian's tokenizer is two SentencePiece models, ``source.spm`` for the input language and
``target.spm`` for the output language, and one ``vocab.json`` that maps their pieces to the
model's ids (a piece it lacks to ``<unk>``). The models' own piece ids are not the model's,
so the whole cannot be one ``tokenizers`` model: ``Tokenizer`` keeps the vocabulary (a
WordLevel model, its special tokens and layout) and asks a ``Segmenter`` for the pieces.
Text is cut as transformers' ``MarianTokenizer`` cuts it, so the ids are its ids: split at
special tokens, a leading language code (``>>fra<<``) kept as one piece, the rest cut by the
source model (the target model for target text); pieces are decoded by the target model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasklight.errors import UserError

SOURCE_MODEL, TARGET_MODEL, VOCAB = "source.spm", "target.spm", "vocab.json"
FILES: tuple[str, ...] = (SOURCE_MODEL, TARGET_MODEL, VOCAB)  # Marian's tokenizer, as transformers saves it
SPACE = "\u2581"  # SentencePiece's "▁", a space in a piece


def has_models(directory: Path) -> bool:
    """Whether ``directory`` holds a source and a target SentencePiece model."""
    return (directory / SOURCE_MODEL).is_file() and (directory / TARGET_MODEL).is_file()


def _processor(proto: bytes, where: Path) -> Any:
    try:
        import sentencepiece
    except ImportError:
        raise UserError(
            f"{where}: a SentencePiece model; reading it needs sentencepiece (pip install sentencepiece, "
            "or pip install -e \".[hf]\")"
        ) from None
    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(proto)
    except (RuntimeError, OSError):  # sentencepiece says only where in its C++ parsing failed
        raise UserError(f"{where}: truncated or not a SentencePiece model") from None
    return processor


class Segmenter:
    """Text -> SentencePiece pieces (source or target model), and pieces -> text.

    ``specials``: the tokens that stand whole wherever they occur in a text (``</s>``,
    ``<unk>``, ``<pad>``): the text is split at them first, as transformers splits at its
    added tokens."""

    def __init__(self, source: bytes, target: bytes, specials: Sequence[str], where: Path = Path(".")) -> None:
        self.protos = (source, target)
        self.models = (_processor(source, where / SOURCE_MODEL), _processor(target, where / TARGET_MODEL))
        longest_first = sorted(set(specials), key=len, reverse=True)
        self._specials = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None

    @classmethod
    def read(cls, directory: Path, specials: Sequence[str]) -> Segmenter:
        source, target = (directory / SOURCE_MODEL).read_bytes(), (directory / TARGET_MODEL).read_bytes()
        return cls(source, target, specials, directory)

    def save(self, directory: Path) -> None:
        for name, proto in zip((SOURCE_MODEL, TARGET_MODEL), self.protos):
            (directory / name).write_bytes(proto)

    def pieces(self, text: str, target: bool = False) -> list[str]:
        """The pieces of ``text``, by the target model for target text."""
        return self.pieces_with_offsets(text, target)[0]

    def pieces_with_offsets(self, text: str, target: bool = False) -> tuple[list[str], list[tuple[int, int]]]:
        """The pieces of ``text`` and the (start, end) characters each covers. A piece's span
        includes the spaces before it; a piece that covers nothing (the "▁" SentencePiece puts
        before a text) has an empty span."""
        pieces: list[str] = []
        offsets: list[tuple[int, int]] = []
        start = 0
        for special in self._specials.finditer(text) if self._specials else ():
            self._cut(text[start : special.start()], start, target, pieces, offsets)
            pieces.append(special.group())
            offsets.append(special.span())
            start = special.end()
        self._cut(text[start:], start, target, pieces, offsets)
        return pieces, offsets

    def _cut(self, text: str, at: int, target: bool, pieces: list[str], offsets: list[tuple[int, int]]) -> None:
        if not text:
            return
        # A language code at the start of a text is one piece (MarianTokenizer.remove_language_code).
        if text.startswith(">>") and (end := text.find("<<")) != -1:
            pieces.append(text[: end + 2])
            offsets.append((at, at + end + 2))
            at, text = at + end + 2, text[end + 2 :]
        encoded = self.models[target].encode(text, out_type="proto")
        chars = _byte_to_char(text)  # SentencePiece's offsets count UTF-8 bytes
        for piece in encoded.pieces:
            pieces.append(piece.piece)
            offsets.append((at + chars[piece.begin], at + chars[piece.end]))

    def text(self, pieces: Sequence[str]) -> str:
        """Text from pieces (special tokens left out), as MarianTokenizer decodes them: by the
        target model, remaining "▁" as spaces, without spaces around."""
        return self.models[True].decode_pieces(list(pieces)).replace(SPACE, " ").strip()


def _byte_to_char(text: str) -> list[int]:
    """For each UTF-8 byte offset of ``text`` (and its end), the character it falls in."""
    out: list[int] = []
    for i, char in enumerate(text):
        out += [i] * len(char.encode("utf-8"))
    out.append(len(text))
    return out
