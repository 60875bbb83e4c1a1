"""Assertion-level decisions that cosine similarity blurs: polarity, numbers, named entities, stance.

Two small learned scorers over the sentence embeddings and a handful of explicit features:

* :class:`PairScorer` — probability that two sentences make the same assertion (trained on
  MRPC train pairs). Features: cosine of the embeddings, content-word overlap, number
  agreement (62 vs 100 killed), negation / denial cues on each side, overlap of capitalised
  names, length ratio; n-gram and character overlap in the manner of MT metrics; and the
  words and word pairs the two sentences share or do not share. (The element-wise product
  and difference of the two vectors, and token-level alignment of contextual embeddings,
  were tried and did not help under cross-validation.)
* :class:`StanceScorer` — stance of a sentence toward a claim: ``repeats`` (Emergent
  "for"), ``denies`` ("against") or ``reports`` ("observing": says it is claimed, without
  endorsing), trained on Emergent train headlines against their claim.

Both are logistic regressions whose weights ship as JSON in ``claimcluster/models/`` and
are reproduced by ``python -m claimcluster.training``. Applying them needs numpy and scipy
only (fitting needs scikit-learn).

Example
-------
>>> from claimcluster.assertion import StanceScorer
>>> texts = ["Russia denies any troops were killed", "Russian troops were killed in Syria"]
>>> v = Embedder().encode(texts)                                                      # doctest: +SKIP
>>> StanceScorer.load().predict(texts[:1], texts[1:], v[:1], v[1:])                   # doctest: +SKIP
[('denies', 0.81)]
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from claimcluster.segment import normalize_text

__all__ = ["PairScorer", "StanceScorer", "pair_features", "overlap_features", "stance_features", "numbers",
           "STANCES", "numbers_conflict", "roles_swapped", "assertion_rules", "assertion_conflicts",
           "any_conflict", "stances_toward", "relations_to"]

MODEL_DIR = Path(__file__).resolve().parent / "models"
STANCES = ("repeats", "denies", "reports")

NEGATION = re.compile(
    r"(?<=\w)n't\b|\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot|denie[sd]|deny|denying|denial|reject(s|ed)?|"
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


def _is_year(value: float) -> bool:
    return value.is_integer() and 1900 <= value <= 2100


def numbers_conflict(a: str, b: str) -> bool:
    """Both texts state quantities and share none of them ("62 killed" vs "100 killed").

    Years are dates, not the figure a claim is about: they are compared only when neither text
    has any other number ("19 million in 2015" and "24 million in 2015" conflict; "19 million
    in 2015" and "19 million this year" do not)."""
    na, nb = numbers(a), numbers(b)
    qa, qb = {v for v in na if not _is_year(v)}, {v for v in nb if not _is_year(v)}
    if qa or qb:
        return bool(qa and qb and not (qa & qb))
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


_TOKEN = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize_text(text).lower())


def _terms(text: str) -> set[str]:
    """Words and adjacent word pairs of a text, lower-cased."""
    words = _surface(text)[0]
    return set(words) | {f"{x} {y}" for x, y in zip(words, words[1:])}


@lru_cache(maxsize=8192)
def _surface(text: str) -> tuple:
    """Words, word n-gram counts (n = 1..4) and character 3- / 5-gram sets of a text, cached:
    the re-ranker compares one query with many claims, and the same claims with many queries."""
    words = _tokens(text)
    grams = tuple(Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)) for n in (1, 2, 3, 4))
    chars = normalize_text(text).lower()
    char_sets = tuple(frozenset(chars[i:i + n] for i in range(len(chars) - n + 1)) for n in (3, 5))
    return words, grams, char_sets


def clear_overlap_cache() -> None:
    """Forget the cached surface n-grams of :func:`overlap_features` (for cold timings)."""
    _surface.cache_clear()


def _overlap_row(a: str, b: str) -> list[float]:
    (wa, grams_a, chars_a), (wb, grams_b, chars_b) = _surface(a), _surface(b)
    row = []
    for ga, gb in zip(grams_a, grams_b):
        common = sum((ga & gb).values())
        p, r = common / max(sum(ga.values()), 1), common / max(sum(gb.values()), 1)
        row += [min(p, r), max(p, r), 2 * p * r / (p + r) if p + r else 0.0]
    for sa, sb in zip(chars_a, chars_b):
        row.append(len(sa & sb) / max(len(sa | sb), 1))
    matcher = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    row.append(matcher.ratio())
    row.append(sum(block.size for block in matcher.get_matching_blocks()) / max(len(wa), len(wb), 1))
    row.append(float(abs(len(wa) - len(wb))))
    row.append(float(len(set(wa) ^ set(wb))))
    return row


