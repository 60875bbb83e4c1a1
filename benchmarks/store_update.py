"""Cost of a ClaimStore update and of reading the store: 1,000 new sentences into a store of 100,000.

    python -m benchmarks.store_update [--data benchmarks/data] [--store-size 100000] [--new 1000] [--json]

The store's 100k sentences are synthetic documents whose sentence vectors are real embeddings
of the benchmark texts plus paraphrase-like jitter (see benchmarks/scale.py), placed in the
embedding cache under their synthetic texts, so ``create`` runs the real code path without
embedding 100k sentences. The update brings ``--new`` real sentences (MRPC sentence2 texts,
left out of the store's material), embedded for real (before the update is timed).

Reported (the issue's keys first):

* ``bytes_written_ratio``: bytes the update process wrote (``wchar`` of /proc/self/io: every
  write(2), the segment file, SQLite's write-ahead log and its checkpoint into the database)
  over the size of the new data (their float32 vectors plus the UTF-8 text of the new documents);
* ``show_seconds`` / ``show_claim_seconds``: wall time of ``claimcluster store show DIR`` and of
  ``claimcluster store show DIR --claim ID`` for the claim with the most members, each a fresh
  process as a user runs it (median of 3);
* ``size_ratio``: the store directory's bytes over its vectors (float32) plus the UTF-8 text of
  its documents.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import emit, machine, peak_rss_mb, read_jsonl
from benchmarks.scale import vectors
from claimcluster import ClaimStore, Document, Embedder, EmbeddingCache


def written_bytes() -> dict[str, int]:
    """This process's I/O counters (Linux)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return {key: int(fields[key]) for key in ("wchar", "write_bytes")}


def cli_seconds(args: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "claimcluster", "--quiet", *args], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--store-size", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--keep", type=Path, default=None, help="copy the updated store here")
    parser.add_argument("--base", type=Path, default=None,
                        help="a copy of the created store (and its embedding cache): reused when it exists, written "
                             "when it does not (create_seconds is then not measured)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    mrpc = read_jsonl(next(args.data.rglob("mrpc.jsonl")))
    new_texts = list(dict.fromkeys(r["sentence2"] for r in mrpc))[: args.new]
    # The store is made without these sentences (or jittered copies of them): they arrive unseen.
    base = vectors(args.data, args.store_size, exclude=frozenset(new_texts))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = EmbeddingCache(tmp / "cache.sqlite3")
        embedder = Embedder(cache=cache)
        texts = [f"Synthetic sentence number {i} of the store corpus." for i in range(len(base))]
        cache.put(embedder.model_id, texts, base)
        per_doc = 20
        docs = [Document(f"s{d}", "\n".join(texts[d * per_doc:(d + 1) * per_doc]), outlet=f"outlet {d % 500}")
                for d in range((len(texts) + per_doc - 1) // per_doc)]
        create_seconds = None
        if args.base is not None and (args.base / "store").is_dir():
            shutil.copytree(args.base / "store", tmp / "store")
            store = ClaimStore.open(tmp / "store", embedder=embedder)
        else:
            start = time.perf_counter()
            store = ClaimStore.create(tmp / "store", docs, embedder=embedder)
            create_seconds = round(time.perf_counter() - start, 1)
            if args.base is not None:
                shutil.copytree(tmp / "store", args.base / "store")
        created_claims, pool_before = len(store), store.counts()["unclustered"]
        store.close()

        new_docs = [Document(f"n{i}", text, outlet=f"new outlet {i % 50}") for i, text in enumerate(new_texts)]
        new_vectors = embedder.encode(new_texts)
        cache.close()
        reopened = ClaimStore.open(tmp / "store", embedder=Embedder(cache=tmp / "cache.sqlite3"))
        reopened._load_work()  # reading the store's vectors is not the update's writing
        before = written_bytes()
        start = time.perf_counter()
        report = reopened.update(new_docs)
        update_seconds = time.perf_counter() - start
        after = written_bytes()
        new_data = new_vectors.nbytes + sum(len(d.text.encode("utf-8")) for d in new_docs)
        biggest = max(reopened.claims(), key=lambda c: c.size)
        all_text = sum(len(d.text.encode("utf-8")) for d in docs) + sum(len(d.text.encode("utf-8")) for d in new_docs)
        all_vectors = (len(base) + report.sentences) * base.shape[1] * 4
        segments = reopened.n_segments
        reopened.close()
        store_bytes = directory_bytes(tmp / "store")

        show_seconds = cli_seconds(["store", "show", str(tmp / "store")])
        show_claim_seconds = cli_seconds(["store", "show", str(tmp / "store"), "--claim", str(biggest.id)])
        if args.keep:
            shutil.copytree(tmp / "store", args.keep, dirs_exist_ok=True)

    result = {
        "bytes_written_ratio": round((after["wchar"] - before["wchar"]) / new_data, 2),
        "show_seconds": round(show_seconds, 2),
        "show_claim_seconds": round(show_claim_seconds, 2),
        "size_ratio": round(store_bytes / (all_vectors + all_text), 3),
        "update_bytes_written": after["wchar"] - before["wchar"],
        "update_block_bytes_written": after["write_bytes"] - before["write_bytes"],
        "new_data_bytes": new_data,
        "store_bytes": store_bytes,
        "store_vectors_plus_text_bytes": all_vectors + all_text,
        "segments_after_update": segments,
        "shown_claim_members": biggest.size,
        "store_sentences": len(base),
        "store_claims": created_claims,
        "create_seconds": create_seconds,
        "new_sentences": report.sentences,
        "update_seconds_after_embedding": round(update_seconds, 2),
        "joined_known": sum(report.joined.values()),
        "new_claims": len(report.new_claims),
        "reclustered_pool": pool_before + report.sentences - sum(report.joined.values()),
        "peak_rss_mb": round(peak_rss_mb()),
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
