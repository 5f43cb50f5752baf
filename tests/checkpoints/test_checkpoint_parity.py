"""Each family against transformers itself, no download: a tiny random model is built from a
transformers config, saved with ``save_pretrained``, imported, and must give the same hidden
states and logits at every real position of a padded batch (fp32, within 1e-4), the same
greedy tokens, and export back to a directory transformers loads with the same logits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from tasklight.checkpoints import load_hf, save_hf
from tasklight.model import Transformer, generate

V = 99
TOL = 1e-4


@dataclass
class Case:
    model_class: Callable[..., Any]
    config: Callable[[], Any]
    kind: str  # "encoder", "seq2seq" or "causal"
    pad: int | None
    start: int | None = None  # decoder_start_token_id (seq2seq)
    eos: int = 2


SIZES = dict(vocab_size=V)
SEQ2SEQ = dict(
    d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
    encoder_ffn_dim=48, decoder_ffn_dim=48, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
    eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=None,
)

CASES = {
    "bert": Case(transformers.BertModel, lambda: transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=64, **SIZES), "encoder", pad=0),
    "roberta": Case(transformers.RobertaModel, lambda: transformers.RobertaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=66, type_vocab_size=1, **SIZES), "encoder", pad=1),
    "distilbert": Case(transformers.DistilBertModel, lambda: transformers.DistilBertConfig(
        dim=32, n_layers=2, n_heads=4, hidden_dim=48, max_position_embeddings=64, **SIZES), "encoder", pad=0),
    "bart": Case(transformers.BartForConditionalGeneration, lambda: transformers.BartConfig(
        **SEQ2SEQ, **SIZES), "seq2seq", pad=1, start=2),
    "mbart": Case(transformers.MBartForConditionalGeneration, lambda: transformers.MBartConfig(
        **SEQ2SEQ, scale_embedding=True, **SIZES), "seq2seq", pad=1, start=2),
    "marian": Case(transformers.MarianMTModel, lambda: transformers.MarianConfig(
        **{**SEQ2SEQ, "pad_token_id": V - 1, "decoder_start_token_id": V - 1, "bos_token_id": None},
        activation_function="swish", scale_embedding=True, **SIZES), "seq2seq", pad=V - 1, start=V - 1),
    "gpt2": Case(transformers.GPT2LMHeadModel, lambda: transformers.GPT2Config(
        n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=2, eos_token_id=2, **SIZES), "causal", pad=None),
    "llama": Case(transformers.LlamaForCausalLM, lambda: transformers.LlamaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=48,
        max_position_embeddings=64, rope_parameters={"rope_type": "default", "rope_theta": 500.0},
        bos_token_id=1, eos_token_id=2, **SIZES), "causal", pad=None),
    "llama-tied": Case(transformers.LlamaForCausalLM, lambda: transformers.LlamaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, intermediate_size=48,
        max_position_embeddings=64, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
        bos_token_id=1, eos_token_id=2, **SIZES), "causal", pad=None),
}


def reference(case: Case, seed: int = 0) -> Any:
    """A transformers model whose every weight, biases and norms included, is random (a weight
    mapped to the wrong place cannot go unnoticed), large enough to decode varied tokens."""
    torch.manual_seed(seed)
    config = case.config()
    config._attn_implementation = "eager"
    model = case.model_class(config).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.requires_grad:  # Marian's fixed sinusoids
                continue
            if p.dim() == 2:
                p.normal_(0.0, 2.0 / p.size(-1) ** 0.5, generator=g)
            else:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
        if hasattr(model, "final_logits_bias"):
            model.final_logits_bias.normal_(0.0, 0.2, generator=g)
    return model


def imported(case: Case, tmp_path: Path, seed: int = 0) -> tuple[Any, Transformer, Path]:
    hf = reference(case, seed)
    source = tmp_path / "source"
    hf.save_pretrained(source)
    checkpoint = load_hf(source)
    return hf, checkpoint.model, source


def padded(lengths: list[int], pad: int | None, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids of tokens 3..V-2 (no special token) right-padded, and the mask (True = real)."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    ids = torch.randint(3, V - 1, (len(lengths), T), generator=g)
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
    return ids.masked_fill(~mask, 0 if pad is None else pad), mask


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def outputs(case: Case, hf: Any, ours: Transformer) -> dict[str, float]:
    """Max abs difference of hidden states and logits at real positions, per output."""
    src, src_mask = padded([7, 3, 5], case.pad)
    token_types = (torch.arange(src.size(1)) >= 2).long().expand_as(src) * src_mask  # a second segment
    with torch.no_grad():
        if case.kind == "encoder":
            kwargs = {"token_type_ids": token_types} if ours.config.type_vocab_size > 1 else {}
            want = hf(input_ids=src, attention_mask=src_mask.long(), **kwargs).last_hidden_state
            got = ours.encode(src, src_mask, token_types if kwargs else None)
            return {"hidden": max_diff(want[src_mask], got[src_mask])}
        if case.kind == "causal":
            out = hf(input_ids=src, attention_mask=src_mask.long(), output_hidden_states=True)
            hidden = ours.decode(src, mask=src_mask)
            plain = ours.decode(src)  # right padding needs no mask: real tokens never see it
            return {
                "hidden": max_diff(out.hidden_states[-1][src_mask], hidden[src_mask]),
                "logits": max_diff(out.logits[src_mask], ours.lm_logits(hidden)[src_mask]),
                "unmasked": max_diff(hidden[src_mask], plain[src_mask]),
            }
        tgt, tgt_mask = padded([4, 6, 2], case.pad, seed=2)
        tgt[:, 0] = case.start
        out = hf(input_ids=src, attention_mask=src_mask.long(), decoder_input_ids=tgt, output_hidden_states=True)
        memory = ours.encode(src)
        hidden = ours.decode(tgt, memory, src_mask)
        return {
            "encoder": max_diff(out.encoder_last_hidden_state[src_mask], memory[src_mask]),
            "hidden": max_diff(out.decoder_hidden_states[-1][tgt_mask], hidden[tgt_mask]),
            "logits": max_diff(out.logits[tgt_mask], ours.lm_logits(hidden)[tgt_mask]),
        }


@pytest.mark.parametrize("name", list(CASES))
def test_hidden_states_and_logits_match_transformers(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    hf, ours, _ = imported(case, tmp_path)
    diffs = outputs(case, hf, ours)
    assert all(d <= TOL for d in diffs.values()), diffs


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind != "encoder"])
def test_cached_decoding_matches_transformers_full_forward(name: str, tmp_path: Path) -> None:
    """A prefix through the cache, then one token per call: every step's logits are those of
    transformers' forward over the whole sequence (positions continue at the cache length)."""
    case = CASES[name]
    hf, ours, _ = imported(case, tmp_path)
    tgt, _ = padded([10, 10, 10], None, seed=6)
    memory = mask = None
    with torch.no_grad():
        if case.kind == "seq2seq":
            tgt[:, 0] = case.start
            src, mask = padded([7, 3, 5], case.pad, seed=7)
            want = hf(input_ids=src, attention_mask=mask.long(), decoder_input_ids=tgt).logits
            memory = ours.encode(src)
        else:
            want = hf(input_ids=tgt).logits
        cache = ours.new_cache(3, 10, memory, mask)
        steps = [ours.decode(tgt[:, :4], cache=cache)] + [ours.decode(tgt[:, t : t + 1], cache=cache) for t in range(4, 10)]
        got = ours.lm_logits(torch.cat(steps, dim=1))
    assert max_diff(want, got) <= TOL


