"""A :class:`~claimcluster.store.ClaimStore` directory: records in SQLite, vectors in append-only segments.

``store.sqlite`` (WAL, synchronous=FULL, foreign keys on, STRICT tables) holds the documents,
sentences, claims, their members with the similarity and stance toward the claim's
representative (computed once, when the member joins), each claim's core rows with their core
distances, merge suggestions, the store's settings and generation, and the list of vector
segments. Each update writes one ``segment.N.npy`` of its new sentence vectors (fsynced before
anything names it) and then inserts its records, the segment's row and the next generation in
one transaction: the commit is the switch, so a process killed at any moment leaves the old
state or the new one. A segment no committed row names is what a killed write left; the next
writer removes it. Vectors are stored once (the FAISS index is built in memory from them).

Checks: opening verifies the kind, format and model of the store and that the segments cover the
sentence rows; every write first runs SQLite's ``quick_check``; loading the vectors verifies each
segment's SHA-256; :meth:`Records.verify` checks everything (``integrity_check``, foreign keys, every
claim's representative and core rows among its members, unit vectors); a damaged page that a
query meets is an error. Every failure is a :class:`~claimcluster.errors.StorageError`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import atomic_write_bytes, fsync_path, journal_add, journal_clean
from claimcluster._persist import read_checked, utc_now, versions
from claimcluster.errors import StorageError
from claimcluster.store._connect import connect, connect_read_only
from claimcluster.store._files import not_a_store, remove_migrated
from claimcluster.store._rows import (
    Change,
    ClaimRow,
    CoreRow,
    DocumentRow,
    LeftOutRow,
    MemberRow,
    MergeRow,
    SentenceRow,
    insert_sql,
)

KIND = "claim-store"
FORMAT_VERSION = 3  # 3: SQLite records and vector segments (2: JSONL tables and one vector file per generation)
DB_FILE = "store.sqlite"
_NEW_DB = ".store.sqlite.new"  # a database being created or migrated, renamed to DB_FILE when complete
_NEW_DB_FILES = (_NEW_DB, f"{_NEW_DB}-journal", f"{_NEW_DB}-wal", f"{_NEW_DB}-shm")
IN_CHUNK = 900
"""Values bound in one statement by :meth:`Records.query_in` (SQLite allows 32,766 since 3.32; kept well under)."""
# Small pages: an update inserts members and core rows of known claims all over their tables, and each
# page it touches is written twice (the write-ahead log, then the checkpoint).
PAGE_SIZE = 1024
LEFT_OUT_SCHEMA = """CREATE TABLE IF NOT EXISTS left_out (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL,
    "where" TEXT NOT NULL, reason TEXT NOT NULL, text TEXT NOT NULL) STRICT;
"""
"""What each update left out, and why (a store written before it existed gets it, and the meta key
``left_out_from`` the batch it starts with, at its next update)."""
SEGMENT_NAME = "segment.{}.npy"
SEGMENT_FILE = re.compile(r"^segment\.(\d+)\.npy$")
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE segments (id INTEGER PRIMARY KEY, file TEXT NOT NULL UNIQUE, first_row INTEGER NOT NULL,
    rows INTEGER NOT NULL CHECK (rows > 0), sha256 TEXT NOT NULL, bytes INTEGER NOT NULL) STRICT;
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, outlet TEXT, published TEXT, title TEXT, url TEXT,
    batch INTEGER NOT NULL CHECK (batch >= 0)) STRICT;
CREATE TABLE sentences (row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents (doc_id),
    position INTEGER NOT NULL, text TEXT NOT NULL, norm TEXT, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    batch INTEGER NOT NULL, language TEXT) STRICT;
CREATE TABLE claims (id INTEGER PRIMARY KEY CHECK (id >= 0),
    representative INTEGER NOT NULL REFERENCES sentences (row), radius REAL NOT NULL, batch INTEGER NOT NULL,
    cohesion REAL NOT NULL, size INTEGER NOT NULL, n_documents INTEGER NOT NULL, n_outlets INTEGER NOT NULL) STRICT;
CREATE TABLE members (row INTEGER PRIMARY KEY REFERENCES sentences (row),
    claim INTEGER NOT NULL REFERENCES claims (id), similarity REAL NOT NULL,
    stance TEXT CHECK (stance IN ('repeats', 'denies', 'reports')), stance_score REAL) STRICT;
CREATE INDEX members_by_claim ON members (claim);
CREATE TABLE core_rows (claim INTEGER NOT NULL REFERENCES claims (id), row INTEGER NOT NULL REFERENCES members (row),
    core REAL, PRIMARY KEY (claim, row)) STRICT, WITHOUT ROWID;
CREATE TABLE merges (id INTEGER PRIMARY KEY, claims TEXT NOT NULL, sentence INTEGER NOT NULL
    REFERENCES sentences (row)) STRICT;
""" + LEFT_OUT_SCHEMA


