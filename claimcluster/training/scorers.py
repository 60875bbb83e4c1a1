"""Train the shipped stance, pair and re-ranker models for one embedding model, on the train partition.

* stance: Emergent train-partition headlines against their claim (for -> repeats, against ->
  denies, observing -> reports); C chosen on the dev partition (benchmarks/stance.py).
* pair: MRPC train-partition pairs; its cut is the F1-best on 5-fold out-of-fold probabilities.
* rerank: the top fused candidates of every CLEF-2020 train tweet (all verified claims indexed,
  as in use), learned pairwise; with the "auto" no-match thresholds calibrated on the same
  train tweets and on MRPC train-partition sentences as text that repeats no fact-checked claim:
  the (fused, dense) pair that answers the most tweets at top-1 precision 0.90 while answering
  at most 1% of those sentences (where that answers under a quarter of the tweets, at the first
  of 0.85, 0.80, 0.75 that answers more: :data:`NO_MATCH_PRECISIONS`), and the tail of the
  unrelated cosine that lets the dense arm follow the size of the base (:meth:`Reranker.no_match`).

Nothing of the dev partition or of another split is read: :mod:`claimcluster.training.data`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.assertion import PairScorer, Reranker, StanceScorer
from claimcluster.assertion._features import RERANK_SCHEMA, rerank_features
from claimcluster.assertion._models import LinearModel
from claimcluster.segment import clean_social_text
from claimcluster.training.data import EMERGENT_STANCE, PublicData

RERANK_DEPTH = 20
RERANK_C = 0.1
STANCE_C = 0.01
NO_MATCH_PRECISIONS = (0.90, 0.85, 0.80, 0.75)
"""Precision of the answered top-1 that "auto" is calibrated to: the first of these at which it
answers at least :data:`NO_MATCH_MIN_ANSWERED` of the train tweets. MiniLM reaches 0.90; the
multilingual E5, whose top-1 is right less often and whose scores separate right from wrong less
well, would answer 0.1 % of the tweets at 0.90 (benchmarks/RESULTS.md, "Across languages")."""
NO_MATCH_MIN_ANSWERED = 0.25
NO_MATCH_UNRELATED = 0.01
"""Share of unrelated sentences ``min_score="auto"`` may answer."""
TAIL_LOG10_P = np.round(np.arange(-1.0, -7.01, -0.25), 2)
"""Where the tail of the unrelated-pair cosine is read, for the size-dependent dense arm."""


def train_stance(data: PublicData, embedder) -> StanceScorer:
    rows = data.emergent_train
    heads, claims = [r["headline"] for r in rows], [r["claim"] for r in rows]
    scorer = StanceScorer.fit(heads, claims, embedder.encode(heads), embedder.encode(claims),
                              [EMERGENT_STANCE[r["stance"]] for r in rows], C=STANCE_C, model_id=embedder.model_id)
    scorer.linear.meta.update({"trained_on": "Emergent train partition", "pairs": len(rows), "C": STANCE_C})
    return scorer


def train_pair(data: PublicData, embedder) -> PairScorer:
    rows = data.mrpc_train
    a, b = [r["sentence1"] for r in rows], [r["sentence2"] for r in rows]
    scorer = PairScorer.fit(a, b, embedder.encode(a), embedder.encode(b), np.array([int(r["label"]) for r in rows]),
                            model_id=embedder.model_id)
    scorer.linear.meta.update({"trained_on": "MRPC train partition", "pairs": len(rows)})
    return scorer


def rerank_examples(data: PublicData, embedder, index=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Features, relevance and query number of the top fused candidates of every train tweet,
    and each tweet's fused top-1 (for the no-match calibration)."""
    index = clef_index(data, embedder) if index is None else index
    extra = {str(c["vclaim_id"]): c.get("title", "") for c in data.clef_claims}
    tweets = data.clef_train
    features, relevant, query, tops = [], [], [], []
    for number, (tweet, matches) in enumerate(zip(tweets, index.search([t["text"] for t in tweets], k=RERANK_DEPTH))):
        prepared = clean_social_text(tweet["text"]) or tweet["text"]
        features.append(rerank_features(prepared, [m.text for m in matches], [extra[m.id] for m in matches],
                                        np.array([m.score for m in matches]), np.array([m.dense for m in matches]),
                                        np.array([m.lexical for m in matches])))
        relevant += [m.id in tweet["relevant"] for m in matches]
        query += [number] * len(matches)
        tops.append((matches[0].score, matches[0].dense, matches[0].id in tweet["relevant"]))
    return np.vstack(features), np.array(relevant), np.array(query), tops


