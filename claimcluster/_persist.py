"""Self-describing directories: a manifest, a FAISS index, vectors as .npy, records as JSONL.

No pickle anywhere. Each write names its files in the directory's journal, puts them under new names
(a generation number), fsyncs them, then switches ``manifest.json`` atomically, so a process killed
mid-write leaves the previous state intact. The previous generation's files stay until the next write
(a reader that read the previous manifest still finds them); files of earlier generations and whatever
a killed write left are removed by name from the journal, never because a name looks like one of ours.
A directory that holds anything else (another kind of directory, a store, the user's files) is refused.
Callers hold the directory's write lock while writing.

Nothing saved can lie: the manifest carries the SHA-256 of its own canonical JSON
(``manifest_sha256``) and is checked against a schema; every file it names must be a plain
file name of this directory and match its checksum; a table line that is not a JSON object
is refused. Every failure is a :class:`~claimcluster.errors.StorageError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import (
    JOURNAL,
    atomic_write_bytes,
    atomic_write_text,
    journal_add,
    journal_clean,
    journal_names,
)
from claimcluster._locks import LOCK_FILE
from claimcluster._version import __version__
from claimcluster.errors import StorageError

__all__ = ["write_bundle", "read_bundle", "Bundle"]

MANIFEST = "manifest.json"
_GENERATION_FILE = re.compile(r"^[A-Za-z_0-9]+\.\d+\.(npy|npz|jsonl|faiss)$")
READ_ATTEMPTS = 3
"""Reads of a directory tried when a writer switched it to a newer generation meanwhile."""
# Format version of each kind from which the manifest must carry its checksum (earlier ones were written
# before it existed and load with the schema check only).
SIGNED_SINCE = {"claim-index": 3, "claim-store": 2}
_MANIFEST_KEYS = {"kind": str, "format_version": int, "generation": int, "model_id": str, "dimension": int,
                  "settings": dict, "files": dict}


@dataclass
class Bundle:
    manifest: dict[str, Any]
    faiss_index: Any
    arrays: dict[str, np.ndarray]
    tables: dict[str, list[dict]]
    blobs: dict[str, bytes]
    """``.npz`` files, checksum verified, for their owner to decode."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(manifest: dict) -> bytes:
    """The bytes the manifest checksum covers: its JSON without the checksum, keys sorted."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signed(manifest: dict) -> dict:
    """``manifest`` with its ``manifest_sha256`` (re)computed."""
    return {**{k: v for k, v in manifest.items() if k != "manifest_sha256"},
            "manifest_sha256": _sha256(_canonical(manifest))}


def check_writable(directory: Path, kind: str) -> None:
    """Refuse to write a ``kind`` into ``directory`` unless it is new, empty, or already one (files this
    library made there aside): nothing else in it may be overwritten or removed."""
    if directory.exists() and not directory.is_dir():
        raise StorageError(f"{directory} is a file, not a directory")
    if not directory.is_dir():
        return
    if (directory / MANIFEST).exists():
        held = _read_manifest(directory).get("kind")
        if held != kind:
            raise StorageError(f"{directory} holds a {held!r}, not a {kind!r}: write it to another directory")
        return
    others = foreign_files(directory)
    if others:
        raise StorageError(f"{directory} holds files that are not a {kind}'s ({others}): write it to a new or "
                           "empty directory")


def foreign_files(directory: Path) -> str | None:
    """The first names of the files in ``directory`` this library did not make there (its lock, its journal and
    what the journal names aside), for a message; None when there are none or no directory."""
    if not directory.is_dir():
        return None
    ours = {LOCK_FILE, JOURNAL} | journal_names(directory)
    others = sorted(p.name for p in directory.iterdir() if p.name not in ours)
    if not others:
        return None
    return ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")


def versions() -> dict[str, str]:
    """The versions of what wrote a saved thing, stamped into it."""
    import faiss


    return {"claimcluster": __version__, "faiss": faiss.__version__, "numpy": np.__version__}


def utc_now() -> str:
    """The time now in UTC, as written into manifests and a store's metadata."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def write_bundle(directory: Path, *, kind: str, format_version: int, model_id: str, dimension: int,
                 settings: dict, faiss_index, arrays: dict[str, np.ndarray], tables: dict[str, list[dict]],
                 blobs: dict[str, bytes] | None = None) -> None:
    """Write a new generation of files to ``directory`` and switch its manifest to them.

    ``arrays`` become ``NAME.GEN.npy``, ``tables`` ``NAME.GEN.jsonl``, ``blobs`` (``.npz`` bytes)
    ``NAME.GEN.npz``, the index ``index.GEN.faiss``.
    """
    try:
        _write_bundle(directory, kind, format_version, model_id, dimension, settings, faiss_index, arrays, tables,
                      blobs or {})
    except OSError as exc:
        raise StorageError(f"cannot write {directory}: {exc.strerror or exc}"
                           + (f" ({exc.filename})" if exc.filename else "")) from exc


