"""Loaders of files: text directories, JSON Lines, CSV / TSV, DataFrames, and :func:`load_documents`, which
picks one by the path (crawled pages and web archives: :mod:`claimcluster.documents._pages`)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from claimcluster.documents._pages import is_page_file, load_pages
from claimcluster.documents._records import (
    Corpus,
    Document,
    Errors,
    FieldMap,
    Rejection,
    from_records,
)
from claimcluster.errors import DocumentError


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
    crawl_dates: bool = False,
) -> Corpus:
    """Load documents from directories (``*.txt`` and crawled pages), ``.txt``, ``.jsonl``, ``.csv`` and ``.tsv``
    files, and crawled pages: ``.html`` / ``.htm`` files and ``.warc`` / ``.warc.gz`` archives (main text, title,
    outlet and publication date read from each page: :func:`~claimcluster.documents.load_pages`, which needs the
    ``web`` extra; ``crawl_dates`` dates an undated archived page by its crawl).

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
    pages: list[Path] = []  # read together at the end: a URL seen in two of them is one page
    for raw in paths:
        if not isinstance(raw, (str, os.PathLike)):
            raise DocumentError(f"expected a path, got {type(raw).__name__}: {raw!r:.60}")
        path = Path(raw)
        suffix = path.suffix.lower()
        if path.is_dir():
            part = load_text_dir(path, errors=errors)
            pages += sorted(f for f in path.iterdir() if f.is_file() and is_page_file(f))
        elif not path.exists():
            raise DocumentError(f"{path}: no such file or directory")
        elif suffix in (".jsonl", ".ndjson"):
            part = load_jsonl(path, fields, errors=errors, require_id=require_id)
        elif suffix in (".csv", ".tsv"):
            part = load_csv(path, fields, errors=errors, require_id=require_id)
        elif suffix == ".txt":
            part = load_text_dir(path.parent, pattern=path.name, errors=errors)
        elif is_page_file(path):
            pages.append(path)
            continue
        else:
            raise DocumentError(f"{path}: unknown file type {suffix!r}; use a directory, .txt, .jsonl, .csv, .tsv, "
                                ".html, .htm, .warc or .warc.gz")
        documents.extend(part.documents)
        rejected.extend(part.rejected)
    if pages:
        part = load_pages(pages, crawl_dates=crawl_dates)
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
