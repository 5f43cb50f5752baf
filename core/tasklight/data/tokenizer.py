"""Text <-> token ids with Hugging Face ``tokenizers``: a subword model trained on the run's
training text, or a pretrained checkpoint's own tokenizer, used unchanged.

A trained tokenizer is BPE of one of two kinds (``tokenizer.kind``): ``metaspace``,
SentencePiece-style pieces over words split at spaces (a character unseen in training is
unknown and decodes to nothing), or ``bytelevel``, GPT-2 and BART's byte-level BPE over
words with punctuation split off, whose pieces spell every byte, so that decoding the
encoding of any text gives back that text as the normaliser left it. Either way decoding
gives back the original spacing (detokenized text for sacreBLEU and users); the special
tokens are ``SPECIALS``, inputs are laid out ``a </s>`` and ``<s> a <sep> b </s>`` (the
layouts tasklight's tasks have always used), and a decoder starts from ``<s>``.
A checkpoint's tokenizer (``tokenizer.json`` beside ``tokenizer_config.json`` or
``special_tokens_map.json``) keeps its vocabulary, its special tokens, named by role from
those files, and its own input layout (``[CLS] a [SEP] b [SEP]``, ``<s> a </s></s> b </s>``),
which comes from its post-processor. A family without a padding token (GPT-2, Llama) gets
none: ``pad_id`` is None and batches carry explicit masks.
A Marian checkpoint's tokenizer has no ``tokenizer.json``: it is SentencePiece models
(``source.spm``, ``target.spm``) over a ``vocab.json``. Its vocabulary becomes a WordLevel
``tokenizer.json`` (ids, special tokens, the layout ``a </s>``), and a ``Segmenter`` cuts
text into its pieces; a run directory keeps both, and target text is cut by the target model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import Tokenizer as HFTokenizer

from tasklight.data.segmenter import VOCAB, Segmenter, has_models
from tasklight.errors import UserError

KINDS: tuple[str, ...] = ("metaspace", "bytelevel")  # what Tokenizer.train builds (tokenizer.kind)

PAD, UNK, BOS, EOS, SEP, MASK = "<pad>", "<unk>", "<s>", "</s>", "<sep>", "<mask>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS, SEP, MASK)  # ids 0..5 in a trained tokenizer

ROLES: tuple[str, ...] = ("pad", "unk", "start", "end", "sep", "mask")
TRAINED_ROLES: dict[str, str] = {"pad": PAD, "unk": UNK, "start": BOS, "end": EOS, "sep": SEP, "mask": MASK}

# Where a checkpoint's tokenizer files name each role, first match wins: the start of an
# input is BERT's [CLS] or the <s> of BART and RoBERTa; its end is their </s> or BERT's [SEP].
HF_ROLE_KEYS: dict[str, tuple[str, ...]] = {
    "pad": ("pad_token",),
    "unk": ("unk_token",),
    "start": ("cls_token", "bos_token"),
    "end": ("eos_token", "sep_token"),
    "sep": ("sep_token",),
    "mask": ("mask_token",),
}
# The files beside a checkpoint's tokenizer.json that name its special tokens; a run
# directory keeps copies, so the run and its export read the same roles.
HF_TOKENIZER_FILES: tuple[str, ...] = ("tokenizer_config.json", "special_tokens_map.json")
# Where a checkpoint's first decoder input is named (BART's </s>, Marian's pad); a run
# directory keeps it in a generation_config.json of its own.
GENERATION_FILE = "generation_config.json"
# The special tokens of a SentencePiece (Marian) tokenizer whose files do not name them:
# MarianTokenizer's defaults. It has no start, separator or mask token.
SENTENCEPIECE_ROLES: dict[str, str] = {"pad": "<pad>", "unk": "<unk>", "end": "</s>"}


@dataclass(frozen=True)
class ModelInput:
    """One model input laid out with the tokenizer's special tokens.

    ``ids`` and ``token_types`` have the same length; ``second`` is the position of the
    first token of the second text of a pair (None for a single text)."""

    ids: list[int]
    token_types: list[int]
    second: int | None = None


@dataclass(frozen=True)
class _Layout:
    """Special tokens around one text or a pair, and the token type of each part, as the
    tokenizer's post-processor places them (read off by encoding a probe)."""

    before: list[tuple[int, int]]  # (id, type) ahead of the first text
    between: list[tuple[int, int]]  # between the two texts of a pair
    after: list[tuple[int, int]]  # after the last text
    first_type: int
    second_type: int


