"""What every family converter shares: reading a config.json, and mapping weight names.

A family module (``bert.py``, ``gpt2.py``, ...) gives a ``Family``: one plain dict from
Hugging Face module names to tasklight's, and two functions between the HF ``config.json``
and ``TransformerConfig``. Names in the dict are module paths without ``.weight``/``.bias``
(both follow the module), ``{}`` stands for a layer index, and a tasklight name ending in
``:q``, ``:k``, ``:v``, ``:gate`` or ``:up`` is one part of a fused tasklight Linear
(``qkv``, cross-attention ``kv``, the gated feed-forward's ``fc``), stacked along its rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tasklight.config import DROPOUTS
from tasklight.errors import UserError
from tasklight.model import TransformerConfig

# Hugging Face activation names -> tasklight's. "gelu" is the exact GELU in transformers;
# "gelu_new" and "gelu_pytorch_tanh" are its tanh approximation; "swish" is SiLU.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}

# Keys some configs carry that change the computation in ways tasklight does not implement,
# with the value that means "not used". Any other value is refused by name.
NOT_IMPLEMENTED: dict[str, Any] = {
    "rope_scaling": None,
    "sliding_window": None,
    "use_sliding_window": False,
    "attn_logit_softcapping": None,
    "final_logit_softcapping": None,
    "pruned_heads": {},
    "is_decoder": False,
    "add_cross_attention": False,
}


class HFConfig:
    """A ``config.json`` as read, for the family mappings: required keys, defaults as the
    transformers config classes have them, and one-line errors naming the key."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data, self.path = data, path

    def __getitem__(self, key: str) -> int:
        """A required size (an integer)."""
        if self.data.get(key) is None:
            raise UserError(f"{self.path}: no {key!r}, which a {self.data.get('model_type')} model needs")
        return self._typed(key, self.data[key], 0)

    def get(self, key: str, default: Any = None) -> Any:
        """The value, or ``default`` where absent or null; of the default's type."""
        value = self.data.get(key)
        return default if value is None else self._typed(key, value, default)

    def _typed(self, key: str, value: Any, like: Any) -> Any:
        expected: tuple[type, ...] = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}.get(
            type(like), (object,)
        )
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise UserError(f"{self.path}: {key} = {value!r} is not {type(like).__name__}")
        return value

    def refuse(self, key: str, why: str = "") -> UserError:
        shown = f"{key} = {self.data.get(key)!r}"
        return UserError(f"{self.path}: {shown} is not supported{f' ({why})' if why else ''}")

    def expect(self, **unused: Any) -> None:
        """Each key, where present, must hold its "not used" value (``NOT_IMPLEMENTED`` too)."""
        for key, value in {**NOT_IMPLEMENTED, **unused}.items():
            present = self.data.get(key, value)
            if present != value and not (value is None and present in ({}, [])):
                raise self.refuse(key, f"tasklight implements {value!r}")

    def activation(self, key: str, default: str) -> str:
        name = self.get(key, default)
        if name not in ACTIVATIONS:
            raise self.refuse(key, f"supported: {', '.join(ACTIVATIONS)}")
        return ACTIVATIONS[name]


@dataclass(frozen=True)
class Family:
    """One Hugging Face model family: how its config and weight names map onto tasklight's."""

    model_type: str
    architecture: str  # the class ``save_hf`` writes
    # Task classes (BertForSequenceClassification, GPT2LMHeadModel) nest the base model's
    # names under ``prefix``; a checkpoint's names may come with it or without.
    prefix: str
    weights: dict[str, str]  # HF module -> tasklight module (see the module docstring)
    config_from_hf: Callable[[HFConfig], TransformerConfig]
    config_to_hf: Callable[[TransformerConfig], dict[str, Any]]
    # Names outside the base model that hold backbone weights (the output layer, its bias).
    top_level: tuple[str, ...] = ()
    # Modules stored as (in, out) rather than nn.Linear's (out, in) (GPT-2's Conv1D).
    transposed: tuple[str, ...] = ()
    # Tensors HF stores as a (1, N) row where tasklight has (N,) (BART's final_logits_bias).
    rows: tuple[str, ...] = ()
    # Buffers some checkpoints carry that are not weights (recomputed position tables, ...).
    ignored: tuple[str, ...] = ()
    # Weights of task heads (pooler, classifier, masked-LM head): not the backbone's, kept
    # aside under their HF names for a task head that wants them.
    heads: tuple[str, ...] = ()
    # Backbone weights a checkpoint may omit: they keep their initial value (zeros).
    optional: tuple[str, ...] = ()
    # Whether ``architecture`` is such a task class (names written under ``prefix``).
    nested: bool = True


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.escape(template).replace(r"\{\}", r"(\d+)"))


