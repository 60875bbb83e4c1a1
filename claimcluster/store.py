"""ClaimStore: a claim base on disk that grows with each batch of articles, with stable claim ids.

``ClaimStore.create(path, documents)`` clusters a corpus and writes the store;
``store.update(documents)`` adds articles: a new sentence joins a known claim when it would
have been clustered with it, the rest (with earlier unclustered sentences) are clustered
into new claims with fresh ids. Known claims never change id; evidence that would join two
known claims is recorded as a merge suggestion instead of renumbering.

The join rule (the clustering rule applied to one new point) is in :mod:`claimcluster._join`.

On disk (see :mod:`claimcluster._persist`): ``manifest.json``, a FAISS index of every
sentence vector, vectors as ``.npy``, documents / sentences / claims / merge suggestions as
JSONL. Every update writes a new generation and switches the manifest atomically; a lock
file serialises writers.

Example
-------
>>> store = ClaimStore.create("claims.store", load_documents(["day1/"]))   # doctest: +SKIP
>>> report = store.update(load_documents(["day2/"]))                         # doctest: +SKIP
>>> store.match("Moscow denies its troops died", k=3)                       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster._join import core_distances, join_known
from claimcluster._locks import directory_write_lock
from claimcluster._persist import at_generation, read_generation
from claimcluster._store_files import read_store, write_store
from claimcluster._validate import check_cohesion, check_k, check_min_score, check_path, check_seconds, validate_texts
from claimcluster.assertion import StanceScorer, match_relations, relate, shipped_stance_scorer, split_assertions
from claimcluster.claims import Claim, ClaimSet, Member, assemble_claim, member_of, spread_order
from claimcluster.cluster import (
    DEFAULT_MIN_CLUSTER_SIZE,
    DEFAULT_MIN_COHESION,
    DEFAULT_MIN_SAMPLES,
    NOISE,
    cluster_vectors,
    medoid,
)
from claimcluster.documents import Corpus, Document, Rejection, Sentence, check_documents
from claimcluster.embed import Embedder
from claimcluster.errors import InputError, StorageError
from claimcluster.segment import segment_documents

__all__ = ["ClaimStore", "ClaimMatch", "UpdateReport"]

log = logging.getLogger(__name__)

# Member matches fetched per claim wanted in match(): a claim's best member must be among them.
MATCHES_PER_CLAIM = 10
MIN_MATCH_DEPTH = 50


@dataclass(frozen=True)
class ClaimMatch:
    """A known claim that a query repeats: best-matching member and its score."""

    claim_id: int
    score: float
    rank: int
    representative: str
    matched_text: str
    matched_doc_id: str
    stance: str | None = None
    """With ``match(..., assess=True)``: the query's stance toward the representative."""
    stance_score: float | None = None
    conflicts: tuple[str, ...] = ()
    """With ``assess=True``: assertion rules the query and the representative break."""
    same_assertion: bool | None = None
    """With ``assess=True``: whether the query states the representative's assertion."""