class Tokenizer:
    """Text <-> ids, with the ids of the special tokens by role: ``pad_id``, ``unk_id``,
    ``bos_id`` (the start of an input), ``eos_id`` (its end), ``sep_id``, ``mask_id``;
    any of them None where the tokenizer has no such token."""

    def __init__(
        self, backend: HFTokenizer, roles: Mapping[str, str | None] | None = None,
        files: Mapping[str, Any] | None = None, segmenter: Segmenter | None = None,
    ) -> None:
        self.backend = backend
        # SentencePiece models that cut text into the pieces of the backend's vocabulary
        # (Marian); None where the backend cuts text itself.
        self.segmenter = segmenter
        self._special_ids = {i for i, t in backend.get_added_tokens_decoder().items() if t.special}
        # A checkpoint's tokenizer.json may pad or truncate every encoding (BERT's pads to
        # 128): tasklight pads batches and truncates rows itself.
        backend.no_padding()
        backend.no_truncation()
        self.pretrained = roles is not None
        if roles is None:
            missing = [t for t in SPECIALS if backend.token_to_id(t) is None]
            if missing:
                raise UserError(f"tokenizer lacks the special tokens {', '.join(missing)}")
            roles = TRAINED_ROLES
            if isinstance(backend.pre_tokenizer, pre_tokenizers.ByteLevel):
                # Text that spells a special token ("<unk>" in WikiText) is text, not that
                # token: the byte-level kind gives back every character it was given.
                backend.encode_special_tokens = True
            if backend.post_processor is None:
                backend.post_processor = processors.TemplateProcessing(
                    single=f"$A {EOS}", pair=f"{BOS} $A {SEP} $B:1 {EOS}:1",
                    special_tokens=[(t, backend.token_to_id(t)) for t in (BOS, EOS, SEP)],
                )
        self.roles: dict[str, str | None] = {role: roles.get(role) for role in ROLES}
        self.files = dict(files or {})  # tokenizer_config.json etc. of a checkpoint, as read
        ids = {role: None if token is None else self.token_id(token) for role, token in self.roles.items()}
        self.pad_id: int | None = ids["pad"]
        self.unk_id: int | None = ids["unk"]
        self.bos_id: int | None = ids["start"]
        self.eos_id: int | None = ids["end"]
        self.sep_id: int | None = ids["sep"]
        self.mask_id: int | None = ids["mask"]
        # The first token a decoder reads (a sequence-to-sequence target starts with it):
        # <s> for a tokenizer trained here, the checkpoint's decoder_start_token_id otherwise.
        start = self.files.get(GENERATION_FILE, {}).get("decoder_start_token_id")
        self.decoder_start_id: int | None = start if isinstance(start, int) else None if self.pretrained else self.bos_id
        self._single = self._layout(pair=False)
        self._pair = self._layout(pair=True)

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2, extra_specials: Sequence[str] = (),
        kind: str = "metaspace",
    ) -> Tokenizer:
        """BPE of ``vocab_size`` pieces learned from ``texts``, of ``kind`` (``KINDS``). A
        byte-level vocabulary holds at least the 256 bytes and the special tokens."""
        if kind == "metaspace":
            backend = HFTokenizer(models.BPE(unk_token=UNK))
            backend.normalizer = normalizers.NFKC()
            backend.pre_tokenizer = pre_tokenizers.Metaspace()
            backend.decoder = decoders.Metaspace()
            alphabet: list[str] = []
        elif kind == "bytelevel":
            backend = HFTokenizer(models.BPE())
            # A space before the text makes its first word the same pieces as any other word
            # ("Ġword"), as BART's add_prefix_space does; the decoder takes exactly that space
            # off again, so a text that starts with spaces keeps them.
            backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Prepend(" ")])
            backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
            backend.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
            alphabet = pre_tokenizers.ByteLevel.alphabet()
        else:
            raise UserError(f"tokenizer.kind must be one of {', '.join(KINDS)}, got {kind!r}")
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[*SPECIALS, *extra_specials],
            initial_alphabet=alphabet,
            show_progress=False,
        )
        backend.train_from_iterator(texts, trainer=trainer)
        return cls(backend)

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        """A ``tokenizer.json``; a checkpoint's when ``tokenizer_config.json`` or
        ``special_tokens_map.json`` lie beside it (they name its special tokens)."""
        path = Path(path)
        try:
            backend = HFTokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises a bare Exception on bad JSON
            raise UserError(f"{path}: not a readable tokenizer.json ({err})") from None
        files = _read_tokenizer_files(path.parent)
        named = any(name in files for name in HF_TOKENIZER_FILES)
        segmenter = None
        if has_models(path.parent):  # SentencePiece models cut text into this vocabulary's pieces
            specials = [t.content for t in backend.get_added_tokens_decoder().values() if t.special]
            segmenter = Segmenter.read(path.parent, specials)
        try:
            return cls(backend, _roles_of(files, path.parent) if named else None, files if named else {}, segmenter)
        except UserError as err:
            raise UserError(f"{path}: {err}") from None

    @classmethod
    def from_pretrained(cls, directory: Path) -> Tokenizer:
        """A checkpoint's own tokenizer: ``tokenizer.json`` with its special tokens named in
        ``tokenizer_config.json`` or ``special_tokens_map.json``."""
        directory = Path(directory)
        path = directory / "tokenizer.json"
        if not path.is_file() and has_models(directory):
            tokenizer = cls._from_sentencepiece(directory)
        elif not path.is_file():
            raise UserError(
                f"{directory}: no tokenizer.json; tasklight uses a checkpoint's own tokenizer, "
                "in the Hugging Face tokenizers format (or Marian's source.spm, target.spm and vocab.json)"
            )
        else:
            files = _read_tokenizer_files(directory)
            if not any(name in files for name in HF_TOKENIZER_FILES):
                raise UserError(f"{directory}: neither {' nor '.join(HF_TOKENIZER_FILES)}, which name the tokenizer's special tokens")
            tokenizer = cls.load(path)
        start = _decoder_start(directory)
        if start is not None:
            tokenizer.files[GENERATION_FILE] = {"decoder_start_token_id": start}
            tokenizer.decoder_start_id = start
        return tokenizer

    @classmethod
    def _from_sentencepiece(cls, directory: Path) -> Tokenizer:
        """Marian's tokenizer: SentencePiece models over ``vocab.json``, its special tokens named
        in its files (MarianTokenizer's defaults where they are not)."""
        files = _read_tokenizer_files(directory)
        config = files.get("tokenizer_config.json", {})
        if config.get("separate_vocabs") or (directory / "target_vocab.json").is_file():
            raise UserError(f"{directory}: separate source and target vocabularies (target_vocab.json) are not supported; "
                            "tasklight's Marian shares one vocabulary")
        vocab = _read_vocab(directory / VOCAB)
        named = {role: token for role, token in _roles_of(files, directory).items() if token}
        roles: dict[str, str | None] = {**SENTENCEPIECE_ROLES, **named}
        specials = list(dict.fromkeys([t for t in roles.values() if t] + _extra_specials(files)))
        missing = [t for t in specials if t not in vocab]
        if missing:
            raise UserError(f"{directory / VOCAB}: lacks the special tokens {', '.join(missing)}")
        backend = HFTokenizer(models.WordLevel(vocab, unk_token=roles["unk"]))
        backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
        backend.decoder = decoders.Metaspace()
        end = str(roles["end"])  # MarianTokenizer ends an input with </s>, and a pair too: a b </s>
        backend.post_processor = processors.TemplateProcessing(
            single=f"$A {end}", pair=f"$A $B {end}", special_tokens=[(end, vocab[end])])
        # The roles as resolved, for a run directory and an export (MarianTokenizer reads them).
        keys = {"pad_token": "pad", "unk_token": "unk", "eos_token": "end"}
        files["special_tokens_map.json"] = {
            **files.get("special_tokens_map.json", {}), **{key: roles[role] for key, role in keys.items() if roles[role]},
        }
        segmenter = Segmenter.read(directory, specials)
        try:
            return cls(backend, _roles_of(files, directory), files, segmenter)
        except UserError as err:
            raise UserError(f"{directory}: {err}") from None

    def save(self, path: Path) -> None:
        """``tokenizer.json`` at ``path``; a checkpoint's files that name its special tokens beside
        it, and a SentencePiece tokenizer's models and ``vocab.json`` (Marian's files)."""
        self.backend.save(str(path))
        folder = Path(path).parent
        for name, content in self.files.items():
            (folder / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if self.segmenter is not None:
            self.segmenter.save(folder)
            vocab = dict(sorted(self.backend.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1]))
            (folder / VOCAB).write_text(json.dumps(vocab, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

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
        """The ids of ``text``, without special tokens (``encode_input`` adds the model's own)."""
        if self.segmenter is not None:
            return self._piece_ids(self.segmenter.pieces(text))
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``encode`` of each text, in one call (the tokenizer's threads share the work)."""
        if self.segmenter is not None:
            return [self.encode(text) for text in texts]
        return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and each token's (start, end) character offsets in ``text``. A token's span may
        include the space before it (SentencePiece-style "▁word"): strip it where it matters."""
        if self.segmenter is not None:
            pieces, offsets = self.segmenter.pieces_with_offsets(text)
            return self._piece_ids(pieces), offsets
        encoding = self.backend.encode(text, add_special_tokens=False)
        return encoding.ids, [tuple(o) for o in encoding.offsets]  # type: ignore[misc]

    def encode_input(self, text: str, pair: str | None = None) -> ModelInput:
        """A model input of one text or a pair, with the tokenizer's special tokens and token
        types, exactly as its post-processor lays them out."""
        return self.add_special_tokens(self.encode(text), None if pair is None else self.encode(pair))

    def encode_target(self, text: str) -> ModelInput:
        """A decoder's target text laid out as ``encode_input`` lays out an input. A tokenizer
        with a SentencePiece model for each language (Marian) cuts it with the target's model,
        as the checkpoint was trained; for any other it is ``encode_input(text)``."""
        if self.segmenter is None:
            return self.encode_input(text)
        return self.add_special_tokens(self._piece_ids(self.segmenter.pieces(text, target=True)))

    def _piece_ids(self, pieces: Sequence[str]) -> list[int]:
        """Pieces -> ids; a piece the vocabulary lacks is the unknown token (MarianTokenizer's
        rule; a SentencePiece tokenizer always has one)."""
        ids = (self.backend.token_to_id(piece) for piece in pieces)
        return [self.unk_id if i is None else i for i in ids]  # type: ignore[misc]

    def add_special_tokens(self, first: Sequence[int], second: Sequence[int] | None = None) -> ModelInput:
        """Ids of one text or a pair (without special tokens, e.g. a window of a long context)
        laid out as ``encode_input`` lays out texts."""
        layout = self._single if second is None else self._pair
        ids = [i for i, _ in layout.before] + list(first)
        types = [t for _, t in layout.before] + [layout.first_type] * len(first)
        start = None
        if second is not None:
            ids += [i for i, _ in layout.between]
            types += [t for _, t in layout.between]
            start = len(ids)
            ids += list(second)
            types += [layout.second_type] * len(second)
        ids += [i for i, _ in layout.after]
        types += [t for _, t in layout.after]
        return ModelInput(ids, types, start)

    def special_tokens_added(self, pair: bool = False) -> int:
        """How many special tokens an input of one text (or a pair) gets."""
        layout = self._pair if pair else self._single
        return len(layout.before) + len(layout.between) + len(layout.after)

    def _layout(self, pair: bool) -> _Layout:
        # The post-processors tokenizers has (templates, BERT's, RoBERTa's, byte-level) place
        # fixed special tokens around the texts: encode a probe and read where they went.
        probe = self.backend.encode("a", "b" if pair else None, add_special_tokens=True)
        before: list[tuple[int, int]] = []
        between: list[tuple[int, int]] = []
        after: list[tuple[int, int]] = []
        types = {0: 0, 1: 0}
        seen: set[int] = set()
        for token_id, type_id, sequence in zip(probe.ids, probe.type_ids, probe.sequence_ids):
            if sequence is not None:
                seen.add(sequence)
                types[sequence] = type_id
            elif not seen:
                before.append((token_id, type_id))
            elif pair and seen == {0}:
                between.append((token_id, type_id))
            else:
                after.append((token_id, type_id))
        return _Layout(before, between, after, types[0], types[1])

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Ids of pre-split ``words`` and, for each id, the index of the word it belongs to:
        the word-to-piece alignment of sequence labelling (label a word on its first piece).
        With the tokenizer tasklight trains, the ids are those of ``encode(" ".join(words))``.
        A word that normalises to nothing gets no piece; its index then never occurs."""
        if self.segmenter is not None:
            pieces = [self.segmenter.pieces(word) for word in words]
            word_of = [i for i, word in enumerate(pieces) for _ in word]
            return self._piece_ids([piece for word in pieces for piece in word]), word_of
        encoding = self.backend.encode(list(words), is_pretokenized=True, add_special_tokens=False)
        return encoding.ids, [int(w) for w in encoding.word_ids]  # no special tokens: every id has a word

    def decode(self, ids: Sequence[int]) -> str:
        """Text from ids; special tokens are left out and the spacing restored."""
        if self.segmenter is not None:
            tokens = (self.backend.id_to_token(i) for i in ids if i not in self._special_ids)
            return self.segmenter.text([t for t in tokens if t is not None])
        return self.backend.decode(list(ids), skip_special_tokens=True)

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        """``decode`` of each id list, in one call."""
        if self.segmenter is not None:
            return [self.decode(ids) for ids in batch]
        return self.backend.decode_batch([list(ids) for ids in batch], skip_special_tokens=True)


def _decoder_start(directory: Path) -> int | None:
    """A checkpoint's decoder_start_token_id: generation_config.json's, else config.json's."""
    for name in (GENERATION_FILE, "config.json"):
        path = directory / name
        if path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8")).get("decoder_start_token_id")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def _read_vocab(path: Path) -> dict[str, int]:
    """A ``vocab.json``: token -> id, the ids 0..N-1 each once."""
    if not path.is_file():
        raise UserError(f"{path.parent}: no {path.name} beside its SentencePiece models")
    try:
        vocab = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(vocab, dict) or not all(isinstance(i, int) and not isinstance(i, bool) for i in vocab.values()):
        raise UserError(f"{path}: not a JSON object of token ids")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise UserError(f"{path}: the ids are not 0..{len(vocab) - 1}, each once")
    return vocab


def _extra_specials(files: Mapping[str, Any]) -> list[str]:
    """Special tokens besides the roles' (``additional_special_tokens``, ``added_tokens_decoder``)."""
    out: list[str] = []
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        content = files.get(name, {})
        for key in ("additional_special_tokens", "extra_special_tokens"):
            values = content.get(key)
            out += [t for t in map(_token_text, values if isinstance(values, list) else []) if t is not None]
        added = content.get("added_tokens_decoder")
        for value in added.values() if isinstance(added, dict) else ():
            token = _token_text(value)
            if token is not None and isinstance(value, dict) and value.get("special", True):
                out.append(token)
    return out


def _read_tokenizer_files(directory: Path) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for name in (*HF_TOKENIZER_FILES, GENERATION_FILE):
        path = directory / name
        if path.is_file():
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise UserError(f"{path}: not valid JSON ({err})") from None
            if not isinstance(content, dict):
                raise UserError(f"{path}: not a JSON object")
            files[name] = content
    return files


def _token_text(value: Any) -> str | None:
    """A special token as these files write it: a string, or an object with its content."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def _roles_of(files: Mapping[str, Any], directory: Path) -> dict[str, str | None]:
    """Role -> special token, from special_tokens_map.json then tokenizer_config.json."""
    named: dict[str, str] = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        for key, value in files.get(name, {}).items():
            token = _token_text(value)
            if key.endswith("_token") and token is not None:
                named.setdefault(key, token)
    return {role: next((named[k] for k in keys if k in named), None) for role, keys in HF_ROLE_KEYS.items()}
