"""Tiny Hugging Face checkpoints written by transformers itself, each with a tokenizer of its
family's kind (special tokens, post-processor), for tests of ``--init`` and export that run
in seconds and need no download."""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

TEXTS = [
    "wake me up at seven tomorrow", "set an alarm for six thirty", "what is the weather in paris",
    "will it rain in berlin today", "play some jazz music", "turn the volume up", "remind me to call mom",
    "add milk to my shopping list", "how do i get to the station", "send a message to anna",
    "who wrote the book", "the book was written by ann in london", "numbers one two three four five",
]
CARD = "---\nlanguage: en\nlicense: apache-2.0\n---\n# A tiny test model\n"


def _wordpiece(texts: list[str]) -> Tokenizer:
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials, show_progress=False))
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return backend


def write_bert(path: Path, texts: list[str] | None = None, max_positions: int = 128, **config: object) -> Path:
    """A 2-layer BERT of width 16 with a WordPiece tokenizer (BERT's special tokens and layout)."""
    import transformers

    backend = _wordpiece((texts or []) + TEXTS)
    torch.manual_seed(0)
    options = dict(vocab_size=backend.get_vocab_size(), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=32, max_position_embeddings=max_positions)
    transformers.BertModel(transformers.BertConfig(**{**options, **config})).save_pretrained(path)
    backend.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": max_positions,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    }))
    (path / "README.md").write_text(CARD)
    return path


def write_distilbert(path: Path, texts: list[str] | None = None, classifier: bool = False) -> Path:
    """A 2-layer DistilBERT of width 16 with BERT's WordPiece tokenizer ([CLS] a [SEP], no
    token types); ``classifier``: a DistilBertForSequenceClassification, whose pre-classifier
    is the pooler a classification head reuses."""
    import transformers

    backend = _wordpiece((texts or []) + TEXTS)
    torch.manual_seed(0)
    config = transformers.DistilBertConfig(vocab_size=backend.get_vocab_size(), dim=16, n_layers=2, n_heads=2,
                                           hidden_dim=32, max_position_embeddings=128)
    model_class = transformers.DistilBertForSequenceClassification if classifier else transformers.DistilBertModel
    model_class(config).save_pretrained(path)
    backend.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "DistilBertTokenizer", "do_lower_case": True, "model_max_length": 128,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    }))
    return path


def _byte_level(texts: list[str], specials: list[str]) -> Tokenizer:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer)
    return backend


def write_bart(path: Path, texts: list[str] | None = None) -> Path:
    """A 1+1-layer BART of width 16 with a byte-level BPE tokenizer and RoBERTa's layout
    (<s> a </s>); like BART, its decoder starts from </s>."""
    import transformers

    backend = _byte_level((texts or []) + TEXTS, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=False)
    torch.manual_seed(0)
    config = transformers.BartConfig(
        vocab_size=backend.get_vocab_size(), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=128, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=None, forced_eos_token_id=None)
    transformers.BartForConditionalGeneration(config).save_pretrained(path)
    backend.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BartTokenizer", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
        "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "model_max_length": 128,
    }))
    return path


def write_gpt2(path: Path, texts: list[str] | None = None) -> Path:
    """A 2-layer GPT-2 of width 16 with a byte-level BPE tokenizer: one <|endoftext|> as start,
    end and unknown token, and no padding token."""
    import transformers

    backend = _byte_level((texts or []) + TEXTS, ["<|endoftext|>"])
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=backend.get_vocab_size(), n_embd=16, n_layer=2, n_head=2, n_positions=300,
                                     bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).save_pretrained(path)
    backend.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "model_max_length": 300,
    }))
    return path


# Sentence pairs for a tiny English -> German Marian: its SentencePiece models are trained on them.
PAIRS = [
    ("wake me up at seven tomorrow.", "weck mich morgen um sieben."),
    ("set an alarm for six thirty!", "stell einen wecker auf halb sieben!"),
    ("what is the weather in paris?", "wie ist das wetter in paris?"),
    ("will it rain in berlin today?", "regnet es heute in berlin?"),
    ("play some jazz music, please.", "spiel bitte etwas jazz."),
    ("turn the volume up.", "mach lauter."),
    ("remind me to call mom.", "erinnere mich, mama anzurufen."),
    ("add milk to my shopping list.", "setz milch auf meine einkaufsliste."),
    ("how do i get to the station?", "wie komme ich zum bahnhof?"),
    ("send a message to anna.", "schick anna eine nachricht."),
    ("who wrote the book?", "wer hat das buch geschrieben?"),
    ("the book was written by ann in london.", "das buch wurde von ann in london geschrieben."),
    ("numbers: one, two, three, four, five.", "zahlen: eins, zwei, drei, vier, fünf."),
    ("it is a sunny day in paris.", "es ist ein sonniger tag in paris."),
]
MARIAN_LEFT_OUT = "▁book"  # a source piece vocab.json lacks: MarianTokenizer reads it as <unk>


def _sentencepiece(texts: list[str], size: int) -> bytes:
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=size, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2, num_threads=1)
    return model.getvalue()


def write_marian(path: Path) -> Path:
    """A 1+1-layer Marian of width 16 (OPUS-MT's options: post-norm, sinusoidal positions,
    scaled embeddings, swish) with Marian's tokenizer, as transformers' MarianTokenizer saves
    it: an English and a German SentencePiece model (source.spm, target.spm) over one
    vocab.json laid out as OPUS-MT's (</s> 0, <unk> 1, the pieces of both models, <pad>
    last, which the decoder starts from), but for one source piece it lacks."""
    import sentencepiece
    import transformers

    path.mkdir(parents=True)
    protos = [_sentencepiece([pair[side] for pair in PAIRS], 80) for side in (0, 1)]
    pieces = ["</s>", "<unk>"]
    for proto in protos:
        model = sentencepiece.SentencePieceProcessor(model_proto=proto)
        pieces += [model.id_to_piece(i) for i in range(model.get_piece_size())
                   if not (model.is_control(i) or model.is_unknown(i))]
    vocab = {piece: i for i, piece in enumerate(p for p in dict.fromkeys(pieces + ["<pad>"]) if p != MARIAN_LEFT_OUT)}
    for name, proto in zip(("source.spm", "target.spm"), protos):
        (path / name).write_bytes(proto)
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tokenizer = transformers.MarianTokenizer(str(path / "source.spm"), str(path / "target.spm"), str(path / "vocab.json"),
                                             source_lang="en", target_lang="de")
    pad = vocab["<pad>"]
    torch.manual_seed(0)
    config = transformers.MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=128,
        activation_function="swish", scale_embedding=True, pad_token_id=pad, eos_token_id=0,
        decoder_start_token_id=pad, forced_eos_token_id=0, bos_token_id=None)
    transformers.MarianMTModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "README.md").write_text(CARD)
    return path
