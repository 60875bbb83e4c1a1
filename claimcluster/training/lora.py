"""Training-time LoRA: wrap the linear layers of the base model, train, save the pairs as a delta
(:mod:`claimcluster.embed._delta` merges a saved delta at load time)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch

from claimcluster.embed._delta import CARD_FILE, DELTA_FILE, TARGETS, layer_name

__all__ = ["LoRALinear", "attach_lora", "save_delta"]


class LoRALinear(torch.nn.Module):
    """Training-time wrapper of a frozen linear layer: ``base(x) + (alpha / rank) * x A^T B^T``.

    ``A`` starts as PyTorch's default Linear initialisation and ``B`` at zero, so training
    starts from the base model exactly."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float, generator: torch.Generator) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        bound = 1.0 / math.sqrt(base.in_features)
        self.lora_A = torch.nn.Parameter((torch.rand(rank, base.in_features, generator=generator) * 2 - 1) * bound)
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scale


def attach_lora(model, rank: int, alpha: float, seed: int) -> dict[str, Any]:
    """Freeze ``model`` and wrap each target linear layer with a trainable LoRA pair; returns
    them by layer name (:func:`layer_name`)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    wrapped = {}
    for name, module in list(model.named_modules()):
        if TARGETS.search(name):
            parent_name, _, child = name.rpartition(".")
            lora = LoRALinear(module, rank, alpha, generator)
            setattr(model.get_submodule(parent_name), child, lora)
            wrapped[layer_name(name)] = lora
    return wrapped


def save_delta(wrapped: dict[str, Any], directory: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write the LoRA pairs (fp16) and the card, with the delta's sha256 filled in; returns the card."""
    from safetensors.torch import save

    from claimcluster._files import atomic_write_bytes, atomic_write_text

    tensors = {}
    for name, layer in wrapped.items():
        tensors[f"{name}.lora_A"] = layer.lora_A.detach().to(torch.float16).contiguous()
        tensors[f"{name}.lora_B"] = layer.lora_B.detach().to(torch.float16).contiguous()
    data = save(dict(sorted(tensors.items())), metadata={"format": "pt"})
    card = {**card, "delta_sha256": hashlib.sha256(data).hexdigest(), "delta_bytes": len(data)}
    atomic_write_bytes(directory / DELTA_FILE, data)
    atomic_write_text(directory / CARD_FILE, json.dumps(card, indent=2) + "\n")
    return card
