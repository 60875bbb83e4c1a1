"""Claim formation that cannot chain: density clustering proposes, the judge disposes.

HDBSCAN groups sentences whose vectors are close, and closeness chains: A is like B, B is like
C, so A and C land together though they are different assertions, and a whole story (or every
sentence with a negation, a figure or a date) becomes one bucket. Here every proposed group is
read by the same-assertion judge (:mod:`claimcluster.judge`) against one representative:

1. The representative is the medoid of the group's checkable sentences (a sentence the gate of
   :mod:`claimcluster.gate` calls no assertion never founds a claim, though the judge may read it as
   stating a claim's assertion: a question that repeats it, a headline without a verb).
2. Each other member is judged against it: those judged the same assertion stay; those that
   contradict it stay as its denials (``denies``); the rest are released.
3. The released sentences of a group are read again around a representative of their own, up to
   ``max_rounds`` times; what is left is unclustered.
4. Every unclustered sentence is judged against the representative of its nearest claim (cosine at
   least ``join_floor``) and joins it where the judge is sure (P(same) at least ``join_threshold``).

So every member of a claim was judged to state the claim's representative assertion, or to deny
it: no member is in a claim only because it is near another member. Pairs judged: at most
``max_rounds`` per clustered sentence and ``join_candidates`` per unclustered one.

The cuts: a proposed member stays unless P(same) falls under ``member_threshold`` (the pipeline's
claim granularity: 0.01, only clear intruders leave; assertion granularity: the judge's own cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from claimcluster.cluster import NOISE, medoid

__all__ = ["Formation", "form_claims", "JOIN_FLOOR", "JOIN_CANDIDATES", "MAX_ROUNDS"]

MAX_ROUNDS = 3
JOIN_CANDIDATES = 1
JOIN_FLOOR = 0.75
"""Least cosine between an unclustered sentence and a claim's representative for the judge to read the pair."""
JOIN_THRESHOLD = 0.9
"""P(same) an unclustered sentence needs to join a claim. With the floor and one candidate, chosen on the ECB+
dev topics (benchmarks/RESULTS.md): looser joins (2 candidates, cosine 0.55, the judge's own cut) added recall
of same-event pairs at a large cost in precision and in pairs judged."""


@dataclass(frozen=True)
class Formation:
    """Labels after judging, with each claim's representative and each member's relation to it.

    ``labels``: claim per sentence (NOISE when in no claim), numbered in order of formation;
    ``representatives``: row of each claim's representative, by label; ``same`` and
    ``contradict``: the judge's probabilities toward the representative (1 / 0 for the
    representative itself, NaN outside claims); ``denies``: members kept as denials;
    ``pairs_judged``: how many pairs the judge read."""

    labels: np.ndarray
    representatives: list[int]
    same: np.ndarray
    contradict: np.ndarray
    denies: np.ndarray
    pairs_judged: int


class _Claims:
    """The claims being formed, and the per-sentence arrays of :class:`Formation`."""

    def __init__(self, n: int):
        self.labels = np.full(n, NOISE, dtype=np.int64)
        self.same = np.full(n, np.nan)
        self.contradict = np.full(n, np.nan)
        self.denies = np.zeros(n, dtype=bool)
        self.representatives: list[int] = []
        self.pairs = 0

    def add(self, rep: int, rows: Sequence[int], same: np.ndarray, contradict: np.ndarray,
            denied: np.ndarray) -> None:
        label = len(self.representatives)
        self.representatives.append(rep)
        self.labels[rep], self.same[rep], self.contradict[rep] = label, 1.0, 0.0
        members = np.asarray(rows, dtype=np.int64)
        self.labels[members] = label
        self.same[members], self.contradict[members], self.denies[members] = same, contradict, denied


