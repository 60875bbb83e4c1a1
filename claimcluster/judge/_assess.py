"""One assessment of a sentence against a claim, with the judge: the stance of a claim's member toward its
representative (:func:`judged_stance`), and the ``assess=True`` fields that every match record carries
(:class:`Assessment`, filled by :func:`match_relations`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from claimcluster.assertion import HEDGE, assertion_rules, relate, script, shipped_pair_scorer, shipped_stance_scorer
from claimcluster.errors import ModelMismatchError
from claimcluster.judge._judge import judge_for


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """How a query relates to the claim it matched (filled with ``assess=True``; None / empty otherwise).
    Both match records, :class:`claimcluster.index.Match` and :class:`claimcluster.store.ClaimMatch`, carry it."""

    stance: str | None = None
    """The query's stance toward the claim (repeats / denies / reports)."""
    stance_score: float | None = None
    conflicts: tuple[str, ...] = ()
    """The assertion rules the query and the claim break ("figures", "polarity", "roles"; see
    :func:`claimcluster.assertion.assertion_rules`)."""
    same_assertion: bool | None = None
    """Whether the query states the same assertion as the claim (the judge and the rules; None when the
    query and the claim are written in different scripts, where the models cannot tell)."""

    def assessment(self) -> dict[str, object]:
        """The assessment fields as JSON-ready values."""
        return {"stance": self.stance, "stance_score": self.stance_score, "conflicts": list(self.conflicts),
                "same_assertion": self.same_assertion}

    def relation(self) -> str:
        """"repeats, same assertion", "denies (polarity)"... for an assessed match; "" for one that was not."""
        if self.stance is None:
            return ""
        return (self.stance + (f" ({', '.join(self.conflicts)})" if self.conflicts else "")
                + (", same assertion" if self.same_assertion else ""))


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


def match_relations(texts: Sequence[str], vectors: np.ndarray, claims: Sequence[str], claim_vectors: np.ndarray,
           model_id: str) -> list[dict[str, Any]]:
    """The ``assess=True`` fields of matches: ``stance`` toward the claim and ``stance_score``, the
    rules broken (``conflicts``), and ``same_assertion``.

    The same-assertion judge (:mod:`claimcluster.judge`) decides ``same_assertion`` and "denies",
    as it does for claim members; the shipped stance model of ``model_id`` tells "reports" from
    "repeats" (hedging words do without one). With a model the judge does not serve (the
    multilingual one), the stance and pair models decide as before. ``same_assertion`` is None
    where the query and the claim are written in different scripts."""
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
