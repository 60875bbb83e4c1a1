"""Tests that hunt: hypothesis over the loaders, the segmenter, encode, search, the index and the pipeline.

Arbitrary Unicode includes lone surrogates and control characters. Each property says what must hold for
every input: a result that keeps everything, or a claimcluster error that says why; never another exception.
The example counts keep the file to about a minute in CI; ``HYPOTHESIS_PROFILE=fuzz`` runs many more.
"""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from claimcluster import (
    ClaimClusterError,
    ClaimIndex,
    Document,
    InputError,
    cluster_documents,
    load_documents,
    segment_documents,
)
from claimcluster._validate import scrub_surrogates, visible

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Every code point, surrogates and control characters included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=80)
WORDS = st.sampled_from(["moon", "landing", "vaccine", "Mr.", "U.S.", "“quoted”", "—", "3.5%", "\u200b", "\u00a0",
                         "e.g.", "Dr", "?", "!", "\n", "\n\n", " ", "tweet @user", "http://x.co/a", "😀", "\ud800"])
NEWSY = st.lists(st.one_of(WORDS, ANY_TEXT), max_size=40).map(" ".join)


def utf8_safe(text: str) -> str:
    return scrub_surrogates(text)


# -- loaders -----------------------------------------------------------------------------------------------
RECORD = st.fixed_dictionaries({"id": st.one_of(st.none(), st.integers(-5, 5), ANY_TEXT),
                                "text": st.one_of(st.none(), st.integers(), NEWSY, ANY_TEXT),
                                "outlet": st.one_of(st.none(), ANY_TEXT)})


@given(st.lists(RECORD, max_size=8))
def test_jsonl_loader_keeps_or_rejects_every_record(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("jsonl") / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="ascii")  # \ud800 stays escaped
    try:
        corpus = load_documents([path])
    except ClaimClusterError as exc:
        assert "duplicate doc_id" in str(exc)
        return
    assert len(corpus.documents) + len(corpus.rejected) == len(records)
    texts = [utf8_safe(r["text"]) for r in records if isinstance(r["text"], str) and visible(r["text"])]
    assert [d.text for d in corpus.documents] == texts
    json.dumps([d.text for d in corpus.documents], ensure_ascii=False).encode("utf-8")


@given(st.lists(st.tuples(st.text(ANY_CHAR, min_size=1, max_size=6), NEWSY), max_size=6, unique_by=lambda r: r[0]),
       st.sampled_from([",", "\t"]))
def test_csv_loader_round_trips_any_text(tmp_path_factory, rows, delimiter):
    rows = [(utf8_safe(i).replace("\x00", ""), utf8_safe(t).replace("\x00", "")) for i, t in rows]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["id", "text"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / ("a.tsv" if delimiter == "\t" else "a.csv")
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    try:
        corpus = load_documents([path])
    except ClaimClusterError as exc:
        assert "duplicate doc_id" in str(exc)
        return
    assert len(corpus.documents) + len(corpus.rejected) == len(rows)
    assert [d.text for d in corpus.documents] == [t for _, t in rows if visible(t)]


@given(st.binary(max_size=300), st.sampled_from(["a.jsonl", "a.csv", "a.tsv", "a.txt"]))
def test_any_bytes_load_or_fail_clearly(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(data)
    try:
        corpus = load_documents([path])
    except ClaimClusterError:
        return
    for document in corpus.documents:
        document.text.encode("utf-8")
    # Nothing is lost: every line (JSONL), row (CSV/TSV) or file (text) is a document or a rejection.
    text = data.decode("utf-8-sig")
    if name == "a.jsonl":
        lines = text.split("\n")
        expected = len(lines) - (lines[-1] == "")
    elif name == "a.txt":
        expected = 1
    else:
        expected = len(list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if name == "a.tsv" else ",")))
    assert len(corpus.documents) + len(corpus.rejected) == expected


# -- segmenter ---------------------------------------------------------------------------------------------
@given(st.lists(NEWSY, min_size=1, max_size=12), st.lists(NEWSY, min_size=1, max_size=6))
def test_saved_bm25_scores_every_query_as_bm25s_does(texts, queries):
    from claimcluster.index._fusion import DEFAULT_FUSION, Bm25

    texts = [utf8_safe(t) for t in texts]
    built = Bm25(texts, DEFAULT_FUSION)
    loaded = Bm25.from_bytes(built.to_bytes(), len(texts), DEFAULT_FUSION)
    assert loaded is not None
    for query in (utf8_safe(q) for q in queries + texts[:2]):
        np.testing.assert_array_equal(loaded.scores(query), built.scores(query))


@given(NEWSY)
def test_segmenter_offsets_point_into_the_text(text):
    document = Document("d", text)
    segmentation = segment_documents([document])
    previous_end = 0
    for sentence in segmentation.sentences:
        assert document.text[sentence.start:sentence.end] == sentence.text
        assert previous_end <= sentence.start < sentence.end
        assert sentence.norm.strip()
        previous_end = sentence.end
    for dropped in segmentation.dropped:
        assert dropped.reason


