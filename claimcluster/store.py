"""ClaimStore: a claim base on disk that grows with each batch of articles, with stable claim ids.

``ClaimStore.create(path, documents)`` clusters a corpus and writes the store;
``store.update(documents)`` adds articles: a new sentence joins a known claim when it would
have been clustered with it, the rest (with earlier unclustered sentences) are clustered
into new claims with fresh ids. Known claims never change id; evidence that would join two
known claims is recorded as a merge suggestion instead of renumbering.

The join rule (the clustering rule applied to one new point) is in :mod:`claimcluster._join`.

On disk (see :mod:`claimcluster._records`): records in ``store.sqlite`` and the sentence vectors
in append-only segments. An update writes what it adds — one segment and one transaction —
never the store again; a member's similarity and stance toward its claim's representative are
computed once, when it joins, so reading claims, timelines and spreads are queries that load no
vectors and no model. ``compact()`` merges the segments (done by an update past
``COMPACT_AFTER`` of them). A lock file serialises writers.

Example
-------
>>> store = ClaimStore.create("claims.store", load_documents(["day1/"]))   # doctest: +SKIP
>>> report = store.update(load_documents(["day2/"]))                         # doctest: +SKIP
>>> store.match("Moscow denies its troops died", k=3)                       # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from claimcluster import _records
from claimcluster._locks import directory_write_lock
from claimcluster._records import Records
from claimcluster._validate import check_cohesion, check_k, check_min_score, check_path, check_seconds, validate_texts
from claimcluster.claims import Claim, ClaimSet, Member, spread_order
from claimcluster.cluster import (
    DEFAULT_MIN_CLUSTER_SIZE,
    DEFAULT_MIN_SAMPLES,
)
from claimcluster.documents import Corpus, Document, Rejection, check_documents
from claimcluster.errors import InputError, ModelMismatchError, StorageError

if TYPE_CHECKING:
    from claimcluster._store_update import Work
    from claimcluster.embed import Embedder

__all__ = ["ClaimStore", "ClaimMatch", "UpdateReport"]

log = logging.getLogger(__name__)

# Member matches fetched per claim wanted in match(): a claim's best member must be among them.
MATCHES_PER_CLAIM = 10
MIN_MATCH_DEPTH = 50
# An update that leaves more segments than this merges them (compaction rewrites the vectors once).
COMPACT_AFTER = 32
_MEMBER_COLUMNS = ('s.row, s.doc_id, s.position, s.text, s.start, s."end", d.outlet, d.published, m.similarity, '
                   'm.stance, m.stance_score, s.language')


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
    """With ``assess=True``: whether the query states the representative's assertion (None where
    no pair model fits the store's model, or the two are written in different scripts)."""


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
    compacted: bool = False
    """Whether the update merged the store's vector segments (past ``COMPACT_AFTER``)."""


