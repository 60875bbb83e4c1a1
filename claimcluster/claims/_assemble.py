"""The one assembly of claims (labels -> claims) for the pipeline and the store alike: each claim's
representative, its members' similarity and stance toward it, its cohesion, and the split of a claim
into its assertions (denials, other figures, swapped roles)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from claimcluster.assertion import StanceScorer, relate
from claimcluster.claims._records import Claim, Member, member_of, spread_order
from claimcluster.cluster import NOISE, canonical_labels, mean_pairwise_similarity, medoid
from claimcluster.documents import Sentence
from claimcluster.judge import judged_stance

__all__ = ["Judged", "assemble_claim", "build_claims", "claim_cohesion", "member_stances", "split_assertions"]


@dataclass(frozen=True)
class Judged:
    """The judge's reading of each sentence toward its claim's representative (arrays over all sentences):
    P(same), P(contradict), and whether the sentence is kept as a denial."""

    same: np.ndarray
    contradict: np.ndarray
    denies: np.ndarray


def assemble_claim(claim_id: int, sentences: Sequence[Sentence], vectors: np.ndarray, representative: int,
                   probabilities: Sequence[float], scorer: StanceScorer | None,
                   judged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> Claim:
    """One claim from its member sentences, their unit vectors and the position of its
    representative among them: members in document order with their similarity and stance
    toward the representative (which repeats itself), and the claim's cohesion. The one way a
    claim is put together, for the pipeline and the store alike.

    ``judged`` gives the judge's (same, contradict, denies) per member: a denial is "denies" with
    its P(contradict); the others "repeats", or "reports" where the stance model reads them as
    only reporting the claim (or, without a stance model, where they hedge and the representative
    does not), with their P(same). Without it the stance model decides alone."""
    order = sorted(range(len(sentences)), key=lambda i: (sentences[i].doc_id, sentences[i].position))
    similarity = vectors.astype(np.float64) @ vectors[representative].astype(np.float64)
    n = len(sentences)
    rep = sentences[representative].norm
    readings = [None] * n if judged is None else [
        (float(judged[0][i]), float(judged[1][i]), bool(judged[2][i])) for i in range(n)]
    stances = member_stances([s.norm for s in sentences], vectors, [rep] * n,
                             np.repeat(vectors[representative][None, :], n, axis=0), scorer, readings,
                             [i == representative for i in range(n)])
    members = {i: member_of(sentences[i], float(similarity[i]), probabilities[i], *stances[i]) for i in order}
    return Claim(claim_id, members[representative], tuple(members[i] for i in order), claim_cohesion(vectors))


Stance = tuple[str | None, float | None]
Reading = tuple[float, float, bool]
"""The judge's reading of a member toward its representative: P(same), P(contradict), kept as a denial."""


def member_stances(texts: Sequence[str], vectors: np.ndarray, rep_texts: Sequence[str], rep_vectors: np.ndarray,
                   scorer: StanceScorer | None, readings: Sequence[Reading | None],
                   is_representative: Sequence[bool]) -> list[Stance]:
    """Each member's stance toward its claim's representative and the probability behind it (row-aligned
    arguments): the judge's where it read the member (:func:`claimcluster.judge.judged_stance`, the stance
    model telling "reports" from "repeats"), else the stance model's alone (None without one); a
    representative, and every verbatim copy of it, repeats it."""
    stances: list[Stance] = [(None, None)] * len(texts)
    if scorer is not None and len(texts):
        relations = relate(list(texts), vectors, list(rep_texts), rep_vectors, scorer, rules=False)
        stances = [(r.stance, r.stance_score) for r in relations]
    out: list[Stance] = []
    for text, rep, (stance, score), reading, is_rep in zip(texts, rep_texts, stances, readings, is_representative):
        if is_rep or text == rep:  # the representative, or a verbatim copy of it, repeats it
            out.append(("repeats", 1.0))
            continue
        if reading is not None:
            stance, score = judged_stance(text, rep, *reading, stance)
        out.append((stance, None if score is None else float(score)))
    return out


def claim_cohesion(vectors: np.ndarray) -> float:
    """The mean pairwise cosine of a claim's member vectors (computed in float64 from their sum)."""
    return float(mean_pairwise_similarity(vectors.sum(axis=0, dtype=np.float64), len(vectors)))


def build_claims(
    sentences: list[Sentence],
    vectors: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    stance_scorer: StanceScorer | None = None,
    *,
    representatives: Sequence[int] | None = None,
    judged: Judged | None = None,
    not_checkable: Sequence[str | None] | None = None,
) -> tuple[list[Claim], list[Member]]:
    """Claims from clustered sentences, and the sentences in no claim, both in document order.

    Each claim's representative is ``representatives[label]`` (a row of ``sentences``) or, when
    None, the medoid of its members. ``not_checkable`` gives the gate's reason for sentences
    that state no checkable assertion (kept with the unclustered ones)."""
    order = sorted(range(len(sentences)), key=lambda i: (sentences[i].doc_id, sentences[i].position))
    reasons = not_checkable if not_checkable is not None else [None] * len(sentences)
    unclustered = [member_of(sentences[i], None, probabilities[i], not_checkable=reasons[i])
                   for i in order if labels[i] == NOISE]
    claims = []
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        rows = np.array([i for i in order if labels[i] == label])  # document order: ties go to the first
        if not len(rows):
            continue
        rep = medoid(vectors[rows]) if representatives is None else int(
            np.flatnonzero(rows == representatives[label])[0])
        parts = None if judged is None else (judged.same[rows], judged.contradict[rows], judged.denies[rows])
        claims.append(assemble_claim(label, [sentences[i] for i in rows], vectors[rows], rep,
                                     probabilities[rows], stance_scorer, parts))
    claims.sort(key=spread_order)
    return claims, unclustered



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
