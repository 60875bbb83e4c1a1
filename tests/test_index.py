"""ClaimIndex: exact search against NumPy, hybrid matching with the real model, persistence, threads, CLI."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner

from claimcluster import (
    ClaimIndex,
    Embedder,
    FusionWeights,
    InputError,
    ModelMismatchError,
    StorageError,
    clean_social_text,
)
from claimcluster._persist import signed
from claimcluster.assertion import Reranker
from claimcluster.cli import main
from claimcluster.embed import packaged_model_path

from .conftest import unit_blobs

KNOWN = {
    "ru-deny": "Russia's Defense Ministry denied that Russian servicemen were killed in Syria.",
    "pentagon": "The Pentagon said it informed Russia before the strike and no Russian personnel were there.",
    "watch": "Apple Watch battery lasts only 2.5 hours.",
    "draft": "The U.S. Army is sending text messages telling people they were selected for a military draft.",
    "bmo": "BMO forecasts 19 million Apple Watch sales in 2015.",
}


def synthetic_index(embedder, n: int = 300, factory: str = "Flat"):
    """Unit blobs of the model's dimension (an index's vectors must be its model's: queries are embedded with it)."""
    X, _ = unit_blobs(n_clusters=10, per_cluster=n // 10, dim=embedder.dimension, spread=0.4, seed=3)
    ids = [f"c{i}" for i in range(len(X))]
    index = ClaimIndex(embedder, factory=factory, fusion=FusionWeights(lexical_weight=0.0))
    index.add([f"claim number {i}" for i in range(len(X))], ids=ids, vectors=X)
    return index, X, ids


def brute_force(X, queries, k):
    scores = queries @ X.T
    return scores, np.argsort(-scores, axis=1)[:, :k]


def test_flat_search_equals_numpy_top_k(embedder):
    index, X, ids = synthetic_index(embedder)
    queries, _ = unit_blobs(n_clusters=3, per_cluster=5, dim=embedder.dimension, seed=8)
    scores, top = brute_force(X, queries, 7)
    for q, matches in enumerate(index.search(queries, k=7)):
        assert [m.rank for m in matches] == list(range(1, 8))
        got = np.array([m.score for m in matches])
        np.testing.assert_allclose(got, scores[q, top[q]], atol=1e-5)  # equal up to ties
        assert {m.id for m in matches} <= {ids[i] for i in np.flatnonzero(scores[q] >= got[-1] - 1e-6)}


def test_a_batch_of_queries_gets_what_each_query_gets_alone(real_index):
    # One dense search serves a whole batch: each query must find what it finds on its own.
    texts = ["Moscow denies reports that its soldiers died in Syria", "Apple Watch sales forecast for 2015",
             "the army drafts people by text message", "Preheat the oven to 200 degrees."]
    together = real_index.search(texts, k=4, min_score=None)
    alone = [real_index.search(text, k=4, min_score=None)[0] for text in texts]
    assert [[(m.id, m.score, m.rerank) for m in ms] for ms in together] == [
        [(m.id, m.score, m.rerank) for m in ms] for ms in alone]


@pytest.mark.parametrize("factory", ["HNSW32", "IVF8,Flat"])
def test_approximate_indexes_find_the_exact_neighbours_here(factory, embedder):
    index, X, ids = synthetic_index(embedder, factory=factory)
    index.nprobe = 8
    queries = X[:20]
    _, top = brute_force(X, queries, 5)
    recall = np.mean([len({m.id for m in ms} & {ids[i] for i in row}) / 5
                      for ms, row in zip(index.search(queries, k=5), top)])
    assert recall >= 0.95


def test_remove_and_len(embedder):
    index, X, ids = synthetic_index(embedder)
    assert len(index) == len(X)
    assert index.remove(["c0", "c1"]) == 2
    assert len(index) == len(X) - 2
    assert all(m.id not in {"c0", "c1"} for m in index.search(X[:2], k=10)[0])
    with pytest.raises(InputError, match=r"unknown id\(s\): \['nope'\]"):
        index.remove(["nope"])
    hnsw, X2, _ = synthetic_index(embedder, factory="HNSW32")
    hnsw.remove(["c5"])
    assert hnsw.search(X2[5:6], k=1)[0][0].id != "c5"


def test_bad_queries_and_adds(embedder):
    index, X, _ = synthetic_index(embedder)
    assert index.search([]) == []
    with pytest.raises(InputError, match="query at position 0 is missing"):
        index.search([None])
    with pytest.raises(InputError, match="query at position 1 is empty"):
        index.search(["fine text", "  "])
    with pytest.raises(InputError, match=r"k \(0\) must be at least 1"):
        index.search(["text"], k=0)
    with pytest.raises(InputError, match="already in the index"):
        index.add(["again"], ids=["c3"], vectors=X[:1])
    with pytest.raises(InputError, match="ids has 2 entries for 1 texts"):
        index.add(["one"], ids=["a", "b"])
    with pytest.raises(InputError, match="invalid FAISS factory string"):
        ClaimIndex(embedder, factory="NoSuchIndex").add(["x y"], vectors=X[:1])
    with pytest.raises(InputError, match="vectors have dimension 16, the embedding model 384"):
        index.add(["x y"], ids=["short"], vectors=unit_blobs(n_clusters=1, per_cluster=1, dim=16)[0])


def test_social_text_clean_up():
    tweet = ("Fact check: the Army is NOT contacting anyone #draft @USArmy https://t.co/abc pic.twitter.com/3S "
             "\u2014 U.S. Army CGSC (@USACGSC) January 8, 2020")
    assert clean_social_text(tweet) == "Fact check: the Army is NOT contacting anyone draft USArmy U.S. Army CGSC"


@pytest.fixture(scope="module")
def real_index(embedder):
    return ClaimIndex(embedder).add(list(KNOWN.values()), ids=list(KNOWN), metadata=[{"n": i} for i in range(5)])


def test_real_paraphrases_match_and_unrelated_text_does_not(real_index):
    results = real_index.search([
        "Moscow denies reports that its soldiers died in Syria",
        "Apple will sell 19 million Apple Watches this year, analyst says",
        "Fraudulent texts say you were picked for the military draft \u2014 Jane Doe (@jdoe) January 8, 2020",
        "Preheat the oven to 200 degrees and grease the tin.",
    ], k=3, min_score="auto")
    assert results[0][0].id == "ru-deny"
    assert results[1][0].id == "bmo"
    assert results[2][0].id == "draft"
    assert results[3] == []  # "no known claim"
    assert results[1][0].metadata == {"n": 4}
    # The re-ranker sets the order of the top candidates; score stays the fused similarity.
    assert all(m.rerank is not None for ms in results for m in ms)
    assert all(a.rerank >= b.rerank for ms in results for a, b in zip(ms, ms[1:]))


def test_no_match_dense_arm_follows_the_base_size(embedder, real_index):
    reranker = Reranker.load(embedder.model_id)
    calibration = reranker.linear.meta["no_match"]
    fused, at_calibration = reranker.no_match(calibration["base_size"])
    assert fused == calibration["min_fused"] and abs(at_calibration - calibration["min_dense"]) < 0.01
    arms = [reranker.no_match(n)[1] for n in (1, 5, 100, 10_000, 1_000_000)]
    assert arms == sorted(arms) and arms[0] >= calibration["min_dense_floor"] and arms[-1] > at_calibration
    # A five-claim base is held to the five-claim arm: a paraphrase answers, and is the same assertion. A
    # same-story query may answer on so small a base (the tuned encoder puts one story's sentences close), but
    # the assessment says it is not the same assertion.
    assert real_index.no_match_thresholds() == reranker.no_match(5)
    found = real_index.search(["Moscow denied Russian soldiers died in Syria",
                               "Russian jets bombed a hospital in Aleppo"], k=1, min_score="auto", assess=True)
    assert [(m.id, m.same_assertion) for m in found[0]] == [("ru-deny", True)]
    assert all(m.same_assertion is False for m in found[1])


def test_assess_says_how_a_match_relates_to_the_query(real_index, embedder):
    queries = ["Russian servicemen were killed in Syria.",   # what the claim ru-deny denies
               "Russia's Defense Ministry denied that Russian servicemen were killed in Syria.",
               "BMO forecasts 24 million Apple Watch sales in 2015.",
               "Russia said it informed the Pentagon before the strike and no Russian personnel were there."]
    found = [ms[0] for ms in real_index.search(queries, k=1, assess=True)]
    assert [m.id for m in found] == ["ru-deny", "ru-deny", "bmo", "pentagon"]
    assert found[0].stance == "denies" and found[0].conflicts == ("polarity",)
    assert found[1].stance == "repeats" and found[1].conflicts == ()
    assert found[2].conflicts == ("figures",)
    assert found[3].conflicts == ("roles",)
    # The pair model says whether the query states the claim's own assertion.
    assert [m.same_assertion for m in found] == [False, True, False, False]
    assert all(0 < m.stance_score <= 1 for m in found)
    # Off by default, and vector queries have no text to assess.
    assert real_index.search(queries[0], k=1)[0][0].stance is None
    assert real_index.search(embedder.encode(queries[:1]), k=1, assess=True)[0][0].conflicts == ()


def test_reranker_changes_only_the_order(real_index, embedder):
    query = ["Moscow denies reports that its soldiers died in Syria"]
    reranked = real_index.search(query, k=5)[0]
    real_index.rerank = False
    try:
        fused = real_index.search(query, k=5)[0]
    finally:
        real_index.rerank = True
    assert {m.id: m.score for m in reranked} == {m.id: m.score for m in fused}
    assert all(m.rerank is None for m in fused)
    assert all(a.score >= b.score for a, b in zip(fused, fused[1:]))
    assert reranked[0].id == fused[0].id == "ru-deny"
    vector_query = real_index.search(embedder.encode(query), k=2)[0]  # no text: dense order, no re-ranker
    assert [m.rerank for m in vector_query] == [None, None]
    # Weights learned with another model's dense scores are not applied: a model the shipped
    # re-rankers did not learn with (the base model, named by its path) keeps the fused order.
    other = Embedder(str(packaged_model_path()))
    with pytest.raises(ModelMismatchError):
        Reranker.load(other.model_id)
    other_index = ClaimIndex(other).add(list(KNOWN.values()), ids=list(KNOWN))
    assert [m.rerank for m in other_index.search(query, k=2)[0]] == [None, None]


def test_fusion_weights_are_checked_and_saved(real_index, tmp_path):
    with pytest.raises(InputError, match=r"lexical_weight \(1.5\) must be a number from 0 to 1"):
        FusionWeights(lexical_weight=1.5)
    real_index.save(tmp_path / "ix")
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["settings"]["fusion"] == {"lexical_weight": 0.7, "bm25_half": 128.0, "bm25_k1": 0.9,
                                              "bm25_b": 0.3, "extra_dense_weight": 0.25}
    dense_only = ClaimIndex(real_index.embedder, fusion=FusionWeights(lexical_weight=0.0))
    dense_only.add(list(KNOWN.values()), ids=list(KNOWN))
    assert all(m.lexical == 0.0 for m in dense_only.search("Russia denied deaths in Syria", k=3)[0])


def test_long_query_and_single_string(real_index):
    assert real_index.search("Russia denied the deaths. " * 2000, k=1)[0][0].id == "ru-deny"


def test_save_load_round_trip(real_index, embedder, tmp_path):
    real_index.save(tmp_path / "ix")
    loaded = ClaimIndex.load(tmp_path / "ix", embedder)
    query = ["Russia denied its soldiers were killed"]
    assert loaded.search(query, k=5) == real_index.search(query, k=5)
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["settings"]["factory"] == "Flat" and manifest["dimension"] == 384
    assert manifest["settings"]["rerank"] is True
    assert not list((tmp_path / "ix").glob("*.pkl"))
    real_index.save(tmp_path / "ix")  # a second save; the first generation stays for readers until the third
    real_index.save(tmp_path / "ix")
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == [
        ".claimcluster-journal.json", "bm25.2.npz", "bm25.3.npz", "extra_vectors.2.npy", "extra_vectors.3.npy",
        "index.2.faiss", "index.3.faiss", "lock", "manifest.json", "records.2.jsonl", "records.3.jsonl",
        "vectors.2.npy", "vectors.3.npy"]
    # BM25 comes back built from its file, and answers as the one built from the texts
    again = ClaimIndex.load(tmp_path / "ix", embedder)
    assert again._bm25 is not None
    np.testing.assert_array_equal(again._bm25.scores("Russia denied soldiers"),
                                  real_index._lexical().scores("Russia denied soldiers"))


def test_load_refuses_other_model_damage_and_missing_files(real_index, embedder, tmp_path):
    target = tmp_path / "ix"
    real_index.save(target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    other = signed(dict(manifest, model_id="other-model@0000"))  # as another model would have written it
    manifest_path.write_text(json.dumps(other))
    with pytest.raises(ModelMismatchError, match="built with model other-model@0000"):
        ClaimIndex.load(target, embedder)
    manifest_path.write_text(json.dumps(signed(dict(manifest, dimension=768))))
    with pytest.raises(ModelMismatchError, match="dimension 768"):
        ClaimIndex.load(target, embedder)
    manifest_path.write_text(json.dumps(manifest))
    records = target / manifest["files"]["records"]["path"]
    records.write_text(records.read_text().replace("Apple", "Appel"))
    with pytest.raises(StorageError, match="does not match its checksum"):
        ClaimIndex.load(target, embedder)
    records.unlink()
    with pytest.raises(StorageError, match="is missing"):
        ClaimIndex.load(target, embedder)
    manifest_path.write_text("{not json")
    with pytest.raises(StorageError, match="manifest.json is damaged"):
        ClaimIndex.load(target, embedder)


def test_concurrent_searches_and_a_writer(real_index, embedder):
    queries = ["Moscow denies soldier deaths", "Apple Watch battery", "military draft texts"] * 4
    serial = [real_index.search([q], k=2)[0] for q in queries]  # same call shape: same floating point
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda q: real_index.search([q], k=2)[0], queries))
    assert parallel == serial
    index = ClaimIndex(embedder).add(list(KNOWN.values()), ids=list(KNOWN))
    errors = []

    def writer():
        try:
            for i in range(5):
                index.add([f"Extra claim number {i} about elections"], ids=[f"x{i}"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(5):
        assert index.search(["Moscow denies soldier deaths"], k=1)[0][0].id == "ru-deny"
    thread.join()
    assert not errors and len(index) == 10


def test_cli_index_build_and_match(tmp_path):
    claims = tmp_path / "claims.jsonl"
    claims.write_text("".join(json.dumps({"cid": k, "claim": v, "title": k.upper()}) + "\n" for k, v in KNOWN.items()))
    runner = CliRunner()
    built = runner.invoke(main, ["index", "build", str(claims), "--id-field", "cid", "--text-field", "claim",
                                 "--extra-text-field", "title", "--out", str(tmp_path / "ix")])
    assert built.exit_code == 0, built.output
    hit = runner.invoke(main, ["match", str(tmp_path / "ix"), "Moscow denied Russian soldiers died in Syria", "--json"])
    assert hit.exit_code == 0, hit.output
    assert json.loads(hit.output)["matches"][0]["id"] == "ru-deny"
    assert json.loads(hit.output)["matches"][0]["stance"] == "repeats"
    denial = runner.invoke(main, ["match", str(tmp_path / "ix"), "Russian servicemen were killed in Syria", "-k", "1"])
    assert "[ru-deny]" in denial.output and "denies (polarity)" in denial.output
    plain = runner.invoke(main, ["match", str(tmp_path / "ix"), "Russian servicemen were killed in Syria",
                                 "--no-assess"])
    assert "[ru-deny]" in plain.output and "denies" not in plain.output.split("\n", 1)[1]
    miss = runner.invoke(main, ["match", str(tmp_path / "ix"), "Preheat the oven and grease the tin."])
    assert "no known claim" in miss.output
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"text": "Apple Watch battery life is 2.5 hours"}) + "\n")
    batch = runner.invoke(main, ["match", str(tmp_path / "ix"), "--queries", str(queries), "-k", "1"])
    assert batch.exit_code == 0 and "[watch]" in batch.output
    both = runner.invoke(main, ["match", str(tmp_path / "ix")])
    assert both.exit_code == 2 and "either TEXT or --queries" in both.output
