"""Spanning trees of the mutual-reachability graph of unit vectors, exact or from a k-NN graph.

HDBSCAN's hierarchy is the single-linkage tree of the mutual-reachability minimum spanning
tree. :func:`exact_mst` builds that tree from the full distance matrix (the same tree as
``hdbscan.HDBSCAN``); :func:`knn_mst` from a FAISS k-nearest-neighbour graph, its forest's
components bridged by their most central members (only edges longer than every k-NN distance
can differ from the exact tree).

Both work on distinct rows with a multiplicity each (``counts``): a row seen ``c`` times is
``c`` points at distance 0, so its copies count toward core distances, and
:func:`with_copies` adds the zero-length (core-distance) edges that join the copies. The tree
is then the one ``hdbscan.HDBSCAN`` builds on the rows with their copies, at the cost of the
distinct rows only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Search = Callable[[Any, np.ndarray, int], tuple[np.ndarray, np.ndarray]]
"""``search(index, X, k) -> (inner products, ids)`` of every row of X against a built FAISS index."""

# Up to this many rows the k-NN graph is searched exactly (IndexFlatIP); above, with IVF.
EXACT_KNN_MAX = 20_000
# IVF lists: 4 * sqrt(n), trained on 40 points per list (FAISS warns below 39), probing 1/32 of
# the lists (at least 8) for a recall near 0.99 on sentence embeddings.
IVF_LISTS_PER_SQRT = 4
IVF_TRAIN_PER_LIST = 40
IVF_PROBE_SHARE = 32
IVF_MAX_ROWS = 200_000
"""Above this many rows the k-NN graph comes from HNSW instead of IVF."""
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 40, 32
DENSE_BRIDGE_MAX = 2048
"""Components of the k-NN forest bridged through all pairs of their representatives; above, a k-NN graph."""
BRIDGE_NEIGHBORS = 16


def _euclidean_from_ip(ip: np.ndarray) -> np.ndarray:
    """Euclidean distance between unit vectors from their inner product."""
    return np.sqrt(np.maximum(2.0 - 2.0 * ip, 0.0))


def core_distances(dist: np.ndarray, idx: np.ndarray, counts: np.ndarray, min_samples: int) -> np.ndarray:
    """Distance from each distinct row to its ``min_samples``-th neighbour, copies included.

    ``dist`` / ``idx`` are each row's nearest distinct rows in increasing distance, the row
    itself first; ``counts`` the multiplicity of every distinct row. As in ``hdbscan``, the
    row itself is position 0 and ``min_samples`` is capped at the number of points minus one.
    """
    k = min(int(min_samples), int(counts.sum()) - 1)
    weights = np.where(idx >= 0, counts[np.maximum(idx, 0)], 0)
    covered = np.cumsum(weights, axis=1)
    column = np.minimum((covered <= k).sum(axis=1), dist.shape[1] - 1)
    return dist[np.arange(len(dist)), column]


def with_copies(mst: np.ndarray, core: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MST of the rows with their copies: distinct rows keep ids 0..m-1, extra copies follow.

    Returns the edges and, for every point of the expanded set, the distinct row it copies.
    """
    m = len(counts)
    source = np.concatenate([np.arange(m), np.repeat(np.arange(m), counts - 1)])
    extra = np.arange(m, len(source))
    copies = np.column_stack([source[m:], extra, core[source[m:]]]).astype(np.float64)
    return np.vstack([mst, copies]) if len(copies) else mst, source


