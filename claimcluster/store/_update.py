"""The write path of a :class:`~claimcluster.store.ClaimStore`: one batch of documents against the store's
state in memory, turned into the records and vectors the update adds (:class:`~claimcluster.store._rows.Change`).

Every record is computed here once: a new sentence's claim by the join rule (:mod:`claimcluster.store._join`),
new claims from the unclustered pool, and each new member's similarity and stance toward its claim's
representative, which reading the store then only looks up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from claimcluster.assertion import StanceScorer, relate, shipped_stance_scorer
from claimcluster.claims import claim_cohesion, member_stances, split_assertions
from claimcluster.claims.formation import JOIN_CANDIDATES, form_claims
from claimcluster.claims.settings import ClaimSettings
from claimcluster.cluster import NOISE, cluster_vectors, medoid
from claimcluster.documents import Document, Rejection
from claimcluster.errors import InputError, ModelMismatchError
from claimcluster.gate import gate_reasons
from claimcluster.judge import shipped_judge
from claimcluster.segment import detect_language, segment_documents
from claimcluster.store._join import core_distances, join_known
from claimcluster.store._rows import (
    Change,
    ClaimRow,
    CoreRow,
    DocumentRow,
    LeftOutRow,
    MemberRow,
    MergeRow,
    SentenceRow,
    StatsRow,
)

if TYPE_CHECKING:
    from claimcluster.embed import Embedder


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
    """Whether the update merged the store's vector segments (past :data:`claimcluster.store.COMPACT_AFTER`)."""


@dataclass
class Work:
    """What updates and matching need in memory, for one generation of the store."""

    generation: int
    vectors: np.ndarray
    index: Any
    claim_of: np.ndarray
    """Claim of each sentence row, -1 for none."""
    core_of: np.ndarray
    """Core distance of each core row (inf elsewhere)."""
    claims: dict[int, dict[str, Any]]
    """representative, core_rows, radius of each claim"""
    norms: list[str]
    matcher: Any = None


