"""Atomic file writes (a temporary file in the same directory, fsynced, then renamed into place), and the
journal that lets a directory's writer remove only files it can prove it wrote.

A writer names every file it is about to make in the directory's journal (:data:`JOURNAL`) before making
it; whatever a killed write left is then found by name in the journal, never by what a name looks like.
A user's ``segment.9.npy`` or ``documents.1.jsonl`` in the same directory is never touched."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path

__all__ = ["JOURNAL", "atomic_write_bytes", "atomic_write_text", "file_sha256", "fsync_path", "journal_add",
           "journal_clean", "temporaries_of"]

JOURNAL = ".claimcluster-journal.json"
"""The files a writer of this directory is making or has retired, by name; the writer holds the directory's lock."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a written file should respect the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(target.parent)


def fsync_path(path: str | os.PathLike) -> None:
    """fsync a file or a directory (a directory, so that a rename or a new name in it is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temporaries_of(directory: Path, name: str) -> list[Path]:
    """The temporary files :func:`atomic_write_bytes` may have left for ``directory / name``."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]+\.tmp$")
    with contextlib.suppress(OSError):
        return [p for p in directory.iterdir() if pattern.match(p.name)]
    return []


def journal_names(directory: Path) -> set[str]:
    """The file names in ``directory``'s journal (none when there is no journal or it cannot be read)."""
    try:
        names = json.loads((directory / JOURNAL).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in names if isinstance(n, str) and n and "/" not in n and n not in (".", "..")}


def journal_add(directory: Path, names: Iterable[str]) -> None:
    """Name files this writer is about to make (or has retired) in ``directory``, before they exist."""
    atomic_write_text(directory / JOURNAL, json.dumps({"files": sorted(journal_names(directory) | set(names))}))


def journal_clean(directory: Path, in_use: Collection[str], waiting: Collection[str] = ()) -> None:
    """Settle ``directory``'s journal: a journaled file the current state uses (``in_use``) leaves the journal,
    one kept a while for readers (``waiting``) stays in it, and every other journaled file is removed with its
    temporaries. A failure here loses nothing: the journal still names what is left, and the next writer
    tries again."""
    names = journal_names(directory)
    if not names:
        with contextlib.suppress(OSError):
            (directory / JOURNAL).unlink(missing_ok=True)
        return
    left = {name for name in names if name in waiting and name not in in_use}
    for name in sorted(names - set(in_use) - left):
        try:
            for path in [directory / name, *temporaries_of(directory, name)]:
                path.unlink(missing_ok=True)
        except OSError:
            left.add(name)
    with contextlib.suppress(OSError):
        if left:
            atomic_write_text(directory / JOURNAL, json.dumps({"files": sorted(left)}))
        else:
            (directory / JOURNAL).unlink(missing_ok=True)
