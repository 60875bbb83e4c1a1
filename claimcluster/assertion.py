"""Assertion-level decisions that cosine similarity blurs: polarity, numbers, named entities, stance.

Two small learned scorers over the sentence embeddings and a handful of explicit features:

* :class:`PairScorer` — probability that two sentences make the same assertion (trained on
  MRPC train pairs). Features: cosine of the embeddings, content-word overlap, number
  agreement (62 vs 100 killed), negation / denial cues on each side, overlap of capitalised
  names, length ratio. (The element-wise product and difference of the two vectors, and
  token-level alignment, were tried and did not help under cross-validation.)
* :class:`StanceScorer` — stance of a sentence toward a claim: ``repeats`` (Emergent
  "for"), ``denies`` ("against") or ``reports`` ("observing": says it is claimed, without
  endorsing), trained on Emergent train headlines against their claim.

Both are multinomial logistic regressions whose weights ship as JSON in
``claimcluster/models/`` and are reproduced by ``python -m claimcluster.training``.
Applying them needs numpy only.

Example
-------
>>> from claimcluster.assertion import StanceScorer
>>> texts = ["Russia denies any troops were killed", "Russian troops were killed in Syria"]
>>> v = Embedder().encode(texts)                                                      # doctest: +SKIP
>>> StanceScorer.load().predict(texts[:1], texts[1:], v[:1], v[1:])                   # doctest: +SKIP
[('denies', 0.81)]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from claimcluster.segment import normalize_text

__all__ = ["PairScorer", "StanceScorer", "pair_features", "stance_features", "numbers", "STANCES",
           "numbers_conflict", "stances_toward"]

MODEL_DIR = Path(__file__).resolve().parent / "models"
STANCES = ("repeats", "denies", "reports")

NEGATION = re.compile(
    r"\b(not|no|never|none|nobody|nothing|neither|nor|without|n't|cannot|denie[sd]|deny|denying|denial|reject(s|ed)?|"
    r"refute[sd]?|false(ly)?|fake|hoax|debunk(s|ed)?|bogus|untrue|myth|dismiss(es|ed)?|rebuff(s|ed)?|retract(s|ed)?|"
    r"disput(e|es|ed)|wrong|misleading|fabricat\w*|nonsense|baseless)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"\b(allegedly|alleged|reportedly|reported|reports?|claims?|claimed|rumou?rs?|rumou?red|apparently|purportedly|"
    r"supposedly|unconfirmed|unverified|may|might|could|possibly|suggests?|says?|said|according|sources?|believed|"
    r"appears?|seems?|if true)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s*(?:k|m|bn|million|billion|thousand|hundred|%|percent))?\b",
                     re.IGNORECASE)
_SCALE = {"k": 1e3, "thousand": 1e3, "hundred": 1e2, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_STOP = frozenset(
    "a an the of to in on at for by with from and or but is are was were be been being has have had it its this that "
    "these those as he she they we you i his her their our your not no".split()
)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "dozen": 12, "dozens": 24, "hundreds": 200, "thousands": 2000}


def numbers(text: str) -> set[float]:
    """Quantities stated in a text, scaled ("19M" and "19 million" are both 19,000,000)."""
    found = set()
    for match in _NUMBER.finditer(text):
        digits = match.group(1).replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        unit = (match.group(2) or "").strip().lower()
        found.add(value * _SCALE.get(unit, 1.0))
    for word in _WORD.findall(text.lower()):
        if word in _WORD_NUMBERS:
            found.add(float(_WORD_NUMBERS[word]))
    return found


def numbers_conflict(a: str, b: str) -> bool:
    """Both texts state quantities and share none of them ("62 killed" vs "100 killed")."""
    na, nb = numbers(a), numbers(b)
    return bool(na and nb and not (na & nb))


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


_STARTERS = frozenset(
    "according after although also as before but during even however if in last meanwhile more most new now on "
    "once since so some still then there though today update when while yesterday".split()
)


def _names(text: str) -> set[str]:
    """Capitalised words that are not common sentence starters: a cheap stand-in for named entities."""
    return {w for w in (m.group(0).lower() for m in _NAME.finditer(text)) if w not in _STOP and w not in _STARTERS}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _scalar_pair_features(a: str, b: str) -> list[float]:
    a, b = normalize_text(a), normalize_text(b)
    na, nb = numbers(a), numbers(b)
    neg_a, neg_b = len(NEGATION.findall(a)), len(NEGATION.findall(b))
    names_a, names_b = _names(a), _names(b)
    len_a, len_b = max(len(a.split()), 1), max(len(b.split()), 1)
    return [
        _jaccard(_content(a), _content(b)),
        float(bool(na and nb and not (na & nb))),
        float(bool(na) != bool(nb)),
        _jaccard(na, nb) if (na or nb) else 1.0,
        float(neg_a > 0) + float(neg_b > 0),
        float((neg_a > 0) != (neg_b > 0)),
        abs(neg_a - neg_b),
        _jaccard(names_a, names_b),
        float(len(names_a ^ names_b)),
        min(len_a, len_b) / max(len_a, len_b),
    ]


def pair_features(a: Sequence[str], b: Sequence[str], va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """Feature matrix (n_pairs, 11) for sentence pairs and their unit vectors."""
    cos = np.sum(va * vb, axis=1, keepdims=True)
    scalars = np.array([_scalar_pair_features(x, y) for x, y in zip(a, b)], dtype=np.float64).reshape(len(a), -1)
    return np.hstack([cos, scalars])


def _cues(text: str) -> list[float]:
    text = normalize_text(text)
    return [float(len(NEGATION.findall(text))), float(len(HEDGE.findall(text))), float("?" in text),
            float(bool(re.search(r"\b(confirm(s|ed)?|prove[sdn]?|true|indeed|officially)\b", text, re.I)))]


def stance_features(sentences: Sequence[str], claims: Sequence[str], vs: np.ndarray, vc: np.ndarray) -> np.ndarray:
    """Feature matrix (n, 19) for the stance of each sentence toward its claim: the pair
    features plus denial, hedging, question and confirmation cues of the sentence and their
    difference from the claim's."""
    cues = np.array([_cues(s) + [a - b for a, b in zip(_cues(s), _cues(c))] for s, c in zip(sentences, claims)],
                    dtype=np.float64).reshape(len(sentences), -1)
    return np.hstack([pair_features(sentences, claims, vs, vc), cues])


