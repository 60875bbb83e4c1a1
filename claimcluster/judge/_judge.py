"""The judge's public face: :class:`SameAssertionJudge` reads pairs on ONNX Runtime or torch and gives a
:class:`Judgement` with the rules applied; :func:`judge_for` picks the judge for an embedding model."""


import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.assertion import assertion_rules
from claimcluster.errors import InputError, ModelError, ModelIntegrityError
from claimcluster.judge import _onnx
from claimcluster.judge._weights import (
    CONTRADICT,
    SAME,
    SHIPPED_JUDGE_DIR,
    load_judge,
    score_pairs,
    verified_judge_card,
)
from claimcluster.models import MULTILINGUAL_MODEL_ID as MODEL_ID

log = logging.getLogger("claimcluster.judge")


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
    backend : {"auto", "onnx-int8", "onnx", "torch"}, default="auto"
        "onnx-int8" and "onnx" run an export on ONNX Runtime (made once from the torch judge, checked
        against its probabilities on probe pairs, cached: :mod:`claimcluster.judge._onnx`): int8
        weights, 2.2 times faster and as good on the dev pairs, or fp32, torch's own probabilities.
        "auto" uses "onnx-int8" and falls back to torch, with a warning, where it cannot be made.

    A pair of one sentence with itself (the same text, but for case and spacing) is the same assertion
    without a reading, and a pair asked twice in one call is read once.
    """

    def __init__(self, directory: str | Path | None = None, *, batch_size: int = 64,
                 same_threshold: float | None = None, contradict_threshold: float | None = None,
                 backend: Literal["auto", "onnx-int8", "onnx", "torch"] = "auto"):
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
        return self._onnx.card["recipe"] if self._onnx is not None else "torch"

    def _directory(self) -> Path:
        return Path(self.directory) if self.directory is not None else SHIPPED_JUDGE_DIR

    def _runner(self):
        """The ONNX judge, or the torch parts (tokenizer, encoder, head, card)."""
        if self.backend not in ("auto", *_onnx.RECIPES, "torch"):
            raise InputError(f"backend must be 'auto', 'onnx-int8', 'onnx' or 'torch', got {self.backend!r}")
        card = self.card
        with self._lock:
            if self._onnx is not None:
                return self._onnx
            recipe = "onnx-int8" if self.backend == "auto" else self.backend
            if recipe != "torch" and self._torch is None:
                try:
                    self._onnx = _onnx.OnnxJudge(_onnx.export_dir(card, recipe), card["judge_sha256"])
                    return self._onnx
                except ModelIntegrityError:
                    pass  # not exported yet, damaged, or by another toolchain: made from the torch judge below
                except ImportError as exc:
                    if self.backend != "auto":
                        raise ModelError(f"the onnx judge needs onnxruntime: {exc}") from exc
            if self._torch is None:
                self._torch = load_judge(self._directory())
            if recipe == "torch":
                return self._torch
            try:
                self._onnx = _onnx.load_or_export(self._torch, card, recipe)
                return self._onnx
            except (ModelError, OSError, ImportError) as exc:
                if self.backend != "auto":
                    raise ModelError(f"cannot make the {recipe} judge: {exc}") from exc
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
        slots: dict[tuple[str, str], int] = {}
        where = np.array([slots.setdefault(pair, len(slots)) for pair in zip(a, b)])
        first, second = [x for x, _ in slots], [y for _, y in slots]
        runner = self._runner()
        if isinstance(runner, tuple):
            tokenizer, encoder, head, card = runner
            read = score_pairs(tokenizer, encoder, head, first, second, int(card["max_seq_length"]), self.batch_size)
        else:
            read = runner.predict(first, second)
        return read[where]

    def judge(self, a: Sequence[str], b: Sequence[str], *, rules: bool = True) -> Judgement:
        """:meth:`predict` with the decision thresholds; with ``rules`` (the default) a pair that states other
        figures or swaps who did what to whom is a contradiction, not the same assertion."""
        a, b = list(a), list(b)
        if len(a) != len(b):
            raise InputError(f"the judge reads pairs: got {len(a)} first and {len(b)} second sentences")
        itself = np.array([_plain(x) == _plain(y) for x, y in zip(a, b)], dtype=bool)
        probabilities = np.zeros((len(a), 3), dtype=np.float32)
        probabilities[itself, SAME] = 1.0
        rest = np.flatnonzero(~itself)
        probabilities[rest] = self.predict([a[i] for i in rest], [b[i] for i in rest])
        card = self.card
        conflicts = None
        if rules:

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


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())


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

    return None if model_id == MODEL_ID else shipped_judge()


