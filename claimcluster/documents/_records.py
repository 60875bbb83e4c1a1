"""Document and Sentence records, and loaders for text directories, JSONL, CSV and DataFrames.

Every loader returns a :class:`Corpus`: the documents kept and a list of :class:`Rejection`
for every record that was not (missing text, blank text...), so nothing is dropped silently.
Duplicate document ids and undecodable bytes are errors that name the file and position.

Example
-------
>>> corpus = load_documents(["seeds/"])                       # doctest: +SKIP
>>> len(corpus.documents), corpus.rejected                     # doctest: +SKIP
(5, [])
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from claimcluster._validate import missing, scrub_surrogates, visible
from claimcluster.errors import DocumentError

__all__ = [
    "published_at",
    "Document",
    "Sentence",
    "Rejection",
    "Corpus",
    "FieldMap",
    "load_documents",
    "from_records",
    "from_dataframe",
]

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


def read_text(path: str | os.PathLike, errors: Errors = "strict") -> str:
    """Read a UTF-8 file (a BOM is dropped); bad bytes raise DocumentError unless ``errors="replace"``."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig", errors=errors)
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path}: invalid UTF-8 at byte offset {exc.start} ({data[exc.start:exc.start + 4]!r}); "
            "fix the file or load it with errors='replace'"
        ) from None


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


