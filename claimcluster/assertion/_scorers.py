"""The learned scorers: same assertion (:class:`PairScorer`), stance toward a claim
(:class:`StanceScorer`) and the matching re-ranker (:class:`Reranker`).

All three are linear models over the named features of :mod:`._features`; their weights ship
as JSON in ``claimcluster/models/`` (:mod:`._models`) and are reproduced by
``python -m claimcluster.training scorers``. Applying them needs numpy and scipy only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.assertion._features import (
    DENSE_PAIR_SCHEMA,
    RERANK_SCHEMA,
    STANCE_SCHEMA,
    dense_pair_features,
    rerank_features,
    stance_features,
    term_indicators,
    terms,
)
from claimcluster.assertion._models import LinearModel, load_model, model_json, standardiser
from claimcluster.assertion._rules import assertion_rules, negated
from claimcluster.embed import default_model_id
from claimcluster.errors import ModelMismatchError

STANCES = ("repeats", "denies", "reports")
"""Stance labels: repeats (Emergent "for"), denies ("against"), reports ("observing": says it is
claimed, without endorsing)."""


def _default_model_id() -> str:
    return default_model_id()


class PairScorer:
    """Probability that two sentences state the same assertion.

    A logistic regression over the embedding cosine, polarity, figures, names and length
    (:func:`pair_features`), MT-style n-gram and character overlap (:func:`overlap_features`),
    and indicators of the words and word pairs the two sentences share or that only one has,
    from a vocabulary of terms seen in at least 3 training sentences. ``threshold`` is the
    F1-best cut on 5-fold out-of-fold probabilities of the training pairs.
    """

    TERM_WEIGHT = 0.3  # scale of the binary term columns next to the standardised dense ones
    MIN_TERM_COUNT = 3

    def __init__(self, linear: LinearModel, vocabulary: Sequence[str], term_coef: np.ndarray, threshold: float,
                 model_id: str | None = None):
        self.linear = linear
        self.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        self.term_coef = np.asarray(term_coef, dtype=np.float64).reshape(2, len(vocabulary))
        self.threshold = float(threshold)
        self.model_id = model_id

    @classmethod
    def load(cls, model_id: str | None = None, *, path: str | Path | None = None) -> PairScorer:
        """The shipped model for embedding model ``model_id`` (default: claimcluster's default model)."""
        model_id = model_id or _default_model_id()
        data = load_model("pair", model_id, DENSE_PAIR_SCHEMA, path=path)
        return cls(LinearModel.from_json(data), data["vocabulary"], np.array(data["term_coef"]), data["threshold"],
                   data["model_id"])

    def to_json(self) -> dict:
        return model_json("pair", self.model_id, self.linear, threshold=self.threshold,
                          vocabulary=list(self.vocabulary), term_coef=np.round(self.term_coef, 4).tolist())

    @classmethod
    def fit(cls, a, b, va, vb, labels, *, C: float = 1.0, model_id: str | None = None) -> PairScorer:
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        y = np.asarray(labels, dtype=int)
        dense = dense_pair_features(a, b, va, vb)
        counts: Counter[str] = Counter()
        for text in (*a, *b):
            counts.update(terms(text))
        vocabulary = sorted(t for t, n in counts.items() if n >= cls.MIN_TERM_COUNT)
        mean, scale = standardiser(dense)
        shared, one_sided = term_indicators({t: i for i, t in enumerate(vocabulary)}, a, b)
        # Standardised dense columns, then the binary term indicators at TERM_WEIGHT.
        X = sparse.hstack([sparse.csr_matrix((dense - mean) / scale), cls.TERM_WEIGHT * shared,
                           cls.TERM_WEIGHT * one_sided]).tocsr()
        model = LogisticRegression(C=C, max_iter=5000)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        held_out = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
        model.fit(X, y)
        n_dense = dense.shape[1]
        coef = model.coef_[0]
        candidates = np.unique(np.round(held_out, 3))
        threshold = float(candidates[int(np.argmax([_f1(y, held_out >= t) for t in candidates]))])
        linear = LinearModel(DENSE_PAIR_SCHEMA, mean, scale, coef[None, :n_dense], model.intercept_,
                             ("different", "same"))
        term_coef = cls.TERM_WEIGHT * coef[n_dense:].reshape(2, len(vocabulary))
        return cls(linear, vocabulary, term_coef, threshold, model_id)

    def score(self, a: Sequence[str], b: Sequence[str], va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        """Probability of "same assertion" for each pair, shape (n_pairs,)."""
        if len(a) == 0:
            return np.zeros(0)
        z = self.linear.decision(dense_pair_features(a, b, va, vb))[:, 0]
        if self.vocabulary:
            shared, one_sided = term_indicators(self.vocabulary, a, b)
            z = z + shared @ self.term_coef[0] + one_sided @ self.term_coef[1]
        return 1.0 / (1.0 + np.exp(-z))

    def same(self, a, b, va, vb, *, rules: bool = True) -> np.ndarray:
        """The same-assertion decision: probability at or above ``threshold`` and, with
        ``rules`` (the default), none of the :func:`assertion_rules` broken.

        MRPC, which the model learns from, calls many near-copies with another figure
        paraphrases ("killed 62" / "killed 100"); the rules are where claimcluster departs
        from it on purpose (benchmarks/pairs.py reports the decision with and without them).
        """
        decision = self.score(a, b, va, vb) >= self.threshold
        return decision & ~assertion_rules(a, b).any if rules else decision


class StanceScorer:
    """Stance of sentences toward claims: repeats / denies / reports, with a probability."""

    def __init__(self, linear: LinearModel, model_id: str | None = None):
        self.linear = linear
        self.model_id = model_id

    @classmethod
    def load(cls, model_id: str | None = None, *, path: str | Path | None = None) -> StanceScorer:
        """The shipped model for embedding model ``model_id`` (default: claimcluster's default model)."""
        model_id = model_id or _default_model_id()
        data = load_model("stance", model_id, STANCE_SCHEMA, path=path)
        return cls(LinearModel.from_json(data), data["model_id"])

    @classmethod
    def fit(cls, sentences, claims, vs, vc, stances, *, C: float = 0.01, model_id: str | None = None) -> StanceScorer:
        X = stance_features(sentences, claims, vs, vc)
        return cls(LinearModel.fit(X, list(stances), features=STANCE_SCHEMA, C=C), model_id)

    def to_json(self) -> dict:
        return model_json("stance", self.model_id, self.linear)

    def proba(self, sentences, claims, vs, vc) -> np.ndarray:
        """Probabilities (n, 3) in the order of :data:`STANCES`."""
        if len(sentences) == 0:
            return np.zeros((0, len(STANCES)))
        probs = self.linear.proba(stance_features(sentences, claims, vs, vc))
        return probs[:, [self.linear.classes.index(s) for s in STANCES]]

    def predict(self, sentences, claims, vs, vc) -> list[tuple[str, float]]:
        """(stance, probability) per sentence.

        Polarity is relative. The model learned stance toward affirmative claims (Emergent's
        claims rarely deny anything), so toward a claim that is itself a denial it is read
        with the claim's polarity: a sentence that also carries denial cues agrees with it
        ("no Russian personnel were there" against "there were no Russian troops in the
        area": "denies" becomes "repeats"), and one that affirms without any denial cue
        contradicts it ("repeats" becomes "denies").
        """
        probs = self.proba(sentences, claims, vs, vc)
        out = []
        for sentence, claim, p in zip(sentences, claims, probs):
            stance = STANCES[int(p.argmax())]
            if negated(claim) and stance != "reports":
                stance = "repeats" if negated(sentence) else "denies"
            out.append((stance, float(p.max())))
        return out


class Reranker:
    """Linear order of a query's top fused candidates (:data:`RERANK_SCHEMA` features)."""

    def __init__(self, linear: LinearModel, depth: int, model_id: str | None):
        self.linear = linear
        self.depth = depth
        self.model_id = model_id

    @classmethod
    def load(cls, model_id: str, *, path: str | Path | None = None) -> Reranker:
        data = load_model("rerank", model_id, RERANK_SCHEMA, path=path)
        return cls(LinearModel.from_json(data), int(data["depth"]), data["model_id"])

    def to_json(self) -> dict:
        return model_json("rerank", self.model_id, self.linear, depth=self.depth)

    def scores(self, query: str, texts: Sequence[str], extras: Sequence[str], fused: np.ndarray,
               dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """Re-ranker score of each candidate (given in fused order), shape (n,)."""
        return self.linear.decision(rerank_features(query, texts, extras, fused, dense, lexical))[:, 0]

    def no_match(self, base_size: int) -> tuple[float, float] | None:
        """(fused, dense) thresholds of ``min_score="auto"`` for a base of ``base_size`` entries, or
        None when this file carries no calibration.

        The dense arm follows the base size: the best of N unrelated cosines grows with N, so the
        arm is the cosine that unrelated (sentence, claim) pairs exceed with probability
        ``dense_alpha / N`` (a union bound over the base, from the calibration's tail of that
        distribution), which at the calibration's own base size is the calibrated threshold, and
        never below ``min_dense_floor``, where the dense arm alone stops being 0.90 right on the
        calibration's on-topic queries."""
        calibration = self.linear.meta.get("no_match")
        if not calibration:
            return None
        dense = float(calibration["min_dense"])
        tail = calibration.get("dense_tail")
        if tail and base_size > 0:
            log_p = np.log10(calibration["dense_alpha"] / base_size)
            dense = max(float(np.interp(log_p, tail["log10_p"][::-1], tail["cosine"][::-1])),
                        float(calibration.get("min_dense_floor", dense)))
        return float(calibration["min_fused"]), round(dense, 4)


@lru_cache(maxsize=24)
def _shipped(kind: type[PairScorer] | type[StanceScorer] | type[Reranker], model_id: str) -> Any:
    """The shipped model of ``kind`` for this embedding model, read once per process, or None."""
    try:
        return kind.load(model_id)
    except ModelMismatchError:
        return None


def shipped_stance_scorer(model_id: str) -> StanceScorer:
    """The shipped stance model for this embedding model (read once); ModelMismatchError when none fits."""
    scorer = _shipped(StanceScorer, model_id)
    return scorer if scorer is not None else StanceScorer.load(model_id)


def shipped_reranker(model_id: str) -> Reranker | None:
    """The shipped re-ranker for this embedding model, or None (matching keeps the fused order)."""
    return _shipped(Reranker, model_id)


def shipped_pair_scorer(model_id: str) -> PairScorer | None:
    """The shipped pair model for this embedding model, or None."""
    return _shipped(PairScorer, model_id)


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float((y == 1).sum()), 1.0)
    return 2 * precision * recall / max(precision + recall, 1e-12)