def overlap_features(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Feature matrix (n_pairs, 18) of surface overlap, in the manner of MT evaluation metrics:
    for n = 1..4 the lower, higher and harmonic mean of the n-gram precision of each sentence
    against the other; character 3- and 5-gram Jaccard; word-sequence match ratio and longest
    matched share; difference in length and number of words only one side has."""
    return np.array([_overlap_row(x, y) for x, y in zip(a, b)], dtype=np.float64).reshape(len(a), -1)


def _dense_pair_features(a, b, va, vb) -> np.ndarray:
    base, overlap = pair_features(a, b, va, vb), overlap_features(a, b)
    # Disagreement in figures or polarity between sentences that otherwise overlap: the
    # interaction lets the model learn that near-copies with another number differ.
    conflicts = base[:, [2, 6]]
    cover = np.column_stack([overlap[:, 2], base[:, 0]])
    interactions = (conflicts[:, :, None] * cover[:, None, :]).reshape(len(base), -1)
    return np.hstack([base, overlap, interactions])


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

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Linear scores (n, n_coef) of the standardised features."""
        return ((X - self.mean) / self.scale) @ self.coef.T + self.intercept

    def proba(self, X: np.ndarray) -> np.ndarray:
        z = self.decision(X)
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

        mean, scale = _standardiser(X)
        model = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, list(y))
        return cls(mean, scale, model.coef_, model.intercept_, tuple(str(c) for c in model.classes_), meta)


