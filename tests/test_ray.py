"""The Ray engine on a local Ray cluster started here (2 CPUs): the same claims as the local engine on the
seeds and on Emergent, sharded k-NN searches equal to one search, shards read on the workers, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import ray
from click.testing import CliRunner

import claimcluster.cluster._spanning as spanning
from claimcluster import (
    DocumentError,
    FieldMap,
    cluster_documents,
    cluster_vectors,
    from_records,
    load_documents,
    ray_documents,
)
from claimcluster._ray import sharded_search
from claimcluster.cli import main

from .conftest import DATA, SEEDS


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_the_ray_engine_gives_the_local_claims_on_the_seeds(ray_cluster, seed_corpus, embedder):
    local = cluster_documents(seed_corpus, embedder=embedder, min_cluster_size=2)
    remote = cluster_documents(seed_corpus, embedder=embedder, min_cluster_size=2, engine="ray")
    assert remote.to_dict() == local.to_dict()  # claims, members, stances, unclustered, rejections, summary
    assert len(remote.claims) > 10
    assert ray.is_initialized(), "a session the caller started is left running"


def test_the_ray_engine_gives_the_local_claims_on_emergent(ray_cluster, embedder):
    rows = [json.loads(line) for line in (DATA / "emergent" / "emergent_headlines.jsonl").read_text().splitlines()]
    corpus = from_records(rows, FieldMap(text="headline", id="row_id"))
    local = cluster_documents(corpus, embedder=embedder)
    remote = cluster_documents(corpus, embedder=embedder, engine="ray")
    assert remote.to_dict()["claims"] == local.to_dict()["claims"]
    assert len(local.claims) > 100


@pytest.mark.parametrize("path", ["flat", "ivf", "hnsw"])
def test_sharded_knn_searches_give_the_labels_of_one_search(ray_cluster, embedder, seed_corpus, monkeypatch, path):
    """The k-NN path of the clustering (forced), its index exact, IVF or HNSW: searched in shards of 37 rows by
    Ray tasks against the index shared through the object store, the same labels as one search here."""
    from claimcluster.segment import segment_documents

    X = embedder.encode([s.norm for s in segment_documents(seed_corpus.documents).sentences])
    if path != "flat":
        monkeypatch.setattr(spanning, "EXACT_KNN_MAX", 50)
        monkeypatch.setattr(spanning, "IVF_TRAIN_PER_LIST", 4)
    if path == "hnsw":
        monkeypatch.setattr(spanning, "IVF_MAX_ROWS", 100)
    local = cluster_vectors(X, min_cluster_size=2, exact_max_points=0).labels
    remote = cluster_vectors(X, min_cluster_size=2, exact_max_points=0, knn_search=sharded_search(37)).labels
    assert np.array_equal(local, remote) and local.max() > 10


@pytest.fixture
def shards(tmp_path):
    """The seeds as two JSONL shards and a Parquet one, with outlets, plus two records that are not documents."""
    import pandas as pd

    records = [{"id": p.stem, "body": p.read_text(), "site": f"outlet {i % 3}"}
               for i, p in enumerate(sorted(SEEDS.glob("*.txt")))]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:2])
                                      + json.dumps({"body": "A record without an id, which is refused."}) + "\n")
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[2:4])
                                      + json.dumps({"id": "blank", "body": "  "}) + "\n")
    pd.DataFrame(records[4:]).to_parquet(tmp_path / "c.parquet")
    return [tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.parquet"], records


def test_shards_are_read_on_the_workers(ray_cluster, embedder, shards):
    paths, records = shards
    fields = FieldMap(text="body", id="id", outlet="site")
    remote = cluster_documents(ray_documents([str(p) for p in paths], fields), embedder=embedder,
                               min_cluster_size=2, engine="ray")
    local = cluster_documents(from_records(records, fields), embedder=embedder, min_cluster_size=2)
    assert remote.to_dict()["claims"] == local.to_dict()["claims"]
    assert remote.n_documents == 5 and any(len(c.outlets) >= 2 for c in remote.claims)
    assert {m.outlet for c in remote.claims for m in c.members} == {"outlet 0", "outlet 1", "outlet 2"}
    reasons = sorted(r.reason for r in remote.rejected if not r.reason.startswith(("furniture", "too-")))
    assert reasons == ["field 'body' is blank", "no id in field 'id'"]


def test_a_doc_id_in_two_shards_is_refused(ray_cluster, embedder, shards, tmp_path):
    paths, records = shards
    (tmp_path / "again.jsonl").write_text(json.dumps(records[0]) + "\n")
    with pytest.raises(DocumentError, match="duplicate doc_id"):
        cluster_documents(ray_documents([str(paths[0]), str(tmp_path / "again.jsonl")], FieldMap(text="body")),
                          embedder=embedder, engine="ray")


def test_cli_engine_ray(ray_cluster, shards, tmp_path):
    paths, _ = shards
    args = ["--quiet", "cluster", *map(str, paths[:2]), "--text-field", "body", "--outlet-field", "site",
            "--min-cluster-size", "2", "--format", "json"]
    local = CliRunner().invoke(main, args)
    remote = CliRunner().invoke(main, [*args, "--engine", "ray"])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert json.loads(remote.output)["claims"] == json.loads(local.output)["claims"]
    on_driver = CliRunner().invoke(main, ["--quiet", "cluster", str(SEEDS), "--engine", "ray", "--format", "json",
                                          "--min-cluster-size", "2"])
    assert on_driver.exit_code == 0, on_driver.output
    assert json.loads(on_driver.output)["claims"] == cluster_documents(
        load_documents([SEEDS]), min_cluster_size=2).to_dict()["claims"]
