"""The record of a known claim matched by a query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claimcluster.judge import Assessment


@dataclass(frozen=True)
class Match(Assessment):
    """A known claim matched by a query: fused ``score``, its parts, and the claim's record; with
    ``search(..., assess=True)`` also how the query relates to it (:class:`~claimcluster.judge.Assessment`)."""

    id: str
    text: str
    score: float
    rank: int
    dense: float
    lexical: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    rerank: float | None = None

    def to_json(self, assess: bool = False) -> dict[str, Any]:
        """The match as JSON-ready values (the assessment fields only with ``assess``)."""
        out = {"id": self.id, "text": self.text, "score": self.score, "rank": self.rank, "dense": self.dense,
               "lexical": self.lexical, "rerank": self.rerank, "metadata": dict(self.metadata)}
        return {**out, **self.assessment()} if assess else out