def form_claims(texts: Sequence[str], vectors: np.ndarray, proposed: np.ndarray, judge, *,
                checkable: np.ndarray | None = None, min_size: int = 2, member_threshold: float | None = None,
                max_rounds: int = MAX_ROUNDS,
                join_candidates: int = JOIN_CANDIDATES, join_floor: float = JOIN_FLOOR,
                join_threshold: float = JOIN_THRESHOLD, rank: np.ndarray | None = None) -> Formation:
    """Claims of single assertions from the groups ``proposed`` by clustering (see the module docstring).

    Parameters
    ----------
    texts : sequence of str
        The sentences, as the judge should read them.
    vectors : ndarray of shape (n_sentences, dim)
        Their unit vectors (medoids and join candidates).
    proposed : ndarray of shape (n_sentences,)
        Cluster labels of the proposal, NOISE for none.
    judge : SameAssertionJudge
        Anything with ``judge(a, b)`` returning a :class:`~claimcluster.judge.Judgement`.
    checkable : ndarray of bool or None
        False for sentences that state no checkable assertion: they found no claim.
    min_size : int, default=2
        Fewest members of a claim, its denials included.
    member_threshold : float or None
        The cut of P(same) for a member of a proposed group (which the density clustering already
        found close); None takes the judge's own, which unclustered sentences always need to join.
    join_candidates, join_floor, join_threshold
        An unclustered sentence is read against the representatives of its ``join_candidates`` nearest
        claims at cosine ``join_floor`` or more, and joins the first whose P(same) is at least
        ``join_threshold`` (or that it denies).
    rank : ndarray or None
        Order in which groups and ties are read (default: the input order).

    Returns
    -------
    Formation
    """
    n = len(texts)
    checkable = np.ones(n, dtype=bool) if checkable is None else np.asarray(checkable, dtype=bool)
    rank = np.arange(n) if rank is None else np.asarray(rank)
    claims = _Claims(n)
    groups = [np.flatnonzero(proposed == label) for label in np.unique(proposed[proposed != NOISE])]
    groups.sort(key=lambda rows: int(rank[rows].min()))
    pools = [sorted((int(i) for i in rows), key=lambda i: rank[i]) for rows in groups]
    formed: list[list[tuple]] = [[] for _ in groups]
    for _ in range(max_rounds):
        # One round of every group in one call (the groups do not touch each other), so the judge
        # reads many pairs at once; the claims are numbered by group, then round, as if read one by one.
        asks = []
        for g, pool in enumerate(pools):
            founders = [i for i in pool if checkable[i]]
            if len(pool) >= min_size and founders:
                rep = founders[medoid(vectors[founders])]
                asks.append((g, rep, [i for i in pool if i != rep]))
        if not asks:
            break
        verdict = judge.judge([texts[i] for _, _, others in asks for i in others],
                              [texts[rep] for _, rep, others in asks for _ in others])
        claims.pairs += len(verdict.same)
        accepted_all = verdict.accepted if member_threshold is None else verdict.accepted_at(member_threshold)
        start = 0
        for g, rep, others in asks:
            part = slice(start, start + len(others))
            start += len(others)
            accepted, denied = accepted_all[part], verdict.denied[part]
            keep = accepted | denied
            taken = {rep}
            if keep.sum() + 1 >= min_size and accepted.any():
                kept = [i for i, k in zip(others, keep) if k]
                formed[g].append((rep, kept, verdict.same[part][keep], verdict.contradict[part][keep],
                                  denied[keep] & ~accepted[keep]))
                taken.update(kept)
            pools[g] = [i for i in pools[g] if i not in taken]
    for group in formed:
        for claim in group:
            claims.add(*claim)
    _join(texts, vectors, rank, judge, claims, join_candidates, join_floor, join_threshold)
    return Formation(claims.labels, claims.representatives, claims.same, claims.contradict, claims.denies,
                     claims.pairs)


def _join(texts: Sequence[str], vectors: np.ndarray, rank: np.ndarray, judge, claims: _Claims, candidates: int,
          floor: float, threshold: float) -> None:
    """Unclustered sentences join the nearest claim whose representative the judge says they
    state (or deny); a claim's representative set is fixed before any join, so joins cannot chain."""
    reps = np.asarray(claims.representatives, dtype=np.int64)
    loose = np.array(sorted(np.flatnonzero(claims.labels == NOISE), key=lambda i: rank[i]), dtype=np.int64)
    if not len(reps) or not len(loose) or candidates < 1:
        return
    similarity = vectors[loose] @ vectors[reps].T
    depth = min(candidates, len(reps))
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :depth]
    for round_ in range(depth):
        ask = [(j, int(nearest[j, round_])) for j in range(len(loose))
               if claims.labels[loose[j]] == NOISE and similarity[j, nearest[j, round_]] >= floor]
        if not ask:
            continue
        verdict = judge.judge([texts[loose[j]] for j, _ in ask], [texts[reps[c]] for _, c in ask])
        claims.pairs += len(ask)
        for (j, c), accepted, denied, same, contradict in zip(ask, verdict.accepted_at(threshold), verdict.denied,
                                                             verdict.same, verdict.contradict):
            if accepted or denied:
                row = loose[j]
                claims.labels[row], claims.same[row], claims.contradict[row] = c, same, contradict
                claims.denies[row] = denied