def _cut(tokens: list[int], eos: int | None) -> list[int]:
    return tokens[: tokens.index(eos)] if eos in tokens else tokens


def hf_greedy(case: Case, hf: Any, eos: int | None, budget: int, inputs: list[torch.Tensor]) -> list[list[int]]:
    """transformers' greedy continuation of each input, cut at ``eos``. seq2seq inputs are
    (src, mask) batches; decoder-only prompts are run one at a time (no padding)."""
    settings = dict(do_sample=False, num_beams=1, max_new_tokens=budget, min_new_tokens=0, eos_token_id=eos,
                    forced_eos_token_id=None, forced_bos_token_id=None, no_repeat_ngram_size=0)
    with torch.no_grad():
        if case.kind == "seq2seq":
            src, mask = inputs
            out = hf.generate(input_ids=src, attention_mask=mask.long(), decoder_start_token_id=case.start,
                              pad_token_id=case.pad, **settings)
            return [_cut(row[1:], eos) for row in out.tolist()]
        return [
            _cut(hf.generate(input_ids=p[None], attention_mask=torch.ones(1, p.numel(), dtype=torch.long),
                             pad_token_id=eos, **settings)[0, p.numel():].tolist(), eos)
            for p in inputs
        ]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind != "encoder"])
def test_greedy_generation_matches_transformers(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    hf, ours, _ = imported(case, tmp_path)
    budget = 12
    if case.kind == "seq2seq":
        inputs = list(padded([7, 3, 5, 6], case.pad, seed=3))
    else:
        ids, _ = padded([5, 3, 5, 7, 3], None, seed=4)
        inputs = [ids[0, :5], ids[1, :3], ids[2, :5], ids[3, :7], ids[4, :3]]
    # The end token: the one generated without an end that makes rows stop at the most
    # different points (some at the budget), so that stopping is compared too.
    free = hf_greedy(case, hf, None, budget, inputs)
    eos = max(sorted({t for row in free for t in row}),
              key=lambda t: len({row.index(t) if t in row else budget for row in free}))
    expected = hf_greedy(case, hf, eos, budget, inputs)
    assert len({len(tokens) for tokens in expected}) > 1

    if case.kind == "seq2seq":
        src, _ = inputs
        got = generate(ours, torch.full((src.size(0), 1), case.start), src_ids=src, eos_id=eos, max_new_tokens=budget)
    else:  # tasklight batches the prompts of each length
        got = [[] for _ in inputs]
        for n in sorted({p.numel() for p in inputs}):
            rows = [i for i, p in enumerate(inputs) if p.numel() == n]
            prompts = torch.stack([inputs[i] for i in rows])
            for i, tokens in zip(rows, generate(ours, prompts, eos_id=eos, max_new_tokens=budget)):
                got[i] = tokens
    assert got == expected


@pytest.mark.parametrize("name", list(CASES))
def test_export_round_trips_through_transformers(name: str, tmp_path: Path) -> None:
    """tasklight -> HF directory -> transformers' from_pretrained: nothing missing or unused,
    and the same outputs as the model the checkpoint came from; tasklight reads it back."""
    case = CASES[name]
    hf, ours, source = imported(case, tmp_path)
    checkpoint = load_hf(source)
    out = save_hf(checkpoint.model, tmp_path / "export", checkpoint.family, checkpoint.hf_config,
                  checkpoint.head_weights)
    reloaded, info = case.model_class.from_pretrained(out, output_loading_info=True, attn_implementation="eager")
    assert not (info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"]), info
    assert type(reloaded).__name__ == case.model_class.__name__
    ids, mask = padded([6, 4], case.pad, seed=5)
    with torch.no_grad():
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask.long()}
        if case.kind == "seq2seq":
            kwargs["decoder_input_ids"] = torch.full((2, 3), case.start)
        first, second = hf.eval()(**kwargs), reloaded.eval()(**kwargs)
    key = "last_hidden_state" if case.kind == "encoder" else "logits"
    assert torch.equal(first[key], second[key])
    again = load_hf(out).model.state_dict()
    assert again.keys() == ours.state_dict().keys()
    assert all(torch.equal(again[k], v) for k, v in ours.state_dict().items())
