"""Feature builders of the learned assertion models, each with a named schema.

A schema is the tuple of column names a builder returns, in order. Every shipped model stores
the schema it was trained with, and loading checks it against the one below, so that
reordering or changing a feature can never silently change a prediction (the model must be
retrained: ``python -m claimcluster.training scorers``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import LCSseq

from claimcluster.assertion._rules import CONFIRMATION, HEDGE, NEGATION, STOP, WORD, names, numbers
from claimcluster.segment import normalize_text

PAIR_SCHEMA = ("cosine", "content_jaccard", "figures_differ", "figures_one_sided", "figures_jaccard",
               "negated_sides", "polarity_differs", "negation_gap", "names_jaccard", "names_differing",
               "length_ratio")
OVERLAP_SCHEMA = (*(f"ngram{n}_{k}" for n in (1, 2, 3, 4) for k in ("min", "max", "f")), "char3_jaccard",
                  "char5_jaccard", "lcs_dice", "lcs_cover", "length_gap", "words_one_sided")
# Disagreement in figures or polarity between sentences that otherwise overlap: the interaction
# lets the pair model learn that near-copies with another number differ.
_CONFLICTS = ("figures_differ", "polarity_differs")
_COVERS = ("ngram1_f", "cosine")
INTERACTION_SCHEMA = tuple(f"{c}*{v}" for c in _CONFLICTS for v in _COVERS)
DENSE_PAIR_SCHEMA = PAIR_SCHEMA + OVERLAP_SCHEMA + INTERACTION_SCHEMA
_CUES = ("negations", "hedges", "question", "confirms")
STANCE_SCHEMA = PAIR_SCHEMA + _CUES + tuple(f"{c}_minus_claim" for c in _CUES)
RERANK_SCHEMA = (("fused", "dense", "lexical", "gap_to_best", "log_rank") + tuple(f"{f}@text" for f in OVERLAP_SCHEMA)
                 + tuple(f"{f}@extra" for f in OVERLAP_SCHEMA))


def columns(schema: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Positions of ``wanted`` columns in ``schema``."""
    return [list(schema).index(name) for name in wanted]


def _content(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _scalar_pair_row(a: str, b: str) -> list[float]:
    a, b = normalize_text(a), normalize_text(b)
    na, nb = numbers(a), numbers(b)
    neg_a, neg_b = len(NEGATION.findall(a)), len(NEGATION.findall(b))
    names_a, names_b = names(a), names(b)
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
    """Matrix (n_pairs, len(PAIR_SCHEMA)) for sentence pairs and their unit vectors: embedding
    cosine, content-word overlap, figures, negation, names, length."""
    cos = np.sum(va * vb, axis=1, keepdims=True)
    scalars = np.array([_scalar_pair_row(x, y) for x, y in zip(a, b)], dtype=np.float64).reshape(len(a), -1)
    return np.hstack([cos, scalars])


_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=8192)
def _surface(text: str) -> tuple:
    """Words, word n-gram counts (n = 1..4) and character 3- / 5-gram sets of a text, cached:
    the re-ranker compares one query with many claims, and the same claims with many queries."""
    chars = normalize_text(text).lower()
    words = _TOKEN.findall(chars)
    grams = tuple(Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)) for n in (1, 2, 3, 4))
    char_sets = tuple(frozenset(chars[i:i + n] for i in range(len(chars) - n + 1)) for n in (3, 5))
    return words, grams, char_sets


def clear_overlap_cache() -> None:
    """Forget the cached surface n-grams of :func:`overlap_features` (for cold timings)."""
    _surface.cache_clear()


def _overlap_row(a: str, b: str) -> list[float]:
    (wa, grams_a, chars_a), (wb, grams_b, chars_b) = _surface(a), _surface(b)
    row = []
    for n, (ga, gb) in enumerate(zip(grams_a, grams_b), start=1):
        small, large = (ga, gb) if len(ga) <= len(gb) else (gb, ga)
        common = sum(min(count, large[gram]) for gram, count in small.items() if gram in large)  # |A ∩ B| as bags
        p, r = common / max(len(wa) - n + 1, 1), common / max(len(wb) - n + 1, 1)  # n-gram counts of each side
        row += [min(p, r), max(p, r), 2 * p * r / (p + r) if p + r else 0.0]
    for sa, sb in zip(chars_a, chars_b):
        shared = len(sa & sb)
        row.append(shared / max(len(sa) + len(sb) - shared, 1))
    common = LCSseq.similarity(wa, wb)  # the longest common subsequence of words
    row.append(2 * common / (len(wa) + len(wb)) if wa or wb else 1.0)
    row.append(common / max(len(wa), len(wb), 1))
    row.append(float(abs(len(wa) - len(wb))))
    row.append(float(len(set(wa) ^ set(wb))))
    return row


