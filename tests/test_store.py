"""ClaimStore with the real model on the seeds: stable ids, order, crash safety, locks, errors, CLI."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from claimcluster import ClaimStore, Document, Embedder, InputError, ModelMismatchError, StorageError, StoreLockedError
from claimcluster._persist import signed
from claimcluster.cli import main
from claimcluster.embed import packaged_model_path
from claimcluster.embed._onnx import INT8_SUFFIX
from claimcluster.pipeline import input_warnings

from .conftest import SEEDS

DATA = SEEDS.parent / "tests" / "data"

SETTINGS = {"min_cluster_size": 2}


def assignments(store: ClaimStore) -> dict[tuple[str, int], int | None]:
    """(doc_id, start) -> claim id (None when unclustered), read through the public API."""
    out: dict[tuple[str, int], int | None] = {(m.doc_id, m.start): None for m in store.unclustered()}
    out.update({(m.doc_id, m.start): c.id for c in store.claims() for m in c.members})
    return out


@pytest.fixture(scope="module")
def docs(seed_corpus):
    return list(seed_corpus.documents)


@pytest.fixture(scope="module")
def four_then_five(docs, embedder, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "claims"
    store = ClaimStore.create(path, docs[:4], embedder=embedder, **SETTINGS)
    before = assignments(store)
    known = {c.id for c in store.claims()}
    report = store.update(docs[4:])
    return path, store, before, known, report


def test_update_keeps_ids_and_joins_known_claims(four_then_five, docs, embedder):
    path, store, before, known, report = four_then_five
    after = assignments(store)
    # No clustered sentence moved and no id changed; a sentence left unclustered may found a new claim.
    assert all(after[key] == claim for key, claim in before.items() if claim is not None)
    assert all(after[key] is None or after[key] in report.new_claims for key, claim in before.items() if claim is None)
    assert known <= {c.id for c in store.claims()}
    assert report.joined, "the fifth article repeats claims of the first four"
    fifth = docs[4].doc_id
    joined_members = [m for cid in report.joined for m in store.claim(cid).members if m.doc_id == fifth]
    assert len(joined_members) == sum(report.joined.values())
    assert all(cid not in known for cid in report.new_claims)
    reopened = ClaimStore.open(path, embedder=embedder)
    assert assignments(reopened) == after


def test_timeline_and_spread(four_then_five, docs):
    _, store, _, _, report = four_then_five
    claim_id = next(iter(report.joined))
    line = store.timeline(claim_id)
    assert line[0]["when"] == "batch 0" and line[-1]["when"] == "batch 1"
    assert line[-1]["doc_id"] == docs[4].doc_id
    spread = store.spread(claim_id)
    assert spread["first_seen"] == "batch 0" and spread["last_seen"] == "batch 1"
    assert docs[4].doc_id in spread["outlets"]
    claim = store.claim(claim_id)
    assert claim.representative.stance == "repeats"
    assert all(m.stance in {"repeats", "denies", "reports"} for m in claim.members)


def test_claim_set_of_a_store(four_then_five):
    _, store, _, _, _ = four_then_five
    claims = store.claim_set()
    assert claims.n_sentences == store.n_sentences
    assert {c.id for c in claims.claims} == set(store._load_work().claims)


def test_cached_stances_are_what_reading_the_claim_would_compute(four_then_five):
    """Members keep the similarity and stance computed when they joined (earlier updates, other batch mates):
    the same as putting each claim together from its vectors and the judge's reading now, as the pipeline does."""
    from claimcluster.assertion import shipped_stance_scorer
    from claimcluster.claims import assemble_claim
    from claimcluster.documents import Sentence
    from claimcluster.judge import shipped_judge

    _, store, _, _, _ = four_then_five
    work = store._load_work()
    scorer = shipped_stance_scorer(store.embedder.model_id)
    rows_of: dict[int, list[int]] = {}
    for row, claim in store._records.query("SELECT row, claim FROM members ORDER BY row"):
        rows_of.setdefault(claim, []).append(row)
    records = {row: rest for row, *rest in store._records.query(
        'SELECT s.row, s.doc_id, s.position, s.text, s.start, s."end", d.outlet, d.published, s.language '
        'FROM sentences s JOIN documents d USING (doc_id)')}
    for claim in store.claims():
        rows = rows_of[claim.id]
        sentences = [Sentence(d, p, t, work.norms[r], a, b, o, pub, lang) for r in rows
                     for d, p, t, a, b, o, pub, lang in [records[r]]]
        representative = rows.index(work.claims[claim.id]["representative"])
        verdict = shipped_judge().judge([s.norm for s in sentences], [sentences[representative].norm] * len(rows))
        accepted = verdict.accepted_at(shipped_judge().card["member_threshold"])
        judged = (verdict.same, verdict.contradict, verdict.denied & ~accepted)
        fresh = assemble_claim(claim.id, sentences, work.vectors[rows], representative, [1.0] * len(rows), scorer,
                               judged)
        assert fresh.to_dict() == claim.to_dict()