def exact_mst(X: np.ndarray, min_samples: int, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact mutual-reachability MST of distinct unit rows: (n-1, 3) edges (a, b, weight), core distances."""
    from hdbscan._hdbscan_linkage import mst_linkage_core

    counts = np.ones(len(X), dtype=np.int64) if counts is None else counts
    X64 = X.astype(np.float64)
    reach = _euclidean_from_ip(X64 @ X64.T)
    np.fill_diagonal(reach, -1.0)  # each row's own entry sorts first
    width = min(len(X), int(min_samples) + 1)
    nearest = np.argpartition(reach, width - 1, axis=1)[:, :width]
    near = np.take_along_axis(reach, nearest, axis=1)
    order = np.argsort(near, axis=1, kind="stable")
    near = np.maximum(np.take_along_axis(near, order, axis=1), 0.0)
    core = core_distances(near, np.take_along_axis(nearest, order, axis=1), counts, min_samples)
    np.maximum(reach, core[:, None], out=reach)
    np.maximum(reach, core[None, :], out=reach)
    np.fill_diagonal(reach, 0.0)
    return mst_linkage_core(reach), core


def knn_graph(X: np.ndarray, k: int, search: Search | None = None) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of every row (itself first) by FAISS: (euclidean distances, indices).

    ``search(index, X, k)`` runs the searches of every row against the built index elsewhere (the
    Ray engine searches it in shards); by default ``index.search(X, k)`` here.

    Exact search up to :data:`EXACT_KNN_MAX` rows, then an IVF index probing a fixed share of its
    lists (recall 0.97-0.99 on sentence embeddings), and above :data:`IVF_MAX_ROWS` an HNSW graph
    (recall 0.99 at 200k; IVF's fixed share would cost n^2 there). The first two are deterministic;
    FAISS builds HNSW on several threads and does not promise the same graph each time, though
    two builds of 60k rows here gave identical neighbours.
    """
    import faiss

    n, dim = X.shape
    k = min(k, n)
    index: Any
    if n <= EXACT_KNN_MAX:
        index = faiss.IndexFlatIP(dim)
    elif n > IVF_MAX_ROWS:
        # IVF probes a fixed share of its lists, so its cost grows as n^2: past a few hundred thousand
        # rows an HNSW graph (n log n) is faster at a higher recall (0.991 at 200k vs IVF's 0.974).
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
    else:
        nlist = int(IVF_LISTS_PER_SQRT * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        train = X[np.sort(rng.choice(n, size=min(n, nlist * IVF_TRAIN_PER_LIST), replace=False))]
        index.cp.seed = 0
        index.train(train)
        index.nprobe = max(8, nlist // IVF_PROBE_SHARE)
    index.add(X)
    ip, idx = search(index, X, k) if search is not None else index.search(X, k)
    # A row's own entry can be displaced by an exact tie or missed by IVF: put self first.
    self_col = idx == np.arange(n)[:, None]
    missing = ~self_col.any(axis=1)
    if missing.any():
        idx[missing, 1:] = idx[missing, :-1]
        ip[missing, 1:] = ip[missing, :-1]
        idx[missing, 0] = np.flatnonzero(missing)
        ip[missing, 0] = 1.0
    order = np.argsort(~(idx == np.arange(n)[:, None]), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    ip = np.take_along_axis(ip, order, axis=1)
    dist = _euclidean_from_ip(ip.astype(np.float64))
    dist[idx < 0] = np.inf
    return dist, idx


def knn_mst(
    X: np.ndarray, min_samples: int, n_neighbors: int, counts: np.ndarray | None = None,
    search: Search | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate mutual-reachability MST from a k-NN graph, components bridged; and core distances."""
    counts = np.ones(len(X), dtype=np.int64) if counts is None else counts
    dist, idx = knn_graph(X, max(n_neighbors, min_samples) + 1, search)
    core = core_distances(dist, idx, counts, min_samples)
    return _knn_tree(X, core, dist, idx).astype(np.float64), core


def _knn_tree(X: np.ndarray, core: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spanning tree of the rows of X under mutual reachability (core distances ``core``) from
    their k-NN graph (``dist``, ``idx``, self first); the graph's islands bridged."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

    n = len(X)
    rows = np.repeat(np.arange(n), dist.shape[1] - 1)
    cols, d = idx[:, 1:].ravel(), dist[:, 1:].ravel()
    keep = (cols >= 0) & np.isfinite(d)
    rows, cols, d = rows[keep], cols[keep], d[keep]
    weight = np.maximum(np.maximum(core[rows], core[cols]), d)
    # scipy reads a zero weight as "no edge": keep true zeros as a tiny positive weight.
    graph = coo_matrix((np.maximum(weight, 1e-12), (rows, cols)), shape=(n, n)).tocsr()
    forest = minimum_spanning_tree(graph).tocoo()
    edges = [np.column_stack([forest.row, forest.col, forest.data])]
    n_comp, comp = connected_components(forest, directed=False)
    if n_comp > 1:
        edges.append(_bridge_components(X, core, comp, n_comp))
    return np.vstack(edges)


def _bridge_components(X: np.ndarray, core: np.ndarray, comp: np.ndarray, n_comp: int) -> np.ndarray:
    """MST edges joining forest components through each component's most central member.

    Up to :data:`DENSE_BRIDGE_MAX` components, the spanning tree of all pairs of representatives;
    beyond that (a million near-duplicates make tens of thousands of k-NN islands, whose all-pairs
    matrix would not fit in memory) the spanning forest of the representatives' own k-NN graph,
    whose remaining islands are bridged the same way, one level up."""
    reps = np.empty(n_comp, dtype=np.int64)
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(n_comp + 1))
    for c in range(n_comp):
        members = order[bounds[c] : bounds[c + 1]]
        centre = X[members].mean(axis=0)
        reps[c] = members[int(np.argmax(X[members] @ centre))]
    R = np.ascontiguousarray(X[reps])
    tree = _dense_tree(R, core[reps]) if n_comp <= DENSE_BRIDGE_MAX else _sparse_tree(R, core[reps])
    return np.column_stack([reps[tree[:, 0].astype(np.int64)], reps[tree[:, 1].astype(np.int64)], tree[:, 2]])


def _dense_tree(R: np.ndarray, core: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import minimum_spanning_tree

    R = R.astype(np.float64)
    weight = np.maximum(_euclidean_from_ip(R @ R.T), np.maximum.outer(core, core))
    np.maximum(weight, 1e-12, out=weight)
    np.fill_diagonal(weight, 0.0)
    tree = minimum_spanning_tree(weight).tocoo()
    return np.column_stack([tree.row, tree.col, tree.data])


def _sparse_tree(R: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Spanning tree of points R under mutual reachability (with the given core distances) from
    their own k-NN graph, its islands bridged in turn."""
    dist, idx = knn_graph(R.astype(np.float32), BRIDGE_NEIGHBORS + 1)
    return _knn_tree(R, core, dist, idx)
