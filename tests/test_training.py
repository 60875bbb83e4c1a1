"""Training reads the train partition only: the dev partition, poisoning of held-back rows, smoke runs."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest

from claimcluster import BASE_MODEL, Embedder
from claimcluster.training.data import in_dev, load_public_data, mrpc_key
from claimcluster.training.encoder import EncoderSettings, mine, train_encoder, training_batches
from claimcluster.training.scorers import rerank_examples, train_pair, train_stance

from .conftest import DATA

SMOKE = EncoderSettings(epochs=1, batch_size=4, max_steps=2, max_seq_length=32)


def read(path):
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def write(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def small_copy(root, poison: bool):
    """A few rows of each public set; with ``poison`` every held-back row (dev partition, CLEF dev)
    has its labels flipped and its text replaced, and rows of a test split are added."""
    rng = random.Random(7)

    def garble(text):
        return f"poison {rng.random():.6f} " + text[::-1]

    emergent = [r for r in read(DATA / "emergent" / "emergent_headlines.jsonl") if r["claim_group"] < 40]
    mrpc = read(DATA / "mrpc" / "mrpc.jsonl")[:240]
    clef = DATA / "clef2020_checkthat_task2"
    qrels = [q for q in read(clef / "qrels.jsonl") if q["split"] == "train"][:30]
    qrels += [q for q in read(clef / "qrels.jsonl") if q["split"] == "dev"][:10]
    wanted = {q["tweet_id"] for q in qrels}
    queries = [q for q in read(clef / "queries.jsonl") if q["tweet_id"] in wanted]
    targets = {q["vclaim_id"] for q in qrels}
    vclaims = [c for c in read(clef / "vclaims.jsonl") if c["vclaim_id"] in targets or int(c["vclaim_id"]) < 150]
    if poison:
        emergent = [dict(r, headline=garble(r["headline"]), stance="against") if in_dev(r["claim_id"]) else r
                    for r in emergent]
        emergent += [dict(r, split="test", headline=garble(r["headline"])) for r in emergent[:20]]
        mrpc = [dict(r, label=1 - r["label"], sentence1=garble(r["sentence1"])) if in_dev(mrpc_key(r)) else r
                for r in mrpc]
        mrpc += [dict(r, split="test", label=1 - r["label"], id1=f"t{r['id1']}", id2=f"t{r['id2']}")
                 for r in mrpc[:20]]
        queries = [dict(q, text=garble(q["text"])) if q["split"] == "dev" else q for q in queries]
        qrels = [dict(q, vclaim_id="0") if q["split"] == "dev" else q for q in qrels]
        queries.append({"tweet_id": "test-1", "text": "a test tweet", "split": "test"})
        qrels.append({"tweet_id": "test-1", "vclaim_id": "1", "relevance": 1, "split": "test"})
    write(root / "emergent", "emergent_headlines.jsonl", emergent)
    write(root / "mrpc", "mrpc.jsonl", mrpc)
    write(root / "clef2020_checkthat_task2", "vclaims.jsonl", vclaims)
    write(root / "clef2020_checkthat_task2", "queries.jsonl", queries)
    write(root / "clef2020_checkthat_task2", "qrels.jsonl", qrels)
    return root


@pytest.fixture(scope="module")
def clean_and_poisoned(tmp_path_factory):
    root = tmp_path_factory.mktemp("public")
    return (load_public_data(small_copy(root / "clean", poison=False)),
            load_public_data(small_copy(root / "poisoned", poison=True)))


def test_dev_partition_is_a_fixed_fifth_by_key():
    keys = [f"claim-{i}" for i in range(2000)]
    share = np.mean([in_dev(k) for k in keys])
    assert 0.17 < share < 0.23
    # Membership depends on the key alone (a salted hash), fixed once: these claims stay where they are.
    assert in_dev("0a643490-5627-11e4-aaf5-a1ddcfbcd5a9") and in_dev("0eaf62c0-b6d2-11e4-8507-b58af63d1078")
    assert not in_dev("01b83440-75e4-11e4-99be-fb3662a4a6dd")
    full = load_public_data(DATA)
    assert {r["claim_id"] for r in full.emergent_train}.isdisjoint({r["claim_id"] for r in full.emergent_dev})
    assert len({r["claim_id"] for r in full.emergent_dev}) == 49 and len(full.mrpc_dev) == 830
    assert len(full.clef_train) == 800 and len(full.clef_dev) == 197
    mrpc_held = {r[s] for r in full.mrpc_dev for s in ("sentence1", "sentence2")}
    assert not mrpc_held & {r[s] for r in full.mrpc_train for s in ("sentence1", "sentence2")}
    # The wall reads keys only, so the six headline strings syndicated under a dev claim and a train
    # claim stay on both sides (the data module says so); nothing else crosses.
    shared = {r["headline"] for r in full.emergent_dev} & {r["headline"] for r in full.emergent_train}
    assert len(shared) == 6


def test_poisoning_held_back_rows_changes_no_training_row(clean_and_poisoned):
    clean, poisoned = clean_and_poisoned
    for name in ("emergent_train", "mrpc_train", "clef_train", "clef_claims"):
        assert getattr(clean, name) == getattr(poisoned, name), name
    assert clean.emergent_dev != poisoned.emergent_dev  # the poison did reach the held-back rows
    assert clean.files != poisoned.files


def test_poisoning_held_back_rows_changes_no_model(clean_and_poisoned, embedder):
    clean, poisoned = clean_and_poisoned
    stances = [train_stance(data, embedder) for data in (clean, poisoned)]
    np.testing.assert_array_equal(stances[0].linear.coef, stances[1].linear.coef)
    np.testing.assert_array_equal(train_pair(clean, embedder).term_coef, train_pair(poisoned, embedder).term_coef)
    features, relevant, query, _ = rerank_examples(clean, embedder)
    again = rerank_examples(poisoned, embedder)
    np.testing.assert_array_equal(features, again[0])
    assert relevant.sum() == 30 and query.max() == 29  # one relevant claim per train tweet; no dev tweet read


def test_encoder_batches_and_smoke_run_ignore_held_back_rows(clean_and_poisoned, tmp_path):
    clean, poisoned = clean_and_poisoned
    base = Embedder(BASE_MODEL)
    mined = [mine(data, SMOKE, base) for data in clean_and_poisoned]
    batches = [training_batches(data, m, SMOKE, epoch=0) for data, m in zip(clean_and_poisoned, mined)]
    assert [b.columns for b in batches[0]] == [b.columns for b in batches[1]]
    assert {b.source for b in batches[0]} == {"emergent", "clef", "mrpc"}
    for batch in batches[0]:  # no positive is ever scored as another anchor's negative
        if batch.source == "emergent":
            assert len(set(batch.columns[0])) == len(batch.columns[0])
    cards = [train_encoder(data, tmp_path / name, SMOKE, log=lambda _: None)
             for data, name in ((clean, "clean"), (poisoned, "poisoned"))]
    assert cards[0]["delta_sha256"] == cards[1]["delta_sha256"]
    assert cards[0]["training"]["steps"] == 2
    assert cards[0]["training"]["data_sha256"] != cards[1]["training"]["data_sha256"]


def test_a_trained_delta_loads_as_a_model(clean_and_poisoned, tmp_path):
    clean, _ = clean_and_poisoned
    card = train_encoder(clean, tmp_path / "delta", SMOKE, log=lambda _: None)
    tuned, plain = Embedder(str(tmp_path / "delta"), backend="torch"), Embedder(BASE_MODEL, backend="torch")
    assert tuned.model_id == f"{BASE_MODEL}+claims-v1@{card['delta_sha256'][:16]}"
    texts = ["Russia denied that its soldiers died in Syria.", "Apple Watch sales reach 19 million."]
    a, b = tuned.encode(texts), plain.encode(texts)
    assert a.shape == b.shape and not np.allclose(a, b) and np.all(np.sum(a * b, axis=1) > 0.9)
    digest = hashlib.sha256((tmp_path / "delta" / "encoder-delta.safetensors").read_bytes()).hexdigest()
    assert digest == card["delta_sha256"]


def test_no_match_calibration_steps_down_in_precision_only_when_it_would_answer_almost_nothing():
    from claimcluster.training.scorers import calibrate_no_match_ladder

    rng = np.random.default_rng(7)
    unrelated = rng.uniform(0.0, 0.5, 1000)  # unrelated texts never score above 0.5
    scores = rng.uniform(0.5, 1.0, 400)
    # Top-1s right 95 % of the time: the 0.90 level answers them all.
    right = rng.random(400) < 0.95
    (fused, dense), precision, answered = calibrate_no_match_ladder(scores, scores, right, unrelated, unrelated)
    assert precision == 0.90 and answered == 1.0 and min(fused, dense) <= 0.51
    # Right 82 % of the time whatever the score: no threshold reaches 0.90 or 0.85, 0.80 answers them all.
    right = rng.random(400) < 0.82
    (fused, dense), precision, answered = calibrate_no_match_ladder(scores, scores, right, unrelated, unrelated)
    assert precision == 0.80 and answered > 0.9
    # Right half the time: no level answers a quarter, and the first (0.90) stands, answering (almost) nothing.
    right = rng.random(400) < 0.5
    (fused, dense), precision, answered = calibrate_no_match_ladder(scores, scores, right, unrelated, unrelated)
    assert precision == 0.90 and answered < 0.05