def test_batch_and_one_by_one_agree_on_known_claims(docs, embedder, tmp_path):
    at_once = ClaimStore.create(tmp_path / "a", docs[:2], embedder=embedder, **SETTINGS)
    one_by_one = ClaimStore.create(tmp_path / "b", docs[:2], embedder=embedder, **SETTINGS)
    known = {c.id for c in at_once.claims()}
    assert known == {c.id for c in one_by_one.claims()}
    at_once.update(docs[2:])
    for doc in docs[2:]:
        one_by_one.update([doc])
    a, b = assignments(at_once), assignments(one_by_one)
    assert a.keys() == b.keys()
    # No sentence lands in two different known claims. One by one, a sentence may instead join a claim born
    # in an earlier update of the run (it is the nearest claim then, and does not exist in the batch run).
    assert all(a[key] == b[key] for key in a if a[key] in known and b[key] in known)
    agree = sum(a[key] == b[key] for key in a if a[key] in known or b[key] in known)
    assert agree >= 0.8 * sum(a[key] in known or b[key] in known for key in a)


def test_match_finds_the_claim(four_then_five):
    _, store, _, _, _ = four_then_five
    query = "The Pentagon said it told the Russians in advance and no Russian personnel were there"
    top = store.match(query, k=3)[0]
    claim = store.claim(top[0].claim_id)
    assert top and "no Russian personnel were there" in claim.representative.text + " ".join(
        m.text for m in claim.members)
    assert store.match("Preheat the oven and grease the baking tin.", k=3)[0] == []
    assert top[0].stance is None
    assessed = store.match(query, k=3, assess=True)[0]
    assert [m.claim_id for m in assessed] == [m.claim_id for m in top]
    assert assessed[0].stance == "repeats" and assessed[0].conflicts == ()
    # Against a claim that is itself a denial, affirming it denies it. The claim's members (the Pentagon's
    # and the Russian ministry's "no Russian personnel") are all denials, and which one is its representative
    # is a near tie of their vectors that the last digits decide, so the affirmation is of the
    # representative's own words.
    representative = claim.representative.text
    assert " no Russian " in representative
    denial = store.match(representative.replace(" no Russian ", " Russian "), k=3, assess=True)[0]
    assert denial[0].claim_id == top[0].claim_id, denial
    assert denial[0].stance == "denies" and denial[0].conflicts == ("polarity",)


def test_duplicate_documents_are_refused(four_then_five, docs):
    _, store, _, _, _ = four_then_five
    with pytest.raises(InputError, match="already in the store"):
        store.update(docs[:1])
    with pytest.raises(StorageError, match="already holds a store"):
        ClaimStore.create(store.path, docs[:1], embedder=store.embedder)


