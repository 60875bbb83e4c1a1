"""Sentence splitting, normalisation and furniture removal, on the seed articles."""

from __future__ import annotations

from claimcluster import DEFAULT_FURNITURE_RULES, Document, FurnitureRule, normalize_text, segment_documents

FURNITURE = [
    "Subscribe to our newsletter",
    "Add a Comment",
    "Your email address will not be published",
    "0 1,670",
    "You must be logged in to post a comment",
    "We have a small favor to ask",
    "Advertisement",
    "Necrophagist",  # reader comments after the comment-section marker
    "READ NEXT",
]


def test_seed_sentences_point_at_the_original_text(seed_corpus):
    result = segment_documents(seed_corpus.documents)
    texts = {d.doc_id: d.text for d in seed_corpus}
    assert len(result.sentences) > 150
    for s in result.sentences:
        assert texts[s.doc_id][s.start : s.end] == s.text
        assert s.norm == normalize_text(s.text)


def test_seed_furniture_is_gone_and_reported(seed_corpus):
    result = segment_documents(seed_corpus.documents)
    kept = " ".join(s.text for s in result.sentences)
    for marker in FURNITURE:
        assert marker.lower() not in kept.lower(), marker
    reasons = result.dropped_counts()
    for rule in ("furniture:comments", "furniture:newsletter", "furniture:donation", "furniture:number-only"):
        assert reasons.get(rule, 0) >= 1, rule
    assert not any(s.text.strip().startswith("\u2022") and len(s.text) < 3 for s in result.sentences)


def test_normalisation_of_seed_unicode():
    assert normalize_text("\u201cHOAX\u201d:\u00a0Russia\u2019s \u2013 denial  ") == "\"HOAX\": Russia's - denial"
    assert normalize_text("Zero\u200bwidth") == "Zerowidth"


def test_quoted_sentence_stays_whole():
    doc = Document("d", "He added that \u201cto confront them is criminal.\u201d Then he left the room quickly.")
    sentences = [s.text for s in segment_documents([doc]).sentences]
    assert sentences == ["He added that \u201cto confront them is criminal.\u201d", "Then he left the room quickly."]


def test_rules_can_be_extended_and_disabled():
    doc = Document("d", "Follow us on Telegram for more news today.\nThe ministry denied the report on Friday.")
    custom = DEFAULT_FURNITURE_RULES + (FurnitureRule("telegram", r"follow us on telegram"),)
    result = segment_documents([doc], rules=custom)
    assert [s.text for s in result.sentences] == ["The ministry denied the report on Friday."]
    assert result.dropped[0].reason == "furniture:telegram"
    assert len(segment_documents([doc], rules=()).sentences) == 2


def test_length_bounds_are_reported():
    doc = Document("d", "Too short.\n" + "word " * 300 + "\nThis one has enough words in it.")
    result = segment_documents([doc], max_chars=1000)
    assert [s.text for s in result.sentences] == ["This one has enough words in it."]
    assert sorted(result.dropped_counts()) == ["too-long", "too-short"]
