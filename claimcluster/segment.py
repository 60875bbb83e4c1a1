"""Sentences from documents: Unicode normalisation, page-furniture removal, sentence splitting.

Documents are cut into paragraphs at line breaks, paragraphs that are page furniture are
removed by visible rules (:data:`DEFAULT_FURNITURE_RULES`, extend or replace them), and the
rest is split into sentences by pySBD (rule-based, no model download; it keeps titles,
initials and abbreviations such as "Capt.", "J. K." or "No. 10" inside their sentence). Every
sentence keeps its exact text and character offsets in the original document, plus a
normalised form for matching (NFKC, straight quotes, plain dashes, single spaces).

Example
-------
>>> result = segment_documents(corpus.documents)               # doctest: +SKIP
>>> result.sentences[0].text, result.dropped[0].reason         # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from claimcluster._locks import cpu_threads
from claimcluster._validate import check_k
from claimcluster.documents import Document, Rejection, Sentence
from claimcluster.errors import InputError

__all__ = [
    "FurnitureRule",
    "DEFAULT_FURNITURE_RULES",
    "Segmentation",
    "clean_social_text",
    "normalize_text",
    "segment_documents",
]

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    }
)
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Normalise a sentence for matching: NFKC, straight quotes, plain dashes, single spaces.

    >>> normalize_text("\u201cHOAX\u201d:\u00a0Russia \u2013 rejects")
    '"HOAX": Russia - rejects'
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip()


_URL = re.compile(r"(https?://\S+|\bpic\.twitter\.com/\S+|\bwww\.\S+)")
_SIGNATURE = re.compile(r"\s*[\u2014\u2013-]+\s*([^\u2014\u2013\n]*?)\s*\(@\w+\)\s*\w+ \d{1,2}, \d{4}\s*$")
_MENTION = re.compile(r"(?<!\w)@(\w+)")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")


def clean_social_text(text: str) -> str:
    """Prepare a tweet-like text for matching.

    Removes URLs (``https://…``, ``pic.twitter.com/…``); replaces the trailing signature of a
    quoted tweet, ``— Name (@handle) January 6, 2020``, by the name alone (who said it is
    evidence, the handle and date are not); turns ``@mention`` and ``#hashtag`` into plain
    words; collapses whitespace.

    >>> clean_social_text("No draft texts! pic.twitter.com/3S3 \u2014 U.S. Army (@USArmy) January 8, 2020")
    'No draft texts! U.S. Army'
    """
    text = _URL.sub(" ", text)
    text = _SIGNATURE.sub(lambda m: " " + m.group(1), text)
    text = _MENTION.sub(r"\1", text)
    text = _HASHTAG.sub(r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class FurnitureRule:
    """A pattern that marks page furniture, matched against a normalised paragraph or sentence.

    scope:
        ``"paragraph"`` drops the matching paragraph; ``"sentence"`` drops the matching
        sentence; ``"rest"`` drops the matching paragraph and everything after it (a
        comment section). Patterns are case-insensitive regular expressions, searched.
    """

    name: str
    pattern: str
    scope: Literal["paragraph", "sentence", "rest"] = "paragraph"

    def matches(self, text: str) -> bool:
        return _compiled(self.pattern).search(text) is not None


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


PARALLEL_MIN_DOCUMENTS = 200
"""Corpora of this many documents or more are segmented in one process per core."""
MAX_FURNITURE_SENTENCES = 8
"""Paragraph rules drop a paragraph of at most this many sentences (a donation appeal, a comment policy); in a
longer one, or in a document of one paragraph of several sentences, they drop only the sentences they match."""

DEFAULT_FURNITURE_RULES: tuple[FurnitureRule, ...] = (
    FurnitureRule("comments", r"^(add a comment|leave a (reply|comment)|you must be logged in to post a comment"
                  r"|\d+ comments?|comments?)\W*$", "rest"),
    FurnitureRule("comment-policy", r"your email address will not be published|required fields are marked"),
    FurnitureRule("newsletter", r"subscribe to (our|the) newsletter|sign up (here )?(to|for) (get|receive|our)"
                  r"|get real[- ]time updates|subscribe now"),
    FurnitureRule("donation", r"we have a small favou?r to ask|for as little as \$\d|support (us|[\w-]+ media)\b"
                  r"|since you('| a)re here|donate (now|today)|become a patron"),
    FurnitureRule("advertisement", r"^\W*advertisement\W*$"),
    FurnitureRule("read-next", r"^(read (next|more|also)|related( articles?)?|see also)\s*[:\-]"),
    FurnitureRule("number-only", r"^[\d\s,.kKmM]+$"),
    FurnitureRule("bare-bullet", r"^[\W_]*$"),
    FurnitureRule("byline-furniture", r"report a typo|all rights reserved|^share (this|on)\b|^show \d+ repl(y|ies)$"),
    # Scraped news (fnc1_train_bodies): video, gallery and poll widgets, social prompts, embedded posts,
    # photo credits, bylines, script code, and the stock no-comment line.
    FurnitureRule("video-prompt", r"^\W*(scroll down for (the )?videos?|video loading|watch (the )?(video|next)\b"
                  r"|please enable javascript|(using|on) a mobile device|click here to (see|watch|view)"
                  r"|view (the )?gallery|poll loading)"),
    FurnitureRule("social-prompt", r"^\W*(follow|like) (us|[\w .'-]{1,40}?( \(@\w+\))?) on (twitter|facebook|instagram)"
                  r"|^\W*(follow|like) us\s*:\s*@?\w|^\W*(don'?t|do not) forget to (like|follow|share|subscribe)\b"
                  r"|^\W*view (this post )?on (instagram|twitter|facebook|youtube)|have something to add to this story"
                  r"|share it in the comments|not (currently )?accepting comments"
                  r"|comments (are|have been) (closed|disabled)"),
    FurnitureRule("embedded-post", r"[\u2014-]\s*[^()]{1,60}\(@\w{1,15}\)\s+[a-z]+ \d{1,2}, \d{4}\W*$"
                  r"|^\W*pic\.twitter\.com/\w+\W*$", "sentence"),
    FurnitureRule("photo-credit", r"^\W*\[?(image|photo|picture|video)s? (via|courtesy( of)?|credit)\b[^.]{0,80}\]?\W*$"
                  r"|^\W*(photo|image|picture)( credit)?\s*:[^.]{0,80}$|^[^.]{0,80}\b(getty images|ap photo|afp photo"
                  r"|shutterstock)\W*$"),
    FurnitureRule("byline", r"^\W*(by|written by|reporting by|additional reporting by|editing by|compiled by)"
                  r"\s+([\w.'-]+\s*){1,4}([,;]\s*(editing|additional reporting) by\s+([\w.'-]+\s*){1,4})*\W*$"),
    FurnitureRule("continue-reading", r"^\W*(continue reading( the main story)?"
                  r"|read the (full|original) (story|article|report)( here)?|see all related|related coverage)\W*$"),
    FurnitureRule("script", r"^\s*[\w.$]+\([^()]*\);?\s*$|\bfunction\s*\(|document\.write\(|\bvar \w+\s*="),
    FurnitureRule("no-comment", r"^[^.]{0,80}\b(declined|refused) to comment( further| on [^.]{0,60})?\W*$"
                  r"|^[^.]{0,80}\b(did not|didn't) (immediately )?respond to (a |an |our )?(requests? for (a )?comment|"
                  r"emails?|calls?)[^.]{0,40}\W*$|^[^.]{0,80}\bcould not (immediately )?be reached for comment\W*$"
                  r"|^\W*there (was|has been) (also )?no (immediate )?comment from\b[^.]{0,60}\W*$"
                  r"|^[^.]{0,80}\b(was|were) not (immediately )?available for comment\W*$", "sentence"),
    FurnitureRule("attribution-boilerplate", r"\bcontributed to this (report|story|article)\W*$"
                  r"|^\W*this (article|story|post) (originally )?(appeared|was (first |originally )?published)"
                  r" (in|on)\b|\bspoke on (the )?condition of anonymity because\b", "sentence"),
    FurnitureRule("update-notice", r"^\W*(this is a (developing|breaking) (story|news story)"
                  r"|check back (later |soon )?for (more |further )?updates"
                  r"|we will (provide|bring you|update( you)? with) more|more (details|information) to (come|follow)"
                  r"|this (story|article|post) (has been|was|will be) updated\W*$"
                  # a time stamp alone ("Update at 1:34 p.m.", "This story was updated at 10:37 a.m. CT")
                  r"|(this (story|article|post|report) (has been|was|is) )?(last )?updated?s?( at| on| as of)?"
                  r"(\s+(\d{1,4}(st|nd|rd|th)?([:./,-]\d{1,4})*|[ap]\.?m\.?|(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov"
                  r"|dec)[a-z]*\.?|(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?|[ecmp][sd]?t|gmt|utc|bst|cet),?)+\W*$"
                  # what an update changed ("Updates with comment from ...", "Updated to clarify ...")
                  r"|(this (story|article|post|report) (has been|was) )?updated?s? (with|to (add|include|clarify"
                  r"|reflect|correct))\b|updates? to come\b)", "sentence"),
)


@dataclass
class Segmentation:
    """Sentences kept, and every paragraph or sentence dropped with its reason."""

    sentences: list[Sentence] = field(default_factory=list)
    dropped: list[Rejection] = field(default_factory=list)

    def dropped_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.dropped:
            counts[item.reason] = counts.get(item.reason, 0) + 1
        return counts


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


# pySBD's time grows faster than linearly with the length of one paragraph (184,000 characters: 28 s), so
# longer paragraphs are cut first at a sentence end past every SEGMENT_CHUNK characters.
SEGMENT_CHUNK = 2000
# A cut follows a lowercase word or a digit, never a capitalised one ("Capt.", "J.", "U.S.").
_CHUNK_END = re.compile(r"(?:\b[a-z]{2,}|\d)[.!?][\"\u201d')\]]*\s+(?=[A-Z\"\u201c])")


def _chunks(block: str) -> Iterable[tuple[int, str]]:
    """(offset, text) pieces of ``block``, each cut at a likely sentence end after SEGMENT_CHUNK characters."""
    start = 0
    while len(block) - start > SEGMENT_CHUNK:
        found = _CHUNK_END.search(block, start + SEGMENT_CHUNK)
        if found is None:
            break
        yield start, block[start:found.end()]
        start = found.end()
    yield start, block[start:]


def _sentence_spans(block: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each sentence of ``block``, trimmed of surrounding whitespace."""
    for offset, chunk in _chunks(block):
        for start, end in _chunk_spans(chunk):
            yield offset + start, offset + end


def _chunk_spans(block: str) -> Iterable[tuple[int, int]]:
    cursor = 0
    for piece in _segmenter().segment(block):
        stripped = piece.strip()
        if not stripped:
            continue
        start = block.find(stripped, cursor)
        if start < 0:  # pySBD returned text that is not a slice of the block: keep the rest whole
            rest = block[cursor:].strip()
            if rest:
                start = block.index(rest, cursor)
                yield start, start + len(rest)
            return
        cursor = start + len(stripped)
        yield start, cursor


def _paragraphs(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each non-blank line, trimmed of surrounding whitespace."""
    for match in re.finditer(r"[^\n\r]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            yield start, start + len(stripped)


def first_rule(text: str, rules: Sequence[FurnitureRule],
               scopes: tuple[str, ...] = ("paragraph", "sentence", "rest")) -> FurnitureRule | None:
    """The first of ``rules`` with a scope in ``scopes`` that matches ``text``, or None. One search of all
    of them together settles most texts (no rule matches); only a text that one matches reads them in turn."""
    chosen = tuple(r for r in rules if r.scope in scopes)
    if not chosen or _any_of(tuple(r.pattern for r in chosen)).search(text) is None:
        return None
    return next((r for r in chosen if r.matches(text)), None)


@lru_cache(maxsize=64)
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


MIN_LANGUAGE_CONFIDENCE = 0.8
"""Below this probability a sentence takes its document's language (and a document's is unknown): on
3,544 sentences of 200 English fnc1 articles the 35 that py3langid did not call English were datelines,
bylines and shouts at 0.06-0.56, and 168 English ones scored under 0.8 ("Today, we get confirmation."
0.66); Russian and English sentences of the cross-lingual set score 0.89-0.999."""
_IDENTIFIER: Any = None


def detect_language(text: str) -> str | None:
    """ISO 639 code of the language of ``text`` by ``py3langid`` (langid.py's model, bundled); None
    for text without letters or below :data:`MIN_LANGUAGE_CONFIDENCE`."""
    global _IDENTIFIER
    if not any(ch.isalpha() for ch in text):
        return None
    if _IDENTIFIER is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    language, probability = _IDENTIFIER.classify(text)
    return str(language) if probability >= MIN_LANGUAGE_CONFIDENCE else None


def segment_documents(
    documents: Iterable[Document],
    *,
    rules: Sequence[FurnitureRule] = DEFAULT_FURNITURE_RULES,
    min_words: int = 4,
    max_chars: int = 1000,
) -> Segmentation:
    """Split documents into sentences, dropping page furniture and out-of-bounds sentences.

    Parameters
    ----------
    documents : iterable of Document
    rules : sequence of FurnitureRule, default=DEFAULT_FURNITURE_RULES
        Pass ``DEFAULT_FURNITURE_RULES + (FurnitureRule(...),)`` to extend, ``()`` to disable.
    min_words : int, default=4
        Shorter sentences ("So, what is going on?") are dropped as ``too-short``.
    max_chars : int, default=1000
        Longer sentences (run-on lists, unpunctuated dumps) are dropped as ``too-long``.

    Returns
    -------
    Segmentation
        ``sentences`` in document order; ``dropped`` names each removed piece as
        ``furniture:<rule>``, ``too-short`` or ``too-long`` with its doc_id and offsets.
    """
    min_words = check_k(min_words, name="min_words")
    max_chars = check_k(max_chars, name="max_chars")
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence) or not all(
            isinstance(r, FurnitureRule) for r in rules):
        raise InputError(f"rules must be a sequence of FurnitureRule (e.g. DEFAULT_FURNITURE_RULES), got {rules!r:.80}")
    documents = list(documents)
    workers = _workers(len(documents))
    if workers > 1:
        return _in_processes(documents, tuple(rules), min_words, max_chars, workers)
    return _segment(documents, tuple(rules), min_words, max_chars)


def _article_like(paragraph: str, n_paragraphs: int) -> bool:
    """Whether a paragraph that a paragraph rule matched is an article rather than a block of furniture: the
    only paragraph of its document, of several sentences, or one longer than any furniture block."""
    n_sentences = sum(1 for _ in _sentence_spans(paragraph))
    return n_sentences > MAX_FURNITURE_SENTENCES or (n_paragraphs == 1 and n_sentences > 1)


def _workers(n_documents: int) -> int:
    """Processes for segmenting ``n_documents``: one per core for large corpora (pySBD is pure Python and
    holds one core), when this process may fork safely (no other Python thread running); else 1."""
    if n_documents < PARALLEL_MIN_DOCUMENTS or "fork" not in multiprocessing.get_all_start_methods() \
            or threading.active_count() > 1:
        return 1
    return min(cpu_threads(), n_documents // (PARALLEL_MIN_DOCUMENTS // 2))


def _in_processes(documents: list[Document], rules: tuple[FurnitureRule, ...], min_words: int, max_chars: int,
                  workers: int) -> Segmentation:
    """:func:`_segment` over contiguous chunks of the documents in ``workers`` forked processes, joined in
    order: the same sentences and rejections as one process gives."""
    size = -(-len(documents) // (workers * 4))
    chunks = [documents[i:i + size] for i in range(0, len(documents), size)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = list(pool.map(_segment, chunks, *zip(*[(rules, min_words, max_chars)] * len(chunks))))
    return Segmentation([s for part in parts for s in part.sentences], [r for part in parts for r in part.dropped])


def _segment(documents: Sequence[Document], rules: tuple[FurnitureRule, ...], min_words: int,
             max_chars: int) -> Segmentation:
    result = Segmentation()
    for document in documents:
        text = document.text
        document_language: str | None = None
        language_read = False
        blocks: list[tuple[int, int]] = []
        paragraphs = list(_paragraphs(text))
        for start, end in paragraphs:
            norm = normalize_text(text[start:end])
            rule = first_rule(norm, rules, ("paragraph", "rest"))
            if rule is None or _article_like(text[start:end], len(paragraphs)):
                # A whole article on one line (JSONL and CSV bodies often are) is not furniture because one of
                # its sentences is: its sentences are judged one by one below.
                blocks.append((start, end))
                continue
            if rule.scope == "rest":
                result.dropped.append(Rejection(f"{document.doc_id}@{start}:{len(text)}", f"furniture:{rule.name}",
                                                text[start:].strip()[:200]))
                break
            result.dropped.append(Rejection(f"{document.doc_id}@{start}:{end}", f"furniture:{rule.name}",
                                            text[start:end]))
        position = 0
        rest = False
        for block_start, block_end in blocks:
            if rest:
                break
            for span_start, span_end in _sentence_spans(text[block_start:block_end]):
                start, end = block_start + span_start, block_start + span_end
                raw = text[start:end]
                norm = normalize_text(raw)
                where = f"{document.doc_id}@{start}:{end}"
                rule = first_rule(norm, rules, ("sentence", "paragraph", "rest"))
                if rule is not None and rule.scope == "rest":  # a comment section starts inside a long paragraph
                    result.dropped.append(Rejection(f"{document.doc_id}@{start}:{len(text)}", f"furniture:{rule.name}",
                                                    text[start:].strip()[:200]))
                    rest = True
                    break
                if rule is not None:
                    result.dropped.append(Rejection(where, f"furniture:{rule.name}", raw))
                elif len(norm.split()) < min_words:
                    result.dropped.append(Rejection(where, "too-short", raw))
                elif len(norm) > max_chars:
                    result.dropped.append(Rejection(where, "too-long", raw[:200]))
                else:
                    language = detect_language(norm)
                    if language is None:
                        if not language_read:  # the document's language, read once, when a sentence needs it
                            document_language, language_read = detect_language(normalize_text(text[:5000])), True
                        language = document_language
                    result.sentences.append(
                        Sentence(document.doc_id, position, raw, norm, start, end, document.outlet, document.published,
                                 language)
                    )
                    position += 1
    return result
