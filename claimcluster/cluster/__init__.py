"""Density clustering of unit vectors: HDBSCAN over a mutual-reachability spanning tree.

Exact HDBSCAN on 384-d vectors grows quadratically (about a minute at 10k points on two
cores with the ``hdbscan`` package's tree algorithms). Here the spanning tree is built in
one of two ways and the hierarchy is then extracted with the ``hdbscan`` package's own
condensing and excess-of-mass code:

* up to ``exact_max_points`` distinct vectors: the full distance matrix from one matrix
  product, and the exact mutual-reachability MST (the same tree as ``hdbscan.HDBSCAN``);
* above that: a FAISS k-nearest-neighbour graph (IVF, deterministic), its mutual-
  reachability MST, and the forest's components bridged by their representatives' nearest
  edges. Only edges of length above every k-NN distance can differ from the exact tree.

Exact duplicate rows are measured once but count with their multiplicity (toward core
distances, min_cluster_size and stability, as ``hdbscan.HDBSCAN`` on every row counts them),
and every copy gets the same label. Rows are put in a canonical (byte) order before any
computation, so the result does not depend on the order of the input.

Example
-------
>>> clusterer = ClaimClusterer(min_cluster_size=3).fit(vectors)   # doctest: +SKIP
>>> clusterer.labels_[:5]                                         # doctest: +SKIP
array([ 0,  0, -1,  2,  1])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from claimcluster._validate import check_cohesion, check_k, check_unit_vectors
from claimcluster.cluster._spanning import Search, exact_mst, knn_mst, with_copies
from claimcluster.cluster._tree import NOISE, mean_pairwise_similarity, select_clusters, single_linkage_tree
from claimcluster.errors import InputError, NotFittedError
from claimcluster.models import DEFAULT_MIN_COHESION

__all__ = ["ClaimClusterer", "cluster_vectors", "ClusterResult", "NOISE", "mean_pairwise_similarity", "medoid"]

# Defaults chosen on the Emergent dev partition (`python -m benchmarks.emergent --data benchmarks/data/emergent
# --grid`, benchmarks/RESULTS.md): min_samples=1 keeps core distances local, so short headlines are not pushed
# into noise; min_cluster_size=4 is the best ARI of the 4 x 6 grid for the claim-tuned model (0.9784, copies
# counted; the plain model does best at 5, 0.9742); min_cohesion=0.50 (mean pairwise cosine) is the highest cut
# that costs the claim-tuned model nothing there.
DEFAULT_MIN_CLUSTER_SIZE = 4
# min_cluster_size="auto" (cluster_documents, the CLI): a claim must recur in fewer sentences to count in a
# small corpus. Chosen on random subsets of the Emergent dev partition (one headline = one document; ARI of
# min_cluster_size 2 / 3 / 4, mean of 8 draws): 20 documents 0.60 / 0.31 / 0.19, 50: 0.82 / 0.69 / 0.42,
# 100: 0.88 / 0.86 / 0.72, 200: 0.87 / 0.95 / 0.90, all 471: 0.71 / 0.96 / 0.98 (benchmarks/RESULTS.md).
AUTO_MIN_CLUSTER_SIZE = ((150, 2), (400, 3))
"""(documents below, min_cluster_size): 2 under 150 documents, 3 under 400, else DEFAULT_MIN_CLUSTER_SIZE."""


def auto_min_cluster_size(n_documents: int) -> int:
    """The min_cluster_size that ``"auto"`` picks for a corpus of ``n_documents`` documents."""
    return next((size for below, size in AUTO_MIN_CLUSTER_SIZE if n_documents < below), DEFAULT_MIN_CLUSTER_SIZE)
DEFAULT_MIN_SAMPLES = 1
# Up to this many distinct rows the exact spanning tree is built (a 5,000 x 5,000 float64 distance
# matrix is 200 MB); above it the k-NN tree, whose ARI on Emergent differs by -0.0001
# (benchmarks/emergent.py, "claimcluster_knn_path").
EXACT_MAX_POINTS = 5000
DEFAULT_N_NEIGHBORS = 30


@dataclass(frozen=True)
class ClusterResult:
    """Output of :func:`cluster_vectors`.

    labels : ndarray of shape (n,), int64
        Claim label per row, ``NOISE`` (-1) for rows in no claim. Labels are canonical:
        0 is the largest cluster (copies counted); ties go to the cluster whose first member
        in canonical (byte) order comes first.
    probabilities : ndarray of shape (n,), float64
        HDBSCAN membership strength in [0, 1]; 0 for noise.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    radii: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per claim label: the mutual-reachability distance at which the claim was born in the
    hierarchy. A new point within this distance of a member would have joined the claim."""


def _canonical_distinct(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows in byte order, the index of each input row among them, and their counts."""
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(rows, return_index=True, return_inverse=True, return_counts=True)
    return X[first], inverse.ravel(), counts


