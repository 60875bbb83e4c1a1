"""Every symptom of the hostile probe, through the public API: a clear error or handled, nothing half-done,
nothing saved that can lie. Each test failed before the boundary checks, the all-or-nothing writes and the
checked manifests existed."""

from __future__ import annotations

import errno
import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import claimcluster._persist as persist
import claimcluster.store._records as records
from claimcluster import (
    ClaimIndex,
    ClaimStore,
    Document,
    DocumentError,
    InputError,
    StorageError,
    cluster_documents,
    from_dataframe,
    load_documents,
)
from claimcluster.cli import main

CLAIMS = ["The moon landing was staged in a studio.", "Vaccines cause autism in children.",
          "The earth is flat and NASA hides it."]


@pytest.fixture(scope="module")
def index(embedder):
    return ClaimIndex(embedder).add(CLAIMS)


@pytest.fixture(scope="module")
def store(embedder, seed_corpus, tmp_path_factory):
    return ClaimStore.create(tmp_path_factory.mktemp("store") / "s", list(seed_corpus.documents)[:2],
                             embedder=embedder, min_cluster_size=2)


# -- A. one validation layer at the public boundary --------------------------------------------------------
@pytest.mark.parametrize("query", ["?!...", "😀😀", "— …", "\u00bfqu\u00e9?"])
def test_queries_without_words_are_answered_by_the_dense_side(index, store, query):
    (matches,) = index.search(query)
    assert len(matches) == len(CLAIMS) and all(m.lexical == 0.0 for m in matches)
    assert store.match(query, min_score=None)[0]  # the store's matcher too


@pytest.mark.parametrize("query", ["\u200b", "\u200b\u200d\ufeff", " \u00a0\t", "\x00\x01"])
def test_invisible_queries_are_refused_by_name(index, store, query):
    with pytest.raises(InputError, match="position 0 is empty or has only white space or invisible"):
        index.search(query)
    with pytest.raises(InputError, match="position 0"):
        store.match(query)


def test_a_bad_query_in_a_batch_names_its_position(index):
    with pytest.raises(InputError, match="query at position 2"):
        index.search(["moon landing", "vaccines", "\u200b"])


def test_lone_surrogates_are_replaced_not_fatal(embedder, index):
    vectors = embedder.encode(["The moon \ud800 landing was staged.", "The moon \ufffd landing was staged."])
    assert np.allclose(vectors[0], vectors[1])
    assert index.search("moon \udfff landing staged")[0][0].text == CLAIMS[0]
    doc = Document("d\ud800", "A lone \ud800 surrogate sits in this sentence here. And a second sentence follows it.")
    assert doc.text == "A lone \ufffd surrogate sits in this sentence here. And a second sentence follows it."
    result = cluster_documents([doc], embedder=embedder)
    assert len(result.claims) + len(result.unclustered) >= 1
    json.dumps(result.to_dict()).encode("utf-8")  # everything it returns can be written as UTF-8


@pytest.mark.parametrize("k", [2.5, "3", True, None, 0, -1, np.float64(2.0)])
def test_k_must_be_a_positive_integer(index, store, k):
    with pytest.raises(InputError, match="k"):
        index.search("moon", k=k)
    with pytest.raises(InputError, match="k"):
        store.match("moon", k=k)


def test_numpy_integer_k_is_an_integer(index, store):
    assert len(index.search("moon", k=np.int64(2))[0]) == 2
    assert len(store.match("moon", k=np.int32(1), min_score=None)[0]) == 1


@pytest.mark.parametrize("min_score", [math.nan, math.inf, True, "0.3", "AUTO"])
def test_min_score_must_be_a_finite_number_auto_or_none(index, store, min_score):
    with pytest.raises(InputError, match="min_score"):
        index.search("moon", min_score=min_score)
    with pytest.raises(InputError, match="min_score"):
        store.match("moon", min_score=min_score)


