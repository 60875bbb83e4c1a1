"""ClaimIndex: which known claim does a new sentence repeat? FAISS dense search fused with BM25.

Known claims are embedded and stored in a FAISS index built from a factory string ("Flat",
exact inner product, by default; "HNSW32" or "IVF4096,SQ8" for large bases). A query's
candidates are the union of the dense and the BM25 top lists; each candidate is scored

    score = (1 - w) * dense + w * bm25 / (bm25 + BM25_HALF)
    dense = cosine(query, text)                                  (no extra text)
          = 0.75 * cosine(query, text) + 0.25 * cosine(query, extra text)

a convex mix of the cosine and a saturated BM25 score (absolute, not normalised per query,
so a fixed ``min_score`` means the same for every query). ``w`` = 0.7, ``BM25_HALF`` = 128,
BM25's k1 = 0.9 and b = 0.3, and the 0.25 share of the extra text were chosen on CLEF-2020
CheckThat! train + dev tweets together (``python -m benchmarks.clef --tune``).

Then, for text queries, the top :data:`RERANK_DEPTH` candidates are put in order by a linear
re-ranker (``claimcluster/models/rerank.json``) over the fused score and its parts, the gap to
the best candidate, the fused rank, and the n-gram / character overlap of the query with the
claim and with its extra text (:func:`claimcluster.assertion.overlap_features`). Its weights
are learned pairwise (relevant above non-relevant claim of the same query) on CLEF-2020 train
tweets only, by ``python -m claimcluster.training``. ``score`` stays the fused score, which
``min_score`` thresholds; the re-ranker only changes the order (``Match.rerank`` holds its value).

Example
-------
>>> index = ClaimIndex()
>>> index.add(["Russia denied losses in Deir Ezzor."], ids=["c1"])
>>> index.search("Moscow says no Russian soldiers died in Deir Ezzor", k=1)[0][0].id   # doctest: +SKIP
'c1'
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.assertion import MODEL_DIR, overlap_features, relations_to
from claimcluster.embed import Embedder, validate_texts
from claimcluster.errors import InputError, ModelMismatchError, StorageError

__all__ = ["ClaimIndex", "Match", "clean_social_text", "DEFAULT_LEXICAL_WEIGHT", "AUTO_MIN_SCORE", "AUTO_MIN_DENSE"]

FORMAT_VERSION = 1
DEFAULT_LEXICAL_WEIGHT = 0.7
BM25_HALF = 128.0
# BM25 term saturation and length normalisation (bm25s defaults are 1.5 and 0.75): short claims
# and long tweets gain from weaker length normalisation.
BM25_K1 = 0.9
BM25_B = 0.3
# Share of the dense score taken from the extra text (a fact-check title), where there is one.
EXTRA_DENSE_WEIGHT = 0.25
# Fused score under which search(min_score="auto") answers "no known claim". Chosen on CLEF train
# tweets (python -m benchmarks.clef --calibrate) as the lowest threshold whose answered top-1 reaches
# precision 0.90 there; see benchmarks/RESULTS.md for the answered shares and unrelated sentences.
AUTO_MIN_SCORE = 0.23
# ...or whose dense cosine reaches this: BM25 scores shrink with a small base, the cosine does not
# (dense >= 0.60 alone: precision 0.91, 0.5% of unrelated sentences answered, on the same data).
AUTO_MIN_DENSE = 0.60
_CANDIDATES = 50
# Fused candidates the re-ranker puts in order (what it was trained on).
RERANK_DEPTH = 20

_URL = re.compile(r"(https?://\S+|\bpic\.twitter\.com/\S+|\bwww\.\S+)")
_SIGNATURE = re.compile(r"\s*[\u2014\u2013-]+\s*([^\u2014\u2013\n]*?)\s*\(@\w+\)\s*\w+ \d{1,2}, \d{4}\s*$")
_MENTION = re.compile(r"(?<!\w)@(\w+)")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")


def clean_social_text(text: str) -> str:
    """Prepare a tweet-like query for matching.

    Removes URLs (``https://…``, ``pic.twitter.com/…``); replaces the trailing signature of a
    quoted tweet, ``— Name (@handle) January 6, 2020``, by the name alone (who said it is
    evidence, the handle and date are not); turns ``@mention`` and ``#hashtag`` into plain
    words; collapses whitespace.

    >>> clean_social_text("No draft texts! pic.twitter.com/3S3 \u2014 U.S. Army (@USArmy) January 8, 2020")
    'No draft texts! U.S. Army'
    """
    text = _URL.sub(" ", text)
    text = _SIGNATURE.sub(lambda m: " " + m.group(1), text)
    text = _MENTION.sub(r"\1", text)
    text = _HASHTAG.sub(r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Match:
    """A known claim matched by a query: fused ``score``, its parts, and the claim's record."""

    id: str
    text: str
    score: float
    rank: int
    dense: float
    lexical: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    rerank: float | None = None
    stance: str | None = None
    """With ``search(..., assess=True)``: the query's stance toward the claim (repeats / denies /
    reports)."""
    stance_score: float | None = None
    conflicts: tuple[str, ...] = ()
    """With ``assess=True``: the assertion rules the query and the claim break ("figures",
    "polarity", "roles"; see :func:`claimcluster.assertion.assertion_rules`)."""


def rerank_features(query: str, texts: Sequence[str], extras: Sequence[str], fused: np.ndarray,
                    dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """Features (n, 41) of a query's candidates, given in fused order, for the re-ranker."""
    n = len(texts)
    base = np.column_stack([fused, dense, lexical, fused[0] - fused if n else fused, np.log1p(np.arange(n))])
    with_text = overlap_features([query] * n, list(texts))
    with_extra = overlap_features([query] * n, [e or t for e, t in zip(extras, texts)])
    return np.hstack([base, with_text, with_extra])


@lru_cache(maxsize=2)
def load_reranker(path: str | None = None) -> dict:
    """The re-ranker's weights and provenance (``models/rerank.json``)."""
    with open(path or MODEL_DIR / "rerank.json", encoding="utf-8") as fh:
        model = json.load(fh)
    model["weights"] = np.asarray(model["weights"], dtype=np.float64)
    return model


class _RWLock:
    """Many readers or one writer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def read(self):
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokens(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


class ClaimIndex:
    """A searchable base of known claims.

    Parameters
    ----------
    embedder : Embedder or None
        None uses the packaged default model.
    factory : str, default="Flat"
        FAISS index factory string (inner product metric). "Flat" is exact; "HNSW32" and
        "IVF4096,SQ8" (trained on the first ``add``) suit large bases.
    lexical_weight : float, default=0.7
        Weight of the BM25 side in the fused score; 0 is dense only, 1 lexical only.
    rerank : bool, default=True
        Put the top fused candidates of text queries in the re-ranker's order. Applied only
        with the embedding model the re-ranker learned with (the packaged default); with
        another model the fused order is kept.
    nprobe, ef_search : int
        Search-time settings of IVF and HNSW indexes.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        factory: str = "Flat",
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        rerank: bool = True,
        nprobe: int = 16,
        ef_search: int = 64,
    ):
        self.embedder = embedder
        self.factory = factory
        self.lexical_weight = lexical_weight
        self.rerank = rerank
        self.nprobe = nprobe
        self.ef_search = ef_search
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._extra: list[str] = []
        self._metadata: list[dict] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._extra_vectors = np.zeros((0, 0), dtype=np.float32)
        self._faiss = None
        self._bm25 = None
        self._lock = _RWLock()
        self._bm25_lock = threading.Lock()  # searches share the read lock; one of them builds BM25

    # -- building ------------------------------------------------------------------------
    def _embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = Embedder()
        return self.embedder

    def _new_faiss(self, dim: int):
        import faiss

        try:
            index = faiss.index_factory(dim, self.factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise InputError(f"invalid FAISS factory string {self.factory!r}: {exc}") from None
        return index

    def _rebuild(self) -> None:
        """Index every stored vector again (after remove on types without remove_ids, or load)."""
        index = self._new_faiss(self._vectors.shape[1])
        if not index.is_trained:
            index.train(self._vectors)
        if len(self._vectors):
            index.add(self._vectors)
        self._faiss = index
        self._bm25 = None

    def add(
        self,
        texts: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        *,
        vectors: np.ndarray | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
        extra_texts: Sequence[str] | None = None,
    ) -> "ClaimIndex":
        """Add claims: their texts (embedded here) or precomputed unit ``vectors`` with texts.

        ``ids`` are the caller's strings, unique across the index (default: running numbers).
        ``extra_texts`` (e.g. a fact-check title) add evidence to both sides: BM25 reads them
        with the text, and a quarter of the dense score is the query's cosine to them.
        """
        texts = validate_texts(texts if texts is not None else [], what="claim text")
        n = len(texts)
        if n == 0:
            return self
        ids = [str(i) for i in ids] if ids is not None else [str(len(self._ids) + i) for i in range(n)]
        for name, seq in (("ids", ids), ("metadata", metadata), ("extra_texts", extra_texts), ("vectors", vectors)):
            if seq is not None and len(seq) != n:
                raise InputError(f"{name} has {len(seq)} entries for {n} texts")
        if vectors is None:
            vectors = self._embedder().encode(texts)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        extras = [str(e) if e is not None and str(e).strip() else "" for e in extra_texts] if extra_texts else [""] * n
        extra_vectors = np.zeros_like(vectors)
        with_extra = [i for i, e in enumerate(extras) if e]
        if with_extra:
            extra_vectors[with_extra] = self._embedder().encode([extras[i] for i in with_extra])
        with self._lock.write():
            known = set(self._ids)
            for position, claim_id in enumerate(ids):
                if claim_id in known:
                    raise InputError(f"id {claim_id!r} (position {position}) is already in the index")
                known.add(claim_id)
            if self._faiss is not None and vectors.shape[1] != self._vectors.shape[1]:
                raise InputError(f"vectors have dimension {vectors.shape[1]}, the index {self._vectors.shape[1]}")
            self._ids += ids
            self._texts += texts
            self._extra += extras
            self._metadata += [dict(m) for m in metadata] if metadata else [{} for _ in range(n)]
            self._vectors = vectors if self._faiss is None else np.vstack([self._vectors, vectors])
            self._extra_vectors = extra_vectors if self._faiss is None else np.vstack([self._extra_vectors, extra_vectors])
            if self._faiss is None or not self._faiss.is_trained:
                self._rebuild()
            else:
                self._faiss.add(vectors)
                self._bm25 = None
        return self

    def remove(self, ids: Iterable[str]) -> int:
        """Remove claims by id; returns how many were removed. Unknown ids raise InputError."""
        drop = {str(i) for i in ids}
        with self._lock.write():
            missing = drop - set(self._ids)
            if missing:
                raise InputError(f"unknown id(s): {sorted(missing)[:5]}")
            keep = [i for i, claim_id in enumerate(self._ids) if claim_id not in drop]
            self._ids = [self._ids[i] for i in keep]
            self._texts = [self._texts[i] for i in keep]
            self._extra = [self._extra[i] for i in keep]
            self._metadata = [self._metadata[i] for i in keep]
            self._vectors = self._vectors[keep]
            self._extra_vectors = self._extra_vectors[keep]
            self._rebuild()
        return len(drop)

    def __len__(self) -> int:
        return len(self._ids)

    def _lexical(self):
        if self._bm25 is None:
            import bm25s

            retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            corpus = [f"{t} {e}".strip() for t, e in zip(self._texts, self._extra)]
            retriever.index(_tokens(corpus), show_progress=False)
            self._bm25 = retriever
        return self._bm25

    # -- searching -----------------------------------------------------------------------
    def search(
        self,
        queries: str | Sequence[str],
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
            Drop matches scoring below. "auto" keeps a match whose fused score reaches
            :data:`AUTO_MIN_SCORE` or whose dense cosine reaches :data:`AUTO_MIN_DENSE`. An
            empty list then means "no known claim".
        clean : bool, default=True
            Apply :func:`clean_social_text` to queries first.
        assess : bool, default=False
            For text queries, also say how each match relates to the query: the query's
            ``stance`` toward the claim and the assertion rules the pair breaks (``conflicts``).
            A query that denies a claim or gives another figure still matches it (it is about
            that claim); these fields say so.

        Returns
        -------
        list (one per query) of list of Match
        """
        if k < 1:
            raise InputError(f"k ({k}) must be at least 1")
        if not (min_score is None or min_score == "auto" or isinstance(min_score, (int, float))):
            raise InputError(f"min_score must be a number, 'auto' or None, got {min_score!r}")
        if isinstance(queries, np.ndarray):
            from claimcluster.cluster import check_unit_vectors

            vectors = check_unit_vectors(queries, name="query vectors")
            prepared: list[str | None] = [None] * len(vectors)
        else:
            texts = validate_texts(queries, what="query")
            if not texts:
                return []
            prepared = [clean_social_text(q) or q for q in texts] if clean else texts
            vectors = self._embedder().encode(prepared)
        with self._lock.read():
            if not self._ids:
                return [[] for _ in prepared]
            if vectors.shape[1] != self._vectors.shape[1]:
                raise InputError(f"query vectors have dimension {vectors.shape[1]}, the index {self._vectors.shape[1]}")
            return [self._rank(q, v, k, min_score, assess) for q, v in zip(prepared, vectors)]

    def _rank(self, query: str | None, vector: np.ndarray, k: int, floor: float | str | None,
              assess: bool = False) -> list[Match]:
        n = len(self._ids)
        depth = min(n, max(_CANDIDATES, k))
        self._set_search_params()
        _, found = self._faiss.search(vector[None, :], depth)
        candidates = {int(i) for i in found[0] if i >= 0}
        w = self.lexical_weight if query is not None else 0.0
        lexical = np.zeros(n)
        if w > 0:
            with self._bm25_lock:
                retriever = self._lexical()
            lexical = retriever.get_scores(_tokens([query])[0])
            candidates |= set(np.argsort(-lexical, kind="stable")[:depth].tolist())
        rows = np.array(sorted(candidates))
        dense = self._vectors[rows] @ vector
        has_extra = np.array([bool(self._extra[i]) for i in rows])
        if has_extra.any():
            dense = np.where(has_extra, (1 - EXTRA_DENSE_WEIGHT) * dense
                             + EXTRA_DENSE_WEIGHT * (self._extra_vectors[rows] @ vector), dense)
        saturated = lexical[rows] / (lexical[rows] + BM25_HALF)
        fused = (1 - w) * dense + w * saturated
        order = np.lexsort((rows, -fused))
        reranked = np.full(len(rows), np.nan)
        if self.rerank and query is not None and self._reranker_fits():
            head = order[:RERANK_DEPTH]
            features = rerank_features(query, [self._texts[i] for i in rows[head]],
                                       [self._extra[i] for i in rows[head]], fused[head], dense[head], saturated[head])
            reranked[head] = features @ load_reranker()["weights"]
            order = np.concatenate([head[np.lexsort((rows[head], -reranked[head]))], order[RERANK_DEPTH:]])
        order = order[:k]
        matches = []
        if floor == "auto":
            passing = (fused >= AUTO_MIN_SCORE) | (dense >= AUTO_MIN_DENSE)
        else:
            passing = np.ones(len(rows), dtype=bool) if floor is None else fused >= floor
        order = order[passing[order]]
        kept = [int(rows[o]) for o in order]
        relations = (relations_to(query, vector, [self._texts[i] for i in kept], self._vectors[kept])
                     if assess and query is not None else [{}] * len(kept))
        for rank, (o, i, relation) in enumerate(zip(order, kept, relations), start=1):
            matches.append(Match(self._ids[i], self._texts[i], round(float(fused[o]), 6), rank,
                                 round(float(dense[o]), 6), round(float(saturated[o]), 6), self._metadata[i],
                                 None if np.isnan(reranked[o]) else round(float(reranked[o]), 6), **relation))
        return matches

    def _reranker_fits(self) -> bool:
        """The re-ranker's weights assume the dense scores of the model it learned with."""
        return load_reranker()["meta"].get("model_id") == self._embedder().model_id

    def _set_search_params(self) -> None:
        import faiss

        base = faiss.downcast_index(self._faiss)
        if hasattr(base, "nprobe"):
            base.nprobe = self.nprobe
        if hasattr(base, "hnsw"):
            base.hnsw.efSearch = self.ef_search

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str) -> None:
        """Write the index to ``directory`` (FAISS index, vectors .npy, records JSONL, manifest)."""
        from claimcluster.persist import write_bundle

        with self._lock.read():
            records = [{"id": i, "text": t, "extra_text": e, "metadata": m}
                       for i, t, e, m in zip(self._ids, self._texts, self._extra, self._metadata)]
            write_bundle(
                Path(directory),
                kind="claim-index",
                format_version=FORMAT_VERSION,
                model_id=self._embedder().model_id,
                dimension=int(self._vectors.shape[1]) if self._vectors.size else self._embedder().dimension,
                settings={"factory": self.factory, "metric": "inner_product", "lexical_weight": self.lexical_weight,
                          "rerank": self.rerank, "nprobe": self.nprobe, "ef_search": self.ef_search},
                faiss_index=self._faiss,
                arrays={"vectors": self._vectors, "extra_vectors": self._extra_vectors},
                tables={"records": records},
            )

    @classmethod
    def load(cls, directory: str, embedder: Embedder | None = None) -> "ClaimIndex":
        """Open an index saved by :meth:`save`; checksums, model and dimension are verified."""
        from claimcluster.persist import read_bundle

        embedder = embedder if embedder is not None else Embedder()
        bundle = read_bundle(Path(directory), kind="claim-index", format_version=FORMAT_VERSION)
        manifest = bundle.manifest
        if manifest["model_id"] != embedder.model_id:
            raise ModelMismatchError(
                f"{directory} was built with model {manifest['model_id']}, not {embedder.model_id}: "
                "load it with that model or build the index again"
            )
        if manifest["dimension"] != embedder.dimension:
            raise ModelMismatchError(f"{directory} has dimension {manifest['dimension']}, the model {embedder.dimension}")
        settings = manifest["settings"]
        index = cls(embedder, factory=settings["factory"], lexical_weight=settings["lexical_weight"],
                    rerank=settings.get("rerank", True), nprobe=settings["nprobe"], ef_search=settings["ef_search"])
        records = bundle.tables.get("records", [])
        vectors = bundle.arrays.get("vectors")
        extra_vectors = bundle.arrays.get("extra_vectors")
        if vectors is None or extra_vectors is None or not (
            len(records) == len(vectors) == len(extra_vectors) == bundle.faiss_index.ntotal
        ):
            raise StorageError(f"{directory}: records, vectors and index rows do not agree; the index is damaged")
        index._ids = [r["id"] for r in records]
        index._texts = [r["text"] for r in records]
        index._extra = [r.get("extra_text", "") for r in records]
        index._metadata = [r.get("metadata", {}) for r in records]
        index._vectors = vectors
        index._extra_vectors = extra_vectors
        index._faiss = bundle.faiss_index
        return index

    def __repr__(self) -> str:
        return (f"ClaimIndex({len(self)} claims, factory={self.factory!r}, lexical_weight={self.lexical_weight}, "
                f"rerank={self.rerank})")