class Update:
    """One batch of documents against the store's state in memory: ``run`` changes the state
    (``work``) and returns the records it adds."""

    def __init__(self, work: Work, settings: ClaimSettings, embedder: Embedder,
                 known_doc_ids: Callable[[Sequence[str]], set[str]], batch: int,
                 sources: Callable[[Sequence[int]], dict[int, tuple[str, str | None]]] = lambda rows: {}):
        self.work, self.settings, self.embedder, self.known_doc_ids = work, settings, embedder, known_doc_ids
        self.min_cluster_size, self.min_samples, self.min_cohesion = settings.numbers()
        self.batch, self.sources = batch, sources
        self._scorer: StanceScorer | None = None
        self._scorer_loaded = False
        self._judge: Any = None
        self.judged: dict[int, tuple[float, float, bool]] = {}
        """The judge's (same, contradict, denies) of each row judged toward its claim's representative."""
        self.pairs_judged = 0

    @property
    def judge(self):
        """The shipped judge, unless the store was made without one (``settings.judge`` None:
        a store made before the judge keeps its rule)."""
        if self._judge is None and self.settings.judge is not None:

            self._judge = shipped_judge()
        return self._judge

    @property
    def stance(self) -> StanceScorer | None:
        if not self._scorer_loaded:
            try:
                self._scorer = shipped_stance_scorer(self.embedder.model_id)
            except ModelMismatchError:
                self._scorer = None
            self._scorer_loaded = True
        return self._scorer

    def run(self, documents: list[Document], report: UpdateReport) -> Change:
        work = self.work
        known = self.known_doc_ids(sorted({d.doc_id for d in documents}))  # unique within the batch: checked
        if known:
            raise InputError(f"document {sorted(known)[0]!r} is already in the store; give updates new doc_ids")
        segmentation = segment_documents(documents)
        report.rejected.extend(segmentation.dropped)
        sentences = segmentation.sentences
        texts = [s.norm for s in sentences]
        vectors = self.embedder.encode(texts).astype(np.float32, copy=False)
        report.documents, report.sentences = len(documents), len(sentences)
        first_new = len(work.norms)
        batch = self.batch
        change = Change(vectors=vectors, batch=batch)
        change.left_out = [LeftOutRow(batch, r.where, r.reason, r.text) for r in report.rejected]
        change.documents = [DocumentRow(d.doc_id, d.outlet, d.published, d.title, d.url, batch) for d in documents]
        change.sentences = [SentenceRow(first_new + i, s.doc_id, s.position, s.text,
                                        s.norm if s.norm != s.text else None, s.start, s.end, batch, s.language)
                            for i, s in enumerate(sentences)]
        assigned, ranked = self._join_known(vectors, texts, first_new)
        for i, claims in enumerate(ranked):
            if claims:
                report.joined[claims[0]] = report.joined.get(claims[0], 0) + 1
            if len(claims) > 1:
                report.merge_suggestions.append({"claims": claims, "sentence": first_new + i})
        change.merges = [MergeRow(json.dumps(m["claims"]), m["sentence"]) for m in report.merge_suggestions]
        work.vectors = np.vstack([work.vectors, vectors]) if len(work.vectors) else vectors
        work.index.add(vectors)
        work.claim_of = np.concatenate([work.claim_of, np.array([-1 if a is None else a for a in assigned],
                                                                dtype=np.int64)])
        work.core_of = np.concatenate([work.core_of, np.full(len(vectors), np.inf)])
        work.norms.extend(texts)
        new_members = [first_new + i for i, a in enumerate(assigned) if a is not None]
        new_claims = self._form_new_claims(first_new, report, batch, change)
        new_members += [r for cid in new_claims for r in work.claims[cid]["core_rows"]]
        change.members = self._members(new_members)
        grown = {int(work.claim_of[r]) for r in new_members} - set(new_claims)
        stats = self._stats(grown | set(new_claims),
                            {first_new + i: (s.doc_id, s.outlet) for i, s in enumerate(sentences)})
        change.stats = [StatsRow(*stats[cid], cid) for cid in sorted(grown)]
        change.claims = [ClaimRow(cid, work.claims[cid]["representative"], work.claims[cid]["radius"], batch,
                                  *stats[cid])
                         for cid in new_claims]
        change.core_rows = [CoreRow(cid, r, _finite(work.core_of[r])) for cid in new_claims
                            for r in work.claims[cid]["core_rows"]]
        report.new_claims = new_claims
        report.unclustered = int(np.sum(work.claim_of[first_new:] < 0))
        return change

    def _join_known(self, vectors: np.ndarray, texts: Sequence[str],
                    first_new: int) -> tuple[list[int | None], list[list[int]]]:
        """Claim id (or None) for each new vector: the clustering rule against the store as it was
        proposes, the judge disposes (a sentence joins the nearest proposed claim whose representative
        it states, or denies at claim granularity)."""
        work = self.work
        claim_of = [None if c < 0 else int(c) for c in work.claim_of]
        assigned, _, ranked = join_known(
            vectors, work.index, work.vectors, claim_of, work.core_of, work.claims,
            min_samples=self.min_samples, min_cohesion=self.min_cohesion)
        if self.judge is None:
            if self.settings.granularity == "assertion":
                ranked = [[c for c in claims if self._same_assertion(texts[i], vectors[i], c)]
                          for i, claims in enumerate(ranked)]
            return [r[0] if r else None for r in ranked], ranked
        claim_level = self.settings.granularity != "assertion"
        accepted: list[list[int]] = [[] for _ in ranked]
        pairs = [(i, c) for i, claims in enumerate(ranked) for c in claims[:JOIN_CANDIDATES]]
        if pairs:
            verdict = self.judge.judge([texts[i] for i, _ in pairs],
                                       [work.norms[work.claims[c]["representative"]] for _, c in pairs])
            self.pairs_judged += len(pairs)
            # The clustering rule proposed these joins, as it proposes a claim's members: the same cut.
            oks = verdict.accepted_at(float(self.judge.card["member_threshold"])) if claim_level else verdict.accepted
            for (i, c), ok, denied, same, contradict in zip(pairs, oks, verdict.denied, verdict.same,
                                                            verdict.contradict):
                if ok or (denied and claim_level):
                    if not accepted[i]:
                        self.judged[first_new + i] = (float(same), float(contradict), bool(denied and not ok))
                    accepted[i].append(c)
        return [a[0] if a else None for a in accepted], accepted

    def _same_assertion(self, text: str, vector: np.ndarray, claim_id: int) -> bool:
        """Without a judge: neither a denial of the claim's representative, nor a statement of other
        figures, nor the same relation between two names with the roles swapped."""
        rep = self.work.claims[claim_id]["representative"]
        if self.stance is None:
            return True
        (relation,) = relate([text], vector[None, :], self.work.norms[rep], self.work.vectors[rep], self.stance)
        return relation.stance != "denies" and not {"figures", "roles"} & set(relation.conflicts)

    def _form_new_claims(self, first_new: int, report: UpdateReport, batch: int, change: Change) -> list[int]:
        work = self.work
        pool = np.flatnonzero(work.claim_of < 0)
        if len(pool) < 2:
            return []
        result = cluster_vectors(work.vectors[pool], min_cluster_size=self.min_cluster_size,
                                 min_samples=self.min_samples,
                                 min_cohesion=self.min_cohesion)
        labels, radii = result.labels, result.radii
        reps: list[int] | None = None
        if self.judge is not None:
            labels, reps, radii = self._judged_formation(pool, labels, radii)
        elif self.settings.granularity == "assertion" and self.stance is not None:
            split = split_assertions([work.norms[r] for r in pool], work.vectors[pool], labels, self.stance,
                                     min_size=self.min_cluster_size)
            # A split-off part is born inside its parent claim: it keeps the parent's radius.
            parent_of = {int(new): int(old) for new, old in zip(split, labels) if new != NOISE}
            radii = np.array([radii[parent_of[k]] for k in range(len(parent_of))])
            labels = split
        next_id = max(work.claims, default=-1) + 1
        new_claims = []
        for label in range(len(radii)):
            rows = [int(pool[j]) for j in np.flatnonzero(labels == label)]
            if not any(r >= first_new for r in rows):
                continue
            representative = rows[medoid(work.vectors[rows])] if reps is None else int(pool[reps[label]])
            work.claims[next_id] = {"representative": representative, "core_rows": rows, "radius": float(radii[label])}
            work.claim_of[rows] = next_id
            new_claims.append(next_id)
            next_id += 1
        # Core distances of new claims' members count only the store; refresh them for the join rule.
        rows = [r for cid in new_claims for r in work.claims[cid]["core_rows"]]
        if rows:
            work.core_of[rows] = core_distances(work.index, work.vectors[rows], self.min_samples + 1)
        return new_claims

    def _judged_formation(self, pool: np.ndarray, labels: np.ndarray, radii: np.ndarray):
        """(labels, representative positions, radii) of the pool's proposed claims read by the judge
        (:func:`claimcluster.claims.formation.form_claims`); a claim keeps the radius of the proposal it came from,
        and at assertion granularity its denials are left unclustered."""
        work = self.work
        texts = [work.norms[r] for r in pool]
        checkable = np.array([reason is None for reason in gate_reasons(texts)], dtype=bool)
        claim_level = self.settings.granularity != "assertion"
        formation = form_claims(texts, work.vectors[pool], labels, self.judge, checkable=checkable,
                                min_size=self.min_cluster_size, rank=pool,
                                member_threshold=float(self.judge.card["member_threshold"]) if claim_level else None)
        self.pairs_judged += formation.pairs_judged
        out = formation.labels.copy()
        if self.settings.granularity == "assertion":
            out[formation.denies] = NOISE
        # A representative founds a claim only inside a proposed group: the claim keeps that group's radius.
        new_radii = np.array([radii[labels[rep]] for rep in formation.representatives])
        for j in np.flatnonzero(out != NOISE):
            self.judged[int(pool[j])] = (float(formation.same[j]), float(formation.contradict[j]),
                                         bool(formation.denies[j]))
        return out, list(formation.representatives), new_radii

    def _members(self, rows: Sequence[int]) -> list[MemberRow]:
        """(row, claim, similarity, stance, stance_score) of new members, toward their claim's representative."""
        work = self.work
        if not rows:
            return []
        rows = list(rows)
        claims = [int(work.claim_of[r]) for r in rows]
        reps = [work.claims[c]["representative"] for c in claims]
        similarity = np.einsum("ij,ij->i", work.vectors[rows].astype(np.float64), work.vectors[reps].astype(np.float64))
        stances = member_stances([work.norms[r] for r in rows], work.vectors[rows], [work.norms[r] for r in reps],
                                 work.vectors[reps], self.stance, [self.judged.get(r) for r in rows],
                                 [r == rep for r, rep in zip(rows, reps)])
        return [MemberRow(row, claim, float(sim), stance, score)
                for row, claim, sim, (stance, score) in zip(rows, claims, similarity, stances)]

    def _stats(self, claims: set[int],
               new: dict[int, tuple[str, str | None]]) -> dict[int, tuple[float, int, int, int]]:
        """(cohesion, size, n_documents, n_outlets) of each claim, over all its members: the mean
        pairwise similarity, and the counts its place in the spread order needs (a document of
        unknown outlet counts as an outlet of its own). ``new`` gives (doc_id, outlet) of rows not
        stored yet; the others are read with ``self.sources``."""
        work = self.work
        order = np.argsort(work.claim_of, kind="stable")
        sorted_claims = work.claim_of[order]
        spans = {cid: order[slice(*np.searchsorted(sorted_claims, [cid, cid + 1]))] for cid in claims}
        stored = self.sources(sorted({r for rows in spans.values() for r in rows.tolist() if r not in new}))
        out = {}
        for cid, rows in spans.items():
            where = [new[r] if r in new else stored[r] for r in rows.tolist()]
            out[cid] = (claim_cohesion(work.vectors[rows]), len(rows),
                        len({doc for doc, _ in where}), len({outlet if outlet is not None else doc
                                                              for doc, outlet in where}))
        return out