def test_numpy_float_min_score_is_a_number(index):
    assert index.search("moon landing staged", min_score=np.float32(0.05))[0]
    assert index.search("moon landing staged", min_score=np.float32(0.99))[0] == []


@pytest.mark.parametrize("bad, message", [(np.full((1, 384), 0.5, np.float32), "norm"),
                                          (np.full((1, 384), np.nan, np.float32), "NaN"),
                                          (np.ones((1, 3), np.float32) / np.sqrt(3), "dimension")])
def test_added_vectors_must_be_unit_rows_of_the_index_dimension(index, bad, message):
    before = len(index)
    with pytest.raises(InputError, match=message):
        index.add(["x y z"], ids=["new"], vectors=bad)
    assert len(index) == before


@pytest.mark.parametrize("call", [lambda e: cluster_documents(None, embedder=e),
                                  lambda e: cluster_documents("some text", embedder=e),
                                  lambda e: cluster_documents([{"text": "a dict"}], embedder=e),
                                  lambda e: Document("a", None),
                                  lambda e: Document(None, "text"),
                                  lambda e: Document("a", "text", outlet=3)])
def test_documents_are_checked_where_they_enter(embedder, call):
    with pytest.raises(DocumentError):
        call(embedder)


def test_an_integer_id_column_with_a_gap_keeps_integer_ids():
    frame = pd.DataFrame({"id": [1, None, 3], "text": ["one two three.", "four five six.", "seven eight nine."]})
    assert [d.doc_id for d in from_dataframe(frame).documents] == ["1", "dataframe:2", "3"]


def test_metadata_that_cannot_be_saved_is_refused_at_add(embedder):
    index = ClaimIndex(embedder)
    with pytest.raises(InputError, match="metadata at position 1 cannot be saved as JSON"):
        index.add(["a claim here", "another claim"], metadata=[{"ok": 1}, {"when": pd.Timestamp("2024-01-01")}])
    with pytest.raises(InputError, match="metadata at position 0 cannot be saved"):
        index.add(["a claim here"], metadata=[{"x": math.nan}])
    assert len(index) == 0