class PairScorer:
    """Probability that two sentences state the same assertion.

    A logistic regression over three kinds of evidence:

    * :func:`pair_features` — embedding cosine, polarity, numbers, names, length;
    * :func:`overlap_features` — n-gram precision / recall of one sentence against the other
      (BLEU-like, n = 1..4), character n-gram overlap, longest common word sequence: how much
      of each sentence the other one covers, which is where "adds a claim" shows;
    * the words and word pairs (bigrams) the two sentences share and those only one of them
      has, from a vocabulary of terms seen in at least 3 training sentences: the model learns
      which differences matter (a figure, a name, "denied") and which do not ("said").

    ``threshold`` (stored with the weights) is the F1-best cut on out-of-fold probabilities
    of the training pairs (5-fold), not on the fitted model's own training scores.
    """

    TERM_WEIGHT = 0.3  # scale of the binary term columns next to the standardised dense ones
    MIN_TERM_COUNT = 3

    def __init__(self, linear: _Linear, vocabulary: Sequence[str], term_coef: np.ndarray):
        self.linear = linear
        self.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        self.term_coef = np.asarray(term_coef, dtype=np.float64).reshape(2, len(vocabulary))
        self.threshold = float(linear.meta.get("threshold", 0.5))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PairScorer":
        data = _load_json(str(path or MODEL_DIR / "pair.json"))
        return cls(_Linear.from_json(data), data.get("vocabulary", []),
                   np.array(data.get("term_coef", [[], []])))

    def to_json(self) -> dict:
        return {**self.linear.to_json(), "vocabulary": list(self.vocabulary),
                "term_coef": np.round(self.term_coef, 4).tolist()}

    @classmethod
    def fit(cls, a, b, va, vb, labels, *, C: float = 1.0) -> "PairScorer":
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        y = np.asarray(labels, dtype=int)
        dense = _dense_pair_features(a, b, va, vb)
        counts: Counter[str] = Counter()
        for text in (*a, *b):
            counts.update(_terms(text))
        vocabulary = sorted(t for t, n in counts.items() if n >= cls.MIN_TERM_COUNT)
        mean, scale = _standardiser(dense)
        shared, one_sided = _term_indicators({t: i for i, t in enumerate(vocabulary)}, a, b)
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
        linear = _Linear(mean, scale, coef[None, :n_dense], model.intercept_, ("different", "same"),
                         {"threshold": threshold})
        term_coef = cls.TERM_WEIGHT * coef[n_dense:].reshape(2, len(vocabulary))
        return cls(linear, vocabulary, term_coef)

    def score(self, a: Sequence[str], b: Sequence[str], va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        """Probability of "same assertion" for each pair, shape (n_pairs,)."""
        if len(a) == 0:
            return np.zeros(0)
        z = self.linear.decision(_dense_pair_features(a, b, va, vb))[:, 0]
        if self.vocabulary:
            shared, one_sided = _term_indicators(self.vocabulary, a, b)
            z = z + shared @ self.term_coef[0] + one_sided @ self.term_coef[1]
        return 1.0 / (1.0 + np.exp(-z))

    def same(self, a, b, va, vb, *, rules: bool = True) -> np.ndarray:
        """The same-assertion decision: probability at or above ``threshold`` and, with
        ``rules`` (the default), no :func:`assertion_conflicts` between the two sentences.

        MRPC, which the model learns from, calls many near-copies with another figure
        paraphrases ("killed 62" / "killed 100"); the rules are where claimcluster departs
        from it on purpose (benchmarks/pairs.py reports the decision with and without them).
        """
        decision = self.score(a, b, va, vb) >= self.threshold
        return decision & ~assertion_conflicts(a, b) if rules else decision


def _standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (constant columns get scale 1)."""
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return X.mean(axis=0), scale


def _term_indicators(vocabulary: Mapping[str, int], a: Sequence[str], b: Sequence[str]):
    """Sparse (n_pairs, len(vocabulary)) indicators of the vocabulary terms both sentences of
    a pair have, and of those only one of them has."""
    from scipy import sparse

    rows: dict[str, list[int]] = {"shared": [], "one": []}
    cols: dict[str, list[int]] = {"shared": [], "one": []}
    for row, (x, y) in enumerate(zip(a, b)):
        tx, ty = _terms(x), _terms(y)
        for kind, terms in (("shared", tx & ty), ("one", tx ^ ty)):
            for term in terms:
                column = vocabulary.get(term)
                if column is not None:
                    rows[kind].append(row)
                    cols[kind].append(column)
    shape = (len(a), len(vocabulary))
    return tuple(sparse.csr_matrix((np.ones(len(rows[k])), (rows[k], cols[k])), shape=shape)
                 for k in ("shared", "one"))


def _negated(text: str) -> bool:
    return NEGATION.search(normalize_text(text)) is not None


_ROLE_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d[\d,.]*|[,;:()]")
_BE = frozenset("is are was were be been being get gets got gotten isn't aren't wasn't weren't".split())
# Words between two names that make the relation symmetric ("met", "with", "and"), the names
# parts of one noun phrase ("of", apposition) or the second name a place or a circumstance
# ("beheaded in ISIS video"): no roles are read across them.
_NO_ROLES = frozenset(
    "with and & alongside between vs versus v against meet meets met meeting talk talks talked speak speaks spoke "
    "call calls called marry marries married date dates dated tie ties tied draw draws drew play plays played "
    "face faces faced of , ; : ( ) in on at from for into onto over after before during near inside outside "
    "across through under about than as".split()
)
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december".split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _agent_of(tokens: list[str], first: dict[str, int], x: str, y: str, names: set[str]):
    """(verbs, agent) of the clause "x VERB y" / "y VERB x" / "y was VERBed by x" in tokens, or None."""
    lo, hi = sorted((first[x], first[y]))
    span = tokens[lo + 1 : hi]
    low = [w.lower() for w in span]
    if not span or len(span) > 5 or any(w in _NO_ROLES or w in names for w in low):
        return None
    if "by" in low:
        before = low[: low.index("by")]
        # Only "... was attacked by" / "... attacked by" right before the second name reads as passive.
        if low[-1] != "by" or not any(w in _BE or w.endswith(("ed", "en")) for w in before):
            return None
        passive = True
    else:
        passive = False
    verbs = [w for w in span if w.lower() not in _STOP and w.lower() not in _BE and not HEDGE.fullmatch(w)]
    if not 1 <= len(verbs) <= 2 or any(w[0].isdigit() for w in verbs):
        return None
    earlier, later = (x, y) if first[x] < first[y] else (y, x)
    # Stem -> written in lower case: in Title Case headlines capitalised nouns pass for names.
    return {_stem(w.lower()): w.islower() for w in verbs}, later if passive else earlier


def _entity_tokens(text: str, names: set[str]) -> list[str]:
    """Tokens (lower-cased, except words that are not names) with possessive 's dropped and each run
    of consecutive ``names`` joined into one ("united states")."""
    out: list[str] = []
    run: list[str] = []
    for token in (t.removesuffix("'s") for t in _ROLE_TOKEN.findall(text)):
        if token.lower() in names:
            run.append(token.lower())
            continue
        if run:
            out.append(" ".join(run))
            run = []
        out.append(token)
    if run:
        out.append(" ".join(run))
    return out


def roles_swapped(a: str, b: str) -> bool:
    """Both texts relate the same two names through the same verb, with actor and target
    swapped: "Russia attacked Ukraine" vs "Ukraine attacked Russia" (or "Russia was attacked by
    Ukraine"). A pattern over capitalised names (possessive 's dropped), a short verb span and
    "by"-passives, not a parse: it stays silent on anything longer or symmetric ("met", "with",
    "and"), and when the shared verb is capitalised in both texts (Title Case headlines, where
    capitalised nouns pass for names)."""
    a, b = normalize_text(a), normalize_text(b)
    shared = (_names(a) & _names(b)) - _CALENDAR
    if len(shared) < 2:
        return False
    tokens = [_entity_tokens(a, shared), _entity_tokens(b, shared)]
    entities = sorted({t for t in tokens[0] if " " in t or t in shared} & set(tokens[1]))
    firsts = []
    for toks in tokens:
        first: dict[str, int] = {}
        for i, token in enumerate(toks):
            if token in entities:
                first.setdefault(token, i)
        firsts.append(first)
    blocked = set(entities)
    for i, x in enumerate(entities):
        for y in entities[i + 1 :]:
            found = [_agent_of(toks, first, x, y, blocked) for toks, first in zip(tokens, firsts)]
            if None in found or found[0][1] == found[1][1]:
                continue
            (verbs_a, _), (verbs_b, _) = found
            if any(verbs_a[v] or verbs_b[v] for v in verbs_a.keys() & verbs_b.keys()):
                return True
    return False


def assertion_rules(a: Sequence[str], b: Sequence[str]) -> dict[str, np.ndarray]:
    """Each assertion rule's verdict per pair: ``figures`` (:func:`numbers_conflict`),
    ``polarity`` (a negation or denial cue on one side only) and ``roles``
    (:func:`roles_swapped`), as boolean arrays of shape (n_pairs,)."""
    a, b = [normalize_text(x) for x in a], [normalize_text(y) for y in b]
    return {"figures": np.array([numbers_conflict(x, y) for x, y in zip(a, b)], dtype=bool),
            "polarity": np.array([_negated(x) != _negated(y) for x, y in zip(a, b)], dtype=bool),
            "roles": np.array([roles_swapped(x, y) for x, y in zip(a, b)], dtype=bool)}


def assertion_conflicts(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """True for each pair whose sentences state different figures, opposite polarity or the
    same relation between two names with the roles swapped (any of :func:`assertion_rules`)."""
    return any_conflict(assertion_rules(a, b))


def any_conflict(rules: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pairs that break at least one of the rules :func:`assertion_rules` returned."""
    return np.logical_or.reduce(list(rules.values()))


class StanceScorer:
    """Stance of sentences toward claims: repeats / denies / reports, with a probability."""

    def __init__(self, linear: _Linear):
        self.linear = linear

    @classmethod
    def load(cls, path: str | Path | None = None) -> "StanceScorer":
        return cls(_Linear.from_json(_load_json(str(path or MODEL_DIR / "stance.json"))))

    @classmethod
    def fit(cls, sentences, claims, vs, vc, stances, *, C: float = 0.01) -> "StanceScorer":
        return cls(_Linear.fit(stance_features(sentences, claims, vs, vc), list(stances), C=C, meta={}))

    def to_json(self) -> dict:
        return self.linear.to_json()

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
            if _negated(claim) and stance != "reports":
                stance = "repeats" if _negated(sentence) else "denies"
            out.append((stance, float(p.max())))
        return out


def stances_toward(scorer, sentences: Sequence[str], vectors: np.ndarray, claim: str,
                   claim_vector: np.ndarray) -> list[tuple[str, float]]:
    """Stance of each sentence toward one claim: ``scorer.predict`` with the claim repeated."""
    if len(sentences) == 0:
        return []
    return scorer.predict(list(sentences), [claim] * len(sentences), vectors,
                          np.repeat(np.asarray(claim_vector)[None, :], len(sentences), axis=0))


def relations_to(text: str, vector: np.ndarray, claims: Sequence[str], claim_vectors: np.ndarray) -> list[dict]:
    """How ``text`` relates to each of ``claims``: its ``stance`` toward the claim (repeats /
    denies / reports, with ``stance_score``, from the shipped :class:`StanceScorer`) and the
    ``conflicts`` between them (names of the :func:`assertion_rules` that fire)."""
    if len(claims) == 0:
        return []
    texts = [text] * len(claims)
    vectors = np.repeat(np.asarray(vector)[None, :], len(claims), axis=0)
    stances = StanceScorer.load().predict(texts, list(claims), vectors, np.asarray(claim_vectors))
    rules = assertion_rules(texts, claims)
    return [{"stance": stance, "stance_score": round(p, 4),
             "conflicts": tuple(name for name, flags in rules.items() if flags[j])}
            for j, (stance, p) in enumerate(stances)]


@lru_cache(maxsize=4)
def _load_json(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float((y == 1).sum()), 1.0)
    return 2 * precision * recall / max(precision + recall, 1e-12)
