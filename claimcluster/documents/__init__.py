"""Document and Sentence records, and loaders for text directories, JSONL, CSV, DataFrames and crawled pages.

Every loader returns a :class:`Corpus`: the documents kept and a list of :class:`Rejection`
for every record that was not (missing text, blank text...), so nothing is dropped silently.
Duplicate document ids and undecodable bytes are errors that name the file and position.

Example
-------
>>> corpus = load_documents(["seeds/"])                       # doctest: +SKIP
>>> len(corpus.documents), corpus.rejected                     # doctest: +SKIP
(5, [])
"""

from claimcluster.documents._load import (
    check_documents,
    check_unique_ids,
    from_dataframe,
    load_csv,
    load_documents,
    load_jsonl,
    load_text_dir,
    read_text,
)
from claimcluster.documents._pages import is_page_file, load_pages, registered_domain
from claimcluster.documents._records import (
    Corpus,
    Document,
    Errors,
    FieldMap,
    Rejection,
    Sentence,
    from_records,
    published_at,
)

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
    "load_jsonl",
    "load_csv",
    "load_text_dir",
    "read_text",
    "check_documents",
    "check_unique_ids",
    "Errors",
    "load_pages",
    "is_page_file",
    "registered_domain",
]