# -- B. nothing half-done ----------------------------------------------------------------------------------
def test_csv_keeps_newlines_inside_quoted_fields(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,text\n1,"about\na draft"\n2,"line\r\nbreak"\n', encoding="utf-8", newline="")
    assert [d.text for d in load_documents([path]).documents] == ["about\na draft", "line\r\nbreak"]


def test_jsonl_keeps_line_separators_inside_strings(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "one\u2028two\x0cthree\x85four"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert [d.text for d in load_documents([path]).documents] == ["one\u2028two\x0cthree\x85four"]


def test_remove_of_one_string_is_one_id(embedder):
    index = ClaimIndex(embedder).add(["alpha beta", "gamma delta", "epsilon zeta"], ids=["1", "0", "10"])
    assert index.remove("10") == 1
    assert sorted(m.id for m in index.search("alpha", k=5)[0]) == ["0", "1"]
    with pytest.raises(InputError, match="unknown"):
        index.remove(["1", "nope"])
    assert len(index) == 2  # nothing removed by a refused call


def test_a_failed_add_leaves_the_index_as_it_was(embedder, tmp_path):
    index = ClaimIndex(embedder, factory="IVF4,Flat")
    with pytest.raises(InputError, match="cannot be built from 3 vectors"):
        index.add(CLAIMS)
    assert len(index) == 0 and index.search("moon") == [[]]
    index.add(CLAIMS + [f"claim number {i} about topic {i}" for i in range(200)])
    assert index.search("moon landing staged")[0][0].text == CLAIMS[0]
    index.save(tmp_path / "ivf")
    assert len(ClaimIndex.load(tmp_path / "ivf", embedder)) == 203


def test_a_full_disk_during_update_leaves_memory_and_disk_as_they_were(embedder, seed_corpus, tmp_path,
                                                                          monkeypatch):
    docs = list(seed_corpus.documents)
    store = ClaimStore.create(tmp_path / "s", docs[:3], embedder=embedder, min_cluster_size=2)
    before = fingerprint(store)
    real = records.atomic_write_bytes

    def full(path, data):
        if str(path).endswith(".npy"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(records, "atomic_write_bytes", full)
    with pytest.raises(StorageError, match="No space"):
        store.update(docs[3:])
    assert fingerprint(store) == before
    assert fingerprint(ClaimStore.open(tmp_path / "s", embedder=embedder)) == before
    monkeypatch.setattr(records, "atomic_write_bytes", real)
    report = store.update(docs[3:])  # the retry is accepted: nothing of the failed batch stayed behind
    assert report.documents == len(docs) - 3
    assert fingerprint(ClaimStore.open(tmp_path / "s", embedder=embedder)) == fingerprint(store)


def test_temporaries_of_killed_writes_are_removed_by_the_next_write(embedder, seed_corpus, tmp_path):
    from claimcluster._files import journal_add

    docs = list(seed_corpus.documents)
    store = ClaimStore.create(tmp_path / "s", docs[:3], embedder=embedder, min_cluster_size=2)
    # what a write killed after naming its files in the journal left: a segment, its temporary, a database
    journal_add(tmp_path / "s", ["segment.7.npy", ".store.sqlite.new", ".store.sqlite.new-journal"])
    for name in (".segment.7.npy.ab12cd.tmp", "segment.7.npy", ".store.sqlite.new", ".store.sqlite.new-journal"):
        (tmp_path / "s" / name).write_bytes(b"partial")
    # files that only look like ours: the user's
    for name in ("notes.tmp", ".segment.2.npy.ab12cd.tmp", "segment.9.npy", ".store.sqlite.new-mybackup"):
        (tmp_path / "s" / name).write_text("the user's own file")
    store.update(docs[3:])
    left = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert not {".segment.7.npy.ab12cd.tmp", "segment.7.npy", ".store.sqlite.new", ".store.sqlite.new-journal"} & set(
        left)
    assert {"notes.tmp", ".segment.2.npy.ab12cd.tmp", "segment.9.npy", ".store.sqlite.new-mybackup"} <= set(left)


# -- C. saved things that cannot lie -----------------------------------------------------------------------
@pytest.fixture
def saved(index, tmp_path):
    index.save(tmp_path / "idx")
    return tmp_path / "idx"


def edit_manifest(directory, change, *, keep_checksum=True):
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2))


def test_an_edited_manifest_is_refused(saved, embedder):
    edit_manifest(saved, lambda m: m["settings"]["fusion"].update(lexical_weight=0.0))
    with pytest.raises(StorageError, match="does not match its own checksum"):
        ClaimIndex.load(saved, embedder)


@pytest.mark.parametrize("path", ["../outside.npy", "/etc/passwd", "sub/vectors.1.npy", "vectors.1.npy/../../x"])
def test_manifest_paths_outside_the_directory_are_refused(saved, embedder, path):
    def point(manifest):
        manifest["files"]["vectors"]["path"] = path
        manifest.update(persist.signed(manifest))  # even with a valid checksum
    edit_manifest(saved, point)
    with pytest.raises(StorageError, match="not a file of this directory"):
        ClaimIndex.load(saved, embedder)


def test_every_byte_flip_of_the_manifest_is_a_storage_error(saved, embedder):
    raw = (saved / "manifest.json").read_bytes()
    rng = np.random.default_rng(0)
    for position in rng.choice(len(raw), size=40, replace=False):
        flipped = bytearray(raw)
        flipped[position] ^= 1 << int(rng.integers(8))
        (saved / "manifest.json").write_bytes(bytes(flipped))
        try:
            ClaimIndex.load(saved, embedder)
        except StorageError:
            continue
        # A flip that leaves the JSON meaning unchanged (e.g. inside white space) may load; it must load right.
        assert json.loads(bytes(flipped)) == json.loads(raw)


@pytest.mark.parametrize("record", [b'{"text": "no id"}\n', b'["a list"]\n', b'{"id": 3, "text": "x"}\n',
                                    b'{"id": "a", "text": "x"\n'])
def test_records_edited_with_a_matching_checksum_are_storage_errors(saved, embedder, record):
    manifest = json.loads((saved / "manifest.json").read_text())
    entry = manifest["files"]["records"]
    (saved / entry["path"]).write_bytes(record * len(CLAIMS))
    entry["sha256"] = hashlib.sha256(record * len(CLAIMS)).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(persist.signed(manifest)))
    with pytest.raises(StorageError):
        ClaimIndex.load(saved, embedder)


