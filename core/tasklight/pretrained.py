"""Starting a run from a pretrained checkpoint: ``platform run TASK --init SOURCE``.

``SOURCE`` is a local directory in the Hugging Face layout, or ``hf:ORG/NAME[@REVISION]``,
fetched with ``huggingface_hub`` into its usual cache (the optional extra ``hf``). The
backbone's shape and options come from the checkpoint's ``config.json`` and its weights are
loaded; the checkpoint's own tokenizer is used unchanged. Everything here is read and checked
before a run directory is written: a bad source, a checkpoint that cannot serve the task, or a
``--set`` that contradicts it is one line, and nothing is left behind.

A checkpoint serves the tasks its stacks can: encoder-only checkpoints (BERT, RoBERTa,
DistilBERT) encoder-only tasks; encoder-decoder ones (BART, mBART, Marian) encoder-decoder
tasks, and encoder-only tasks through their encoder; decoder-only ones (GPT-2, Llama)
decoder-only tasks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasklight.checkpoints import Checkpoint, load_hf
from tasklight.config import Config
from tasklight.data.tokenizer import Tokenizer
from tasklight.errors import UserError
from tasklight.model import Transformer, TransformerConfig
from tasklight.task import Task

HUB_PREFIX = "hf:"
# What a run needs from a Hub repository: never its code, nor weights in formats not read here.
HUB_FILES = [
    "config.json", "generation_config.json", "model.safetensors", "model-*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "README.md", "LICENSE*",
    "source.spm", "target.spm", "vocab.json",  # Marian's tokenizer: SentencePiece models and their vocabulary
]
HUB_PICKLE_FILES = ["pytorch_model.bin", "pytorch_model-*.bin", "pytorch_model.bin.index.json"]

# Which task shapes a checkpoint of each shape serves.
SERVES: dict[str, tuple[str, ...]] = {
    "encoder-only": ("encoder-only",),
    "encoder-decoder": ("encoder-decoder", "encoder-only"),
    "decoder-only": ("decoder-only",),
}
# --set keys that fix the model's shape, and the TransformerConfig field each names.
ARCHITECTURE_KEYS: dict[str, str] = {
    "model.d_model": "d_model",
    "model.n_heads": "n_heads",
    "model.encoder_layers": "encoder_layers",
    "model.decoder_layers": "decoder_layers",
    "model.d_ff": "d_ff",
    "model.max_positions": "max_positions",
    "model.norm_position": "norm_position",
    "model.embed_norm": "embed_norm",
    "model.final_norm": "final_norm",
}


@dataclass
class Pretrained:
    """A checkpoint opened for a run: where it came from, its weights and its tokenizer."""

    source: str  # as given to --init
    directory: Path
    revision: str | None  # the Hub commit, for hf: sources
    checkpoint: Checkpoint
    tokenizer: Tokenizer

    @property
    def name(self) -> str:
        """A short name for tables: the Hub name or the directory's."""
        if self.source.startswith(HUB_PREFIX):
            return self.source[len(HUB_PREFIX) :].partition("@")[0]
        return self.directory.resolve().name

    def provenance(self) -> dict[str, Any]:
        """Where the weights came from, enough to get the very same ones again."""
        return {
            "source": self.source,
            "name": self.name,
            "path": str(self.directory.resolve()),
            "revision": self.revision,
            "model_type": self.checkpoint.family,
            "weights_sha256": {path.name: sha256_of(path) for path in self.checkpoint.files},
            "license": license_of(self.directory, self.checkpoint.hf_config),
            # config.json as read: its token ids and settings go into an export of the run
            "config": self.checkpoint.hf_config,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def license_of(directory: Path, hf_config: dict[str, Any]) -> str | None:
    """The licence the model card's front matter (``license:``) or config.json names."""
    card = directory / "README.md"
    if card.is_file():
        lines = card.read_text(encoding="utf-8", errors="replace").splitlines()
        if lines and lines[0].strip() == "---":
            for line in lines[1:]:
                if line.strip() == "---":
                    break
                key, sep, value = line.partition(":")
                if sep and key.strip() == "license" and value.strip():
                    return value.strip().strip("'\"")
    value = hf_config.get("license")
    return value if isinstance(value, str) and value else None


def locate(source: str) -> tuple[Path, str | None]:
    """The local directory of ``source`` (downloading an ``hf:`` one), and its Hub revision."""
    if source.startswith(HUB_PREFIX):
        return _from_hub(source)
    path = Path(source).expanduser()
    if not path.is_dir():
        raise UserError(
            f"--init {source}: no such directory (a Hugging Face model directory or hf:ORG/NAME[@REVISION] is expected)"
        )
    return path, None


def _from_hub(source: str) -> tuple[Path, str | None]:
    name, _, revision = source[len(HUB_PREFIX) :].partition("@")
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise UserError(f"--init {source}: expected hf:ORG/NAME or hf:ORG/NAME@REVISION")
    try:
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise UserError(f"--init {source}: needs huggingface_hub (pip install -e \".[hf]\")") from None
    try:
        path = Path(huggingface_hub.snapshot_download(name, revision=revision or None, allow_patterns=HUB_FILES))
        if not any(path.glob("*.safetensors")):  # an older repository: its weights are pickled tensors
            path = Path(huggingface_hub.snapshot_download(name, revision=revision or None, allow_patterns=HUB_PICKLE_FILES))
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        why = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub could not be reached (or set HF_HUB_OFFLINE=1 to use the cache alone)"
        raise UserError(
            f"--init {source}: model {name} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}; "
            "download it where there is network, or give a local directory"
        ) from None
    except GatedRepoError:
        raise UserError(f"--init {source}: {name} is gated; accept its terms on the Hub and log in (hf auth login)") from None
    except RepositoryNotFoundError:
        raise UserError(f"--init {source}: no model {name} on the Hugging Face Hub (or it is private)") from None
    except RevisionNotFoundError:
        raise UserError(f"--init {source}: {name} has no revision {revision!r}") from None
    except EntryNotFoundError as err:
        raise UserError(f"--init {source}: {str(err).splitlines()[0]}") from None
    except OSError as err:  # network errors are OSErrors (requests' ConnectionError among them)
        raise UserError(f"--init {source}: download failed ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    return path, path.name  # a snapshot folder is named by its commit


def open_pretrained(source: str) -> Pretrained:
    """Read a checkpoint and its tokenizer; every problem is one line."""
    directory, revision = locate(source)
    checkpoint = load_hf(directory)
    tokenizer = Tokenizer.from_pretrained(directory)
    vocab = checkpoint.model.config.vocab_size
    if tokenizer.vocab_size > vocab:
        raise UserError(f"{directory}: the tokenizer has {tokenizer.vocab_size} tokens, the model's vocabulary {vocab}")
    return Pretrained(source, directory, revision, checkpoint, tokenizer)


def tasks_served(shape: str, tasks: Iterable[Task]) -> list[str]:
    return sorted(t.name for t in tasks if t.shape in SERVES[shape])


def backbone_config(pretrained: Pretrained, task: Task, config: Config, all_tasks: Iterable[Task]) -> TransformerConfig:
    """The backbone of a run of ``task`` started from ``pretrained``: the checkpoint's config
    (its encoder alone for an encoder-only task on an encoder-decoder checkpoint), with the
    run's dropouts: ``model.dropout`` where a ``--set`` gives it (else the checkpoint's), and
    ``model.attention_dropout`` always (0.0 unless set, as in every preset). Contradicting
    ``--set`` keys and tasks the checkpoint cannot serve are one line each."""
    ours = pretrained.checkpoint.model.config
    where = f"--init {pretrained.source}"
    if task.shape not in SERVES[ours.shape]:
        shapes = " and ".join(SERVES[ours.shape])
        served = ", ".join(tasks_served(ours.shape, all_tasks)) or "none installed"
        raise UserError(
            f"{where}: a {pretrained.checkpoint.family} checkpoint is {ours.shape}; it serves {shapes} tasks "
            f"({served}), and {task.name} is {task.shape}"
        )
    _check_explicit(pretrained, ours, config, where)
    changes: dict[str, Any] = {}
    if task.shape != ours.shape:  # an encoder-only task on an encoder-decoder checkpoint: its encoder
        changes.update(shape=task.shape, decoder_layers=0, tie_embeddings=True, lm_bias=False)
    # Regularisation is the run's to choose. Dropout on the attention probabilities is off
    # unless set, whatever the checkpoint trained with: it takes attention off its fused
    # kernel (a mask over every head, query and key), and fine-tuning did as well without it
    # (benchmarks/RESULTS.md, the QA pair).
    fields = config.model_fields()
    changes["attention_dropout"] = float(fields.get("attention_dropout", 0.0))
    changes["word_dropout"] = float(fields.get("word_dropout", 0.0))
    if "model.dropout" in config.explicit:
        changes["dropout"] = float(config["model.dropout"])
    max_length = int(config["data.max_length"])
    if "data.max_length" in config.explicit and max_length > ours.max_positions:
        raise UserError(
            f"{where}: data.max_length={max_length} is longer than the checkpoint's {ours.max_positions} positions; "
            f"--set data.max_length={ours.max_positions}"
        )
    return dataclasses.replace(ours, **changes)


def _check_explicit(pretrained: Pretrained, ours: TransformerConfig, config: Config, where: str) -> None:
    """A ``--set`` of the model's shape must agree with the checkpoint's config.json."""
    wrong = []
    preset = config.presets.get(config["model.preset"], {}) if "model.preset" in config.explicit else {}
    for key, field in ARCHITECTURE_KEYS.items():
        unused = (field == "encoder_layers" and ours.shape == "decoder-only") or (
            field == "decoder_layers" and ours.shape == "encoder-only")
        if unused:
            continue
        given = config.model_fields().get(field) if key in config.explicit else preset.get(field)
        if given is not None and given != getattr(ours, field):
            origin = key if key in config.explicit else f"model.preset={config['model.preset']}"
            wrong.append(f"{origin} gives {field}={given}, the checkpoint has {getattr(ours, field)}")
    if "tokenizer.vocab_size" in config.explicit and config["tokenizer.vocab_size"] != ours.vocab_size:
        wrong.append(f"tokenizer.vocab_size={config['tokenizer.vocab_size']}, the checkpoint has {ours.vocab_size}")
    if "tokenizer.path" in config.explicit and config["tokenizer.path"]:
        wrong.append("tokenizer.path is set, and a checkpoint brings its own tokenizer")
    if wrong:
        raise UserError(f"{where}: the model's shape comes from its config.json: {'; '.join(wrong)}; drop those --set")


def pretrained_state(pretrained: Pretrained, model: Transformer) -> dict[str, Any]:
    """The checkpoint's weights that ``model`` (its backbone for this task) has."""
    state = pretrained.checkpoint.model.state_dict()
    wanted = model.state_dict()
    return {name: tensor for name, tensor in state.items() if name in wanted}
