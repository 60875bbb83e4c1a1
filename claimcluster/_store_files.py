"""Reading and writing a :class:`~claimcluster.store.ClaimStore` directory (``_persist`` underneath).

A store holds its documents, sentences (with claim and core distance), claims and merge
suggestions as JSONL tables, the sentence vectors (.npy) and their FAISS index. Reading checks
every record's fields and that the tables agree with each other and with the vectors; anything
else is a StorageError (or ModelMismatchError for another embedding model).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from claimcluster._persist import check_rows, read_bundle, write_bundle
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
MAX_SIZE = 10**9
SETTINGS_FIELDS: dict[str, Any] = {"min_cluster_size": int, "min_samples": int, "min_cohesion": (int, float)}


def read_store(path: Path, embedder: Embedder | None) -> tuple[Embedder, dict, dict, int]:
    """(embedder, settings, state, generation) of the store at ``path``, every part checked;
    without an embedder, the one the manifest's model id names."""
    bundle = read_bundle(path, kind=KIND, format_version=FORMAT_VERSION)
    manifest = bundle.manifest
    if embedder is None:
        from claimcluster.embed import embedder_for

        embedder = embedder_for(manifest["model_id"])
    if manifest["model_id"] != embedder.model_id:
        raise ModelMismatchError(f"{path} was built with model {manifest['model_id']}, not {embedder.model_id}: "
                                 "open it with that model")
    check_rows(path, "settings", [manifest["settings"]], SETTINGS_FIELDS)
    settings = manifest["settings"]
    if not (2 <= settings["min_cluster_size"] <= MAX_SIZE and 1 <= settings["min_samples"] <= MAX_SIZE
            and -1 <= settings["min_cohesion"] <= 1 and settings.get("granularity", "claim") in ("claim", "assertion")):
        raise StorageError(f"{path}: the manifest's settings are out of range ({settings}); the store is damaged")
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
    return embedder, manifest["settings"], state, manifest["generation"]


def write_store(path: Path, model_id: str, settings: dict, faiss_index, vectors: np.ndarray,
                tables: dict[str, list[dict]]) -> None:
    """Write a new generation of the store (the caller holds its write lock)."""
    write_bundle(path, kind=KIND, format_version=FORMAT_VERSION, model_id=model_id,
                 dimension=int(vectors.shape[1]), settings=settings, faiss_index=faiss_index,
                 arrays={"vectors": vectors}, tables=tables)
