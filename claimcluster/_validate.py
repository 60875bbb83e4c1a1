"""Checks at the public boundary: what callers pass in, refused with a message that names the
value, where it is, and the fix (every error an :class:`~claimcluster.errors.InputError`)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from claimcluster.errors import InputError


def validate_texts(texts: str | Iterable[str], *, what: str = "text") -> list[str]:
    """Return ``texts`` as a list of strings, or raise :class:`InputError` naming the bad position.

    A single string is one text. None, NaN, non-strings and blank strings are refused.
    """
    if isinstance(texts, str):
        texts = [texts]
    elif texts is None:
        raise InputError("expected a string or a sequence of strings, got None")
    elif isinstance(texts, (bytes, bytearray)):
        raise InputError("expected str, got bytes: decode the text first (e.g. data.decode('utf-8'))")
    try:
        items = list(texts)
    except TypeError:
        raise InputError(f"expected a string or a sequence of strings, got {type(texts).__name__}") from None
    for position, text in enumerate(items):
        if isinstance(text, str):
            if not text.strip():
                raise InputError(f"{what} at position {position} is empty or whitespace only")
            continue
        if text is None or (isinstance(text, float) and math.isnan(text)):
            raise InputError(f"{what} at position {position} is missing ({text!r}); drop or fill it first")
        raise InputError(f"{what} at position {position} is {type(text).__name__}, not str: {text!r:.60}")
    return items


def check_unit_vectors(X, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous float32 2-D array of unit rows, or raise InputError."""
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_sentences, dim), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise InputError(f"{name} has no columns (shape {arr.shape})")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise InputError(f"{name} row {bad} contains NaN or infinity")
    norms = np.linalg.norm(arr, axis=1)
    off = np.flatnonzero(np.abs(norms - 1.0) > 1e-3)
    if off.size:
        raise InputError(
            f"{name} row {int(off[0])} has norm {norms[off[0]]:.4f}; rows must be unit vectors "
            "(use Embedder.encode, or divide each row by its norm)"
        )
    return np.ascontiguousarray(arr)