def clef_index(data: PublicData, embedder):
    """Every CLEF-2020 verified claim (with its title), fused order only, as the re-ranker sees it."""
    from claimcluster.index import ClaimIndex

    claims = data.clef_claims
    return ClaimIndex(embedder, rerank=False).add(
        [c["vclaim"] for c in claims], ids=[str(c["vclaim_id"]) for c in claims],
        extra_texts=[c.get("title", "") for c in claims])


def unrelated_sentences(data: PublicData) -> list[str]:
    """The distinct MRPC train-partition sentences: news text that repeats no fact-checked claim."""
    return sorted({r[side] for r in data.mrpc_train for side in ("sentence1", "sentence2")})


def unrelated_tops(data: PublicData, index) -> tuple[np.ndarray, np.ndarray]:
    """Fused and dense top-1 scores of the :func:`unrelated_sentences` against the verified claims."""
    tops = [ms[0] for ms in index.search(unrelated_sentences(data), k=1) if ms]
    return np.array([m.score for m in tops]), np.array([m.dense for m in tops])


def dense_tail(data: PublicData, embedder) -> dict[str, list[float]]:
    """The upper tail of the cosine between an unrelated sentence and a verified claim: for each
    ``log10_p`` of :data:`TAIL_LOG10_P`, the cosine that a share 10**p of all those pairs reach."""
    unrelated = embedder.encode(unrelated_sentences(data))
    claims = embedder.encode([c["vclaim"] for c in data.clef_claims], kind="passage")  # as an index holds them
    cosines = (unrelated @ claims.T).ravel()
    head_size = int(np.ceil(10 ** TAIL_LOG10_P[0] * cosines.size))
    head = np.sort(np.partition(cosines, cosines.size - head_size)[cosines.size - head_size:])[::-1]
    ranks = np.maximum(np.ceil(10 ** TAIL_LOG10_P * cosines.size).astype(int) - 1, 0)
    return {"log10_p": [float(p) for p in TAIL_LOG10_P], "cosine": [round(float(head[r]), 4) for r in ranks]}


def fit_reranker(features: np.ndarray, relevant: np.ndarray, query: np.ndarray, *, C: float = RERANK_C) -> np.ndarray:
    """Linear weights from every (relevant, non-relevant) candidate pair of the same query."""
    from sklearn.linear_model import LogisticRegression

    differences = []
    for q in np.unique(query):
        rows = np.flatnonzero(query == q)
        good, bad = rows[relevant[rows]], rows[~relevant[rows]]
        differences += [features[g] - features[b] for g in good for b in bad]
    X = np.vstack([differences, np.negative(differences)])
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    y = np.r_[np.ones(len(differences)), np.zeros(len(differences))]
    model = LogisticRegression(C=C, max_iter=5000, fit_intercept=False).fit(X / scale, y)
    return model.coef_[0] / scale


def calibrate_no_match(fused: np.ndarray, dense: np.ndarray, correct: np.ndarray,
                       unrelated_fused: np.ndarray, unrelated_dense: np.ndarray,
                       precision: float = NO_MATCH_PRECISIONS[0]) -> tuple[float, float]:
    """The (fused, dense) thresholds, to 0.01, of the rule "answer when fused >= f or dense >= d"
    that answers the most tweets while their answered top-1 stays at least ``precision`` correct
    and at most :data:`NO_MATCH_UNRELATED` of the unrelated texts get an answer (ties: the
    higher thresholds)."""
    grid = np.round(np.arange(0.0, 1.01, 0.01), 2)
    best, chosen = -1.0, (1.0, 1.0)
    for f in grid[::-1]:
        for d in grid[::-1]:
            answered = (fused >= f) | (dense >= d)
            if not answered.any() or correct[answered].mean() < precision:
                continue
            if np.mean((unrelated_fused >= f) | (unrelated_dense >= d)) > NO_MATCH_UNRELATED:
                continue
            if answered.mean() > best:
                best, chosen = float(answered.mean()), (float(f), float(d))
    return chosen


