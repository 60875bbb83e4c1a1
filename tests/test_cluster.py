"""ClaimClusterer and cluster_vectors on synthetic unit-sphere blobs (fast, exact checks)."""

from __future__ import annotations

import hdbscan
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from claimcluster import NOISE, ClaimClusterer, InputError, NotFittedError, cluster_vectors
from claimcluster.cluster import exact_mst, knn_mst

from .conftest import unit_blobs


def test_recovers_blobs_and_marks_noise():
    X, y = unit_blobs(n_clusters=5, per_cluster=30, n_noise=20)
    labels = cluster_vectors(X, min_cluster_size=5).labels
    clustered = y != -1
    assert adjusted_rand_score(y[clustered], labels[clustered]) == pytest.approx(1.0)
    assert (labels[~clustered] == NOISE).mean() > 0.8


def test_equals_hdbscan_on_distinct_vectors_without_cohesion_constraint():
    X, _ = unit_blobs(n_clusters=6, per_cluster=20, spread=0.25, n_noise=30, seed=3)
    ours = cluster_vectors(X, min_cluster_size=5, min_samples=3, min_cohesion=0.0).labels
    reference = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=3, algorithm="generic").fit(X.astype(np.float64))
    assert adjusted_rand_score(reference.labels_, ours) == pytest.approx(1.0)
    np.testing.assert_array_equal(ours == NOISE, reference.labels_ == -1)


@pytest.mark.parametrize("exact_max_points", [10_000, 10])
@pytest.mark.parametrize("min_samples", [1, 3])
def test_copies_count_toward_cluster_size_as_in_hdbscan(exact_max_points, min_samples):
    # Three near points and a copied one: a claim of four rows for HDBSCAN on the rows, which
    # counts copies; a tree over distinct rows alone would see three and call them noise.
    X, _ = unit_blobs(n_clusters=6, per_cluster=20, spread=0.25, n_noise=30, seed=3)
    rng = np.random.default_rng(4)
    copies = rng.choice(len(X), size=25, replace=True)
    rows = np.vstack([X, X[copies]])
    rows = rows[rng.permutation(len(rows))]
    ours = cluster_vectors(rows, min_cluster_size=5, min_samples=min_samples, min_cohesion=0.0,
                           exact_max_points=exact_max_points, n_neighbors=60).labels
    reference = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=min_samples, algorithm="generic")
    reference.fit(rows.astype(np.float64))
    # With min_samples 3 one point lies at its own core distance from two claims (an exact tie
    # that either tree may resolve); everything else is the same.
    assert adjusted_rand_score(reference.labels_, ours) == pytest.approx(1.0, abs=0.005 * (min_samples > 1))
    np.testing.assert_array_equal(ours == NOISE, reference.labels_ == -1)


def test_knn_tree_matches_exact_tree_on_separated_blobs():
    X, _ = unit_blobs(n_clusters=8, per_cluster=40, spread=0.15, seed=5)
    exact = cluster_vectors(X, min_cluster_size=5, exact_max_points=10_000).labels
    approx = cluster_vectors(X, min_cluster_size=5, exact_max_points=10, n_neighbors=15).labels
    # Only edges longer than every k-NN distance can differ: at most a stray point changes.
    assert adjusted_rand_score(exact, approx) > 0.99
    # The k-NN spanning tree is a spanning tree: n-1 edges, and never lighter than the exact one.
    e, a = exact_mst(X, 5)[0], knn_mst(X, 5, 15)[0]
    assert len(a) == len(X) - 1
    assert a[:, 2].sum() >= e[:, 2].sum() - 1e-9


def test_same_vectors_in_any_order_give_the_same_labels():
    X, _ = unit_blobs(n_clusters=5, per_cluster=12, spread=0.3, n_noise=15, seed=7)
    base = cluster_vectors(X, min_cluster_size=4).labels
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(X))
        np.testing.assert_array_equal(cluster_vectors(X[order], min_cluster_size=4).labels, base[order])


def test_labels_are_canonical_largest_first():
    X, _ = unit_blobs(n_clusters=3, per_cluster=10, seed=1)
    X = np.vstack([X, X[:10][:5]])  # claim of the first blob grows by duplicates
    labels = cluster_vectors(X, min_cluster_size=4).labels
    sizes = np.bincount(labels[labels != NOISE])
    assert list(sizes) == sorted(sizes, reverse=True)


def test_duplicates_share_a_label_and_repeated_noise_forms_a_claim():
    X, y = unit_blobs(n_clusters=3, per_cluster=15, n_noise=20, seed=2)
    base = cluster_vectors(X, min_cluster_size=4).labels
    lone = int(np.flatnonzero((base == NOISE) & (y == -1))[0])
    with_copies = np.vstack([X, X[:1], np.repeat(X[lone : lone + 1], 3, axis=0)])
    labels = cluster_vectors(with_copies, min_cluster_size=4).labels
    assert labels[len(X)] == labels[0] != NOISE
    assert labels[lone] == labels[-1] == labels[-3] != NOISE  # four copies: a claim of its own
    fewer = cluster_vectors(np.vstack([X, np.repeat(X[lone : lone + 1], 2, axis=0)]), min_cluster_size=4).labels
    assert fewer[lone] == fewer[-1] == NOISE  # three copies are not enough