MEDOID_TIE = 1e-6
"""Total similarities closer than this are a tie, which goes to the first row: float rounding, which differs
between CPUs, must not choose a claim's representative."""


def medoid(block: np.ndarray) -> int:
    """Row of ``block`` (unit vectors) with the largest total similarity to the others (its own left out);
    ties (within :data:`MEDOID_TIE`) to the first."""
    rows = block.astype(np.float64)
    centrality = rows @ rows.sum(axis=0) - np.einsum("ij,ij->i", rows, rows)
    return int(np.flatnonzero(centrality >= centrality.max() - MEDOID_TIE)[0])


def canonical_labels(labels: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
    """Renumber labels by size (largest is 0), ties by the smallest ``rank`` of a member.

    ``rank`` defaults to the position; NOISE stays NOISE.
    """
    out = np.full(len(labels), NOISE, dtype=np.int64)
    mask = labels != NOISE
    if not mask.any():
        return out
    rank = np.arange(len(labels)) if rank is None else np.asarray(rank)
    ids, compact = np.unique(labels[mask], return_inverse=True)
    counts = np.bincount(compact)
    first = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first, compact, rank[mask])
    new_of = np.empty(len(ids), dtype=np.int64)
    new_of[np.lexsort((first, -counts))] = np.arange(len(ids))
    out[mask] = new_of[compact]
    return out


def cluster_vectors(
    X,
    *,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_samples: int | None = DEFAULT_MIN_SAMPLES,
    cluster_selection_method: Literal["eom", "leaf"] = "eom",
    min_cohesion: float = DEFAULT_MIN_COHESION,
    exact_max_points: int = EXACT_MAX_POINTS,
    n_neighbors: int = DEFAULT_N_NEIGHBORS,
    knn_search: Search | None = None,
) -> ClusterResult:
    """Cluster unit vectors with HDBSCAN (euclidean distance between unit rows).

    Parameters
    ----------
    X : array-like of shape (n, dim)
        Unit vectors (as returned by :meth:`Embedder.encode`).
    min_cluster_size : int, default=4
        Smallest group of rows that counts as a claim (copies of one row count each).
    min_samples : int or None, default=1
        Neighbourhood size for core distances; None means ``min_cluster_size``.
    cluster_selection_method : {"eom", "leaf"}, default="eom"
    min_cohesion : float, default=0.50
        A claim's member pairs must have at least this mean cosine similarity;
        a looser cluster of the hierarchy is replaced by its tighter sub-clusters. 0 gives
        plain HDBSCAN selection.
    exact_max_points : int, default=5000
        Up to this many distinct rows the exact spanning tree is used; above, the k-NN one.
    n_neighbors : int, default=30
        Neighbours per row in the k-NN graph (at least ``min_samples``).
    knn_search : callable or None
        ``knn_search(index, X, k) -> (similarities, ids)``: where the k-NN searches run (the Ray
        engine runs them in shards on its workers); None searches in this process. Only used above
        ``exact_max_points``.

    Returns
    -------
    ClusterResult
        A row seen several times gets one label for all its copies. A row that would be
        noise but is repeated at least ``min_cluster_size`` times forms a claim of its own.
    """
    X = check_unit_vectors(X)
    min_cluster_size = check_k(min_cluster_size, name="min_cluster_size", minimum=2)
    min_samples = min_cluster_size if min_samples is None else check_k(min_samples, name="min_samples")
    n_neighbors = check_k(n_neighbors, name="n_neighbors")
    if isinstance(exact_max_points, bool) or not isinstance(exact_max_points, (int, np.integer)):
        raise InputError(f"exact_max_points must be an integer, got {exact_max_points!r}")
    min_cohesion = check_cohesion(min_cohesion)
    if cluster_selection_method not in ("eom", "leaf"):
        raise InputError(f"cluster_selection_method must be 'eom' or 'leaf', got {cluster_selection_method!r}")
    n = len(X)
    if n == 0:
        return ClusterResult(np.zeros(0, dtype=np.int64), np.zeros(0))
    distinct, inverse, counts = _canonical_distinct(X)
    m = len(distinct)
    radii = np.zeros(0)
    if m < 2:
        labels = np.full(m, NOISE, dtype=np.int64)
        probabilities = np.zeros(m)
    else:
        if m <= exact_max_points:
            mst, core = exact_mst(distinct, min_samples, counts)
        else:
            mst, core = knn_mst(distinct, min_samples, n_neighbors, counts, search=knn_search)
        from hdbscan._hdbscan_tree import condense_tree

        # The hierarchy is built over every copy (HDBSCAN on the input rows), the distances over distinct rows.
        mst, source = with_copies(mst, core, counts)
        condensed = condense_tree(single_linkage_tree(mst), min_cluster_size)
        labels, probabilities, births = select_clusters(
            condensed, distinct, min_cohesion=min_cohesion, method=cluster_selection_method, rows=source
        )
        labels, probabilities = labels[:m], probabilities[:m]  # each distinct row's first copy speaks for all
        with np.errstate(divide="ignore"):
            radii = np.where(births > 0, 1.0 / np.maximum(births, 1e-300), mst[:, 2].max())
    repeated = (labels == NOISE) & (counts >= min_cluster_size)
    if repeated.any():
        start = labels.max() + 1
        labels[repeated] = start + np.arange(int(repeated.sum()))
        probabilities[repeated] = 1.0
        radii = np.concatenate([radii, np.zeros(int(repeated.sum()))])
    # Canonical ids count every copy; ties go to the first member in byte order.
    expanded = labels[inverse]
    canonical = canonical_labels(expanded, rank=inverse)
    order = np.zeros(len(radii))
    mask = expanded != NOISE
    order[canonical[mask]] = radii[expanded[mask]]
    return ClusterResult(canonical, probabilities[inverse], order)


