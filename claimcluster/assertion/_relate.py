"""How a sentence relates to a claim, and splitting a claim into its assertions."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from claimcluster.assertion._rules import HEDGE, assertion_rules
from claimcluster.assertion._scorers import PairScorer, StanceScorer, shipped_pair_scorer, shipped_stance_scorer
from claimcluster.cluster import NOISE, canonical_labels, medoid


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


def judged_stance(text: str, representative: str, same: float, contradict: float, denies: bool,
                  modelled: str | None) -> tuple[str, float]:
    """A judged member's stance toward its representative and the probability behind it.

    "denies" where the judge reads a contradiction (``denies``); else "reports" where the stance model
    (``modelled``: its stance, None without one) reads the member as only reporting the claim (without a
    stance model: where it hedges and the representative does not), and "repeats" otherwise. A verbatim
    copy of the representative always repeats it."""
    if text == representative:
        return "repeats", same
    if denies:  # a denial states the same proposition: its score is the judge's P(same or contradict)
        return "denies", min(1.0, same + contradict)
    if modelled is not None:
        reports = modelled == "reports"
    else:
        reports = bool(HEDGE.search(text)) and not HEDGE.search(representative)
    return ("reports" if reports else "repeats"), same


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


def match_relations(texts: Sequence[str], vectors: np.ndarray, claims: Sequence[str], claim_vectors: np.ndarray,
           model_id: str) -> list[dict[str, Any]]:
    """The ``assess=True`` fields of matches: ``stance`` toward the claim and ``stance_score``, the
    rules broken (``conflicts``), and ``same_assertion``.

    The same-assertion judge (:mod:`claimcluster.judge`) decides ``same_assertion`` and "denies",
    as it does for claim members; the shipped stance model of ``model_id`` tells "reports" from
    "repeats" (hedging words do without one). With a model the judge does not serve (the
    multilingual one), the stance and pair models decide as before. ``same_assertion`` is None
    where the query and the claim are written in different scripts."""
    from claimcluster.errors import ModelMismatchError
    from claimcluster.judge import judge_for

    judge = judge_for("auto", model_id)
    try:
        stance = shipped_stance_scorer(model_id)
    except ModelMismatchError:
        if judge is None:
            raise
        stance = None
    if judge is None:
        assert stance is not None
        relations = relate(texts, vectors, claims, claim_vectors, stance, pair=shipped_pair_scorer(model_id))
        return [{"stance": r.stance, "stance_score": round(r.stance_score, 4), "conflicts": r.conflicts,
                 "same_assertion": r.same_assertion} for r in relations]
    verdict = judge.judge(texts, claims)
    modelled = [r.stance for r in relate(texts, vectors, claims, claim_vectors, stance, rules=False)] \
        if stance is not None else [None] * len(texts)
    verdicts = assertion_rules(list(texts), list(claims))
    # A query is not split off anything, so where one side alone negates, a pair the judge reads as the same
    # proposition (or the stance model as a denial) is reported as a denial: the judge learned from few denials.
    negates = verdicts.polarity & (verdict.accepted | np.array([m == "denies" for m in modelled], dtype=bool))
    denies = verdict.denied | negates
    out = []
    for j, (text, claim) in enumerate(zip(texts, claims)):
        label, score = judged_stance(text, claim, float(verdict.same[j]), float(verdict.contradict[j]),
                                     bool(denies[j]), modelled[j])
        conflicts = tuple(c for c in verdicts.broken(j) if c != "polarity" or label != "repeats")
        out.append({"stance": label, "stance_score": round(score, 4), "conflicts": conflicts,
                    "same_assertion": None if script(text) != script(claim) else bool(verdict.accepted[j])})
    return out


def split_assertions(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, scorer: StanceScorer,
                     *, min_size: int = 2) -> np.ndarray:
    """Split each claim into the assertion of its representative, its denials, other figures
    and swapped roles.

    Members whose stance toward the claim's medoid is "denies" form one new claim; members that
    state quantities and share none with the medoid form another; members that relate the same
    two names as the medoid with actor and target swapped a third. A split-off group smaller
    than ``min_size`` becomes unclustered, and so do the claim's remaining members when fewer
    than ``min_size`` of them are left: every claim that comes back has at least ``min_size``
    members. The split is repeated on the new claims (each toward its own medoid) until nothing
    changes. Labels come back canonical.
    """
    if not len(labels):
        return labels.copy()
    # Canonical order of the rows (by vector bytes, then text), so that ties and the new labels do not
    # depend on the order of the input.
    keys = np.ascontiguousarray(vectors).view(np.dtype((np.void, vectors.dtype.itemsize * vectors.shape[1]))).ravel()
    rank = np.empty(len(texts), dtype=np.int64)
    rank[sorted(range(len(texts)), key=lambda i: (keys[i].tobytes(), texts[i]))] = np.arange(len(texts))
    # A group split off (or what remains) has a medoid of its own, which may deny or contradict some of
    # its members in turn: split again until no claim changes. Groups only ever lose members, so this ends.
    out = canonical_labels(labels, rank=rank)
    while True:
        again = _split_once(texts, vectors, out, scorer, min_size, rank)
        if np.array_equal(again, out):
            return out
        out = again


def _split_once(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, scorer: StanceScorer,
                min_size: int, rank: np.ndarray) -> np.ndarray:
    out = labels.copy()
    next_label = int(labels.max()) + 1
    for label in range(next_label):
        rows = sorted(np.flatnonzero(labels == label).tolist(), key=lambda i: rank[i])
        if not rows:
            continue
        rep = rows[medoid(vectors[rows])]
        relations = relate([texts[i] for i in rows], vectors[rows], texts[rep], vectors[rep], scorer)
        denies = [i for i, r in zip(rows, relations) if r.stance == "denies" and i != rep]
        taken = {rep, *denies}
        figures = [i for i, r in zip(rows, relations) if i not in taken and "figures" in r.conflicts]
        taken.update(figures)
        swapped = [i for i, r in zip(rows, relations) if i not in taken and "roles" in r.conflicts]
        for group in (denies, figures, swapped):
            if not group:
                continue
            if len(group) >= min_size:
                out[group] = next_label
                next_label += 1
            else:
                out[group] = NOISE
        remaining = [i for i in rows if out[i] == label]
        if len(remaining) < min_size:
            out[remaining] = NOISE
    return canonical_labels(out, rank=rank)
