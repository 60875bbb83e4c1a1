"""Matching queries to a store's claims: each claim ranked by its best-matching member, one record per claim
(:class:`ClaimMatch`), assessed against the claim's representative with the text and vector the search read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from claimcluster.index import ClaimIndex
from claimcluster.judge import Assessment, match_relations

if TYPE_CHECKING:
    from claimcluster.embed import Embedder
    from claimcluster.store._update import Work

# Member matches fetched per claim wanted: a claim's best member must be among them.
MATCHES_PER_CLAIM = 10
MIN_MATCH_DEPTH = 50


@dataclass(frozen=True)
class ClaimMatch(Assessment):
    """A known claim that a query repeats: best-matching member and its score; with ``match(...,
    assess=True)`` also how the query relates to the claim's representative
    (:class:`~claimcluster.judge.Assessment`)."""

    claim_id: int
    score: float
    rank: int
    representative: str
    matched_text: str
    matched_doc_id: str

    def to_json(self, assess: bool = False) -> dict[str, Any]:
        """The match as JSON-ready values (the assessment fields only with ``assess``)."""
        out = {"claim_id": self.claim_id, "score": self.score, "rank": self.rank, "representative": self.representative,
               "matched_text": self.matched_text, "matched_doc_id": self.matched_doc_id}
        return {**out, **self.assessment()} if assess else out


def match_claims(work: Work, embedder: Embedder, queries: list[str], k: int, min_score: float | str | None,
                 assess: bool, texts: Callable[[Sequence[int]], dict[int, tuple[str, str]]]) -> list[list[ClaimMatch]]:
    """The ``k`` best claims for each query (``texts`` gives the stored text and document of sentence rows)."""
    if work.matcher is None:
        rows = np.flatnonzero(work.claim_of >= 0)
        matcher = ClaimIndex(embedder, rerank=False)
        if len(rows):
            matcher.add([work.norms[r] for r in rows], ids=[str(r) for r in rows], vectors=work.vectors[rows])
        work.matcher = matcher
    prepared, vectors = work.matcher.prepare(queries)
    found = work.matcher.search_prepared(prepared, vectors, max(MIN_MATCH_DEPTH, k * MATCHES_PER_CLAIM),
                                         min_score=min_score)
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
    shown = texts(wanted)
    out = []
    for q, ranked in enumerate(ranked_all):
        reps = [work.claims[cid]["representative"] for cid, _ in ranked]
        relations: list[dict[str, Any]] = [{} for _ in ranked]
        if assess and ranked:
            # the query as the search read it (cleaned, with its vector): one embedding per query
            relations = match_relations([prepared[q]] * len(reps), np.repeat(vectors[q][None, :], len(reps), 0),
                                        [work.norms[r] for r in reps], work.vectors[reps], embedder.model_id)
        out.append([ClaimMatch(claim_id=cid, score=score, rank=rank, representative=shown[rep][0],
                               matched_text=shown[row][0], matched_doc_id=shown[row][1], **relation)
                    for rank, ((cid, (score, row)), rep, relation) in enumerate(zip(ranked, reps, relations), 1)])
    return out
