"""The store's join rule: the clustering rule applied to one new point.

Each claim keeps the members it was formed with (its *core*), their core distances and the
mutual-reachability distance at which the claim was born in the HDBSCAN hierarchy (its
*radius*). A new sentence ``p`` joins claim ``C`` when

* ``max(core(p), core(m), d(p, m)) <= radius(C)`` for its nearest core member ``m``: in the
  single-linkage hierarchy ``p`` would have been inside ``C`` when ``C`` was born, so HDBSCAN
  would have labelled it ``C``; and
* ``C``'s core with ``p`` added still meets the cohesion bar (``min_cohesion``).

``core(p)`` is measured against the sentences already in the store, never against the
other sentences of the batch. Because the test reads only the store as it was and the
claim's core, a batch fed at once or document by document makes the same assignments to
claims that existed before the batch. What may differ is the set of *new* claims: HDBSCAN
finds them among the sentences left over, and a group that is dense when its documents
arrive together may be noise when they arrive one at a time (it is then clustered later,
when enough of it has arrived, from the unclustered pool).

"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from claimcluster.cluster import mean_pairwise_similarity

# Stored sentences searched for a new sentence's nearest claim members (at least min_samples):
# the rule needs the nearest core member of each claim within reach, and 64 neighbours
# covered every join of the 1,000-sentence update into a 100k store (benchmarks/store_update.py).
JOIN_NEIGHBOURS = 64


def _distances(similarities: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(2.0 - 2.0 * similarities.astype(np.float64), 0.0))


def core_distances(index: Any, vectors: np.ndarray, k: int) -> np.ndarray:
    """Distance from each vector to its k-th nearest stored sentence (the FAISS ``index`` of the store)."""
    sims, _ = index.search(vectors, min(index.ntotal, k))
    return _distances(sims)[:, -1]


def join_known(vectors: np.ndarray, index: Any, stored: np.ndarray, claim_of: Sequence[int | None],
               core_of: Sequence[float | None] | np.ndarray, claims: Mapping[int, Mapping[str, Any]], *,
               min_samples: int, min_cohesion: float, admissible: Callable[[int, int], bool] | None = None,
               ) -> tuple[list[int | None], np.ndarray, list[list[int]]]:
    """For each new vector: the claim it joins (or None), its core distance against the store,
    and every claim it could join, nearest first (more than one is a merge suggestion).

    ``claim_of`` / ``core_of`` give each stored row's claim and core distance; ``claims`` each
    claim's ``core_rows`` and ``radius``; ``admissible(i, claim_id)`` may refuse a join (the
    assertion-granularity check)."""
    n = len(vectors)
    if n == 0 or len(stored) == 0:
        return [None] * n, np.full(n, np.inf), [[] for _ in range(n)]
    depth = min(len(stored), max(JOIN_NEIGHBOURS, min_samples))
    sims, rows = index.search(vectors, depth)
    dists = _distances(sims)
    cores = dists[:, min(min_samples, depth) - 1]  # min_samples-th nearest stored sentence
    claim_core = {cid: set(c["core_rows"]) for cid, c in claims.items()}
    core_sums: dict[int, np.ndarray] = {}  # sum of each claim's core vectors, computed once per call
    ranked: list[list[int]] = []
    for i in range(n):
        best: dict[int, float] = {}
        for dist, row in zip(dists[i], rows[i]):
            claim_id = claim_of[row] if row >= 0 else None
            if claim_id is None or claim_id in best or row not in claim_core[claim_id]:
                continue
            reach = max(cores[i], core_of[row], dist)
            core_rows = claims[claim_id]["core_rows"]
            if claim_id not in core_sums:
                core_sums[claim_id] = stored[core_rows].sum(axis=0, dtype=np.float64)
            cohesion = float(mean_pairwise_similarity(core_sums[claim_id] + vectors[i], len(core_rows) + 1))
            if reach <= claims[claim_id]["radius"] and cohesion >= min_cohesion:
                best[claim_id] = reach
        if best and admissible is not None:
            best = {cid: reach for cid, reach in best.items() if admissible(i, cid)}
        ranked.append(sorted(best, key=lambda cid: (best[cid], cid)))
    return [r[0] if r else None for r in ranked], cores, ranked
