"""Claim formation: clustering proposes, the judge disposes; claims cannot chain."""

from __future__ import annotations

import numpy as np
import pytest

from claimcluster import Document, cluster_documents
from claimcluster.claims.formation import form_claims
from claimcluster.cluster import NOISE
from claimcluster.judge import Judgement, shipped_judge


class TableJudge:
    """A judge that reads a table of which texts state which assertion ("A1" states A, "-A" denies it):
    the algorithm under test, without a model's rounding."""

    def __init__(self):
        self.pairs = 0

    def judge(self, a, b):
        self.pairs += len(a)
        same = np.array([x.lstrip("-")[0] == y.lstrip("-")[0] and x.startswith("-") == y.startswith("-")
                         for x, y in zip(a, b)], dtype=float)
        contradict = np.array([x.lstrip("-")[0] == y.lstrip("-")[0] and x.startswith("-") != y.startswith("-")
                               for x, y in zip(a, b)], dtype=float)
        return Judgement(same=same, contradict=contradict, same_threshold=0.5, contradict_threshold=0.5)


def _chain(n_per: int = 4, dim: int = 16, seed: int = 0):
    """Three assertions A, B, C along a line of vectors: A near B, B near C, A far from C, so density
    clustering proposes one group."""
    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=dim), rng.normal(size=dim)
    rows, texts = [], []
    for k, name in enumerate("ABC"):
        centre = start + (end - start) * k / 2
        for j in range(n_per):
            rows.append(centre + 0.01 * rng.normal(size=dim))
            texts.append(f"{name}{j}")
    vectors = np.array(rows)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors.astype(np.float32)


def test_a_chained_proposal_becomes_one_claim_per_assertion():
    texts, vectors = _chain()
    proposed = np.zeros(len(texts), dtype=np.int64)  # everything in one density cluster
    judge = TableJudge()
    formation = form_claims(texts, vectors, proposed, judge, min_size=2)
    groups = {frozenset(texts[i][0] for i in np.flatnonzero(formation.labels == label))
              for label in set(formation.labels.tolist()) - {NOISE}}
    assert groups == {frozenset("A"), frozenset("B"), frozenset("C")}
    assert formation.pairs_judged == judge.pairs
    assert formation.pairs_judged <= 2 * len(texts)


def test_every_member_is_judged_the_representatives_assertion_or_its_denial():
    texts, vectors = _chain(n_per=5, seed=3)
    texts[1], texts[2] = "-A1", "-A2"  # two denials of A among its sentences
    formation = form_claims(texts, vectors, np.zeros(len(texts), dtype=np.int64), TableJudge(), min_size=2)
    for label, rep in enumerate(formation.representatives):
        for i in np.flatnonzero(formation.labels == label):
            assert texts[i].lstrip("-")[0] == texts[rep].lstrip("-")[0]
            assert formation.denies[i] == (texts[i].startswith("-") != texts[rep].startswith("-"))


def test_unchecked_sentences_neither_found_nor_join_and_noise_joins_by_judgement():
    texts, vectors = _chain(n_per=4, seed=1)
    proposed = np.array([0, 0, 0, NOISE] + [1] * 4 + [NOISE] * 4)
    checkable = np.ones(len(texts), dtype=bool)
    checkable[4:8] = False  # the B sentences state nothing checkable
    formation = form_claims(texts, vectors, proposed, TableJudge(), checkable=checkable, min_size=2,
                            join_floor=-1.0)
    assert (formation.labels[4:8] == NOISE).all()
    assert formation.labels[3] == formation.labels[0] != NOISE  # the loose A sentence joined A
    assert len(set(formation.labels[8:].tolist())) == 1 and formation.labels[8] == NOISE  # C: no claim proposed


def test_the_real_judge_splits_a_topic_bucket():
    """Sentences that share only "Syria" (from the seed articles' old topic bucket) are not one claim;
    two paraphrases of one assertion are."""
    texts = [
        "Their very presence in Syria is an act of aggression.",
        "The platoon's function in Syria is peacekeeping.",
        "ISIS are on the verge of complete defeat in Syria.",
        "Russia has played a pivotal role in defeating ISIS in Syria.",
        "Russia's defence ministry said a platoon of its soldiers was deployed to Syria as peacekeepers.",
        "Moscow sent a platoon of soldiers to Syria on a peacekeeping mission, the defence ministry said.",
    ]
    from claimcluster import Embedder

    vectors = Embedder().encode(texts)
    formation = form_claims(texts, vectors, np.zeros(len(texts), dtype=np.int64), shipped_judge(), min_size=2)
    labels = formation.labels
    assert labels[4] == labels[5] != NOISE
    assert len({int(labels[i]) for i in range(4)} - {NOISE}) + sum(labels[:4] == NOISE) >= 3


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    texts, vectors = _chain()
    formation = form_claims(texts[:n], vectors[:n], np.zeros(n, dtype=np.int64), TableJudge(), min_size=2)
    assert (formation.labels == NOISE).all() and formation.pairs_judged == 0


def test_a_model_without_shipped_files_makes_judged_claims(tmp_path, seed_corpus):
    """Any sentence-transformers model: here the packaged MiniLM with one weight changed, saved as a model of
    its own, for which no stance model was trained. Claims come out with a warning; stances from the judge."""
    import warnings

    from sentence_transformers import SentenceTransformer

    from claimcluster import Embedder, cluster_documents
    from claimcluster.embed import packaged_model_path

    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    with __import__("torch").no_grad():
        model[0].auto_model.pooler.dense.bias.add_(0.001)  # unused by mean pooling: same vectors, new weights
    model.save(str(tmp_path / "other"))
    embedder = Embedder(str(tmp_path / "other"), backend="torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        claims = cluster_documents(seed_corpus, embedder=embedder)
    assert any("no stance model was trained" in w for w in claims.warnings)
    assert claims.parameters["judge"] is not None and claims.claims
    stances = {m.stance for c in claims.claims for m in c.members}
    assert stances <= {"repeats", "reports", "denies"} and "repeats" in stances


def test_verbatim_copies_repeat_the_representative():
    from claimcluster.judge import judged_stance

    text = "The ministry called the story a hoax."
    assert judged_stance(text, text, 0.99, 0.0, False, "reports") == ("repeats", 0.99)
    assert judged_stance("Reports say the ministry lied.", text, 0.8, 0.1, False, "reports")[0] == "reports"
    assert judged_stance("The ministry never said that.", text, 0.1, 0.9, True, "repeats")[0] == "denies"
    assert judged_stance("It reportedly was a hoax.", text, 0.8, 0.1, False, None)[0] == "reports"


@pytest.mark.parametrize("judge", [None, "auto"])
def test_verbatim_copies_of_the_representative_repeat_it(embedder, judge):
    sentence = "Russian troops were allegedly killed in Syria, unconfirmed reports claimed on Tuesday."
    others = ["The weather was fine.", "Markets fell sharply in Asia.", "A new phone was released today.",
              "The match ended in a draw."]
    docs = [Document(f"d{i}", f"{sentence} {other}", outlet=f"o{i}") for i, other in enumerate(others)]
    claims = cluster_documents(docs, embedder=embedder, min_cluster_size=2, judge=judge).claims
    copies = [m for c in claims for m in c.members if m.text == sentence]
    assert len(copies) == 4 and {m.stance for m in copies} == {"repeats"}
