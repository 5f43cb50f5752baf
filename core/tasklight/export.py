"""``platform export --run DIR --format hf --out DIR2``: a finished run as a Hugging Face
model directory that transformers' Auto classes load for its task, with the same logits.

The backbone is written by its family's converter (``tasklight.checkpoints``): the
checkpoint's family for a run started with ``--init``, or, for a model trained from scratch,
the first family whose layout its options match; when none does, export is one line naming
the options that stand in the way. The head says which task class holds it
(``Head.to_hf``). Beside the weights go the run's tokenizer (``AutoTokenizer`` gives the
same ids), a ``generation_config.json`` with the run's decoding settings for sequence-to-
sequence and causal models, and a model card naming the checkpoint's licence.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tasklight.checkpoints.family import Family, HFConfig, config_differences
from tasklight.checkpoints.loader import families, family_of, save_hf
from tasklight.data.segmenter import FILES as SENTENCEPIECE_FILES
from tasklight.data.tokenizer import HF_TOKENIZER_FILES, Tokenizer
from tasklight.errors import UserError
from tasklight.heads import HFHead
from tasklight.inference import LoadedRun, load_run
from tasklight.model import TransformerConfig
from tasklight.rundir import read_init

FORMATS = ("hf",)
# The families a model trained from scratch may match, most natural first.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "encoder-decoder": ("mbart", "bart", "marian"),
    "encoder-only": ("bert", "roberta", "distilbert"),
    "decoder-only": ("gpt2", "llama"),
}
# The task-class suffix of each head kind (the class is the family's prefix + this).
TASK_CLASSES: dict[str, str] = {
    "sequence-classification": "ForSequenceClassification",
    "question-answering": "ForQuestionAnswering",
    "token-classification": "ForTokenClassification",
}


def class_prefix(family: Family) -> str:
    """'BertModel' -> 'Bert', 'BartForConditionalGeneration' -> 'Bart', 'GPT2LMHeadModel' -> 'GPT2'."""
    name = family.architecture
    for suffix in ("ForConditionalGeneration", "ForCausalLM", "LMHeadModel", "MTModel", "Model"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def architecture_of(family: Family, kind: str) -> str:
    if kind in ("seq2seq-lm", "causal-lm"):
        return family.architecture  # each family's own class is its language model
    return class_prefix(family) + TASK_CLASSES[kind]


def family_for(config: TransformerConfig, init: dict[str, Any] | None) -> Family:
    """The family a run's backbone is written as: its checkpoint's, or the first whose layout
    a model trained from scratch matches."""
    if init and init.get("model_type"):
        return family_of(init["model_type"], "run.json")
    blocking: list[tuple[int, str, list[str]]] = []
    for name in CANDIDATES[config.shape]:
        family = families()[name]
        hf = {**family.config_to_hf(config), "model_type": name}
        try:
            back = family.config_from_hf(HFConfig(hf, Path("config.json")))
        except (UserError, ValueError, TypeError) as err:
            blocking.append((99, name, [str(err)]))
            continue
        differ = config_differences(config, back)
        if not differ:
            return family
        blocking.append((len(differ), name, differ))
    _, name, differ = min(blocking)
    raise UserError(
        f"this {config.shape} model trained from scratch matches no Hugging Face family; the closest, {name}, "
        f"needs {', '.join(differ)} as it has them; train with options a family has, or start from a checkpoint (--init)"
    )


def export_run(run_dir: Path, out: Path, fmt: str = "hf") -> Path:
    """Write the run in ``run_dir`` into the new or empty directory ``out``."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: not empty; export writes into a new or empty directory")
    loaded = load_run(Path(run_dir), accelerator="cpu")
    model = loaded.system.model
    init = read_init(loaded.run_dir)
    family = family_for(model.config, init)
    head = loaded.system.head.to_hf(family.model_type)
    base = dict((init or {}).get("config") or {})
    base.update(_token_ids(loaded.tokenizer, model.config))
    base.update(head.config)
    labels = getattr(loaded.system.head, "labels", None)
    if head.kind in ("sequence-classification", "token-classification") and isinstance(labels, list):
        base["id2label"] = {str(i): str(label) for i, label in enumerate(labels)}
        base["label2id"] = {str(label): i for i, label in enumerate(labels)}
    save_hf(model.float(), out, family.model_type, base, head.weights, architecture_of(family, head.kind))
    _write_tokenizer(loaded, out)
    if head.kind in ("seq2seq-lm", "causal-lm"):
        _write_json(out / "generation_config.json", generation_config(loaded, base))
    _write_card(loaded, out, family, head, init)
    return out


