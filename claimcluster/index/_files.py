"""The claims of a :class:`~claimcluster.index.ClaimIndex` (:class:`Entries`), and saving and loading them:
a checked directory (``_persist``).

The directory holds the FAISS index, the claim and extra-text vectors (.npy), the records
(JSONL: id, text, extra text, metadata) and a manifest with the settings (factory, fusion
weights, re-ranking, search parameters), the embedding model and the dimension. Loading checks
all of it and refuses, with a StorageError or ModelMismatchError, anything that does not agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from claimcluster._locks import directory_write_lock
from claimcluster._persist import check_rows, read_bundle, write_bundle
from claimcluster._validate import visible
from claimcluster.embed import embedder_for
from claimcluster.errors import ModelMismatchError, StorageError

if TYPE_CHECKING:
    from claimcluster.embed import Embedder

KIND = "claim-index"
FORMAT_VERSION = 4  # 3: the manifest carries its own checksum; 4: the built BM25 index is saved too
SAVE_LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another process saving to the same directory."""
RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "text": str, "extra_text": (str, type(None)),
                                                     "metadata": (dict, type(None))}


@dataclass(frozen=True)
class Entries:
    """The claims of an index, row by row: ids, texts, extra texts, metadata, and the unit vectors of the texts
    and of the extra texts (zero rows where there is none), of shape (n_claims, dim) each."""

    ids: list[str]
    texts: list[str]
    extra: list[str]
    metadata: list[dict]
    vectors: np.ndarray
    extra_vectors: np.ndarray

    @classmethod
    def empty(cls, dimension: int = 0) -> Entries:
        none = np.zeros((0, dimension), dtype=np.float32)
        return cls([], [], [], [], none, none)

    def __len__(self) -> int:
        return len(self.ids)

    def __add__(self, other: Entries) -> Entries:
        return Entries(self.ids + other.ids, self.texts + other.texts, self.extra + other.extra,
                       self.metadata + other.metadata, np.vstack([self.vectors, other.vectors]),
                       np.vstack([self.extra_vectors, other.extra_vectors]))

    def take(self, rows: Sequence[int]) -> Entries:
        return Entries([self.ids[i] for i in rows], [self.texts[i] for i in rows], [self.extra[i] for i in rows],
                       [self.metadata[i] for i in rows], self.vectors[rows], self.extra_vectors[rows])


@dataclass(frozen=True)
class Saved:
    """What :func:`load_index` read and checked: the embedder the index is for, its settings, its entries,
    its FAISS index, and its built BM25 (None when not saved)."""

    embedder: Embedder
    settings: dict[str, Any]
    entries: Entries
    faiss_index: Any
    bm25: bytes | None


def save_index(directory: Path, entries: Entries, faiss_index, bm25: bytes | None, *, model_id: str,
               settings: dict[str, Any]) -> None:
    """Write ``entries`` with their FAISS index (None for an empty index) and built BM25 into ``directory``."""
    records = [{"id": i, "text": t, "extra_text": e, "metadata": m}
               for i, t, e, m in zip(entries.ids, entries.texts, entries.extra, entries.metadata)]
    dimension = int(entries.vectors.shape[1])
    with directory_write_lock(directory, SAVE_LOCK_TIMEOUT):
        write_bundle(
            directory,
            kind=KIND,
            format_version=FORMAT_VERSION,
            model_id=model_id,
            dimension=dimension,
            settings=settings,
            faiss_index=faiss_index if faiss_index is not None else _placeholder(dimension),
            arrays={"vectors": entries.vectors, "extra_vectors": entries.extra_vectors},
            tables={"records": records},
            # BM25 saved built, so that a look-up in a new process does not tokenise every claim again
            blobs={"bm25": bm25} if bm25 is not None else None,
        )


def load_index(directory: Path, embedder: Embedder | None) -> Saved:
    """Read and check an index directory for ``embedder`` (None: the packaged model it was built with)."""
    bundle = read_bundle(directory, kind=KIND, format_version=FORMAT_VERSION)
    manifest = bundle.manifest
    if embedder is None:

        embedder = embedder_for(manifest["model_id"])
    if manifest["model_id"] != embedder.model_id:
        raise ModelMismatchError(
            f"{directory} was built with model {manifest['model_id']}, not {embedder.model_id}: "
            "load it with that model (--model) or build the index again"
        )
    if manifest["dimension"] != embedder.dimension:
        raise ModelMismatchError(f"{directory} has dimension {manifest['dimension']}, the model {embedder.dimension}")
    records = bundle.tables.get("records", [])
    check_rows(directory, "records", records, RECORD_FIELDS)
    vectors, extra_vectors = bundle.arrays.get("vectors"), bundle.arrays.get("extra_vectors")
    shape = (len(records), embedder.dimension)
    if vectors is None or extra_vectors is None or not (
        vectors.shape == extra_vectors.shape == shape and bundle.faiss_index.ntotal == len(records)
        and bundle.faiss_index.d == embedder.dimension
    ):
        raise StorageError(f"{directory}: records, vectors and index rows do not agree; the index is damaged")
    if len(vectors) and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
        raise StorageError(f"{directory}: the claim vectors are not unit rows; the index is damaged")
    ids = [r["id"] for r in records]
    if not all(visible(i) for i in ids) or not all(visible(r["text"]) for r in records):
        raise StorageError(f"{directory}: a record has a blank id or text; the index is damaged")
    if len(set(ids)) != len(ids):
        raise StorageError(f"{directory}: an id occurs twice in the records; the index is damaged")
    entries = Entries(ids, [r["text"] for r in records], [r.get("extra_text") or "" for r in records],
                      [r.get("metadata") or {} for r in records], np.ascontiguousarray(vectors, dtype=np.float32),
                      np.ascontiguousarray(extra_vectors, dtype=np.float32))
    settings = manifest.get("settings")
    if not isinstance(settings, dict):
        raise StorageError(f"{directory}: the manifest's settings are damaged (not an object)")
    return Saved(embedder, settings, entries, bundle.faiss_index, bundle.blobs.get("bm25"))


def _placeholder(dimension: int):
    """The FAISS index saved for an index that holds nothing yet."""
    import faiss

    return faiss.IndexFlatIP(dimension)