def test_store_records_are_checked_too(store, embedder, tmp_path):
    import shutil
    import sqlite3

    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    with sqlite3.connect(copy / "store.sqlite") as conn:  # foreign keys are off in a plain connection
        conn.execute("UPDATE claims SET representative = 1000000 WHERE id = 0")
    with pytest.raises(StorageError, match="point at records the store does not have"):
        ClaimStore.open(copy, embedder=embedder).verify()


def test_assertion_claim_ids_do_not_depend_on_document_order(embedder, seed_corpus):
    docs = list(seed_corpus.documents)
    forward = cluster_documents(docs, embedder=embedder, granularity="assertion", min_cluster_size=2)
    backward = cluster_documents(docs[::-1], embedder=embedder, granularity="assertion", min_cluster_size=2)
    assert claim_table(forward) == claim_table(backward)


# -- the CLI: one line, exit 2 -----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["match", "INDEX", "?!"], ["match", "INDEX", "moon", "-k", "2.5"],
                                  ["match", "INDEX", "\u200b"], ["match", "MISSING", "moon"],
                                  ["cluster", "MISSING.jsonl"]])
def test_cli_errors_are_one_line_and_exit_2(saved, args, tmp_path):
    args = [str(saved) if a == "INDEX" else str(tmp_path / a) if a.startswith("MISSING") else a for a in args]
    result = CliRunner().invoke(main, ["--quiet", *args])
    if args[2:3] == ["?!"]:
        assert result.exit_code == 0, result.output  # a query without words is a query
        return
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert "Traceback" not in result.output


def fingerprint(store: ClaimStore) -> tuple:
    claims = tuple((c.id, c.representative.text, tuple(sorted((m.doc_id, m.start) for m in c.members)))
                   for c in store.claims())
    return store.n_documents, len(store.unclustered()), claims, len(store.merge_suggestions)


def claim_table(result) -> list:
    return sorted((c.id, c.representative.doc_id, c.representative.start, tuple(sorted((m.doc_id, m.start)
                                                                                      for m in c.members)))
                  for c in result.claims)


