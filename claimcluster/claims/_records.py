"""Claim results: each claim with its representative, members, documents and outlets.

A :class:`ClaimSet` is what :func:`claimcluster.cluster_documents` returns. It exports to
plain dicts / JSON, a pandas DataFrame (one row per sentence) and Parquet.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from claimcluster._files import atomic_write_bytes, atomic_write_text
from claimcluster.cluster import NOISE
from claimcluster.documents import Rejection, Sentence

__all__ = ["Member", "Claim", "ClaimSet", "member_of", "spread_order"]

STANCE_ORDER = ("repeats", "denies", "reports")


@dataclass(frozen=True)
class Member:
    """A sentence in a claim (or unclustered), with its similarity to the claim's representative."""

    doc_id: str
    text: str
    start: int
    end: int
    position: int
    outlet: str | None = None
    published: str | None = None
    similarity: float | None = None
    probability: float = 0.0
    stance: str | None = None
    """Toward the claim's representative: "repeats", "denies" or "reports" (None if unclustered)."""
    stance_score: float | None = None
    language: str | None = None
    """ISO 639-1 code of the sentence's language (see :func:`claimcluster.segment.detect_language`)."""
    not_checkable: str | None = None
    """Why an unclustered sentence can found or join no claim: it states no checkable assertion
    (question, fragment, markup, date, byline, not checkable; see :mod:`claimcluster.gate`)."""

    @property
    def source(self) -> str:
        """The outlet, or the document id when the outlet is unknown."""
        return self.outlet if self.outlet is not None else self.doc_id


@dataclass(frozen=True)
class Claim:
    """One recurring assertion.

    ``members`` are in document order (doc_id, then position). ``cohesion`` is the mean
    cosine similarity over pairs of members (1 for a single member). A document of unknown outlet counts as
    an outlet of its own in ``outlets``.
    """

    id: int
    representative: Member
    members: tuple[Member, ...]
    cohesion: float

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def doc_ids(self) -> list[str]:
        return sorted({m.doc_id for m in self.members})

    @property
    def outlets(self) -> list[str]:
        return sorted({m.source for m in self.members})

    @property
    def languages(self) -> list[str]:
        """The languages the claim is carried in, most members first ("carried in ru, en")."""
        counts: dict[str, int] = {}
        for m in self.members:
            if m.language is not None:
                counts[m.language] = counts.get(m.language, 0) + 1
        return sorted(counts, key=lambda lang: (-counts[lang], lang))

    def stance_mix(self) -> dict[str, dict[str, int]]:
        """For each outlet, how many of its member sentences repeat, deny or only report the claim."""
        mix: dict[str, dict[str, int]] = {}
        for m in self.members:
            if m.stance is not None:
                counts = mix.setdefault(m.source, {})
                counts[m.stance] = counts.get(m.stance, 0) + 1
        return dict(sorted(mix.items()))

    def outlet_stances(self) -> dict[str, str]:
        """Each outlet's dominant stance: the one most of its sentences take; a tie goes to the
        higher summed stance score, then to repeats, denies, reports in that order."""
        score: dict[tuple[str, str], float] = {}
        for m in self.members:
            if m.stance is not None:
                score[m.source, m.stance] = score.get((m.source, m.stance), 0.0) + (m.stance_score or 0.0)
        out = {}
        for outlet, counts in self.stance_mix().items():
            out[outlet] = max(counts, key=lambda s: (counts[s], score[outlet, s], -STANCE_ORDER.index(s)))
        return out

    def outlets_by_stance(self) -> dict[str, list[str]]:
        """Which outlets repeat, deny or only report the claim, each outlet counted once under its
        dominant stance (:meth:`outlet_stances`; the full mix is :meth:`stance_mix`)."""
        out: dict[str, list[str]] = {}
        for outlet, stance in self.outlet_stances().items():
            out.setdefault(stance, []).append(outlet)
        return {stance: out[stance] for stance in STANCE_ORDER if stance in out}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "representative": self.representative.text,
            "representative_doc_id": self.representative.doc_id,
            "size": self.size,
            "n_documents": len(self.doc_ids),
            "n_outlets": len(self.outlets),
            "documents": self.doc_ids,
            "outlets": self.outlets,
            "languages": self.languages,
            "cohesion": round(self.cohesion, 4),
            "outlets_by_stance": self.outlets_by_stance(),
            "outlet_stance_mix": self.stance_mix(),
            "members": [_member_dict(m) for m in self.members],
        }


def _member_dict(member: Member) -> dict[str, Any]:
    out = asdict(member)
    for key in ("similarity", "stance_score"):
        if out[key] is not None:
            out[key] = round(out[key], 4)
    out["probability"] = round(out["probability"], 4)
    return out


@dataclass
class ClaimSet:
    """Claims found in a corpus, the sentences in no claim, and everything left out on the way.

    ``claims`` are ordered by spread: most outlets first, then most documents, size, id.
    """

    claims: list[Claim]
    unclustered: list[Member]
    rejected: list[Rejection] = field(default_factory=list)
    n_documents: int = 0
    model_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the reader of these claims should know about the input (no outlets, no dates)."""

    def __len__(self) -> int:
        return len(self.claims)

    def __iter__(self):
        return iter(self.claims)

    def claim(self, claim_id: int) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        raise KeyError(f"no claim with id {claim_id!r}")

    @property
    def n_sentences(self) -> int:
        return sum(c.size for c in self.claims) + len(self.unclustered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "claims": [c.to_dict() for c in self.claims],
            "unclustered": [_member_dict(m) for m in self.unclustered],
            "rejected": [asdict(r) for r in self.rejected],
            "summary": {
                "n_documents": self.n_documents,
                "n_sentences": self.n_sentences,
                "n_claims": len(self.claims),
                "n_unclustered": len(self.unclustered),
                "n_rejected": len(self.rejected),
                "model_id": self.model_id,
                "parameters": self.parameters,
                "warnings": self.warnings,
            },
        }

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 2) -> str:
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
        if path is not None:

            atomic_write_text(path, text + "\n")
        return text

    def to_dataframe(self):
        """One row per sentence: claim_id (-1 when unclustered), member fields, is_representative."""
        import pandas as pd

        rows = []
        for claim in self.claims:
            for m in claim.members:
                rows.append({"claim_id": claim.id, **asdict(m), "is_representative": m == claim.representative})
        for m in self.unclustered:
            rows.append({"claim_id": NOISE, **asdict(m), "is_representative": False})
        columns = ["claim_id", *Member.__dataclass_fields__, "is_representative"]
        return pd.DataFrame(rows, columns=columns)

    def to_parquet(self, path: str | os.PathLike) -> None:
        buffer = io.BytesIO()
        self.to_dataframe().to_parquet(buffer, index=False)
        atomic_write_bytes(path, buffer.getvalue())


def spread_order(claim: Claim) -> tuple:
    """Sort key of claims: most outlets first, then most documents, size, id."""
    return (-len(claim.outlets), -len(claim.doc_ids), -claim.size, claim.id)


def member_of(sentence: Sentence, similarity: float | None, probability: float, stance: str | None = None,
              stance_score: float | None = None, *, not_checkable: str | None = None) -> Member:
    """A claim member (or unclustered sentence) from a Sentence record."""
    return Member(
        doc_id=sentence.doc_id,
        text=sentence.text,
        start=sentence.start,
        end=sentence.end,
        position=sentence.position,
        outlet=sentence.outlet,
        published=sentence.published,
        similarity=similarity,
        probability=float(probability),
        stance=stance,
        stance_score=stance_score,
        language=sentence.language,
        not_checkable=not_checkable,
    )