@dataclass
class _Linear:
    """Standardise, then a (multinomial) logistic regression: what the JSON files hold."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...]
    meta: dict

    def proba(self, X: np.ndarray) -> np.ndarray:
        z = ((X - self.mean) / self.scale) @ self.coef.T + self.intercept
        if len(self.classes) == 2 and z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(), "classes": list(self.classes), "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "_Linear":
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]),
                   np.array(data["intercept"]), tuple(data["classes"]), data.get("meta", {}))

    @classmethod
    def fit(cls, X: np.ndarray, y: Sequence[str], *, C: float, meta: dict) -> "_Linear":
        from sklearn.linear_model import LogisticRegression

        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 1e-9] = 1.0
        model = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, list(y))
        return cls(mean, scale, model.coef_, model.intercept_, tuple(str(c) for c in model.classes_), meta)


class PairScorer:
    """Probability that two sentences state the same assertion.

    ``threshold`` (stored with the weights) is the F1-best cut on the training pairs.
    """

    def __init__(self, linear: _Linear):
        self.linear = linear
        self.threshold = float(linear.meta.get("threshold", 0.5))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PairScorer":
        return cls(_load_linear(str(path or MODEL_DIR / "pair.json")))

    @classmethod
    def fit(cls, a, b, va, vb, labels, *, C: float = 1.0) -> "PairScorer":
        X = pair_features(a, b, va, vb)
        y = ["same" if int(label) else "different" for label in labels]
        linear = _Linear.fit(X, y, C=C, meta={})
        scorer = cls(linear)
        probs = scorer.score(a, b, va, vb)
        candidates = np.unique(np.round(probs, 3))
        f1 = [_f1(np.asarray(labels, dtype=int), probs >= t) for t in candidates]
        scorer.threshold = float(candidates[int(np.argmax(f1))])
        linear.meta["threshold"] = scorer.threshold
        return scorer

    def score(self, a: Sequence[str], b: Sequence[str], va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        """Probability of "same assertion" for each pair, shape (n_pairs,)."""
        if len(a) == 0:
            return np.zeros(0)
        probs = self.linear.proba(pair_features(a, b, va, vb))
        return probs[:, self.linear.classes.index("same")]

    def same(self, a, b, va, vb) -> np.ndarray:
        return self.score(a, b, va, vb) >= self.threshold


class StanceScorer:
    """Stance of sentences toward claims: repeats / denies / reports, with a probability."""

    def __init__(self, linear: _Linear):
        self.linear = linear

    @classmethod
    def load(cls, path: str | Path | None = None) -> "StanceScorer":
        return cls(_load_linear(str(path or MODEL_DIR / "stance.json")))

    @classmethod
    def fit(cls, sentences, claims, vs, vc, stances, *, C: float = 0.01) -> "StanceScorer":
        return cls(_Linear.fit(stance_features(sentences, claims, vs, vc), list(stances), C=C, meta={}))

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
            if NEGATION.search(normalize_text(claim)) and stance != "reports":
                negated = NEGATION.search(normalize_text(sentence)) is not None
                stance = "repeats" if negated else "denies"
            out.append((stance, float(p.max())))
        return out


def stances_toward(scorer, sentences: Sequence[str], vectors: np.ndarray, claim: str,
                   claim_vector: np.ndarray) -> list[tuple[str, float]]:
    """Stance of each sentence toward one claim: ``scorer.predict`` with the claim repeated."""
    if len(sentences) == 0:
        return []
    return scorer.predict(list(sentences), [claim] * len(sentences), vectors,
                          np.repeat(np.asarray(claim_vector)[None, :], len(sentences), axis=0))


@lru_cache(maxsize=4)
def _load_linear(path: str) -> _Linear:
    with open(path, encoding="utf-8") as fh:
        return _Linear.from_json(json.load(fh))


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float((y == 1).sum()), 1.0)
    return 2 * precision * recall / max(precision + recall, 1e-12)