def _write_bundle(directory: Path, kind: str, format_version: int, model_id: str, dimension: int,
                  settings: dict, faiss_index, arrays: dict[str, np.ndarray], tables: dict[str, list[dict]],
                  blobs: dict[str, bytes]) -> None:
    import faiss

    check_writable(directory, kind)
    directory.mkdir(parents=True, exist_ok=True)
    old = _read_manifest(directory) if (directory / MANIFEST).exists() else None
    previous = sorted({e["path"] for e in old["files"].values()}) if old else []
    journal_clean(directory, in_use={MANIFEST, *previous})  # what a killed write left, and older generations
    payload: dict[str, tuple[str, bytes]] = {"index": ("faiss", faiss.serialize_index(faiss_index).tobytes())}
    payload.update({name: ("npy", _npy(array)) for name, array in arrays.items()})
    payload.update({name: ("jsonl", _jsonl(rows)) for name, rows in tables.items()})
    payload.update({name: ("npz", data) for name, data in blobs.items()})
    generation = (old or {}).get("generation", 0) + 1
    while any((directory / f"{name}.{generation}.{ext}").exists() for name, (ext, _) in payload.items()):
        generation += 1  # a name of that generation is someone else's file: never write over it
    files: dict[str, dict[str, Any]] = {}
    journal_add(directory, [MANIFEST, *(f"{name}.{generation}.{ext}" for name, (ext, _) in payload.items())])
    try:
        for name, (ext, data) in payload.items():
            file_name = f"{name}.{generation}.{ext}"
            files[name] = {"path": file_name, "sha256": _sha256(data), "bytes": len(data)}
            atomic_write_bytes(directory / file_name, data)
        manifest = signed({
            "kind": kind,
            "format_version": format_version,
            "generation": generation,
            "written_at": utc_now(),
            "versions": versions(),
            "model_id": model_id,
            "dimension": dimension,
            "settings": settings,
            "files": files,
        })
        atomic_write_text(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    except BaseException:
        if not at_generation(directory, generation):  # the old manifest still rules: the new files are orphans
            for entry in files.values():
                (directory / entry["path"]).unlink(missing_ok=True)
        raise
    # The new generation is in place; the previous one stays for readers until the next write removes it.
    current = {MANIFEST, *(f["path"] for f in files.values())}
    with contextlib.suppress(OSError):
        journal_add(directory, previous)
        journal_clean(directory, in_use=current, waiting=previous)


def at_generation(directory: Path, generation: int) -> bool:
    try:
        return read_generation(directory) == generation
    except StorageError:
        return False


def read_generation(directory: Path) -> int:
    """The generation number the manifest points at (reads only the manifest)."""
    return int(_read_manifest(directory).get("generation", 0))


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise StorageError(f"{directory} has no {MANIFEST}: not a claimcluster directory, or not written yet")
    if path.is_symlink():
        raise StorageError(f"{path} is a symbolic link: refusing to read outside the directory")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad UTF-8, bad JSON, a 5,000-digit number
        raise StorageError(f"{path} is damaged ({type(exc).__name__}: {exc}); restore it from a backup") from None
    if not isinstance(manifest, dict) or "files" not in manifest or "kind" not in manifest:
        raise StorageError(f"{path} is not a claimcluster manifest")
    check_manifest(path, manifest)
    return manifest


def check_manifest(path: Path, manifest: dict) -> None:
    """Checksum (when the manifest has one: those written before it existed do not) and schema."""
    stored = manifest.get("manifest_sha256")
    version = manifest.get("format_version")
    if stored is None and isinstance(version, int) and version >= SIGNED_SINCE.get(str(manifest.get("kind")), 0):
        raise StorageError(f"{path} has no manifest_sha256, which every manifest of format {version} carries: "
                           "it was edited or damaged")
    if stored is not None and stored != _sha256(_canonical(manifest)):
        raise StorageError(f"{path} does not match its own checksum: it was edited or damaged; restore it "
                           "from a backup (or write the directory again)")
    for key, kind in _MANIFEST_KEYS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise StorageError(f"{path}: field {key!r} is missing or not a {kind.__name__}: the manifest is damaged")
    if manifest["format_version"] < 1 or manifest["generation"] < 1 or manifest["dimension"] < 1:
        raise StorageError(f"{path}: format_version, generation and dimension must be positive: the manifest is "
                           "damaged")
    for name, entry in manifest["files"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str)):
            raise StorageError(f"{path}: entry {name!r} of 'files' is not {{path, sha256}}: the manifest is damaged")
        if not _GENERATION_FILE.match(entry["path"]):
            raise StorageError(f"{path}: file {entry['path']!r} is not a file of this directory (only plain names "
                               "like vectors.3.npy are allowed): refusing to read it")


