"""ClaimStore: a claim base on disk that grows with each batch of articles, with stable claim ids.

``ClaimStore.create(path, documents)`` clusters a corpus and writes the store;
``store.update(documents)`` adds articles: a new sentence joins a known claim when it would
have been clustered with it, the rest (with earlier unclustered sentences) are clustered
into new claims with fresh ids. Known claims never change id; evidence that would join two
known claims is recorded as a merge suggestion instead of renumbering.

The join rule (the clustering rule applied to one new point) is in :mod:`claimcluster.store._join`.

On disk (see :mod:`claimcluster.store._records`): records in ``store.sqlite`` and the sentence vectors
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

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from claimcluster._files import journal_clean
from claimcluster._locks import directory_write_lock
from claimcluster._persist import READ_ATTEMPTS, foreign_files
from claimcluster._validate import check_k, check_min_score, check_path, check_seconds, validate_texts
from claimcluster.claims import Claim, ClaimSet, Member, spread_order
from claimcluster.claims.settings import ClaimSettings
from claimcluster.cluster import (
    DEFAULT_MIN_CLUSTER_SIZE,
    DEFAULT_MIN_SAMPLES,
)
from claimcluster.documents import Corpus, Document, Rejection, check_documents, published_at
from claimcluster.embed import Embedder, embedder_for
from claimcluster.errors import InputError, ModelMismatchError, StorageError
from claimcluster.judge import judge_for
from claimcluster.store import _reads, _records
from claimcluster.store._files import read_store
from claimcluster.store._match import ClaimMatch, match_claims
from claimcluster.store._records import Records
from claimcluster.store._update import Update, UpdateReport, empty_work, migrated

if TYPE_CHECKING:
    from claimcluster.embed import Embedder
    from claimcluster.store._update import Work

__all__ = ["ClaimStore", "ClaimMatch", "UpdateReport"]

log = logging.getLogger(__name__)

# An update that leaves more segments than this merges them (compaction rewrites the vectors once).
COMPACT_AFTER = 32
# Stored sentences embedded again when a store's vectors are first read: the model must give the stored vectors
# back (the same int8 kernels' integer part everywhere: other CPUs stay above 0.999).
VECTOR_CHECKS = 3
MIN_VECTOR_COSINE = 0.99

class ClaimStore:
    """A directory of claims that grows with each batch of documents. Use create() or open()."""

    def __init__(self, path: Path, embedder: Embedder, records: Records, lock_timeout: float):
        self.path = path
        self.embedder = embedder
        self.lock_timeout = lock_timeout
        self._records = records
        self._work: Work | None = None
        self._model_checked = True
        self._vectors_checked = False
        self.settings = ClaimSettings.stored(records.meta()["settings"], path)

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
        settings = ClaimSettings(min_cluster_size, min_samples, min_cohesion, granularity, judge).for_store()
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        path = check_path(path, what="store path")
        if embedder is None:
            embedder = Embedder()
        _check_free(path)
        chosen = judge_for(judge, embedder.model_id)
        settings = replace(settings.for_model(embedder.model_id), judge=None if chosen is None else chosen.judge_id)
        rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
        documents = check_documents(documents)
        with directory_write_lock(path, lock_timeout):
            _check_free(path)
            journal_clean(path, in_use=())  # what a killed create of this store left
            work = empty_work(embedder.dimension)
            report = UpdateReport(rejected=rejected)
            change = Update(work, settings, embedder, lambda ids: set(), batch=0).run(documents, report)
            meta = {"kind": _records.KIND, "format_version": _records.FORMAT_VERSION, "model_id": embedder.model_id,
                    "dimension": embedder.dimension, "settings": settings.to_dict()}
            records = Records.create(path, meta, change, lock_timeout)
            records.remove_leftovers()
        store = cls(path, embedder, records, lock_timeout)
        store._vectors_checked = True  # this embedder made them just now: nothing to embed again
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
            ClaimSettings.stored(meta["settings"], path)
            if embedder is None:

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
        path = check_path(path, what="store path")
        lock_timeout = check_seconds(lock_timeout, name="lock_timeout")
        with directory_write_lock(path, lock_timeout):
            if not (path / _records.DB_FILE).exists():
                embedder, kept, state, _ = read_store(path, embedder)
                change = migrated(state, embedder, kept)
                meta = {"kind": _records.KIND, "format_version": _records.FORMAT_VERSION,
                        "model_id": embedder.model_id, "dimension": embedder.dimension, "settings": kept.to_dict()}
                Records.create(path, meta, change, lock_timeout).remove_leftovers()
                log.info("%s: migrated %d sentences and %d claims", path, len(change.sentences), len(change.claims))
        return cls.open(path, embedder=embedder, lock_timeout=lock_timeout)

    # -- updating ------------------------------------------------------------------------
    def update(self, documents: Corpus | Iterable[Document]) -> UpdateReport:
        """Add documents: join known claims, form new ones, record merge suggestions.

        All or nothing: if anything fails before the update's transaction commits (a refused
        input, a full disk), the store is as it was and the same batch can be retried."""
        report = UpdateReport(rejected=list(documents.rejected) if isinstance(documents, Corpus) else [])
        documents = check_documents(documents)
        self._check_writable("updated")
        with directory_write_lock(self.path, self.lock_timeout):
            self._records.quick_check()
            self._records.remove_leftovers()
            work = self._load_work()
            generation = work.generation
            self._work = None  # the update changes it in place: kept only once the commit is through
            try:
                batch = _reads.next_batch(self._records)
                records = self._records
                change = Update(work, self.settings, self.embedder, lambda ids: _reads.known_doc_ids(records, ids),
                                batch, lambda rows: _reads.sources(records, rows)).run(documents, report)
                self._records.commit(change, generation)
            except BaseException:
                if self._records.generation() != generation + 1:
                    raise
                log.warning("%s: the update was written, but finishing the write failed", self.path)
            work.generation, work.matcher = generation + 1, None
            self._work = work
            if len(self._records.segments()) > COMPACT_AFTER:
                try:
                    report.compacted = self._compact()
                except StorageError as exc:  # the update is in: a compaction that failed loses nothing
                    log.warning("%s: the update was written; merging its vector segments failed (%s) and is "
                                "left to a later update or `claimcluster store compact`", self.path, exc)
        return report

    def compact(self) -> bool:
        """Merge the vector segments into one; False when there was nothing to merge."""
        self._check_writable("compacted")
        with directory_write_lock(self.path, self.lock_timeout):
            return self._compact()

    def _check_writable(self, what: str) -> None:
        if self._records.read_only:
            raise StorageError(f"{self.path} is read-only here: it can be shown, checked and matched against, "
                               f"not {what}")

    def _compact(self) -> bool:
        self._records.quick_check()
        generation = self._records.generation()
        done = self._records.compact(int(self._records.meta()["dimension"]), generation)
        if done and self._work is not None and self._work.generation == generation:
            self._work.generation += 1
        return done

    def verify(self) -> dict[str, int]:
        """Check everything on disk (:meth:`claimcluster.store._records.Records.verify`) and that the stored
        vectors are what the embedding model makes of their sentences; counts of what was checked."""
        counts = self._records.verify(int(self._records.meta()["dimension"]))
        self._vectors_checked = False
        self._load_work()
        return counts

    def _checked_embedder(self) -> Embedder:
        """The embedder, once checked against the model the store was built with."""
        if not self._model_checked:
            _check_model(self.path, self._records.meta(), self.embedder)
            self._model_checked = True
        return self.embedder

    def _load_work(self) -> Work:
        """The in-memory state for the store's current generation (reused while it is current)."""
        self._checked_embedder()
        for attempt in range(READ_ATTEMPTS):
            with self._records.snapshot():  # one generation throughout, while a writer may commit the next
                generation = self._records.generation()
                try:
                    return self._read_work()
                except StorageError as exc:
                    error = exc
            # A segment two writes old may be gone by now: read the current generation, if there is a newer one.
            if attempt == READ_ATTEMPTS - 1 or self._records.generation() == generation:
                raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_work(self) -> Work:
        generation = self._records.generation()
        if self._work is None or self._work.generation != generation:
            self._work = _reads.work(self._records, self.path, generation)
        if not self._vectors_checked:
            self._check_vectors(self._work)
        return self._work

    def _check_vectors(self, work: Work) -> None:
        """ModelMismatchError unless the model makes the stored vectors of a few stored sentences again (a store
        whose records name another model of the same dimension would otherwise match wrongly)."""
        rows = sorted(set(np.linspace(0, len(work.norms) - 1, min(VECTOR_CHECKS, len(work.norms))).astype(int)))
        if rows:
            made = self.embedder.encode([work.norms[r] for r in rows])
            cosines = np.einsum("ij,ij->i", made.astype(np.float64), work.vectors[rows].astype(np.float64))
            if float(cosines.min()) < MIN_VECTOR_COSINE:
                row = rows[int(cosines.argmin())]
                raise ModelMismatchError(
                    f"{self.path}: the stored vectors are not what {self.embedder.model_id} makes (cosine "
                    f"{cosines.min():.3f} for stored sentence {row}); the store was built with another model: open "
                    "it with that one")
        self._vectors_checked = True

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.counts()["claims"]

    @property
    def n_documents(self) -> int:
        return self.counts()["documents"]

    @property
    def n_sentences(self) -> int:
        return self.counts()["sentences"]

    @property
    def n_segments(self) -> int:
        return len(self._records.segments())

    @property
    def generation(self) -> int:
        return self._records.generation()

    @property
    def merge_suggestions(self) -> list[dict]:
        """Pairs (or more) of claims that new evidence would join, with the sentence row."""
        return _reads.merge_suggestions(self._records)

    def claim(self, claim_id: int) -> Claim:
        """One claim with every member, old and new."""
        claims = _reads.claims(self._records, [int(claim_id)]) if _is_int(claim_id) else []
        if not claims:
            raise InputError(f"no claim with id {claim_id!r} in {self.path}")
        return claims[0]

    def unclustered(self) -> list[Member]:
        """Sentences in no claim yet (they may form claims in later updates)."""
        return _reads.unclustered(self._records)

    def claims(self, limit: int | None = None) -> list[Claim]:
        """All claims (or the first ``limit``), most outlets first (as in :class:`ClaimSet`); only
        the claims returned are read."""
        out = _reads.claims(self._records, None, limit=None if limit is None else check_k(limit, name="limit"))
        out.sort(key=spread_order)
        return out

    def counts(self) -> dict[str, int]:
        """Claims, sentences, unclustered sentences, documents, merge suggestions and vector segments."""
        return _reads.counts(self._records)

    def left_out(self) -> tuple[list[Rejection], list[str]]:
        """Every record and piece of text the updates left out, each with where it was and why, and a
        warning when the store's first batches were written by a claimcluster that did not keep them."""
        rejected, since = _reads.left_out(self._records)
        return rejected, ([f"what the store's first {since} batch(es) left out was not recorded (written by an "
                           "earlier claimcluster)"] if since else [])

    def claim_set(self) -> ClaimSet:
        """All claims, unclustered sentences and what was left out as a :class:`ClaimSet`, for reports and
        exports."""
        rejected, warnings = self.left_out()
        return ClaimSet(claims=self.claims(), unclustered=self.unclustered(), n_documents=self.n_documents,
                        model_id=self.model_id, parameters=self.settings.to_dict(), rejected=rejected,
                        warnings=warnings)

    @property
    def model_id(self) -> str:
        """The embedding model the store was built with."""
        return str(self._records.meta()["model_id"])

    def timeline(self, claim_id: int) -> list[dict[str, Any]]:
        """Members in order of appearance: dated ones by their publication moment in UTC (dates are parsed,
        :func:`claimcluster.documents.published_at`), then those without a readable date in insertion order.

        Each entry: ``when`` (the date as given, or ``batch N``), ``dated``, ``published`` (the date as given,
        readable or not, or None), doc_id, outlet, language, text, and ``first_for_outlet`` for the first
        appearance of each outlet.
        """
        claim = self.claim(claim_id)
        batch_of = _reads.batches(self._records, sorted({m.doc_id for m in claim.members}))

        def order(m: Member) -> tuple:
            moment = published_at(m.published)
            return (moment is None, moment.timestamp() if moment else 0.0, batch_of[m.doc_id], m.doc_id, m.position)

        seen: set[str] = set()
        out = []
        for m in sorted(claim.members, key=order):
            dated = published_at(m.published) is not None
            out.append({"when": m.published if dated else f"batch {batch_of[m.doc_id]}", "dated": dated,
                        "published": m.published, "doc_id": m.doc_id, "outlet": m.source, "language": m.language,
                        "text": m.text, "first_for_outlet": m.source not in seen})
            seen.add(m.source)
        return out

    def spread(self, claim_id: int) -> dict[str, Any]:
        """First and last seen, the outlets that carried the claim and which carried it first, and the
        languages it was carried in, the first one first. First and last are read from dated members; an
        undated one is first only when no member has a readable date."""
        line = self.timeline(claim_id)
        dated = [e for e in line if e["dated"]] or line
        languages = list(dict.fromkeys(e["language"] for e in line if e["language"] is not None))
        return {"first_seen": dated[0]["when"], "last_seen": dated[-1]["when"], "first_outlet": dated[0]["outlet"],
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
        queries = validate_texts(texts, what="query")
        k, min_score = check_k(k), check_min_score(min_score)
        return match_claims(self._load_work(), self.embedder, queries, k, min_score, assess,
                            lambda rows: _reads.texts(self._records, rows))

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


def _check_free(path: Path) -> None:
    """A new store goes into a new or empty directory (its own leftovers aside): one that holds a store, or
    anything else, is refused, so that nothing of the user's is overwritten or removed."""
    if path.exists() and not path.is_dir():
        raise StorageError(f"{path} is a file, not a directory: give the store a directory of its own")
    if _records.exists(path):
        raise StorageError(f"{path} already holds a store: open it and update it instead")
    others = foreign_files(path)
    if others:
        raise StorageError(f"{path} holds files that are not a store's ({others}): create the store in a new or "
                           "empty directory")


def _is_int(value: Any) -> bool:
    """An integer SQLite can hold (a claim id past 64 bits names no claim)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and -2**63 <= int(value) < 2**63
