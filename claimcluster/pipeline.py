"""The main job: documents in, claims that recur across outlets out.

documents -> sentences (segment) -> unit vectors (embed) -> claims (cluster) -> ClaimSet.

Example
-------
>>> from claimcluster import cluster_documents, load_documents
>>> claims = cluster_documents(load_documents(["seeds/"]))                       # doctest: +SKIP
>>> claims.claims[0].representative.text                                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from claimcluster.assertion import StanceScorer, shipped_stance_scorer
from claimcluster.claims import ClaimSet, Judged, build_claims, split_assertions
from claimcluster.claims.formation import form_claims
from claimcluster.claims.settings import ClaimSettings
from claimcluster.cluster import DEFAULT_MIN_SAMPLES, NOISE, auto_min_cluster_size, cluster_vectors, medoid
from claimcluster.cluster._spanning import Search
from claimcluster.documents import (
    Corpus,
    Document,
    FieldMap,
    Rejection,
    Sentence,
    check_documents,
    load_documents,
    published_at,
)
from claimcluster.embed import Embedder
from claimcluster.errors import InputError, ModelMismatchError
from claimcluster.gate import gate_reasons
from claimcluster.judge import SameAssertionJudge, judge_for
from claimcluster.models import MULTILINGUAL_MODEL_ID as MODEL_ID
from claimcluster.models import min_cohesion_for
from claimcluster.segment import DEFAULT_FURNITURE_RULES, FurnitureRule, segment_documents

__all__ = ["cluster_documents", "input_warnings"]

log = logging.getLogger(__name__)


def input_warnings(documents: Sequence[Document]) -> list[str]:
    """What is missing from the input that the claims depend on: outlets (without them each
    document counts as an outlet of its own) and publication dates (no first-seen, no timeline)."""
    return _warnings(len(documents), sum(d.outlet is None for d in documents),
                     sum(published_at(d.published) is None for d in documents))


def _warnings(n: int, no_outlet: int, no_date: int) -> list[str]:
    out = []
    if no_outlet:
        out.append(f"{no_outlet} of {n} documents have no outlet: each of them counts as an outlet "
                   "of its own (give an outlet field, e.g. --outlet-field)")
    if no_date:
        out.append(f"{no_date} of {n} documents have no publication date that can be read: they are left out "
                   "of first-seen and timelines (give a date field, e.g. --date-field)")
    return out


def cluster_documents(
    documents: Corpus | Iterable[Document],
    *,
    embedder: Embedder | None = None,
    min_cluster_size: int | Literal["auto"] = "auto",
    min_samples: int | None = DEFAULT_MIN_SAMPLES,
    min_cohesion: float | None = None,
    cluster_selection_method: Literal["eom", "leaf"] = "eom",
    granularity: Literal["claim", "assertion"] = "claim",
    rules: Sequence[FurnitureRule] = DEFAULT_FURNITURE_RULES,
    min_words: int = 4,
    max_chars: int = 1000,
    show_progress_bar: bool | None = None,
    engine: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    judge: SameAssertionJudge | Literal["auto"] | None = "auto",
) -> ClaimSet:
    """Find the claims that recur across documents.

    Parameters
    ----------
    documents : Corpus or iterable of Document
        A Corpus's rejections are carried into the result.
    embedder : Embedder or None
        None uses the packaged default model.
    min_cluster_size : int or "auto", default="auto"
        Fewest sentences that make a claim; "auto" takes 2 under 150 documents, 3 under 400 and
        4 from there on (:func:`claimcluster.cluster.auto_min_cluster_size`).
    min_samples, min_cohesion, cluster_selection_method
        Clustering parameters; see :func:`claimcluster.cluster.cluster_vectors`. ``min_cohesion``
        None takes the embedding model's (:func:`claimcluster.models.min_cohesion_for`: 0.50 for
        MiniLM, higher for the multilingual E5).
    granularity : {"claim", "assertion"}, default="claim"
        "claim" (Emergent's sense): each member labelled with its stance toward the
        representative (repeats / denies / reports); a denial the encoder places among the
        sentences it denies stays there, though the claim-tuned encoder often gives a denial a
        claim of its own.
        "assertion" splits off, as claims of their own, the members that deny the
        representative, those that state other figures than it (62 vs 100 killed) and those
        that swap who did what to whom ("Israel accused Hamas" / "Hamas accused Israel").
    rules, min_words, max_chars
        Sentence filtering; see :func:`claimcluster.segment.segment_documents`.
    show_progress_bar : bool or None
        Progress bar while embedding; None shows it for long runs in a terminal.
    engine : {"local", "ray"}, default="local"
        "ray" (``pip install "claimcluster[ray]"``) segments and embeds on a pool of Ray actors,
        one model each, and runs the k-NN searches of the clustering in shards on the workers; the
        spanning tree and the claims are made on this process (see :mod:`claimcluster._ray`). The
        claims are the local engine's. ``documents`` may then also be a Ray Dataset of document
        records (:func:`claimcluster.ray_documents` reads JSONL / Parquet shards).
    ray_address : str or None
        The Ray cluster to use ("auto", "ray://head:10001"); None uses the running Ray session or
        starts a local one (and stops it afterwards).
    judge : SameAssertionJudge, "auto" or None, default="auto"
        Reads each proposed member together with its claim's representative and keeps only the
        sentences that state (or deny) it (:mod:`claimcluster.claims.formation`); sentences the gate of
        :mod:`claimcluster.gate` finds no checkable assertion in found no claim. "auto"
        is the shipped judge, except with the multilingual model (the judge reads English);
        None keeps the density clusters as they are (faster; claims can then chain).

    Returns
    -------
    ClaimSet
        Every sentence kept by segmentation is in exactly one claim or in ``unclustered``;
        everything removed before is in ``rejected`` with its reason.
    """
    if engine not in ("local", "ray"):
        raise InputError(f"engine must be 'local' or 'ray', got {engine!r}")
    rejected = list(documents.rejected) if isinstance(documents, Corpus) else []
    given: Any = documents if engine == "ray" and hasattr(documents, "map_batches") else check_documents(documents)
    settings = ClaimSettings(min_cluster_size, min_samples, min_cohesion, granularity, judge)
    embedder = embedder if embedder is not None else Embedder()
    judge = judge_for(judge, embedder.model_id)
    min_cluster_size, min_samples = settings.min_cluster_size, settings.min_samples
    min_cohesion = settings.min_cohesion if settings.min_cohesion is not None else min_cohesion_for(embedder.model_id)
    if engine == "ray":
        from claimcluster import _ray

        with _ray.session(ray_address):
            dataset = given if hasattr(given, "map_batches") else _ray.documents_dataset(given)
            seen, sentences, vectors, dropped = _ray.segment_and_embed(
                dataset, embedder, rules=rules, min_words=min_words, max_chars=max_chars)
            rejected.extend(dropped)
            return _claims_of(len(seen), _warnings(len(seen), *seen.missing()), sentences, vectors, rejected,
                              embedder, min_cluster_size, min_samples, min_cohesion, cluster_selection_method,
                              granularity, min_words, max_chars, judge, knn_search=_ray.sharded_search())
    segmentation = segment_documents(given, rules=rules, min_words=min_words, max_chars=max_chars)
    rejected.extend(segmentation.dropped)
    vectors = embedder.encode([s.norm for s in segmentation.sentences], show_progress_bar=show_progress_bar)
    return _claims_of(len(given), input_warnings(given), segmentation.sentences, vectors, rejected, embedder,
                      min_cluster_size, min_samples, min_cohesion, cluster_selection_method, granularity, min_words,
                      max_chars, judge)


def cluster_files(paths: Sequence[str | os.PathLike], fields: FieldMap | None = None, *,
                  errors: Literal["strict", "replace"] = "strict", engine: Literal["local", "ray"] = "local",
                  ray_address: str | None = None, **options: Any) -> ClaimSet:
    """:func:`cluster_documents` over files and directories, read as :func:`~claimcluster.documents.load_documents`
    reads them. With ``engine="ray"`` and every path a .jsonl or .parquet shard (decoded strictly), the shards
    are read on the Ray workers instead of here."""
    files = [Path(p) for p in paths]
    shards = all(p.is_file() and p.name.endswith((".jsonl", ".parquet")) for p in files) and errors == "strict"
    if engine == "ray" and shards:
        from claimcluster import _ray

        with _ray.session(ray_address):
            return cluster_documents(_ray.ray_documents([str(p) for p in files], fields), engine="ray", **options)
    corpus = load_documents(files, fields if fields is not None else FieldMap(), errors=errors)
    return cluster_documents(corpus, engine=engine, ray_address=ray_address, **options)


def _stance_scorer(model_id: str, warnings: list[str]) -> StanceScorer | None:
    """The shipped stance model of the embedding model; None, with a warning, for a model that has none."""
    try:
        return shipped_stance_scorer(model_id)
    except ModelMismatchError:
        warnings.append(f"no stance model was trained for {model_id}: member stances come from the judge "
                        "(denials) and hedging words (reports), and are left out without the judge")
        log.warning(warnings[-1])
        return None


def _judged_claims(sentences: list[Sentence], vectors, proposed, probabilities, scorer: StanceScorer | None,
                   judge: SameAssertionJudge, min_size: int, granularity: str):
    """Claims of single assertions: the proposal read by the judge (:func:`.formation.form_claims`)."""
    texts = [s.norm for s in sentences]
    reasons = gate_reasons(texts)
    checkable = np.array([r is None for r in reasons], dtype=bool)
    member_threshold = float(judge.card["member_threshold"]) if granularity == "claim" else None
    formation = form_claims(texts, vectors, proposed, judge, checkable=checkable, min_size=min_size,
                            member_threshold=member_threshold, rank=_canonical_rank(sentences))
    labels, representatives = formation.labels, list(formation.representatives)
    if granularity == "assertion":
        labels, representatives = _denials_apart(labels, representatives, formation, vectors, min_size)
    judged = Judged(formation.same, formation.contradict, formation.denies)
    claims, unclustered = build_claims(sentences, vectors, labels, probabilities, scorer,
                                       representatives=representatives, judged=judged, not_checkable=reasons)
    n = max(len(sentences), 1)
    return claims, unclustered, {"pairs_judged": formation.pairs_judged,
                                 "pairs_judged_per_sentence": round(formation.pairs_judged / n, 3),
                                 "not_checkable": int((~checkable).sum())}


def _canonical_rank(sentences: Sequence[Sentence]) -> np.ndarray:
    """Reading order that does not depend on the order documents came in: by document id, then position."""
    order = sorted(range(len(sentences)), key=lambda i: (sentences[i].doc_id, sentences[i].position))
    rank = np.empty(len(sentences), dtype=np.int64)
    rank[order] = np.arange(len(sentences))
    return rank


def _denials_apart(labels, representatives: list[int], formation, vectors, min_size: int):
    """At assertion granularity a claim's denials are a claim of their own (its medoid the representative),
    or unclustered when fewer than ``min_size``."""
    labels = labels.copy()
    representatives = list(representatives)
    for label in range(len(formation.representatives)):
        denials = np.flatnonzero((labels == label) & formation.denies)
        if not len(denials):
            continue
        if len(denials) >= min_size:
            labels[denials] = len(representatives)
            representatives.append(int(denials[medoid(vectors[denials])]))
        else:
            labels[denials] = NOISE
    return labels, representatives


# Sentences in one other language that make an English-only model worth a warning.
FOREIGN_SENTENCES_WARNING = 10


def _language_warnings(sentences: Sequence[Sentence], embedder: Embedder) -> list[str]:
    """A warning when an English-only model is given many sentences in other languages: it groups them
    by language, not by claim (on fnc1 the default model made one claim of 30 French sentences of two articles
    on two unrelated stories, and one of four Arabic tweets)."""
    if embedder.model_id == MODEL_ID:
        return []
    counts: dict[str, int] = {}
    for s in sentences:
        if s.language not in (None, "en"):
            counts[s.language] = counts.get(s.language, 0) + 1
    foreign = sorted((n, lang) for lang, n in counts.items() if n >= FOREIGN_SENTENCES_WARNING)
    if not foreign:
        return []
    listed = ", ".join(f"{n} {lang}" for n, lang in reversed(foreign))
    return [f"sentences in other languages ({listed}): {embedder.model_id} reads English and groups them by "
            "language rather than by claim; use the multilingual model (--model multilingual)"]


def _claims_of(n_documents: int, warnings: list[str], sentences: list[Sentence], vectors, rejected: list[Rejection],
               embedder: Embedder, min_cluster_size: int | str, min_samples: int | None, min_cohesion: float,
               cluster_selection_method: Literal["eom", "leaf"], granularity: str, min_words: int, max_chars: int,
               judge: SameAssertionJudge | None, knn_search: Search | None = None) -> ClaimSet:
    """Clustering and claims from the embedded sentences: the part both engines share."""
    asked = min_cluster_size
    if min_cluster_size == "auto":
        min_cluster_size = auto_min_cluster_size(n_documents)
    assert isinstance(min_cluster_size, int)
    log.info("%d documents: %d sentences kept, %d pieces left out", n_documents, len(sentences), len(rejected))
    warnings = warnings + _language_warnings(sentences, embedder)
    for warning in warnings:
        log.warning(warning)
    result = cluster_vectors(
        vectors,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        min_cohesion=min_cohesion,
        cluster_selection_method=cluster_selection_method,
        knn_search=knn_search,
    )
    scorer = _stance_scorer(embedder.model_id, warnings)
    formed: dict[str, Any] = {}
    if judge is None:
        labels = result.labels
        if granularity == "assertion" and scorer is not None:
            labels = split_assertions([s.norm for s in sentences], vectors, labels, scorer, min_size=min_cluster_size)
        claims, unclustered = build_claims(sentences, vectors, labels, result.probabilities, scorer)
    else:
        claims, unclustered, formed = _judged_claims(sentences, vectors, result.labels, result.probabilities, scorer,
                                                     judge, min_cluster_size, granularity)
    log.info("%d claims; %d sentences in no claim", len(claims), len(unclustered))
    return ClaimSet(
        claims=claims,
        unclustered=unclustered,
        rejected=rejected,
        n_documents=n_documents,
        model_id=embedder.model_id,
        warnings=warnings,
        parameters={
            "min_cluster_size": min_cluster_size,
            "min_cluster_size_asked": asked,
            "min_samples": min_samples,
            "min_cohesion": min_cohesion,
            "cluster_selection_method": cluster_selection_method,
            "granularity": granularity,
            "min_words": min_words,
            "max_chars": max_chars,
            "judge": None if judge is None else judge.judge_id,
            **formed,
        },
    )