def calibrate_no_match_ladder(fused: np.ndarray, dense: np.ndarray, correct: np.ndarray,
                              unrelated_fused: np.ndarray, unrelated_dense: np.ndarray
                              ) -> tuple[tuple[float, float], float, float]:
    """(thresholds, precision, answered share) at the first of :data:`NO_MATCH_PRECISIONS` whose
    calibration answers at least :data:`NO_MATCH_MIN_ANSWERED` of the tweets (else the first)."""
    found = []
    for precision in NO_MATCH_PRECISIONS:
        f, d = calibrate_no_match(fused, dense, correct, unrelated_fused, unrelated_dense, precision)
        found.append(((f, d), precision, float(np.mean((fused >= f) | (dense >= d)))))
        if found[-1][2] >= NO_MATCH_MIN_ANSWERED:
            return found[-1]
    return found[0]


def train_rerank(data: PublicData, embedder) -> Reranker:
    index = clef_index(data, embedder)
    features, relevant, query, tops = rerank_examples(data, embedder, index)
    weights = fit_reranker(features, relevant, query)
    fused, dense, correct = (np.array([t[i] for t in tops]) for i in range(3))
    unrelated_fused, unrelated_dense = unrelated_tops(data, index)
    (min_fused, min_dense), precision, _ = calibrate_no_match_ladder(fused, dense, correct, unrelated_fused,
                                                                    unrelated_dense)
    tail = dense_tail(data, embedder)
    # The share of unrelated pairs at or above min_dense, times the calibration base's size: the
    # probability budget that Reranker.no_match spreads over a base of any size.
    log_p = float(np.interp(min_dense, tail["cosine"], tail["log10_p"]))  # the cosines rise as p falls
    # Never below the cosine at which on-topic top-1s (the tweets) are that precise by the dense arm alone.
    floor = next((float(t) for t in np.round(np.arange(0.0, 1.0, 0.01), 2)
                  if (dense >= t).any() and correct[dense >= t].mean() >= precision), 1.0)
    no_match = {"min_fused": min_fused, "min_dense": min_dense, "min_dense_floor": min(floor, min_dense),
                "dense_tail": tail,
                "dense_alpha": round(len(data.clef_claims) * 10 ** log_p, 6), "base_size": len(data.clef_claims),
                "precision": precision, "unrelated_share": NO_MATCH_UNRELATED,
                "calibrated_on": "CLEF-2020 train tweets (fused top-1) and "
                                 f"{len(unrelated_fused)} MRPC train-partition sentences"}
    n = len(RERANK_SCHEMA)
    linear = LinearModel(RERANK_SCHEMA, np.zeros(n), np.ones(n), np.round(weights, 8)[None, :], np.zeros(1),
                         meta={"trained_on": "CLEF-2020 CheckThat! 2a train tweets", "tweets": int(len(tops)),
                               "C": RERANK_C, "no_match": no_match})
    return Reranker(linear, RERANK_DEPTH, embedder.model_id)


def train_scorers(data: PublicData, embedder, out: Path, tag: str, *,
                  kinds: tuple[str, ...] = ("stance", "pair", "rerank"), log=print) -> dict[str, Path]:
    """Train the models of ``kinds`` for ``embedder`` and write ``{kind}-{tag}.json`` into ``out``."""
    from claimcluster.assertion._models import save_model

    trainers: dict[str, Callable[[PublicData, Any], StanceScorer | PairScorer | Reranker]] = {
        "stance": train_stance, "pair": train_pair, "rerank": train_rerank}
    written = {}
    for kind in kinds:
        model = trainers[kind](data, embedder)
        path = out / f"{kind}-{tag}.json"
        save_model(path, model.to_json())
        written[kind] = path
        log(f"wrote {path} for {embedder.model_id}")
    return written
