"""Saving and loading a :class:`~claimcluster.index.ClaimIndex`: a checked directory (``_persist``).

The directory holds the FAISS index, the claim and extra-text vectors (.npy), the records
(JSONL: id, text, extra text, metadata) and a manifest with the settings (factory, fusion
weights, re-ranking, search parameters), the embedding model and the dimension. Loading checks
all of it and refuses, with a StorageError or ModelMismatchError, anything that does not agree.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from claimcluster._fusion import Bm25, FusionWeights
from claimcluster._locks import directory_write_lock
from claimcluster._persist import check_rows, read_bundle, write_bundle
from claimcluster._validate import visible
from claimcluster.errors import ClaimClusterError, ModelMismatchError, StorageError

if TYPE_CHECKING:
    from claimcluster.embed import Embedder
    from claimcluster.index import ClaimIndex

KIND = "claim-index"
FORMAT_VERSION = 4  # 3: the manifest carries its own checksum; 4: the built BM25 index is saved too
SAVE_LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another process saving to the same directory."""
RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "text": str, "extra_text": (str, type(None)),
                                                     "metadata": (dict, type(None))}


def save_index(index: ClaimIndex, directory: Path) -> None:
    with index._lock.read(), directory_write_lock(directory, SAVE_LOCK_TIMEOUT):
        records = [{"id": i, "text": t, "extra_text": e, "metadata": m}
                   for i, t, e, m in zip(index._ids, index._texts, index._extra, index._metadata)]
        built = index._faiss is not None
        dimension = int(index._vectors.shape[1]) if built else index._embedder().dimension
        empty = np.zeros((0, dimension), dtype=np.float32)
        write_bundle(
            directory,
            kind=KIND,
            format_version=FORMAT_VERSION,
            model_id=index._embedder().model_id,
            dimension=dimension,
            settings={"factory": index.factory, "metric": "inner_product", "fusion": asdict(index.weights),
                      "rerank": index.rerank, "nprobe": index.nprobe, "ef_search": index.ef_search},
            faiss_index=index._faiss if built else _placeholder(dimension),
            arrays={"vectors": index._vectors if built else empty,
                    "extra_vectors": index._extra_vectors if built else empty},
            tables={"records": records},
            # BM25 saved built, so that a look-up in a new process does not tokenise every claim again
            blobs={"bm25": index._lexical().to_bytes()} if built else None,
        )


def load_index(cls: type[ClaimIndex], directory: Path, embedder: Embedder | None) -> ClaimIndex:
    bundle = read_bundle(directory, kind=KIND, format_version=FORMAT_VERSION)
    manifest = bundle.manifest
    if embedder is None:
        from claimcluster.embed import embedder_for

        embedder = embedder_for(manifest["model_id"])
    if manifest["model_id"] != embedder.model_id:
        raise ModelMismatchError(
            f"{directory} was built with model {manifest['model_id']}, not {embedder.model_id}: "
            "load it with that model (--model) or build the index again"
        )
    if manifest["dimension"] != embedder.dimension:
        raise ModelMismatchError(f"{directory} has dimension {manifest['dimension']}, the model {embedder.dimension}")
    settings = manifest["settings"]
    try:
        fusion = settings.get("fusion") or {"lexical_weight": settings["lexical_weight"]}  # format 1 kept only w
        index = cls(embedder, factory=str(settings["factory"]), fusion=FusionWeights(**fusion),
                    rerank=bool(settings.get("rerank", True)), nprobe=int(settings["nprobe"]),
                    ef_search=int(settings["ef_search"]))
    except (KeyError, TypeError, ValueError, OverflowError, ClaimClusterError) as exc:
        raise StorageError(f"{directory}: the manifest's settings are damaged ({type(exc).__name__}: {exc})") from None
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
    index._ids = ids
    index._texts = [r["text"] for r in records]
    index._extra = [r.get("extra_text") or "" for r in records]
    index._metadata = [r.get("metadata") or {} for r in records]
    if records:  # an empty index comes back as a new one, which builds its FAISS type on the first add
        index._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index._extra_vectors = np.ascontiguousarray(extra_vectors, dtype=np.float32)
        index._faiss = bundle.faiss_index
        if "bm25" in bundle.blobs:
            try:
                index._bm25 = Bm25.from_bytes(bundle.blobs["bm25"], len(records), index.weights)
            except (ValueError, KeyError, OSError, EOFError) as exc:
                raise StorageError(f"{directory}: the saved BM25 index is damaged ({exc})") from None
    return index


def _placeholder(dimension: int):
    """The FAISS index saved for an index that holds nothing yet."""
    import faiss

    return faiss.IndexFlatIP(dimension)