@dataclass
class UpdateReport:
    """What one update did."""

    documents: int = 0
    sentences: int = 0
    joined: dict[int, int] = field(default_factory=dict)
    new_claims: list[int] = field(default_factory=list)
    merge_suggestions: list[dict] = field(default_factory=list)
    unclustered: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class ClaimStore:
    """A directory of claims that grows with each batch of documents. Use create() or open()."""

    def __init__(self, path: Path, embedder: Embedder, settings: dict, state: dict, generation: int,
                 lock_timeout: float):
        self.path = path
        self.embedder = embedder
        self.settings = settings
        self.lock_timeout = lock_timeout
        self._generation = generation
        self._set_state(state)

    def _set_state(self, state: dict) -> None:
        self._documents: list[dict] = state["documents"]
        self._sentences: list[dict] = state["sentences"]
        self._claims: dict[int, dict] = {c["id"]: c for c in state["claims"]}
        self._merges: list[dict] = state["merges"]
        self._vectors: np.ndarray = state["vectors"]
        self._index = state["index"]
        self._matcher: Any = None

    # -- opening and creating ------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        documents: Corpus | Iterable[Document],
        *,
        embedder: Embedder | None = None,
        min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
        min_samples: int | None = DEFAULT_MIN_SAMPLES,
        min_cohesion: float = DEFAULT_MIN_COHESION,
        granularity: Literal["claim", "assertion"] = "claim",
        lock_timeout: float = 60.0,
    ) -> ClaimStore:
        """Cluster ``documents`` and write a new store at ``path`` (which must not hold one).

        ``granularity="assertion"`` keeps denials, other figures and swapped roles out of a claim:
        new claims are split as :func:`claimcluster.assertion.split_assertions` does, and a new
        sentence that denies a claim's representative, states other figures or swaps its roles
        does not join it.
        """
        if granularity not in ("claim", "assertion"):
            raise InputError(f"granularity must be 'claim' or 'assertion', got {granularity!r}")
        if isinstance(min_cluster_size, str):
            raise InputError(f"a store needs an integer min_cluster_size (it keeps one for every update), got "
                             f"{min_cluster_size!r}")
        min_cluster_size = check_k(min_cluster_size, name="min_cluster_size", minimum=2)
        min_samples = min_cluster_size if min_samples is None else check_k(min_samples, name="min_samples")
        min_cohesion = check_cohesion(min_cohesion)
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        path = check_path(path, what="store path")
        embedder = embedder if embedder is not None else Embedder()
        if (path / "manifest.json").exists():
            raise StorageError(f"{path} already holds a store: open it and update it instead")
        settings = {"min_cluster_size": min_cluster_size, "min_samples": min_samples,
                    "min_cohesion": min_cohesion, "granularity": granularity, "factory": "Flat",
                    "metric": "inner_product"}
        import faiss

        empty = {"documents": [], "sentences": [], "claims": [], "merges": [],
                 "vectors": np.zeros((0, embedder.dimension), dtype=np.float32),
                 "index": faiss.IndexFlatIP(embedder.dimension)}
        store = cls(path, embedder, settings, empty, 0, lock_timeout)
        with directory_write_lock(path, lock_timeout):
            if (path / "manifest.json").exists():
                raise StorageError(f"{path} already holds a store: open it and update it instead")
            store._add(documents, UpdateReport())
        return store

    @classmethod
    def open(cls, path: str | os.PathLike, *, embedder: Embedder | None = None,
             lock_timeout: float = 60.0) -> ClaimStore:
        """Open a store; checksums are verified and another embedding model is refused. Without
        ``embedder``, the packaged model and backend the store was built with."""
        path = check_path(path, what="store path")
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        embedder, settings, state, generation = read_store(path, embedder)
        return cls(path, embedder, settings, state, generation, lock_timeout)

    def _write(self) -> None:
        write_store(self.path, self.embedder.model_id, self.settings, self._index, self._vectors,
                    {"documents": self._documents, "sentences": self._sentences,
                     "claims": list(self._claims.values()), "merges": self._merges})
        self._generation += 1
        self._matcher = None

    # -- updating ------------------------------------------------------------------------
    def update(self, documents: Corpus | Iterable[Document]) -> UpdateReport:
        """Add documents: join known claims, form new ones, record merge suggestions."""
        report = UpdateReport()
        with directory_write_lock(self.path, self.lock_timeout):
            if read_generation(self.path) != self._generation:  # another writer went first: take its state
                _, self.settings, state, self._generation = read_store(self.path, self.embedder)
                self._set_state(state)
            self._add(documents, report)
        return report

    def _add(self, documents: Corpus | Iterable[Document], report: UpdateReport) -> None:
        """Add a batch and write it: all or nothing, on disk and in memory.

        The caller holds the directory's write lock. If anything fails before the new manifest
        is in place (a refused input, a full disk), the object is put back exactly as it was and
        the directory still holds the previous generation, so the same batch can be retried."""
        rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
        documents = check_documents(documents)
        saved = self._snapshot()
        try:
            self._add_batch(documents, report)
            self._write()
        except BaseException:
            if at_generation(self.path, self._generation + 1):
                # The manifest switched before the failure (e.g. while syncing the directory): the batch is
                # on disk, so memory keeps it too.
                self._generation += 1
                self._matcher = None
                log.warning("%s: the update was written, but finishing the write failed", self.path)
            else:
                self._restore(saved)
                raise
        report.rejected[:0] = rejected

    def _snapshot(self) -> dict[str, Any]:
        return {"documents": list(self._documents), "sentences": [dict(r) for r in self._sentences],
                "claims": dict(self._claims), "merges": list(self._merges), "vectors": self._vectors,
                "ntotal": int(self._index.ntotal)}

    def _restore(self, saved: dict[str, Any]) -> None:
        import faiss

        if self._index.ntotal > saved["ntotal"]:
            self._index.remove_ids(faiss.IDSelectorRange(saved["ntotal"], int(self._index.ntotal)))
        self._documents, self._sentences = saved["documents"], saved["sentences"]
        self._claims, self._merges, self._vectors = saved["claims"], saved["merges"], saved["vectors"]
        self._matcher = None

    def _add_batch(self, documents: list[Document], report: UpdateReport) -> None:
        known_ids = {d["doc_id"] for d in self._documents}
        seen: set[str] = set()
        for document in documents:
            if document.doc_id in known_ids or document.doc_id in seen:
                raise InputError(f"document {document.doc_id!r} is already in the store; give updates new doc_ids")
            seen.add(document.doc_id)
        batch = len({d.get("batch", 0) for d in self._documents}) if self._documents else 0
        segmentation = segment_documents(documents)
        report.rejected.extend(segmentation.dropped)
        sentences = segmentation.sentences
        vectors = self.embedder.encode([s.norm for s in sentences])
        report.documents, report.sentences = len(documents), len(sentences)
        assigned, cores = self._join_known(vectors, [s.norm for s in sentences], report)
        first_new = len(self._sentences)
        self._documents += [{"doc_id": d.doc_id, "outlet": d.outlet, "published": d.published, "title": d.title,
                             "url": d.url, "batch": batch} for d in documents]
        self._sentences += [_sentence_record(s, batch, claim, core)
                            for s, claim, core in zip(sentences, assigned, cores)]
        self._vectors = np.vstack([self._vectors, vectors]) if len(self._vectors) else vectors
        self._index.add(vectors)
        self._form_new_claims(first_new, report)
        report.unclustered = sum(1 for s in self._sentences[first_new:] if s["claim"] is None)

    def _join_known(self, vectors: np.ndarray, texts: Sequence[str],
                    report: UpdateReport) -> tuple[list[int | None], np.ndarray]:
        """Claim id (or None) for each new vector, by the clustering rule against the store as it was."""
        admissible = None
        if self.settings.get("granularity") == "assertion":
            def admissible(i: int, claim_id: int) -> bool:
                return self._same_assertion(texts[i], vectors[i], claim_id)
        assigned, cores, ranked = join_known(
            vectors, self._index, self._vectors, [s["claim"] for s in self._sentences],
            [s["core"] for s in self._sentences], self._claims, min_samples=int(self.settings["min_samples"]),
            min_cohesion=float(self.settings["min_cohesion"]), admissible=admissible)
        for i, claims in enumerate(ranked):
            if claims:
                report.joined[claims[0]] = report.joined.get(claims[0], 0) + 1
            if len(claims) > 1:
                suggestion = {"claims": claims, "sentence": len(self._sentences) + i}
                self._merges.append(suggestion)
                report.merge_suggestions.append(suggestion)
        return assigned, cores

    def _same_assertion(self, text: str, vector: np.ndarray, claim_id: int) -> bool:
        """Neither a denial of the claim's representative, nor a statement of other figures, nor
        the same relation between two names with the roles swapped."""
        rep = self._claims[claim_id]["representative"]
        (relation,) = relate([text], vector[None, :], self._sentences[rep]["norm"], self._vectors[rep], self._stance())
        return relation.stance != "denies" and not {"figures", "roles"} & set(relation.conflicts)

    def _stance(self) -> StanceScorer:
        return shipped_stance_scorer(self.embedder.model_id)

    def _form_new_claims(self, first_new: int, report: UpdateReport) -> None:
        pool = [i for i, s in enumerate(self._sentences) if s["claim"] is None]
        if len(pool) < 2:
            return
        result = cluster_vectors(self._vectors[pool], min_cluster_size=int(self.settings["min_cluster_size"]),
                                 min_samples=int(self.settings["min_samples"]),
                                 min_cohesion=float(self.settings["min_cohesion"]))
        labels, radii = result.labels, result.radii
        if self.settings.get("granularity") == "assertion":
            split = split_assertions([self._sentences[r]["norm"] for r in pool], self._vectors[pool], labels,
                                     self._stance(), min_size=int(self.settings["min_cluster_size"]))
            # A split-off part is born inside its parent claim: it keeps the parent's radius.
            parent_of = {int(new): int(old) for new, old in zip(split, labels) if new != NOISE}
            radii = np.array([radii[parent_of[k]] for k in range(len(parent_of))])
            labels = split
        next_id = max(self._claims, default=-1) + 1
        for label in range(len(radii)):
            rows = [pool[j] for j in np.flatnonzero(labels == label)]
            if not any(r >= first_new for r in rows):
                continue
            representative = rows[medoid(self._vectors[rows])]
            self._claims[next_id] = {"id": next_id, "representative": representative, "core_rows": rows,
                                     "radius": float(radii[label]), "batch": self._sentences[rows[-1]]["batch"]}
            for r in rows:
                self._sentences[r]["claim"] = next_id
            report.new_claims.append(next_id)
            next_id += 1
        # Core distances of new claims' members count only the store; refresh them for the rule above.
        self._refresh_cores([r for cid in report.new_claims for r in self._claims[cid]["core_rows"]])

    def _refresh_cores(self, rows: Sequence[int]) -> None:
        if rows:
            cores = core_distances(self._index, self._vectors[list(rows)], int(self.settings["min_samples"]) + 1)
            for r, core in zip(rows, cores):
                self._sentences[r]["core"] = float(core)

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._claims)

    @property
    def n_documents(self) -> int:
        return len(self._documents)

    @property
    def merge_suggestions(self) -> list[dict]:
        """Pairs (or more) of claims that new evidence would join, with the sentence row."""
        return list(self._merges)

    def claim(self, claim_id: int) -> Claim:
        """One claim with every member, old and new."""
        if claim_id not in self._claims:
            raise InputError(f"no claim with id {claim_id!r} in {self.path}")
        rows = [i for i, s in enumerate(self._sentences) if s["claim"] == claim_id]
        return self._claim_from_rows(claim_id, rows)

    def unclustered(self) -> list[Member]:
        """Sentences in no claim yet (they may form claims in later updates)."""
        return [_unclustered(s) for s in self._sentences if s["claim"] is None]

    def claims(self) -> list[Claim]:
        """All claims, most outlets first (as in :class:`ClaimSet`)."""
        by_claim: dict[int, list[int]] = {}
        for i, s in enumerate(self._sentences):
            if s["claim"] is not None:
                by_claim.setdefault(s["claim"], []).append(i)
        out = [self._claim_from_rows(cid, rows) for cid, rows in by_claim.items()]
        out.sort(key=spread_order)
        return out

    def _claim_from_rows(self, claim_id: int, rows: list[int]) -> Claim:
        representative = rows.index(self._claims[claim_id]["representative"])
        return assemble_claim(claim_id, [_sentence(self._sentences[r]) for r in rows], self._vectors[rows],
                              representative, [1.0] * len(rows), self._stance())

    def claim_set(self) -> ClaimSet:
        """All claims and unclustered sentences as a :class:`ClaimSet`, for reports and exports."""
        return ClaimSet(claims=self.claims(), unclustered=self.unclustered(), n_documents=len(self._documents),
                        model_id=self.embedder.model_id, parameters=dict(self.settings))

    def timeline(self, claim_id: int) -> list[dict[str, Any]]:
        """Members in order of appearance: document date when given, else insertion order.

        Each entry: ``when`` (date or ``batch N``), doc_id, outlet, text, and ``first`` for the
        first appearance of each outlet.
        """
        claim = self.claim(claim_id)
        batch_of = {d["doc_id"]: d["batch"] for d in self._documents}
        ordered = sorted(claim.members, key=lambda m: (m.published or "", batch_of[m.doc_id], m.doc_id, m.position))
        seen: set[str] = set()
        out = []
        for m in ordered:
            out.append({"when": m.published or f"batch {batch_of[m.doc_id]}", "doc_id": m.doc_id,
                        "outlet": m.source, "text": m.text, "first_for_outlet": m.source not in seen})
            seen.add(m.source)
        return out

    def spread(self, claim_id: int) -> dict[str, Any]:
        """First and last seen, the outlets that carried the claim and which carried it first."""
        line = self.timeline(claim_id)
        return {"first_seen": line[0]["when"], "last_seen": line[-1]["when"], "first_outlet": line[0]["outlet"],
                "outlets": sorted({e["outlet"] for e in line})}

    def match(self, texts: str | Sequence[str], k: int = 5, *, min_score: float | Literal["auto"] | None = "auto",
              assess: bool = False) -> list[list[ClaimMatch]]:
        """Which known claims does each text repeat? Scored as :class:`ClaimIndex` scores sentences,
        each claim ranked by the fused score of its best-matching member (the index's re-ranker,
        which orders distinct claims and not the members of one, is not used here).

        ``assess=True`` also gives each match the text's stance toward the claim's
        representative (repeats / denies / reports) and the assertion rules the two break
        ("figures", "polarity", "roles"): a denial matches the claim it denies, and says so."""
        from claimcluster.index import ClaimIndex

        queries = validate_texts(texts, what="query")
        k = check_k(k)
        min_score = check_min_score(min_score)
        if self._matcher is None:
            rows = [i for i, s in enumerate(self._sentences) if s["claim"] is not None]
            matcher = ClaimIndex(self.embedder, rerank=False)
            if rows:
                matcher.add([self._sentences[r]["norm"] for r in rows], ids=[str(r) for r in rows],
                            vectors=self._vectors[rows])
            self._matcher = matcher
        found = self._matcher.search(queries, k=max(MIN_MATCH_DEPTH, k * MATCHES_PER_CLAIM), min_score=min_score)
        # The matcher embeds the queries too but returns no vectors: one batch here for the stances.
        query_vectors = self.embedder.encode(queries) if assess and queries else np.zeros((0, 0))
        out = []
        for q, (query, matches) in enumerate(zip(queries, found)):
            best: dict[int, tuple[float, int]] = {}
            for m in matches:
                row = int(m.id)
                cid = self._sentences[row]["claim"]
                if cid not in best or m.score > best[cid][0]:
                    best[cid] = (m.score, row)
            ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
            reps = [self._claims[cid]["representative"] for cid, _ in ranked]
            relations: list[dict[str, Any]] = [{} for _ in ranked]
            if assess and ranked:
                relations = match_relations([query] * len(reps), np.repeat(query_vectors[q][None, :], len(reps), 0),
                                        [self._sentences[r]["norm"] for r in reps], self._vectors[reps],
                                        self.embedder.model_id)
            out.append([ClaimMatch(claim_id=cid, score=score, rank=rank, representative=self._sentences[rep]["text"],
                                   matched_text=self._sentences[row]["text"],
                                   matched_doc_id=self._sentences[row]["doc_id"], **relation)
                        for rank, ((cid, (score, row)), rep, relation) in enumerate(zip(ranked, reps, relations), 1)])
        return out

    def __repr__(self) -> str:
        return f"ClaimStore({str(self.path)!r}, {len(self._claims)} claims, {len(self._sentences)} sentences)"


def _sentence_record(sentence: Sentence, batch: int, claim: int | None, core: float) -> dict:
    return {"doc_id": sentence.doc_id, "position": sentence.position, "text": sentence.text, "norm": sentence.norm,
            "start": sentence.start, "end": sentence.end, "outlet": sentence.outlet, "published": sentence.published,
            "batch": batch, "claim": claim, "core": float(core) if np.isfinite(core) else None}


def _sentence(record: dict) -> Sentence:
    return Sentence(record["doc_id"], record["position"], record["text"], record["norm"], record["start"],
                    record["end"], record["outlet"], record["published"])


def _unclustered(record: dict) -> Member:
    return member_of(_sentence(record), None, 0.0)
