"""Read a Hugging Face model directory into a ``Transformer``, and write one back.

Nothing in the directory is executed: ``config.json`` is JSON, weights are read with
safetensors or with ``torch.load(weights_only=True)``, and a config that asks for remote code
(``auto_map``) is refused. Every problem is one ``UserError`` line that names the file and
what is wrong in it.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from tasklight.errors import UserError
from tasklight.model import Transformer, TransformerConfig

from .family import Family, HFConfig, NameMap, part_sizes, config_differences

SAFETENSORS, SAFETENSORS_INDEX = "model.safetensors", "model.safetensors.index.json"
PICKLE, PICKLE_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"


@dataclass
class Checkpoint:
    """A loaded checkpoint: the backbone with its weights, and what a task may want besides."""

    model: Transformer
    family: str  # the config's model_type
    hf_config: dict[str, Any]  # config.json as read (token ids, label names, licence, ...)
    # Task-head weights under their HF names (BERT's pooler, a classifier): a head that
    # pools the first token or reuses a trained classifier takes them from here.
    head_weights: dict[str, Tensor] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)  # the weight files read


def families() -> dict[str, Family]:
    """model_type -> Family, for every supported family."""
    from . import bart, bert, distilbert, gpt2, llama, marian, roberta

    found = [bert.FAMILY, roberta.FAMILY, distilbert.FAMILY, bart.FAMILY, bart.MBART, marian.FAMILY,
             gpt2.FAMILY, llama.FAMILY]
    return {f.model_type: f for f in found}


def family_of(model_type: object, where: object) -> Family:
    known = families()
    if not isinstance(model_type, str) or model_type not in known:
        raise UserError(
            f"{where}: model_type {model_type!r} is not supported; supported: {', '.join(sorted(known))}"
        )
    return known[model_type]


def read_config(directory: Path) -> HFConfig:
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory (a Hugging Face model directory is expected)")
    path = directory / "config.json"
    if not path.is_file():
        raise UserError(f"{directory}: no config.json (not a Hugging Face model directory)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object")
    if "auto_map" in data:
        classes = ", ".join(sorted(map(str, data["auto_map"].values()))) if isinstance(data["auto_map"], dict) else ""
        raise UserError(f"{path}: the model asks for remote code (auto_map: {classes}); tasklight runs no code from a checkpoint")
    return HFConfig(data, path)


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: truncated or corrupt safetensors file ({reason})") from None


def _read_pickle(path: Path) -> dict[str, Tensor]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).splitlines()[0]
        raise UserError(f"{path}: refused, it holds more than tensors ({reason}); tasklight loads weights only") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: truncated or corrupt weights file ({reason})") from None
    if not isinstance(data, dict) or not all(isinstance(v, Tensor) for v in data.values()):
        raise UserError(f"{path}: not a state dict of tensors")
    return data


def _read_index(path: Path) -> list[Path]:
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: not a shard index with a weight_map ({e})") from None
    files = [path.parent / str(name) for name in shards]
    for file in files:
        if not file.is_file():
            raise UserError(f"{path}: shard {file.name} is missing")
    return files


def read_weights(directory: Path) -> tuple[dict[str, Tensor], list[Path]]:
    """All tensors of the directory's weights (single file or shards), and the files read."""
    for name, read in ((SAFETENSORS, _read_safetensors), (SAFETENSORS_INDEX, _read_safetensors),
                       (PICKLE, _read_pickle), (PICKLE_INDEX, _read_pickle)):
        path = directory / name
        if not path.is_file():
            continue
        files = _read_index(path) if name.endswith(".index.json") else [path]
        tensors: dict[str, Tensor] = {}
        for file in files:
            tensors.update(read(file))
        return tensors, files
    raise UserError(f"{directory}: no weights ({SAFETENSORS}, {SAFETENSORS_INDEX} or {PICKLE})")