class ClaimClusterer:
    """Scikit-learn style estimator around :func:`cluster_vectors`.

    Parameters
    ----------
    min_cluster_size : int, default=4
    min_samples : int or None, default=1
    cluster_selection_method : {"eom", "leaf"}, default="eom"
    min_cohesion : float, default=0.50
    exact_max_points : int, default=5000
    n_neighbors : int, default=30
        See :func:`cluster_vectors`.

    Attributes
    ----------
    labels_ : ndarray of shape (n,)
        Claim label per row, ``NOISE`` for unclustered rows.
    probabilities_ : ndarray of shape (n,)
    n_clusters_ : int
    centroids_ : ndarray of shape (n_clusters_, dim)
        Unit mean vector of each claim.
    """

    def __init__(
        self,
        min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
        *,
        min_samples: int | None = DEFAULT_MIN_SAMPLES,
        cluster_selection_method: Literal["eom", "leaf"] = "eom",
        min_cohesion: float = DEFAULT_MIN_COHESION,
        exact_max_points: int = EXACT_MAX_POINTS,
        n_neighbors: int = DEFAULT_N_NEIGHBORS,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.min_cohesion = min_cohesion
        self.exact_max_points = exact_max_points
        self.n_neighbors = n_neighbors

    def fit(self, X, y=None) -> ClaimClusterer:
        X = check_unit_vectors(X)
        result = cluster_vectors(
            X,
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            cluster_selection_method=self.cluster_selection_method,
            min_cohesion=self.min_cohesion,
            exact_max_points=self.exact_max_points,
            n_neighbors=self.n_neighbors,
        )
        self.labels_ = result.labels
        self.probabilities_ = result.probabilities
        self.n_clusters_ = int(result.labels.max() + 1) if len(result.labels) else 0
        centroids = np.zeros((self.n_clusters_, X.shape[1]), dtype=np.float32)
        np.add.at(centroids, result.labels[result.labels != NOISE], X[result.labels != NOISE])
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids_ = centroids / np.maximum(norms, 1e-12)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def __getattr__(self, name: str):
        # Only called for attributes not set: the fitted ones (trailing underscore) before fit.
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(f"this ClaimClusterer is not fitted yet, so it has no {name}: call fit(X) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"ClaimClusterer(min_cluster_size={self.min_cluster_size}, min_samples={self.min_samples}, "
            f"cluster_selection_method={self.cluster_selection_method!r})"
        )