def test_cohesion_constraint_splits_a_loose_cluster():
    # Two tight blobs close together: plain EOM may merge them, a high cohesion bar must not.
    X, y = unit_blobs(n_clusters=2, per_cluster=20, spread=0.05, dim=8, seed=11)
    X[y == 1] = X[y == 0] * 0.5 + X[y == 1] * 0.5
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = cluster_vectors(X, min_cluster_size=5, min_cohesion=0.999).labels
    found = set(labels[y == 0]) & set(labels[y == 1]) - {NOISE}
    assert not found


def test_estimator_api():
    X, y = unit_blobs(n_clusters=3, per_cluster=20)
    clusterer = ClaimClusterer(5)
    with pytest.raises(NotFittedError, match="no labels_: call fit"):
        clusterer.labels_  # noqa: B018 - the access itself is what is tested
    assert not hasattr(clusterer, "probabilities_")  # NotFittedError is an AttributeError
    assert clusterer.fit(X) is clusterer
    assert clusterer.n_clusters_ == 3
    assert clusterer.centroids_.shape == (3, X.shape[1])
    np.testing.assert_allclose(np.linalg.norm(clusterer.centroids_, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ClaimClusterer(5).fit_predict(X), clusterer.labels_)


def test_no_row_is_lost():
    X, _ = unit_blobs(n_clusters=4, per_cluster=10, n_noise=10, spread=0.3)
    result = cluster_vectors(X)
    assert len(result.labels) == len(X) == len(result.probabilities)
    assert ((result.labels >= 0) | (result.labels == NOISE)).all()
    assert ((result.probabilities >= 0) & (result.probabilities <= 1)).all()


def test_tiny_and_empty_inputs():
    assert cluster_vectors(np.zeros((0, 8), dtype=np.float32)).labels.shape == (0,)
    one = np.eye(1, 8, dtype=np.float32)
    assert cluster_vectors(one).labels.tolist() == [NOISE]
    assert cluster_vectors(np.repeat(one, 6, axis=0)).labels.tolist() == [0] * 6


@pytest.mark.parametrize(
    "X, kwargs, message",
    [
        (np.ones(5, dtype=np.float32), {}, r"must be 2-D"),
        (np.full((3, 4), np.nan), {}, r"row 0 contains NaN"),
        (np.ones((3, 4)), {}, r"row 0 has norm 2.0000; rows must be unit vectors"),
        (np.eye(4), {"min_cluster_size": 1}, r"min_cluster_size \(1\) must be at least 2"),
        (np.eye(4), {"cluster_selection_method": "best"}, r"'eom' or 'leaf'"),
        ([["a", "b"]], {}, r"2-D array of numbers"),
    ],
)
def test_bad_input_errors(X, kwargs, message):
    with pytest.raises(InputError, match=message):
        cluster_vectors(X, **kwargs)


def test_large_corpus_paths_hnsw_graph_and_sparse_bridging_agree_with_the_small_ones(monkeypatch):
    """The paths a million rows take (HNSW k-NN graph, islands bridged through a k-NN graph of their
    representatives), forced on a small input: the same clusters as the IVF / all-pairs paths."""
    from claimcluster.cluster import _spanning

    X, y = unit_blobs(n_clusters=40, per_cluster=12, spread=0.05, seed=11, n_noise=30)
    monkeypatch.setattr(_spanning, "EXACT_KNN_MAX", 100)
    small = cluster_vectors(X, min_cluster_size=5, exact_max_points=0).labels
    monkeypatch.setattr(_spanning, "IVF_MAX_ROWS", 100)
    monkeypatch.setattr(_spanning, "DENSE_BRIDGE_MAX", 3)
    mst, _ = _spanning.knn_mst(X, 5, 5)
    assert len(mst) == len(X) - 1  # one spanning tree: every island bridged
    large = cluster_vectors(X, min_cluster_size=5, exact_max_points=0).labels
    assert adjusted_rand_score(small, large) == 1.0
    assert adjusted_rand_score(y[y >= 0], large[y >= 0]) > 0.95


def test_sparse_bridge_tree_has_the_all_pairs_tree_weight():
    """Bridging islands through a k-NN graph of their representatives finds the minimum spanning
    tree the all-pairs matrix gives (same total weight), with far less memory."""
    from claimcluster.cluster import _spanning

    rng = np.random.default_rng(0)
    R = rng.normal(size=(300, 8)).astype(np.float32)
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    core = rng.random(300) * 0.1
    dense, sparse = _spanning._dense_tree(R, core), _spanning._sparse_tree(R, core)
    assert len(dense) == len(sparse) == 299
    np.testing.assert_allclose(sparse[:, 2].sum(), dense[:, 2].sum(), rtol=1e-6)


def test_a_representative_is_not_chosen_by_float_rounding():
    from claimcluster.cluster import medoid

    a = np.array([0.6, 0.8])
    b = np.array([0.8, 0.6]) * (1 + 3e-8)  # a unit vector as another CPU's rounding may give it
    # two members are equally central: the first is the representative, in either order
    assert medoid(np.stack([a, b])) == 0 and medoid(np.stack([b, a])) == 0
    c = np.array([0.7071068, 0.7071068])  # between them: the most central of three, wherever it stands
    assert medoid(np.stack([a, b, c])) == 2 and medoid(np.stack([c, b, a])) == 0