def _split_suffix(name: str) -> tuple[str, str]:
    """'a.b.weight' -> ('a.b', '.weight'); names without a weight/bias suffix stay whole."""
    module, _, last = name.rpartition(".")
    return (module, f".{last}") if module and last in ("weight", "bias") else (name, "")


def _matches(templates: tuple[str, ...], name: str) -> bool:
    return any(_pattern(t).fullmatch(name) for t in templates)


class NameMap:
    """HF names <-> tasklight names for one family and config."""

    def __init__(self, family: Family, config: TransformerConfig) -> None:
        self.family = family
        weights = dict(family.weights)
        if config.tie_embeddings:  # a tied output layer is the token embedding
            weights = {hf: ("embed" if tl == "lm_head" else tl) for hf, tl in weights.items()}
        self.rules = [(_pattern(hf), hf, tl) for hf, tl in weights.items()]
        self.reverse = [(_pattern(tl.partition(":")[0]), hf, tl) for hf, tl in weights.items()]

    def base_name(self, name: str) -> str:
        """A checkpoint name without the task class's prefix (``bert.``, ``model.``), if any."""
        prefix = self.family.prefix
        return name[len(prefix) + 1 :] if prefix and name.startswith(prefix + ".") else name

    def to_tasklight(self, hf_name: str) -> tuple[str, str] | None:
        """HF name (without prefix) -> (tasklight name, part or ''), None when not a weight."""
        module, suffix = _split_suffix(hf_name)
        for pattern, _, tl in self.rules:
            m = pattern.fullmatch(module)
            if m:
                target, _, part = tl.partition(":")
                return target.format(*m.groups()) + suffix, part
        return None

    def to_hf(self, name: str) -> list[tuple[str, str]]:
        """tasklight name -> [(HF name without prefix, part or '')], the canonical name of each
        part first (tied duplicates after it)."""
        module, suffix = _split_suffix(name)
        out = []
        for pattern, hf, tl in self.reverse:
            m = pattern.fullmatch(module)
            if m:
                out.append((hf.format(*m.groups()) + suffix, tl.partition(":")[2]))
        return out

    def prefixed(self, hf_name: str, nested: bool) -> str:
        """The name inside a task class that nests the base model (``bert.``, ``model.``)."""
        top = hf_name.split(".")[0] in self.family.top_level
        return f"{self.family.prefix}.{hf_name}" if nested and not top else hf_name

    def is_transposed(self, hf_name: str) -> bool:
        module, suffix = _split_suffix(hf_name)
        return suffix == ".weight" and _matches(self.family.transposed, module)

    def is_row(self, hf_name: str) -> bool:
        return _matches(self.family.rows, hf_name)

    def is_ignored(self, hf_name: str) -> bool:
        return _matches(self.family.ignored, hf_name)

    def is_head(self, hf_name: str) -> bool:
        return hf_name.startswith(self.family.heads)

    def is_optional(self, name: str) -> bool:
        return _matches(self.family.optional, name)


def part_sizes(config: TransformerConfig, name: str) -> dict[str, int]:
    """Rows of each part of a fused tasklight weight, in order (the layout of
    ``SelfAttention.qkv``, ``CrossAttention.kv`` and a gated ``FeedForward.fc``)."""
    kv = config.kv_heads * config.head_size
    if ".self_attn.qkv." in name:
        return {"q": config.d_model, "k": kv, "v": kv}
    if ".cross_attn.kv." in name:
        return {"k": config.d_model, "v": config.d_model}
    if ".ff.fc." in name and config.gated_ff:
        return {"gate": config.d_ff, "up": config.d_ff}
    return {}


def config_differences(a: TransformerConfig, b: TransformerConfig) -> list[str]:
    """Fields (training settings aside) where two configs differ, as 'name=value' of ``a``."""
    unused = {"encoder-only": "decoder_layers", "decoder-only": "encoder_layers"}.get(a.shape)
    return [
        f"{f.name}={getattr(a, f.name)!r}"
        for f in fields(a)
        if f.name not in (*DROPOUTS, unused) and getattr(a, f.name) != getattr(b, f.name)
    ]
