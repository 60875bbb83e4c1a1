"""The rows of a store's tables as named records (one type per table, fields in column order), and
:class:`Change`, what one update adds. :mod:`claimcluster.store._records` writes them; a new column is a
field here, a column in its schema, and the value where the row is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class DocumentRow(NamedTuple):
    doc_id: str
    outlet: str | None
    published: str | None
    title: str | None
    url: str | None
    batch: int


class SentenceRow(NamedTuple):
    row: int
    doc_id: str
    position: int
    text: str
    norm: str | None
    """None where it equals ``text``."""
    start: int
    end: int
    batch: int
    language: str | None


class ClaimRow(NamedTuple):
    id: int
    representative: int
    radius: float
    batch: int
    cohesion: float
    size: int
    n_documents: int
    n_outlets: int


class StatsRow(NamedTuple):
    """A known claim's figures after it gained members."""

    cohesion: float
    size: int
    n_documents: int
    n_outlets: int
    id: int


class MemberRow(NamedTuple):
    row: int
    claim: int
    similarity: float
    stance: str | None
    stance_score: float | None


class CoreRow(NamedTuple):
    claim: int
    row: int
    core: float | None


class LeftOutRow(NamedTuple):
    """A record or piece of text an update left out (:class:`~claimcluster.documents.Rejection`)."""

    batch: int
    where: str
    reason: str
    text: str


class MergeRow(NamedTuple):
    claims: str
    """JSON list of claim ids."""
    sentence: int


@dataclass
class Change:
    """What one update adds, row by row as the tables hold them: written as one segment file and one transaction."""

    vectors: np.ndarray
    documents: list[DocumentRow] = field(default_factory=list)
    sentences: list[SentenceRow] = field(default_factory=list)
    claims: list[ClaimRow] = field(default_factory=list)
    stats: list[StatsRow] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)
    core_rows: list[CoreRow] = field(default_factory=list)
    merges: list[MergeRow] = field(default_factory=list)
    left_out: list[LeftOutRow] = field(default_factory=list)
    batch: int = 0
    """The batch the change writes (for a new or migrated store, the first whose leavings are recorded)."""


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """The INSERT of one row of ``columns`` (a row type's ``_fields``) into ``table``."""
    names = ", ".join(f'"{name}"' for name in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