# -- a second, independent probe ---------------------------------------------------------------------------
def deep(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("call", [
    lambda e, i: i.search("moon", min_score=10**400),
    lambda e, i: ClaimIndex(e).add(["a claim"], metadata=[{"note": "\ud800"}]),
    lambda e, i: ClaimIndex(e).add(["a claim"], metadata=[deep(5000)]),
    lambda e, i: ClaimIndex(e).add(["a claim"], metadata=[{1: "integer key"}]),
    lambda e, i: ClaimIndex(e).add(["a claim", "another"], vectors=1.0),
    lambda e, i: ClaimIndex(e).add(["a claim", "another"], extra_texts="ab"),
    lambda e, i: ClaimIndex(e).add({"a claim": 1}),
    lambda e, i: ClaimIndex(e).add(["a claim"], ids=[b"c"]),
    lambda e, i: ClaimIndex(e).add(["a claim"], ids=[pd.NA]),
    lambda e, i: ClaimIndex(e, factory=5),
    lambda e, i: ClaimIndex(e, nprobe="x"),
    lambda e, i: ClaimIndex(e, fusion={"lexical_weight": 0.5}),
    lambda e, i: ClaimIndex.load(None, e),
    lambda e, i: cluster_documents([Document("a", "One two three four five.")], embedder=e, min_words="4"),
    lambda e, i: cluster_documents([Document("a", "One two three four five.")], embedder=e, rules=["x"]),
    lambda e, i: load_documents(None),
    lambda e, i: load_documents(["seeds"], errors="bogus"),
    lambda e, i: from_dataframe(None),
])
def test_second_probe_gets_clear_errors(embedder, index, call):
    with pytest.raises(InputError):
        call(embedder, index)


def test_second_probe_handled_cases(embedder, index, seed_corpus, tmp_path):
    extra = ClaimIndex(embedder).add(["a claim here", "another claim"], extra_texts=(x for x in ["t1", None]))
    assert len(extra) == 2
    result = cluster_documents(list(seed_corpus.documents), embedder=embedder, min_cluster_size=np.int64(2),
                               min_cohesion=np.float32(0.5))
    json.loads(result.to_json())
    frame = pd.DataFrame({"id": [1e20, None], "text": ["one two three four.", "five six seven eight."]})
    assert len(from_dataframe(frame).documents) == 2
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "1", "text": "fine text here."}\n', encoding="utf-8")
    assert len(load_documents(str(path)).documents) == 1  # one path, not its characters
    (tmp_path / "big.csv").write_text('id,text\n1,"' + "word " * 40000 + '"\n', encoding="utf-8")
    assert len(load_documents([tmp_path / "big.csv"]).documents[0].text) == 200000
    with pytest.raises(StorageError):
        index.save(tmp_path / "a.jsonl")  # a file, not a directory
    with pytest.raises(InputError, match="integer min_cluster_size"):
        ClaimStore.create(tmp_path / "s", list(seed_corpus.documents), embedder=embedder, min_cluster_size="auto")
    with pytest.raises(InputError, match="min_cluster_size"):
        ClaimStore.create(tmp_path / "s", list(seed_corpus.documents), embedder=embedder, min_cluster_size=2.5)
    assert not (tmp_path / "s" / "manifest.json").exists()


@pytest.mark.parametrize("damage", ["no checksum", "symlinked manifest", "nan vectors", "blank id", "version 0"])
def test_second_probe_damaged_index(saved, embedder, tmp_path, damage):
    manifest = json.loads((saved / "manifest.json").read_text())
    if damage == "no checksum":
        manifest.pop("manifest_sha256")
    elif damage == "version 0":
        manifest = persist.signed({**manifest, "format_version": 0})
    elif damage == "symlinked manifest":
        outside = tmp_path / "outside.json"
        outside.write_text(json.dumps(manifest))
        (saved / "manifest.json").unlink()
        (saved / "manifest.json").symlink_to(outside)
    elif damage in ("nan vectors", "blank id"):
        name = "vectors" if damage == "nan vectors" else "records"
        entry = manifest["files"][name]
        if name == "vectors":
            buffer = __import__("io").BytesIO()
            np.save(buffer, np.full((len(CLAIMS), 384), np.nan, np.float32))
            data = buffer.getvalue()
        else:
            data = "".join(json.dumps({"id": "\u200b" if i == 0 else str(i), "text": t}) + "\n"
                           for i, t in enumerate(CLAIMS)).encode()
        (saved / entry["path"]).write_bytes(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        manifest = persist.signed(manifest)
    if damage != "symlinked manifest":
        (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StorageError):
        ClaimIndex.load(saved, embedder)


def test_cli_usage_errors_of_the_program_are_one_line():
    result = CliRunner().invoke(main, ["--bogus"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and result.output.startswith("error: ")


def test_missing_values_are_told_apart_from_values():
    from claimcluster import from_records

    records = [{"id": "1", "text": "one two three four.", "tags": np.array([1, 2]), "when": pd.NaT, "n": 0}]
    (document,) = from_records(records).documents
    assert set(document.metadata) == {"tags", "n"}  # an array cell is a value; NaT is not