@lru_cache(maxsize=65536)
def published_at(value: str | None) -> datetime | None:
    """The moment a publication date names, in UTC, read by ``dateutil``'s parser ("2024-03-01",
    "1 March 2024", "Tue, 01 Mar 2024 10:00:00 +0100", digits of any script): a date alone is its midnight
    UTC, a time without a zone is read as UTC. None for a missing or unreadable date ("2024-13-45",
    "2024-02-30", "0000-01-01", "yesterday"). The original string is what outputs show; this is what orders."""
    if value is None or not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    from dateutil import parser

    try:
        moment = parser.parse(text, default=_NO_DATE)
    except (ValueError, OverflowError, TypeError):
        return None
    if moment.year < 1000 or moment.year == _NO_DATE.year:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _plain(value: Any) -> Any:
    """A metadata value with missing values (NaN, NaT, pandas' NA) at any depth made None, so it saves as JSON."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return None if missing(value) else value


def load_jsonl(path: str | os.PathLike, fields: FieldMap = FieldMap(), *, errors: Errors = "strict",
               require_id: bool = False) -> Corpus:
    """Documents from a JSON Lines file, one object a line. A malformed line is an error naming it; with
    ``require_id`` a record without an id is rejected (else it gets ``<absolute path>:<line>``)."""
    text = read_text(path, errors)

    def records() -> Iterator[Any]:
        # Only "\n" ends a line: str.splitlines would also cut at U+2028 or \x0c inside a JSON string.
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # what follows the last newline
        for line_no, line in enumerate(lines, start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                yield {}
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DocumentError(f"{path}:{line_no}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting too deep
                raise DocumentError(f"{path}:{line_no}: JSON this loader refuses ({str(exc)[:80]})") from None
            yield record

    # Ids made for records without one name the file by its absolute path: the same file given as a relative
    # and as an absolute path gives the same documents, not two copies.
    return from_records(records(), fields, source=str(Path(path).resolve()), require_id=require_id)


def load_csv(
    path: str | os.PathLike,
    fields: FieldMap = FieldMap(),
    *,
    delimiter: str | None = None,
    errors: Errors = "strict",
    require_id: bool = False,
) -> Corpus:
    """Documents from a CSV (or TSV: tab by default for ``.tsv``) file with a header row. A row with more values
    than the header has columns is rejected with its line; ``require_id`` as for :func:`load_jsonl`."""
    if delimiter is None:
        delimiter = "\t" if str(path).lower().endswith(".tsv") else ","
    text = read_text(path, errors)
    csv.field_size_limit(max(len(text), 131072))  # a field may be as long as the file
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)  # newlines inside quotes stay
    try:
        names = reader.fieldnames
        if names is None or fields.text not in names:
            raise DocumentError(f"{path}: no column {fields.text!r} (columns: {names}); set the text field")
        if len(set(names)) != len(names):
            raise DocumentError(f"{path}: the header names a column twice ({names}); rename one")
        rows: list[dict[str, Any]] = []
        ragged: dict[int, str] = {}  # row number -> why it was left out
        for r in reader:
            if None in r:  # more values than the header names: which column each belongs to is unknown
                ragged[len(rows) + 1] = (f"line {reader.line_num} has {len(names) + len(r[None])} values for "
                                         f"{len(names)} columns")
                rows.append({})
                continue
            rows.append({k: (v if v != "" else None) for k, v in r.items()})
    except csv.Error as exc:
        raise DocumentError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    source = str(Path(path).resolve())
    corpus = from_records(rows, fields, source=source, require_id=require_id)
    numbered = {f"{source}:{row}": reason for row, reason in ragged.items()}
    return Corpus(corpus.documents, [Rejection(r.where, numbered[r.where]) if r.where in numbered else r
                                     for r in corpus.rejected])


def load_text_dir(path: str | os.PathLike, *, pattern: str = "*.txt", errors: Errors = "strict") -> Corpus:
    """Documents from a directory of text files: file name (no suffix) = doc_id, first line = title.

    Files are read in sorted name order; ``.txt`` in any case (``B.TXT``) with the default pattern. A README.md
    is not read; a data file (``.jsonl``, ``.csv``, ``.tsv``) in the directory is listed as left out, with how to
    load it, instead of being ignored without a word.
    """
    root = Path(path)
    documents: list[Document] = []
    rejected: list[Rejection] = []
    if pattern == "*.txt":
        files = [f for f in root.iterdir() if f.suffix.lower() == ".txt"] if root.is_dir() else []
        rejected += [Rejection(str(f), f"a {f.suffix} file inside a directory of text files: give it by name to load "
                                       "its records") for f in sorted(root.iterdir())
                     if f.suffix.lower() in (".jsonl", ".ndjson", ".csv", ".tsv")]
    else:
        files = list(root.glob(pattern))
    for file in sorted(files):
        if not file.is_file():
            if file.is_symlink() or not file.is_dir():
                rejected.append(Rejection(str(file), "not a readable file (a broken link?)"))
            continue
        text = read_text(file, errors)
        if not text.strip():
            rejected.append(Rejection(str(file), "file is empty"))
            continue
        title = text.lstrip().split("\n", 1)[0].strip() or None
        documents.append(Document(doc_id=file.stem, text=text, title=title, url=None, metadata={"path": str(file)}))
    return Corpus(documents, rejected)


def from_dataframe(frame, fields: FieldMap = FieldMap()) -> Corpus:
    """Documents from a pandas DataFrame (NaN cells count as missing).

    An integer id column that pandas turned into floats because of a missing cell keeps its
    integer ids ("2", not "2.0")."""
    if not hasattr(frame, "to_dict") or not hasattr(frame, "columns"):
        raise DocumentError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if fields.id and fields.id in frame.columns and frame[fields.id].dtype.kind == "f":
        column = frame[fields.id]
        present = column.dropna()
        if bool((present % 1 == 0).all()) and bool((present.abs() < 2**53).all()):
            frame = frame.assign(**{fields.id: column.astype("Int64").astype(object).where(column.notna(), None)})
    return from_records(frame.to_dict(orient="records"), fields, source="dataframe")


def load_documents(
    paths: Iterable[str | os.PathLike],
    fields: FieldMap = FieldMap(),
    *,
    errors: Errors = "strict",
    require_id: bool = False,
) -> Corpus:
    """Load documents from directories (``*.txt``), ``.txt``, ``.jsonl``, ``.csv`` and ``.tsv`` files.

    With ``require_id``, a JSONL or CSV record without a value in ``fields.id`` is rejected instead of given an
    id made from its file and line. Raises DocumentError for an unknown file type, a missing path, or a doc_id
    seen twice.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one path, not its characters
    if paths is None or not isinstance(paths, Iterable):
        raise DocumentError(f"expected a path or a list of paths, got {type(paths).__name__}")
    if not isinstance(fields, FieldMap):
        raise DocumentError(f"fields must be a FieldMap, got {type(fields).__name__}")
    if errors not in ("strict", "replace"):
        raise DocumentError(f"errors must be 'strict' or 'replace', got {errors!r}")
    documents: list[Document] = []
    rejected: list[Rejection] = []
    for raw in paths:
        if not isinstance(raw, (str, os.PathLike)):
            raise DocumentError(f"expected a path, got {type(raw).__name__}: {raw!r:.60}")
        path = Path(raw)
        suffix = path.suffix.lower()
        if path.is_dir():
            part = load_text_dir(path, errors=errors)
        elif not path.exists():
            raise DocumentError(f"{path}: no such file or directory")
        elif suffix in (".jsonl", ".ndjson"):
            part = load_jsonl(path, fields, errors=errors, require_id=require_id)
        elif suffix in (".csv", ".tsv"):
            part = load_csv(path, fields, errors=errors, require_id=require_id)
        elif suffix == ".txt":
            part = load_text_dir(path.parent, pattern=path.name, errors=errors)
        else:
            raise DocumentError(f"{path}: unknown file type {suffix!r}; use a directory, .txt, .jsonl, .csv or .tsv")
        documents.extend(part.documents)
        rejected.extend(part.rejected)
    check_unique_ids(documents)
    return Corpus(documents, rejected)


def check_documents(documents: Any) -> list[Document]:
    """``documents`` (a Corpus or an iterable of Document) as a list, or InputError saying what it got."""
    if documents is None or isinstance(documents, (str, bytes, Mapping, Document)):
        what = "None" if documents is None else type(documents).__name__
        raise DocumentError(f"expected a Corpus or a list of Document, got {what}"
                            + ("; wrap a single document in a list" if isinstance(documents, Document) else ""))
    try:
        items = list(documents)
    except TypeError:
        raise DocumentError(f"expected a Corpus or a list of Document, got {type(documents).__name__}") from None
    for position, item in enumerate(items):
        if not isinstance(item, Document):
            raise DocumentError(f"item {position} is {type(item).__name__}, not a Document "
                                "(build documents with Document(...), from_records or load_documents)")
    check_unique_ids(items)
    return items


def check_unique_ids(documents: Iterable[Document]) -> None:
    """Raise DocumentError naming the first doc_id that occurs twice."""
    seen: set[str] = set()
    for document in documents:
        if document.doc_id in seen:
            raise DocumentError(f"duplicate doc_id {document.doc_id!r}: document ids must be unique")
        seen.add(document.doc_id)
