"""Hybrid scoring of claim candidates: a convex mix of the dense cosine and a saturated BM25 score.

    dense = cosine(query, text)                                   (no extra text)
          = (1 - e) * cosine(query, text) + e * cosine(query, extra text)
    score = (1 - w) * dense + w * bm25 / (bm25 + h)

BM25 is absolute, not normalised per query, so a fixed ``min_score`` means the same for every
query. The weights are a frozen :class:`FusionWeights`; :data:`DEFAULT_FUSION` holds the values
chosen on CLEF-2020 CheckThat! tweets (``python -m benchmarks.clef --tune``, figures in
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from claimcluster.errors import InputError

__all__ = ["FusionWeights", "DEFAULT_FUSION"]


@dataclass(frozen=True)
class FusionWeights:
    """How dense and lexical evidence are mixed (see the module docstring).

    lexical_weight : w, the BM25 share of the score; 0 is dense only, 1 lexical only.
    bm25_half : h, the BM25 score that counts half (saturation).
    bm25_k1, bm25_b : BM25 term saturation and length normalisation.
    extra_dense_weight : e, the share of the dense score taken from the extra text (a
        fact-check title), where a claim has one.
    """

    lexical_weight: float = 0.7
    bm25_half: float = 128.0
    bm25_k1: float = 0.9
    bm25_b: float = 0.3
    extra_dense_weight: float = 0.25

    def __post_init__(self) -> None:
        for name in ("lexical_weight", "extra_dense_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise InputError(f"{name} ({value!r}) must be a number from 0 to 1")
        for name in ("bm25_half", "bm25_k1"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise InputError(f"{name} ({value!r}) must be a positive number")
        if not (isinstance(self.bm25_b, (int, float)) and 0.0 <= self.bm25_b <= 1.0):
            raise InputError(f"bm25_b ({self.bm25_b!r}) must be a number from 0 to 1")


# Chosen on CLEF-2020 train + dev tweets with the plain MiniLM (72-point grid, MAP@5 0.8820),
# kept for the claim-tuned encoder after a dev check; see benchmarks/RESULTS.md.
DEFAULT_FUSION = FusionWeights()


def fuse(text_cosine: np.ndarray, extra_cosine: np.ndarray, has_extra: np.ndarray, bm25: np.ndarray,
         weights: FusionWeights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dense, saturated lexical, fused) scores of candidates, each of shape (n_candidates,)."""
    e = weights.extra_dense_weight
    dense = np.where(has_extra, (1 - e) * text_cosine + e * extra_cosine, text_cosine)
    saturated = bm25 / (bm25 + weights.bm25_half)
    w = weights.lexical_weight
    return dense, saturated, (1 - w) * dense + w * saturated


TOKEN_PATTERN = r"(?u)\b\w\w+\b"
"""bm25s's token pattern (its default), which :func:`bm25_tokens` uses."""


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def bm25_tokens(texts: Sequence[str]) -> list[list[str]]:
    """English tokens for BM25: stop words removed, Snowball-stemmed."""
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), token_pattern=TOKEN_PATTERN,
                          return_ids=False, show_progress=False)


