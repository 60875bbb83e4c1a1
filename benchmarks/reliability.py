"""The reliability probe table: hostile inputs, injected faults and killed writers, and what came back.

    python -m benchmarks.reliability [--kills 20] [--json]

Every probe goes through the public API (library or CLI) with the real model, FAISS and files. A probe
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
    return rows


def claim_ids(result) -> list:
    return sorted((c.id, tuple(sorted((m.doc_id, m.start) for m in c.members))) for c in result.claims)


def faults(work: Path) -> dict:
    """Each file write of an update fails in turn (ENOSPC); count trials that lost nothing."""
    import claimcluster._persist as persist
    from claimcluster import ClaimClusterError, ClaimStore, Embedder, load_documents

    embedder = Embedder()
    docs = list(load_documents([SEEDS]).documents)
    ClaimStore.create(work / "fault-base", docs[:3], embedder=embedder, min_cluster_size=2)
    shutil.copytree(work / "fault-base", work / "fault-clean")
    clean = ClaimStore.open(work / "fault-clean", embedder=embedder)
    clean.update(docs[3:])
    real = {"atomic_write_bytes": persist.atomic_write_bytes, "atomic_write_text": persist.atomic_write_text}
    writes = len(json.loads((work / "fault-clean" / "manifest.json").read_text())["files"]) + 1  # and the manifest
    trials = intact = 0
    for fail_at in range(writes):
        path = work / f"fault-{fail_at}"
        shutil.copytree(work / "fault-base", path)
        store = ClaimStore.open(path, embedder=embedder)
        before = state(store)
        calls = [0]

        def failing(function, calls=calls, fail_at=fail_at):
            def write(target, data):
                calls[0] += 1
                if calls[0] - 1 == fail_at:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return function(target, data)
            return write

        for name, function in real.items():
            setattr(persist, name, failing(function))
        try:
            store.update(docs[3:])
            failed = False
        except ClaimClusterError:
            failed = True
        finally:
            for name, function in real.items():
                setattr(persist, name, function)
        trials += 1
        ok = failed and state(store) == before == state(ClaimStore.open(path, embedder=embedder))
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
