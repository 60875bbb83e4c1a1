"""STS-B sanity check of the embedder: Spearman of cosine vs gold, and throughput vs plain encode.

    python -m benchmarks.stsb --data benchmarks/data/stsb_test [--json]

Throughput is measured in one process: plain ``SentenceTransformer.encode`` on the same
model object, then ``Embedder.encode`` (no cache), alternating, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import emit, find_file, machine, read_jsonl
from claimcluster import Embedder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="directory holding stsb_test.jsonl (or the file)")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="first 300 pairs only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rows = read_jsonl(find_file(args.data, "stsb_test.jsonl"))
    if args.quick:
        rows = rows[:300]
    first = [r["sentence1"] for r in rows]
    second = [r["sentence2"] for r in rows]
    gold = np.array([float(r["score"]) for r in rows])
    texts = first + second

    embedder = Embedder(args.model)
    vectors = embedder.encode(texts)
    a, b = vectors[: len(rows)], vectors[len(rows) :]
    rho = float(spearmanr(np.sum(a * b, axis=1), gold).statistic)

    model = embedder._load()
    plain_times, ours_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        plain = model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
        plain_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        embedder.encode(texts)
        ours_times.append(time.perf_counter() - start)
    plain_rho = float(spearmanr(np.sum(plain[: len(rows)] * plain[len(rows) :], axis=1), gold).statistic)
    plain_rate = len(texts) / min(plain_times)
    ours_rate = len(texts) / min(ours_times)
    result = {
        "pairs": len(rows),
        "spearman": round(rho, 4),
        "spearman_plain_encode": round(plain_rho, 4),
        "texts": len(texts),
        "distinct_texts": len(set(texts)),
        "embedder_sentences_per_s": round(ours_rate, 1),
        "plain_encode_sentences_per_s": round(plain_rate, 1),
        "throughput_ratio": round(ours_rate / plain_rate, 3),
        "model_id": embedder.model_id,
        "machine": machine(),
    }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