def _listed(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def convert_from_hf(
    family: Family, model: Transformer, tensors: dict[str, Tensor], where: object
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """HF tensors -> (``model``'s state dict, task-head weights). Every backbone weight must be
    there once, in its shape; anything else is an error that names it."""
    config = model.config
    names = NameMap(family, config)
    expected = model.state_dict()
    found: dict[str, dict[str, Tensor]] = {}  # tasklight name -> {part: tensor}
    sources: dict[str, list[str]] = {}  # tasklight name -> the HF names read into it
    heads: dict[str, Tensor] = {}
    unexpected = []
    nested = any(names.base_name(n) != n for n in tensors)  # names as in a task class
    for hf_name, tensor in tensors.items():
        base = names.base_name(hf_name)
        if names.is_ignored(base):
            continue
        mapped = names.to_tasklight(base)
        if mapped is None:
            if names.is_head(base):
                heads[base] = tensor
            else:
                unexpected.append(hf_name)
            continue
        target, part = mapped
        if target not in expected:
            unexpected.append(hf_name)
            continue
        if names.is_transposed(base):
            tensor = tensor.t()
        elif names.is_row(base) and tensor.dim() == 2 and tensor.size(0) == 1:
            tensor = tensor[0]
        parts = found.setdefault(target, {})
        if part in parts:  # a tied duplicate (BART's embed_tokens and shared): must be the same
            if not torch.equal(parts[part], tensor):
                raise UserError(f"{where}: {hf_name} differs from {sources[target][0]}, but the config ties them")
            continue
        parts[part] = tensor
        sources.setdefault(target, []).append(hf_name)
    if unexpected:
        raise UserError(f"{where}: unexpected weights for a {family.model_type} model: {_listed(sorted(unexpected))}")

    state: dict[str, Tensor] = {}
    missing, wrong = [], []
    for name, reference in expected.items():
        targets = names.to_hf(name)  # [(HF name, part)]
        fused = any(part for _, part in targets)  # stored in parts (q, k, v) by this family
        order = list(part_sizes(config, name)) if fused else [""]
        parts = found.get(name, {})
        absent = [p for p in order if p not in parts]
        if absent:
            if not names.is_optional(name):
                firsts = {part: hf for hf, part in reversed(targets)}  # the canonical name of each part
                missing += [names.prefixed(firsts[p], nested) if p in firsts else name for p in absent]
            continue
        tensor = torch.cat([parts[p] for p in order], dim=0)
        if tensor.shape != reference.shape:
            wrong.append(f"{'+'.join(sources[name])} {tuple(tensor.shape)} (expected {tuple(reference.shape)})")
            continue
        state[name] = tensor
    if missing:
        raise UserError(f"{where}: missing weights for a {family.model_type} model: {_listed(missing)}")
    if wrong:
        raise UserError(f"{where}: wrong shapes: {_listed(wrong, 3)}")
    return state, heads


def load_hf(directory: str | Path) -> Checkpoint:
    """Read a Hugging Face model directory (config.json and its weights) into a Transformer."""
    directory = Path(directory)
    hf = read_config(directory)
    family = family_of(hf.data.get("model_type"), hf.path)
    try:
        config = family.config_from_hf(hf)
    except (ValueError, TypeError) as e:  # sizes TransformerConfig refuses, or of the wrong type
        raise UserError(f"{hf.path}: {e}") from None
    tensors, files = read_weights(directory)
    model = Transformer(config)
    state, heads = convert_from_hf(family, model, tensors, directory)
    model.load_state_dict(state, strict=False)  # all but optional weights (a zero logits bias)
    return Checkpoint(model.eval(), family.model_type, hf.data, heads, files)


def convert_to_hf(family: Family, model: Transformer, nested: bool | None = None) -> dict[str, Tensor]:
    """tasklight state dict -> HF tensors under the export class's names (tied copies left out,
    as transformers writes them); ``nested``: under the family's prefix, as a task class
    (``BertForQuestionAnswering``) holds them (default: as ``family.architecture`` does)."""
    nested = family.nested if nested is None else nested
    names = NameMap(family, model.config)
    out: dict[str, Tensor] = {}
    for name, tensor in model.state_dict().items():
        targets = names.to_hf(name)
        if not targets:
            raise UserError(f"tasklight weight {name} has no place in a {family.model_type} checkpoint")
        sizes = part_sizes(model.config, name) if any(part for _, part in targets) else {}
        pieces = dict(zip(sizes, tensor.split(list(sizes.values()), dim=0))) if sizes else {"": tensor}
        written = set()
        for hf_name, part in targets:
            if part in written:  # tied duplicates: the canonical name only
                continue
            piece = pieces[part]
            if names.is_transposed(hf_name):
                piece = piece.t()
            elif names.is_row(hf_name):
                piece = piece[None]
            out[names.prefixed(hf_name, nested)] = piece.contiguous().clone()
            written.add(part)
    return out


def hf_config_of(family: Family, config: TransformerConfig, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The config.json that describes ``config`` as ``family``, over ``base`` (the source
    checkpoint's config: token ids, label names). A config the family cannot express is one
    error naming the options that stand in the way."""
    hf = {k: v for k, v in (base or {}).items() if k not in ("architectures", "_name_or_path", "transformers_version")}
    hf.update(family.config_to_hf(config))
    hf.update(model_type=family.model_type, architectures=[family.architecture])
    back = family.config_from_hf(HFConfig(hf, Path("config.json")))
    differ = config_differences(config, back)
    if differ:
        raise UserError(f"this model cannot be written as {family.model_type}: {', '.join(differ)}")
    return hf


def save_hf(
    model: Transformer,
    directory: str | Path,
    model_type: str,
    base_config: dict[str, Any] | None = None,
    head_weights: dict[str, Tensor] | None = None,
    architecture: str | None = None,
) -> Path:
    """Write ``model`` as a Hugging Face directory (config.json, model.safetensors) that
    transformers loads as the family's ``architecture``, or as the task class
    ``architecture`` (``BertForQuestionAnswering``: the backbone under the family's prefix).
    ``head_weights`` (HF names) are written alongside, for a task class that holds them.
    The directory must not hold files."""
    from safetensors.torch import save_file

    directory = Path(directory)
    family = family_of(model_type, "export")
    hf = hf_config_of(family, model.config, base_config)
    if directory.exists() and any(directory.iterdir()):
        raise UserError(f"{directory}: not empty; export writes into a new or empty directory")
    tensors = convert_to_hf(family, model, nested=None if architecture is None else True)
    if architecture is not None:
        hf["architectures"] = [architecture]
    for name, tensor in (head_weights or {}).items():
        tensors[name] = tensor.contiguous().clone()
    hf["dtype"] = str(model.embed.weight.dtype).removeprefix("torch.")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(hf, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_file(tensors, directory / SAFETENSORS, metadata={"format": "pt"})
    return directory
