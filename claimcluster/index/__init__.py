"""ClaimIndex: which known claim does a new sentence repeat? FAISS dense search fused with BM25.

Known claims are embedded and stored in a FAISS index built from a factory string ("Flat",
exact inner product, by default; "HNSW32" or "IVF4096,SQ8" for large bases). A query's
candidates are the union of the dense and the BM25 top lists, scored by :func:`fuse` (a
convex mix of the cosine and a saturated BM25 score, weights in :class:`FusionWeights`).

Then, for text queries, the top candidates are put in order by the shipped linear re-ranker
(:class:`claimcluster.assertion.Reranker`: fused score and its parts, the gap to the best
candidate, the fused rank, and the n-gram / character overlap of the query with the claim and
with its extra text), learned pairwise on CLEF-2020 train tweets only. ``score`` stays the
fused score, which ``min_score`` thresholds; the re-ranker only changes the order
(``Match.rerank`` holds its value).

Example
-------
>>> index = ClaimIndex()
>>> index.add(["Russia denied losses in Deir Ezzor."], ids=["c1"])
>>> index.search("Moscow says no Russian soldiers died in Deir Ezzor", k=1)[0][0].id   # doctest: +SKIP
'c1'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from claimcluster._locks import RWLock
from claimcluster._validate import (
    check_ids,
    check_k,
    check_metadata,
    check_min_score,
    check_path,
    check_unit_vectors,
    missing,
    scrub_surrogates,
    validate_texts,
    visible,
)
from claimcluster.assertion import Reranker, shipped_reranker
from claimcluster.embed import Embedder
from claimcluster.errors import ClaimClusterError, InputError, StorageError
from claimcluster.index._files import Entries, load_index, save_index
from claimcluster.index._fusion import DEFAULT_FUSION, Bm25, FusionWeights, fuse, top_rows
from claimcluster.index._match import Match
from claimcluster.judge import match_relations
from claimcluster.segment import clean_social_text

if TYPE_CHECKING:
    from claimcluster.embed import Embedder

__all__ = ["ClaimIndex", "Match", "FusionWeights"]

# Fused score under which search(min_score="auto") answers "no known claim", for an embedding
# model whose re-ranker file carries no calibration of its own. Chosen on CLEF train tweets with
# the plain MiniLM (python -m benchmarks.clef --calibrate) as the lowest threshold whose
# answered top-1 reaches precision 0.90 there; see benchmarks/RESULTS.md.
AUTO_MIN_SCORE = 0.23
# ...or whose dense cosine reaches this: BM25 scores shrink with a small base, the cosine does not.
AUTO_MIN_DENSE = 0.60
# Candidates taken from each of the dense and the BM25 lists.
CANDIDATES = 50


@dataclass
class _Scored:
    """A query's candidate rows with their scores, in ranking order."""

    rows: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    rerank: np.ndarray


