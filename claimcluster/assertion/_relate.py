"""How a sentence relates to a claim: its stance, the rules the two break, and whether they state the same assertion."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from claimcluster.assertion._rules import assertion_rules
from claimcluster.assertion._scorers import PairScorer, StanceScorer


@dataclass(frozen=True)
class Relation:
    """A sentence's ``stance`` toward a claim (repeats / denies / reports) with its probability,
    and the assertion rules the two break (``conflicts``: "figures", "polarity", "roles";
    "polarity" only when the stance is not "repeats")."""

    stance: str
    stance_score: float
    conflicts: tuple[str, ...] = ()
    same_assertion: bool | None = None
    """Whether the two state the same assertion (:meth:`PairScorer.same`: the pair model and the
    rules); None when no pair model was given, or when the two are written in different scripts
    (the pair model reads surface overlap, which a translation does not share: on the
    cross-lingual dev split it called none of 120 Russian translations the same as their source)."""


def relate(texts: Sequence[str], vectors: np.ndarray, claims: str | Sequence[str], claim_vectors: np.ndarray,
           scorer: StanceScorer, *, rules: bool = True, pair: PairScorer | None = None) -> list[Relation]:
    """How each of ``texts`` relates to its claim: ``claims[i]`` (or one claim for all, given as a
    string with a 1-D vector). ``rules=False`` skips the assertion rules (stance only); with a
    ``pair`` scorer each relation also says whether the two are the same assertion."""
    n = len(texts)
    if n == 0:
        return []
    if isinstance(claims, str):
        claims = [claims] * n
        claim_vectors = np.repeat(np.asarray(claim_vectors)[None, :], n, axis=0)
    texts, claims, vectors, claim_vectors = list(texts), list(claims), np.asarray(vectors), np.asarray(claim_vectors)
    stances = scorer.predict(texts, claims, vectors, claim_vectors)
    verdicts = assertion_rules(texts, claims) if rules else None
    if verdicts is not None:
        # Polarity is read toward the claim by the stance model; the cue-word rule, which sees any
        # negation in the sentence ("could not be independently verified"), only stands where the
        # model does not call the sentence a repetition, so a relation never says "repeats (polarity)".
        repeats = np.array([stance == "repeats" for stance, _ in stances])
        verdicts = replace(verdicts, polarity=verdicts.polarity & ~repeats)
    same: list[bool | None] = [None] * n
    if pair is not None:
        decided = pair.same(texts, claims, vectors, claim_vectors, rules=False)
        decided = decided & ~verdicts.any if verdicts is not None else decided
        same = [None if script(t) != script(c) else bool(d) for t, c, d in zip(texts, claims, decided)]
    return [Relation(stance, p, verdicts.broken(j) if verdicts is not None else (), same[j])
            for j, (stance, p) in enumerate(stances)]


def script(text: str) -> str | None:
    """The script most of the letters of ``text`` are written in ("LATIN", "CYRILLIC", "ARABIC"...,
    the first word of their Unicode names), or None without letters."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            key = name.split(" ", 1)[0] if name else "UNKNOWN"
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
