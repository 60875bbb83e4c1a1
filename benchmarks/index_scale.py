"""FAISS index types at scale: build time, memory, queries/s and recall@10 against exact search.

    python -m benchmarks.index_scale [--data benchmarks/data] [--size 1000000] [--queries 2000] [--json]

Vectors: real sentence embeddings from the benchmark data (about 24k), then paraphrase-like
synthetic points (a real vector plus Gaussian noise, renormalised) up to ``--size``. Queries
are further synthetic points not in the base. Every index type is searched with the same
batch of queries on this machine's threads; recall@10 is measured against exact inner-product
search ("Flat") on the same base. Memory is the serialized index size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.common import emit, machine
from benchmarks.scale import vectors

CONFIGS = [
    ("Flat", {}),
    ("HNSW32", {"efSearch": 64}),
    ("HNSW32", {"efSearch": 128}),
    ("IVF4096,SQ8", {"nprobe": 16}),
    ("IVF4096,SQ8", {"nprobe": 32}),
    ("IVF4096,Flat", {"nprobe": 16}),
]


def build(factory: str, base: np.ndarray) -> tuple[faiss.Index, float]:
    start = time.perf_counter()
    index = faiss.index_factory(base.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        rng = np.random.default_rng(0)
        index.train(base[rng.choice(len(base), size=min(len(base), 4096 * 50), replace=False)])
    index.add(base)
    return index, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    everything = vectors(args.data, args.size + args.queries)
    rng = np.random.default_rng(1)
    query_rows = rng.choice(np.arange(len(everything) // 2, len(everything)), size=args.queries, replace=False)
    mask = np.ones(len(everything), dtype=bool)
    mask[query_rows] = False
    base, queries = everything[mask], everything[query_rows]
    del everything

    built: dict[str, tuple[faiss.Index, float]] = {}
    truth = None
    runs = {}
    for factory, params in CONFIGS:
        if factory not in built:
            built[factory] = build(factory, base)
        index, build_seconds = built[factory]
        space = faiss.ParameterSpace()
        for key, value in params.items():
            space.set_index_parameter(index, key, value)
        start = time.perf_counter()
        _, found = index.search(queries, 10)
        seconds = time.perf_counter() - start
        if truth is None:
            truth = found
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        name = factory + "".join(f" {k}={v}" for k, v in params.items())
        runs[name] = {"build_seconds": round(build_seconds, 1),
                      "index_mb": round(faiss.serialize_index(index).nbytes / 2**20),
                      "queries_per_s": round(len(queries) / seconds), "recall@10": round(recall, 4)}
    result = {"base": len(base), "queries": len(queries), "dimension": base.shape[1],
              "threads": faiss.omp_get_max_threads(), "runs": runs, "machine": machine()}
    if args.json:
        emit(result, True)
    else:
        print(f"{len(base)} vectors of dimension {base.shape[1]}, {len(queries)} queries, {result['threads']} threads")
        print(f"{'index':<28}{'build s':>9}{'MB':>7}{'q/s':>9}{'recall@10':>11}")
        for name, r in runs.items():
            print(f"{name:<28}{r['build_seconds']:>9}{r['index_mb']:>7}{r['queries_per_s']:>9}{r['recall@10']:>11}")
    return result


if __name__ == "__main__":
    main()
