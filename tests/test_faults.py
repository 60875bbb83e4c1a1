"""Fault injection: every write of a store update fails in turn (a full disk): the segment file, the fsyncs
and the rename inside it, the database growing past a full disk (SQLite's own SQLITE_FULL), and a failure
inside the update's transaction; each time the store on disk and what it shows are exactly as before, no
file of the failed update is left, and retrying the same batch gives what a clean update gives."""

from __future__ import annotations

import errno
import os
import shutil

import pytest

import claimcluster._files as files
import claimcluster.store._records as records
from claimcluster import ClaimStore, StorageError

SETTINGS = {"min_cluster_size": 2}


def fingerprint(store: ClaimStore) -> tuple:
    claims = tuple((c.id, c.representative.text, tuple(sorted((m.doc_id, m.start, m.stance) for m in c.members)))
                   for c in store.claims())
    return store.n_documents, tuple((m.doc_id, m.start) for m in store.unclustered()), claims, \
        tuple(map(str, store.merge_suggestions))


def listing(path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name not in ("lock", "store.sqlite-wal", "store.sqlite-shm"))


@pytest.fixture(scope="module")
def base(seed_corpus, embedder, tmp_path_factory):
    """A store of three seed articles, and what a clean update with the other two gives."""
    docs = list(seed_corpus.documents)
    root = tmp_path_factory.mktemp("faults")
    ClaimStore.create(root / "base", docs[:3], embedder=embedder, **SETTINGS)
    shutil.copytree(root / "base", root / "clean")
    clean = ClaimStore.open(root / "clean", embedder=embedder)
    clean.update(docs[3:])
    return root, docs, fingerprint(clean)


class Counter:
    """Wraps a function; the ``fail_at``-th call (0-based) raises ENOSPC instead."""

    def __init__(self, real, fail_at: int | None = None):
        self.real, self.fail_at, self.calls = real, fail_at, 0

    def __call__(self, *args, **kwargs):
        call, self.calls = self.calls, self.calls + 1
        if call == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(*args, **kwargs)


def count_calls(monkeypatch, base, embedder, target, name) -> int:
    root, docs, _ = base
    shutil.copytree(root / "base", root / "count", dirs_exist_ok=True)
    counter = Counter(getattr(target, name))
    monkeypatch.setattr(target, name, counter)
    ClaimStore.open(root / "count", embedder=embedder).update(docs[3:])
    monkeypatch.undo()
    shutil.rmtree(root / "count")
    return counter.calls


@pytest.mark.slow
@pytest.mark.parametrize("target, name", [(records, "atomic_write_bytes"), (records, "_insert"),
                                          (files.os, "fsync"), (files.os, "replace")])
def test_every_write_of_an_update_failing_in_turn_loses_nothing(base, embedder, monkeypatch, target, name, tmp_path):
    root, docs, clean = base
    n = count_calls(monkeypatch, base, embedder, target, name)
    assert n >= 1
    for fail_at in range(n):
        path = tmp_path / f"{name}-{fail_at}"
        shutil.copytree(root / "base", path)
        store = ClaimStore.open(path, embedder=embedder)
        before, files_before = fingerprint(store), listing(path)
        monkeypatch.setattr(target, name, Counter(getattr(target, name), fail_at))
        try:
            store.update(docs[3:])
        except StorageError as exc:  # the library's error, the disk's underneath
            assert "No space left" in str(exc) and exc.__cause__.errno == errno.ENOSPC
            failed = True
        else:
            failed = False  # a failure after the switch (a later fsync): the update is in, and says so
        monkeypatch.undo()
        if failed:
            assert fingerprint(store) == before, f"memory changed when write {fail_at} of {name} failed"
            assert fingerprint(ClaimStore.open(path, embedder=embedder)) == before
            assert listing(path) == files_before, "files of the failed update were left behind"
            store.update(docs[3:])  # the same batch again: accepted, as if nothing had happened
        assert fingerprint(store) == clean
        assert fingerprint(ClaimStore.open(path, embedder=embedder)) == clean
        assert not [n for n in os.listdir(path) if n.endswith(".tmp")]


def test_a_database_that_cannot_grow_fails_the_update_cleanly(base, embedder, tmp_path):
    """SQLite's own full disk: the database may not grow by one page (max_page_count), so the update's
    transaction fails inside SQLite and is rolled back."""
    root, docs, clean = base
    path = tmp_path / "full"
    shutil.copytree(root / "base", path)
    store = ClaimStore.open(path, embedder=embedder)
    before, files_before = fingerprint(store), listing(path)
    (pages,) = store._records.query("PRAGMA page_count")[0]
    store._records.query(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError, match="full"):
        store.update(docs[3:])
    assert fingerprint(store) == before
    assert listing(path) == files_before, "the failed update's segment was left behind"
    store._records.query(f"PRAGMA max_page_count = {2**30}")
    store.update(docs[3:])
    assert fingerprint(store) == clean
    assert fingerprint(ClaimStore.open(path, embedder=embedder)) == clean
