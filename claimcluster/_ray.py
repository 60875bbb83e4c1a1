"""The Ray engine of :func:`claimcluster.cluster_documents` (``engine="ray"``, ``pip install "claimcluster[ray]"``).

What runs where:

* **workers** — the documents as a Ray Dataset (from the caller's documents, or read from JSONL /
  Parquet shards by :func:`ray_documents`), segmentation and embedding with ``map_batches`` on an
  actor pool, one model per actor; and the k-NN searches of the clustering, in shards of rows,
  against one FAISS index built on the driver and shared through the object store;
* **driver** — de-duplication of the vectors, the k-NN index, the spanning tree, the condensed
  tree and cluster selection, the claims. Its memory is O(n·k) for the k-NN graph and tree
  (k = n_neighbors + 1: 16 bytes per neighbour, about 0.5 KB per sentence at the default 30) plus
  O(n·d) for the float32 vectors (1.5 KB per sentence at d = 384) that the index, the cohesion
  sums and the bridging of k-NN islands read.

The claims are the local engine's: sentences come back in document order, the vectors are the
same (the int8 backend embeds each text alone, so the batch a text lands in does not matter),
and the sharded searches return what one search over all rows returns.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from claimcluster.documents import Document, FieldMap, Rejection, Sentence, from_records, published_at
from claimcluster.embed import Embedder
from claimcluster.errors import DocumentError, InputError
from claimcluster.segment import segment_documents

if TYPE_CHECKING:
    from claimcluster.embed import Embedder
    from claimcluster.segment import FurnitureRule

__all__ = ["ray_documents", "session"]

INSTALL_HINT = 'pip install "claimcluster[ray]"'
DOCUMENTS_PER_BATCH = 64
"""Documents per map_batches call (each call segments and embeds them in one actor)."""
ROWS_PER_SEARCH_SHARD = 20_000
_DOCUMENT_FIELDS = ("doc_id", "text", "outlet", "published", "url", "title")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(f"engine='ray' needs Ray: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def session(address: str | None = None) -> Iterator[Any]:
    """The connected Ray module: the running session if there is one, else one started here
    (``address``: an existing cluster, e.g. "ray://head:10001" or "auto"; None: a local cluster of
    this machine's CPUs), shut down again on exit."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        yield ray
    finally:
        if started:
            ray.shutdown()


def ray_documents(paths: Sequence[str], fields: FieldMap | None = None) -> Any:
    """JSONL / Parquet shards as a Ray Dataset of document records (read on the workers).

    Each shard's records become documents as :func:`claimcluster.documents.from_records` makes
    them; a record needs an id (``fields.id``), as row numbers are not known across shards, and a
    record without usable text or id is rejected, as the local loaders do."""
    ray = _ray()
    fields = fields if fields is not None else FieldMap()
    paths = [str(p) for p in paths]
    jsonl = [p for p in paths if p.endswith((".jsonl", ".json", ".jsonl.gz"))]
    parquet = [p for p in paths if p.endswith(".parquet")]
    if len(jsonl) + len(parquet) != len(paths) or not paths:
        raise InputError(f"the Ray engine reads .jsonl and .parquet shards; got {paths[:3]}")
    if fields.id is None:
        raise InputError("reading shards with the Ray engine needs an id field (--id-field)")
    parts = []
    if jsonl:
        parts.append(ray.data.read_json(jsonl, lines=True))
    if parquet:
        parts.append(ray.data.read_parquet(parquet))
    dataset = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return dataset.map_batches(_records_to_documents, fn_kwargs={"fields": fields}, batch_format="pandas")


def _records_to_documents(frame: Any, fields: FieldMap) -> dict[str, list]:
    corpus = from_records(frame.to_dict("records"), fields, source="shard", require_id=True)
    return {"document": [_document_json(d) for d in corpus.documents]
            + [json.dumps({"rejected": asdict(r)}) for r in corpus.rejected]}


def _document_json(document: Document) -> str:
    # One JSON string a row: Arrow and numpy batches would turn a column of None into NaN.
    return json.dumps({name: getattr(document, name) for name in _DOCUMENT_FIELDS})


def documents_dataset(documents: Sequence[Document]) -> Any:
    """The caller's documents as a Ray Dataset (metadata stays on the driver: segmentation does not read it)."""
    return _ray().data.from_items([{"document": _document_json(d)} for d in documents])


class _SegmentAndEmbed:
    """One actor of the pool: one model, loaded once; segments and embeds batches of documents."""

    def __init__(self, model: str, backend: str, options: dict[str, Any]):
        self.embedder = Embedder(model, backend=backend)
        self.options = options

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        documents, rejected = [], []
        for row in batch["document"]:
            fields = json.loads(str(row))
            if "rejected" in fields:  # a record read from a shard that is not a document
                rejected.append(fields["rejected"])
            else:
                documents.append(Document(**fields))
        segmentation = segment_documents(documents, **self.options)
        vectors = self.embedder.encode([s.norm for s in segmentation.sentences])
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        return {"documents": [json.dumps([[d.doc_id, d.outlet is None, published_at(d.published) is None]
                                            for d in documents])],
                "sentences": [json.dumps([asdict(s) for s in segmentation.sentences])],
                "dropped": [json.dumps([asdict(r) for r in segmentation.dropped] + rejected)],
                "vectors": [buffer.getvalue()], "model_id": [self.embedder.model_id]}


class Seen:
    """The documents the workers segmented: ids (checked unique) and what they lack."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.no_outlet = self.no_date = 0

    def add(self, doc_id: str, no_outlet: bool, no_date: bool) -> None:
        if doc_id in self.ids:
            raise DocumentError(f"duplicate doc_id {doc_id!r}: document ids must be unique")
        self.ids.add(doc_id)
        self.no_outlet += no_outlet
        self.no_date += no_date

    def missing(self) -> tuple[int, int]:
        return self.no_outlet, self.no_date

    def __len__(self) -> int:
        return len(self.ids)


def segment_and_embed(dataset: Any, embedder: Embedder, *, rules: Sequence[FurnitureRule], min_words: int,
                      max_chars: int, workers: int | None = None
                      ) -> tuple[Seen, list[Sentence], np.ndarray, list[Rejection]]:
    """The documents seen, their sentences and vectors (in document order) and what was left out,
    from an actor pool."""
    ray = _ray()
    if workers is None:
        workers = max(1, int(ray.available_resources().get("CPU", 1)))
    model = embedder.model
    backend = embedder.backend_used or embedder.backend
    results = dataset.map_batches(
        _SegmentAndEmbed, fn_constructor_kwargs={"model": str(model), "backend": backend,
                                                 "options": {"rules": tuple(rules), "min_words": min_words,
                                                             "max_chars": max_chars}},
        batch_size=DOCUMENTS_PER_BATCH, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers), num_cpus=1)
    seen = Seen()
    sentences: list[Sentence] = []
    dropped: list[Rejection] = []
    parts = []
    for row in results.iter_rows():
        if row["model_id"] != embedder.model_id:
            raise InputError(f"the Ray workers embed with {row['model_id']}, the driver with {embedder.model_id}: "
                             "give them the same model")
        for doc_id, no_outlet, no_date in json.loads(row["documents"]):
            seen.add(doc_id, no_outlet, no_date)
        sentences += [Sentence(**s) for s in json.loads(row["sentences"])]
        dropped += [Rejection(**r) for r in json.loads(row["dropped"])]
        parts.append(np.load(io.BytesIO(row["vectors"]), allow_pickle=False))
    vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)
    return seen, sentences, vectors, dropped


def sharded_search(rows_per_shard: int = ROWS_PER_SEARCH_SHARD) -> Any:
    """A ``knn_search`` for :func:`claimcluster.cluster_vectors`: the built index shared once through
    the object store, each shard of query rows searched by a Ray task."""
    ray = _ray()
    remote = ray.remote(num_cpus=1)(_search_shard)

    def search(index: Any, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        index = cast(Any, index)
        import faiss

        shared = ray.put(faiss.serialize_index(index))
        rows = ray.put(X)
        nprobe, hnsw = getattr(index, "nprobe", None), getattr(index, "hnsw", None)
        params = {"nprobe": int(nprobe)} if nprobe is not None else {}
        if hnsw is not None:
            params = {"efSearch": int(hnsw.efSearch)}
        bounds = list(range(0, len(X), rows_per_shard)) + [len(X)]
        parts = ray.get([remote.remote(shared, rows, lo, hi, k, params) for lo, hi in zip(bounds, bounds[1:])])
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    return search


def _search_shard(blob: np.ndarray, X: np.ndarray, lo: int, hi: int, k: int,
                  params: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index: Any = faiss.deserialize_index(blob)
    if "nprobe" in params:
        index.nprobe = params["nprobe"]
    if "efSearch" in params:
        index.hnsw.efSearch = params["efSearch"]
    return index.search(np.ascontiguousarray(X[lo:hi]), k)
