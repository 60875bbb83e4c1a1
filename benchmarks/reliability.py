"""The reliability probe table: hostile inputs, injected faults and killed writers, and what came back.

    python -m benchmarks.reliability [--kills 20] [--json]

Every probe goes through the public API (library or CLI) with the real model, FAISS and files. Groups: A hostile
inputs, B edge cases, C saved things that cannot lie, D files the library must not touch, E dates, F readers
while a writer moves a directory on. A probe
passes when the call either works and keeps everything, or raises a claimcluster error (the CLI: exit 2
and one line on stderr); a raw exception, a traceback, a silent loss or a half-done state fails it.
Faults: each file write of a store update fails in turn with ENOSPC (memory and disk must be as before,
and the retry must give what a clean update gives); killed writers: an update process gets SIGKILL at a
random moment, and the store must open at the old or the new state and accept the next update.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import emit, machine

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
UPDATER = """
import sys
from claimcluster import ClaimStore, load_documents
store = ClaimStore.open(sys.argv[1])
print("updating", flush=True)
store.update(load_documents([sys.argv[2]]))
"""


def outcome(call: Callable[[], object]) -> tuple[str, str, object]:
    """("handled" | "clear error" | "RAW", a short detail, the value returned)."""
    from claimcluster import ClaimClusterError

    try:
        value = call()
    except ClaimClusterError as exc:
        return "clear error", f"{type(exc).__name__}: {' '.join(str(exc).split())[:90]}", None
    except Exception as exc:  # what the probe is looking for
        return "RAW", f"{type(exc).__name__}: {str(exc)[:90]}", None
    return "handled", str(value)[:90], value


def probes(work: Path) -> list[dict]:
    import pandas as pd

    from claimcluster import (
        ClaimIndex,
        ClaimStore,
        Document,
        Embedder,
        cluster_documents,
        from_dataframe,
        load_documents,
    )
    from claimcluster._persist import signed

    embedder = Embedder()
    index = ClaimIndex(embedder).add(["The moon landing was staged.", "Vaccines cause autism.", "The earth is flat."])
    docs = list(load_documents([SEEDS]).documents)
    store = ClaimStore.create(work / "store", docs[:2], embedder=embedder, min_cluster_size=2)
    rows: list[dict] = []

    def probe(group: str, what: str, call: Callable[[], object], expect: str = "any",
              check: Callable[[object], bool] | None = None) -> None:
        kind, detail, value = outcome(call)
        ok = kind != "RAW" and (expect == "any" or kind == expect)
        if ok and check is not None and kind == "handled":
            ok = bool(check(value))
        rows.append({"group": group, "probe": what, "outcome": kind, "detail": detail, "ok": ok})

    for query in ["?!...", "😀😀", "\u200b", "\ud800 moon", " \u00a0 ", "\x00"]:
        probe("A", f"index.search({query!r})", lambda q=query: index.search(q))
        probe("A", f"store.match({query!r})", lambda q=query: store.match(q))
    probe("A", "encode a lone surrogate", lambda: embedder.encode(["a \ud800 b"]).shape, "handled")
    probe("A", "cluster a document with a lone surrogate",
          lambda: len(cluster_documents([Document("a", "The moon \ud800 landing was staged in a studio.")],
                                        embedder=embedder).unclustered), "handled")
    for k in (2.5, "3", 0, -1, True):
        probe("A", f"search k={k!r}", lambda k=k: index.search("moon", k=k), "clear error")
        probe("A", f"store.match k={k!r}", lambda k=k: store.match("moon", k=k), "clear error")
    for score in (math.nan, True, "x"):
        probe("A", f"search min_score={score!r}", lambda s=score: index.search("moon", min_score=s), "clear error")
    probe("A", "search min_score=np.float32(0.3)", lambda: index.search("moon", min_score=np.float32(0.3)),
          "handled")
    probe("A", "add non-unit vectors", lambda: ClaimIndex(embedder).add(["x y"], vectors=np.ones((1, 384))),
          "clear error")
    probe("A", "add NaN vectors", lambda: ClaimIndex(embedder).add(["x y"], vectors=np.full((1, 384), np.nan)),
          "clear error")
    probe("A", "cluster_documents(None)", lambda: cluster_documents(None), "clear error")
    probe("A", "Document(text=None)", lambda: Document("a", None), "clear error")
    frame = pd.DataFrame({"id": [1, None, 3], "text": ["one two three.", "four five six.", "seven eight nine."]})
    probe("A", "DataFrame int ids with a gap", lambda: [d.doc_id for d in from_dataframe(frame).documents],
          "handled", lambda ids: ids == ["1", "dataframe:2", "3"])
    probe("A", "metadata that is not JSON",
          lambda: ClaimIndex(embedder).add(["x y"], metadata=[{"a": object()}]), "clear error")

    csv_path = work / "a.csv"
    csv_path.write_text('id,text\n1,"about\na draft"\n', encoding="utf-8")
    probe("B", "CSV newline inside a quoted field", lambda: [d.text for d in load_documents([csv_path]).documents],
          "handled", lambda texts: texts == ["about\na draft"])
    three = ClaimIndex(embedder).add(["a b c", "d e f", "g h i"], ids=["1", "0", "10"])
    probe("B", 'remove("10") of ids 1, 0, 10', lambda: (three.remove("10"), sorted(three._entries.ids)), "handled",
          lambda result: result == (1, ["0", "1"]))
    ivf = ClaimIndex(embedder, factory="IVF4,Flat")
    probe("B", "IVF add of 3 vectors", lambda: ivf.add(["a b", "c d", "e f"]), "clear error")
    probe("B", "... then search the same index", lambda: (len(ivf), ivf.search("a b")), "handled",
          lambda result: result == (0, [[]]))

    index.save(work / "idx")
    manifest = json.loads((work / "idx" / "manifest.json").read_text())

    def load_with(change: dict | None = None, raw: bytes | None = None, resign: bool = False):
        target = work / "idx-probe"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work / "idx", target)
        edited = json.loads(json.dumps(manifest))
        for key, value in (change or {}).items():
            where = edited
            *path, last = key.split(".")
            for part in path:
                where = where[part]
            where[last] = value
        data = raw if raw is not None else json.dumps(signed(edited) if resign else edited).encode()
        (target / "manifest.json").write_bytes(data)
        return ClaimIndex.load(target, embedder)

    probe("C", "manifest lexical_weight 0.7 -> 0.0", lambda: load_with({"settings.fusion.lexical_weight": 0.0}),
          "clear error")
    probe("C", "manifest path ../outside.npy (re-signed)",
          lambda: load_with({"files.vectors.path": "../outside.npy"}, resign=True), "clear error")
    probe("C", "manifest absolute path (re-signed)",
          lambda: load_with({"files.vectors.path": "/etc/passwd"}, resign=True), "clear error")
    raw = (work / "idx" / "manifest.json").read_bytes()
    flips = 0
    for position in range(0, len(raw), max(1, len(raw) // 60)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x40
        kind, _, _ = outcome(lambda f=bytes(flipped): load_with(raw=f))
        flips += 1
        if kind == "RAW":
            rows.append({"group": "C", "probe": f"manifest byte {position} flipped", "outcome": kind,
                         "detail": "", "ok": False})
    rows.append({"group": "C", "probe": f"manifest byte flips ({flips} positions)", "outcome": "clear error",
                 "detail": "none raw", "ok": True})
    probe("C", "assertion claim ids vs document order",
          lambda: claim_ids(cluster_documents(docs, embedder=embedder, granularity="assertion", min_cluster_size=2))
          == claim_ids(cluster_documents(docs[::-1], embedder=embedder, granularity="assertion",
                                         min_cluster_size=2)), "handled", bool)
    rows += files_it_must_not_touch(work, embedder, docs, index)
    rows += dates(work, embedder)
    rows += readers_while_writing(work, embedder, docs)
    return rows


LOOKALIKES = {"documents.1.jsonl": "{}\n", "claims.7.jsonl": "{}\n", "segment.2.npy": "theirs",
              "segment.9.npy": "theirs", ".store.sqlite.new-mybackup": "theirs", "index.2.faiss": "theirs",
              "records.3.jsonl": "theirs", "part.0.jsonl": "{}\n"}


def _planted(directory: Path) -> Callable[[], bool]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in LOOKALIKES.items():
        (directory / name).write_text(text)
    return lambda: all((directory / n).is_file() and (directory / n).read_text() == t for n, t in LOOKALIKES.items())


def files_it_must_not_touch(work: Path, embedder, docs: list, index) -> list[dict]:
    """D: files the library did not write, beside or under what it writes, are never removed or overwritten."""
    from click.testing import CliRunner

    from claimcluster import ClaimIndex, ClaimStore, Embedder
    from claimcluster.cli import main

    rows = []

    def probe(what: str, call: Callable[[], object], intact: Callable[[], bool], expect: str) -> None:
        kind, detail, _ = outcome(call)
        rows.append({"group": "D", "probe": what, "outcome": kind, "detail": detail,
                     "ok": kind == expect and intact()})

    intact = _planted(work / "d1")
    probe("store create over the user's files", lambda: ClaimStore.create(work / "d1", docs[:2], embedder=embedder,
                                                                          min_cluster_size=2), intact, "clear error")
    store = ClaimStore.create(work / "d2", docs[:2], embedder=embedder, min_cluster_size=2)
    intact = _planted(work / "d2")
    probe("store update + compact beside the user's files",
          lambda: (store.update(docs[2:4]), store.update(docs[4:]), store.compact()), intact, "handled")
    intact = _planted(work / "d3")
    probe("index save over the user's files", lambda: index.save(work / "d3"), intact, "clear error")
    index.save(work / "d4")
    intact = _planted(work / "d4")
    probe("index saved again, twice, beside the user's files",
          lambda: (index.save(work / "d4"), index.save(work / "d4"), len(ClaimIndex.load(work / "d4", embedder))),
          intact, "handled")
    listing = sorted(p.name for p in (work / "d2").iterdir())
    probe("index save into a store", lambda: index.save(work / "d2"),
          lambda: sorted(p.name for p in (work / "d2").iterdir()) == listing, "clear error")
    data = work / "d5.jsonl"
    data.write_text('{"id": "a", "text": "Russia denied the report of deaths in Syria."}\n')
    before = data.read_text()

    def cli(args: list[str]):
        result = CliRunner().invoke(main, args)
        if result.exit_code == 2:
            from claimcluster import InputError

            raise InputError(result.output.strip().splitlines()[-1])
        return result.exit_code

    probe("cluster --out its own input", lambda: cli(["cluster", str(data), "--format", "json", "--out", str(data)]),
          lambda: data.read_text() == before, "clear error")
    folder = work / "d6"
    folder.mkdir()
    (folder / "a.txt").write_text("Russia denied the report of deaths in Syria.")
    (folder / "b.jsonl").write_text("mine\n")
    for name, what in (("a.txt", "an article in DIR"), ("b.jsonl", "a file of the user's in DIR")):
        probe(f"cluster DIR --out {what}",
              lambda name=name: cli(["cluster", str(folder), "--format", "json", "--out", str(folder / name)]),
              lambda: (folder / "b.jsonl").read_text() == "mine\n" and "Syria" in (folder / "a.txt").read_text(),
              "clear error")
    notes = work / "notes.txt"
    notes.write_text("my notes")
    probe("--cache a file that is not a cache", lambda: Embedder(cache=notes).encode(["x y z"]),
          lambda: notes.read_text() == "my notes" and sorted(p.name for p in work.glob("notes.txt*")) == ["notes.txt"],
          "clear error")
    return rows


def dates(work: Path, embedder) -> list[dict]:
    """E: dates are read (not compared as strings), in UTC; odd dates are shown, not fatal."""
    from claimcluster import ClaimStore, Document, cluster_documents, render_html

    sentence = "The ministry said that no Russian servicemen were killed in the strike near Deir Ezzor."
    filler = ["Markets fell in Asia.", "The weather was warm.", "A phone was released.", "The match was a draw.",
              "A bridge was opened."]
    given = [("Later", "1 March 2024"), ("Earliest", "2023-12-01"), ("Zoned", "2024-03-01T01:00:00+05:00"),
             ("Eastern", "Feb 29, 2024 11:30 PM EST")]
    store = ClaimStore.create(work / "e1", [Document(f"e{i}", f"{sentence} {filler[i]}", outlet=o, published=d)
                                            for i, (o, d) in enumerate(given)], embedder=embedder, min_cluster_size=2)
    store.update([Document("e4", f"{sentence} {filler[0]}", outlet="Undated")])
    rows = []
    kind, detail, value = outcome(lambda: [e["outlet"] for e in store.timeline(store.claims()[0].id)])
    rows.append({"group": "E", "probe": "timeline of 1 March 2024, 2023-12-01, +05:00, EST, undated", "outcome": kind,
                 "detail": detail, "ok": value == ["Earliest", "Zoned", "Later", "Eastern", "Undated"]})
    odd = ["2024-13-45", "2024-02-30", "0000-01-01", "\uff12\uff10\uff12\uff14-\uff10\uff13-\uff10\uff11",
           "9999-12-31T23:00:00-05:00"]
    kind, detail, _ = outcome(lambda: render_html(cluster_documents(
        [Document(f"o{i}", f"{sentence} {filler[i]}", outlet=f"O{i}", published=d) for i, d in enumerate(odd)],
        embedder=embedder, min_cluster_size=2)))
    rows.append({"group": "E", "probe": "HTML report of odd dates", "outcome": kind, "detail": detail[:60],
                 "ok": kind == "handled"})
    return rows


def readers_while_writing(work: Path, embedder, docs: list, loads: int = 60) -> list[dict]:
    """F: readers of an index saved again and of a store compacted meanwhile (threads of one process)."""
    import threading

    from claimcluster import ClaimIndex, ClaimStore

    rows = []
    index = ClaimIndex(embedder).add([f"Claim number {i} about the ministry." for i in range(50)])
    index.save(work / "f1")
    failures: list[str] = []
    done = threading.Event()

    def resave() -> None:
        while not done.is_set():
            index.save(work / "f1")

    writer = threading.Thread(target=resave)
    writer.start()
    for _ in range(loads):
        kind, detail, _ = outcome(lambda: ClaimIndex.load(work / "f1", embedder))
        if kind != "handled":
            failures.append(detail)
    done.set()
    writer.join()
    rows.append({"group": "F", "probe": f"{loads} index loads while it is saved again", "outcome":
                 "handled" if not failures else "clear error", "detail": failures[0] if failures else "none failed",
                 "ok": not failures})
    store = ClaimStore.create(work / "f2", docs[:1], embedder=embedder, min_cluster_size=2)
    failures = []
    done.clear()

    def grow() -> None:
        for document in docs[1:]:
            store.update([document])
            store.compact()
        done.set()

    writer = threading.Thread(target=grow)
    writer.start()
    reads = 0
    while not done.is_set() or reads < 5:
        kind, detail, _ = outcome(lambda: ClaimStore.open(work / "f2", embedder=embedder).match("Russia denied it"))
        reads += 1
        if kind != "handled":
            failures.append(detail)
    writer.join()
    rows.append({"group": "F", "probe": f"{reads} store reads during updates and compactions", "outcome":
                 "handled" if not failures else "clear error", "detail": failures[0] if failures else "none failed",
                 "ok": not failures})
    return rows


def claim_ids(result) -> list:
    return sorted((c.id, tuple(sorted((m.doc_id, m.start) for m in c.members))) for c in result.claims)


def faults(work: Path) -> dict:
    """Each write of a store update fails in turn with ENOSPC (the segment file, its fsync and rename, the
    journal, the transaction); count the trials that lost nothing (memory and disk as before, and the retry
    gives what a clean update gives)."""
    import claimcluster._files as files
    import claimcluster.store._records as records
    from claimcluster import ClaimClusterError, ClaimStore, Embedder, load_documents

    embedder = Embedder()
    docs = list(load_documents([SEEDS]).documents)
    ClaimStore.create(work / "fault-base", docs[:3], embedder=embedder, min_cluster_size=2)
    shutil.copytree(work / "fault-base", work / "fault-clean")
    clean = ClaimStore.open(work / "fault-clean", embedder=embedder)
    clean.update(docs[3:])
    targets = [(records, "atomic_write_bytes"), (records, "_insert"), (files.os, "fsync"), (files.os, "replace")]
    trials = intact = writes = 0
    for target, name in targets:
        real = getattr(target, name)
        calls = [0]

        def counting(*args, real=real, calls=calls, **kwargs):
            calls[0] += 1
            return real(*args, **kwargs)

        shutil.copytree(work / "fault-base", work / "fault-count", dirs_exist_ok=True)
        setattr(target, name, counting)
        try:
            ClaimStore.open(work / "fault-count", embedder=embedder).update(docs[3:])
        finally:
            setattr(target, name, real)
        shutil.rmtree(work / "fault-count")
        writes += calls[0]
        for fail_at in range(calls[0]):
            path = work / f"fault-{name}-{fail_at}"
            shutil.copytree(work / "fault-base", path)
            store = ClaimStore.open(path, embedder=embedder)
            before, listing = state(store), sorted(p.name for p in path.iterdir())
            seen = [0]

            def failing(*args, real=real, seen=seen, fail_at=fail_at, **kwargs):
                seen[0] += 1
                if seen[0] - 1 == fail_at:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real(*args, **kwargs)

            setattr(target, name, failing)
            try:
                store.update(docs[3:])
                failed = False
            except ClaimClusterError:
                failed = True
            finally:
                setattr(target, name, real)
            trials += 1
            ok = not failed or (state(store) == before == state(ClaimStore.open(path, embedder=embedder))
                                and sorted(p.name for p in path.iterdir()) == listing)
            if failed:
                store.update(docs[3:])  # the retry
            intact += ok and state(store) == state(clean) == state(ClaimStore.open(path, embedder=embedder))
    return {"writes_per_update": writes, "trials": trials, "nothing_lost": intact}


def kills(work: Path, n: int, seed: int = 0) -> dict:
    """SIGKILL an updating process at random moments; the store must open (old or new) and stay writable."""
    from claimcluster import ClaimStore, Embedder, load_documents

    embedder = Embedder()
    docs = list(load_documents([SEEDS]).documents)
    ClaimStore.create(work / "kill-base", docs[:3], embedder=embedder, min_cluster_size=2)
    before = state(ClaimStore.open(work / "kill-base", embedder=embedder))
    rng = np.random.default_rng(seed)
    seen = {"old": 0, "new": 0, "broken": 0}
    for trial in range(n):
        path = work / f"kill-{trial}"
        shutil.copytree(work / "kill-base", path)
        proc = subprocess.Popen([sys.executable, "-c", UPDATER, str(path), str(SEEDS / f"{docs[3].doc_id}.txt")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc.stdout.readline()
        time.sleep(float(rng.uniform(0, 1.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        try:
            store = ClaimStore.open(path, embedder=embedder)
            seen["old" if state(store) == before else "new"] += 1
            store.update(docs[4:])
            if any(p.name.endswith(".tmp") for p in path.iterdir()):
                seen["broken"] += 1
        except Exception:
            seen["broken"] += 1
    return {"trials": n, **seen}


def state(store) -> tuple:
    return store.n_documents, tuple((c.id, tuple(sorted((m.doc_id, m.start) for m in c.members)))
                                    for c in store.claims())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILL trials of a store update")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("claimcluster").setLevel(logging.ERROR)  # the seeds have no outlets or dates: no warnings
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        table = probes(work)
        result = {"probes": len(table), "passed": sum(r["ok"] for r in table), "table": table,
                  "faults": faults(work), "kills": kills(work, args.kills), "machine": machine()}
    if args.json:
        emit(result, True)
        return result
    print(f"{'':2}{'group':<6}{'probe':<46}{'outcome':<13}detail")
    for r in table:
        print(f"{'ok' if r['ok'] else '!!':<2}{r['group']:<6}{r['probe'][:45]:<46}{r['outcome']:<13}{r['detail']}")
    print(f"\nprobes passed: {result['passed']} of {result['probes']}")
    print(f"faults: {result['faults']}")
    print(f"kills: {result['kills']}")
    return result


if __name__ == "__main__":
    main()
