"""Cost of a ClaimStore update: 1,000 new sentences into a store of 100,000.

    python -m benchmarks.store_update [--data benchmarks/data] [--store-size 100000] [--new 1000] [--json]

The store's 100k sentences are synthetic documents whose sentence vectors are real embeddings
of the benchmark texts plus paraphrase-like jitter (see benchmarks/scale.py), placed in the
embedding cache under their synthetic texts, so ``create`` runs the real code path without
embedding 100k sentences. The update brings ``--new`` real sentences (MRPC sentence2 texts,
left out of the store's material), embedded for real. Reported: embedding time, the rest of the update
(joining known claims, clustering the unclustered pool with the new sentences, writing a new
generation), and how many sentences each step touched, to show that the store is neither
re-embedded nor re-clustered as a whole.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import emit, machine, peak_rss_mb, read_jsonl
from benchmarks.scale import vectors
from claimcluster import ClaimStore, Document, Embedder, EmbeddingCache


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--store-size", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1000)
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
        start = time.perf_counter()
        store = ClaimStore.create(tmp / "store", docs, embedder=embedder)
        create_seconds = time.perf_counter() - start
        pool_before = sum(1 for s in store._sentences if s["claim"] is None)

        new_docs = [Document(f"n{i}", text, outlet=f"new outlet {i % 50}") for i, text in enumerate(new_texts)]
        start = time.perf_counter()
        embedder.encode([t for t in new_texts])
        embed_seconds = time.perf_counter() - start
        cache.close()
        reopened = ClaimStore.open(tmp / "store", embedder=Embedder(cache=tmp / "cache.sqlite3"))
        start = time.perf_counter()
        report = reopened.update(new_docs)
        update_seconds = time.perf_counter() - start
        store_mb = sum(p.stat().st_size for p in (tmp / "store").iterdir()) / 2**20

    result = {
        "store_sentences": len(base),
        "store_claims": len(store),
        "create_seconds": round(create_seconds, 1),
        "new_sentences": report.sentences,
        "embed_new_seconds": round(embed_seconds, 2),
        "update_seconds_after_embedding": round(update_seconds, 2),
        "update_seconds_per_1000_sentences": round(update_seconds / max(report.sentences, 1) * 1000, 2),
        "joined_known": sum(report.joined.values()),
        "new_claims": len(report.new_claims),
        "reclustered_pool": pool_before + report.sentences - sum(report.joined.values()),
        "store_mb_on_disk": round(store_mb),
        "peak_rss_mb": round(peak_rss_mb()),
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
