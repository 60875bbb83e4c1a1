"""Never destroy a user's files: the library removes only files it can prove it wrote (named in its own
records or journal) and refuses to write into a directory that holds anything else; readers keep working while
a writer moves a directory on. Each case is a symptom of the reliability probe (issue 30)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

import claimcluster.store as store_module
from claimcluster import ClaimIndex, ClaimStore, StorageError
from claimcluster.cli import main
from claimcluster.store import _records

from .conftest import SEEDS

# Names that look like a store's or an index's own files, and the user's input beside them.
LOOKALIKES = {
    "documents.1.jsonl": '{"id": "u1", "text": "The user\'s own article."}\n',
    "claims.7.jsonl": "{}\n",
    "segment.9.npy": "not ours",
    "segment.2.npy": "not ours either",
    ".store.sqlite.new-mybackup": "a backup",
    "part.0.jsonl": "{}\n",
    "results.2024.jsonl": "{}\n",
    "index.3.faiss": "theirs",
    "vectors.2.npy": "theirs",
}


def _plant(directory, names=LOOKALIKES):
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in names.items():
        (directory / name).write_text(text)


def _intact(directory, names=LOOKALIKES):
    return {name: (directory / name).read_text() if (directory / name).exists() else None for name in names} == names


@pytest.fixture(scope="module")
def docs(seed_corpus):
    return list(seed_corpus.documents)


def test_a_store_is_not_created_over_other_files(docs, embedder, tmp_path):
    _plant(tmp_path / "d2")
    with pytest.raises(StorageError, match="holds files that are not a store's"):
        ClaimStore.create(tmp_path / "d2", docs[:2], embedder=embedder, min_cluster_size=2)
    assert _intact(tmp_path / "d2") and not (tmp_path / "d2" / _records.DB_FILE).exists()
    # the CLI, with its input inside the directory
    result = CliRunner().invoke(main, ["store", "create", str(tmp_path / "d2"),
                                       str(tmp_path / "d2" / "documents.1.jsonl")])
    assert result.exit_code == 2 and "holds files that are not a store's" in result.output
    assert _intact(tmp_path / "d2")


def test_updates_and_compaction_leave_the_users_files_alone(docs, embedder, tmp_path, monkeypatch):
    path = tmp_path / "claims"
    store = ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2)
    _plant(path)
    monkeypatch.setattr(store_module, "COMPACT_AFTER", 1)  # compaction after the update, and again by hand
    report = store.update(docs[2:4])
    assert report.compacted
    store.update(docs[4:])
    store.compact()
    assert _intact(path)
    assert len(ClaimStore.open(path, embedder=embedder).claim_set().claims) == len(store.claims())
    store.close()


def test_leftovers_of_a_killed_write_are_removed_by_name_only(docs, embedder, tmp_path, monkeypatch):
    path = tmp_path / "claims"
    store = ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2)
    _plant(path)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process stops after the segment is written, before the commit

    real = _records._insert
    monkeypatch.setattr(_records, "_insert", killed)
    with pytest.raises(KeyboardInterrupt):
        store.update(docs[2:3])
    monkeypatch.setattr(_records, "_insert", real)
    store.update(docs[2:3])  # cleans up what the killed write left, then writes
    journaled = json.loads((path / ".claimcluster-journal.json").read_text())["files"] if (
        path / ".claimcluster-journal.json").exists() else []
    listed = {s[1] for s in store._records.segments()}
    assert _intact(path) and not set(journaled) - listed
    assert {p.name for p in path.glob("segment.*.npy")} == listed | {"segment.9.npy", "segment.2.npy"}
    store.close()


def test_an_index_is_not_saved_over_other_files(embedder, tmp_path):
    index = ClaimIndex(embedder).add(["Russia denied the report.", "The ministry called it a hoax."])
    _plant(tmp_path / "out")
    with pytest.raises(StorageError, match="holds files that are not a claim-index's"):
        index.save(tmp_path / "out")
    assert _intact(tmp_path / "out") and not (tmp_path / "out" / "manifest.json").exists()
    # the CLI with its own input in --out
    data = tmp_path / "in"
    data.mkdir()
    (data / "part.0.jsonl").write_text('{"id": "c1", "text": "Russia denied the report."}\n')
    result = CliRunner().invoke(main, ["index", "build", str(data / "part.0.jsonl"), "--id-field", "id",
                                       "--text-field", "text", "--out", str(data)])
    assert result.exit_code == 2 and "holds files that are not" in result.output
    assert (data / "part.0.jsonl").read_text() == '{"id": "c1", "text": "Russia denied the report."}\n'


def test_an_index_saved_again_leaves_files_it_did_not_write(embedder, tmp_path):
    index = ClaimIndex(embedder).add(["Russia denied the report.", "The ministry called it a hoax."])
    index.save(tmp_path / "idx")
    _plant(tmp_path / "idx")
    for text in ("A third claim about the ministry.", "A fourth one."):
        index.add([text])
        index.save(tmp_path / "idx")
    assert _intact(tmp_path / "idx") and len(ClaimIndex.load(tmp_path / "idx", embedder)) == 4
    # names of generations 2 and 3 are the user's files (vectors.2.npy, index.3.faiss), so the saves after the
    # first are generations 4 and 5; the ones before the previous are gone, the previous kept for readers
    generations = {p.name.split(".")[1] for p in (tmp_path / "idx").glob("records.*.jsonl")}
    assert generations == {"4", "5"}


def test_an_index_is_not_saved_into_a_store(docs, embedder, tmp_path):
    store = ClaimStore.create(tmp_path / "claims", docs[:2], embedder=embedder, min_cluster_size=2)
    before = sorted(p.name for p in (tmp_path / "claims").iterdir())
    with pytest.raises(StorageError, match="holds files that are not a claim-index's"):
        ClaimIndex(embedder).add(["Russia denied the report."]).save(tmp_path / "claims")
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == before
    assert ClaimStore.open(tmp_path / "claims", embedder=embedder).claims() == store.claims()


def test_cluster_does_not_overwrite_its_input(tmp_path):
    data = tmp_path / "data.jsonl"
    shutil.copy(SEEDS.parent / "tests" / "data" / "tiny.jsonl", data) if (
        SEEDS.parent / "tests" / "data" / "tiny.jsonl").exists() else data.write_text(
        '{"id": "a", "text": "Russia denied the report of deaths in Syria. The ministry called it a hoax."}\n')
    before = data.read_bytes()
    result = CliRunner().invoke(main, ["cluster", str(data), "--format", "json", "--out", str(data)])
    assert result.exit_code == 2 and "would destroy the input" in result.output
    assert data.read_bytes() == before
    # A file in an input directory: an article it reads, or a file of the user's it does not read.
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    (articles / "notes.jsonl").write_text("mine\n")
    for name in (sorted(p.name for p in SEEDS.glob("*.txt"))[0], "notes.jsonl"):
        before = (articles / name).read_bytes()
        result = CliRunner().invoke(main, ["cluster", str(articles), "--format", "json", "--out", str(articles / name)])
        assert result.exit_code == 2 and "is a file in the input directory" in result.output
        assert (articles / name).read_bytes() == before


def test_a_reader_during_compaction_and_resaving_still_reads(docs, embedder, tmp_path, monkeypatch):
    path = tmp_path / "claims"
    writer = ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2)
    writer.update(docs[2:4])
    reader = ClaimStore.open(path, embedder=embedder)
    real = _records._read_segment
    moved = []

    def compact_meanwhile(segment, sha256):  # the reader has listed the segments; a writer compacts, twice
        if not moved:
            moved.append(True)
            writer.compact()
            writer.update(docs[4:])
            writer.compact()
        return real(segment, sha256)

    monkeypatch.setattr(_records, "_read_segment", compact_meanwhile)
    assert reader.match("Russia denied that its soldiers died in Syria", k=1)[0]
    assert moved
    # an index loaded while it is saved again, twice
    index = ClaimIndex(embedder).add(["Russia denied the report.", "The ministry called it a hoax."])
    index.save(tmp_path / "idx")
    import claimcluster._persist as persist

    real_read = persist.read_file
    saved = []

    def save_meanwhile(directory, manifest, name):
        if not saved:
            saved.append(True)
            for text in ("A third claim.", "A fourth claim."):
                index.add([text])
                index.save(tmp_path / "idx")
        return real_read(directory, manifest, name)

    monkeypatch.setattr(persist, "read_file", save_meanwhile)
    assert len(ClaimIndex.load(tmp_path / "idx", embedder)) == 4 and saved


def test_a_failed_automatic_compaction_does_not_fail_the_update(docs, embedder, tmp_path, monkeypatch, caplog):
    path = tmp_path / "claims"
    store = ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2)
    monkeypatch.setattr(store_module, "COMPACT_AFTER", 1)

    def disk_full(*args, **kwargs):
        raise StorageError(f"cannot write {path}: No space left on device")

    monkeypatch.setattr(_records.Records, "compact", disk_full)
    report = store.update(docs[2:4])
    assert not report.compacted and report.documents == 2
    assert {m.doc_id for c in store.claims() for m in c.members} | {m.doc_id for m in store.unclustered()} >= {
        d.doc_id for d in docs[2:4]}
    assert "merging its vector segments failed" in caplog.text
    assert np.isfinite(store.counts()["sentences"])


def test_the_lock_file_does_not_follow_a_link_out_of_the_store(docs, embedder, tmp_path):
    path = tmp_path / "claims"
    store = ClaimStore.create(path, docs[:2], embedder=embedder, min_cluster_size=2)
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's")
    (path / "lock").unlink()
    (path / "lock").symlink_to(outside)
    with pytest.raises(StorageError, match="cannot use"):
        store.update(docs[2:3])
    assert outside.read_text() == "someone else's"


@contextlib.contextmanager
def read_only(directory):
    """``directory`` as a read-only mount shows it: not writable for an ordinary user; for root, whom
    permissions do not stop, a read-only bind mount of it (skipped where root may not mount)."""
    if os.geteuid() != 0:
        paths = [directory, *directory.iterdir()]
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        try:
            yield directory
        finally:
            for p in paths:
                p.chmod(modes[p])
        return
    mount = directory.with_name(directory.name + "-mounted")
    mount.mkdir()
    if subprocess.run(["mount", "--bind", str(directory), str(mount)], capture_output=True).returncode:
        pytest.skip("root without the right to mount here: no read-only directory can be made")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True, capture_output=True)
        assert not os.access(mount, os.W_OK)
        yield mount
    finally:
        gc.collect()  # connections the CLI's stores left open
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode:
            subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_read_only_store_is_shown_checked_and_matched_not_changed(docs, embedder, tmp_path):
    path = tmp_path / "claims"
    store = ClaimStore.create(path, docs[:4], embedder=embedder, min_cluster_size=2)
    store.update(docs[4:])
    claims = {c.id: [m.text for m in c.members] for c in store.claims()}
    store.close()
    files = {p.name: p.read_bytes() for p in path.iterdir()}
    runner = CliRunner()
    with read_only(path) as mounted:
        opened = ClaimStore.open(mounted, embedder=embedder)
        assert {c.id: [m.text for m in c.members] for c in opened.claims()} == claims
        assert opened.match("no Russian personnel were there, the Pentagon said", min_score=None)[0]
        shown = runner.invoke(main, ["store", "show", str(mounted)])
        assert shown.exit_code == 0 and f"{len(claims)} claims from" in shown.output
        one = runner.invoke(main, ["store", "show", str(mounted), "--claim", str(min(claims))])
        assert one.exit_code == 0 and "first seen" in one.output
        assert "ok (" in runner.invoke(main, ["store", "check", str(mounted)]).output
        for refused, verb in ((["update", str(mounted), str(SEEDS)], "updated"), (["compact", str(mounted)],
                                                                                   "compacted")):
            result = runner.invoke(main, ["store", *refused])
            assert result.exit_code == 2 and f"is read-only here: it can be shown, checked and matched against, " \
                                             f"not {verb}" in result.output
            assert "backup" not in result.output
        with pytest.raises(StorageError, match="read-only"):
            opened.update(docs[:1])
        opened.close()
    assert {p.name: p.read_bytes() for p in path.iterdir()} == files
