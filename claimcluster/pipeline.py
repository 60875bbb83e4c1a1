"""The main job: documents in, claims that recur across outlets out.

documents -> sentences (segment) -> unit vectors (embed) -> claims (cluster) -> ClaimSet.

Example
-------
>>> from claimcluster import cluster_documents, load_documents
>>> claims = cluster_documents(load_documents(["seeds/"]), min_cluster_size=2)   # doctest: +SKIP
>>> claims.claims[0].representative.text                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

from claimcluster.assertion import StanceScorer, numbers_conflict, roles_swapped, stances_toward
from claimcluster.claims import ClaimSet, build_claims, medoid
from claimcluster.cluster import (
    DEFAULT_MIN_CLUSTER_SIZE,
    DEFAULT_MIN_COHESION,
    DEFAULT_MIN_SAMPLES,
    NOISE,
    canonical_labels,
    cluster_vectors,
)
from claimcluster.documents import Corpus, Document, check_unique_ids
from claimcluster.embed import Embedder
from claimcluster.errors import InputError
from claimcluster.segment import DEFAULT_FURNITURE_RULES, FurnitureRule, segment_documents

__all__ = ["cluster_documents"]


def cluster_documents(
    documents: Corpus | Iterable[Document],
    *,
    embedder: Embedder | None = None,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_samples: int | None = DEFAULT_MIN_SAMPLES,
    min_cohesion: float = DEFAULT_MIN_COHESION,
    cluster_selection_method: Literal["eom", "leaf"] = "eom",
    granularity: Literal["claim", "assertion"] = "claim",
    rules: Sequence[FurnitureRule] = DEFAULT_FURNITURE_RULES,
    min_words: int = 4,
    max_chars: int = 1000,
    show_progress_bar: bool | None = None,
) -> ClaimSet:
    """Find the claims that recur across documents.

    Parameters
    ----------
    documents : Corpus or iterable of Document
        A Corpus's rejections are carried into the result.
    embedder : Embedder or None
        None uses the packaged default model.
    min_cluster_size, min_samples, min_cohesion, cluster_selection_method
        Clustering parameters; see :func:`claimcluster.cluster.cluster_vectors`.
    granularity : {"claim", "assertion"}, default="claim"
        "claim" (Emergent's sense) keeps a claim and its denials together, each member
        labelled with its stance toward the representative (repeats / denies / reports).
        "assertion" splits off, as claims of their own, the members that deny the
        representative, those that state other figures than it (62 vs 100 killed) and those
        that swap who did what to whom ("Israel accused Hamas" / "Hamas accused Israel").
    rules, min_words, max_chars
        Sentence filtering; see :func:`claimcluster.segment.segment_documents`.
    show_progress_bar : bool or None
        Progress bar while embedding; None shows it for long runs in a terminal.

    Returns
    -------
    ClaimSet
        Every sentence kept by segmentation is in exactly one claim or in ``unclustered``;
        everything removed before is in ``rejected`` with its reason.
    """
    rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
    documents = list(documents)
    check_unique_ids(documents)
    segmentation = segment_documents(documents, rules=rules, min_words=min_words, max_chars=max_chars)
    rejected.extend(segmentation.dropped)
    sentences = segmentation.sentences
    embedder = embedder if embedder is not None else Embedder()
    vectors = embedder.encode([s.norm for s in sentences], show_progress_bar=show_progress_bar)
    result = cluster_vectors(
        vectors,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        min_cohesion=min_cohesion,
        cluster_selection_method=cluster_selection_method,
    )
    if granularity not in ("claim", "assertion"):
        raise InputError(f"granularity must be 'claim' or 'assertion', got {granularity!r}")
    scorer = StanceScorer.load()
    labels = result.labels
    if granularity == "assertion":
        labels = split_assertions([s.norm for s in sentences], vectors, labels, scorer,
                                  min_size=min(2, min_cluster_size))
    claims, unclustered = build_claims(sentences, vectors, labels, result.probabilities, scorer)
    return ClaimSet(
        claims=claims,
        unclustered=unclustered,
        rejected=rejected,
        n_documents=len(documents),
        model_id=embedder.model_id,
        layout=sentence_layout(sentences, vectors),
        parameters={
            "min_cluster_size": min_cluster_size,
            "min_samples": min_samples,
            "min_cohesion": min_cohesion,
            "cluster_selection_method": cluster_selection_method,
            "granularity": granularity,
            "min_words": min_words,
            "max_chars": max_chars,
        },
    )


def split_assertions(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, scorer: StanceScorer,
                     *, min_size: int = 2) -> np.ndarray:
    """Split each claim into the assertion of its representative, its denials, other figures
    and swapped roles.

    Members whose stance toward the claim's medoid is "denies" form one new claim; members that
    state quantities and share none with the medoid form another; members that relate the same
    two names as the medoid with actor and target swapped (:func:`roles_swapped`) a third. A
    split-off group smaller than ``min_size`` becomes unclustered. Labels come back canonical.
    """
    out = labels.copy()
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for label in range(next_label):
        rows = np.flatnonzero(labels == label)
        rep = rows[medoid(vectors[rows])]
        stances = stances_toward(scorer, [texts[i] for i in rows], vectors[rows], texts[rep], vectors[rep])
        denies = [i for i, (stance, _) in zip(rows, stances) if stance == "denies" and i != rep]
        taken = {rep, *denies}
        figures = [i for i in rows if i not in taken and numbers_conflict(texts[i], texts[rep])]
        taken.update(figures)
        swapped = [i for i in rows if i not in taken and roles_swapped(texts[i], texts[rep])]
        for group in (denies, figures, swapped):
            if not group:
                continue
            if len(group) >= min_size and len(rows) - len(group) >= 1:
                out[group] = next_label
                next_label += 1
            else:
                out[group] = NOISE
    return canonical_labels(out)


def sentence_layout(sentences, vectors) -> dict[tuple[str, int], tuple[float, float]]:
    """Two principal components of the sentence vectors, scaled to [0, 1], for the report map."""
    if len(sentences) < 3:
        return {(s.doc_id, s.position): (0.5, 0.5) for s in sentences}
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 5000)], full_matrices=False)
    xy = centred @ vt[:2].T
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9)
    xy = (xy - xy.min(axis=0)) / span
    return {(s.doc_id, s.position): (float(x), float(y)) for s, (x, y) in zip(sentences, xy)}
