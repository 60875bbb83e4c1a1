"""The claim-tuned encoder: a low-rank (LoRA) delta over the packaged all-MiniLM-L6-v2.

Nothing learned is shipped as a whole model. The delta is a pair of small matrices ``A``
(rank x in) and ``B`` (out x rank) for each of the 36 linear layers of MiniLM's six
transformer blocks, stored in fp16 as safetensors (no pickle). Loading merges them into the
verified base weights, ``W <- W + (alpha / rank) * B @ A``, so the tuned encoder has the base
architecture and runs at the base model's speed.

A delta lives in a directory as two files: ``encoder-delta.safetensors`` and
``encoder-delta.json``, its card: the base model and weights sha256 it applies to, the
delta's own sha256, rank and alpha, and how it was trained (command, seed, settings, the
sha256 of every data file read, row counts, time). The base hash is checked first (by the
Embedder), then the delta's; a mismatch is a :class:`~claimcluster.errors.ModelIntegrityError`.
The shipped delta is in ``claimcluster/models/``; ``python -m claimcluster.training encoder``
writes a new one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from claimcluster import models
from claimcluster.errors import ModelIntegrityError
from claimcluster.models import MODEL_DIR

__all__ = ["DELTA_FILE", "CARD_FILE", "SHIPPED_DELTA_DIR", "is_delta_dir", "read_card", "verified_card",
           "verified_file", "apply_delta"]

DELTA_FILE = "encoder-delta.safetensors"
CARD_FILE = "encoder-delta.json"
SHIPPED_DELTA_DIR = MODEL_DIR
# The linear layers of a BERT block that carry a delta (all of them).
TARGETS = re.compile(r"encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense"
                     r"|intermediate\.dense|output\.dense)$")
_CARD_FIELDS = ("name", "base_model", "base_sha256", "delta_sha256", "rank", "alpha")


def layer_name(module_name: str) -> str:
    """``encoder.layer.3.attention.self.query``: the part of a module's name that does not depend on
    how sentence-transformers nests the transformer."""
    found = TARGETS.search(module_name)
    assert found is not None
    return found.group(0)


def is_delta_dir(path: Path) -> bool:
    return (path / CARD_FILE).is_file()


def read_card(directory: Path) -> dict[str, Any]:
    """The card of the delta in ``directory``, with its required fields checked."""
    return models.read_card(directory / CARD_FILE, _CARD_FIELDS, "encoder delta")


def verified_card(directory: Path) -> dict[str, Any]:
    """The card of the delta in ``directory``, its delta file hashed against it (no torch needed)."""
    card = read_card(directory)
    _verified_bytes(directory, card)
    return card


def _delta_tensors(directory: Path, card: dict[str, Any]):
    from safetensors.torch import load

    data, digest = _verified_bytes(directory, card)
    return load(data), digest


def _verified_bytes(directory: Path, card: dict[str, Any]) -> tuple[bytes, str]:
    return verified_file(directory / DELTA_FILE, card["delta_sha256"], "encoder delta", "encoder")


def verified_file(path: Path, expected_sha256: str, what: str, command: str) -> tuple[bytes, str]:
    """The bytes of a shipped learned file and their sha256, checked against its card's ``expected_sha256``;
    ``what`` names it in errors, ``command`` the ``python -m claimcluster.training`` command that remakes it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read the {what} {path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise ModelIntegrityError(f"{what} {path} has sha256 {digest}, its card says {expected_sha256}: the file is "
                                  "damaged or from another training run; reinstall claimcluster or retrain with "
                                  f"python -m claimcluster.training {command}")
    return data, digest


def apply_delta(model, directory: Path, base_sha256: str) -> dict[str, Any]:
    """Merge the delta in ``directory`` into ``model`` (a SentenceTransformer of the base), in place.

    ``base_sha256`` is the verified hash of the base weights the model was loaded from; the
    card must name the same. Returns the card."""
    card = read_card(directory)
    if card["base_sha256"] != base_sha256:
        raise ModelIntegrityError(f"encoder delta {directory / DELTA_FILE} applies to base weights "
                                  f"{card['base_sha256'][:16]}…, not {base_sha256[:16]}…")
    tensors, _ = _delta_tensors(directory, card)
    layers = {layer_name(name): module for name, module in model.named_modules() if TARGETS.search(name)}
    wanted = {f"{name}.lora_{part}" for name in layers for part in "AB"}
    if set(tensors) != wanted:
        raise ModelIntegrityError(f"encoder delta {directory / DELTA_FILE} does not fit this model's layers "
                                  f"({len(tensors)} tensors for {len(wanted)})")
    import torch

    scale = float(card["alpha"]) / int(card["rank"])
    with torch.no_grad():
        for name, layer in layers.items():
            a, b = tensors[f"{name}.lora_A"].float(), tensors[f"{name}.lora_B"].float()
            layer.weight += scale * (b @ a).to(device=layer.weight.device, dtype=layer.weight.dtype)
    return card