def read_file(directory: Path, manifest: dict, name: str) -> bytes:
    entry = manifest["files"].get(name)
    if entry is None:
        raise StorageError(f"{directory / MANIFEST} lists no {name!r} file")
    return read_checked(directory / entry["path"], entry["sha256"], MANIFEST)


def read_checked(path: Path, sha256: str, listed_in: str) -> bytes:
    """The bytes of ``path`` (a plain file, not a link), which must match ``sha256`` (recorded in ``listed_in``)."""
    if path.is_symlink():
        raise StorageError(f"{path} is a symbolic link: refusing to read outside the directory")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StorageError(f"{path} is missing: the directory is incomplete") from None
    except OSError as exc:
        raise StorageError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if _sha256(data) != sha256:
        raise StorageError(f"{path} does not match its checksum in {listed_in}: the file is damaged")
    return data


def read_bundle(directory: Path, *, kind: str, format_version: int) -> Bundle:
    """Read and verify a directory written by :func:`write_bundle`; read again when a writer switched it to a
    newer generation meanwhile (a file named by a manifest two writes old may be gone)."""
    for attempt in range(READ_ATTEMPTS):
        generation = read_generation(directory)
        try:
            return _read_bundle(directory, kind, format_version)
        except StorageError:
            if attempt == READ_ATTEMPTS - 1 or at_generation(directory, generation):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _read_bundle(directory: Path, kind: str, format_version: int) -> Bundle:
    import faiss

    manifest = _read_manifest(directory)
    if manifest["kind"] != kind:
        raise StorageError(f"{directory} holds a {manifest['kind']!r}, not a {kind!r}")
    if manifest.get("format_version", 0) > format_version:
        raise StorageError(f"{directory} has format {manifest['format_version']}; this claimcluster reads up to "
                          f"{format_version}: upgrade claimcluster")
    arrays: dict[str, np.ndarray] = {}
    tables: dict[str, list[dict]] = {}
    blobs: dict[str, bytes] = {}
    index = None
    for name, entry in manifest["files"].items():
        data = read_file(directory, manifest, name)
        if name == "index":
            try:
                index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
            except (RuntimeError, MemoryError) as exc:
                raise StorageError(f"{directory / entry['path']} is not a FAISS index: {exc}") from None
            if index is None or type(index).__name__.startswith("IndexIDMap"):
                raise StorageError(f"{directory / entry['path']} is not a FAISS index over rows 0..n-1: the "
                                   "directory is damaged")
        elif entry["path"].endswith(".npy"):
            try:
                array = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, TypeError, MemoryError, OSError) as exc:
                raise StorageError(f"{directory / entry['path']} is not a plain .npy array: {exc}") from None
            if array.dtype != np.float32 or array.ndim != 2 or not np.isfinite(array).all():
                raise StorageError(f"{directory / entry['path']} is not a finite 2-D float32 array "
                                   f"(dtype {array.dtype}, shape {array.shape}): the directory is damaged")
            arrays[name] = array
        elif entry["path"].endswith(".npz"):
            blobs[name] = data
        else:
            tables[name] = _table(directory / entry["path"], data)
    if index is None:
        raise StorageError(f"{directory / MANIFEST} lists no index file")
    return Bundle(manifest, index, arrays, tables, blobs)


def check_rows(directory: Path, table: str, rows: list[dict], fields: dict[str, type | tuple[type, ...]]) -> None:
    """Every row of ``table`` has ``fields`` of the given types, else StorageError (the files were edited)."""
    for line_no, row in enumerate(rows, start=1):
        for key, kind in fields.items():
            value = row.get(key)
            if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
                raise StorageError(f"{directory}: row {line_no} of {table!r} has no valid {key!r} "
                                   f"({value!r:.40}): the directory is damaged or was edited")


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _table(path: Path, data: bytes) -> list[dict]:
    rows = []
    try:
        for line_no, line in enumerate(data.decode("utf-8").split("\n"), start=1):
            if not line:
                continue
            row = json.loads(line)
            if not isinstance(row, dict):
                raise StorageError(f"{path}:{line_no} is not a JSON object: the file is damaged")
            rows.append(row)
    except (ValueError, RecursionError) as exc:
        raise StorageError(f"{path} is damaged ({type(exc).__name__}: {str(exc)[:200]})") from None
    return rows
