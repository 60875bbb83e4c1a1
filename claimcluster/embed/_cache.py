"""A persistent embedding cache: one SQLite file, keyed by (model_id, exact text)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from claimcluster.errors import CacheCorruptedWarning, StorageError

__all__ = ["EmbeddingCache"]

SQLITE_HEADER = b"SQLite format 3\x00"


class EmbeddingCache:
    """A persistent cache of embeddings keyed by (model_id, exact text), in one SQLite file.

    Safe for several processes at once (SQLite WAL and a busy timeout). A damaged cache is
    reported with :class:`CacheCorruptedWarning`, moved aside and rebuilt; a row whose
    checksum does not match is dropped and embedded again, never trusted. A file that is not an
    embedding cache (not SQLite, or a database with other tables) is refused with a StorageError
    and left as it is: a mistyped path is not "repaired".

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
            self._check_kind()
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                self._move_aside(exc)
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
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

    def _check_kind(self) -> None:
        """StorageError, touching nothing, when the path holds something other than an embedding cache (a damaged
        cache still begins with SQLite's header and is rebuilt)."""
        if self.path.is_dir():
            raise StorageError(f"embedding cache {self.path} is a directory: give a file name")
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"cannot read embedding cache {self.path}: {exc.strerror or exc}") from None
        if head and head != SQLITE_HEADER:
            raise StorageError(f"{self.path} is not an embedding cache (not an SQLite database); it was left as it "
                               "is: give the cache a new file name")
        if head:
            try:
                with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                                        timeout=self.timeout)) as conn:
                    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError:
                return  # damaged: moved aside and rebuilt when opened
            if tables - {"embeddings"}:
                raise StorageError(f"{self.path} is an SQLite database with other tables ({', '.join(sorted(tables))}),"
                                   " not an embedding cache; it was left as it is: give the cache a new file name")

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
                conn.executemany("DELETE FROM embeddings WHERE model_id = ? AND text = ?",
                                 [(model_id, t) for t in damaged])
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