class ClaimStore:
    """A directory of claims that grows with each batch of documents. Use create() or open()."""

    def __init__(self, path: Path, embedder: Embedder, records: Records, lock_timeout: float):
        self.path = path
        self.embedder = embedder
        self.lock_timeout = lock_timeout
        self._records = records
        self._work: Work | None = None
        self._model_checked = True
        self.settings: dict[str, Any] = records.meta()["settings"]

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
        min_cohesion: float | None = None,
        granularity: Literal["claim", "assertion"] = "claim",
        lock_timeout: float = 60.0,
        judge: Literal["auto"] | None = "auto",
    ) -> ClaimStore:
        """Cluster ``documents`` and write a new store at ``path`` (which must not hold one).

        ``granularity="assertion"`` keeps denials, other figures and swapped roles out of a claim:
        new claims are split as :func:`claimcluster.assertion.split_assertions` does, and a new
        sentence that denies a claim's representative, states other figures or swaps its roles
        does not join it. ``min_cohesion`` None takes the embedding model's (as
        :func:`claimcluster.cluster_documents` does); the store keeps it for every update.
        ``judge`` "auto" has the same-assertion judge read every join and every new claim (as
        :func:`claimcluster.cluster_documents` does); None keeps the clustering rule alone.
        """
        if granularity not in ("claim", "assertion"):
            raise InputError(f"granularity must be 'claim' or 'assertion', got {granularity!r}")
        if isinstance(min_cluster_size, str):
            raise InputError(f"a store needs an integer min_cluster_size (it keeps one for every update), got "
                             f"{min_cluster_size!r}")
        min_cluster_size = check_k(min_cluster_size, name="min_cluster_size", minimum=2)
        min_samples = min_cluster_size if min_samples is None else check_k(min_samples, name="min_samples")
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        path = check_path(path, what="store path")
        from claimcluster.embed import Embedder, min_cohesion_for

        if embedder is None:
            embedder = Embedder()
        min_cohesion = check_cohesion(min_cohesion if min_cohesion is not None else min_cohesion_for(embedder.model_id))
        if _records.exists(path):
            raise StorageError(f"{path} already holds a store: open it and update it instead")
        from claimcluster.judge import judge_for

        chosen = judge_for(judge, embedder.model_id)
        settings = {"min_cluster_size": min_cluster_size, "min_samples": min_samples,
                    "min_cohesion": min_cohesion, "granularity": granularity,
                    "judge": None if chosen is None else chosen.judge_id}
        rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
        documents = check_documents(documents)
        with directory_write_lock(path, lock_timeout):
            if _records.exists(path):
                raise StorageError(f"{path} already holds a store: open it and update it instead")
            from claimcluster._store_update import Update, empty_work

            work = empty_work(embedder.dimension)
            report = UpdateReport()
            change = Update(work, settings, embedder, lambda ids: set(), batch=0).run(documents, report)
            meta = {"kind": _records.KIND, "format_version": _records.FORMAT_VERSION, "model_id": embedder.model_id,
                    "dimension": embedder.dimension, "settings": settings}
            records = Records.create(path, meta, change, lock_timeout)
            records.remove_leftovers()
        store = cls(path, embedder, records, lock_timeout)
        report.rejected[:0] = rejected
        return store

    @classmethod
    def open(cls, path: str | os.PathLike, *, embedder: Embedder | None = None,
             lock_timeout: float = 60.0) -> ClaimStore:
        """Open a store: its kind, format and model are checked (another embedding model is
        refused) and SQLite's quick check run; the vectors are read, and checked, when an update or
        a match needs them. Without ``embedder``, the packaged model and backend the store was
        built with. A store of the earlier format is refused with how to migrate it."""
        path = check_path(path, what="store path")
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        records = Records.open(path, lock_timeout)
        meta = records.meta()
        try:
            _check_settings(path, meta["settings"])
            if embedder is None:
                from claimcluster.embed import embedder_for

                # Checked when first used: reading claims needs no model, and loading one takes a while.
                store = cls(path, embedder_for(meta["model_id"]), records, lock_timeout)
                store._model_checked = False
                return store
            _check_model(path, meta, embedder)
        except BaseException:
            records.close()
            raise
        return cls(path, embedder, records, lock_timeout)

    @classmethod
    def migrate(cls, path: str | os.PathLike, *, embedder: Embedder | None = None,
                lock_timeout: float = 60.0) -> ClaimStore:
        """Rewrite a store of format 2 (JSONL tables, one vector file per generation) in this format,
        in place: every file of the old store is checked first; its claims, members, ids and merge
        suggestions are kept, and each member's stance is computed once. A kill during the
        migration leaves the old store or the new one. A store already in this format is opened."""
        from claimcluster._store_files import read_store
        from claimcluster._store_update import migrated

        path = check_path(path, what="store path")
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        with directory_write_lock(path, lock_timeout):
            if not (path / _records.DB_FILE).exists():
                embedder, settings, state, _ = read_store(path, embedder)
                _check_settings(path, settings)
                settings = {k: settings[k] for k in ("min_cluster_size", "min_samples", "min_cohesion")} | {
                    "granularity": settings.get("granularity", "claim"), "judge": settings.get("judge")}
                change = migrated(state, embedder)
                meta = {"kind": _records.KIND, "format_version": _records.FORMAT_VERSION,
                        "model_id": embedder.model_id, "dimension": embedder.dimension, "settings": settings}
                Records.create(path, meta, change, lock_timeout).remove_leftovers()
                log.info("%s: migrated %d sentences and %d claims", path, len(change.sentences), len(change.claims))
        return cls.open(path, embedder=embedder, lock_timeout=lock_timeout)

    # -- updating ------------------------------------------------------------------------
    def update(self, documents: Corpus | Iterable[Document]) -> UpdateReport:
        """Add documents: join known claims, form new ones, record merge suggestions.

        All or nothing: if anything fails before the update's transaction commits (a refused
        input, a full disk), the store is as it was and the same batch can be retried."""
        report = UpdateReport()
        rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
        documents = check_documents(documents)
        from claimcluster._store_update import Update

        with directory_write_lock(self.path, self.lock_timeout):
            self._records.quick_check()
            self._records.remove_leftovers()
            work = self._load_work()
            generation = work.generation
            self._work = None  # the update changes it in place: kept only once the commit is through
            try:
                (batch,) = self._records.query("SELECT COALESCE(MAX(batch) + 1, 0) FROM documents")[0]
                change = Update(work, self.settings, self.embedder, self._known_doc_ids, batch,
                                 self._sources).run(documents, report)
                self._records.commit(change, generation)
            except BaseException:
                if self._records.generation() != generation + 1:
                    raise
                log.warning("%s: the update was written, but finishing the write failed", self.path)
            work.generation, work.matcher = generation + 1, None
            self._work = work
            if len(self._records.segments()) > COMPACT_AFTER:
                report.compacted = self._compact()
        report.rejected[:0] = rejected
        return report

    def compact(self) -> bool:
        """Merge the vector segments into one; False when there was nothing to merge."""
        with directory_write_lock(self.path, self.lock_timeout):
            return self._compact()

    def _compact(self) -> bool:
        self._records.quick_check()
        generation = self._records.generation()
        done = self._records.compact(int(self._records.meta()["dimension"]), generation)
        if done and self._work is not None and self._work.generation == generation:
            self._work.generation += 1
        return done

    def verify(self) -> dict[str, int]:
        """Check everything on disk (see :func:`claimcluster._records.Records.verify`); counts of what was checked."""
        return self._records.verify(int(self._records.meta()["dimension"]))

    def _known_doc_ids(self, ids: Sequence[str]) -> set[str]:
        return {r[0] for r in self._records.query_in("SELECT doc_id FROM documents WHERE doc_id IN ({in})", ids)}

    def _sources(self, rows: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """(doc_id, outlet) of stored sentence rows."""
        return {row: (doc_id, outlet) for row, doc_id, outlet in self._records.query_in(
            "SELECT s.row, s.doc_id, d.outlet FROM sentences s JOIN documents d ON d.doc_id = s.doc_id "
            "WHERE s.row IN ({in})", rows)}

    def _checked_embedder(self) -> Embedder:
        """The embedder, once checked against the model the store was built with."""
        if not self._model_checked:
            _check_model(self.path, self._records.meta(), self.embedder)
            self._model_checked = True
        return self.embedder

    def _load_work(self) -> Work:
        """The in-memory state for the store's current generation (reused while it is current)."""
        self._checked_embedder()
        with self._records.snapshot():  # one generation throughout, while a writer may commit the next
            return self._read_work()

    def _read_work(self) -> Work:
        import faiss

        from claimcluster._store_update import Work

        generation = self._records.generation()
        if self._work is not None and self._work.generation == generation:
            return self._work
        dimension = int(self._records.meta()["dimension"])
        vectors = self._records.vectors(dimension)
        n = len(vectors)
        index = faiss.IndexFlatIP(dimension)
        if n:
            index.add(vectors)
        claim_of = np.full(n, -1, dtype=np.int64)
        for row, claim in self._records.query("SELECT row, claim FROM members"):
            claim_of[row] = claim
        core_of = np.full(n, np.inf)
        claims: dict[int, dict[str, Any]] = {
            cid: {"representative": rep, "radius": radius, "core_rows": []}
            for cid, rep, radius in self._records.query("SELECT id, representative, radius FROM claims")}
        for cid, row, core in self._records.query("SELECT claim, row, core FROM core_rows ORDER BY claim, row"):
            claims[cid]["core_rows"].append(row)
            core_of[row] = np.inf if core is None else core
        norms = [norm if norm is not None else text
                 for norm, text in self._records.query("SELECT norm, text FROM sentences ORDER BY row")]
        if len(norms) != n:
            raise StorageError(f"{self.path}: {len(norms)} sentences for {n} vectors: the store is damaged")
        self._work = Work(generation, vectors, index, claim_of, core_of, claims, norms)
        return self._work

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._records.query("SELECT COUNT(*) FROM claims")[0][0])

    @property
    def n_documents(self) -> int:
        return int(self._records.query("SELECT COUNT(*) FROM documents")[0][0])

    @property
    def n_sentences(self) -> int:
        return int(self._records.query("SELECT COUNT(*) FROM sentences")[0][0])

    @property
    def n_segments(self) -> int:
        return len(self._records.segments())

    @property
    def generation(self) -> int:
        return self._records.generation()

    @property
    def merge_suggestions(self) -> list[dict]:
        """Pairs (or more) of claims that new evidence would join, with the sentence row."""
        return [{"claims": json.loads(claims), "sentence": sentence}
                for claims, sentence in self._records.query("SELECT claims, sentence FROM merges ORDER BY id")]

    def claim(self, claim_id: int) -> Claim:
        """One claim with every member, old and new."""
        claims = self._claims([int(claim_id)]) if _is_int(claim_id) else []
        if not claims:
            raise InputError(f"no claim with id {claim_id!r} in {self.path}")
        return claims[0]

    def unclustered(self) -> list[Member]:
        """Sentences in no claim yet (they may form claims in later updates)."""
        rows = self._records.query(
            's.row, s.doc_id, s.position, s.text, s.start, s."end", d.outlet, d.published, s.language'.join(
                ["SELECT ", " FROM sentences s JOIN documents d ON d.doc_id = s.doc_id "
                            "WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.row = s.row) ORDER BY s.row"]))
        return [Member(doc_id, text, start, end, position, outlet, published, None, 0.0, language=language)
                for _, doc_id, position, text, start, end, outlet, published, language in rows]

    def claims(self, limit: int | None = None) -> list[Claim]:
        """All claims (or the first ``limit``), most outlets first (as in :class:`ClaimSet`); only
        the claims returned are read."""
        if limit is None:
            out = self._claims()
        else:
            limit = check_k(limit, name="limit")
            with self._records.snapshot():
                top = [cid for (cid,) in self._records.query(
                    "SELECT id FROM claims ORDER BY n_outlets DESC, n_documents DESC, size DESC, id LIMIT ?", (limit,))]
                out = self._claims(top)
        out.sort(key=spread_order)
        return out

    def counts(self) -> dict[str, int]:
        """Claims, sentences, unclustered sentences, documents, merge suggestions and vector segments."""
        (claims, sentences, members, documents, merges, segments), = self._records.query(
            "SELECT (SELECT COUNT(*) FROM claims), (SELECT COUNT(*) FROM sentences), (SELECT COUNT(*) FROM members), "
            "(SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM merges), (SELECT COUNT(*) FROM segments)")
        return {"claims": claims, "sentences": sentences, "unclustered": sentences - members, "documents": documents,
                "merge_suggestions": merges, "segments": segments}

    def _claims(self, claim_ids: Sequence[int] | None = None) -> list[Claim]:
        """The claims of ``claim_ids`` (all of them for None), read in one snapshot."""
        heads_sql = "SELECT id, representative, cohesion FROM claims"
        rows_sql = (f"SELECT m.claim, {_MEMBER_COLUMNS} FROM members m JOIN sentences s ON s.row = m.row "
                    "JOIN documents d ON d.doc_id = s.doc_id{where} ORDER BY m.claim, s.doc_id, s.position")
        with self._records.snapshot():
            if claim_ids is None:
                head_rows = self._records.query(heads_sql)
                rows = self._records.query(rows_sql.format(where=""))
            else:
                head_rows = self._records.query_in(heads_sql + " WHERE id IN ({in})", claim_ids)
                # Each claim's members come from one chunk, so they stay in document order.
                rows = self._records.query_in(rows_sql.format(where=" WHERE m.claim IN ({in})"), claim_ids)
        heads = {cid: (rep, cohesion) for cid, rep, cohesion in head_rows}
        members: dict[int, list[tuple[int, Member]]] = {}
        for cid, row, doc_id, position, text, start, end, outlet, published, similarity, stance, score, lang in rows:
            members.setdefault(cid, []).append(
                (row, Member(doc_id, text, start, end, position, outlet, published, similarity, 1.0, stance, score,
                             lang)))
        out = []
        for cid, group in members.items():
            rep_row, cohesion = heads[cid]
            representative = next(m for row, m in group if row == rep_row)
            out.append(Claim(cid, representative, tuple(m for _, m in group), cohesion))
        return out

    def claim_set(self) -> ClaimSet:
        """All claims and unclustered sentences as a :class:`ClaimSet`, for reports and exports."""
        return ClaimSet(claims=self.claims(), unclustered=self.unclustered(), n_documents=self.n_documents,
                        model_id=self.model_id, parameters=dict(self.settings))

    @property
    def model_id(self) -> str:
        """The embedding model the store was built with."""
        return str(self._records.meta()["model_id"])

    def timeline(self, claim_id: int) -> list[dict[str, Any]]:
        """Members in order of appearance: document date when given, else insertion order.

        Each entry: ``when`` (date or ``batch N``), doc_id, outlet, language, text, and
        ``first_for_outlet`` for the first appearance of each outlet.
        """
        claim = self.claim(claim_id)
        batch_of: dict[str, int] = dict(self._records.query_in(
            "SELECT doc_id, batch FROM documents WHERE doc_id IN ({in})", sorted({m.doc_id for m in claim.members})))
        ordered = sorted(claim.members, key=lambda m: (m.published or "", batch_of[m.doc_id], m.doc_id, m.position))
        seen: set[str] = set()
        out = []
        for m in ordered:
            out.append({"when": m.published or f"batch {batch_of[m.doc_id]}", "doc_id": m.doc_id,
                        "outlet": m.source, "language": m.language, "text": m.text,
                        "first_for_outlet": m.source not in seen})
            seen.add(m.source)
        return out

    def spread(self, claim_id: int) -> dict[str, Any]:
        """First and last seen, the outlets that carried the claim and which carried it first, and the
        languages it was carried in, the first one first."""
        line = self.timeline(claim_id)
        languages = list(dict.fromkeys(e["language"] for e in line if e["language"] is not None))
        return {"first_seen": line[0]["when"], "last_seen": line[-1]["when"], "first_outlet": line[0]["outlet"],
                "outlets": sorted({e["outlet"] for e in line}), "first_language": languages[0] if languages else None,
                "languages": languages}

    def match(self, texts: str | Sequence[str], k: int = 5, *, min_score: float | Literal["auto"] | None = "auto",
              assess: bool = False) -> list[list[ClaimMatch]]:
        """Which known claims does each text repeat? Scored as :class:`ClaimIndex` scores sentences,
        each claim ranked by the fused score of its best-matching member (the index's re-ranker,
        which orders distinct claims and not the members of one, is not used here).

        ``assess=True`` also gives each match the text's stance toward the claim's
        representative (repeats / denies / reports) and the assertion rules the two break
        ("figures", "polarity", "roles"): a denial matches the claim it denies, and says so."""
        from claimcluster.assertion import match_relations
        from claimcluster.index import ClaimIndex

        queries = validate_texts(texts, what="query")
        k = check_k(k)
        min_score = check_min_score(min_score)
        work = self._load_work()
        if work.matcher is None:
            rows = np.flatnonzero(work.claim_of >= 0)
            matcher = ClaimIndex(self.embedder, rerank=False)
            if len(rows):
                matcher.add([work.norms[r] for r in rows], ids=[str(r) for r in rows], vectors=work.vectors[rows])
            work.matcher = matcher
        found = work.matcher.search(queries, k=max(MIN_MATCH_DEPTH, k * MATCHES_PER_CLAIM), min_score=min_score)
        # The matcher embeds the queries too but returns no vectors: one batch here for the stances.
        query_vectors = self.embedder.encode(queries) if assess and queries else np.zeros((0, 0))
        ranked_all = []
        for matches in found:
            best: dict[int, tuple[float, int]] = {}
            for m in matches:
                row = int(m.id)
                cid = int(work.claim_of[row])
                if cid not in best or m.score > best[cid][0]:
                    best[cid] = (m.score, row)
            ranked_all.append(sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k])
        wanted = sorted({r for ranked in ranked_all for cid, (_, row) in ranked
                         for r in (row, work.claims[cid]["representative"])})
        shown = self._texts(wanted)
        out = []
        for q, (query, ranked) in enumerate(zip(queries, ranked_all)):
            reps = [work.claims[cid]["representative"] for cid, _ in ranked]
            relations: list[dict[str, Any]] = [{} for _ in ranked]
            if assess and ranked:
                relations = match_relations([query] * len(reps), np.repeat(query_vectors[q][None, :], len(reps), 0),
                                            [work.norms[r] for r in reps], work.vectors[reps], self.embedder.model_id)
            out.append([ClaimMatch(claim_id=cid, score=score, rank=rank, representative=shown[rep][0],
                                   matched_text=shown[row][0], matched_doc_id=shown[row][1], **relation)
                        for rank, ((cid, (score, row)), rep, relation) in enumerate(zip(ranked, reps, relations), 1)])
        return out

    def _texts(self, rows: Sequence[int]) -> dict[int, tuple[str, str]]:
        return {row: (text, doc_id) for row, text, doc_id in self._records.query_in(
            "SELECT row, text, doc_id FROM sentences WHERE row IN ({in})", rows)}

    def close(self) -> None:
        """Close the database (the object is unusable afterwards)."""
        self._records.close()
        self._work = None

    def __repr__(self) -> str:
        return f"ClaimStore({str(self.path)!r}, {len(self)} claims, {self.n_sentences} sentences)"


def _check_model(path: Path, meta: dict[str, Any], embedder: Embedder) -> None:
    if meta["model_id"] != embedder.model_id:
        raise ModelMismatchError(f"{path} was built with model {meta['model_id']}, not {embedder.model_id}: "
                                 "open it with that model")
    if meta["dimension"] != embedder.dimension:
        raise ModelMismatchError(f"{path} has vectors of dimension {meta['dimension']}, the model "
                                 f"{embedder.dimension}")


def _check_settings(path: Path, settings: dict[str, Any]) -> None:
    ok = all(isinstance(settings.get(k), int) and not isinstance(settings.get(k), bool)
             for k in ("min_cluster_size", "min_samples")) and isinstance(settings.get("min_cohesion"), (int, float))
    if not ok or not (2 <= settings["min_cluster_size"] <= 10**9 and 1 <= settings["min_samples"] <= 10**9
                      and -1 <= settings["min_cohesion"] <= 1
                      and settings.get("granularity", "claim") in ("claim", "assertion")
                      and isinstance(settings.get("judge"), (str, type(None)))):
        raise StorageError(f"{path}: the store's settings are out of range ({settings}); the store is damaged")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