class Bm25:
    """A BM25 index over fixed texts (bm25s), built with the weights' k1 and b."""

    def __init__(self, texts: Sequence[str], weights: FusionWeights) -> None:
        import bm25s

        self.k1, self.b = weights.bm25_k1, weights.bm25_b
        self._n = len(texts)
        self._saved: _SavedScores | None = None
        tokens = bm25_tokens(texts)
        # bm25s cannot index texts without a single word (only punctuation, emoji, stop words).
        self._retriever = bm25s.BM25(k1=self.k1, b=self.b) if any(tokens) else None
        if self._retriever is not None:
            self._retriever.index(tokens, show_progress=False)

    def to_bytes(self) -> bytes:
        """The built index as one ``.npz`` (no pickle): bm25s's score matrix and vocabulary, and the
        tokeniser's stop words, so that a reader scores queries without bm25s (and scipy)."""
        from bm25s.stopwords import STOPWORDS_EN

        parts: dict[str, np.ndarray] = {"n": np.array(self._n), "k1": np.array(self.k1), "b": np.array(self.b),
                                        "stopwords": np.array(sorted(STOPWORDS_EN)),
                                        "token_pattern": np.array(TOKEN_PATTERN)}
        if self._retriever is not None:
            scores, vocab = self._retriever.scores, self._retriever.vocab_dict
            parts.update(data=scores["data"], indices=scores["indices"], indptr=scores["indptr"],
                         vocab=np.array(json.dumps(vocab, ensure_ascii=False)))
        buffer = io.BytesIO()
        np.savez(buffer, **parts)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, n_texts: int, weights: FusionWeights) -> Bm25 | None:
        """A saved index back, or None when it does not fit ``n_texts`` or ``weights`` (then it is
        built again). Raises ValueError when the bytes are not one."""
        with np.load(io.BytesIO(data), allow_pickle=False) as parts:
            n, k1, b = int(parts["n"]), float(parts["k1"]), float(parts["b"])
            if n != n_texts or (k1, b) != (weights.bm25_k1, weights.bm25_b):
                return None
            bm25 = cls.__new__(cls)
            bm25.k1, bm25.b, bm25._n, bm25._retriever, bm25._saved = k1, b, n, None, None
            if "vocab" in parts:
                vocab = json.loads(str(parts["vocab"]))
                data_, indices, indptr = parts["data"], parts["indices"], parts["indptr"]
                if not (isinstance(vocab, dict) and len(indptr) >= 1 and len(data_) == len(indices) == indptr[-1]
                        and (not len(indices) or int(indices.max()) < n) and np.all(np.diff(indptr) >= 0)
                        and all(isinstance(v, int) and 0 <= v < len(indptr) for v in vocab.values())
                        and np.isfinite(data_).all()):
                    raise ValueError("the BM25 arrays do not agree with each other or with the number of claims")
                bm25._saved = _SavedScores(data_, indices, indptr, vocab, frozenset(parts["stopwords"].tolist()),
                                           re.compile(str(parts["token_pattern"])))
        return bm25

    def fits(self, weights: FusionWeights) -> bool:
        return (self.k1, self.b) == (weights.bm25_k1, weights.bm25_b)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query``, shape (n_texts,); zeros for a query without words."""
        if self._saved is not None:
            return self._saved.scores(query, self._n)
        tokens = bm25_tokens([query])[0]
        if self._retriever is None or not tokens:
            return np.zeros(self._n)
        return self._retriever.get_scores(tokens)


@dataclass(frozen=True)
class _SavedScores:
    """A saved bm25s index, queried as bm25s queries it: its tokeniser (lower case, the token
    pattern, stop words, Snowball stems) and the sum of the query tokens' columns of the score
    matrix (tests check it against bm25s itself)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    vocab: dict[str, int]
    stopwords: frozenset[str]
    pattern: re.Pattern

    def scores(self, query: str, n: int) -> np.ndarray:
        words = [w for w in self.pattern.findall(query.lower()) if w not in self.stopwords]
        columns = len(self.indptr) - 1  # bm25s's vocabulary also names "" past the last column
        ids = [i for t in (_stemmer().stemWords(words) if words else []) if (i := self.vocab.get(t, columns)) < columns]
        if not ids:
            return np.zeros(n)
        token_ids = np.array(ids, dtype=np.int64)
        starts, ends = self.indptr[token_ids], self.indptr[token_ids + 1]
        out = np.zeros(n, dtype=self.data.dtype)
        np.add.at(out, np.concatenate([self.indices[s:e] for s, e in zip(starts, ends)]),
                  np.concatenate([self.data[s:e] for s, e in zip(starts, ends)]))
        return out


def top_rows(scores: np.ndarray, depth: int) -> np.ndarray:
    """The ``depth`` highest-scoring rows, ties to the lower row (a stable sort's first ``depth``, without sorting
    every row)."""
    if depth >= len(scores):
        return np.argsort(-scores, kind="stable")
    cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
    rows = np.flatnonzero(scores >= cut)
    return rows[np.lexsort((rows, -scores[rows]))][:depth]