def test_damaged_missing_and_foreign(four_then_five, embedder, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(four_then_five[0], path)
    other = Embedder(str(tmp_path / "model"))
    (tmp_path / "model").symlink_to(packaged_model_path(), target_is_directory=True)
    with pytest.raises(ModelMismatchError, match=re.escape(f"was built with model {embedder.model_id},")):
        ClaimStore.open(path, embedder=other)
    segment = sorted(path.glob("segment.*.npy"))[-1]
    segment.write_bytes(segment.read_bytes()[:-10])
    opened = ClaimStore.open(path, embedder=embedder)  # the records are fine: claims can be read...
    assert opened.claims()
    with pytest.raises(StorageError, match="does not match its checksum"):  # ...the vectors cannot be used
        opened.match("Russian personnel")
    with pytest.raises(StorageError, match="does not match its checksum"):
        opened.verify()
    segment.unlink()
    with pytest.raises(StorageError, match="is missing"):
        ClaimStore.open(path, embedder=embedder).update([])
    database = path / "store.sqlite"
    data = bytearray(database.read_bytes())
    data[4096 * 2 + 100: 4096 * 2 + 200] = b"\xff" * 100  # a damaged page
    database.write_bytes(bytes(data))
    (path / "store.sqlite-wal").unlink(missing_ok=True)
    with pytest.raises(StorageError, match="damaged|not a readable"):
        ClaimStore.open(path, embedder=embedder).verify()
    database.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError, match="not a readable store database"):
        ClaimStore.open(path, embedder=embedder)
    with pytest.raises(StorageError, match="has no store.sqlite"):
        ClaimStore.open(tmp_path, embedder=embedder)
    index_dir = tmp_path / "an-index"
    (index_dir).mkdir()
    (index_dir / "manifest.json").write_text(json.dumps({"kind": "claim-index", "files": {}}))
    with pytest.raises(StorageError, match="holds a 'claim-index'"):
        ClaimStore.open(index_dir, embedder=embedder)


def test_edited_records_are_refused(four_then_five, embedder, tmp_path):
    """Records edited behind the store's back (foreign keys off) are found by verify()."""
    import sqlite3

    path = tmp_path / "edited"
    shutil.copytree(four_then_five[0], path)
    with sqlite3.connect(path / "store.sqlite") as conn:
        conn.execute("UPDATE claims SET representative = (SELECT MIN(row) FROM sentences "
                     "WHERE row NOT IN (SELECT row FROM members)) WHERE id = 0")
    with pytest.raises(StorageError, match="representative is not one of its members"):
        ClaimStore.open(path, embedder=embedder).verify()
    with sqlite3.connect(path / "store.sqlite") as conn:
        conn.execute("UPDATE members SET claim = 10000 WHERE row = (SELECT MIN(row) FROM members)")
    with pytest.raises(StorageError, match="point at records the store does not have"):
        ClaimStore.open(path, embedder=embedder).verify()
    with sqlite3.connect(path / "store.sqlite") as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE members SET stance = 'maybe'")  # STRICT tables and CHECKs refuse bad values


def earlier_format_store(path):
    """A copy of the format-2 store in tests/data, written by the previous release with the earlier int8
    export, whose model id ends in ``/onnx-int8`` (full-range int8 weights; that model is gone). Migration is
    about the format and carries vectors over as they are, so the copy is relabelled as the current int8
    model's, whose vectors are within cosine ~0.98 of those."""
    shutil.copytree(DATA / "store-format2", path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["model_id"] = manifest["model_id"].removesuffix("/onnx-int8") + INT8_SUFFIX
    (path / "manifest.json").write_text(json.dumps(signed(manifest), indent=2))
    return path


def test_a_store_of_the_earlier_format_is_refused_then_migrated(embedder, tmp_path):
    """A format-2 store (written by the previous release, tests/data) opens only after migrate(), which keeps
    every claim, member, stance, merge suggestion and timeline as the previous release showed them."""
    shutil.copytree(DATA / "store-format2", tmp_path / "as-written")
    with pytest.raises(ModelMismatchError, match="built with model .*/onnx-int8, not .*/onnx-int8-w7"):
        ClaimStore.migrate(tmp_path / "as-written", embedder=embedder)  # the earlier int8 vectors: another model's
    path = earlier_format_store(tmp_path / "old")
    expected = json.loads((DATA / "store-format2.expected.json").read_text())
    with pytest.raises(StorageError, match="claimcluster store migrate"):
        ClaimStore.open(path, embedder=embedder)
    migrated = ClaimStore.migrate(path, embedder=embedder)
    shown = without_languages(migrated.claim_set().to_dict())
    assert shown["claims"] == expected["claims"]
    assert shown["unclustered"] == expected["unclustered"]
    assert migrated.merge_suggestions == expected["merge_suggestions"]
    # the timeline's date as given (``published``) is new since that release
    assert [{k: v for k, v in entry.items() if k != "published"} for entry in without_languages(migrated.timeline(1))
            ] == expected["timeline_1"]
    assert {m.language for c in migrated.claims() for m in c.members} == {"en"}  # identified in the migration
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith("store.sqlite-")) == [
        "lock", "segment.1.npy", "store.sqlite"]
    assert migrated.verify()["sentences"] == expected["summary"]["n_sentences"]
    assert ClaimStore.migrate(path, embedder=embedder).generation == migrated.generation  # already migrated
    report = migrated.update([Document("new", "Mattis also said he was not aware of any Russian casualties.")])
    assert report.sentences == 1