class ClaimIndex:
    """A searchable base of known claims.

    Parameters
    ----------
    embedder : Embedder or None
        None uses the packaged default model.
    factory : str, default="Flat"
        FAISS index factory string (inner product metric). "Flat" is exact; "HNSW32" and
        "IVF4096,SQ8" (trained on the first ``add``) suit large bases.
    fusion : FusionWeights or None
        How dense and BM25 scores are mixed; None is :data:`DEFAULT_FUSION`.
    rerank : bool, default=True
        Put the top fused candidates of text queries in the re-ranker's order. Applied only
        with an embedding model the shipped re-ranker learned with; otherwise the fused order
        is kept.
    nprobe, ef_search : int
        Search-time settings of IVF and HNSW indexes.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        factory: str = "Flat",
        fusion: FusionWeights | None = None,
        rerank: bool = True,
        nprobe: int = 16,
        ef_search: int = 64,
    ):
        if not isinstance(factory, str) or not factory.strip():
            raise InputError(f"factory must be a FAISS factory string such as 'Flat', got {factory!r}")
        if fusion is not None and not isinstance(fusion, FusionWeights):
            raise InputError(f"fusion must be FusionWeights or None, got {type(fusion).__name__} "
                             "(e.g. FusionWeights(lexical_weight=0.5))")
        if not isinstance(rerank, bool):
            raise InputError(f"rerank must be True or False, got {rerank!r}")
        nprobe, ef_search = check_k(nprobe, name="nprobe"), check_k(ef_search, name="ef_search")
        self.embedder = embedder
        self.factory = factory
        self.fusion = fusion
        self.rerank = rerank
        self.nprobe = nprobe
        self.ef_search = ef_search
        self._entries = Entries.empty()
        self._faiss: Any = None
        self._bm25: Bm25 | None = None
        self._lock = RWLock()
        self._bm25_lock = threading.Lock()  # searches share the read lock; one of them builds BM25

    @property
    def weights(self) -> FusionWeights:
        return self.fusion if self.fusion is not None else DEFAULT_FUSION

    # -- building ------------------------------------------------------------------------
    def _embedder(self) -> Embedder:
        if self.embedder is None:

            self.embedder = Embedder()
        return self.embedder

    def _new_faiss(self, dim: int):
        import faiss

        try:
            return faiss.index_factory(dim, self.factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise InputError(f"invalid FAISS factory string {self.factory!r}: {exc}") from None

    def _built(self, vectors: np.ndarray):
        """A new FAISS index holding ``vectors`` (trained on them where the type needs it).

        Raises InputError (and changes nothing) when FAISS cannot build it, e.g. an IVF index
        with fewer vectors than lists."""
        index = self._new_faiss(vectors.shape[1])
        try:
            if not index.is_trained:
                index.train(vectors)
            if len(vectors):
                index.add(vectors)
        except RuntimeError as exc:
            first = str(exc).strip().split("Error: ")[-1].strip().splitlines()[-1] if str(exc).strip() else "error"
            raise InputError(f"FAISS index {self.factory!r} cannot be built from {len(vectors)} vectors ({first}); "
                             "add more claims at once or use factory='Flat'") from None
        return index

    def add(
        self,
        texts: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        *,
        vectors: np.ndarray | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
        extra_texts: Sequence[str] | None = None,
    ) -> ClaimIndex:
        """Add claims: their texts (embedded here) or precomputed unit ``vectors`` with texts.

        ``ids`` are the caller's strings, unique across the index (default: running numbers).
        ``extra_texts`` (e.g. a fact-check title) add evidence to both sides: BM25 reads them
        with the text, and a share of the dense score is the query's cosine to them.
        ``metadata`` must be JSON-serialisable (it is saved with the index).

        All or nothing: when anything is refused or fails, the index is left as it was.
        """
        texts = validate_texts(texts if texts is not None else [], what="claim text")
        n = len(texts)
        if n == 0:
            return self
        ids = check_ids(ids) if ids is not None else None
        if vectors is not None:
            vectors = check_unit_vectors(vectors, name="vectors")
            if vectors.shape[1] != self._embedder().dimension:  # queries are embedded with the model
                raise InputError(f"vectors have dimension {vectors.shape[1]}, the embedding model "
                                 f"{self._embedder().dimension}: give the model's vectors")
        if extra_texts is not None:
            if isinstance(extra_texts, (str, bytes, Mapping)) or not isinstance(extra_texts, Iterable):
                raise InputError(f"extra_texts must be a sequence of strings, got {type(extra_texts).__name__}")
            extra_texts = list(extra_texts)
        for name, seq in (("ids", ids), ("extra_texts", extra_texts), ("vectors", vectors)):
            if seq is not None and len(seq) != n:
                raise InputError(f"{name} has {len(seq)} entries for {n} texts")
        records = check_metadata(metadata, n)
        extras = []
        for position, extra in enumerate(extra_texts if extra_texts is not None else [""] * n):
            extra = "" if missing(extra) else extra
            if not isinstance(extra, str):
                raise InputError(f"extra text at position {position} is {type(extra).__name__}, not str")
            extras.append(scrub_surrogates(extra) if visible(extra) else "")
        if vectors is None:
            vectors = self._embedder().encode(texts, kind="passage")  # unit float32 rows
        extra_vectors = np.zeros_like(vectors)
        with_extra = [i for i, e in enumerate(extras) if e]
        if with_extra:
            extra_vectors[with_extra] = self._embedder().encode([extras[i] for i in with_extra], kind="passage")
        with self._lock.write():
            ids = ids if ids is not None else [str(len(self._entries.ids) + i) for i in range(n)]
            known = set(self._entries.ids)
            for position, claim_id in enumerate(ids):
                if claim_id in known:
                    raise InputError(f"id {claim_id!r} (position {position}) is already in the index")
                known.add(claim_id)
            have = self._entries.vectors.shape[1]
            if self._faiss is not None and vectors.shape[1] != have:
                raise InputError(f"vectors have dimension {vectors.shape[1]}, the index {have}")
            entries = Entries(list(ids), list(texts), extras, records, vectors, extra_vectors)
            if self._faiss is not None:
                entries = self._entries + entries
            if self._faiss is None or not self._faiss.is_trained or self._faiss.ntotal != len(self._entries):
                index = self._built(entries.vectors)  # raises before anything has changed
            else:
                index = self._faiss
                index.add(vectors)  # a trained index only appends
            self._faiss, self._entries, self._bm25 = index, entries, None
        return self

    def remove(self, ids: str | Iterable[str]) -> int:
        """Remove claims by id (one string is one id); returns how many were removed.

        Unknown ids raise InputError and nothing is removed."""
        drop = set(check_ids(ids))
        if not drop:
            return 0
        with self._lock.write():
            unknown = drop - set(self._entries.ids)
            if unknown:
                raise InputError(f"unknown id(s): {sorted(unknown)[:5]}")
            keep = [i for i, claim_id in enumerate(self._entries.ids) if claim_id not in drop]
            entries = self._entries.take(keep)
            self._faiss, self._entries, self._bm25 = self._built(entries.vectors), entries, None
        return len(drop)

    def __len__(self) -> int:
        return len(self._entries.ids)

    def _lexical(self) -> Bm25:
        with self._bm25_lock:
            if self._bm25 is None or not self._bm25.fits(self.weights):
                entries = self._entries
                self._bm25 = Bm25([f"{t} {e}".strip() for t, e in zip(entries.texts, entries.extra)], self.weights)
            return self._bm25

    # -- searching -----------------------------------------------------------------------
    def search(
        self,
        queries: str | Sequence[str] | np.ndarray,
        k: int = 5,
        *,
        min_score: float | Literal["auto"] | None = None,
        clean: bool = True,
        assess: bool = False,
    ) -> list[list[Match]]:
        """Rank known claims for each query, best first.

        Parameters
        ----------
        queries : str, sequence of str, or ndarray of shape (n_queries, dim)
            One or many texts (each non-blank), or unit query vectors (dense side only).
        k : int, default=5
        min_score : float, "auto" or None
            Drop matches scoring below. "auto" keeps a match whose fused score or whose dense
            cosine reaches the calibrated no-match thresholds of the embedding model
            (:meth:`no_match_thresholds`). An empty list then means "no known claim".
        clean : bool, default=True
            Apply :func:`claimcluster.segment.clean_social_text` to queries first.
        assess : bool, default=False
            For text queries, also say how each match relates to the query: the query's
            ``stance`` toward the claim and the assertion rules the pair breaks (``conflicts``).
            A query that denies a claim or gives another figure still matches it (it is about
            that claim); these fields say so.

        Returns
        -------
        list (one per query) of list of Match
        """
        k, min_score = check_k(k), check_min_score(min_score)  # before any embedding
        if isinstance(queries, np.ndarray):
            vectors = check_unit_vectors(queries, name="query vectors")
            prepared: list[str | None] = [None] * len(vectors)
        else:
            cleaned, vectors = self.prepare(queries, clean=clean)
            prepared = list(cleaned)
        return self.search_prepared(prepared, vectors, k, min_score=min_score, assess=assess)

    def prepare(self, queries: str | Sequence[str], *, clean: bool = True) -> tuple[list[str], np.ndarray]:
        """The texts a search reads (each query cleaned by :func:`claimcluster.segment.clean_social_text`
        with ``clean``) and their unit vectors, for :meth:`search_prepared`."""
        texts = validate_texts(queries, what="query")
        cleaned = [clean_social_text(q) or q for q in texts] if clean else list(texts)
        return cleaned, (self._embedder().encode(cleaned) if cleaned else np.zeros((0, 0), dtype=np.float32))

    def search_prepared(self, texts: Sequence[str | None], vectors: np.ndarray, k: int = 5, *,
                        min_score: float | Literal["auto"] | None = None, assess: bool = False) -> list[list[Match]]:
        """:meth:`search` for queries already prepared (:meth:`prepare`): the assessment reads the same text
        and vector as the search did. A None text searches with its vector alone."""
        k = check_k(k)
        min_score = check_min_score(min_score)
        if not len(texts):
            return []
        with self._lock.read():
            if not self._entries.ids:
                return [[] for _ in texts]
            have = self._entries.vectors.shape[1]
            if vectors.shape[1] != have:
                raise InputError(f"query vectors have dimension {vectors.shape[1]}, the index {have}")
            # One dense search for all queries: a matrix product, where one search per query pays FAISS's
            # thread start-up each time (~9 ms a query on 2 busy cores against 0.3 ms in a batch of 200).
            self._set_search_params()
            _, found = self._faiss.search(np.ascontiguousarray(vectors, dtype=np.float32), self._depth(k))
            return [self._matches(q, v, k, min_score, assess, dense_rows)
                    for q, v, dense_rows in zip(texts, vectors, found)]

    def _depth(self, k: int) -> int:
        """How many candidates each side (dense, BM25) proposes for ``k`` matches."""
        return min(len(self._entries), max(CANDIDATES, k))

    def _candidates(self, query: str | None, dense_rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows from the dense top list ``dense_rows`` and the BM25 one, and every row's BM25 score (zeros
        without text)."""
        candidates = {int(i) for i in dense_rows if i >= 0}
        lexical = np.zeros(len(self._entries.ids))
        if query is not None and self.weights.lexical_weight > 0:
            lexical = self._lexical().scores(query)
            candidates |= set(top_rows(lexical, depth).tolist())
        return np.array(sorted(candidates)), lexical

    def _score(self, query: str | None, vector: np.ndarray, k: int, dense_rows: np.ndarray) -> _Scored:
        """Candidates with their fused scores, in fused order, the head re-ranked for text queries."""
        entries = self._entries
        rows, bm25 = self._candidates(query, dense_rows, self._depth(k))
        weights = self.weights if query is not None else replace(self.weights, lexical_weight=0.0)
        has_extra = np.array([bool(entries.extra[i]) for i in rows])
        dense, lexical, fused = fuse(entries.vectors[rows] @ vector, entries.extra_vectors[rows] @ vector, has_extra,
                                     bm25[rows], weights)
        order = np.lexsort((rows, -fused))
        scored = _Scored(rows[order], fused[order], dense[order], lexical[order], np.full(len(rows), np.nan))
        reranker = shipped_reranker(self._embedder().model_id) if self.rerank and query is not None else None
        if reranker is not None and query is not None:
            self._apply_reranker(reranker, query, scored)
        return scored

    def _apply_reranker(self, reranker: Reranker, query: str, scored: _Scored) -> None:
        head = slice(0, reranker.depth)
        rows, entries = scored.rows[head], self._entries
        scored.rerank[head] = reranker.scores(query, [entries.texts[i] for i in rows], [entries.extra[i] for i in rows],
                                              scored.fused[head], scored.dense[head], scored.lexical[head])
        order = np.concatenate([np.lexsort((rows, -scored.rerank[head])), np.arange(len(rows), len(scored.rows))])
        for name in ("rows", "fused", "dense", "lexical", "rerank"):
            setattr(scored, name, getattr(scored, name)[order])

    def no_match_thresholds(self) -> tuple[float, float]:
        """(fused, dense) thresholds of ``min_score="auto"`` for this index's embedding model and size:
        those calibrated with its re-ranker when it has one (:meth:`Reranker.no_match`), else
        :data:`AUTO_MIN_SCORE` / :data:`AUTO_MIN_DENSE`."""
        reranker = shipped_reranker(self._embedder().model_id)
        calibrated = reranker.no_match(len(self)) if reranker is not None else None
        return calibrated or (AUTO_MIN_SCORE, AUTO_MIN_DENSE)

    def _matches(self, query: str | None, vector: np.ndarray, k: int, floor: float | str | None,
                 assess: bool, dense_rows: np.ndarray) -> list[Match]:
        scored = self._score(query, vector, k, dense_rows)
        keep = np.arange(min(k, len(scored.rows)))
        if floor == "auto":
            min_fused, min_dense = self.no_match_thresholds()
            keep = keep[(scored.fused[keep] >= min_fused) | (scored.dense[keep] >= min_dense)]
        elif floor is not None:
            keep = keep[scored.fused[keep] >= floor]
        rows, entries = [int(scored.rows[j]) for j in keep], self._entries
        relations: list[dict[str, Any]] = [{} for _ in rows]
        if assess and query is not None and rows:
            model_id = self._embedder().model_id
            relations = match_relations([query] * len(rows), np.repeat(vector[None, :], len(rows), axis=0),
                                        [entries.texts[i] for i in rows], entries.vectors[rows], model_id)
        return [Match(entries.ids[i], entries.texts[i], round(float(scored.fused[j]), 6), rank,
                      round(float(scored.dense[j]), 6), round(float(scored.lexical[j]), 6), entries.metadata[i],
                      None if np.isnan(scored.rerank[j]) else round(float(scored.rerank[j]), 6), **relation)
                for rank, (j, i, relation) in enumerate(zip(keep, rows, relations), start=1)]

    def _set_search_params(self) -> None:
        import faiss

        base = faiss.downcast_index(self._faiss)
        if hasattr(base, "nprobe"):
            base.nprobe = self.nprobe
        if hasattr(base, "hnsw"):
            base.hnsw.efSearch = self.ef_search

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the index to ``directory`` (FAISS index, vectors .npy, records JSONL, manifest)."""
        directory = check_path(directory, what="directory")
        with self._lock.read():
            built = self._faiss is not None
            save_index(directory, self._entries if built else Entries.empty(self._embedder().dimension),
                       self._faiss, self._lexical().to_bytes() if built else None, model_id=self._embedder().model_id,
                       settings={"factory": self.factory, "metric": "inner_product", "fusion": asdict(self.weights),
                                 "rerank": self.rerank, "nprobe": self.nprobe, "ef_search": self.ef_search})

    @classmethod
    def load(cls, directory: str | Path, embedder: Embedder | None = None) -> ClaimIndex:
        """Open an index saved by :meth:`save`; checksums, model, dimension and records are verified.
        Without ``embedder``, the packaged model and backend the index was built with."""
        directory = check_path(directory, what="directory")
        saved = load_index(directory, embedder)
        settings = saved.settings
        try:
            fusion = settings.get("fusion") or {"lexical_weight": settings["lexical_weight"]}  # format 1 kept only w
            index = cls(saved.embedder, factory=str(settings["factory"]), fusion=FusionWeights(**fusion),
                        rerank=bool(settings.get("rerank", True)), nprobe=int(settings["nprobe"]),
                        ef_search=int(settings["ef_search"]))
        except (KeyError, TypeError, ValueError, OverflowError, ClaimClusterError) as exc:
            raise StorageError(f"{directory}: the manifest's settings are damaged ({type(exc).__name__}: {exc})") \
                from None
        if len(saved.entries):  # an empty index comes back as a new one, which builds its FAISS type on the first add
            index._entries, index._faiss = saved.entries, saved.faiss_index
            if saved.bm25 is not None:
                try:
                    index._bm25 = Bm25.from_bytes(saved.bm25, len(saved.entries), index.weights)
                except (ValueError, KeyError, OSError, EOFError) as exc:
                    raise StorageError(f"{directory}: the saved BM25 index is damaged ({exc})") from None
        return index

    def __repr__(self) -> str:
        return f"ClaimIndex({len(self)} claims, factory={self.factory!r}, fusion={self.weights}, rerank={self.rerank})"