def overlap_features(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Matrix (n_pairs, len(OVERLAP_SCHEMA)) of surface overlap, in the manner of MT metrics:
    for n = 1..4 the lower, higher and harmonic mean of the n-gram precision of each sentence
    against the other; character 3- and 5-gram Jaccard; the longest common subsequence of words as a
    share of both lengths (Dice) and of the longer one; difference in length and number of words only
    one side has."""
    return np.array([_overlap_row(x, y) for x, y in zip(a, b)], dtype=np.float64).reshape(len(a), -1)


def dense_pair_features(a: Sequence[str], b: Sequence[str], va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """Matrix (n_pairs, len(DENSE_PAIR_SCHEMA)): pair and overlap features and their interactions."""
    base, overlap = pair_features(a, b, va, vb), overlap_features(a, b)
    joined = np.hstack([base, overlap])
    conflicts = joined[:, columns(PAIR_SCHEMA + OVERLAP_SCHEMA, _CONFLICTS)]
    cover = joined[:, columns(PAIR_SCHEMA + OVERLAP_SCHEMA, _COVERS)]
    interactions = (conflicts[:, :, None] * cover[:, None, :]).reshape(len(base), -1)
    return np.hstack([joined, interactions])


def _cues(text: str) -> list[float]:
    text = normalize_text(text)
    return [float(len(NEGATION.findall(text))), float(len(HEDGE.findall(text))), float("?" in text),
            float(bool(CONFIRMATION.search(text)))]


def stance_features(sentences: Sequence[str], claims: Sequence[str], vs: np.ndarray, vc: np.ndarray) -> np.ndarray:
    """Matrix (n, len(STANCE_SCHEMA)) for the stance of each sentence toward its claim: the pair
    features plus denial, hedging, question and confirmation cues of the sentence and their
    difference from the claim's."""
    cues = np.array([_cues(s) + [a - b for a, b in zip(_cues(s), _cues(c))] for s, c in zip(sentences, claims)],
                    dtype=np.float64).reshape(len(sentences), -1)
    return np.hstack([pair_features(sentences, claims, vs, vc), cues])


def rerank_features(query: str, texts: Sequence[str], extras: Sequence[str], fused: np.ndarray,
                    dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """Matrix (n, len(RERANK_SCHEMA)) of a query's candidates, given in fused order."""
    n = len(texts)
    base = np.column_stack([fused, dense, lexical, fused[0] - fused if n else fused, np.log1p(np.arange(n))])
    with_text = overlap_features([query] * n, list(texts))
    with_extra = overlap_features([query] * n, [e or t for e, t in zip(extras, texts)])
    return np.hstack([base, with_text, with_extra])


def terms(text: str) -> set[str]:
    """Words and adjacent word pairs of a text, lower-cased."""
    words = _surface(text)[0]
    return set(words) | {f"{x} {y}" for x, y in zip(words, words[1:])}


def term_indicators(vocabulary: Mapping[str, int], a: Sequence[str], b: Sequence[str]):
    """Sparse (n_pairs, len(vocabulary)) indicators of the vocabulary terms both sentences of
    a pair have, and of those only one of them has."""
    from scipy import sparse

    rows: dict[str, list[int]] = {"shared": [], "one": []}
    cols: dict[str, list[int]] = {"shared": [], "one": []}
    for row, (x, y) in enumerate(zip(a, b)):
        tx, ty = terms(x), terms(y)
        for kind, found in (("shared", tx & ty), ("one", tx ^ ty)):
            for term in found:
                column = vocabulary.get(term)
                if column is not None:
                    rows[kind].append(row)
                    cols[kind].append(column)
    shape = (len(a), len(vocabulary))
    return tuple(sparse.csr_matrix((np.ones(len(rows[k])), (rows[k], cols[k])), shape=shape)
                 for k in ("shared", "one"))
