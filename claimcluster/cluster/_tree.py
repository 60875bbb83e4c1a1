"""The cluster tree, after fast_hdbscan's ``cluster_trees``: the single-linkage tree of the spanning tree
(:mod:`._spanning`), and the selection of clusters from its condensed form (excess of mass or leaves) under a
cohesion bar."""

from __future__ import annotations

import numpy as np

NOISE = -1
"""Label of a sentence that belongs to no claim."""

_SUM_CHUNK = 65_536


def single_linkage_tree(mst: np.ndarray) -> np.ndarray:
    """HDBSCAN's single-linkage tree from MST edges, ties broken by endpoint ids."""
    from hdbscan._hdbscan_linkage import label

    mst = mst[np.lexsort((mst[:, 1], mst[:, 0], mst[:, 2]))]
    return label(np.ascontiguousarray(mst, dtype=np.float64))


def mean_pairwise_similarity(sums: np.ndarray, sizes: np.ndarray | int) -> np.ndarray:
    """Mean cosine over distinct member pairs, from the sum of unit rows: (|S|^2 - n) / (n (n - 1)).

    Unlike similarity to the centroid it does not flatter small groups (two members with
    cosine 0 are 0.71 from their centroid, but 0 here). One member gives 1.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    squared = np.einsum("ij,ij->i", sums, sums) if np.ndim(sums) == 2 else float(np.dot(sums, sums))
    pairs = sizes * (sizes - 1)
    return np.where(pairs > 0, (squared - sizes) / np.maximum(pairs, 1), 1.0)


def select_clusters(
    condensed: np.ndarray, X: np.ndarray, *, min_cohesion: float = 0.0, method: str = "eom",
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat clusters from a condensed tree: excess of mass under a cohesion constraint.

    A cluster of the condensed tree may be selected only if the mean cosine similarity of
    its member pairs (:func:`mean_pairwise_similarity`) is at least ``min_cohesion``; otherwise
    the selection descends to its children, as EOM does when a
    parent is less stable than its children. With ``min_cohesion=0`` this is HDBSCAN's EOM
    (or leaf) selection exactly, where the root is never selected; with a cohesion bar the
    root may be, so that a corpus that states one claim throughout yields that claim.

    Point ``i`` of the tree is row ``rows[i]`` of ``X`` when ``rows`` is given (copies share a row),
    else row ``i``. Returns labels (NOISE for unselected points, clusters numbered by selection order),
    membership probabilities (lambda at which a point left, over the cluster's largest) and
    each selected cluster's birth lambda (0 for the root).
    """
    from hdbscan._hdbscan_tree import compute_stability

    n = len(X) if rows is None else len(rows)
    parent = condensed["parent"].astype(np.int64)
    child = condensed["child"].astype(np.int64)
    lam = condensed["lambda_val"].astype(np.float64)
    if parent.size == 0:
        return np.full(n, NOISE, dtype=np.int64), np.zeros(n), np.zeros(0)
    n_nodes = int(parent.max()) + 1 - n
    is_point = child < n
    sums = np.zeros((n_nodes, X.shape[1]))
    sizes = np.zeros(n_nodes)
    point_parent, point_child = parent[is_point] - n, child[is_point]
    for first in range(0, len(point_child), _SUM_CHUNK):  # in chunks: a million rows in float64 is 3 GB
        chunk = point_child[first:first + _SUM_CHUNK]
        np.add.at(sums, point_parent[first:first + _SUM_CHUNK],
                  X[chunk if rows is None else rows[chunk]].astype(np.float64))
    np.add.at(sizes, point_parent, 1)
    parent_of = dict(zip(child[~is_point].tolist(), parent[~is_point].tolist()))
    children: dict[int, list[int]] = {}
    for node, up in parent_of.items():
        children.setdefault(up, []).append(node)
    for node in sorted(parent_of, reverse=True):  # children have larger ids than parents
        sums[parent_of[node] - n] += sums[node - n]
        sizes[parent_of[node] - n] += sizes[node - n]
    cohesion = mean_pairwise_similarity(sums, sizes)
    stability = compute_stability(condensed)
    value: dict[int, float] = {}
    chosen: dict[int, list[int]] = {}
    for node in range(n + n_nodes - 1, n - 1, -1):
        kids = children.get(node, [])
        below = sum(value[k] for k in kids)
        # The root may be a claim only under a cohesion bar (one tight corpus-wide claim).
        eligible = cohesion[node - n] >= min_cohesion and (node != n or min_cohesion > 0)
        take = eligible and (not kids if method == "leaf" else stability.get(node, 0.0) >= below)
        if take or (eligible and method == "leaf" and not any(chosen[k] for k in kids)):
            value[node], chosen[node] = stability.get(node, 0.0), [node]
        else:
            value[node], chosen[node] = below, [c for k in kids for c in chosen[k]]
    selected = {node: rank for rank, node in enumerate(sorted(chosen[n]))}
    owner: dict[int, int] = {}
    for node in range(n, n + n_nodes):
        if node in selected:
            owner[node] = selected[node]
        elif node in parent_of and parent_of[node] in owner:
            owner[node] = owner[parent_of[node]]
    labels = np.full(n, NOISE, dtype=np.int64)
    probabilities = np.zeros(n)
    point_rows = np.flatnonzero(is_point)
    point_owner = np.array([owner.get(int(p), NOISE) for p in parent[point_rows]], dtype=np.int64)
    labels[child[point_rows]] = point_owner
    lam_point = np.zeros(n)
    lam_point[child[point_rows]] = lam[point_rows]
    clustered = labels != NOISE  # each cluster's largest lambda, in one pass (not one pass per cluster)
    top = np.full(len(selected), -np.inf)
    np.maximum.at(top, labels[clustered], lam_point[clustered])
    top_of = top[labels[clustered]]
    usable = np.isfinite(top_of) & (top_of > 0)
    probabilities[clustered] = np.where(usable, np.minimum(lam_point[clustered], top_of) / np.where(usable, top_of, 1),
                                        1.0)
    birth_of = dict(zip(child[~is_point].tolist(), lam[~is_point].tolist()))
    births = np.array([birth_of.get(node, 0.0) for node in sorted(selected)])
    return labels, probabilities, births
