"""Sentences from documents: Unicode normalisation, page-furniture removal, sentence splitting.

Documents are cut into paragraphs at line breaks, paragraphs that are page furniture are
removed by visible rules (:data:`DEFAULT_FURNITURE_RULES`, extend or replace them), and the
rest is split into sentences by spaCy's rule-based sentencizer (no model download). Every
sentence keeps its exact text and character offsets in the original document, plus a
normalised form for matching (NFKC, straight quotes, plain dashes, single spaces).

Example
-------
>>> result = segment_documents(corpus.documents)               # doctest: +SKIP
>>> result.sentences[0].text, result.dropped[0].reason         # doctest: +SKIP
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from claimcluster.documents import Document, Rejection, Sentence

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
def _sentencizer():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10_000_000
    return nlp


def _paragraphs(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each non-blank line, trimmed of surrounding whitespace."""
    for match in re.finditer(r"[^\n\r]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            yield start, start + len(stripped)


def _rule_for(text: str, rules: Sequence[FurnitureRule], scopes: tuple[str, ...]) -> FurnitureRule | None:
    return next((r for r in rules if r.scope in scopes and r.matches(text)), None)


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
    result = Segmentation()
    nlp = _sentencizer()
    for document in documents:
        text = document.text
        blocks: list[tuple[int, int]] = []
        for start, end in _paragraphs(text):
            norm = normalize_text(text[start:end])
            rule = _rule_for(norm, rules, ("paragraph", "rest"))
            if rule is None:
                blocks.append((start, end))
                continue
            if rule.scope == "rest":
                result.dropped.append(Rejection(f"{document.doc_id}@{start}:{len(text)}", f"furniture:{rule.name}",
                                                text[start:].strip()[:200]))
                break
            result.dropped.append(Rejection(f"{document.doc_id}@{start}:{end}", f"furniture:{rule.name}",
                                            text[start:end]))
        position = 0
        docs = nlp.pipe(text[s:e] for s, e in blocks)
        for (block_start, _), doc in zip(blocks, docs):
            for span in doc.sents:
                start, end = block_start + span.start_char, block_start + span.end_char
                raw = text[start:end]
                norm = normalize_text(raw)
                where = f"{document.doc_id}@{start}:{end}"
                rule = _rule_for(norm, rules, ("sentence", "paragraph"))
                if rule is not None:
                    result.dropped.append(Rejection(where, f"furniture:{rule.name}", raw))
                elif len(norm.split()) < min_words:
                    result.dropped.append(Rejection(where, "too-short", raw))
                elif len(norm) > max_chars:
                    result.dropped.append(Rejection(where, "too-long", raw[:200]))
                else:
                    result.sentences.append(
                        Sentence(document.doc_id, position, raw, norm, start, end, document.outlet, document.published)
                    )
                    position += 1
    return result
