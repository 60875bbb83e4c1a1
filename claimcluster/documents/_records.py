"""The records: :class:`Document`, :class:`Sentence`, :class:`Rejection`, :class:`Corpus`, :class:`FieldMap`,
documents from mappings (:func:`from_records`) and publication dates read as moments (:func:`published_at`)."""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Literal

from claimcluster._validate import missing, scrub_surrogates, visible
from claimcluster.errors import DocumentError

Errors = Literal["strict", "replace"]


@dataclass(frozen=True)
class Document:
    """One article. ``text`` is kept exactly as given; sentence offsets point into it."""

    doc_id: str
    text: str
    outlet: str | None = None
    published: str | None = None
    url: str | None = None
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.doc_id, str) or not visible(self.doc_id):
            raise DocumentError(f"Document doc_id must be a non-blank string, got {self.doc_id!r}")
        if not isinstance(self.text, str):
            raise DocumentError(f"Document {self.doc_id!r}: text must be a string, got {type(self.text).__name__}"
                                + (" (a missing value: drop the document or fill its text)"
                                   if missing(self.text) else ""))
        for name in ("outlet", "published", "url", "title"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise DocumentError(f"Document {self.doc_id!r}: {name} must be a string or None, "
                                    f"got {type(value).__name__}")
            if value is not None:
                object.__setattr__(self, name, scrub_surrogates(value))
        if not isinstance(self.metadata, Mapping):
            raise DocumentError(f"Document {self.doc_id!r}: metadata must be a mapping, "
                                f"got {type(self.metadata).__name__}")
        # Lone surrogates cannot be written to any UTF-8 file: each becomes U+FFFD (offsets unchanged).
        object.__setattr__(self, "doc_id", scrub_surrogates(self.doc_id))
        object.__setattr__(self, "text", scrub_surrogates(self.text))


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document.

    ``text`` is the sentence exactly as in the document (``document.text[start:end]``);
    ``norm`` is its normalised form, used for embedding and duplicate detection; ``language`` its
    ISO 639-1 code as the language identifier reads it (None when not identified).
    """

    doc_id: str
    position: int
    text: str
    norm: str
    start: int
    end: int
    outlet: str | None = None
    published: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A record or piece of text that was left out, where it was, and why."""

    where: str
    reason: str
    text: str = ""


@dataclass
class Corpus:
    """Documents that were loaded and every record that was rejected."""

    documents: list[Document]
    rejected: list[Rejection] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)


@dataclass(frozen=True)
class FieldMap:
    """Which record fields hold the text, id, outlet, date, url and title.

    ``id`` None numbers records as ``<source>:<row>``. Fields not named here go to
    ``Document.metadata``.
    """

    text: str = "text"
    id: str | None = "id"
    outlet: str | None = "outlet"
    published: str | None = "published"
    url: str | None = "url"
    title: str | None = "title"


def _as_id(value: Any) -> str | None:
    """A document id as text: Unicode NFC and without surrounding white space, so that "é" written two ways,
    or "a1" and "a1 ", are one id (and a second copy is refused as a duplicate)."""
    text = _as_str(value)
    return None if text is None else unicodedata.normalize("NFC", text).strip()


def _as_str(value: Any) -> str | None:
    if missing(value):
        return None
    return str(value)

