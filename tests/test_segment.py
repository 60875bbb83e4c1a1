"""Sentence splitting, normalisation and furniture removal, on the seed articles."""

from __future__ import annotations

import os

import pytest

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


# Lines as they occur in fnc1_train_bodies (scraped news): furniture, and sentences that look like it but are not.
SCRAPED_FURNITURE = {
    "Scroll down for video": "video-prompt",
    "Video loading Watch next Watch this video again Watch Next": "video-prompt",
    "USING A MOBILE DEVICE? CLICK HERE TO SEE THE VIDEO.": "video-prompt",
    "Have something to add to this story? Share it in the comments.": "social-prompt",
    "Sorry we are not currently accepting comments on this article.": "social-prompt",
    "\u2014\u2014 >> Follow Evan McMurry (@evanmcmurry) on Twitter": "social-prompt",
    "Follow us: @timesofisrael on Twitter | timesofisrael on Facebook": "social-prompt",
    "Don\u2019t forget to like Caped Crusades on Facebook and follow us on Twitter!": "social-prompt",
    "Gay rights are human rights pic.twitter.com/abc \u2014 PinkNews (@pinknews) December 15, 2014": "embedded-post",
    "[Image via screengrab]": "photo-credit",
    "Photo: John Smith/Getty Images": "photo-credit",
    "Please enable Javascript to watch.": "video-prompt",
    "Continue reading the main story": "continue-reading",
    "Read the full report here.": "continue-reading",
    "mboxCreate('FoxNews-Politics-Autoplay-Videos-In-Articles');": "script",
    "Reporting by John Smith; Editing by Mary Jones": "byline",
    "A spokesman for the ministry declined to comment on the report.": "no-comment",
    "The North Korean Embassy in London did not respond to requests for a comment.": "no-comment",
    "There was also no immediate comment from the Jordanian government.": "no-comment",
    "The Associated Press contributed to this report.": "attribution-boilerplate",
    "This article originally appeared in The New York Post.": "attribution-boilerplate",
    "The officials spoke on condition of anonymity because they were not authorized to discuss the hostage "
    "situation.": "attribution-boilerplate",
    "We will provide more information when it is available.": "update-notice",
    "Update at 1:34 p.m.": "update-notice",
    "\u2014 This story was updated at 10:37 a.m.": "update-notice",
    "(This story was updated at 8:30 p.m. CT.)": "update-notice",
    "Updated Dec. 31, 2014 11:30 a.m.": "update-notice",
    "(Updates with comment from Saudi embassy in third paragraph.)": "update-notice",
    "This post has been updated with additional reporting.": "update-notice",
}
NOT_FURNITURE = [
    "The Pentagon declined to comment on reports that 200 Russians were killed, but said the strike was defensive.",
    "By 2015, Apple will have sold 20 million watches, analysts said.",
    "Police said the video showed the officer firing six shots.",
    "The photo was taken by a Getty Images photographer in Kiev on Monday, the agency said.",
    "The ministry said there would be no comment from the president until the inquiry had reported in May.",
    "The story was updated by the agency after the Kremlin denied that any soldiers had died.",
    "UPDATE: KFC confirmed that the photo was of a chicken wing.",
    "Updated figures show that 300 people died in the flood.",
    "Apple unveiled the latest update to the MacBook Air on 29 April 2014.",
]


@pytest.mark.parametrize("line", [*SCRAPED_FURNITURE, *NOT_FURNITURE])
def test_scraped_news_furniture_rules(line):
    text = f"Headline of the story\n\n{line}\n\nThe minister said the bridge would reopen in May after repairs."
    seg = segment_documents([Document(doc_id="d", text=text)])
    reasons = {r.text: r.reason for r in seg.dropped}
    if line in SCRAPED_FURNITURE:
        assert reasons.get(line) == f"furniture:{SCRAPED_FURNITURE[line]}", reasons
    else:
        assert line in [s.text for s in seg.sentences]
    assert seg.sentences[-1].text == "The minister said the bridge would reopen in May after repairs."


def test_titles_initials_and_abbreviations_stay_inside_their_sentence():
    text = ("The dead included Lt. Col. Jan Mohammad Arash, Capt. Mohammad Nasir Askarzada and Capt. Ahmad Shah, "
            "officials said. Dr. Smith met Gov. Brown at 5 p.m. on Jan. 5 in Washington, D.C. before leaving. "
            "J. K. Rowling wrote it in 1997. He paid $2.5 million for the house at No. 10.")
    seg = segment_documents([Document(doc_id="d", text=text)])
    assert [s.text for s in seg.sentences] == [
        "The dead included Lt. Col. Jan Mohammad Arash, Capt. Mohammad Nasir Askarzada and Capt. Ahmad Shah, "
        "officials said.",
        "Dr. Smith met Gov. Brown at 5 p.m. on Jan. 5 in Washington, D.C. before leaving.",
        "J. K. Rowling wrote it in 1997.",
        "He paid $2.5 million for the house at No. 10."]
    assert all(text[s.start:s.end] == s.text for s in seg.sentences)


def test_a_very_long_paragraph_is_split_whole_with_exact_offsets():
    sentence = "The bridge would reopen in May, Capt. Ahmad Shah of the U.S. Army said, after repairs of $2.5 million."
    text = " ".join([sentence] * 300)  # one paragraph of 33,000 characters, cut into pieces before pySBD reads it
    seg = segment_documents([Document(doc_id="d", text=text)])
    assert len(seg.sentences) == 300 and {s.text for s in seg.sentences} == {sentence}
    assert all(text[s.start:s.end] == s.text for s in seg.sentences)


def test_an_article_on_one_line_is_not_dropped_whole_as_furniture(seed_corpus):
    # JSONL and CSV bodies often have no newlines: a paragraph rule ("support us" -> donation) that matches one
    # sentence must drop that sentence, not the article.
    flat = [Document(d.doc_id, " ".join(d.text.split()), outlet=d.outlet) for d in seed_corpus.documents]
    kept = segment_documents(flat)
    per_document = {d.doc_id: sum(s.doc_id == d.doc_id for s in kept.sentences) for d in flat}
    assert min(per_document.values()) >= 10, per_document
    assert all(not r.reason.startswith("furniture:") or len(r.text) < 1000 for r in kept.dropped)
    lined = segment_documents(seed_corpus.documents)  # with its lines, the same rules still drop whole lines
    assert any(r.reason == "furniture:donation" for r in lined.dropped)
    # The shortest such article: one statement and one appeal keep the statement.
    short = segment_documents([Document("a", "The minister said on Monday that taxes would rise next year. "
                                             "Subscribe to our newsletter for more news.")])
    assert [s.text for s in short.sentences] == ["The minister said on Monday that taxes would rise next year."]
    assert [(r.where, r.reason) for r in short.dropped] == [("a@61:103", "furniture:newsletter")]


def test_segmenting_in_processes_gives_what_one_process_gives(seed_corpus, monkeypatch):
    from claimcluster import segment

    docs = list(seed_corpus.documents)
    serial = segment._segment(docs, DEFAULT_FURNITURE_RULES, 4, 1000)
    parallel = segment._in_processes(docs, DEFAULT_FURNITURE_RULES, 4, 1000, workers=2)
    assert parallel == serial and serial.sentences
    # large corpora go to the processes, small ones and threaded callers stay in this one
    monkeypatch.setattr(segment.threading, "active_count", lambda: 1)
    assert segment._workers(10) == 1 and segment._workers(400) == min(len(os.sched_getaffinity(0)), 4)
    monkeypatch.setattr(segment.threading, "active_count", lambda: 3)
    assert segment._workers(10_000) == 1
