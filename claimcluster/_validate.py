"""Checks at the public boundary: what callers pass in, refused with a message that names the
value, where it is, and the fix (every error an :class:`~claimcluster.errors.InputError`)."""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.errors import InputError

_SURROGATE = re.compile("[\ud800-\udfff]")


def missing(value: Any) -> bool:
    """None, NaN (any float type), pandas' NA and NaT: a value that is not there."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        return False
    try:
        differs = value != value  # NaN and NaT differ from themselves
    except Exception:
        return False
    if isinstance(differs, (bool, np.bool_)):
        return bool(differs)
    return type(value).__name__ == "NAType"  # pd.NA: its comparison is NA again; an array compares per element


def scrub_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (which no UTF-8 file can hold) replaced by U+FFFD.

    The length is kept, so offsets into the text stay valid."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def visible(text: str) -> bool:
    """True if ``text`` has a character that is neither white space nor invisible (format, control)."""
    return any(not ch.isspace() and unicodedata.category(ch)[0] != "C" for ch in text)


def validate_texts(texts: str | Iterable[str], *, what: str = "text") -> list[str]:
    """Return ``texts`` as a list of strings, or raise :class:`InputError` naming the bad position.

    A single string is one text. None, NaN, non-strings and strings with nothing visible
    (blank, zero-width or control characters only) are refused; lone surrogates become U+FFFD.
    """
    if isinstance(texts, str):
        texts = [texts]
    elif texts is None:
        raise InputError("expected a string or a sequence of strings, got None")
    elif isinstance(texts, (bytes, bytearray)):
        raise InputError("expected str, got bytes: decode the text first (e.g. data.decode('utf-8'))")
    elif isinstance(texts, Mapping):
        raise InputError(f"expected a string or a sequence of strings, got {type(texts).__name__} "
                         "(pass its values or keys explicitly)")
    try:
        items = list(texts)
    except TypeError:
        raise InputError(f"expected a string or a sequence of strings, got {type(texts).__name__}") from None
    for position, text in enumerate(items):
        if isinstance(text, str):
            if not visible(text):
                raise InputError(f"{what} at position {position} is empty or has only white space or invisible "
                                 "characters")
            items[position] = scrub_surrogates(text)
            continue
        if missing(text):
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


def check_path(path: Any, *, what: str = "path") -> Path:
    """``path`` (str or os.PathLike) as a Path, or InputError."""
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)) or not str(os.fspath(path)).strip():
        raise InputError(f"{what} must be a non-empty str or os.PathLike, got {path!r}")
    return Path(path)


def check_k(k: Any, *, name: str = "k", minimum: int = 1) -> int:
    """``k`` as an int of at least ``minimum`` (numpy integers too); bools, floats and strings are refused."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InputError(f"{name} must be an integer of at least {minimum}, got {k!r} ({type(k).__name__})")
    if k < minimum:
        raise InputError(f"{name} ({k}) must be at least {minimum}")
    return int(k)


def check_cohesion(value: Any, *, name: str = "min_cohesion") -> float:
    """A finite number from -1 to 1 (numpy floats too), as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not -1 <= float(value) <= 1:
        raise InputError(f"{name} must be a number from -1 to 1, got {value!r:.40}")
    return float(value)


def check_seconds(value: Any, *, name: str) -> float:
    """A finite number of seconds, at least 0 (numpy numbers too), as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < math.inf:
        raise InputError(f"{name} must be a finite number of seconds (>= 0), got {value!r}")
    return float(value)


def check_min_score(min_score: Any) -> float | Literal["auto"] | None:
    """None, "auto", or a finite real number (numpy floats too); bools and NaN are refused."""
    if min_score is None:
        return None
    if isinstance(min_score, str) and min_score == "auto":
        return "auto"
    if isinstance(min_score, bool) or not isinstance(min_score, numbers.Real):
        raise InputError(f"min_score must be a number, 'auto' or None, got {min_score!r}")
    try:
        value = float(min_score)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise InputError(f"min_score must be finite, got {min_score!r:.40}")
    return value


def check_ids(ids: Any, *, what: str = "ids") -> list[str]:
    """Ids as a list of strings; one string is one id (never its characters). None and NaN are refused."""
    if isinstance(ids, (str, numbers.Integral)) and not isinstance(ids, bool):
        ids = [ids]
    if ids is None or isinstance(ids, (bytes, bytearray, Mapping)) or not isinstance(ids, Iterable):
        raise InputError(f"{what} must be a sequence of strings, got {type(ids).__name__}")
    out = []
    for position, value in enumerate(ids):
        if missing(value) or isinstance(value, (bool, bytes, bytearray)):
            raise InputError(f"{what} at position {position} is {value!r}; every id must be a string")
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and float(value).is_integer():
            value = int(float(value))
        text = str(value)
        if not visible(text):
            raise InputError(f"{what} at position {position} is blank")
        out.append(scrub_surrogates(text))
    return out


def _check_keys(value: Any, where: str) -> None:
    """TypeError naming the first mapping key, at any depth, that is not a string (JSON would turn 1 into "1",
    and {1: "a", "1": "b"} into one key)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"key {key!r} ({type(key).__name__}){' in ' + where if where else ''}: keys must be "
                                "strings")
            _check_keys(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_keys(item, f"{where}[{i}]")


def check_metadata(metadata: Sequence[Any] | None, n: int) -> list[dict]:
    """``n`` JSON-serialisable mappings (empty ones when None), or InputError naming the first bad one."""
    if metadata is None:
        return [{} for _ in range(n)]
    if isinstance(metadata, (str, bytes, Mapping)) or not isinstance(metadata, Sequence):
        raise InputError(f"metadata must be a sequence of mappings (one per text), got {type(metadata).__name__}")
    if len(metadata) != n:
        raise InputError(f"metadata has {len(metadata)} entries for {n} texts")
    out: list[dict] = []
    for position, entry in enumerate(metadata):
        if entry is None:
            out.append({})
            continue
        if not isinstance(entry, Mapping):
            raise InputError(f"metadata at position {position} is {type(entry).__name__}, not a mapping")
        try:
            json.dumps(entry, allow_nan=False, ensure_ascii=False).encode("utf-8")
            _check_keys(entry, "")
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
            raise InputError(f"metadata at position {position} cannot be saved as JSON ({exc}); "
                             "convert it to strings, numbers, lists and dicts") from None
        out.append(dict(entry))
    return out