def test_a_killed_migration_leaves_the_old_store_or_the_new(embedder, tmp_path):
    for delay in (0.0, 0.3, 1.0, 3.0):
        path = earlier_format_store(tmp_path / f"m{delay}")
        proc = subprocess.Popen([sys.executable, "-c", MIGRATOR, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "migrating"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        try:
            store = ClaimStore.open(path, embedder=embedder)
        except StorageError as exc:
            assert "claimcluster store migrate" in str(exc)  # still the old store, intact: migrate again
            store = ClaimStore.migrate(path, embedder=embedder)
        assert len(store.claims()) == 21
        store.update([Document("later", "A sentence of a later day.")])
        assert not [p.name for p in path.iterdir() if p.name.endswith(".tmp") or "json" in p.name]


def without_languages(value):
    """``value`` without the language, gate and date-reading fields, which the previous release did not have."""
    if isinstance(value, dict):
        return {k: without_languages(v) for k, v in value.items()
                if k not in ("language", "languages", "not_checkable", "dated")}
    if isinstance(value, list):
        return [without_languages(v) for v in value]
    return value


MIGRATOR = textwrap.dedent(
    """
    import sys
    from claimcluster import ClaimStore
    print("migrating", flush=True)
    ClaimStore.migrate(sys.argv[1])
    """
)


UPDATER = textwrap.dedent(
    """
    import sys
    from claimcluster import ClaimStore, load_documents
    store = ClaimStore.open(sys.argv[1], lock_timeout=float(sys.argv[3]))
    docs = load_documents([sys.argv[2]])
    print("updating", flush=True)
    store.update(docs)
    print("done", flush=True)
    """
)


def test_sigkill_during_update_leaves_a_working_store(four_then_five, docs, embedder, tmp_path):
    """Kill a real update at several moments; the store always opens, at the old or the new state."""
    template = tmp_path / "template"
    ClaimStore.create(template, docs[:3], embedder=embedder, **SETTINGS)
    old = assignments(ClaimStore.open(template, embedder=embedder))
    outcomes = set()
    for delay in (0.0, 0.05, 0.15, 0.3, 0.6, 1.2):
        path = tmp_path / f"s{delay}"
        shutil.copytree(template, path)
        proc = subprocess.Popen([sys.executable, "-c", UPDATER, str(path), str(SEEDS / docs[3].doc_id) + ".txt", "5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "updating"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        store = ClaimStore.open(path, embedder=embedder)
        state = assignments(store)
        if state == old:
            outcomes.add("before")
        else:
            # Known claims keep their members; earlier unclustered sentences may have formed new claims.
            assert all(state[k] == v for k, v in old.items() if v is not None)
            assert any(k[0] == docs[3].doc_id for k in state)
            outcomes.add("after")
        report = store.update(docs[4:])  # still writable
        assert report.documents == 1
        leftovers = [p.name for p in path.iterdir() if p.name.endswith(".tmp")]
        assert not leftovers, "the next write removes what the killed one left"
        segments = {p.name for p in path.glob("segment.*.npy")}
        assert len(segments) == store.n_segments, "no segment but those the records name"
        assert {p.name for p in path.iterdir()} - segments - {"store.sqlite", "store.sqlite-wal", "store.sqlite-shm",
                                                               "lock"} == set()
        assert store.verify()["sentences"] == store.n_sentences
    assert "before" in outcomes


def test_readers_see_one_generation_while_another_process_writes(four_then_five, docs, embedder, tmp_path):
    """claims(), match() and show while a real update commits in another process: every read sees the old
    store or the new one, never a mix (each read is one SQLite read transaction; segments never change)."""
    path = tmp_path / "busy"
    ClaimStore.create(path, docs[:3], embedder=embedder, **SETTINGS)
    reader = ClaimStore.open(path, embedder=embedder)
    sizes = [len(reader.claims())]
    proc = subprocess.Popen([sys.executable, "-c", UPDATER, str(path), str(SEEDS / docs[3].doc_id) + ".txt", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "updating"
    while proc.poll() is None:
        claims = reader.claims()
        assert all(c.representative in c.members for c in claims)
        sizes.append(len(claims))
        reader.match("Russian personnel", k=1, min_score=None)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    sizes.append(len(reader.claims()))
    assert reader.n_documents == 4 and sizes == sorted(sizes), "known claims never vanish, and no read saw a mix"
    assert reader.match("Russian personnel", k=1, min_score=None)[0]


def test_second_writer_waits_or_fails_clearly(four_then_five, docs, embedder, tmp_path):
    path = tmp_path / "locked"
    ClaimStore.create(path, docs[:2], embedder=embedder, **SETTINGS)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(path / 'lock')!r}, os.O_RDWR)
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(3)
            """)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    store = ClaimStore.open(path, embedder=embedder, lock_timeout=0.3)
    with pytest.raises(StoreLockedError, match="being written by another process"):
        store.update(docs[2:3])
    store.lock_timeout = 30
    assert store.update(docs[2:3]).documents == 1  # waits for the holder, then writes
    holder.wait(timeout=30)
    # Another handle opened before that write sees it and builds on it.
    other = ClaimStore.open(path, embedder=embedder)
    store.update(docs[3:4])
    other.update(docs[4:5])
    final = ClaimStore.open(path, embedder=embedder)
    assert final.n_documents == len(docs)
    assert {m.doc_id for c in final.claims() for m in c.members} | {m.doc_id for m in final.unclustered()} == {
        d.doc_id for d in docs}


def test_cli_store_flow(docs, tmp_path):
    runner = CliRunner()
    target = str(tmp_path / "cli-store")
    first = [str(SEEDS / f"{d.doc_id}.txt") for d in docs[:4]]
    created = runner.invoke(main, ["store", "create", target, *first, "--min-cluster-size", "2"])
    assert created.exit_code == 0, created.output
    updated = runner.invoke(main, ["store", "update", target, str(SEEDS / f"{docs[4].doc_id}.txt")])
    assert updated.exit_code == 0 and "joined" in updated.output
    matched = runner.invoke(main, ["store", "match", target, "no Russian personnel were there, the Pentagon said",
                                   "--json"])
    assert matched.exit_code == 0 and json.loads(matched.output)["matches"][0]["stance"] == "repeats"
    # A recipe repeats no claim: "auto" says so, --min-score none lists the nearest anyway, a bad value is refused.
    recipe = ["store", "match", target, "Preheat the oven and grease the tin.", "--json"]
    assert json.loads(runner.invoke(main, recipe).output)["matches"] == []
    assert len(json.loads(runner.invoke(main, [*recipe, "--min-score", "none", "-k", "2"]).output)["matches"]) == 2
    assert runner.invoke(main, [*recipe, "--min-score", "high"]).exit_code == 2
    shown = runner.invoke(main, ["store", "show", target, "--claim", "1"])
    assert shown.exit_code == 0 and "first seen batch 0" in shown.output
    listing = runner.invoke(main, ["store", "show", target, "--format", "json"])
    assert json.loads(listing.output)["claims"]
    again = runner.invoke(main, ["store", "update", target, str(SEEDS / f"{docs[4].doc_id}.txt")])
    assert again.exit_code == 2 and "already in the store" in again.output
    checked = runner.invoke(main, ["store", "check", target])
    assert checked.exit_code == 0 and "ok (" in checked.output and "2 vector segments" in checked.output
    compacted = runner.invoke(main, ["store", "compact", target])
    assert compacted.exit_code == 0 and "2 vector segments merged into 1" in compacted.output
    assert "1 vector segments" in runner.invoke(main, ["store", "check", target]).output
    old = earlier_format_store(tmp_path / "old")
    refused = runner.invoke(main, ["store", "show", str(old)])
    assert refused.exit_code == 2 and f"claimcluster store migrate {old}" in refused.output
    migrated = runner.invoke(main, ["store", "migrate", str(old)])
    assert migrated.exit_code == 0 and "21 claims, 153 sentences" in migrated.output
    assert runner.invoke(main, ["store", "show", str(old)]).exit_code == 0


def test_assertion_store_keeps_denials_out_of_claims(docs, embedder, tmp_path):
    store = ClaimStore.create(tmp_path / "assert", docs[:4], embedder=embedder, granularity="assertion", **SETTINGS)
    store.update(docs[4:])
    for claim in store.claims():
        rep = claim.representative.text
        for m in claim.members:
            assert m.stance != "denies", (rep, m.text)
    with pytest.raises(InputError, match="granularity must be"):
        ClaimStore.create(tmp_path / "bad", docs[:1], embedder=embedder, granularity="topic")


def test_assertion_store_keeps_swapped_roles_out(embedder, tmp_path):
    from claimcluster import Document

    known = ["Israel accused Hamas of breaking the ceasefire in Gaza on Sunday.",
             "Israel accused Hamas of breaking the Gaza ceasefire, officials said on Sunday.",
             "Officials said Israel accused Hamas of breaking the ceasefire in Gaza on Sunday.",
             "Israel blamed Hamas for violating the ceasefire in Gaza.",
             "Apple will sell 19 million Apple Watches this year, an analyst says.",
             "An analyst says Apple will sell 19 million Apple Watches in 2015."]
    docs = [Document(f"d{i}", text, outlet=f"Outlet {i}") for i, text in enumerate(known)]
    swapped = [Document("new", "Hamas accused Israel of breaking the ceasefire in Gaza on Sunday.", outlet="Outlet 9")]
    joined = {}
    for granularity in ("claim", "assertion"):
        store = ClaimStore.create(tmp_path / granularity, docs, embedder=embedder, granularity=granularity, **SETTINGS)
        assert len(store.claims()) == 2
        joined[granularity] = store.update(swapped).joined
    assert joined["claim"], "close enough to join by similarity alone"
    assert not joined["assertion"]


def test_a_store_records_when_and_with_what_it_was_written(docs, embedder, tmp_path):
    import sqlite3

    import faiss
    import numpy as np

    import claimcluster

    store = ClaimStore.create(tmp_path / "claims", docs[:2], embedder=embedder, **SETTINGS)
    created = store._records.meta()
    assert created["versions"] == {"claimcluster": claimcluster.__version__, "faiss": faiss.__version__,
                                   "numpy": np.__version__, "sqlite": sqlite3.sqlite_version}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["written_at"])
    with sqlite3.connect(tmp_path / "claims" / "store.sqlite") as conn:  # as if written long ago
        conn.execute("""UPDATE meta SET value = '"2001-01-01T00:00:00Z"' WHERE key = 'written_at'""")
    store.update(docs[2:3])
    assert store._records.meta()["written_at"] > "2001-01-01T00:00:00Z"
    store.close()


def test_a_store_refuses_settings_it_could_not_open_again(docs, embedder, tmp_path):
    # min_cluster_size past what a store keeps would make every later command call the store damaged
    with pytest.raises(InputError, match="at most 1000000000"):
        ClaimStore.create(tmp_path / "big", docs[:2], embedder=embedder, min_cluster_size=2_000_000_000)
    assert not (tmp_path / "big").exists()
    with pytest.raises(InputError, match="a store needs an integer min_cluster_size"):
        ClaimStore.create(tmp_path / "auto", docs[:2], embedder=embedder, min_cluster_size="auto")
    result = CliRunner().invoke(main, ["store", "create", str(tmp_path / "cli"), str(SEEDS),
                                       "--min-cluster-size", "2000000000"])
    assert result.exit_code == 2 and "at most 1000000000" in result.output


def test_a_match_is_assessed_on_the_text_the_search_read(four_then_five):
    _, store, _, _, _ = four_then_five
    plain = "The Pentagon said it told the Russians in advance and no Russian personnel were there"
    tweet = f"{plain} https://t.co/abc123 pic.twitter.com/x1"  # the search reads it without the links
    assessed_plain = store.match(plain, k=1, assess=True)[0]
    assessed_tweet = store.match(tweet, k=1, assess=True)[0]
    assert assessed_plain and [m.to_json(assess=True) for m in assessed_tweet] == [
        m.to_json(assess=True) for m in assessed_plain]


def test_dates_are_read_not_compared_as_strings(embedder, tmp_path):
    sentence = "The ministry said that no Russian servicemen were killed in the strike near Deir Ezzor."
    filler = ["Markets fell sharply in Asia on the news.", "The weather in Moscow was unusually warm.",
              "A new phone was released in Seoul today.", "The football match ended in a draw."]

    def doc(i, outlet, published):
        return Document(f"d{i}", f"{sentence} {filler[i % 4]}", outlet=outlet, published=published)

    store = ClaimStore.create(tmp_path / "claims", [doc(0, "Later Daily", "1 March 2024"),
                                                    doc(1, "Earliest Post", "2023-12-01"),
                                                    doc(2, "Zoned Times", "2024-03-01T01:00:00+05:00"),
                                                    # 04:30 UTC on 1 March; read as UTC it would come before it
                                                    doc(5, "Eastern Desk", "Feb 29, 2024 11:30 PM EST")],
                              embedder=embedder, min_cluster_size=2)
    # an undated report of a later batch, and those whose date cannot be read (a moment past the year 9999
    # once in UTC among them), are not the first carriers
    store.update([doc(3, "Undated Wire", None), doc(4, "Broken Clock", "2024-13-45"),
                  doc(6, "Far Future", "9999-12-31T23:00:00-05:00")])
    (claim,) = [c for c in store.claims() if any(m.text == sentence for m in c.members)]
    line = store.timeline(claim.id)
    assert [e["outlet"] for e in line] == ["Earliest Post", "Zoned Times", "Later Daily", "Eastern Desk",
                                           "Undated Wire", "Broken Clock", "Far Future"]
    assert [e["when"] for e in line] == ["2023-12-01", "2024-03-01T01:00:00+05:00", "1 March 2024",
                                         "Feb 29, 2024 11:30 PM EST", "batch 1", "batch 1", "batch 1"]
    spread = store.spread(claim.id)
    assert spread["first_outlet"] == "Earliest Post" and spread["first_seen"] == "2023-12-01"
    assert spread["last_seen"] == "Feb 29, 2024 11:30 PM EST"
    # the reports read the same dates, and a date they cannot read is shown, not fatal
    result = CliRunner().invoke(main, ["store", "show", str(tmp_path / "claims"), "--format", "html"])
    assert result.exit_code == 0 and "2024-13-45" in result.output
    result = CliRunner().invoke(main, ["store", "show", str(tmp_path / "claims"), "--claim", str(claim.id)])
    assert result.exit_code == 0 and "(date '9999-12-31T23:00:00-05:00' not readable)" in result.output
    # the warning counts dates that cannot be read as missing
    (warning,) = input_warnings([doc(4, "Broken Clock", "2024-13-45"), doc(6, "Far Future", "9999-12-31T23:00-05:00"),
                                 doc(0, "Later Daily", "1 March 2024")])
    assert warning.startswith("2 of 3 documents have no publication date that can be read")


def test_a_store_whose_records_name_another_model_is_refused_by_its_vectors(docs, embedder, tmp_path):
    import sqlite3

    from claimcluster import BASE_MODEL

    path = tmp_path / "claims"
    ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2).close()
    plain = Embedder(BASE_MODEL)  # the same dimension, other vectors
    with sqlite3.connect(path / "store.sqlite") as conn:  # records that name the plain model
        conn.execute("UPDATE meta SET value = ? WHERE key = 'model_id'", (json.dumps(plain.model_id),))
    store = ClaimStore.open(path, embedder=plain)
    with pytest.raises(ModelMismatchError, match="stored vectors are not what"):
        store.match("Russia denied that its soldiers died in Syria")
    result = CliRunner().invoke(main, ["store", "check", str(path), "--model", BASE_MODEL])
    assert result.exit_code == 2 and "stored vectors are not what" in result.output
    with sqlite3.connect(path / "store.sqlite") as conn:  # with its true model named again, it reads as before
        conn.execute("UPDATE meta SET value = ? WHERE key = 'model_id'", (json.dumps(embedder.model_id),))
    assert ClaimStore.open(path, embedder=embedder).verify()["sentences"] > 0


def test_a_store_keeps_what_it_left_out(tmp_path):
    runner = CliRunner()
    day1, day2, day3 = (tmp_path / f"day{i}.jsonl" for i in (1, 2, 3))
    day1.write_text(json.dumps({"id": "a", "text": "The minister said on Monday that taxes would rise next year. "
                                                  "Subscribe to our newsletter for more news."}) + "\n"
                    + json.dumps({"id": "b", "text": "  "}) + "\n")
    day2.write_text(json.dumps({"id": "c", "text": "Taxes will rise next year, the minister said on Monday."}) + "\n"
                    + json.dumps({"id": "d", "text": ""}) + "\n")
    day3.write_text(json.dumps({"id": "e", "text": "The minister said taxes would rise."}) + "\n"
                    + json.dumps({"id": "f"}) + "\n")
    target = str(tmp_path / "claims")
    assert runner.invoke(main, ["store", "create", target, str(day1), "--min-cluster-size", "2"]).exit_code == 0
    shown = runner.invoke(main, ["store", "show", target])
    assert "left out: 1 field 'text' is blank, 1 furniture" in shown.output
    assert runner.invoke(main, ["store", "update", target, str(day2)]).exit_code == 0
    listing = json.loads(runner.invoke(main, ["store", "show", target, "--format", "json"]).output)
    assert [(r["where"], r["reason"].split(":")[0]) for r in listing["rejected"]] == [
        (f"{day1}:2", "field 'text' is blank"), ("a@61:103", "furniture"), (f"{day2}:2", "field 'text' is blank")]
    assert listing["rejected"][1]["text"] == "Subscribe to our newsletter for more news."
    assert listing["summary"]["warnings"] == []
    # A store written before it kept them: said so, not "none"; the next update starts keeping them.
    with sqlite3.connect(tmp_path / "claims" / "store.sqlite") as conn:
        conn.execute("DROP TABLE left_out")
        conn.execute("DELETE FROM meta WHERE key = 'left_out_from'")
    conn.close()
    shown = runner.invoke(main, ["store", "show", target])
    assert "left out: none" in shown.output and "first 2 batch(es) left out was not recorded" in shown.output
    assert runner.invoke(main, ["store", "update", target, str(day3)]).exit_code == 0
    listing = json.loads(runner.invoke(main, ["store", "show", target, "--format", "json"]).output)
    assert [r["where"] for r in listing["rejected"]] == [f"{day3}:2"]
    assert "first 2 batch(es)" in listing["summary"]["warnings"][0]
    assert runner.invoke(main, ["store", "check", target]).exit_code == 0