def _stamp() -> dict[str, Any]:
    """What each write records of itself, as the index manifest does: when (UTC) and with which versions."""
    return {"written_at": utc_now(), "versions": {**versions(), "sqlite": sqlite3.sqlite_version}}


def _storage_error(directory: Path, exc: BaseException) -> StorageError:
    if isinstance(exc, OSError):
        return StorageError(f"cannot write {directory}: {exc.strerror or exc}"
                            + (f" ({exc.filename})" if exc.filename else ""))
    return StorageError(f"{directory / DB_FILE}: {exc}")


class Records:
    """The open database of a store directory (one connection, used under a lock)."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, read_only: bool = False):
        self.directory = directory
        self.conn = conn
        self.read_only = read_only
        """Opened from a directory this process cannot write (a read-only mount, another user's store)."""
        self.lock = threading.RLock()

    # -- creating and opening ------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path, meta: dict[str, Any], change: Change, timeout: float) -> Records:
        """Write a new store (the caller holds the directory's write lock): the first segment,
        then the complete database under a temporary name, renamed into place."""
        new = directory / _NEW_DB
        try:
            journal_add(directory, [*_NEW_DB_FILES, SEGMENT_NAME.format(1)])  # before any of them exists
            for stale in _NEW_DB_FILES:
                (directory / stale).unlink(missing_ok=True)
            segment = _write_segment(directory, 1, change.vectors) if len(change.vectors) else None
            conn = connect(new, timeout)
            try:  # a database nobody reads until it is renamed: a failure half way is simply removed
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                conn.executescript(SCHEMA)
                with _transaction(conn):
                    meta = {**meta, "generation": 1, "left_out_from": change.batch, **_stamp()}
                    conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
                    if segment is not None:
                        _insert_segment(conn, 1, 0, segment)
                    _insert(conn, change)
                conn.execute("PRAGMA journal_mode = WAL")
            finally:
                conn.close()
            fsync_path(new)
            os.replace(new, directory / DB_FILE)
            fsync_path(directory)
        except (OSError, sqlite3.Error) as exc:
            new.unlink(missing_ok=True)
            raise _storage_error(directory, exc) from exc
        return cls.open(directory, timeout)

    @classmethod
    def open(cls, directory: Path, timeout: float) -> Records:
        path = directory / DB_FILE
        if path.is_symlink():
            raise StorageError(f"{path} is a symbolic link: refusing to read outside the directory")
        if not path.is_file():
            raise not_a_store(directory, DB_FILE)
        read_only = not (os.access(directory, os.W_OK) and os.access(path, os.W_OK))
        try:
            if read_only:
                conn = connect_read_only(path, timeout)
            else:
                conn = connect(path, timeout)
                conn.execute("PRAGMA journal_mode = WAL")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: text of a damaged page that is not UTF-8
            if not os.access(path, os.R_OK):
                raise StorageError(f"{path} cannot be read: {os.strerror(errno.EACCES)}") from None
            raise StorageError(f"{path} is not a readable store database ({exc}); restore it from a "
                               "backup") from None
        records = cls(directory, conn, read_only)
        try:
            records.check_meta()
        except BaseException:
            conn.close()
            raise
        return records

    def quick_check(self, pragma: str = "quick_check") -> None:
        """SQLite's structural check of the database (pages, b-trees, free list; ``integrity_check`` also
        reads every record); StorageError on damage. The quick one runs before every write, the full one
        in :meth:`verify`: a damaged page that a read meets is an error too."""
        problems = [r[0] for r in self.query(f"PRAGMA {pragma}")]
        if problems != ["ok"]:
            raise StorageError(f"{self.directory / DB_FILE} is damaged ({'; '.join(problems[:3])}); restore it "
                               "from a backup")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- reading -------------------------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Queries inside see one generation: a read transaction (WAL keeps it while a writer commits)."""
        with self.lock:
            if self.conn.in_transaction:  # already inside one (a write, or an outer snapshot)
                yield
                return
            try:
                self.conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise StorageError(f"{self.directory / DB_FILE} cannot be read ({exc})") from None
            try:
                yield
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self.lock:
            try:
                return self.conn.execute(sql, args).fetchall()
            except (sqlite3.Error, ValueError) as exc:  # ValueError: text of a damaged page that is not UTF-8
                raise StorageError(f"{self.directory / DB_FILE} cannot be read ({exc}): the store is damaged") \
                    from None

    def query_in(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        """``sql`` with ``{in}`` standing for a list of ``values``, run in chunks of at most
        :data:`IN_CHUNK` bound values (SQLite's limit on one statement); the rows of all chunks."""
        out: list[tuple] = []
        values = list(values)
        with self.snapshot():
            for i in range(0, len(values), IN_CHUNK):
                chunk = values[i:i + IN_CHUNK]
                out += self.query(sql.replace("{in}", ",".join("?" * len(chunk))), chunk)
        return out

    def meta(self) -> dict[str, Any]:
        try:
            return {key: json.loads(value) for key, value in self.query("SELECT key, value FROM meta")}
        except ValueError:
            raise StorageError(f"{self.directory / DB_FILE}: its settings are not JSON: the store is damaged") \
                from None

    def check_meta(self) -> dict[str, Any]:
        meta = self.meta()
        where = self.directory / DB_FILE
        if meta.get("kind") != KIND:
            raise StorageError(f"{where} holds a {meta.get('kind')!r}, not a {KIND!r}")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StorageError(f"{where} has format {version}; this claimcluster reads up to {FORMAT_VERSION}: "
                               "upgrade claimcluster")
        for key, kind in (("model_id", str), ("dimension", int), ("settings", dict), ("generation", int)):
            if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
                raise StorageError(f"{where}: {key!r} is missing or not a {kind.__name__}: the store is damaged")
        rows = self.query("SELECT COALESCE(SUM(rows), 0), COUNT(*) FROM segments")[0]
        (sentences,) = self.query("SELECT COALESCE(MAX(row) + 1, 0) FROM sentences")[0]
        if rows[0] != sentences:
            raise StorageError(f"{where}: its vector segments hold {rows[0]} rows for {sentences} sentences: the "
                               "store is damaged")
        return meta

    def generation(self) -> int:
        (value,) = self.query("SELECT value FROM meta WHERE key = 'generation'")[0]
        return int(value)

    def segments(self) -> list[tuple[int, str, int, int, str]]:
        """(id, file, first_row, rows, sha256), in row order."""
        return self.query("SELECT id, file, first_row, rows, sha256 FROM segments ORDER BY first_row")

    def vectors(self, dimension: int) -> np.ndarray:
        """Every sentence vector, each segment checked against its SHA-256."""
        parts, expected = [], 0
        for _, name, first_row, rows, sha256 in self.segments():
            if not SEGMENT_FILE.match(name) or first_row != expected:
                raise StorageError(f"{self.directory / DB_FILE}: segment {name!r} is not a segment of this store "
                                   "(or leaves a gap): the store is damaged")
            array = _read_segment(self.directory / name, sha256)
            if array.shape != (rows, dimension):
                raise StorageError(f"{self.directory / name} holds vectors of shape {array.shape}, not "
                                   f"({rows}, {dimension}): the store is damaged")
            parts.append(array)
            expected += rows
        if not parts:
            return np.zeros((0, dimension), dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- writing (the caller holds the directory's write lock) ------------------------------
    def commit(self, change: Change, generation: int) -> None:
        """Write ``change`` as generation ``generation + 1``: a new segment, then one transaction.

        Raises StorageError when nothing was committed (the segment is removed again); a failure
        after the commit (e.g. while checkpointing) is left to the caller to tell by the generation."""
        with self.lock:
            segment_id = self._free_segment_id(int(self.query("SELECT COALESCE(MAX(id), 0) + 1 FROM segments")[0][0]))
            (first_row,) = self.query("SELECT COALESCE(MAX(row) + 1, 0) FROM sentences")[0]
            try:
                journal_add(self.directory, [SEGMENT_NAME.format(segment_id)])
                written = _write_segment(self.directory, segment_id, change.vectors) if len(change.vectors) else None
                with _transaction(self.conn, immediate=True):
                    self._advance(generation)
                    if written is not None:
                        _insert_segment(self.conn, segment_id, first_row, written)
                    _insert(self.conn, change)
            except BaseException as exc:
                if self._committed(generation):
                    raise
                with contextlib.suppress(OSError, sqlite3.Error):  # the new segment goes; the journal is settled
                    self._settle_journal()
                if isinstance(exc, (OSError, sqlite3.Error)):
                    raise _storage_error(self.directory, exc) from exc
                raise
            with contextlib.suppress(OSError, sqlite3.Error):
                self._settle_journal()
            self.checkpoint()

    def _free_segment_id(self, segment_id: int) -> int:
        """The first id from ``segment_id`` on whose file name nobody else's file holds (never written over)."""
        while (self.directory / SEGMENT_NAME.format(segment_id)).exists():
            segment_id += 1
        return segment_id

    def _advance(self, generation: int) -> None:
        """Inside a write transaction: move the store from ``generation`` to the next one."""
        if self.generation() != generation:
            raise StorageError(f"{self.directory} was written by another process meanwhile")
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation + 1),))
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              [(k, json.dumps(v)) for k, v in _stamp().items()])

    def _committed(self, generation: int) -> bool:
        try:
            return self.generation() == generation + 1
        except StorageError:
            return False

    def compact(self, dimension: int, generation: int) -> bool:
        """Merge every segment into one (a new file, then one transaction); False when there is one or none."""
        with self.lock:
            segments = self.segments()
            if len(segments) < 2:
                return False
            vectors = self.vectors(dimension)
            segment_id = self._free_segment_id(max(s[0] for s in segments) + 1)
            try:
                journal_add(self.directory, [SEGMENT_NAME.format(segment_id)])
                written = _write_segment(self.directory, segment_id, vectors)
                with _transaction(self.conn, immediate=True):
                    self._advance(generation)
                    self.conn.execute("DELETE FROM segments")
                    _insert_segment(self.conn, segment_id, 0, written)
            except (OSError, sqlite3.Error) as exc:
                with contextlib.suppress(OSError, sqlite3.Error):
                    self._settle_journal()
                raise _storage_error(self.directory, exc) from exc
            # The merged segments stay until the next write: a reader of the previous generation may need them.
            retired = [s[1] for s in segments]
            with contextlib.suppress(OSError):
                journal_add(self.directory, retired)
            self.remove_leftovers(waiting=retired)
            self.checkpoint()
            return True

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file (a failure loses nothing: SQLite retries)."""
        with self.lock, contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def remove_leftovers(self, waiting: Sequence[str] = ()) -> None:
        """Remove what earlier writes left and this store can prove it wrote (:meth:`_settle_journal`), and the
        files a format-2 store's manifest names once it was migrated. Nothing else in the directory is touched."""
        self._settle_journal(waiting)
        remove_migrated(self.directory, DB_FILE, KIND)

    def _settle_journal(self, waiting: Sequence[str] = ()) -> None:
        """Remove the files the journal names that no row uses (segments of a killed write or retired by a
        compaction, a half-made database) except ``waiting`` (kept for readers until the next write)."""
        journal_clean(self.directory, {s[1] for s in self.segments()}, waiting)

    # -- full check ------------------------------------------------------------------------
    def verify(self, dimension: int) -> dict[str, int]:
        """Everything: SQLite's integrity check and foreign keys, each segment's checksum, unit vectors,
        every claim's representative and core rows among its members. Counts of what was checked."""
        where = self.directory / DB_FILE
        self.quick_check("integrity_check")
        if self.query("PRAGMA foreign_key_check"):
            raise StorageError(f"{where}: records point at records the store does not have: the store is damaged")
        vectors = self.vectors(dimension)
        if len(vectors) and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
            raise StorageError(f"{self.directory}: the sentence vectors are not unit rows: the store is damaged")
        if self.query("SELECT c.id FROM claims c LEFT JOIN members m ON m.row = c.representative "
                      "WHERE m.claim IS NOT c.id LIMIT 1"):
            raise StorageError(f"{where}: a claim's representative is not one of its members: the store is damaged")
        if self.query("SELECT r.claim FROM core_rows r JOIN members m ON m.row = r.row WHERE m.claim != r.claim "
                      "LIMIT 1"):
            raise StorageError(f"{where}: a claim's core row is not one of its members: the store is damaged")
        (claims,) = self.query("SELECT COUNT(*) FROM claims")[0]
        return {"sentences": len(vectors), "claims": int(claims), "segments": len(self.segments())}


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, immediate: bool = False) -> Iterator[None]:
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _insert(conn: sqlite3.Connection, change: Change) -> None:
    conn.executemany(insert_sql("documents", DocumentRow._fields), change.documents)
    conn.executemany(insert_sql("sentences", SentenceRow._fields), change.sentences)
    conn.executemany(insert_sql("claims", ClaimRow._fields), change.claims)
    conn.executemany("UPDATE claims SET cohesion = ?, size = ?, n_documents = ?, n_outlets = ? WHERE id = ?",
                     change.stats)
    conn.executemany(insert_sql("members", MemberRow._fields), change.members)
    conn.executemany(insert_sql("core_rows", CoreRow._fields), change.core_rows)
    conn.executemany(insert_sql("merges", MergeRow._fields), change.merges)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'left_out'").fetchall():
        conn.execute(LEFT_OUT_SCHEMA)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('left_out_from', ?)", (json.dumps(change.batch),))
    conn.executemany(insert_sql("left_out", LeftOutRow._fields), change.left_out)


def _write_segment(directory: Path, segment_id: int, vectors: np.ndarray) -> dict[str, Any]:
    """Write ``segment.ID.npy`` (fsynced); what its row in ``segments`` records."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    data = buffer.getvalue()
    name = SEGMENT_NAME.format(segment_id)
    atomic_write_bytes(directory / name, data)
    return {"file": name, "rows": len(vectors), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _insert_segment(conn: sqlite3.Connection, segment_id: int, first_row: int, segment: dict[str, Any]) -> None:
    conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)",
                 (segment_id, segment["file"], first_row, segment["rows"], segment["sha256"], segment["bytes"]))


def _read_segment(path: Path, sha256: str) -> np.ndarray:
    data = read_checked(path, sha256, DB_FILE)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, TypeError, MemoryError, OSError) as exc:
        raise StorageError(f"{path} is not a plain .npy array: {exc}") from None
    if array.dtype != np.float32 or array.ndim != 2 or not np.isfinite(array).all():
        raise StorageError(f"{path} is not a finite 2-D float32 array: the store is damaged")
    return array


def exists(directory: Path) -> bool:
    """Whether ``directory`` holds a store of any format."""
    return (directory / DB_FILE).exists() or (directory / "manifest.json").exists()
