"""A store of the earlier format (2): reading it for :meth:`~claimcluster.store.ClaimStore.migrate`
(``_persist`` underneath), and removing its files, by its manifest, once it was migrated.

Such a store holds its documents, sentences (with claim and core distance), claims and merge
suggestions as JSONL tables, the sentence vectors (.npy) and their FAISS index. Reading checks
every record's fields and that the tables agree with each other and with the vectors; anything
else is a StorageError (or ModelMismatchError for another embedding model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from claimcluster._persist import check_rows, read_bundle
from claimcluster.claims.settings import ClaimSettings
from claimcluster.embed import embedder_for
from claimcluster.errors import ModelMismatchError, StorageError

if TYPE_CHECKING:
    from claimcluster.embed import Embedder

KIND = "claim-store"
FORMAT_VERSION = 2  # 2: the manifest carries its own checksum
_OPTIONAL_STR = (str, type(None))
RECORD_FIELDS: dict[str, dict[str, Any]] = {
    "documents": {"doc_id": str, "outlet": _OPTIONAL_STR, "published": _OPTIONAL_STR, "batch": int},
    "sentences": {"doc_id": str, "position": int, "text": str, "norm": str, "start": int, "end": int,
                  "outlet": _OPTIONAL_STR, "published": _OPTIONAL_STR, "batch": int, "claim": (int, type(None)),
                  "core": (int, float, type(None))},
    "claims": {"id": int, "representative": int, "core_rows": list, "radius": (int, float), "batch": int},
    "merges": {"claims": list, "sentence": int},
}
"""What every saved record must hold (read back as StorageError otherwise)."""


def read_store(path: Path, embedder: Embedder | None) -> tuple[Embedder, ClaimSettings, dict, int]:
    """(embedder, settings, state, generation) of the store at ``path``, every part checked;
    without an embedder, the one the manifest's model id names."""
    bundle = read_bundle(path, kind=KIND, format_version=FORMAT_VERSION)
    manifest = bundle.manifest
    if embedder is None:

        embedder = embedder_for(manifest["model_id"])
    if manifest["model_id"] != embedder.model_id:
        raise ModelMismatchError(f"{path} was built with model {manifest['model_id']}, not {embedder.model_id}: "
                                 "open it with that model")
    settings = ClaimSettings.stored(manifest["settings"], path)
    vectors = bundle.arrays.get("vectors")
    sentences = bundle.tables.get("sentences", [])
    if vectors is None or len(vectors) != len(sentences) or bundle.faiss_index.ntotal != len(sentences):
        raise StorageError(f"{path}: sentences, vectors and index rows do not agree; the store is damaged")
    if vectors.ndim != 2 or vectors.shape[1] != embedder.dimension or bundle.faiss_index.d != embedder.dimension:
        raise ModelMismatchError(f"{path} has vectors of shape {vectors.shape}, the model dimension "
                                 f"{embedder.dimension}")
    if len(vectors) and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
        raise StorageError(f"{path}: the sentence vectors are not unit rows; the store is damaged")
    for table, fields in RECORD_FIELDS.items():
        check_rows(path, table, bundle.tables.get(table, []), fields)
    claims = bundle.tables.get("claims", [])
    for claim in claims:
        rows = [claim["representative"], *claim["core_rows"]]
        if not all(isinstance(r, int) and 0 <= r < len(sentences) for r in rows):
            raise StorageError(f"{path}: claim {claim['id']} points at sentences the store does not have; "
                               "the store is damaged")
        if sentences[claim["representative"]]["claim"] != claim["id"]:
            raise StorageError(f"{path}: the representative of claim {claim['id']} is not one of its members; "
                               "the store is damaged")
    doc_ids = {d["doc_id"] for d in bundle.tables.get("documents", [])}
    if len(doc_ids) != len(bundle.tables.get("documents", [])) or any(s["doc_id"] not in doc_ids for s in sentences):
        raise StorageError(f"{path}: the sentences and documents do not agree; the store is damaged")
    ids = {c["id"] for c in claims}
    if len(ids) != len(claims):
        raise StorageError(f"{path}: a claim id occurs twice; the store is damaged")
    if any(s["claim"] is not None and s["claim"] not in ids for s in sentences):
        raise StorageError(f"{path}: a sentence belongs to a claim the store does not have; the store is damaged")
    state = {"documents": bundle.tables.get("documents", []), "sentences": sentences, "claims": claims,
             "merges": bundle.tables.get("merges", []), "vectors": np.ascontiguousarray(vectors, dtype=np.float32),
             "index": bundle.faiss_index}
    return embedder, settings, state, manifest["generation"]


def remove_migrated(directory: Path, db_file: str, kind: str) -> None:
    """Once ``directory`` holds a store of this format, the files of the format-2 store it was migrated from:
    those its ``manifest.json`` names, then the manifest (a killed migration finishes here)."""
    manifest = directory / "manifest.json"
    if not (directory / db_file).is_file() or not manifest.is_file() or manifest.is_symlink():
        return
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(old, dict) or old.get("kind") != kind or old.get("format_version") != 2:
            return
        names = [entry.get("path") for entry in old.get("files", {}).values() if isinstance(entry, dict)]
        for name in names:
            if isinstance(name, str) and name and "/" not in name and name not in (db_file, "manifest.json"):
                (directory / name).unlink(missing_ok=True)
        manifest.unlink()
    except (OSError, ValueError, AttributeError):
        return


def not_a_store(directory: Path, db_file: str) -> StorageError:
    """Why ``directory`` (without ``db_file``) is no store this claimcluster reads: an earlier format to migrate,
    another kind of directory, or nothing yet."""
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError):
            old = None
        if isinstance(old, dict) and old.get("kind") == KIND:
            return StorageError(f"{directory} is a store of format {old.get('format_version')}, written by an earlier "
                                f"claimcluster: migrate it once with `claimcluster store migrate {directory}` "
                                "(or ClaimStore.migrate)")
        if isinstance(old, dict) and isinstance(old.get("kind"), str):
            return StorageError(f"{directory} holds a {old['kind']!r}, not a {KIND!r}")
        return StorageError(f"{manifest} is damaged and {directory} has no {db_file}: not a store")
    return StorageError(f"{directory} has no {db_file}: not a claimcluster store, or not written yet")
