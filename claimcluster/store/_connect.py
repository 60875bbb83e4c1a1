"""How a store's database is opened: for writing (the caller sets the write-ahead log), read-only, or, on a
file system this process cannot write, as an immutable file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from claimcluster.errors import StorageError


def connect(path: Path, timeout: float, mode: str = "") -> sqlite3.Connection:
    """A connection to ``path``; ``mode`` "ro" reads only, "immutable" also takes no locks (a store on a
    read-only file system, whose write-ahead log index cannot be created there)."""
    where = {"": str(path), "ro": f"{path.absolute().as_uri()}?mode=ro",
             "immutable": f"{path.absolute().as_uri()}?mode=ro&immutable=1"}[mode]
    conn = sqlite3.connect(where, timeout=timeout, isolation_level=None, check_same_thread=False, uri=bool(mode))
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """Read a store this process may not write: through SQLite's shared-memory index of the log where it
    can use one, else as an immutable file (on a read-only file system nothing can change it meanwhile)."""
    try:
        conn = connect(path, timeout, "ro")
        try:
            conn.execute("SELECT COUNT(*) FROM meta").fetchall()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            raise
    except sqlite3.OperationalError:
        log = path.with_name(path.name + "-wal")
        if log.exists() and log.stat().st_size:  # immutable would read past its last commits
            raise StorageError(f"{path} cannot be read here: its last writes are still in {log.name}, which "
                               "only a process that may write the directory can merge; open it once there") from None
        return connect(path, timeout, "immutable")