# -- encode and search -------------------------------------------------------------------------------------
@given(st.lists(st.one_of(NEWSY, ANY_TEXT, st.none(), st.just(float("nan")), st.integers()), min_size=1,
                max_size=4))
@settings(max_examples=25)
def test_encode_gives_unit_rows_or_an_input_error(embedder, texts):
    try:
        vectors = embedder.encode(texts)
    except InputError as exc:
        assert "position" in str(exc)
        return
    assert vectors.shape == (len(texts), embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.fixture(scope="module")
def small_index(embedder):
    return ClaimIndex(embedder).add(["The moon landing was staged.", "Vaccines cause autism.", "?!", "😀 😀",
                                     "The earth is flat."])


ARBITRARY = st.one_of(st.none(), st.booleans(), st.integers(-3, 12), st.floats(allow_nan=True, allow_infinity=True),
                      st.text(max_size=5), st.just("auto"), st.just(np.int64(3)), st.just(np.float32(0.2)))


@given(st.one_of(NEWSY, ANY_TEXT), ARBITRARY, ARBITRARY)
@settings(max_examples=30)
def test_search_answers_or_refuses_any_query_k_and_min_score(small_index, query, k, min_score):
    try:
        (matches,) = small_index.search(query, k=k, min_score=min_score)
    except InputError:
        return
    assert len(matches) <= int(k)
    assert [m.rank for m in matches] == list(range(1, len(matches) + 1))
    assert all(np.isfinite(m.score) for m in matches)


# -- the index against a brute-force model -----------------------------------------------------------------
def index_machine(embedder):
    """The state machine of the index for one embedder (only its model id and dimension are used)."""
    machine_embedder = embedder

    class IndexAgainstBruteForce(RuleBasedStateMachine):
        """Random adds, removes, saves and reloads of an index of precomputed vectors; after every step its
        contents and exact top-k equal those of a dict and a matrix product."""

        ids = Bundle("ids")

        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(0)
            self.model: dict[str, np.ndarray] = {}
            self.next = 0

        @initialize()
        def start(self):
            self.index = ClaimIndex(machine_embedder, rerank=False)

        @rule(target=ids, n=st.integers(1, 4), duplicate=st.booleans())
        def add(self, n, duplicate):
            vectors = self.rng.normal(size=(n, machine_embedder.dimension)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            new = [f"c{self.next + i}" for i in range(n)]
            if duplicate and self.model:
                new[-1] = next(iter(self.model))  # an id already there: the whole add is refused
            try:
                self.index.add([f"text {i}" for i in new], ids=new, vectors=vectors)
            except InputError:
                assert duplicate and self.model
                return multiple()
            self.next += n
            self.model.update(zip(new, vectors))
            return new[0]

        @rule(claim=ids, also_unknown=st.booleans())
        def remove(self, claim, also_unknown):
            asked = [claim, "never-added"] if also_unknown else claim  # one string is one id
            if claim not in self.model or also_unknown:
                with pytest.raises(InputError):
                    self.index.remove(asked)
                return
            assert self.index.remove(asked) == 1
            del self.model[claim]

        @rule()
        def save_and_load(self):
            import tempfile

            with tempfile.TemporaryDirectory() as directory:
                self.index.save(directory)
                self.index = ClaimIndex.load(directory, machine_embedder)
                self.index.rerank = False

        @invariant()
        def same_as_the_model(self):
            assert len(self.index) == len(self.model)
            if not self.model:
                return
            names = list(self.model)
            matrix = np.stack([self.model[n] for n in names])
            query = matrix[len(names) // 2]
            expected = [names[i] for i in np.lexsort((np.arange(len(names)), -(matrix @ query)))[:3]]
            found = [m.id for m in self.index.search(query[None, :], k=3)[0]]
            assert found[0] == expected[0] and sorted(found) == sorted(expected)

    return IndexAgainstBruteForce


@pytest.mark.slow
def test_index_against_a_brute_force_model(embedder):
    machine = index_machine(embedder)
    machine.TestCase.settings = settings(max_examples=15, stateful_step_count=12, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    machine.TestCase().runTest()


# -- the pipeline: the order of the documents does not matter ----------------------------------------------
@pytest.mark.slow
@given(st.permutations(range(5)), st.sampled_from(["claim", "assertion"]))
@settings(max_examples=6)
def test_shuffled_documents_give_identical_claims(cached_embedder, seed_corpus, order, granularity):
    docs = list(seed_corpus.documents)
    baseline = claims_of(cluster_documents(docs, embedder=cached_embedder, granularity=granularity,
                                           min_cluster_size=2))
    assume(baseline)
    shuffled = claims_of(cluster_documents([docs[i] for i in order], embedder=cached_embedder,
                                           granularity=granularity, min_cluster_size=2))
    assert shuffled == baseline


@pytest.fixture(scope="module")
def cached_embedder(tmp_path_factory):
    from claimcluster import Embedder

    return Embedder(cache=tmp_path_factory.mktemp("cache") / "embeddings.sqlite3")


def claims_of(result) -> list:
    return [(c.id, c.representative.doc_id, c.representative.start, c.representative.stance,
             tuple((m.doc_id, m.start, m.stance) for m in c.members)) for c in result.claims]
