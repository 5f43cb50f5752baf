"""Hugging Face checkpoints in and out of tasklight's one ``Transformer``.

``load_hf(directory)`` reads a local directory in the Hugging Face layout (``config.json``
and ``model.safetensors``, a sharded ``model.safetensors.index.json`` or ``pytorch_model.bin``)
into a ``Transformer`` with the same outputs; ``save_hf(model, directory, model_type)`` writes
one that transformers loads. One module per family holds the mapping of its config and of its
weight names, as plain dicts: bert, roberta, distilbert, bart (and mbart), marian, gpt2, llama.
"""

from .loader import Checkpoint, families, load_hf, save_hf

__all__ = ["Checkpoint", "families", "load_hf", "save_hf"]