def empty_work(dimension: int) -> Work:
    import faiss

    return Work(0, np.zeros((0, dimension), dtype=np.float32), faiss.IndexFlatIP(dimension),
                 np.zeros(0, dtype=np.int64), np.zeros(0), {}, [])


def migrated(state: dict[str, Any], embedder: Embedder, settings: ClaimSettings) -> Change:
    """The records of a format-2 store's state, each member's similarity and stance computed once."""
    import faiss

    sentences, vectors = state["sentences"], state["vectors"]
    index = faiss.IndexFlatIP(embedder.dimension)
    work = Work(0, vectors, index, np.array([-1 if s["claim"] is None else s["claim"] for s in sentences],
                                             dtype=np.int64), np.full(len(sentences), np.inf),
                 {c["id"]: {"representative": c["representative"], "core_rows": c["core_rows"], "radius": c["radius"]}
                  for c in state["claims"]}, [s["norm"] for s in sentences])
    outlet_of = {d["doc_id"]: d.get("outlet") for d in state["documents"]}
    update = Update(work, settings, embedder, lambda ids: set(), batch=0)
    # What the earlier format's updates left out was not kept: recorded from the next batch on.
    change = Change(vectors=vectors, batch=max((d["batch"] + 1 for d in state["documents"]), default=0))
    change.documents = [DocumentRow(d["doc_id"], d.get("outlet"), d.get("published"), d.get("title"), d.get("url"),
                                    d["batch"])
                        for d in state["documents"]]
    languages = _languages(sentences)
    change.sentences = [SentenceRow(row, s["doc_id"], s["position"], s["text"],
                                    s["norm"] if s["norm"] != s["text"] else None, s["start"], s["end"], s["batch"],
                                    languages[row]) for row, s in enumerate(sentences)]
    stats = update._stats(set(work.claims), {row: (s["doc_id"], outlet_of[s["doc_id"]])
                                             for row, s in enumerate(sentences)})
    change.claims = [ClaimRow(c["id"], c["representative"], float(c["radius"]), c["batch"], *stats[c["id"]])
                     for c in state["claims"]]
    change.members = update._members([int(r) for r in np.flatnonzero(work.claim_of >= 0)])
    change.core_rows = [CoreRow(c["id"], r, sentences[r]["core"]) for c in state["claims"]
                        for r in sorted(set(c["core_rows"]))]
    change.merges = [MergeRow(json.dumps(m["claims"]), m["sentence"]) for m in state["merges"]]
    return change


def _languages(sentences: list[dict[str, Any]]) -> list[str | None]:
    """Each stored sentence's language, as segmentation reads it: a sentence read with too little
    confidence takes its document's, here the commonest among the document's confident sentences
    (a format-2 store kept no document text)."""
    from collections import Counter

    found = [detect_language(s["norm"]) for s in sentences]
    by_doc: dict[str, Counter] = {}
    for s, language in zip(sentences, found):
        if language is not None:
            by_doc.setdefault(s["doc_id"], Counter())[language] += 1
    return [language if language is not None else
            (by_doc[s["doc_id"]].most_common(1)[0][0] if s["doc_id"] in by_doc else None)
            for s, language in zip(sentences, found)]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
