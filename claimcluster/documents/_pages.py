"""Crawled pages: saved HTML files and web archives (WARC, as Common Crawl and the Internet Archive write them).

Needs the ``web`` extra (``pip install "claimcluster[web]"``: trafilatura, warcio, tldextract). All of it runs
offline: nothing is fetched, the public suffix list is the one tldextract ships.

From each page:

- **text**: the main text as trafilatura extracts it (navigation, comments, share prompts, related links
  and tables left out), after the title as its first line, so a headline can join the claims it states;
- **title**: the page's, without the site's name trailing it ("… | DW | 10.06.2013" → "…");
- **published**: the publication moment the page states in its structured metadata
  (``article:published_time``, JSON-LD or microdata ``datePublished``), as written there; else the date
  trafilatura reads (htmldate's search of the page), as ``YYYY-MM-DD``. A page that names none stays undated: the date a
  crawler fetched it (``WARC-Date``) is used only with ``crawl_dates=True``, and ``metadata["date_source"]``
  then says so;
- **outlet**: the page's site name (``og:site_name`` and the like), else the registered domain of its URL
  ("www.reuters.com" → "reuters.com"). Pages of one host that name their site differently, or not at all,
  all take the name that host's pages give most often, so one outlet is one name;
- **url**: the crawled URL (an archive's ``WARC-Target-URI``), else the page's canonical URL;
- **doc_id**: the URL for an archive's record, the file name without its suffix for an HTML file;
- **metadata**: ``source`` (the file), ``warc_record_id`` and ``crawled_at`` for archived pages, ``author``.

Left out, each as a :class:`~claimcluster.documents.Rejection` saying why: an archived response that is not
HTML or not a success (a redirect, a 404), a revisit record (no content of its own), a page with no main
text (under ``MIN_WORDS`` words), a second page of a URL already read (the first is kept), the rest of a
damaged archive. Records that describe the crawl (``warcinfo``, ``request``, ``metadata``) are not pages
and are passed over.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claimcluster.documents._records import Corpus, Document, Rejection, published_at
from claimcluster.errors import DocumentError

__all__ = ["PAGE_SUFFIXES", "is_page_file", "load_pages", "registered_domain"]

PAGE_SUFFIXES = (".html", ".htm", ".warc", ".warc.gz")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
MIN_WORDS = 5
"""Fewer words than this in what the extractor keeps is no article (a menu item, a script-only page)."""
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ")


def is_page_file(path: Path) -> bool:
    """True for a file this module reads: ``.html``, ``.htm``, ``.warc`` or ``.warc.gz``, in any case."""
    return path.name.lower().endswith(PAGE_SUFFIXES)


def _require_web() -> None:
    missing = []
    for module in ("trafilatura", "warcio", "tldextract"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise DocumentError(f"reading .html and .warc files needs the web extra: pip install \"claimcluster[web]\" "
                            f"(missing: {', '.join(missing)})")


def load_pages(paths: Iterable[str | os.PathLike], *, crawl_dates: bool = False) -> Corpus:
    """Documents from HTML files and web archives (see the module docstring).

    Parameters
    ----------
    paths : iterable of path
        ``.html`` / ``.htm`` files and ``.warc`` / ``.warc.gz`` archives.
    crawl_dates : bool, default=False
        Date a page that names no publication date by the time it was crawled (archives only).
    """
    _require_web()
    documents: list[Document] = []
    rejected: list[Rejection] = []
    seen_urls: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        pages = _archive_pages(path) if path.name.lower().endswith((".warc", ".warc.gz")) else _file_page(path)
        for where, item in pages:
            if isinstance(item, Rejection):
                rejected.append(item)
                continue
            html, url, doc_id, meta = item
            # A crawled URL already read is not extracted again; a canonical URL is known only after extraction.
            document = _copy_of(url, seen_urls, where) or _document(html, url, doc_id, meta, where, crawl_dates)
            if isinstance(document, Document):
                document = _copy_of(document.url, seen_urls, where) or document
            if isinstance(document, Rejection):
                rejected.append(document)
                continue
            seen_urls.update({known: where for known in (url, document.url) if known is not None})
            documents.append(document)
    return Corpus(_one_name_per_host(documents), rejected)


def _copy_of(url: str | None, seen: dict[str, str], where: str) -> Rejection | None:
    if url is None or url not in seen:
        return None
    return Rejection(where, f"a second copy of one URL: {url} (the first, {seen[url]}, is kept)")


_Page = tuple[bytes, "str | None", str, dict[str, Any]]


def _file_page(path: Path) -> Iterator[tuple[str, _Page | Rejection]]:
    try:
        html = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    yield str(path), (html, None, path.name.rsplit(".", 1)[0], {"source": str(path)})


def _archive_pages(path: Path) -> Iterator[tuple[str, _Page | Rejection]]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    read = 0
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below, after the generator's last record)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        with stream:
            for record in ArchiveIterator(stream):
                kind = record.rec_type
                if kind not in ("response", "resource", "revisit"):
                    continue  # warcinfo, request, metadata: about the crawl, not pages
                record_id = record.rec_headers.get_header("WARC-Record-ID") or f"record {read + 1}"
                where = f"{path}#{record_id}"
                url = record.rec_headers.get_header("WARC-Target-URI")
                read += 1
                if kind == "revisit":
                    yield where, Rejection(where, f"a revisit record, no content of its own: {url}")
                    continue
                if kind == "response":
                    status = record.http_headers.get_statuscode() if record.http_headers else None
                    content_type = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
                    if status != "200":
                        yield where, Rejection(where, f"not a page, HTTP status {status}: {url}")
                        continue
                else:
                    content_type = record.rec_headers.get_header("Content-Type", "")
                if content_type.split(";")[0].strip().lower() not in _HTML_TYPES:
                    yield where, Rejection(where, f"not an HTML page ({content_type or 'no content type'}): {url}")
                    continue
                meta = {"source": str(path), "warc_record_id": record_id,
                        "crawled_at": record.rec_headers.get_header("WARC-Date")}
                content = record.content_stream().read()
                if getattr(record.raw_stream, "limit", 0):  # bytes its Content-Length promised and the file lacks
                    raise EOFError(f"the file ends inside the record of {url}")
                yield where, (content, url, url or record_id, meta)
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        where = f"{path}#after record {read}"
        yield where, Rejection(where, f"the archive is damaged here, the rest is not read: {str(exc)[:120]}")


def _document(html: bytes, url: str | None, doc_id: str, meta: dict[str, Any], where: str,
              crawl_dates: bool) -> Document | Rejection:
    import trafilatura

    extracted = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                            include_tables=False)
    page: dict[str, Any] = {} if extracted is None else (
        extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted))
    body = (page.get("text") or "").strip()
    if len(body.split()) < MIN_WORDS:
        return Rejection(where, f"no main text found: {len(html):,} bytes of HTML" + (f", {url}" if url else ""),
                         body[:80])
    url = url or page.get("url")
    sitename = (page.get("sitename") or "").strip() or None
    if sitename and sitename.removeprefix("www.") in {_host(url), (page.get("hostname") or "").removeprefix("www.")}:
        sitename = None  # trafilatura's stand-in when the page names no site: the domain below says more
    title = _clean_title(page.get("title"), sitename, url)
    text = body if title is None or body.startswith(title) else f"{title}\n\n{body}"
    published, source = _stated_publication(html) or page.get("date"), "page"
    if published is None and crawl_dates and meta.get("crawled_at"):
        published, source = meta["crawled_at"], "crawl"
    metadata = {**meta, "author": page.get("author"), "date_source": source if published else None,
                "host": _host(url)}
    return Document(doc_id=doc_id, text=text, title=title, url=url, published=published,
                    outlet=sitename or (registered_domain(url) if url else None),
                    metadata={k: v for k, v in metadata.items() if v is not None})


_PUBLISHED_META = ("article:published_time", "og:article:published_time", "parsely-pub-date", "dc.date.issued",
                   "dcterms.issued", "pubdate", "publish-date", "datepublished")


def _stated_publication(html: bytes) -> str | None:
    """The publication moment a page states in its structured metadata, as written: ``article:published_time``
    and its kin, then JSON-LD's ``datePublished``, then microdata's. htmldate, which trafilatura asks otherwise,
    weighs a generic ``<meta name="date">`` or a later ``dateModified`` as much and took them on real pages
    (National Geographic, Reuters: the update, days after publication)."""
    import json

    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, TypeError, SyntaxError):  # lxml's parser errors derive from SyntaxError
        return None
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _PUBLISHED_META and published_at(meta.get("content")):
            return meta.get("content").strip()
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        found = _json_ld_published(data)
        if found:
            return found
    for element in tree.xpath('//*[@itemprop="datePublished"]'):
        value = element.get("content") or element.get("datetime")
        if published_at(value):
            return value.strip()
    return None


def _json_ld_published(data: Any) -> str | None:
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, str) and published_at(value):
                return value.strip()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _clean_title(title: str | None, sitename: str | None, url: str | None) -> str | None:
    """The title without a trailing part that names the site ("Uncork … | DW | 10.06.2013" → "Uncork …")."""
    if not title or not title.strip():
        return None
    title = " ".join(title.split())
    names = {_letters(n) for n in (sitename, registered_domain(url) if url else None) if n}
    for separator in _TITLE_SEPARATORS:
        head, _, tail = title.partition(separator)
        first = _letters(tail.split(separator)[0])
        if tail and head and first and any(name.startswith(first) or first.startswith(name) for name in names):
            return head.strip()
    return title


def _letters(text: str | None) -> str:
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The bundled list, never fetched; its private part too, so that a blog on a platform (name.blogspot.com) is
    # a domain of its own.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@lru_cache(maxsize=4096)
def registered_domain(url: str) -> str | None:
    """The domain a registrar sold, by the public suffix list tldextract ships ("news.bbc.co.uk" → "bbc.co.uk")."""
    parts = _extractor()(url)
    domain = getattr(parts, "top_domain_under_public_suffix", None) or parts.registered_domain
    return domain or None


def _host(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.") or None


def _one_name_per_host(documents: list[Document]) -> list[Document]:
    """Each host's pages under the site name they give most often (first seen wins a tie). By host, not by
    registered domain: two blogs on one platform are two outlets."""
    names: dict[str, Counter] = {}
    for document in documents:
        host = document.metadata.get("host")
        if host and document.outlet and document.outlet != registered_domain(document.url or ""):
            names.setdefault(host, Counter())[document.outlet] += 1
    chosen = {host: counts.most_common(1)[0][0] for host, counts in names.items()}
    return [replace(d, outlet=chosen[d.metadata["host"]]) if d.metadata.get("host") in chosen else d
            for d in documents]