def from_records(
    records: Iterable[Mapping[str, Any]],
    fields: FieldMap = FieldMap(),
    *,
    source: str = "records",
    require_id: bool = False,
) -> Corpus:
    """Documents from mappings; records without usable text are rejected, not dropped.

    Parameters
    ----------
    records : iterable of mapping
    fields : FieldMap
    source : str
        Name used in rejection messages and generated ids.
    require_id : bool, default=False
        If True a record without the id field is rejected; otherwise it gets ``source:row``.
    """
    if records is None or isinstance(records, (str, bytes, Mapping)):
        raise DocumentError(f"expected an iterable of mappings, got {type(records).__name__}")
    if not isinstance(fields, FieldMap):
        raise DocumentError(f"fields must be a FieldMap, got {type(fields).__name__}")
    documents: list[Document] = []
    rejected: list[Rejection] = []
    named = {f for f in (fields.text, fields.id, fields.outlet, fields.published, fields.url, fields.title) if f}
    for row, record in enumerate(records, start=1):
        where = f"{source}:{row}"
        if not isinstance(record, Mapping):
            rejected.append(Rejection(where, f"record is {type(record).__name__}, not an object"))
            continue
        text = record.get(fields.text)
        if missing(text) or not isinstance(text, str):
            reason = f"no text in field {fields.text!r}" if missing(text) else f"field {fields.text!r} is not a string"
            rejected.append(Rejection(where, reason))
            continue
        if not visible(text):  # blank, or only zero-width and control characters
            rejected.append(Rejection(where, f"field {fields.text!r} is blank"))
            continue
        raw_id = record.get(fields.id) if fields.id else None
        if isinstance(raw_id, (bool, list, tuple, dict, set)):
            kind = type(raw_id).__name__
            rejected.append(Rejection(where, f"the id in field {fields.id!r} is a {kind}, not a string or a number",
                                      text[:80]))
            continue
        doc_id = _as_id(raw_id)
        if doc_id is not None and not visible(doc_id):
            doc_id = None
        if doc_id is None:
            if require_id:
                rejected.append(Rejection(where, f"no id in field {fields.id!r}", text[:80]))
                continue
            doc_id = where
        documents.append(
            Document(
                doc_id=doc_id,
                text=text,
                outlet=_as_str(record.get(fields.outlet)) if fields.outlet else None,
                published=_as_str(record.get(fields.published)) if fields.published else None,
                url=_as_str(record.get(fields.url)) if fields.url else None,
                title=_as_str(record.get(fields.title)) if fields.title else None,
                metadata={k: _plain(v) for k, v in record.items() if k not in named and not missing(v)},
            )
        )
    return Corpus(documents, rejected)


_NO_DATE = datetime(1, 1, 1)  # what parts a date leaves out are taken from (a month alone is its first day)
_HOUR = 3600
ZONE_NAMES = {
    "WET": 0, "WEST": _HOUR, "BST": _HOUR, "CET": _HOUR, "CEST": 2 * _HOUR,
    "EET": 2 * _HOUR, "EEST": 3 * _HOUR, "MSK": 3 * _HOUR, "HKT": 8 * _HOUR, "SGT": 8 * _HOUR, "JST": 9 * _HOUR,
    "KST": 9 * _HOUR, "AEST": 10 * _HOUR, "AEDT": 11 * _HOUR, "NZST": 12 * _HOUR, "NZDT": 13 * _HOUR,
    "EST": -5 * _HOUR, "EDT": -4 * _HOUR, "CST": -6 * _HOUR, "CDT": -5 * _HOUR, "MST": -7 * _HOUR,
    "MDT": -6 * _HOUR, "PST": -8 * _HOUR, "PDT": -7 * _HOUR, "AKST": -9 * _HOUR, "AKDT": -8 * _HOUR,
    "HST": -10 * _HOUR,
}
"""Offsets (seconds east of UTC) of the time-zone names news pages print that name one zone only ("IST" is
India's or Ireland's, so it is not here: such a name, like one missing from here, is read as UTC)."""


@lru_cache(maxsize=65536)
def published_at(value: str | None) -> datetime | None:
    """The moment a publication date names, in UTC, read by ``dateutil``'s parser ("2024-03-01",
    "1 March 2024", "Tue, 01 Mar 2024 10:00:00 +0100", digits of any script): a date alone is its midnight
    UTC, a time without a zone is read as UTC, a zone name by :data:`ZONE_NAMES` ("10:00 PM EST"). None for a
    missing or unreadable date ("2024-13-45", "2024-02-30", "0000-01-01", "yesterday", a moment past 9999).
    The original string is what outputs show; this is what orders."""
    if value is None or not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    from dateutil import parser

    try:
        with warnings.catch_warnings():  # a zone name it does not know: read as UTC, as documented
            warnings.simplefilter("ignore", parser.UnknownTimezoneWarning)
            moment = parser.parse(text, default=_NO_DATE, tzinfos=ZONE_NAMES)
        if moment.year < 1000 or moment.year == _NO_DATE.year:
            return None
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except (ValueError, OverflowError, TypeError):  # OverflowError: past year 9999 once moved to UTC
        return None


def _plain(value: Any) -> Any:
    """A metadata value with missing values (NaN, NaT, pandas' NA) at any depth made None, so it saves as JSON."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return None if missing(value) else value