def _token_ids(tokenizer: Tokenizer, config: TransformerConfig) -> dict[str, Any]:
    ids: dict[str, Any] = {"pad_token_id": config.pad_id}
    if tokenizer.bos_id is not None:
        ids["bos_token_id"] = tokenizer.bos_id
    if tokenizer.eos_id is not None:
        ids["eos_token_id"] = tokenizer.eos_id
    return ids


def generation_config(loaded: LoadedRun, hf: dict[str, Any]) -> dict[str, Any]:
    """The run's decoding settings as transformers' GenerationConfig."""
    d = loaded.config.section("decoding")
    out: dict[str, Any] = {k: hf[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id") if hf.get(k) is not None}
    if loaded.system.model.config.shape == "encoder-decoder":
        out.setdefault("decoder_start_token_id", hf.get("decoder_start_token_id", loaded.tokenizer.bos_id))
        # tasklight bounds the output by the input's length (a * source + b); the longest input sets it here.
        out["max_new_tokens"] = int(d["max_len_a"] * loaded.config["data.max_length"] + d["max_len_b"])
    else:
        out["max_new_tokens"] = int(d["max_new_tokens"])
    strategy = d["strategy"]
    out["num_beams"] = int(d["beam_size"]) if strategy == "beam" else 1
    out["do_sample"] = strategy == "sample"
    if strategy == "beam":
        out["length_penalty"] = float(d["length_penalty"])
    if int(d.get("no_repeat_ngram_size", 0)):
        out["no_repeat_ngram_size"] = int(d["no_repeat_ngram_size"])
    if strategy == "sample":
        out.update(temperature=float(d["temperature"]), top_k=int(d["top_k"]), top_p=float(d["top_p"]))
    return out


def _write_tokenizer(loaded: LoadedRun, out: Path) -> None:
    run_dir = loaded.run_dir
    # Marian's tokenizer is its SentencePiece models and vocab.json (MarianTokenizer reads
    # them); the run's tokenizer.json beside them is its vocabulary alone, not for export.
    own = SENTENCEPIECE_FILES if loaded.tokenizer.segmenter is not None else ("tokenizer.json",)
    for name in own:
        shutil.copyfile(run_dir / name, out / name)
    copied = [name for name in HF_TOKENIZER_FILES if (run_dir / name).is_file()]
    for name in copied:
        shutil.copyfile(run_dir / name, out / name)
    if not copied:  # a tokenizer trained here: name its special tokens for AutoTokenizer
        roles = loaded.tokenizer.roles
        config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast",
                                  "model_max_length": loaded.system.model.config.max_positions}
        for key, role in (("pad_token", "pad"), ("unk_token", "unk"), ("bos_token", "start"), ("eos_token", "end"),
                          ("sep_token", "sep"), ("mask_token", "mask"), ("cls_token", "start")):
            if roles.get(role):
                config[key] = roles[role]
        _write_json(out / "tokenizer_config.json", config)


def _write_card(loaded: LoadedRun, out: Path, family: Family, head: HFHead, init: dict[str, Any] | None) -> None:
    front = []
    licence = (init or {}).get("license")
    if licence:
        front.append(f"license: {licence}")
    if init and str(init.get("source", "")).startswith("hf:"):
        front.append(f"base_model: {init['name']}")
    front += ["library_name: transformers", f"pipeline_tag: {head.kind}" if head.kind in TASK_CLASSES else ""]
    started = f"fine-tuned from {init['source']}" if init else "trained from scratch"
    text = "---\n" + "\n".join(line for line in front if line) + "\n---\n\n"
    text += (
        f"# {loaded.task.name} ({family.model_type})\n\nExported by tasklight from the run {loaded.run_dir} "
        f"(task {loaded.task.name} version {loaded.task.version}, {started}).\n"
    )
    (out / "README.md").write_text(text, encoding="utf-8")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
