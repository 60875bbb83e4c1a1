"""Self-describing directories: a manifest, a FAISS index, vectors as .npy, records as JSONL.

No pickle anywhere. Each write puts its files under new names (a generation number), fsyncs
them, then switches ``manifest.json`` atomically and removes the previous generation, so a
process killed mid-write leaves the previous state intact. Reading verifies every checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster._files import atomic_write_bytes, atomic_write_text
from claimcluster.errors import StorageError

__all__ = ["write_bundle", "read_bundle", "Bundle"]

MANIFEST = "manifest.json"
_GENERATION_FILE = re.compile(r"^[A-Za-z_]+\.\d+\.(npy|jsonl|faiss)$")


@dataclass
class Bundle:
    manifest: dict[str, Any]
    faiss_index: Any
    arrays: dict[str, np.ndarray]
    tables: dict[str, list[dict]]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str]:
    import faiss

    from claimcluster._version import __version__

    return {"claimcluster": __version__, "faiss": faiss.__version__, "numpy": np.__version__}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def write_bundle(directory: Path, *, kind: str, format_version: int, model_id: str, dimension: int,
                 settings: dict, faiss_index, arrays: dict[str, np.ndarray], tables: dict[str, list[dict]]) -> None:
    """Write a new generation of files to ``directory`` and switch its manifest to them.

    ``arrays`` become ``NAME.GEN.npy``, ``tables`` ``NAME.GEN.jsonl``, the index ``index.GEN.faiss``.
    """
    import faiss

    directory.mkdir(parents=True, exist_ok=True)
    old = _read_manifest(directory) if (directory / MANIFEST).exists() else None
    generation = (old or {}).get("generation", 0) + 1
    payload: dict[str, tuple[str, bytes]] = {"index": ("faiss", faiss.serialize_index(faiss_index).tobytes())}
    payload.update({name: ("npy", _npy(array)) for name, array in arrays.items()})
    payload.update({name: ("jsonl", _jsonl(rows)) for name, rows in tables.items()})
    files = {}
    for name, (ext, data) in payload.items():
        file_name = f"{name}.{generation}.{ext}"
        atomic_write_bytes(directory / file_name, data)
        files[name] = {"path": file_name, "sha256": _sha256(data), "bytes": len(data)}
    manifest = {
        "kind": kind,
        "format_version": format_version,
        "generation": generation,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "model_id": model_id,
        "dimension": dimension,
        "settings": settings,
        "files": files,
    }
    atomic_write_text(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    # Remove earlier generations, including files of a write that was killed before its switch.
    current = {f["path"] for f in files.values()}
    for path in directory.iterdir():
        if _GENERATION_FILE.match(path.name) and path.name not in current:
            path.unlink(missing_ok=True)


def read_generation(directory: Path) -> int:
    """The generation number the manifest points at (reads only the manifest)."""
    return int(_read_manifest(directory).get("generation", 0))


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise StorageError(f"{directory} has no {MANIFEST}: not a claimcluster directory, or not written yet")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"{path} is damaged ({exc}); restore it from a backup") from None
    if not isinstance(manifest, dict) or "files" not in manifest or "kind" not in manifest:
        raise StorageError(f"{path} is not a claimcluster manifest")
    return manifest


def read_file(directory: Path, manifest: dict, name: str) -> bytes:
    entry = manifest["files"].get(name)
    if entry is None:
        raise StorageError(f"{directory / MANIFEST} lists no {name!r} file")
    path = directory / entry["path"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StorageError(f"{path} is missing: the directory is incomplete") from None
    if _sha256(data) != entry["sha256"]:
        raise StorageError(f"{path} does not match its checksum in {MANIFEST}: the file is damaged")
    return data


def read_bundle(directory: Path, *, kind: str, format_version: int) -> Bundle:
    """Read and verify a directory written by :func:`write_bundle`."""
    import faiss

    manifest = _read_manifest(directory)
    if manifest["kind"] != kind:
        raise StorageError(f"{directory} holds a {manifest['kind']!r}, not a {kind!r}")
    if manifest.get("format_version", 0) > format_version:
        raise StorageError(f"{directory} has format {manifest['format_version']}; this claimcluster reads up to "
                          f"{format_version}: upgrade claimcluster")
    arrays: dict[str, np.ndarray] = {}
    tables: dict[str, list[dict]] = {}
    index = None
    for name, entry in manifest["files"].items():
        data = read_file(directory, manifest, name)
        if name == "index":
            try:
                index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
            except RuntimeError as exc:
                raise StorageError(f"{directory / entry['path']} is not a FAISS index: {exc}") from None
        elif entry["path"].endswith(".npy"):
            try:
                arrays[name] = np.load(io.BytesIO(data), allow_pickle=False)
            except ValueError as exc:
                raise StorageError(f"{directory / entry['path']} is not a plain .npy array: {exc}") from None
        else:
            tables[name] = [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    if index is None:
        raise StorageError(f"{directory / MANIFEST} lists no index file")
    return Bundle(manifest, index, arrays, tables)
